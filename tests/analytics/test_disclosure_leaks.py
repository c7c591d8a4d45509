"""Leaks an outside audit found within one week's report (issue 14's audit, items 2-4),
checked on the published cells of small seeded data (40 employers over 6 weeks, as the
auditor's `small` data set), each week's report beside the same report with nothing
hidden (threshold 1: the true figures).

- "n/a" (nobody asked: a base of 0) is printed only where that base is published;
- zeros a reader knows (no employers with skills gaps, so no staff with gaps; a number
  question nobody answered, so its sum is 0) are never hidden, as hiding them protects
  nothing and the audit must count them as known;
- in a group of 1 to 4 employers the zeros are hidden like any other count, so that
  "everyone in it gave the same answer" cannot be read;
- area-level figures (the Total row or column) are published whenever their base reaches
  the threshold: complements are found among the groups.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from analytics.demo import seed_demo
from analytics.disclosure import CAUTION, NOT_ASKED, SHOWN, SUPPRESSED
from analytics.report import load_frames
from analytics.tables import TOTAL, Cell, ReportTables, report_tables
from analytics.weekly import weekly_summary
from analytics.weeks import IsoWeek
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import make_engine, upgrade

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WEEKS = tuple(IsoWeek(2026, n) for n in (45, 46, 48))
THRESHOLD = 5
PERCENT = 25
AXES = ("sector", "district", "size band")
Cells = dict[tuple[str, str, str], Cell]
pytestmark = pytest.mark.xdist_group("disclosure_leaks")  # one worker builds the reports


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[ReportTables, Cells]]:
    path: Path = tmp_path_factory.mktemp("leaks") / "demo.db"
    engine: Engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed_demo(engine, employers=40, weeks=6, seed=1, now=NOW)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    frames = load_frames(engine, interview, completed_only=True)
    out = []
    for week in WEEKS:
        summary = weekly_summary(frames, week)
        published = report_tables(summary, THRESHOLD, percent_threshold=PERCENT)
        truth = report_tables(summary, 1, percent_threshold=1)
        out.append((published, {(c.table, c.row, c.column): c for c in truth.cells}))
    engine.dispose()
    return out


def _cells(tables: ReportTables) -> Cells:
    return {(c.table, c.row, c.column): c for c in tables.cells}


def _kind(table: str, cells: Cells) -> str:
    if table.startswith("Responses by "):
        return "responses"
    if (table, "Mean", TOTAL) in cells:
        return "number"
    if (table, TOTAL, "Base") in cells:
        return "measure"
    return "choice"


def _base_key(key: tuple[str, str, str], cells: Cells) -> tuple[str, str, str] | None:
    table, row, column = key
    kind = _kind(table, cells)
    if kind == "number":
        return (table, "Base", column)
    if kind == "measure":
        return (table, row, "Base")
    if kind == "responses":
        return (table, row, "Started to date")
    for base_row in ("Base", TOTAL):
        if (table, base_row, column) in cells and base_row != row:
            return (table, base_row, column)
    return None


def test_n_a_is_printed_only_next_to_a_published_base(
    reports: list[tuple[ReportTables, Cells]],
) -> None:
    leaks = []
    for tables, _ in reports:
        cells = _cells(tables)
        for key, cell in cells.items():
            base = _base_key(key, cells)
            if cell.status == NOT_ASKED and base in cells and cells[base].status == SUPPRESSED:
                leaks.append((tables.week.label, *key))
    assert not leaks, leaks[:5]


# (measure whose employers are 0, column of another measure that is then 0 too)
_IMPLIED = (
    ("Employers with skills gaps", "Employers", "Skills-gap density", "Staff not fully proficient"),
    ("Employers with vacancies", "Employers", "SSV density", "Vacancies"),
    ("Employers with skill-shortage vacancies", "Employers", "SSV density",
     "Skill-shortage vacancies"),
)  # fmt: skip
# (density whose base is 0, printed n/a: nobody in the group asked the counts, the measure
# whose employers are then 0 too, where the truth agrees: they are among its base)
_BASE_IMPLIED = (
    ("SSV density", "Employers with vacancies"),
    ("SSV density", "Employers with hard-to-fill vacancies"),
    ("SSV density", "Employers with skill-shortage vacancies"),
    ("Skills-gap density", "Employers with skills gaps"),
)
# (number question nobody in a group answered, the measure column that is its sum)
_NUMBER_SUMS = (
    ("About how many of your staff is that?", "Skills-gap density", "Staff not fully proficient"),
    ("How many vacancies do you have now?", "SSV density", "Vacancies"),
)


def test_zeros_a_reader_knows_are_not_hidden(reports: list[tuple[ReportTables, Cells]]) -> None:
    hidden = []
    seen = 0
    for tables, _ in reports:
        cells = _cells(tables)
        for axis in AXES:
            for source, column, target, their_column in _IMPLIED:
                for (table, row, col), cell in cells.items():
                    if table != f"{source} (by {axis})" or col != column:
                        continue
                    if cell.status == SHOWN and cell.value == 0:
                        other = cells[(f"{target} (by {axis})", row, their_column)]
                        seen += 1
                        if other.status == SUPPRESSED:
                            hidden.append((tables.week.label, table, row))
        for question, target, their_column in _NUMBER_SUMS:
            table = f"{question} (by sector)"
            for (t, row, col), cell in cells.items():
                if t == table and row == "Base" and cell.status != SUPPRESSED and not cell.base:
                    other = cells[(f"{target} (by sector)", col, their_column)]
                    seen += 1
                    if other.status == SUPPRESSED:
                        hidden.append((tables.week.label, table, col))
    assert seen
    assert not hidden, hidden[:5]


def _given_away_by_n_a(tables: ReportTables, truth: Cells) -> tuple[int, list[tuple[str, ...]]]:
    """Counts of `_BASE_IMPLIED` that are 0 beside their density's n/a: how many, and
    those hidden (the n/a tells them)."""
    cells = _cells(tables)
    seen, hidden = 0, list[tuple[str, ...]]()
    for axis in AXES:
        for source, target in _BASE_IMPLIED:
            for (table, row, column), cell in cells.items():
                if table != f"{source} (by {axis})" or column != "Base":
                    continue
                key = (f"{target} (by {axis})", row, "Employers")
                if cell.status == NOT_ASKED and truth[key].value == 0:
                    seen += 1
                    if cells[key].status == SUPPRESSED:
                        hidden.append((tables.week.label, table, row, target))
    return seen, hidden


def test_a_density_n_a_gives_no_hidden_count_away(tmp_path: Path) -> None:
    """A density's n/a (nobody in the group asked how many vacancies) tells that nobody in
    it has vacancies: that 0 is published, not hidden as a complement the n/a gives away.
    The data (seed 4, 60 employers, W47) hid Fenland's 0 employers with vacancies, of 12,
    beside its SSV density's n/a, before the rule."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    seed_demo(engine, employers=60, weeks=4, seed=4, now=datetime(2026, 11, 30, 9, tzinfo=UTC))
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    summary = weekly_summary(load_frames(engine, interview, completed_only=True), IsoWeek(2026, 47))
    engine.dispose()
    published = report_tables(summary, THRESHOLD, percent_threshold=PERCENT)
    truth = report_tables(summary, 1, percent_threshold=1)
    seen, hidden = _given_away_by_n_a(
        published, {(c.table, c.row, c.column): c for c in truth.cells}
    )
    assert seen
    assert not hidden, hidden


