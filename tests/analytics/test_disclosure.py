"""Disclosure control: thresholds, primary and secondary suppression on small tables."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from analytics.disclosure import (
    InvalidMinBase,
    Key,
    Publication,
    _Audit,
    check_thresholds,
    exposed,
    implied_zeros,
    is_suppressed,
    protect,
)


def _column(values: dict[str, float], threshold: int = 5) -> Publication:
    """One column of counts with its Total."""
    pub = Publication()
    for row, value in values.items():
        pub.add(("w", "t", row, "n"), value, value, threshold)
    total = sum(values.values())
    pub.add(("w", "t", "Total", "n"), total, total, threshold)
    pub.sum_of(("w", "t", "Total", "n"), [("w", "t", row, "n") for row in values])
    return pub


def test_a_lone_hidden_cell_gets_a_complement_and_not_the_total() -> None:
    pub = _column({"a": 2, "b": 40, "c": 9, "d": 30})
    hidden = protect(pub)
    assert ("w", "t", "a", "n") in hidden
    assert ("w", "t", "c", "n") in hidden  # the smallest positive other part
    assert ("w", "t", "Total", "n") not in hidden
    assert not exposed(pub, hidden)
    assert exposed(pub, frozenset(pub.primary)) == {("w", "t", "a", "n")}


def test_the_complement_is_a_positive_count_not_a_zero() -> None:
    # Hiding "b" (0) next to "a" (2) would tell that a is 2 or less; 7 tells much less.
    pub = _column({"a": 2, "b": 0, "c": 7, "d": 12})
    hidden = protect(pub)
    assert hidden == {("w", "t", "a", "n"), ("w", "t", "c", "n")}
    # Non-negative hidden cells whose sum is published as 0 are all 0: exposed.
    assert exposed(pub, {("w", "t", "b", "n")} | {("w", "t", "a", "n")}) == set()
    zeros = _column({"a": 0, "b": 0, "c": 7})
    assert exposed(zeros, {("w", "t", "a", "n"), ("w", "t", "b", "n")}) == {
        ("w", "t", "a", "n"),
        ("w", "t", "b", "n"),
    }


def test_last_weeks_figures_are_fixed() -> None:
    # To date last week 10 (published), this week 3 started: hiding "this week" alone would
    # leave it as to-date minus 10; the to-date figure must go too.
    pub = Publication()
    pub.add(("w2", "t", "a", "week"), 3, 3, 5)
    pub.add(("w2", "t", "a", "to date"), 13, 13, 5)
    pub.fixed[("w1", "t", "a", "to date")] = 10.0
    pub.sum_of(("w2", "t", "a", "to date"), [("w1", "t", "a", "to date"), ("w2", "t", "a", "week")])
    assert protect(pub) == {("w2", "t", "a", "week"), ("w2", "t", "a", "to date")}
    # A figure hidden last week must stay unknown: this week's pair may not pin it down.
    pub = Publication()
    pub.add(("w2", "t", "a", "week"), 8, 8, 5)
    pub.add(("w2", "t", "a", "to date"), 11, 11, 5)
    pub.fixed[("w1", "t", "a", "to date")] = None
    pub.sum_of(("w2", "t", "a", "to date"), [("w1", "t", "a", "to date"), ("w2", "t", "a", "week")])
    hidden = protect(pub)
    assert len(hidden) == 1
    assert not exposed(pub, hidden)


def test_markers_and_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thresholds are the caller's values: the environment is not read here."""
    assert is_suppressed("<10")
    assert is_suppressed("..")
    assert not is_suppressed("<b>")
    monkeypatch.setenv("SKILLSBOT_MIN_BASE", "0")
    check_thresholds(5, 25)
    with pytest.raises(InvalidMinBase, match="SKILLSBOT_MIN_BASE must be at least 1"):
        check_thresholds(0, 25)
    with pytest.raises(InvalidMinBase, match="SKILLSBOT_MIN_PERCENT_BASE"):
        check_thresholds(5, 0)


