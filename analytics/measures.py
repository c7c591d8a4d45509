"""The Employer Skills Survey's headline measures, per employer, with route-aware bases.

Each measure has a base: the employers who were *asked* the question it rests on, worked
out from the interview's own `relevant` conditions (evaluated by the conversations
expression language on each response's answers, with the definition of the version the
response was given in), not from a hand-kept list. An employer never asked is not in the
base: the figure is "not asked" (n/a) for a group nobody in which was asked, never 0%.

Names and definitions follow the ESS (see `MEASURES`); the notes sheet of the report
quotes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.frames import MULTI_SEPARATOR
from conversations.definition import Interview
from conversations.expressions import evaluate, references, truthy

SKILL_REASONS = frozenset({"few_skilled", "lack_experience", "lack_qualifications"})
GAP_NONE = frozenset({"none", "dont_know"})


@dataclass(frozen=True, slots=True)
class Measure:
    """One ESS measure: a share of employers, or a density (a share of vacancies or staff)."""

    name: str
    kind: str  # "rate" or "density"
    definition: str
    base: str
    # columns of the per-employer frame: who is in the base, the numerator (and denominator)
    asked: str
    numerator: str
    denominator: str | None = None
    numerator_label: str = "Employers"
    denominator_label: str = ""


MEASURES: tuple[Measure, ...] = (
    Measure(
        "Employers with vacancies",
        "rate",
        "Employers with at least one vacancy now (ESS: current vacancies): those recruiting "
        "now or in the last 3 months who have 0 vacancies now are not counted.",
        "Employers asked about vacancies.",
        "vacancies_asked",
        "has_vacancies",
    ),
    Measure(
        "Employers with hard-to-fill vacancies",
        "rate",
        "Employers with at least one vacancy they find hard to fill (HTFV), as a share of "
        "all employers asked about vacancies (ESS: % of establishments).",
        "Employers asked about vacancies.",
        "vacancies_asked",
        "has_htfv",
    ),
    Measure(
        "Employers with skill-shortage vacancies",
        "rate",
        "Employers with a skill-shortage vacancy (SSV): a hard-to-fill vacancy because "
        "applicants lack the skills, qualifications or experience needed.",
        "Employers asked about vacancies.",
        "vacancies_asked",
        "has_ssv",
    ),
    Measure(
        "SSV density",
        "density",
        "Skill-shortage vacancies as a share of all vacancies (ESS 'SSV density'). Counts "
        "the hard-to-fill vacancies of employers citing a skills reason.",
        "Employers asked how many vacancies they have (interview version 2 onwards).",
        "density_asked",
        "ssvs",
        "vacancy_count",
        "Skill-shortage vacancies",
        "Vacancies",
    ),
    Measure(
        "Employers with skills gaps",
        "rate",
        "Employers with at least one member of staff not fully proficient in their job "
        "(ESS 'skills gaps'). Not asked of sole traders.",
        "Employers with staff, asked about their proficiency.",
        "gaps_asked",
        "has_gaps",
    ),
    Measure(
        "Skills-gap density",
        "density",
        "Staff not fully proficient as a share of all staff (ESS 'skills-gap density').",
        "Employers with staff asked how many are not fully proficient (version 2 onwards).",
        "gap_density_asked",
        "gap_staff",
        "headcount",
        "Staff not fully proficient",
        "Staff",
    ),
)

_QUESTIONS = (
    "vacancies",
    "vacancy_count",
    "hard_to_fill",
    "htf_count",
    "htf_reasons",
    "staff_not_proficient",
    "gap_count",
    "headcount",
    "size_band",
)


def employer_measures(
    responses: pd.DataFrame,
    answers: pd.DataFrame,
    definitions: Mapping[str, Interview],
    current: Interview,
) -> pd.DataFrame:
    """Per completed response: profile, who was asked what, and each measure's parts.

    Vectorised: each question's answers become one column aligned on the responses, and
    a `relevant` condition is evaluated once per distinct combination of the answers it
    refers to, not once per response.
    """
    ids = responses["response_id"].to_numpy()
    versions = responses["interview_version"].astype("object").fillna("").to_numpy()
    routed = ("vacancies", "staff_not_proficient")
    referenced = {
        name
        for version in dict.fromkeys(versions)
        for question_id in routed
        if (question := _definition(definitions, current, version).by_id.get(question_id))
        and question.relevant is not None
        for name in references(question.relevant.expr)
    }
    columns = _answer_columns(ids, answers, sorted({*_QUESTIONS, *referenced}))
    text = {q: t for q, (t, _) in columns.items()}
    number = {q: n for q, (_, n) in columns.items()}
    asked = {q: _asked(q, columns, versions, definitions, current) for q in routed}

    def given(question_id: str) -> np.ndarray:  # a text (choice) answer was given
        values = text[question_id]
        present = pd.notna(values) & (values != "") & np.isnan(number[question_id])
        return np.asarray(present, dtype=bool)

    def chose(question_id: str, option: str) -> np.ndarray:
        same: np.ndarray = np.asarray(text[question_id] == option, dtype=bool)
        both: np.ndarray = given(question_id) & same
        return both

    recruiting = chose("vacancies", "yes")  # vacancies now or recruiting in 3 months
    ssv = chose("hard_to_fill", "yes") & _selected_any(text["htf_reasons"], SKILL_REASONS)
    vacancy_count = number["vacancy_count"]
    htf_count = number["htf_count"]
    headcount = number["headcount"]
    gap_count = number["gap_count"]
    answered_gap = given("staff_not_proficient")
    dont_know = chose("staff_not_proficient", "dont_know")
    has_gaps = answered_gap & ~np.isin(text["staff_not_proficient"], sorted(GAP_NONE))
    vacancies_asked = asked["vacancies"] & given("vacancies")
    # ESS counts current vacancies only: where the version asks how many there are now,
    # an employer who has filled every post (0 now) has none. A version without the
    # question (or a missing answer) leaves "yes" as it is: recruiting is all it says.
    counts_asked = _per_version(versions, definitions, current, "vacancy_count")
    has_vacancies = recruiting & ~(counts_asked & (vacancy_count == 0))
    has_htf_question = _per_version(versions, definitions, current, "htf_count")
    # Density needs the number of vacancies and, where some are hard to fill, how many.
    # Its base: employers asked how many vacancies they have (those with vacancies), as
    # the notes define it; employers without vacancies add 0 to both sums anyway.
    density_asked = (
        vacancies_asked
        & has_htf_question
        & recruiting
        & ~np.isnan(vacancy_count)
        & (~ssv | ~np.isnan(htf_count))
    )
    gaps_asked = asked["staff_not_proficient"] & answered_gap
    gap_density_asked = (
        gaps_asked
        & _per_version(versions, definitions, current, "gap_count")
        & ~np.isnan(headcount)
        & (~has_gaps | ~np.isnan(gap_count))
        & ~dont_know
    )
    return pd.DataFrame(
        {
            "response_id": ids,
            "sector": responses["sector"].astype("object").fillna("unknown").to_numpy(),
            "district": responses["district"].astype("object").fillna("unknown").to_numpy(),
            "size_band": responses["size_band"].astype("object").fillna("unknown").to_numpy(),
            "vacancies_asked": vacancies_asked,
            "has_vacancies": vacancies_asked & has_vacancies,
            "has_htfv": vacancies_asked & chose("hard_to_fill", "yes"),
            "has_ssv": vacancies_asked & ssv,
            "density_asked": density_asked,
            "vacancy_count": np.where(
                density_asked & recruiting, np.nan_to_num(vacancy_count), 0.0
            ),
            "ssvs": np.where(density_asked & ssv, np.nan_to_num(htf_count), 0.0),
            "gaps_asked": gaps_asked,
            "has_gaps": gaps_asked & has_gaps,
            "gap_density_asked": gap_density_asked,
            "headcount": np.where(gap_density_asked, np.nan_to_num(headcount), 0.0),
            "gap_staff": np.where(gap_density_asked & has_gaps, np.nan_to_num(gap_count), 0.0),
        }
    )


def _answer_columns(
    ids: np.ndarray, answers: pd.DataFrame, questions: list[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each question's (text, number) answer per response, aligned on `ids` (None/NaN: none)."""
    wanted = answers.loc[answers["question_id"].isin(questions).to_numpy()]
    question_ids = wanted["question_id"].astype("object").to_numpy()
    out = {}
    for question_id in questions:
        rows = wanted.loc[question_ids == question_id].drop_duplicates("response_id")
        index = pd.Index(rows["response_id"].to_numpy())
        text = pd.Series(rows["value_text"].to_numpy(dtype=object), index=index)
        number = pd.Series(rows["value_number"].to_numpy(dtype="float64"), index=index)
        out[question_id] = (
            text.reindex(ids).to_numpy(dtype=object),
            number.reindex(ids).to_numpy(dtype="float64"),
        )
    return out


