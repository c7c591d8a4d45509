"""What analytics needs to know about an interview: how each answer is counted and labelled.

A `Catalogue` is built once from an `Interview` definition; everything downstream works on
plain frames and this small, immutable lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from conversations.areas import district_name
from conversations.definition import OTHER_LABEL, OTHER_VALUE, PROFILE_TYPES, Interview

AnswerKind = Literal["choice", "multi", "number", "text", "date"]

# Question types -> how their answers are analysed. Scales are numbers (mean, median);
# yes/no and consent are choices with the labels "Yes"/"No".
_KIND_OF_TYPE: Mapping[str, AnswerKind] = {
    "select_one": "choice",
    "yes_no": "choice",
    "consent": "choice",
    "select_multiple": "multi",
    "integer": "number",
    "decimal": "number",
    "scale": "number",
    "text": "text",
    "date": "date",
}
_YES_NO_LABELS = {"yes": "Yes", "no": "No"}
# The employer's profile fields the report rolls responses up by, with their names. The
# questions that fill them are whichever the interview declares (`profile: sector`).
PROFILE_AXES: Mapping[str, str] = {
    "sector": "Sector",
    "district": "District",
    "size_band": "Size band",
}
# Answer values that name no particular skill ("Other (please specify)" is not ranked).
NOT_A_SKILL = frozenset({"none", "dont_know", "other"})


@dataclass(frozen=True, slots=True)
class KeyQuestions:
    """Which questions feed the headline figures and the skills-gap ranking.

    An employer "has hard-to-fill vacancies" when its answer to `hard_to_fill` is one of
    `hard_to_fill_yes`, and "reports skills gaps" when its answer to `skills_gap` is one
    of `skills_gap_yes`; both are shares of all employers who completed the interview
    (those not asked, e.g. without vacancies, have none). `skills_lists` are the
    select_multiple questions listing skills lacking, ranked together. Any of them may
    be absent from an interview; its figures are then left out.
    """

    hard_to_fill: str | None = None
    hard_to_fill_yes: frozenset[str] = frozenset({"yes"})
    skills_gap: str | None = None
    skills_gap_yes: frozenset[str] = frozenset({"yes"})
    skills_lists: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Per-question kind, label, position and choice labels, from an interview definition."""

    interview_id: str
    kinds: Mapping[str, AnswerKind]
    labels: Mapping[str, str]
    positions: Mapping[str, int]
    choice_labels: Mapping[str, Mapping[str, str]]
    key: KeyQuestions = field(default_factory=KeyQuestions)
    # Profile axis -> the question whose answer fills it (`profile: sector`), if any.
    axis_questions: Mapping[str, str] = field(default_factory=dict)
    # Questions that describe the employer rather than ask about skills: consent, and the
    # answers that are a profile axis's group as given. Their figures are the roll-ups by
    # profile, so they are not tabled again as questions. (A headcount, from which the size
    # band is worked out, still has figures of its own.)
    profile_questions: frozenset[str] = frozenset()

    def option_label(self, question_id: str, value: str) -> str:
        """The label of a choice value (the value itself when it is unknown)."""
        return self.choice_labels.get(question_id, {}).get(value, value)

    def question_label(self, question_id: str) -> str:
        """The question's label (its id when it is unknown)."""
        return self.labels.get(question_id, question_id)

    def axis_label(self, axis: str, value: str) -> str:
        """The label of a profile value: sector and size band labels, district names."""
        if axis == "district":
            return district_name(value) or self._axis_choice_label(axis, value)
        return self._axis_choice_label(axis, value)

    def axis_order(self, axis: str) -> list[str]:
        """Profile values in the order the interview offers them (none when the question
        filling the axis offers no choices, or there is no such question)."""
        return list(self.choice_labels.get(self.axis_questions.get(axis, ""), {}))

    def _axis_choice_label(self, axis: str, value: str) -> str:
        question_id = self.axis_questions.get(axis)
        return self.option_label(question_id, value) if question_id is not None else value


def catalogue(interview: Interview, key: KeyQuestions | None = None) -> Catalogue:
    """The catalogue of an interview; `key` defaults to `key_questions(interview)`."""
    kinds: dict[str, AnswerKind] = {}
    labels: dict[str, str] = {}
    positions: dict[str, int] = {}
    choice_labels: dict[str, dict[str, str]] = {}
    identifying = set(interview.identifying)
    for position, question in enumerate(interview.questions):
        kind = _KIND_OF_TYPE.get(question.type)
        if kind is None or question.id in identifying:  # never analysed, never quoted
            continue
        kinds[question.id] = kind
        labels[question.id] = question.label
        positions[question.id] = position
        if question.type == "yes_no":
            choice_labels[question.id] = dict(_YES_NO_LABELS)
        elif question.choices:
            options = {choice.value: choice.label for choice in question.choices}
            if question.other:
                options.setdefault(OTHER_VALUE, OTHER_LABEL)
            choice_labels[question.id] = options
    return Catalogue(
        interview_id=interview.id,
        kinds=kinds,
        labels=labels,
        positions=positions,
        choice_labels=choice_labels,
        key=key if key is not None else key_questions(interview),
        axis_questions=axis_questions(interview),
        profile_questions=profile_questions(interview),
    )


def axis_questions(interview: Interview) -> dict[str, str]:
    """Profile axis -> the question the interview declares to fill it."""
    return {
        field_name: question_id
        for question_id, field_name in interview.profile.items()
        if field_name in PROFILE_AXES
    }


def profile_questions(interview: Interview) -> frozenset[str]:
    """The questions that describe the employer (see `Catalogue.profile_questions`): consent
    questions, by their type; those filling a profile axis with their answer as given;
    and those identifying the employer, as the interview declares them."""
    filling = {
        question_id
        for question_id in axis_questions(interview).values()
        if interview.question(question_id).type in PROFILE_TYPES
    }
    return frozenset({*interview.consent_questions, *filling, *interview.identifying})


def key_questions(interview: Interview) -> KeyQuestions:
    """The key questions of the built-in interview, as far as `interview` has them.

    The built-in interview documents these ids in the comment at its top:
    `hard_to_fill` (yes/no), `staff_not_proficient` (any share but none/don't know means a
    skills gap), and the skills lists `applicant_skills_lacking` and `staff_skills_gaps`.
    """
    ids = interview.by_id
    gap = ids.get(_SKILLS_GAP)
    return KeyQuestions(
        hard_to_fill=_HARD_TO_FILL if _HARD_TO_FILL in ids else None,
        skills_gap=_SKILLS_GAP if gap is not None else None,
        skills_gap_yes=frozenset(
            c.value for c in (gap.choices if gap else ()) if c.value not in NOT_A_SKILL
        ),
        skills_lists=tuple(q for q in _SKILLS_LISTS if q in ids),
    )


_HARD_TO_FILL = "hard_to_fill"
_SKILLS_GAP = "staff_not_proficient"
_SKILLS_LISTS = ("applicant_skills_lacking", "staff_skills_gaps")
