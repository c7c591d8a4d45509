"""Synthetic demo data: employers and their responses, made by driving the real engine.

Each demo employer answers the interview through `InterviewEngine`, so only questions
relevant to its earlier answers get answers, exactly as in a real run. The same seed and
`now` always give the same data. Organisation names are plainly synthetic
("Demo Employer 0001 Ltd"); nobody real is named.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conversations.areas import DEFAULT_AREA, districts
from conversations.definition import OTHER_VALUE, PROFILE_FIELDS, Interview, Question
from conversations.engine import InterviewEngine, choice_options
from conversations.events import (
    Ask,
    Choose,
    Completed,
    Declined,
    Done,
    Input,
    Invalid,
    ReviewSummary,
    Skip,
    Submit,
    Text,
    Toggle,
)
from conversations.loader import builtin_interview_path, load_interview
from conversations.state import InterviewState
from storage import profile_from_answers, recontact_from_answers
from storage.analytics_source import Database
from storage.demo_seed import SeedCounts, SeedResponse, insert_seed

# A plausible sector mix for an LSIP area (shares of employers interviewed).
SECTOR_WEIGHTS: Mapping[str, float] = {
    "business_services": 22,
    "wholesale_retail": 16,
    "health_social_work": 11,
    "manufacturing": 10,
    "construction": 10,
    "hotels_restaurants": 7,
    "information_communications": 6,
    "arts_other_services": 5,
    "transport_storage": 4,
    "education": 4,
    "primary_utilities": 2.5,
    "financial_services": 2,
    "public_administration": 0.5,
}
# Most employers are small (ESS-like, with sole traders kept apart).
SIZE_WEIGHTS: Mapping[str, float] = {
    "1": 8,
    "2-4": 30,
    "5-9": 22,
    "10-24": 18,
    "25-49": 10,
    "50-99": 6,
    "100-249": 4,
    "250+": 2,
}
# How likely a "yes" is, per yes/no question (others: an even chance); vacancies depend on
# the size of the site (`_VACANCY_CHANCE`).
YES_CHANCE: Mapping[str, float] = {
    "hard_to_fill": 0.62,
    "upskilling_needed": 0.6,
    "follow_up": 0.4,
}
# The demo is tuned so that the report's headline rates come out near the national
# Employer Skills Survey's (2022; ../shared/domain.md): about a quarter of employers with
# vacancies, 15% with hard-to-fill ones, 10% with a skill-shortage vacancy, SSV density
# about 36%, 15% with skills gaps, skills-gap density about 6%, 60% training staff; each
# rising with the size of the site, as in the ESS. `tests/analytics/test_demo_realism.py`
# checks the rates on a seeded report.
_VACANCY_CHANCE: Mapping[str, float] = {
    "1": 0.04,
    "2-4": 0.10,
    "5-9": 0.18,
    "10-24": 0.30,
    "25-49": 0.45,
    "50-99": 0.60,
    "100-249": 0.70,
    "250+": 0.80,
}
# Chance that at least one member of staff is not fully proficient, by people at the site.
_GAP_CHANCE: tuple[tuple[int, float], ...] = (
    (5, 0.06),
    (10, 0.11),
    (25, 0.18),
    (50, 0.25),
    (100, 0.32),
    (250, 0.38),
)
_GAP_CHANCE_LARGEST = 0.45
# Chance of having funded or arranged training in the last 12 months, by size band.
_TRAINING_CHANCE: Mapping[str, float] = {
    "1": 0.35,
    "2-4": 0.45,
    "5-9": 0.60,
    "10-24": 0.72,
    "25-49": 0.82,
    "50-99": 0.88,
    "100-249": 0.92,
    "250+": 0.95,
}
# Each skills reason for a hard-to-fill vacancy is cited with this chance (2 in 3 cite one).
_SKILL_REASON_CHANCE = 0.31
# People at the site, drawn within each band (250+ up to 600).
_HEADCOUNT_RANGE: Mapping[str, tuple[int, int]] = {
    "1": (1, 1),
    "2-4": (2, 4),
    "5-9": (5, 9),
    "10-24": (10, 24),
    "25-49": (25, 49),
    "50-99": (50, 99),
    "100-249": (100, 249),
    "250+": (250, 600),
}
_SKILL_REASONS = ("few_skilled", "lack_experience", "lack_qualifications")
_OTHER_REASONS = (
    "few_applicants",
    "pay_conditions",
    "location_transport",
    "attitude",
    "competition",
    "unsociable_hours",
    "seasonal",
    "cost_of_living",
)
# Lists whose popular options differ by sector.
_SECTOR_FLAVOURED = frozenset({"htf_occupations", "future_skills"})
# The skills lacking (ESS's list, in the interview's order: ESS's, technical and practical
# skills first, "specialist skills or knowledge for the role" the most cited nationally):
# national weights falling along the list, each sector's own emphasis on top.
_SKILLS_LACKING = frozenset({"applicant_skills_lacking", "staff_skills_gaps"})
_SKILL_FALL = 0.35  # the weight of the option at position i: 1 / (1 + 0.35 i)
_SPECIALIST_LEAD = 2.5  # and the first, specialist skills, well ahead of the rest
COMPLETE_SHARE = 0.75
DECLINE_SHARE = 0.03
_MAX_INPUTS = 400
_COMMENTS = (
    "We struggle to find qualified electricians locally.",
    "Apprenticeship admin takes too much of our time.",
    "Short courses in the evening would help our staff.",
    "Digital skills are the biggest gap for our older staff.",
    "Transport to the college is a problem for young people.",
    "We need more help understanding net zero requirements.",
    "Good local provision, but waiting lists are long.",
)


@dataclass(frozen=True, slots=True)
class DemoEmployer:
    """A synthetic employer's profile and contact details."""

    number: int
    organisation: str
    contact_name: str
    email: str
    sector: str
    district: str
    size_band: str
    role: str


