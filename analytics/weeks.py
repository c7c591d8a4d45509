"""ISO weeks in a time zone (SKILLSBOT_TIMEZONE, handed down by the caller; Europe/London
unless told): Monday 00:00 to the next Monday 00:00 local time, as UTC.

A week holding the change to or from British Summer Time is 167 or 169 hours long; the
bounds are computed from local midnights, so they are right on both sides of the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")  # the default of SKILLSBOT_TIMEZONE
_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


class InvalidWeek(ValueError):
    """A week that is not written like 2026-W47 or does not exist."""


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """An ISO 8601 week (year and week number) as lived in `zone`.

    Two weeks are equal when their year and number are; the zone only places their bounds
    in time, and the weeks a week leads to (`previous`, `next`) keep it."""

    year: int
    week: int
    zone: ZoneInfo = field(default=LONDON, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo = LONDON) -> IsoWeek:
        """Read `2026-W47` (or `2026W47`); raise `InvalidWeek` with a clear message."""
        match = _WEEK.match(text)
        if match is None:
            raise InvalidWeek(f"{text!r} is not an ISO week; write it like 2026-W47")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise InvalidWeek(
                f"{year} has no week {week}; ISO weeks run from W01 to W52 or W53"
            ) from None
        return cls(year, week, zone)

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo = LONDON) -> IsoWeek:
        """The week holding this (aware) moment, by the calendar in `zone`."""
        local = moment.astimezone(zone).date()
        iso = local.isocalendar()
        return cls(iso.year, iso.week, zone)

    @classmethod
    def last_complete(cls, now: datetime, zone: ZoneInfo = LONDON) -> IsoWeek:
        """The latest week that has ended by `now` (in `zone`)."""
        return cls.containing(now, zone).previous()

    @property
    def label(self) -> str:
        """The week as `2026-W47`."""
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        """The week's Monday (a local calendar date)."""
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def start(self) -> datetime:
        """Monday 00:00 in the week's zone, in UTC."""
        return datetime.combine(self.monday, time(0), tzinfo=self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 in the week's zone, in UTC (exclusive)."""
        return self.next().start

    def previous(self) -> IsoWeek:
        """The week before."""
        iso = (self.monday - timedelta(days=7)).isocalendar()
        return IsoWeek(iso.year, iso.week, self.zone)

    def next(self) -> IsoWeek:
        """The week after."""
        iso = (self.monday + timedelta(days=7)).isocalendar()
        return IsoWeek(iso.year, iso.week, self.zone)

    def last(self, count: int) -> list[IsoWeek]:
        """The `count` weeks ending with this one, oldest first."""
        weeks = [self]
        while len(weeks) < count:
            weeks.append(weeks[-1].previous())
        return weeks[::-1]

    def __str__(self) -> str:
        return self.label


def check_report_week(week: IsoWeek, *, first_response: datetime | None, now: datetime) -> None:
    """Raise `InvalidWeek` (one polite line giving the range) unless a report on `week` can
    hold data: from the week of the first response to the current week (in `week`'s zone).

    The last complete week is always allowed, so that an empty database still gets its
    (empty) report. Checked before any date arithmetic: a week such as 0001-W01 has no
    previous week in Python's calendar.
    """
    latest = IsoWeek.containing(now, week.zone)
    earliest = IsoWeek.last_complete(now, week.zone)
    if first_response is not None:
        earliest = min(earliest, IsoWeek.containing(first_response, week.zone))
    if earliest <= week <= latest:
        return
    if week > latest:
        raise InvalidWeek(
            f"{week.label} has not started yet; give a week from {earliest.label} to {latest.label}"
        )
    raise InvalidWeek(
        f"there are no responses before {earliest.label}; give a week from {earliest.label} "
        f"to {latest.label}"
    )
