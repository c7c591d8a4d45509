"""An attacker with two consecutive weeks' published CSVs uses that counts to date only grow.

Beyond what `tests.analytics.test_disclosure_attack` gives a reader of the reports (each
week's sums and routing, the response counts' "to date" = last week's "to date" plus
"this week", counts never negative), a reader knows how the figures are made: every table
but the response counts' "this week" columns counts the employers who had completed by the
end of the week, and employers only accumulate (nobody erased, no answer changed). So
for every count to date published in both weeks, this week's is last week's plus a growth
that is never negative (an unknown of no table), and a group a table leaves out in one
week (nobody in it) is 0 in that week. The attacker adds these relations to each week's
own equations and runs the same attack (differencing, zero sums, linear algebra, and
linear programming for the cells 0 in every non-negative solution).

An outside audit found that it recovers suppressed cells: 60 employers (seed 1), W43 then
W44, the area's employers who named "Net zero" among the skills that will matter most are
3 in both weeks (the Total, shown), every sector hidden or n/a; W43 says Wholesale and
Education were asked nobody (n/a: 0), W44 hides their counts (on bases 1 and 2). A Total
that did not grow leaves no sector room to grow: both are still 0. The audit counted 52
cells over W43..W49 on that data, and 131, 175 and 56 at 300 employers (seeds 1, 2, 3).
A report made in week order knows what the earlier ones published, and must publish
nothing that these relations give away.

Not counted (though the attacker knows it): a count hidden last week whose twin this week
is published as 0 or n/a was 0 too (`no_news`): this week's 0 says it of more employers.
What such zeros pin in turn, through last week's sums, is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from analytics.demo import seed_demo
from analytics.report import weekly_report
from analytics.tables import TOTAL
from analytics.weeks import IsoWeek
from storage import make_engine, upgrade
from storage.models import Employer, Response
from storage.repositories import erase_employer
from tests.analytics.conftest import SEVEN_WEEKS, WeekFiles
from tests.analytics.test_disclosure_attack import Cell, asked_of_all, attack, equations, read_cells

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
Cells = dict[Cell, tuple[float | None, str]]
Relation = list[tuple[Cell, float]]


def counts_to_date(cell: Cell) -> bool:
    """Whether a cell is a figure to date that never falls while employers accumulate.

    Read from the CSV's layout (`table,row,column`):

    - "Responses by ...": only "Started to date" and "Completed to date"; "... this week"
      counts one week's employers (it rises and falls) and "% completed" is a ratio;
    - every other table counts completed responses to date: a choice table's option
      rows, its Total (single choice) or Base (multiple choice: the employers who
      answered) row, in every group column and the Total column; a number or scale
      table's Base row (the employers who answered), not its Mean or Median; a measure's
      Base (employers asked) and Employers columns, not "% of employers"; a density's
      Base and its two sums (Vacancies and Skill-shortage vacancies, Staff and Staff not
      fully proficient: sums of answers that are never negative, `min` 0 or 1 in the
      interview, over employers who only accumulate), not "% density".

    So: no percentage, no Mean or Median, nothing "this week". A cell shown as n/a
    (`not_asked`: nobody was asked) is a count of 0 (`read_cells`), and grows like any.
    """
    _, table, row, column = cell
    if column.startswith("%") or row in {"Mean", "Median"}:
        return False
    if "this week" in column or "this week" in row:
        return False
    return not table.startswith("Responses by ") or column.endswith(" to date")


def growth(cells: Cells, earlier: str, later: str) -> list[Relation]:
    """For each count to date of week `later`: later - earlier - growth = 0, the growth a
    fresh unknown that is no table's cell (the attack treats every unknown as never
    negative). A cell whose twin is missing from the other week's table (its group or
    option left out: nobody in it) counts that twin as 0: later = growth, or, left out
    later, 0 = earlier + growth (both 0). Relations whose two cells are both published
    say nothing of a hidden cell and are left out."""
    tables = {(week, table) for week, table, _, _ in cells}
    twins: set[tuple[str, str, str]] = set()
    for week, table, row, column in cells:
        if week in {earlier, later} and counts_to_date((week, table, row, column)):
            twins.add((table, row, column))
    found: list[Relation] = []
    for table, row, column in sorted(twins):
        before, after = (earlier, table, row, column), (later, table, row, column)
        if (earlier, table) not in tables or (later, table) not in tables:
            continue  # a table one week does not publish tells nothing of its groups
        if before in cells and after in cells:
            if cells[before][0] is not None and cells[after][0] is not None:
                continue
        elif not any(c in cells and cells[c][0] is None for c in (before, after)):
            continue
        unknown = (f"{earlier}..{later}", "growth", table, f"{row} | {column}")
        relation = [(unknown, -1.0)]
        relation += [(after, 1.0)] if after in cells else []
        relation += [(before, -1.0)] if before in cells else []
        found.append(relation)
    return found


def across_weeks(cells: Cells, earlier: str, later: str) -> list[Relation]:
    """Both weeks' own equations (with the response counts' "to date" across them) and
    the growth of every count to date from one week to the next."""
    return equations(cells, asked_of_all()) + growth(cells, earlier, later)


def publish(engine: Engine, weeks: list[IsoWeek], out: Path) -> tuple[Cells, Cells]:
    """The weeks' reports, made in week order and recorded (each knows the earlier ones),
    and the true figures (threshold 1, no publication: nothing read or recorded)."""
    cells: Cells = {}
    truth: Cells = {}
    for week in weeks:
        report = weekly_report(engine, week, out, ("csv",), threshold=5, now=NOW)
        cells.update(read_cells(report.files[0], week.label))
        true = weekly_report(
            engine, week, out / "true", ("csv",), threshold=1, now=NOW, record=False
        )
        truth.update(read_cells(true.files[0], week.label))
    return cells, truth


def no_news(cells: Cells, cell: Cell, later: str) -> bool:
    """Whether a hidden count of the earlier week is 0 because its twin in the later week is
    published as 0 (shown 0, or n/a: nobody asked): that the count was 0 says nothing the
    later report does not say of more employers (as a 0 shown is public by its report's
    own rules, `given_away`). The attacker uses it; it is not counted as given away."""
    twin = cells.get((later, *cell[1:]))
    return cell[0] != later and twin is not None and twin[0] == 0 and twin[1] != "suppressed"


def attack_pairs(
    cells: Cells, truth: Cells, weeks: list[IsoWeek]
) -> tuple[dict[str, list[tuple[object, ...]]], int, int]:
    """Each consecutive pair attacked with the growth relations: the suppressed cells of
    either week it recovers (but `no_news`), with their true values; how many growth
    relations touch a hidden cell (the test can fail only if there are some); and how many
    hidden zeros the later week's zeros told (`no_news`, not asserted)."""
    recovered: dict[str, list[tuple[object, ...]]] = {}
    written = zeros = 0
    for first, second in zip(weeks, weeks[1:], strict=False):
        earlier, later = first.label, second.label
        pair = {cell: value for cell, value in cells.items() if cell[0] in {earlier, later}}
        relations = across_weeks(pair, earlier, later)
        grown = [r for r in relations if any(c[1] == "growth" for c, _ in r)]
        written += len(grown)
        for relation in grown:  # the attacker's knowledge is true of the data
            values = {c: truth[c][0] for c, _ in relation if c[1] != "growth"}
            assert all(v is not None for v in values.values()), relation
            assert sum(k * float(values[c] or 0) for c, k in relation if c in values) >= 0, (
                relation,
                values,
            )
        # a relation of published cells only tells nothing hidden (and slows the attack)
        relations = [r for r in relations if any(pair.get(c, (None,))[0] is None for c, _ in r)]
        suppressed = {c for c, (_, status) in pair.items() if status == "suppressed"}
        found = attack(pair, relations) & suppressed
        told = {cell for cell in found if no_news(pair, cell, later)}
        zeros += len(told)
        recovered[f"{earlier} -> {later}"] = [
            (*cell, truth[cell][0]) for cell in sorted(found - told)
        ]
    return recovered, written, zeros