def _selected_any(texts: np.ndarray, options: frozenset[str]) -> np.ndarray:
    """Whether each (multiple choice) answer selects one of `options`; distinct texts once."""
    codes, uniques = pd.factorize(texts)
    hit = np.array(
        [bool(set(str(u).split(MULTI_SEPARATOR)) & options) for u in uniques] + [False],
        dtype=bool,
    )
    return hit[np.where(codes < 0, len(uniques), codes)]


def _value(text: object, number: float) -> Any:
    """An answer as the engine holds it: a number, a text, or a list of selected values."""
    if not np.isnan(number):  # numbers are stored as both
        return int(number) if float(number).is_integer() else float(number)
    if isinstance(text, str) and text != "":
        return text.split(MULTI_SEPARATOR) if MULTI_SEPARATOR in text else text
    return None


def _definition(
    definitions: Mapping[str, Interview], current: Interview, version: str
) -> Interview:
    return definitions.get(version, current)


def _per_version(
    versions: np.ndarray,
    definitions: Mapping[str, Interview],
    current: Interview,
    question: str,
) -> np.ndarray:
    """Whether each response's interview version has the question at all."""
    out = np.zeros(len(versions), dtype=bool)
    for version in dict.fromkeys(versions):
        if question in _definition(definitions, current, version).by_id:
            out[versions == version] = True
    return out


