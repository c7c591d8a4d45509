"""Roll-ups of the small fixed survey (tests/analytics/survey.py) against hand counts."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.frames import completed_answers_until, tidy_answers
from analytics.rollups import (
    ALL,
    choice_shares,
    incidence,
    number_summaries,
    response_counts,
    skills_ranking,
)
from analytics.tables import report_tables
from analytics.weekly import SurveyFrames, weekly_summary
from analytics.weeks import IsoWeek
from tests.analytics import survey

END = pd.Timestamp("2026-04-01", tz="UTC")


@pytest.fixture
def tidy() -> pd.DataFrame:
    return tidy_answers(survey.answers(), survey.responses(), survey.CATALOGUE)


@pytest.fixture
def completed(tidy: pd.DataFrame) -> pd.DataFrame:
    return completed_answers_until(tidy, END)


def _row(frame: pd.DataFrame, **where: object) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    rows = frame.loc[mask]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_tidy_explodes_multi_select_and_types_numbers(tidy: pd.DataFrame) -> None:
    skills = tidy.loc[(tidy["response_id"] == 101) & (tidy["question_id"] == "skills_lacking")]
    assert sorted(skills["value"]) == ["numeracy", "specialist"]
    assert set(skills["kind"]) == {"multi"}
    fit = _row(tidy, response_id=101, question_id="provision_fit")
    assert fit["kind"] == "number"
    assert fit["number"] == 4.0
    assert fit["sector"] == "manufacturing"


def test_tidy_drops_unknown_questions_and_orphan_answers() -> None:
    answers = pd.concat(
        [
            survey.answers(),
            pd.DataFrame(
                {
                    "response_id": [101, 999],
                    "question_id": ["retired_question", "vacancies"],
                    "value_text": ["x", "yes"],
                    "value_number": [None, None],
                }
            ),
        ],
        ignore_index=True,
    )
    tidy = tidy_answers(answers, survey.responses(), survey.CATALOGUE)
    assert "retired_question" not in set(tidy["question_id"])
    assert 999 not in set(tidy["response_id"])


def test_response_counts_by_sector() -> None:
    counts = response_counts(survey.responses(), "sector").set_index("group")
    assert counts.loc["manufacturing", "started"] == 6
    assert counts.loc["manufacturing", "completed"] == 5
    assert counts.loc["manufacturing", "completion_rate"] == pytest.approx(5 / 6)
    assert counts.loc["health", "completion_rate"] == pytest.approx(0.5)
    overall = response_counts(survey.responses())
    assert overall.loc[0, "group"] == ALL
    assert (overall.loc[0, "started"], overall.loc[0, "completed"]) == (12, 10)


def test_branching_question_has_its_own_base(completed: pd.DataFrame) -> None:
    shares = choice_shares(completed, None, survey.CATALOGUE)
    vacancies = _row(shares, question_id="vacancies", option="yes")
    assert (vacancies["count"], vacancies["base"]) == (7, 10)
    # Hard to fill is asked only of the 7 with vacancies: 6 of them say yes.
    hard = _row(shares, question_id="hard_to_fill", option="yes")
    assert (hard["count"], hard["base"]) == (6, 7)
    assert hard["share"] == pytest.approx(6 / 7)
    # Nobody chose "none": it is listed with a count of 0 on the same base.
    nobody = _row(shares, question_id="skills_lacking", option="none")
    assert (nobody["count"], nobody["base"]) == (0, 6)


def test_choice_shares_by_sector(completed: pd.DataFrame) -> None:
    shares = choice_shares(completed, "sector", survey.CATALOGUE)
    manufacturing = _row(shares, group="manufacturing", question_id="hard_to_fill", option="yes")
    assert (manufacturing["count"], manufacturing["base"]) == (3, 4)
    specialist = _row(
        shares, group="manufacturing", question_id="skills_lacking", option="specialist"
    )
    assert (specialist["count"], specialist["base"], specialist["share"]) == (3, 3, 1.0)


def test_number_summaries(completed: pd.DataFrame) -> None:
    overall = _row(number_summaries(completed), question_id="provision_fit")
    # 4, 2, 3, 5, 1, 2, 4, 3, 5, 2
    assert (overall["mean"], overall["median"], overall["base"]) == (3.1, 3.0, 10)
    construction = _row(number_summaries(completed, "sector"), group="construction")
    assert (construction["mean"], construction["median"], construction["base"]) == (3.5, 3.5, 4)


def test_incidence_counts_yes_among_those_asked(completed: pd.DataFrame) -> None:
    gaps = incidence(completed, "skills_gaps", {"yes"}).iloc[0]
    assert (gaps["count"], gaps["base"]) == (6, 10)


def test_skills_ranked_overall_and_within_sector(completed: pd.DataFrame) -> None:
    overall = skills_ranking(completed, ["skills_lacking"])
    assert list(overall["skill"]) == ["specialist", "numeracy", "customer", "team_working"]
    assert list(overall["count"]) == [4, 2, 1, 1]
    assert set(overall["base"]) == {6}
    assert list(overall["rank"]) == [1, 2, 3, 4]
    by_sector = skills_ranking(completed, ["skills_lacking"], "sector")
    manufacturing = by_sector.loc[by_sector["group"] == "manufacturing"]
    assert list(manufacturing["skill"]) == ["specialist", "numeracy", "team_working"]
    assert list(manufacturing["rank"]) == [1, 2, 3]


def test_suppression_of_base_4_but_not_base_5() -> None:
    frames = SurveyFrames(
        survey.responses(),
        tidy_answers(survey.answers(), survey.responses(), survey.CATALOGUE),
        survey.CATALOGUE,
    )
    tables = report_tables(weekly_summary(frames, IsoWeek(2026, 10)), 5)
    shown = next(t for t in tables.tables if t.name == "Choices by sector").frame
    shown = shown.rename(columns={"Sector": "group", "Question": "question_id", "Answer": "option"})
    construction = _row(shown, group="Construction", question_id="Any vacancies?", option="Yes")
    assert (construction["Employers"], construction["Share"], construction["Base"]) == (
        "<5",
        "..",  # a percentage not shown prints "..", whatever hides it
        "<5",
    )
    manufacturing = _row(shown, group="Manufacturing", question_id="Any vacancies?", option="Yes")
    # Base 5: the 4 saying yes are shown (a count on a base of 5), and so is the base of
    # "Any hard to fill?" (the same 4 employers: it says nothing more). The share is not
    # shown on a base under 25.
    assert (manufacturing["Employers"], manufacturing["Share"], manufacturing["Base"]) == (
        4,
        "..",
        5,
    )
    hard = _row(shown, group="Manufacturing", question_id="Any hard to fill?", option="Yes")
    assert (hard["Employers"], hard["Base"]) == ("<5", 4)
    # Base 4 for manufacturing's hard-to-fill question: suppressed too.
    assert (
        _row(shown, group="Manufacturing", question_id="Any hard to fill?", option="Yes")["Share"]
        == ".."
    )
