"""Two rules of disclosure control across tables and weeks, on hand-made figures.

- Last week's count to date, as this report's stage 1 rebuilds it "as made alone", may be
  hidden where a report showed it (last week's own, made knowing earlier reports): a
  reader knows it, so this week's "to date" less it would give "this week" away. It is
  taken as known (found by an outside audit: 300 employers, W48, Huntingdonshire's
  "Started this week" = 28 - 22).
- A base equal to a group's completers is the same quantity only where every group's
  employers answered all or none (the skills-gap question: every size band but sole
  traders'); elsewhere the equality is a coincidence a reader cannot know of.
"""

from __future__ import annotations

from analytics.disclosure import Publication
from analytics.tables import TOTAL, _all_or_none, _Grid, _hidden_last_week

WEEK = "2026-W47"
STARTED = (WEEK, "Responses by district", "Huntingdonshire", "Started to date")
COMPLETED = (WEEK, "Responses by district", "Huntingdonshire", "Completed to date")


def _last_week(started: float, completed: float) -> list[_Grid]:
    grid = _Grid("Responses by district", ["Huntingdonshire", TOTAL], ["Started to date"])
    grid.counts[("Huntingdonshire", "Started to date")] = (started, started)
    grid.counts[("Huntingdonshire", "Completed to date")] = (completed, completed)
    return [grid]


def test_a_count_a_report_showed_is_known_even_where_the_rebuilt_week_hides_it() -> None:
    pub = Publication()
    pub.fixed[STARTED] = None  # hidden by last week made alone
    pub.fixed[COMPLETED] = None
    record = {("Responses by district", "Huntingdonshire", "Started to date"): [(22.0, True, 22.0)]}
    _hidden_last_week(pub, WEEK, record, _last_week(22, 21))
    assert pub.fixed[STARTED] == 22  # W47's report showed 22: known
    assert pub.fixed[COMPLETED] is None  # nobody showed 21: still unknown


def test_a_count_shown_at_another_value_stays_unknown() -> None:
    pub = Publication()
    pub.fixed[STARTED] = None
    record = {("Responses by district", "Huntingdonshire", "Started to date"): [(20.0, True, 20.0)]}
    _hidden_last_week(pub, WEEK, record, _last_week(22, 21))
    assert pub.fixed[STARTED] is None


def test_a_count_hidden_by_a_report_and_never_shown_is_unknown() -> None:
    pub = Publication()
    pub.fixed[STARTED] = 22.0  # shown by last week made alone
    record = {("Responses by district", "Huntingdonshire", "Started to date"): [(22.0, False, 0.0)]}
    _hidden_last_week(pub, WEEK, record, _last_week(22, 21))
    assert pub.fixed[STARTED] is None


def test_bases_are_tied_to_completers_only_where_groups_answered_all_or_none() -> None:
    completers = {"1 (just me)": 3.0, "2 to 4": 7.0, "5 to 9": 5.0, TOTAL: 15.0}
    # the skills-gap question: every band but sole traders', whose base is 0
    assert _all_or_none({"1 (just me)": 0.0, "2 to 4": 7.0, "5 to 9": 5.0, TOTAL: 12.0}, completers)
    # a question some of a band skipped: a band's base equal to its completers is chance
    assert not _all_or_none({"1 (just me)": 3.0, "2 to 4": 6.0, "5 to 9": 5.0}, completers)
