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
        "Employers with at least one vacancy now or recruiting in the last 3 months.",
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


def _mask(flags: list[bool]) -> np.ndarray:
    """A boolean array of these flags (an empty list too: numpy would make it float)."""
    return np.array(flags, dtype=bool)


def employer_measures(
    responses: pd.DataFrame,
    answers: pd.DataFrame,
    definitions: Mapping[str, Interview],
    current: Interview,
) -> pd.DataFrame:
    """Per completed response: profile, who was asked what, and each measure's parts."""
    ids = responses["response_id"].to_numpy()
    wanted = answers.loc[answers["question_id"].isin(_QUESTIONS).to_numpy()]
    question_ids = wanted["question_id"].astype("object").to_numpy()
    text: dict[str, np.ndarray] = {}
    number: dict[str, np.ndarray] = {}
    for question_id in _QUESTIONS:  # one column per question, aligned on the responses
        rows = wanted.loc[question_ids == question_id].drop_duplicates("response_id")
        index = pd.Index(rows["response_id"].to_numpy())
        text[question_id] = (
            pd.Series(rows["value_text"].to_numpy(), index=index).reindex(ids).to_numpy()
        )
        number[question_id] = (
            pd.Series(rows["value_number"].to_numpy(dtype="float64"), index=index)
            .reindex(ids)
            .to_numpy()
        )
    versions = responses["interview_version"].astype("object").fillna("").to_numpy()

    values = {q: _values(text[q], number[q]) for q in _QUESTIONS}
    asked = {
        q: _asked(q, values, versions, definitions, current)
        for q in ("vacancies", "vacancy_count", "staff_not_proficient", "htf_count", "gap_count")
    }
    has_vacancies = _mask([v == "yes" for v in values["vacancies"]])
    htf = _mask([v == "yes" for v in values["hard_to_fill"]])
    # A multiple choice with one option ticked is stored without a separator: a string.
    reasons = [
        set(v) if isinstance(v, list) else {v} if isinstance(v, str) else set()
        for v in values["htf_reasons"]
    ]
    ssv = htf & _mask([bool(r & SKILL_REASONS) for r in reasons])
    vacancy_count = _numbers(values["vacancy_count"])
    htf_count = _numbers(values["htf_count"])
    headcount = _numbers(values["headcount"])
    gap_count = _numbers(values["gap_count"])
    answered_gap = _mask(
        [isinstance(v, str) and v != "" for v in values["staff_not_proficient"]]
    )
    has_gaps = _mask(
        [
            isinstance(v, str) and v != "" and v not in GAP_NONE
            for v in values["staff_not_proficient"]
        ]
    )
    answered_vacancies = _mask([isinstance(v, str) and v != "" for v in values["vacancies"]])
    vacancies_asked = asked["vacancies"] & answered_vacancies
    has_htf_question = _mask([_has(definitions, current, v, "htf_count") for v in versions])
    # Density needs the number of vacancies and, where some are hard to fill, how many.
    density_asked = (
        vacancies_asked
        & has_htf_question
        & (~has_vacancies | (~np.isnan(vacancy_count)))
        & (~ssv | ~np.isnan(htf_count))
    )
    has_gap_question = _mask([_has(definitions, current, v, "gap_count") for v in versions])
    gap_density_asked = (
        asked["staff_not_proficient"]
        & answered_gap
        & has_gap_question
        & ~np.isnan(headcount)
        & (
            ~has_gaps
            | ~np.isnan(gap_count)
            | _mask([v == "dont_know" for v in values["staff_not_proficient"]])
        )
    )
    gap_density_asked &= ~_mask([v == "dont_know" for v in values["staff_not_proficient"]])
    return pd.DataFrame(
        {
            "response_id": ids,
            "sector": responses["sector"].astype("object").fillna("unknown").to_numpy(),
            "district": responses["district"].astype("object").fillna("unknown").to_numpy(),
            "size_band": responses["size_band"].astype("object").fillna("unknown").to_numpy(),
            "vacancies_asked": vacancies_asked,
            "has_vacancies": vacancies_asked & has_vacancies,
            "has_htfv": vacancies_asked & htf,
            "has_ssv": vacancies_asked & ssv,
            "density_asked": density_asked,
            "vacancy_count": np.where(
                density_asked & has_vacancies, np.nan_to_num(vacancy_count), 0.0
            ),
            "ssvs": np.where(density_asked & ssv, np.nan_to_num(htf_count), 0.0),
            "gaps_asked": asked["staff_not_proficient"] & answered_gap,
            "has_gaps": asked["staff_not_proficient"] & answered_gap & has_gaps,
            "gap_density_asked": gap_density_asked,
            "headcount": np.where(gap_density_asked, np.nan_to_num(headcount), 0.0),
            "gap_staff": np.where(gap_density_asked & has_gaps, np.nan_to_num(gap_count), 0.0),
        }
    )


def _values(text: np.ndarray, number: np.ndarray) -> list[Any]:
    out: list[Any] = []
    for t, n in zip(text, number, strict=True):
        if isinstance(n, float) and not np.isnan(n):  # numbers are stored as both
            out.append(int(n) if n.is_integer() else n)
        elif isinstance(t, str) and t != "":
            out.append(t.split(MULTI_SEPARATOR) if MULTI_SEPARATOR in t else t)
        else:
            out.append(None)
    return out


def _numbers(values: list[Any]) -> np.ndarray:
    return np.array(
        [
            float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
            for v in values
        ]
    )


def _definition(
    definitions: Mapping[str, Interview], current: Interview, version: str
) -> Interview:
    return definitions.get(version, current)


def _has(
    definitions: Mapping[str, Interview], current: Interview, version: str, question: str
) -> bool:
    return question in _definition(definitions, current, version).by_id


def _asked(
    question_id: str,
    values: Mapping[str, list[Any]],
    versions: np.ndarray,
    definitions: Mapping[str, Interview],
    current: Interview,
) -> np.ndarray:
    """Whether each response was asked the question, by its version's `relevant` logic."""
    cache: dict[tuple[Any, ...], bool] = {}
    out = np.zeros(len(versions), dtype=bool)
    missing: list[Any] = [None] * len(versions)
    for version in dict.fromkeys(versions):
        definition = _definition(definitions, current, version)
        question = definition.by_id.get(question_id)
        rows = np.flatnonzero(versions == version)
        if question is None:
            continue
        if question.relevant is None:
            out[rows] = True
            continue
        expr = question.relevant.expr
        names = sorted(references(expr))
        columns = [values.get(n, missing) for n in names]
        for i in rows:
            key = tuple(_hashable(column[i]) for column in columns)
            known = cache.get(key)
            if known is None:
                answers = {n: c[i] for n, c in zip(names, columns, strict=True) if c[i] is not None}
                known = cache[key] = truthy(evaluate(expr, answers))
            out[i] = known
        cache.clear()  # keys are per version
    return out


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