@dataclass(frozen=True, slots=True)
class DemoResponse:
    """One synthetic interview run: its employer, the engine's final state, and times.

    `status` is one of in_progress, completed, declined, abandoned; `answer_times` gives
    each answered question the time it was answered.
    """

    employer: DemoEmployer
    status: str
    state: InterviewState
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    answer_times: dict[str, datetime]


def demo_responses(
    interview: Interview,
    *,
    employers: int,
    weeks: int,
    seed: int,
    now: datetime,
    area: str = DEFAULT_AREA,
) -> Iterator[DemoResponse]:
    """`employers` synthetic employers with one response each, started over `weeks` weeks
    before `now`; deterministic for a given seed and `now`."""
    rng = random.Random(seed)
    engine = InterviewEngine(interview)
    codes = [district.code for district in districts(area)]
    district_weights = [rng.uniform(0.6, 1.6) for _ in codes]
    span = timedelta(weeks=weeks).total_seconds()
    for number in range(1, employers + 1):
        employer = DemoEmployer(
            number=number,
            organisation=f"Demo Employer {number:04d} Ltd",
            contact_name=f"Demo Contact {number:04d}",
            email=f"contact{number:04d}@demo.invalid",
            sector=_pick(rng, SECTOR_WEIGHTS),
            district=rng.choices(codes, district_weights)[0],
            size_band=_pick(rng, SIZE_WEIGHTS),
            role=rng.choice(["owner", "senior_manager", "hr_training", "line_manager"]),
        )
        started_at = now - timedelta(seconds=rng.uniform(0, span))
        roll = rng.random()
        outcome = (
            "declined"
            if roll < DECLINE_SHARE
            else "completed"
            if roll < DECLINE_SHARE + COMPLETE_SHARE
            else "partial"
        )
        yield _run(engine, interview, employer, outcome, started_at, now, rng)


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _run(
    engine: InterviewEngine,
    interview: Interview,
    employer: DemoEmployer,
    outcome: str,
    started_at: datetime,
    now: datetime,
    rng: random.Random,
) -> DemoResponse:
    step = engine.start()
    # A partial run stops after a random number of answers.
    stop_after = (
        rng.randint(1, max(2, len(interview.questions) - 4)) if outcome == "partial" else None
    )
    moment = started_at
    answer_times: dict[str, datetime] = {}
    inputs = 0
    while inputs < _MAX_INPUTS:
        prompt = step.prompts[-1] if step.prompts else None
        if isinstance(prompt, Completed | Declined):
            break
        if isinstance(prompt, ReviewSummary):
            events: list[Input] = [Submit()]
        elif isinstance(prompt, Ask | Invalid):
            asked = engine.current_question(step.state)
            if asked is None:
                break
            if stop_after is not None and len(step.state.answers) >= stop_after:
                break
            events = _answer(asked, prompt, employer, outcome, rng, step.state.answers)
        else:
            break
        before = step.state.answers
        for event in events:
            step = engine.handle(step.state, event)
            inputs += 1
        moment += timedelta(seconds=rng.uniform(5, 40))
        for question_id, value in step.state.answers.items():
            if before.get(question_id) != value:
                answer_times[question_id] = moment
    moment = min(moment, now)
    status = {
        "completed": "completed",
        "declined": "declined",
        "review": "in_progress",
        "in_progress": "in_progress",
    }[step.state.status]
    if status == "in_progress" and now - moment > timedelta(days=7):
        status = "abandoned"
    answers = step.state.answers
    return DemoResponse(
        employer=employer,
        status=status,
        state=step.state,
        started_at=started_at,
        updated_at=moment,
        completed_at=moment if status == "completed" else None,
        answer_times={q: answer_times.get(q, moment) for q in answers},
    )


