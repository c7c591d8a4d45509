"""The interview definition model: what an interview file says, once loaded and validated.

Everything here is immutable. The loader (`conversations.loader`) builds these values from
YAML and checks them; the engine (`conversations.engine`) only reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    "acknowledge",
    "calculate",
]
QUESTION_TYPES: tuple[QuestionType, ...] = get_args(QuestionType)
# Types the engine never shows: their value is worked out from the answers.
SILENT_TYPES: frozenset[str] = frozenset({"calculate"})
# Types whose answer is picked from a list of choices (the engine builds the list for
# consent, yes_no and scale; select_* take theirs from the file).
CHOICE_TYPES: frozenset[str] = frozenset({"select_one", "select_multiple"})
# The employer's profile fields an answer may fill (`profile: sector` on a question): from a
# text or select_one answer as given, and `size_band` also from an integer answer (the
# number of people working at the site), through its ESS size band.
PROFILE_FIELDS: tuple[str, ...] = ("organisation", "sector", "district", "size_band", "role")
PROFILE_TYPES: frozenset[str] = frozenset({"text", "select_one"})
# `profile: recontact` on a yes_no question: its answer says whether the employer may be
# contacted again (storage keeps it as the employer's recontact opt-in, not as text).
RECONTACT_FIELD = "recontact"
# Everything `profile:` may name.
PROFILE_DECLARATIONS: tuple[str, ...] = (*PROFILE_FIELDS, RECONTACT_FIELD)
# The profile fields whose answers identify the employer (their organisation's name): such
# answers are never analysed or quoted, and are deleted with the employer's identifiers when
# the retention period ends; the other fields (sector, district, size band, role) stay with
# the anonymous answers.
IDENTIFYING_FIELDS: frozenset[str] = frozenset({"organisation"})

# The reserved value of the "Other (please specify)" choice added by `other: true`, and
# the answer key of its follow-up text: answers[other_key(question_id)].
OTHER_VALUE = "other"
OTHER_LABEL = "Other (please specify)"


def other_key(question_id: str) -> str:
    """The answer key holding the free text that follows an "Other" choice."""
    return f"{question_id}_other"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a choice question: the stored `value` and the shown `label`.

    An `exclusive` option of a select_multiple question stands alone ("None of these"):
    ticking it clears the other ticks, and ticking another option clears it. `group` names
    the heading an option falls under in a long list ("People and personal"), so that a
    transport may page or group the list; the engine itself ignores it.
    """

    value: str
    label: str
    # Further columns of the choice (XLSForm's choices sheet), read by a `choice_filter`.
    columns: tuple[tuple[str, str], ...] = ()
    exclusive: bool = False
    group: str | None = None


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
    required_message: str | None = None
    # The answer offered when there is none yet (shown as the current answer).
    default: str | None = None
    # Which choices are offered, given the answers so far (a cascading select); the
    # expression reads a choice's own columns as bare names (`county = ${county}`).
    choice_filter: Condition | None = None
    # A calculate question's value, worked out again whenever an answer changes.
    calculation: Condition | None = None
    # A few words naming the question on the review screen and in /myanswers
    # ("Vacancies"); `label` when not given (see `short`).
    short_label: str | None = None
    # The employer's profile field this answer fills (`profile: sector`), if any; see
    # PROFILE_DECLARATIONS.
    profile: str | None = None

    @property
    def answerable(self) -> bool:
        """Notes are shown, never answered; calculations are never shown."""
        return self.type not in ("note", "calculate")

    @property
    def short(self) -> str:
        """The question's name in a list of answers: its `short_label`, else its label."""
        return self.short_label or self.label


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of questions, asked in order."""

    id: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Part:
    """Where a question stands in the interview: part `number` of `total`, titled `title`.

    The parts are the sections that hold a question to answer, so the total is fixed by
    the definition and never moves as answers open or close questions (a part whose
    questions are all skipped is passed over, its number with it).
    """

    number: int
    total: int
    title: str

    @property
    def text(self) -> str:
        """ "Part 3 of 7: Recruitment"."""
        return f"Part {self.number} of {self.total}: {self.title}"


@dataclass(frozen=True, slots=True)
class Interview:
    """A whole interview: its identity, its sections, and every question in asking order."""

    id: str
    title: str
    version: str
    sections: tuple[Section, ...]
    description: str | None = None
    # The languages of a form written in several (XLSForm `label::English (en)`), the
    # default first; `translations` holds the same interview in each of them (same ids,
    # version and values: only the words differ). Empty for a one-language interview.
    languages: tuple[str, ...] = ()
    translations: Mapping[str, Interview] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    questions: tuple[Question, ...] = field(init=False)
    by_id: dict[str, Question] = field(init=False, compare=False, hash=False)
    position: dict[str, int] = field(init=False, compare=False, hash=False)
    parts: dict[str, Part] = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        questions = tuple(q for s in self.sections for q in s.questions)
        object.__setattr__(self, "questions", questions)
        object.__setattr__(self, "by_id", {q.id: q for q in questions})
        object.__setattr__(self, "position", {q.id: i for i, q in enumerate(questions)})
        object.__setattr__(self, "parts", _parts(self.sections))

    @property
    def profile(self) -> dict[str, str]:
        """Question id -> the employer's profile field its answer fills, as declared
        (`recontact` included: see RECONTACT_FIELD)."""
        return {q.id: q.profile for q in self.questions if q.profile is not None}

    @property
    def recontact(self) -> str | None:
        """The yes/no question whose answer says whether the employer may be contacted
        again (`profile: recontact`), if the interview has one."""
        return next((q.id for q in self.questions if q.profile == RECONTACT_FIELD), None)

    @property
    def identifying(self) -> tuple[str, ...]:
        """The questions whose answers identify the employer (see IDENTIFYING_FIELDS)."""
        return tuple(q.id for q in self.questions if q.profile in IDENTIFYING_FIELDS)

    @property
    def consent_questions(self) -> tuple[str, ...]:
        """The consent questions (by their type): the privacy notice agreed to, no more."""
        return tuple(q.id for q in self.questions if q.type == "consent")

    def question(self, question_id: str) -> Question:
        """The question with this id (KeyError if there is none)."""
        return self.by_id[question_id]

    def part(self, question_id: str) -> Part:
        """The part of the interview a question belongs to (KeyError if there is none)."""
        return self.parts[question_id]

    def in_language(self, language: str | None) -> Interview:
        """The interview worded in `language` (itself when it has no such translation)."""
        if language is None:
            return self
        return self.translations.get(language, self)


def interview_summary(interview: Interview) -> str:
    """One line on a valid interview: its questions, sections and conditional questions.

    Both `skillsbot interview check` and the bot's reply to an uploaded definition print
    it, so an admin reads the same words in the terminal and in Telegram."""
    questions = len(interview.questions)
    sections = len(interview.sections)
    conditional = sum(1 for q in interview.questions if q.relevant is not None)
    return (
        f"ok, {questions} question{'s' * (questions != 1)} in {sections} "
        f"section{'s' * (sections != 1)}, {conditional} conditional"
    )


def _parts(sections: tuple[Section, ...]) -> dict[str, Part]:
    """Question id -> its part. A section of notes only belongs to the part it follows (the
    first part when it comes first)."""
    asked = [s for s in sections if any(q.answerable for q in s.questions)]
    total = len(asked)
    parts: dict[str, Part] = {}
    number = 0
    for section in sections:
        if any(q.answerable for q in section.questions):
            number += 1
        shown = max(number, 1)
        title = asked[shown - 1].title if asked else section.title
        part = Part(shown, max(total, 1), title)
        parts.update((q.id, part) for q in section.questions)
    return parts