def test_a_row_whose_total_is_zero_is_published_not_hidden() -> None:
    # A sector under the threshold in a row nobody chose: the published Total of 0 already
    # says its cell is 0, so hiding it protects nothing; hiding the rest of the row (as a
    # naive search for complements does, one zero after another) would only lose figures.
    pub = Publication()
    for row, values in {"chosen": {"small": 2, "big": 30, "mid": 12}, "nobody": {}}.items():
        for column in ("small", "big", "mid"):
            value = values.get(column, 0)
            base = {"small": 3, "big": 40, "mid": 20}[column]
            pub.add(("w", "t", row, column), value, base, 5)
        total = sum(values.values())
        pub.add(("w", "t", row, "Total"), total, 63, 5)
        pub.sum_of(("w", "t", row, "Total"), [("w", "t", row, c) for c in ("small", "big", "mid")])
    hidden = protect(pub)
    assert implied_zeros(pub) == {("w", "t", "nobody", c) for c in ("small", "big", "mid", "Total")}
    assert hidden == {("w", "t", "chosen", "small"), ("w", "t", "chosen", "mid")}
    assert not exposed(pub, hidden)


def test_a_complement_is_found_beyond_the_equations_of_the_exposed_cell() -> None:
    # Employers with gaps E = o1 + o2 (two hidden options); the options' column gives
    # T = N + o1 + o2 with T and N published, so E = T - N. E is hidden because it is the
    # same count as a small base B, and on a small base itself (a count on a base of 5 or
    # more would be published, B with it: `relieved`). No published cell shares an
    # equation with E: the complement must come from an equation of o1 or o2 (N or T), or
    # E stays exposed.
    pub = Publication()
    for row, value, base in (("T", 8, 8), ("N", 6, 8), ("o1", 1, 3), ("o2", 1, 3)):
        pub.add(("w", "choice", row, "c"), value, base, 5)
    pub.add(("w", "measure", "c", "E"), 2, 4, 5)
    pub.add(("w", "number", "Base", "c"), 2, 2, 5)
    choice = [("w", "choice", row, "c") for row in ("N", "o1", "o2")]
    pub.sum_of(("w", "choice", "T", "c"), choice)
    pub.sum_of(("w", "measure", "c", "E"), choice[1:])
    pub.same(("w", "number", "Base", "c"), ("w", "measure", "c", "E"))
    hidden = protect(pub)
    assert not exposed(pub, hidden)
    assert ("w", "choice", "N", "c") in hidden


def _table(cells: dict[tuple[str, str], float], threshold: int = 5) -> Publication:
    """A table of counts (rows by columns, each on its own value as base) with its Total
    row and column."""
    pub = Publication()
    rows = sorted({r for r, _ in cells})
    columns = sorted({c for _, c in cells})
    for (row, column), value in cells.items():
        pub.add(("w", "t", row, column), value, 40, threshold)
    for row in rows:
        total = sum(cells[(row, c)] for c in columns)
        pub.add(("w", "t", row, "Total"), total, 40, threshold)
        pub.sum_of(("w", "t", row, "Total"), [("w", "t", row, c) for c in columns])
    for column in [*columns, "Total"]:
        parts = [("w", "t", r, column) for r in rows]
        total = sum(pub.values[p] for p in parts)
        pub.add(("w", "t", "Total", column), total, 40, threshold)
        pub.sum_of(("w", "t", "Total", column), parts)
    return pub