def _answer(
    question: Question,
    prompt: Ask | Invalid,
    employer: DemoEmployer,
    outcome: str,
    rng: random.Random,
    answers: Mapping[str, Any] | None = None,
) -> list[Input]:
    """A plausible input for the question being asked (retrying differently if Invalid)."""
    qid = question.id
    given = answers or {}
    if question.type == "integer" and qid in _NUMBERS and not isinstance(prompt, Invalid):
        return [Text(str(_NUMBERS[qid](employer, given, rng)))]
    if qid == "staff_not_proficient" and not isinstance(prompt, Invalid):
        # Larger sites are far more likely to have someone not fully proficient (ESS).
        headcount = int(given.get("headcount") or 2)
        gaps = next((p for size, p in _GAP_CHANCE if headcount < size), _GAP_CHANCE_LARGEST)
        shares = {
            "none": 0.97 - gaps,
            "dont_know": 0.03,
            "1-9": gaps * 0.55,
            "10-24": gaps * 0.3,
            "25-49": gaps * 0.1,
            "50+": gaps * 0.05,
        }
        return [Choose(_share_pick(rng, question, shares), qid)]
    if qid == "training_done" and not isinstance(prompt, Invalid):
        trained = _TRAINING_CHANCE.get(employer.size_band, 0.6)
        shares = {
            "on_job": trained * 0.35,
            "off_job": trained * 0.15,
            "both": trained * 0.5,
            "none": (1 - trained) * 0.95,
            "dont_know": (1 - trained) * 0.05,
        }
        return [Choose(_share_pick(rng, question, shares), qid)]
    if qid == "vacancies" and not isinstance(prompt, Invalid):
        chance = _VACANCY_CHANCE.get(employer.size_band, 0.25)
        return [Choose("yes" if rng.random() < chance else "no", qid)]
    if qid == "htf_reasons" and not isinstance(prompt, Invalid):
        picks = [r for r in _SKILL_REASONS if rng.random() < _SKILL_REASON_CHANCE]
        if rng.random() < 0.5 or not picks:
            picks.append(rng.choice(_OTHER_REASONS))
        return [*(Toggle(pick, qid) for pick in dict.fromkeys(picks)), Done(qid)]
    if isinstance(prompt, Ask) and prompt.follow_up:
        return [Text("Something else")]
    retry = isinstance(prompt, Invalid)
    if question.type == "consent":
        return [Choose("no" if outcome == "declined" else "yes", qid)]
    if question.type == "text":
        if question.profile == "organisation":
            return [Text(employer.organisation)]
        if not question.required and rng.random() < 0.6:
            return [Skip(qid)]
        return [Text(rng.choice(_COMMENTS))]
    if question.type in ("integer", "decimal"):
        if not question.required and rng.random() < 0.2:
            return [Skip(qid)]
        high = 3 if retry or employer.size_band in ("1", "2-4") else 12
        return [Text(str(rng.randint(max(0, int(question.min or 0)), high)))]
    if question.type == "date":
        return [Text("2026-01-15")]
    if question.type == "yes_no":
        return [Choose("yes" if rng.random() < YES_CHANCE.get(qid, 0.5) else "no", qid)]
    if question.type == "scale":
        if not question.required and rng.random() < 0.15:
            return [Skip(qid)]
        options = [c.value for c in choice_options(question)]
        middle = len(options) // 2
        weights = [1.0 + (2.0 if abs(i - middle) <= 1 else 0.0) for i in range(len(options))]
        return [Choose(rng.choices(options, weights)[0], qid)]
    profile = {
        "sector": employer.sector,
        "district": employer.district,
        "size_band": employer.size_band,
        "role": employer.role,
    }
    values = [c.value for c in choice_options(question) if c.value != OTHER_VALUE]
    if question.type == "select_one":
        if qid in profile and profile[qid] in values and not retry:
            return [Choose(profile[qid], qid)]
        return [Choose(_skewed(rng, values), qid)]
    if question.type == "select_multiple":
        if retry:
            return [Done(qid)]
        prevalence: list[float] | None = None
        if qid in _SECTOR_FLAVOURED:
            # Each sector leads with its own options (a stable order per sector and question).
            random.Random(f"{employer.sector}:{qid}").shuffle(values)
        elif qid in _SKILLS_LACKING:
            emphasis = random.Random(f"{employer.sector}:{qid}")  # stable per sector
            prevalence = [
                emphasis.uniform(0.5, 2.0) / (1 + _SKILL_FALL * i) for i in range(len(values))
            ]
            prevalence[0] *= _SPECIALIST_LEAD
        wanted = rng.randint(1, min(4, len(values)))
        limit = int(question.max) if question.max is not None else wanted
        picks = _distinct_skewed(rng, values, min(wanted, limit), prevalence)
        return [*(Toggle(pick, qid) for pick in picks), Done(qid)]
    return [Skip(qid)]


