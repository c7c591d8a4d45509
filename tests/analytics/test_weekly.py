"""Week boundaries in Europe/London, the weekly summary, and its suppressed tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from analytics.frames import tidy_answers
from analytics.tables import headline_message, report_tables
from analytics.weekly import SurveyFrames, weekly_summary
from analytics.weeks import InvalidWeek, IsoWeek
from tests.analytics import survey


def test_parse_and_label() -> None:
    assert IsoWeek.parse("2026-W47") == IsoWeek(2026, 47)
    assert IsoWeek.parse(" 2026w7 ").label == "2026-W07"
    assert IsoWeek.parse("2026-W53") == IsoWeek(2026, 53)  # 2026 starts on a Thursday
    with pytest.raises(InvalidWeek, match="write it like 2026-W47"):
        IsoWeek.parse("47/2026")
    with pytest.raises(InvalidWeek, match="no week 53"):
        IsoWeek.parse("2025-W53")
    with pytest.raises(InvalidWeek, match="no week 0"):
        IsoWeek.parse("2026-W00")


def test_week_holding_the_change_to_summer_time() -> None:
    week = IsoWeek(2026, 13)  # Monday 23 March to Sunday 29 March 2026 (BST from 29 March)
    assert week.start == datetime(2026, 3, 23, 0, 0, tzinfo=UTC)  # GMT: midnight = 00:00 UTC
    assert week.end == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)  # BST: midnight = 23:00 UTC
    assert week.end - week.start == timedelta(hours=167)


def test_week_holding_the_change_back_to_gmt() -> None:
    week = IsoWeek(2026, 44)  # Monday 26 October 2026; BST ended Sunday 25 October
    assert IsoWeek(2026, 43).end == week.start == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert IsoWeek(2026, 43).start == datetime(2026, 10, 18, 23, 0, tzinfo=UTC)
    assert IsoWeek(2026, 43).end - IsoWeek(2026, 43).start == timedelta(hours=169)


def test_last_complete_week_uses_london_time() -> None:
    # 23:30 UTC on Sunday 29 March 2026 is already Monday 00:30 in London (BST).
    assert IsoWeek.last_complete(datetime(2026, 3, 29, 23, 30, tzinfo=UTC)) == IsoWeek(2026, 13)
    assert IsoWeek.last_complete(datetime(2026, 3, 29, 22, 30, tzinfo=UTC)) == IsoWeek(2026, 12)


def test_weeks_are_lived_in_the_zone_given() -> None:
    """SKILLSBOT_TIMEZONE, handed down: a week's bounds are midnights in that zone, and the
    weeks it leads to keep it."""
    new_york = ZoneInfo("America/New_York")
    week = IsoWeek.parse("2026-W47", new_york)  # Monday 16 November 2026, EST (UTC-5)
    assert week == IsoWeek(2026, 47)  # the same week, placed elsewhere in time
    assert week.start == datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
    assert week.end == week.next().start == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    assert week.previous().zone == new_york
    # 02:00 UTC on Monday 23 November is still Sunday evening in New York.
    sunday_evening = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert IsoWeek.last_complete(sunday_evening, new_york) == IsoWeek(2026, 46)
    assert IsoWeek.last_complete(sunday_evening) == IsoWeek(2026, 47)  # London: Monday


def _frames(starts: list[datetime]) -> SurveyFrames:
    """The fixed survey with response i started (and completed ten minutes later) at starts[i]."""
    responses = survey.responses().iloc[: len(starts)].copy()
    responses["started_at"] = pd.to_datetime(starts, utc=True)
    responses["completed_at"] = responses["started_at"] + pd.Timedelta(minutes=10)
    responses["status"] = "completed"
    tidy = tidy_answers(survey.answers(), responses, survey.CATALOGUE)
    return SurveyFrames(responses=responses, tidy=tidy, catalogue=survey.CATALOGUE)


@pytest.mark.parametrize(
    ("week", "local_midnight_utc"),
    [
        (IsoWeek(2026, 13), datetime(2026, 3, 29, 23, 0, tzinfo=UTC)),
        # 25 October 2026 (back to GMT) is the Sunday of W43; W44 starts at 00:00 UTC.
        (IsoWeek(2026, 43), datetime(2026, 10, 26, 0, 0, tzinfo=UTC)),
    ],
)
def test_responses_either_side_of_local_midnight(
    week: IsoWeek, local_midnight_utc: datetime
) -> None:
    # Six complete just before the week ends (Sunday 23:xx local), six just after, each
    # started ten minutes before completing.
    before = [local_midnight_utc - timedelta(minutes=11 + i) for i in range(6)]
    after = [local_midnight_utc + timedelta(minutes=1 + i) for i in range(6)]
    summary = weekly_summary(_frames(before + after), week)
    headline = summary.headline.set_index("measure")
    assert headline.loc["Responses started this week", "value"] == 6
    assert headline.loc["Responses completed this week", "value"] == 6
    assert headline.loc["Responses completed to date", "value"] == 6
    following = weekly_summary(_frames(before + after), week.next()).headline.set_index("measure")
    assert following.loc["Responses completed this week", "value"] == 6
    assert following.loc["Responses completed to date", "value"] == 12


def test_empty_week_renders_with_zero_counts() -> None:
    frames = _frames([datetime(2026, 3, 3, 9, tzinfo=UTC)] * 12)
    summary = weekly_summary(frames, IsoWeek(2026, 1))  # before anything happened
    headline = summary.headline.set_index("measure")
    assert headline.loc["Responses started this week", "value"] == 0
    assert headline.loc["Responses completed to date", "value"] == 0
    tables = report_tables(summary, 5)
    assert all(t.frame.empty for t in tables.tables if t.name in {"Top skills gaps", "Choices"})
    assert "week 2026-W01" in headline_message(tables)


def test_week_where_every_cell_is_suppressed() -> None:
    # Four responses: every base is below 5.
    frames = _frames([datetime(2026, 3, 3, 9 + i, tzinfo=UTC) for i in range(4)])
    tables = report_tables(weekly_summary(frames, IsoWeek(2026, 10)), 5)
    labels = {
        "Measure",
        "Sector",
        "District",
        "Size band",
        "Question",
        "Answer",
        "Skill lacking",
        "Rank",
        "Of",
    }
    for table in tables.tables:
        if table.name in {"Verbatims", "Notes"}:
            continue
        # Every row is hidden, but for the groups nobody is in (listed all the same): 0, n/a.
        for record in table.frame.to_dict("records"):
            values = {v for k, v in record.items() if k not in labels}
            assert values <= {"<5", ".."} or values <= {0, "n/a"}, (table.name, record)
    assert tables.trend.isna().all().all()
    assert tables.heatmap_suppressed.to_numpy().all()
    message = headline_message(tables)
    assert "<5" in message
    assert len(message) <= 4096


def test_summary_of_the_fixed_survey() -> None:
    frames = SurveyFrames(
        survey.responses(),
        tidy_answers(survey.answers(), survey.responses(), survey.CATALOGUE),
        survey.CATALOGUE,
    )
    summary = weekly_summary(frames, IsoWeek(2026, 10))
    headline = summary.headline.set_index("measure")
    assert headline.loc["Completion rate to date", "value"] == pytest.approx(10 / 12)
    # 6 of the 10 who completed have hard-to-fill vacancies; 6 report skills gaps.
    assert headline.loc["Employers with hard-to-fill vacancies", "value"] == pytest.approx(0.6)
    assert headline.loc["Employers reporting skills gaps", "base"] == 10
    sector = summary.by_sector.set_index("group")
    assert sector.loc["manufacturing", "hard_to_fill"] == pytest.approx(3 / 5)
    assert list(summary.by_sector["group"]) == ["manufacturing", "construction", "health"]
    tables = report_tables(summary, 5)
    by_sector = next(t for t in tables.tables if t.name == "By sector").frame.set_index("Sector")
    assert by_sector.loc["Manufacturing", "Started to date"] == 6
    assert by_sector.loc["Construction", "Started to date"] == "<5"
    message = headline_message(tables)
    assert "Responses completed to date: 10" in message