def test_counts_pinned_by_non_negativity_are_exposed_and_protected() -> None:
    """Rows x and y each have hidden cells adding up to 1 (their Total less nothing shown),
    and column a says that their two cells in it add up to 2 (its Total less z's 7). The
    equations leave three directions free, so no cell is pinned by them alone, but counts
    are never negative: x/a and y/a are 1 each, everything else in rows x and y is 0, and
    z's two hidden cells follow from their columns. A reader works that out (as an audit
    of a real report did, finding a sector of one employer's answer); the audit must too,
    and protect must hide more."""
    pub = _table(
        {
            ("x", "a"): 1, ("x", "b"): 0, ("x", "c"): 0,
            ("y", "a"): 1, ("y", "b"): 0, ("y", "c"): 0,
            ("z", "a"): 7, ("z", "b"): 3, ("z", "c"): 4,
        }
    )  # fmt: skip
    cells = {("w", "t", r, c) for r in ("x", "y") for c in ("a", "b", "c")}
    hidden = cells | {("w", "t", "z", "b"), ("w", "t", "z", "c")}
    assert not _Audit(pub).exposed(hidden)  # the equations alone pin nothing
    assert exposed(pub, hidden) == hidden  # with non-negativity, everything
    pub.primary.update({("w", "t", "x", "a"), ("w", "t", "y", "b")})
    protected = protect(pub)
    assert not exposed(pub, protected)
    assert protected >= pub.primary


def test_a_count_between_two_published_bounds_of_one_value_is_protected() -> None:
    """An outside audit's finding: in a sector, 1 employer with vacancies and 1 with a
    skill-shortage vacancy shown, those with hard-to-fill ones hidden; a reader knows the
    nesting (SSV among hard-to-fill among vacancies), so the hidden count is 1. Each count
    has a row of its own in a column of sectors with a Total, as the measure tables do."""
    pub = Publication()
    measures = {"vac": (1, 20), "htf": (1, 12), "ssv": (1, 8)}  # sector s, the other sector
    for measure, (mine, other) in measures.items():
        cells = [("w", measure, "s", "n"), ("w", measure, "o", "n")]
        for key, value in zip(cells, (mine, other), strict=True):
            pub.add(key, value, 30, 5)
        pub.add(("w", measure, "Total", "n"), mine + other, 60, 5)
        pub.sum_of(("w", measure, "Total", "n"), cells)
    htf = ("w", "htf", "s", "n")
    pub.primary.add(htf)
    hidden = {htf, ("w", "htf", "o", "n")}  # the sum alone protects it without the nesting
    assert not exposed(pub, hidden)
    for row in ("s", "o", "Total"):
        pub.at_most(("w", "ssv", row, "n"), ("w", "htf", row, "n"))
        pub.at_most(("w", "htf", row, "n"), ("w", "vac", row, "n"))
    assert htf in exposed(pub, hidden)  # 1 <= htf <= 1
    protected = protect(pub)
    assert htf in protected
    assert not exposed(pub, protected)
    assert not protected & pub.slacks  # the bounds' room is never a cell


def test_hidden_groups_together_of_fewer_than_the_threshold_get_one_more() -> None:
    """An outside audit (300 employers, seed 3, W43): the staff of the size bands "100 to
    249" (3 employers) and "250 or more" (1) were hidden, each covering the other, but the
    Total less the bands shown gave their 886 staff together: a figure about 4 employers.
    The hidden groups of a sum across groups must together be at least the threshold."""
    pub = Publication()
    bands = {"b1": (38, 13), "b2": (37, 5), "b3": (117, 6), "b4": (485, 3), "b5": (401, 1)}
    keys = []
    for band, (staff, employers) in bands.items():
        key = ("w", "staff", band, "n")
        pub.add(key, staff, employers, 5)
        pub.groups[key] = ("staff", band)
        keys.append(key)
    total = ("w", "staff", "Total", "n")
    pub.add(total, sum(v for v, _ in bands.values()), 28, 5)
    pub.sum_of(total, keys)
    hidden = protect(pub)
    assert {keys[3], keys[4]} <= hidden  # the small bands
    assert sum(bands[k[2]][1] for k in hidden if k in keys) >= 5  # and one more: 37 of 5
    assert keys[1] in hidden
    assert total not in hidden


