"""What analytics needs to know about an interview: how each answer is counted and labelled.

A `Catalogue` is built once from an `Interview` definition; everything downstream works on
plain frames and this small, immutable lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from conversations.areas import district_name
from conversations.definition import OTHER_LABEL, OTHER_VALUE, Interview

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
# The profile questions of the built-in interview (see docs/design.md).
PROFILE_AXES: Mapping[str, str] = {
    "sector": "Sector",
    "district": "District",
    "size_band": "Size band",
}
# Answer values that name no particular skill ("Other (please specify)" is not ranked).
NOT_A_SKILL = frozenset({"none", "dont_know", "other"})
# Questions that identify the employer: never analysed, never quoted.
IDENTIFYING = frozenset({"org_name"})


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

    def option_label(self, question_id: str, value: str) -> str:
        """The label of a choice value (the value itself when it is unknown)."""
        return self.choice_labels.get(question_id, {}).get(value, value)

    def question_label(self, question_id: str) -> str:
        """The question's label (its id when it is unknown)."""
        return self.labels.get(question_id, question_id)

    def axis_label(self, axis: str, value: str) -> str:
        """The label of a profile value: sector and size band labels, district names."""
        if axis == "district":
            return district_name(value) or self.option_label(axis, value)
        return self.option_label(axis, value)

    def axis_order(self, axis: str) -> list[str]:
        """Profile values in the order the interview offers them."""
        return list(self.choice_labels.get(axis, {}))


def catalogue(interview: Interview, key: KeyQuestions | None = None) -> Catalogue:
    """The catalogue of an interview; `key` defaults to `key_questions(interview)`."""
    kinds: dict[str, AnswerKind] = {}
    labels: dict[str, str] = {}
    positions: dict[str, int] = {}
    choice_labels: dict[str, dict[str, str]] = {}
    for position, question in enumerate(interview.questions):
        kind = _KIND_OF_TYPE.get(question.type)
        if kind is None or question.id in IDENTIFYING:
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
    )


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
