"""The schedule settings as written in the environment, read without the Telegram layer.

`SKILLSBOT_REMINDER_DELAYS`, `SKILLSBOT_QUIET_HOURS` and `SKILLSBOT_WEEKLY_CRON` are parsed
here, so that reading the settings (`bot.settings`) loads neither aiogram nor the
follow-up machinery: `skillsbot X --help` and a settings error stay fast.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

from apscheduler.triggers.cron import CronTrigger

_DELAY = re.compile(r"^\s*(\d{1,4})\s*([dhms])\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class InvalidFollowUpSetting(ValueError):
    """A reminder setting that cannot be read (the message says what was expected)."""


def parse_delays(text: str) -> tuple[timedelta, ...]:
    """`2d,5d` (days, hours `h`, minutes `m` or seconds `s`) as increasing delays.

    Seconds are for tests and demos (`30s,2m`): reminders are planned on the dispatch
    cycle, so they go out within one `SKILLSBOT_DISPATCH_SECONDS` of falling due."""
    delays = []
    for part in text.split(","):
        match = _DELAY.match(part)
        if match is None:
            raise InvalidFollowUpSetting("reminder delays are written like 2d,5d")
        delays.append(timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))}))
    if any(later <= earlier for earlier, later in zip(delays, delays[1:], strict=False)):
        raise InvalidFollowUpSetting("reminder delays must increase, like 2d,5d")
    return tuple(delays)


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """`20:00-08:00` as (start, end) local clock times; start == end means none."""
    start, _, end = text.partition("-")
    times = []
    for part in (start, end):
        match = _CLOCK.match(part)
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise InvalidFollowUpSetting("quiet hours are written like 20:00-08:00")
        times.append(time(int(match.group(1)), int(match.group(2))))
    return times[0], times[1]


_DAY_AND_TIME = re.compile(
    r"^\s*(mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\s+(\d{1,2}):(\d{2})\s*$",
    re.IGNORECASE,
)
# Standard cron's day numbers (0 and 7 are Sunday); APScheduler 3 counts 0 as Monday.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMERIC_DAYS = re.compile(r"^(\*|\d{1,2}(?:-\d{1,2})?)(?:/(\d{1,2}))?$")
_SCHEDULE_USAGE = "the weekly report time is written like mon 08:00"


class InvalidSchedule(ValueError):
    """A schedule setting that cannot be read (the message says what was expected)."""


def parse_weekly_cron(text: str) -> str:
    """`mon 08:00` (a weekday and a local time) or a crontab line, as a crontab line.

    A crontab's day numbers are read as standard cron reads them (0 and 7 Sunday, 1
    Monday) and written as day names, which APScheduler reads the same way: its own
    numbers start at Monday = 0, so `0 8 * * 1` would otherwise run on Tuesdays."""
    match = _DAY_AND_TIME.match(text)
    if match is not None:
        day, hour, minute = match.group(1).lower(), int(match.group(2)), int(match.group(3))
        if hour > 23 or minute > 59:
            raise InvalidSchedule(_SCHEDULE_USAGE)
        return f"{minute} {hour} * * {day}"
    fields = text.split()
    if len(fields) != 5:
        raise InvalidSchedule(_SCHEDULE_USAGE)
    fields[4] = _day_names(fields[4])
    crontab = " ".join(fields)
    try:
        CronTrigger.from_crontab(crontab)
    except ValueError as error:
        raise InvalidSchedule(_SCHEDULE_USAGE) from error
    return crontab


def _day_names(days: str) -> str:
    """A crontab's day-of-week field with standard cron's numbers as day names
    (`1-5` -> `mon,tue,wed,thu,fri`); names and `*` are kept as they are."""
    parts = []
    for part in days.split(","):
        if not any(character.isdigit() for character in part):
            parts.append(part)  # `*`, `mon`, `mon-fri`: the same in both
            continue
        match = _NUMERIC_DAYS.match(part)
        if match is None:
            raise InvalidSchedule(_SCHEDULE_USAGE)  # e.g. mon-5: mixed, or not a day
        span, step = match.group(1), int(match.group(2) or 1)
        first, _, last = span.partition("-")
        low, high = (0, 6) if span == "*" else (int(first), int(last or first))
        if high > 7 or low > high or step == 0:
            raise InvalidSchedule(_SCHEDULE_USAGE)
        names = dict.fromkeys(_CRON_DAYS[number] for number in range(low, high + 1, step))
        parts.append(",".join(names))
    return ",".join(parts)
