"""What each hidden or absent figure shows, in every format, agrees with the CSV's status.

Reports of small seeded data (20 employers over two weeks, one report of a week not yet
over): a percentage not shown prints `..`, `<5` is only ever a count of employers (never a
count of vacancies or staff, which may be far above 5), a base of 0 (nobody asked) is
published as 0 / n/a and never hidden, except in a group of 1 to 4 employers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from analytics.demo import seed_demo
from analytics.disclosure import COMPLEMENT, NOT_ASKED, SUPPRESSED
from analytics.report import load_frames
from analytics.tables import NOT_ASKED_TEXT, PERCENT_HIDDEN, ReportTables, report_tables
from analytics.weekly import weekly_summary
from analytics.weeks import IsoWeek
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import make_engine, upgrade

# One worker runs this file: its seeded data and reports are built once.
pytestmark = pytest.mark.xdist_group("published_markers")

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # Sunday of 2026-W49: not over yet
WEEKS = (IsoWeek(2026, 48), IsoWeek(2026, 49))
_UNITS = {"SSV density", "Skills-gap density"}  # "Number" counts vacancies or staff


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path: Path = tmp_path_factory.mktemp("markers") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed_demo(engine, employers=20, weeks=2, seed=1, now=NOW)
    return engine


@pytest.fixture(scope="module")
def reports(engine: Engine) -> list[ReportTables]:
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    frames = load_frames(engine, interview, completed_only=True)
    return [
        report_tables(
            weekly_summary(frames, week),
            5,
            percent_threshold=25,
            area=DEFAULT_AREA,
            complete=week.end <= NOW,
        )
        for week in WEEKS
    ]


def _measure_rows(tables: ReportTables):  # type: ignore[no-untyped-def]
    """(measure grid's cells by column, display row) for every row of the measure tables."""
    cells = {(c.table, c.row, c.column): c for c in tables.cells}
    for table in tables.tables:
        if not table.name.startswith("Measures by "):
            continue
        axis = str(table.frame.columns[0])
        for record in table.frame.to_dict("records"):
            grid = f"{record['Measure']} (by {axis.lower()})"
            own = {k[2]: c for k, c in cells.items() if k[:2] == (grid, record[axis])}
            yield own, record


def test_a_percentage_not_shown_prints_dots_and_small_marks_are_counts_of_employers(
    reports: list[ReportTables],
) -> None:
    hidden_units = shown_denominators = 0
    for tables in reports:
        for own, record in _measure_rows(tables):
            percent = next(c for name, c in own.items() if name.startswith("% "))
            if percent.status == SUPPRESSED:
                assert record["%"] == PERCENT_HIDDEN, record
            if record["Measure"] in _UNITS:
                # SSVs or staff at fewer than 5 employers: hidden, but maybe 15 of them.
                assert record["Number"] != "<5", record
                if record["Number"] == COMPLEMENT:
                    hidden_units += 1
            for column in ("%", "Number", "Out of", "Base (employers asked)"):
                if record[column] == "<5":
                    base = own["Base"]
                    assert base.status == SUPPRESSED, record
            # What the % is out of: a share's base, or a density's vacancies or staff,
            # shown as the same cell is published (never "<5": not a count of employers).
            if record["Of"] == "employers asked":
                assert record["Out of"] == record["Base (employers asked)"], record
            else:
                denominator = own[record["Of"]]
                if denominator.value is not None:
                    assert record["Out of"] == denominator.value, record
                    shown_denominators += 1
                else:
                    assert record["Out of"] in {COMPLEMENT, NOT_ASKED_TEXT}, record
    assert hidden_units  # small data: some density counts are hidden (the test can fail)
    assert shown_denominators  # and some of their denominators are shown
    for tables in reports:
        for table in tables.tables:
            if "Share" in table.frame.columns:
                assert "<5" not in set(table.frame["Share"].astype(str)), table.name
                assert COMPLEMENT not in set(table.frame["Share"].astype(str)), table.name


def test_a_base_of_0_is_published_as_not_asked_never_hidden(
    reports: list[ReportTables],
) -> None:
    seen = 0
    for tables in reports:
        for own, record in _measure_rows(tables):
            base = own["Base"]
            if base.status == NOT_ASKED or base.base == 0:
                seen += 1
                assert base.status == NOT_ASKED, base
                assert base.base == 0
                assert record["Base (employers asked)"] == 0
                assert {c.status for c in own.values()} == {NOT_ASKED}, own
        sole = [
            c
            for c in tables.cells
            if c.row == "1 (just me)" and c.table.startswith("Employers with skills gaps")
        ]
        assert sole
        # never asked; in a size band of 1 to 4 employers its base is hidden, as every
        # count of so small a group is (audit 14 item 3)
        base = next(c for c in sole if c.column == "Base")
        assert {c.status for c in sole} == {NOT_ASKED} or base.status == SUPPRESSED
    assert seen
