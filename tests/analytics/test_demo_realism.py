"""The demo data looks like the national Employer Skills Survey, and its report keeps
what disclosure control does not need to hide.

One seeded area of 2,000 employers over 8 weeks (what `skillsbot demo seed` makes by
default), read back through the real weekly report's tidy CSV.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.demo import seed_demo
from analytics.report import weekly_report
from analytics.weeks import IsoWeek
from storage import make_engine, upgrade

# One worker runs this file: its seeded data and reports are built once.
pytestmark = pytest.mark.xdist_group("demo_realism")

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WEEK = IsoWeek(2026, 48)
Cells = dict[tuple[str, str, str], dict[str, str]]


def _cells(path: Path) -> Cells:
    with path.open(encoding="utf-8", newline="") as handle:
        return {(r["table"], r["row"], r["column"]): r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cells, Cells]:
    """The published cells (threshold 5) and the true ones (threshold 1: nothing hidden)."""
    folder = tmp_path_factory.mktemp("realism")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    upgrade(engine)
    seed_demo(engine, employers=2000, weeks=8, seed=1, now=NOW)
    (published,) = weekly_report(engine, WEEK, folder / "5", ("csv",), threshold=5, now=NOW).files
    (truth,) = weekly_report(
        engine, WEEK, folder / "1", ("csv",), threshold=1, now=NOW, record=False
    ).files
    engine.dispose()
    return _cells(published), _cells(truth)


def _value(cells: Cells, table: str, row: str, column: str) -> float:
    cell = cells[(table, row, column)]
    assert cell["status"] in {"shown", "caution"}, cell
    return float(cell["value"])


@pytest.mark.parametrize(
    ("table", "column", "national", "tolerance"),
    [
        # ESS 2022 (../shared/domain.md). Tolerances: a few times the sampling error at
        # ~1,600 completed employers for rates; densities are shares of vacancies or staff,
        # dominated by the few largest sites, so they vary more from seed to seed.
        ("Employers with skill-shortage vacancies (by sector)", "% of employers", 0.10, 0.03),
        ("SSV density (by sector)", "% density", 0.36, 0.08),
        ("Skills-gap density (by sector)", "% density", 0.057, 0.02),
        ("Employers with skills gaps (by sector)", "% of employers", 0.15, 0.05),
        ("Employers with vacancies (by sector)", "% of employers", 0.23, 0.05),
    ],
)
def test_headline_rates_are_near_the_national_survey(
    reports: tuple[Cells, Cells], table: str, column: str, national: float, tolerance: float
) -> None:
    published, _ = reports
    assert _value(published, table, "Total", column) == pytest.approx(national, abs=tolerance)


def test_six_in_ten_employers_train_staff(reports: tuple[Cells, Cells]) -> None:
    published, _ = reports
    table = "In the last 12 months, have you funded or arranged training for staff? (by sector)"
    trained = sum(
        _value(published, table, row, "Total")
        for row in ("Yes, on the job only", "Yes, off the job only", "Yes, both")
    )
    assert trained / _value(published, table, "Total", "Total") == pytest.approx(0.60, abs=0.06)


def test_rates_rise_with_the_size_of_the_site(reports: tuple[Cells, Cells]) -> None:
    """As in the ESS: small sites recruit and report skills gaps far less than large ones."""
    published, _ = reports
    for measure in ("Employers with vacancies", "Employers with skills gaps"):
        table = f"{measure} (by size band)"
        small = _value(published, table, "2 to 4", "% of employers")
        large = _value(published, table, "50 to 99", "% of employers")
        assert large > 2 * small, (measure, small, large)


def test_sectors_lack_different_skills(reports: tuple[Cells, Cells]) -> None:
    """Each sector has its own emphasis: the skills after the first differ by sector."""
    _, truth = reports
    table = "Which skills do applicants lack? (by sector)"
    counts: dict[str, Counter[str]] = {}
    for (name, row, column), cell in truth.items():
        if name == table and row not in {"Base", "Total"} and column != "Total":
            counts.setdefault(column, Counter())[row] = int(float(cell["value"] or 0))
    tops = {
        sector: frozenset(skill for skill, _ in c.most_common(4))
        for sector, c in counts.items()
        if c.total() >= 20
    }
    assert len(tops) >= 5
    assert len(set(tops.values())) >= 3, tops


@pytest.mark.parametrize(
    "table", ["Which skills do applicants lack?", "Which skills do these staff need to improve?"]
)
def test_specialist_skills_lead_and_the_skills_spread(
    reports: tuple[Cells, Cells], table: str
) -> None:
    """As in ESS, "specialist skills or knowledge for the role" is the skill most often
    lacking, well ahead, and the shares spread out: the first at least three times the
    tenth."""
    _, truth = reports
    counts = Counter(
        {
            row: int(float(cell["value"] or 0))
            for (name, row, column), cell in truth.items()
            if name == f"{table} (by sector)"
            and column == "Total"
            and row not in {"Base", "Total", "None", "Don't know", "Other (please specify)"}
        }
    )
    ranked = counts.most_common()
    assert ranked[0][0] == "Specialist skills or knowledge for the role", ranked[:3]
    assert ranked[0][1] >= 3 * ranked[9][1], ranked[:10]


def test_rows_nobody_chose_are_published(reports: tuple[Cells, Cells]) -> None:
    """A Total of 0 already says every cell of its row is 0: none of them is hidden (the
    old search hid such rows whole, zero after zero, and the Total with them)."""
    published, truth = reports
    zero_rows = {
        (table, row)
        for (table, row, column), cell in truth.items()
        if column == "Total" and row not in {"Total", "Base"} and cell["value"] == "0"
    }
    assert zero_rows, "the demo should leave some answers unchosen"
    hidden = [
        key
        for key, cell in published.items()
        if key[:2] in zero_rows and cell["status"] == "suppressed"
    ]
    assert not hidden, hidden[:5]


def test_complements_are_fewer_than_the_cells_they_protect(
    reports: tuple[Cells, Cells],
) -> None:
    """Over-suppression bound: complements (cells hidden although their base and their own
    count are 5 or more) number no more than the small cells (base or count 1 to 4).

    Why that bound holds for a least-cost search: the small cells come in whole rows or
    columns (a sector, a district or a size band under the threshold), and one complement
    in a row or column protects every hidden cell of it, while each primary cell needs at
    most one complement per equation it is in. The old greedy search, which hid zeros
    after zeros along rows whose Total was 0, needed 1.4 complements per primary cell here.
    """
    published, truth = reports
    primary = secondary = 0
    for key, cell in published.items():
        if cell["status"] != "suppressed" or key[2].startswith("%"):
            continue
        base = float(truth[key]["base"] or 0)
        value = float(truth[key]["value"] or 0)
        # Small: about 1 to 4 employers, by its base or by its own count (a count that is
        # the same employers as a small base elsewhere, such as an option that routes to a
        # question, is hidden with it).
        if 0 < base < 5 or (key[1] not in ("Mean", "Median") and 0 < value < 5):
            primary += 1
        else:
            secondary += 1
    assert primary > 0
    assert 0 < secondary <= primary, (primary, secondary)


def test_every_total_is_labelled_total(reports: tuple[Cells, Cells]) -> None:
    """The tidy CSV labels sums `Total`, in the means-and-medians tables too."""
    published, _ = reports
    labels = {label for key in published for label in key[1:]}
    assert "All employers" not in labels
    number = "How many vacancies do you have now? (by sector)"
    assert published[(number, "Base", "Total")]["status"] == "shown"