def summary(recovered: dict[str, list[tuple[object, ...]]], zeros: int) -> str:
    lines = [f"(and {zeros} hidden zeros told by a later 0 or n/a, `no_news`, not counted)"]
    for pair, found in recovered.items():
        lines.append(f"{pair}: {len(found)} recovered")
        lines += [f"    {cell}" for cell in found[:3]]
    return "\n".join(lines)


@pytest.mark.xdist_group("disclosure_growth_small")  # its own data: any worker
@pytest.mark.timeout(900)  # four reports, each audited with the one before, and the attack
def test_counts_to_date_growing_give_no_hidden_cell_away(tmp_path: Path) -> None:
    """60 employers (seed 1), W43..W46 made in order: each pair of consecutive weeks,
    read with the growth of every count to date, gives no suppressed cell away."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    seed_demo(engine, employers=60, weeks=8, seed=1, now=NOW)
    weeks = [IsoWeek(2026, n) for n in range(43, 47)]
    cells, truth = publish(engine, weeks, tmp_path)
    engine.dispose()
    recovered, written, zeros = attack_pairs(cells, truth, weeks)
    # the test can fail: in every pair many counts to date are hidden in one week or both
    assert written > 300 * (len(weeks) - 1), written
    assert not any(recovered.values()), summary(recovered, zeros)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # the first of the two makes `seven_weeks`: minutes of CPU
@pytest.mark.parametrize(
    "seed",
    [
        # each its own data (`seven_weeks`), on the worker of the other attack on it
        pytest.param(
            1,
            marks=[
                pytest.mark.xdist_group("disclosure_attack"),
                pytest.mark.xdist_group("disclosure_attack_s1"),
            ],
        ),
        pytest.param(
            3,
            marks=[
                pytest.mark.xdist_group("disclosure_attack"),
                pytest.mark.xdist_group("disclosure_attack_s3"),
            ],
        ),
    ],
)
def test_counts_to_date_growing_over_seven_weeks_give_nothing_away(
    seven_weeks: Callable[[int], WeekFiles], seed: int
) -> None:
    """300 employers, W43..W49 made in order: no pair of consecutive weeks, read with the
    growth of every count to date, gives a suppressed cell away."""
    cells: Cells = {}
    truth: Cells = {}
    for label, (published, true) in seven_weeks(seed).items():
        cells.update(read_cells(published, label))
        truth.update(read_cells(true, label))
    recovered, written, zeros = attack_pairs(cells, truth, list(SEVEN_WEEKS))
    assert written > 300 * (len(SEVEN_WEEKS) - 1), written
    assert not any(recovered.values()), summary(recovered, zeros)


@pytest.mark.xdist_group("disclosure_growth_erased")  # its own data: any worker
def test_a_report_after_an_erasure_is_made_though_counts_fell(tmp_path: Path) -> None:
    """Counts to date fall when employers who had completed are erased: last week's report
    and this week's then break "counts only grow", and the audit that assumes it has no
    solution where published figures say so. The report is made all the same (protected
    without last week's figures: a reader's growth reasoning is false there too), and it
    counts the erased employers nowhere."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    seed_demo(engine, employers=60, weeks=8, seed=1, now=NOW)
    first, second = IsoWeek(2026, 45), IsoWeek(2026, 46)
    (before,) = weekly_report(engine, first, tmp_path, ("csv",), threshold=5, now=NOW).files
    with Session(engine) as session:
        earlier = session.exec(
            select(Response.employer_id)
            .where(Response.status == "completed")
            .where(col(Response.completed_at) < first.start)
            .order_by(col(Response.id))
        ).all()
        for employer_id in earlier[:12]:
            employer = session.get(Employer, employer_id)
            assert employer is not None
            erase_employer(session, employer=employer, now=NOW)
        session.commit()
    (after,) = weekly_report(engine, second, tmp_path, ("csv",), threshold=5, now=NOW).files
    engine.dispose()
    then, now = read_cells(before, first.label), read_cells(after, second.label)
    total = ("Responses by sector", TOTAL, "Completed to date")
    fell = [
        cell
        for cell, (value, _) in now.items()
        if value is not None
        and (first.label, *cell[1:]) in then
        and then[(first.label, *cell[1:])][0] is not None
        and value < float(then[(first.label, *cell[1:])][0] or 0)
    ]
    assert fell, "no count fell: the erasure did not reach the report"
    assert now[(second.label, *total)][0] is not None