def _headcount(employer: DemoEmployer, _: Mapping[str, Any], rng: random.Random) -> int:
    low, high = _HEADCOUNT_RANGE.get(employer.size_band, (2, 4))
    return rng.randint(low, high)


def _vacancy_count(employer: DemoEmployer, given: Mapping[str, Any], rng: random.Random) -> int:
    headcount = int(given.get("headcount") or _HEADCOUNT_RANGE.get(employer.size_band, (2, 4))[0])
    return max(1, round(rng.expovariate(1.0) * max(1.0, headcount * 0.06)))


def _htf_count(_: DemoEmployer, given: Mapping[str, Any], rng: random.Random) -> int:
    vacancies = int(given.get("vacancy_count") or 1)
    return max(1, min(vacancies, round(vacancies * rng.uniform(0.65, 1.0))))


def _gap_count(_: DemoEmployer, given: Mapping[str, Any], rng: random.Random) -> int:
    headcount = int(given.get("headcount") or 2)
    share = {"1-9": 0.08, "10-24": 0.19, "25-49": 0.38, "50+": 0.65}.get(
        str(given.get("staff_not_proficient")), 0.2
    )
    return max(1, min(headcount, round(headcount * share * rng.uniform(0.7, 1.3))))


_NUMBERS: Mapping[str, Any] = {
    "headcount": _headcount,
    "vacancy_count": _vacancy_count,
    "htf_count": _htf_count,
    "gap_count": _gap_count,
}


