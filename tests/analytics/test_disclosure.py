"""Disclosure control: thresholds, primary and secondary suppression on small tables."""

from __future__ import annotations

import pytest

from analytics.disclosure import (
    InvalidMinBase,
    Publication,
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
