"""The interview definition model: what an interview file says, once loaded and validated.

Everything here is immutable. The loader (`conversations.loader`) builds these values from
YAML and checks them; the engine (`conversations.engine`) only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from conversations.expressions import Expr

QuestionType = Literal[
    "note",
    "consent",
    "text",
    "integer",
    "decimal",
    "select_one",
    "select_multiple",
    "scale",
    "yes_no",
    "date",
]
QUESTION_TYPES: tuple[QuestionType, ...] = get_args(QuestionType)
# Types whose answer is picked from a list of choices (the engine builds the list for
# consent, yes_no and scale; select_* take theirs from the file).
CHOICE_TYPES: frozenset[str] = frozenset({"select_one", "select_multiple"})

# The reserved value of the "Other (please specify)" choice added by `other: true`, and
# the answer key of its follow-up text: answers[other_key(question_id)].
OTHER_VALUE = "other"
OTHER_LABEL = "Other (please specify)"


def other_key(question_id: str) -> str:
    """The answer key holding the free text that follows an "Other" choice."""
    return f"{question_id}_other"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a choice question: the stored `value` and the shown `label`."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Condition:
    """An XLSForm expression as written (`source`) and parsed (`expr`)."""

    source: str
    expr: Expr


@dataclass(frozen=True, slots=True)
class Question:
    """One question of an interview.

    `min`/`max` bound the value of integer, decimal and scale answers, the length of text
    answers and the number of selections of select_multiple answers. For a scale they are
    the two ends (default 1 and 5) and `min_label`/`max_label` name them.
    """

    id: str
    type: QuestionType
    label: str
    section_id: str
    hint: str | None = None
    required: bool = True
    choices: tuple[Choice, ...] = ()
    relevant: Condition | None = None
    constraint: Condition | None = None
    constraint_message: str | None = None
    min: float | None = None
    max: float | None = None
    min_label: str | None = None
    max_label: str | None = None
    other: bool = False

    @property
    def answerable(self) -> bool:
        """Notes are shown, never answered."""
        return self.type != "note"


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of questions, asked in order."""

    id: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Interview:
    """A whole interview: its identity, its sections, and every question in asking order."""

    id: str
    title: str
    version: str
    sections: tuple[Section, ...]
    description: str | None = None
    questions: tuple[Question, ...] = field(init=False)
    by_id: dict[str, Question] = field(init=False, compare=False, hash=False)
    position: dict[str, int] = field(init=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        questions = tuple(q for s in self.sections for q in s.questions)
        object.__setattr__(self, "questions", questions)
        object.__setattr__(self, "by_id", {q.id: q for q in questions})
        object.__setattr__(self, "position", {q.id: i for i, q in enumerate(questions)})

    def question(self, question_id: str) -> Question:
        """The question with this id (KeyError if there is none)."""
        return self.by_id[question_id]