def _small_groups(truth: Cells) -> dict[str, set[str]]:
    """Each axis's groups of 1 to 4 employers who completed (to date)."""
    out: dict[str, set[str]] = {}
    for axis in AXES:
        table = f"Responses by {axis}"
        out[axis] = {
            row
            for (t, row, column), cell in truth.items()
            if t == table
            and column == "Completed to date"
            and row != TOTAL
            and 0 < (cell.value or 0) < THRESHOLD
        }
    return out


def test_a_small_group_shows_no_zero_and_no_n_a(
    reports: list[tuple[ReportTables, Cells]],
) -> None:
    leaks = []
    checked = 0
    for tables, truth in reports:
        cells = _cells(tables)
        small = _small_groups(truth)
        for (table, row, column), cell in cells.items():
            kind = _kind(table, cells)
            if kind in ("responses",):
                continue
            axis = table.rsplit("(by ", 1)[-1].rstrip(")")
            group = row if kind == "measure" else column
            if group not in small.get(axis, set()):
                continue
            checked += 1
            if cell.status == NOT_ASKED:
                leaks.append((tables.week.label, table, row, column, "n/a"))
            elif cell.status == SHOWN and cell.value == 0:
                # known anyway when the area's own figure is a published 0
                area = (table, TOTAL, column) if kind == "measure" else (table, row, TOTAL)
                if not (cells[area].status == SHOWN and cells[area].value == 0):
                    leaks.append((tables.week.label, table, row, column, "0"))
    assert checked
    assert not leaks, leaks[:5]