def test_a_cell_that_earlier_figures_pin_down_is_published_not_a_complement() -> None:
    # Last week published the column total T = 5; the other options are published zeros
    # (their own total E is 0), so N = 5 is known whatever this week hides. Choosing N
    # as the complement of the small M (R = N + M) would hide nothing and leave M exposed
    # through R - N; the complement must be R.
    pub = Publication()
    column = [("w", "q", row, "c") for row in ("N", "o1", "o2")]
    for key, value in zip(column, (5, 0, 0), strict=True):
        pub.add(key, value, 5, 5)
    pub.fixed[("w", "q", "T", "c")] = 5.0
    pub.sum_of(("w", "q", "T", "c"), column)
    pub.add(("w", "m", "c", "E"), 0, 5, 5)
    pub.sum_of(("w", "m", "c", "E"), column[1:])
    pub.add(("w", "q", "N", "d"), 2, 2, 5)  # M: primary
    pub.add(("w", "q", "N", "Total"), 7, 7, 5)  # R
    pub.sum_of(("w", "q", "N", "Total"), [column[0], ("w", "q", "N", "d")])
    hidden = protect(pub)
    assert hidden == {("w", "q", "N", "d"), ("w", "q", "N", "Total")}
    assert not exposed(pub, hidden)


def _rank(rows: list[list[Fraction]]) -> int:
    rows = [list(row) for row in rows]
    rank = 0
    for column in range(len(rows[0]) if rows else 0):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][column]:
                factor = rows[r][column] / rows[rank][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def _exposed_by_rank(pub: Publication, hidden: set[Key]) -> set[Key]:
    """The audit's rule written out plainly: zero sums, then per component the cells of
    equations with one unknown, else the cells whose column removed lowers the rank."""
    rows: list[dict[Key, int]] = []
    found: set[Key] = set()
    for equation in pub.equations:
        merged: dict[Key, int] = {}
        for position, key in enumerate(equation.keys):
            merged[key] = merged.get(key, 0) + (1 if position == 0 else -1)
        row = {k: c for k, c in merged.items() if c and k in hidden}
        known = sum(c * pub.values[k] for k, c in merged.items() if k not in hidden)
        if row:
            rows.append(row)
            if len({c > 0 for c in row.values()}) == 1 and known == 0:
                found.update(row)
    component = {key: {key} for row in rows for key in row}
    for row in rows:
        merged_set = set().union(*(component[k] for k in row))
        for key in merged_set:
            component[key] = merged_set
    for group in {frozenset(c) for c in component.values()}:
        own = [row for row in rows if set(row) <= group]
        singles = {next(iter(row)) for row in own if len(row) == 1}
        if singles:
            found |= singles
            continue
        cells = sorted(group)
        matrix = [[Fraction(row.get(k, 0)) for k in cells] for row in own]
        rank = _rank(matrix)
        for i, cell in enumerate(cells):
            if _rank([r[:i] + r[i + 1 :] for r in matrix]) < rank:
                found.add(cell)
    return found


@pytest.mark.parametrize("seed", range(40))
def test_the_audit_kept_up_to_date_agrees_with_ranks_computed_afresh(seed: int) -> None:
    # Random sums over a dozen cells, a part named twice now and then (coefficient -2:
    # fractions in the elimination); hidden sets that grow, shrink and jump, audited by one
    # `_Audit` (its basis kept from call to call).
    generator = random.Random(seed)
    cells: list[Key] = [("w", "t", str(i), "n") for i in range(12)]
    pub = Publication()
    for cell in cells:
        pub.add(cell, generator.randint(0, 3), 10, 5)
    for _ in range(generator.randint(3, 9)):
        total, *parts = generator.sample(cells, generator.randint(2, 5))
        if generator.random() < 0.2:
            parts.append(parts[0])
        pub.sum_of(total, parts)
    audit = _Audit(pub)
    hidden: set[Key] = set()
    for _ in range(25):
        if hidden and generator.random() < 0.3:
            hidden.discard(generator.choice(sorted(hidden)))
        elif generator.random() < 0.1:
            hidden = set(generator.sample(cells, generator.randint(0, 12)))
        else:
            hidden.add(generator.choice(cells))
        expected = _exposed_by_rank(pub, hidden)
        assert audit.exposed(hidden) == expected
        for cell in sorted(hidden):
            tried = generator.choice(cells)
            pinned = audit.pins(cell, {*hidden, tried}, tried=tried)
            assert pinned == (cell in audit.exposed({*hidden, tried}))