def _asked(
    question_id: str,
    columns: Mapping[str, tuple[np.ndarray, np.ndarray]],
    versions: np.ndarray,
    definitions: Mapping[str, Interview],
    current: Interview,
) -> np.ndarray:
    """Whether each response was asked the question, by its version's `relevant` logic.

    The condition is evaluated once for each distinct combination of the answers it
    refers to (a handful), and the result spread to the responses that gave it.
    """
    out = np.zeros(len(versions), dtype=bool)
    for version in dict.fromkeys(versions):
        question = _definition(definitions, current, version).by_id.get(question_id)
        rows = np.flatnonzero(versions == version)
        if question is None:
            continue
        if question.relevant is None:
            out[rows] = True
            continue
        expr = question.relevant.expr
        names = sorted(references(expr))
        missing = (np.full(len(versions), None, dtype=object), np.full(len(versions), np.nan))
        picked = [columns.get(name, missing) for name in names]
        keys = pd.DataFrame(
            {
                f"{kind}{i}": array[rows]
                for i, pair in enumerate(picked)
                for kind, array in zip(("text", "number"), pair, strict=True)
            },
            index=np.arange(len(rows)),
        )
        if keys.columns.empty:
            codes = np.zeros(len(rows), dtype="int64")
        else:
            grouped = keys.groupby(list(keys.columns), dropna=False, sort=False)
            codes = grouped.ngroup().to_numpy()
        _, first = np.unique(codes, return_index=True)
        results = np.zeros(len(first), dtype=bool)
        for code, position in enumerate(first):
            row = rows[position]
            answers = {
                name: value
                for name, (texts, numbers) in zip(names, picked, strict=True)
                if (value := _value(texts[row], numbers[row])) is not None
            }
            results[code] = truthy(evaluate(expr, answers))
        out[rows] = results[codes]
    return out
