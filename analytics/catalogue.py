"""What analytics needs to know about an interview: how each answer is counted and labelled.

A `Catalogue` is built once from an `Interview` definition; everything downstream works on
plain frames and this small, immutable lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from conversations.areas import district_name
from conversations.definition import OTHER_LABEL, OTHER_VALUE, Interview, other_key

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
# Answer values that say "nothing to report" in a list of skills (not a skill themselves).
NOT_A_SKILL = frozenset({"none", "no_gaps", "dont_know", "not_sure", "prefer_not_to_say"})


@dataclass(frozen=True, slots=True)
class KeyQuestions:
    """Which questions feed the headline figures and the skills-gap ranking.

    `hard_to_fill` and `skills_gap` name yes/no style questions whose `yes_values`
    mean "we have one"; `skills_lists` are select_multiple questions listing skills lacking.
    Any of them may be absent from an interview; its figures are then left out.
    """

    hard_to_fill: str | None = None
    skills_gap: str | None = None
    skills_lists: tuple[str, ...] = ()
    yes_values: frozenset[str] = frozenset({"yes"})


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
        if kind is None:
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
        if question.other:
            follow_up = other_key(question.id)
            kinds[follow_up] = "text"
            labels[follow_up] = f"{question.label} ({OTHER_LABEL})"
            positions[follow_up] = position
    return Catalogue(
        interview_id=interview.id,
        kinds=kinds,
        labels=labels,
        positions=positions,
        choice_labels=choice_labels,
        key=key if key is not None else key_questions(interview),
    )


def key_questions(interview: Interview) -> KeyQuestions:
    """Find the hard-to-fill, skills-gap and skills-lacking questions by their ids.

    The built-in interview documents its ids in a comment at its top; other interviews
    that follow the same naming get the same headline figures.
    """
    ids = set(interview.by_id)
    hard_to_fill = next((q for q in _HARD_TO_FILL_IDS if q in ids), None)
    skills_gap = next((q for q in _SKILLS_GAP_IDS if q in ids), None)
    skills_lists = tuple(
        q.id for q in interview.questions if q.id in _SKILLS_LIST_IDS and q.choices
    )
    return KeyQuestions(
        hard_to_fill=hard_to_fill, skills_gap=skills_gap, skills_lists=skills_lists
    )


_HARD_TO_FILL_IDS = ("hard_to_fill", "htfv", "hard_to_fill_vacancies")
_SKILLS_GAP_IDS = ("skills_gaps", "skills_gap", "staff_skills_gap", "has_skills_gaps")
_SKILLS_LIST_IDS = frozenset(
    {
        "skills_lacking",
        "applicant_skills_lacking",
        "staff_skills_lacking",
        "skills_to_improve",
        "staff_skills_to_improve",
        "skills_gap_skills",
    }
)