def _share_pick(rng: random.Random, question: Question, shares: Mapping[str, float]) -> str:
    values = [c.value for c in choice_options(question) if c.value != OTHER_VALUE]
    left = max(0.0, 1.0 - sum(shares.values()))
    rest = [v for v in values if v not in shares]
    weights = [shares.get(v, left / len(rest) if rest else 0.0) for v in values]
    return rng.choices(values, weights)[0]


def _skewed(rng: random.Random, values: Sequence[str]) -> str:
    """Earlier options a little more likely (lists tend to lead with the common ones)."""
    weights = [1.0 / (1 + 0.15 * i) for i in range(len(values))]
    return rng.choices(list(values), weights)[0]


def _distinct_skewed(
    rng: random.Random,
    values: Sequence[str],
    count: int,
    weights: Sequence[float] | None = None,
) -> list[str]:
    """`count` distinct options: by `weights` if given, else earlier ones (of those left)
    a little more likely (`_skewed`)."""
    picks: list[str] = []
    if weights is None:
        pool = list(values)
        while pool and len(picks) < count:
            pick = _skewed(rng, pool)
            picks.append(pick)
            pool.remove(pick)
        return picks
    weighted = dict(zip(values, weights, strict=True))
    while weighted and len(picks) < count:
        pick = rng.choices(list(weighted), list(weighted.values()))[0]
        picks.append(pick)
        del weighted[pick]
    return picks


def seed_rows(responses: Iterable[DemoResponse], interview: Interview) -> Iterator[SeedResponse]:
    """Demo responses of `interview` as rows for `storage.demo_seed.insert_seed`.

    The profile is copied from the answers the interview declares (`Interview.profile`),
    as storage does for real runs, so an employer who stopped before the sector question
    has no sector; consent is the answer to its consent question.
    """
    for item in responses:
        answers = item.state.answers
        profile: dict[str, str | None] = dict.fromkeys(PROFILE_FIELDS)
        profile.update(profile_from_answers(interview.profile, answers))
        consented = any(answers.get(q) == "yes" for q in interview.consent_questions)
        employer = {
            **profile,
            "contact_name": item.employer.contact_name,
            "email": item.employer.email,
            "status": _EMPLOYER_STATUS[item.status],
            "consent_at": item.started_at if consented else None,
            "consent_version": "demo" if consented else None,
            "recontact_opt_in": recontact_from_answers(interview.profile, answers),
            "created_at": item.started_at,
            "updated_at": item.updated_at,
        }
        response = {
            "interview_id": item.state.interview_id,
            "interview_version": item.state.version,
            "status": item.status,
            "state": item.state,
            "source": "demo",
            "started_at": item.started_at,
            "updated_at": item.updated_at,
            "completed_at": item.completed_at,
        }
        yield SeedResponse(
            employer=employer,
            response=response,
            answers={q: (value, item.answer_times[q]) for q, value in answers.items()},
        )


_EMPLOYER_STATUS: Mapping[str, str] = {
    "completed": "completed",
    "declined": "declined",
    "in_progress": "started",
    "abandoned": "started",
}


def seed_demo(
    engine: Database,
    *,
    employers: int,
    weeks: int,
    seed: int,
    now: datetime,
    area: str = DEFAULT_AREA,
    interview: Interview | None = None,
) -> SeedCounts:
    """Fill the (migrated) database with demo employers and responses; returns row counts."""
    definition = interview or load_interview(builtin_interview_path(), area=area)
    generated = demo_responses(
        definition, employers=employers, weeks=weeks, seed=seed, now=now, area=area
    )
    return insert_seed(engine, seed_rows(generated, definition))
