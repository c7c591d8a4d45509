"""ESS measures: route-aware bases, n/a where nobody was asked, old versions still reported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from analytics.demo import seed_demo
from analytics.measures import employer_measures
from analytics.report import builtin_interview_path, builtin_interview_versions, load_frames
from analytics.tables import report_tables
from analytics.weekly import weekly_summary
from analytics.weeks import IsoWeek
from conversations.loader import load_interview
from storage import size_band

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WEEK = IsoWeek(2026, 48)


def test_size_band_from_headcount() -> None:
    assert [size_band(n) for n in (1, 2, 4, 5, 9, 10, 24, 25, 49, 50, 99, 100, 249, 250)] == [
        "1", "2-4", "2-4", "5-9", "5-9", "10-24", "10-24", "25-49", "25-49", "50-99",
        "50-99", "100-249", "100-249", "250+",
    ]  # fmt: skip
    assert size_band(0) is None


@pytest.fixture
def mixed(engine: Engine) -> Engine:
    """Responses to version 1 (size band asked, no counts) and to the current version
    (headcount, version 3 since issue 18's wording)."""
    v1_path, _v2_path = builtin_interview_versions()
    v1 = load_interview(v1_path)
    assert v1.version == "1"
    seed_demo(engine, employers=150, weeks=2, seed=3, now=NOW, interview=v1)
    seed_demo(engine, employers=150, weeks=2, seed=4, now=NOW)
    return engine


def test_bases_follow_the_interviews_own_routing(mixed: Engine, tmp_path: Path) -> None:
    frames = load_frames(mixed)
    summary = weekly_summary(frames, WEEK)
    measures = summary.measures
    versions = frames.responses.set_index("response_id")["interview_version"]
    version = measures["response_id"].map(versions)
    # Sole traders are never asked about staff, in either version.
    sole = measures["size_band"] == "1"
    assert sole.any()
    assert not measures.loc[sole, "gaps_asked"].any()
    # Independently: those asked about staff are exactly those who answered the question.
    answers = frames.answers
    answered = set(answers.loc[answers["question_id"] == "staff_not_proficient", "response_id"])
    assert set(measures.loc[measures["gaps_asked"], "response_id"]) == answered & set(
        measures["response_id"]
    )
    # Densities need version 2's numbers: version 1 responses are not in their base.
    assert not measures.loc[version == "1", "density_asked"].any()
    assert measures.loc[version == "3", "density_asked"].any()
    assert measures.loc[version == "1", "vacancies_asked"].all()

    tables = report_tables(summary, 5)
    cells = {(c.table, c.row, c.column): c for c in tables.cells}
    just_me = cells[("Employers with skills gaps (by size band)", "1 (just me)", "% of employers")]
    assert just_me.status == "not_asked"
    total = cells[("Employers with skills gaps (by size band)", "Total", "Base")]
    assert total.value == measures["gaps_asked"].sum()
    vacancies = cells[("Employers with vacancies (by sector)", "Total", "% of employers")]
    assert vacancies.status == "shown"
    assert vacancies.value == pytest.approx(
        measures["has_vacancies"].sum() / measures["vacancies_asked"].sum()
    )
    notes = next(t for t in tables.tables if t.name == "Notes").frame
    assert "SSV density" in set(notes["Measure"])


@pytest.mark.slow
def test_demo_rates_are_near_the_national_ess_figures(engine: Engine) -> None:
    seed_demo(engine, employers=1500, weeks=8, seed=2, now=NOW)
    m = weekly_summary(load_frames(engine), WEEK).measures
    assert 0.06 <= m["has_ssv"].sum() / m["vacancies_asked"].sum() <= 0.14  # ESS 2022: 10%
    assert 0.25 <= m["ssvs"].sum() / m["vacancy_count"].sum() <= 0.45  # 36%
    assert 0.03 <= m["gap_staff"].sum() / m["headcount"].sum() <= 0.09  # 5.7%


def test_an_only_reason_of_lacking_skills_makes_a_skill_shortage_vacancy(engine: Engine) -> None:
    """Employers with an SSV, checked against the database by plain SQL: a hard-to-fill
    vacancy whose reasons include a lack of skills, qualifications or experience, also
    when that is the one reason ticked (stored without a separator)."""
    seed_demo(engine, employers=300, weeks=4, seed=5, now=NOW)
    m = weekly_summary(load_frames(engine), WEEK).measures
    skill = ("few_skilled", "lack_experience", "lack_qualifications")
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT a.response_id, a.value_text FROM answer a JOIN answer h"
            " ON h.response_id = a.response_id AND h.question_id = 'hard_to_fill'"
            " WHERE a.question_id = 'htf_reasons' AND h.value_text = 'yes'"
        ).all()
    expected = {r for r, text in rows if set(str(text).split(";")) & set(skill)}
    assert any(";" not in str(text) and text in skill for _, text in rows), "no single reason"
    assert set(m.loc[m["has_ssv"], "response_id"]) == expected & set(m["response_id"])


def _frames(rows: list[tuple[str, str, dict[str, object]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Literal responses (id, interview version, answers) as the measures read them."""
    responses = pd.DataFrame(
        {
            "response_id": [r for r, _, _ in rows],
            "interview_version": [v for _, v, _ in rows],
            "sector": "construction",
            "district": "unknown",
            "size_band": "10-24",
        }
    )
    answers = pd.DataFrame(
        [
            {
                "response_id": response,
                "question_id": question,
                "value_text": str(value) if not isinstance(value, int) else str(value),
                "value_number": float(value) if isinstance(value, int) else np.nan,
            }
            for response, _, given in rows
            for question, value in given.items()
        ],
        columns=["response_id", "question_id", "value_text", "value_number"],
    )
    return responses, answers


def test_employers_with_vacancies_counts_current_vacancies_only() -> None:
    """ESS's "% with vacancies" counts vacancies now: an employer who recruited in the last
    3 months and has filled every post (0 vacancies now) has none, in version 1 too. A
    "yes" without the number (not asked, or not given) still counts."""
    v1_path, _ = builtin_interview_versions()
    current = load_interview(builtin_interview_path())
    v1 = load_interview(v1_path)
    definitions = {current.version: current, v1.version: v1}
    v = current.version
    responses, answers = _frames(
        [
            ("now", v, {"headcount": 12, "vacancies": "yes", "vacancy_count": 3,
                        "hard_to_fill": "no"}),
            ("filled", v, {"headcount": 12, "vacancies": "yes", "vacancy_count": 0}),
            ("none", v, {"headcount": 12, "vacancies": "no"}),
            ("old", "1", {"size_band": "10-24", "vacancies": "yes", "vacancy_count": 2,
                          "hard_to_fill": "no"}),
            ("old filled", "1", {"size_band": "10-24", "vacancies": "yes", "vacancy_count": 0}),
            ("no number", v, {"headcount": 12, "vacancies": "yes"}),
        ]
    )  # fmt: skip
    m = employer_measures(responses, answers, definitions, current).set_index("response_id")
    assert m["vacancies_asked"].all()
    assert m["has_vacancies"].to_dict() == {
        "now": True, "filled": False, "none": False, "old": True, "old filled": False,
        "no number": True,
    }  # fmt: skip
    # The density's base is still everyone asked how many (0 adds nothing to its sums).
    assert m.loc["filled", "density_asked"]
    assert m.loc["filled", "vacancy_count"] == 0