def test_a_density_is_shown_when_its_numerator_denominator_and_base_are(
    reports: list[tuple[ReportTables, Cells]],
) -> None:
    """Shown whenever its parts and its base (the employers asked) are published on a base
    of at least 25 (audit: 7,508 staff, 348 not fully proficient, % ..); and never beside
    a hidden base, where its caution mark, or none, would tell the base's range."""
    parts = {"SSV density": ("Skill-shortage vacancies", "Vacancies"),
             "Skills-gap density": ("Staff not fully proficient", "Staff")}  # fmt: skip
    hidden, beside_hidden = [], []
    for tables, truth in reports:
        cells = _cells(tables)
        for (table, row, column), cell in cells.items():
            name = table.rsplit(" (by ", 1)[0]
            if name not in parts or column != "% density":
                continue
            numerator, denominator = (cells[(table, row, c)] for c in parts[name])
            base = truth[(table, row, "Base")].value or 0
            base_status = cells[(table, row, "Base")].status
            shown = SUPPRESSED not in (numerator.status, denominator.status, base_status)
            if shown and base >= PERCENT and denominator.value and cell.status == SUPPRESSED:
                hidden.append((tables.week.label, table, row))
            if base_status == SUPPRESSED and cell.status in {SHOWN, CAUTION}:
                beside_hidden.append((tables.week.label, table, row))
    assert not hidden, hidden
    assert not beside_hidden, beside_hidden


@pytest.mark.xfail(
    reason="audit 14 item 4, open: on data this small (13-31 employers, most sectors of 1-4) "
    "hidden zeros of small groups still pull area totals into complementary suppression",
    strict=False,
)
def test_area_totals_are_published_when_their_base_is_large_enough(
    reports: list[tuple[ReportTables, Cells]],
) -> None:
    hidden = []
    for tables, truth in reports:
        cells = _cells(tables)
        for key, cell in cells.items():
            table, row, column = key
            kind = _kind(table, cells)
            if kind == "responses" or TOTAL not in (row, column):
                continue
            if kind == "measure" and row != TOTAL:
                continue
            if kind in ("choice", "number") and column != TOTAL:
                continue
            base = _base_key(key, cells)
            base_value = truth[base].value if base in truth else truth[key].value
            if base_value is None or base_value < THRESHOLD:
                continue
            share = column.startswith("% ") or row in ("Mean", "Median")
            if share and base_value < PERCENT:
                continue
            if cell.status == SUPPRESSED:
                hidden.append((tables.week.label, *key))
    assert not hidden, hidden[:8]
