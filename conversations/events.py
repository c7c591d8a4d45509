"""The engine's vocabulary: the inputs a transport feeds in and the prompts it gets back.

Inputs and prompts are frozen dataclasses. A transport (Telegram, the terminal, the
playground) turns what a person did into an input, hands it to `conversations.engine`,
persists the new state, then renders the prompts. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conversations.definition import Choice, Question

# --- Inputs -------------------------------------------------------------------------------
# Inputs that come from a button carry the id of the question the button belonged to, so
# that a press of a button from an earlier question is recognised as stale and never applied.


@dataclass(frozen=True, slots=True)
class Text:
    """A typed reply: text, a number, a date, or "1,3" style picks in a terminal."""

    text: str


@dataclass(frozen=True, slots=True)
class Choose:
    """A pick of one option (select_one, yes_no, scale, consent)."""

    value: str
    question_id: str | None = None


@dataclass(frozen=True, slots=True)
class Toggle:
    """Select or unselect one option of a select_multiple question."""

    value: str
    question_id: str | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """Finish a select_multiple question with the options toggled so far."""

    question_id: str | None = None


@dataclass(frozen=True, slots=True)
class Back:
    """Go back to the previous answered, still relevant question."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Leave an optional question unanswered."""

    question_id: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    """Show every answer given so far."""


@dataclass(frozen=True, slots=True)
class Edit:
    """Change the answer to one question, then come back to the review."""

    question_id: str


@dataclass(frozen=True, slots=True)
class Submit:
    """Submit the interview from the review screen."""


@dataclass(frozen=True, slots=True)
class Restart:
    """Throw the answers away and start again (the transport confirms first)."""


@dataclass(frozen=True, slots=True)
class Resume:
    """Show again whatever the person was last asked (after a pause or a restart of the bot)."""


Input = Text | Choose | Toggle | Done | Back | Skip | Review | Edit | Submit | Restart | Resume

# --- Prompts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask a question.

    `options` are the buttons to show (for consent, yes_no and scale the engine makes
    them; "Other (please specify)" is included when the question allows it). `selected`
    holds the toggled values of a select_multiple question, or the current answer's
    value(s) when the question is asked again (back, edit). `current` is the current
    answer if there is one. `position` and `total` count the relevant answerable
    questions ("question 7 of 24").
    """

    question: Question
    options: tuple[Choice, ...]
    selected: tuple[str, ...]
    current: Any
    position: int
    total: int
    can_skip: bool
    can_back: bool
    section_title: str
    follow_up: bool = False  # True when asking for the text after an "Other" choice


@dataclass(frozen=True, slots=True)
class Note:
    """Show a note (no answer expected)."""

    question: Question


@dataclass(frozen=True, slots=True)
class Invalid:
    """The last input was not accepted; `message` says what is wanted. The state is unchanged."""

    message: str
    question_id: str | None = None


@dataclass(frozen=True, slots=True)
class Stale:
    """A button from an earlier question (or an input that fits nothing now) was ignored."""

    message: str


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One line of the review screen."""

    question_id: str
    label: str
    display: str


@dataclass(frozen=True, slots=True)
class ReviewSummary:
    """The review screen: every answer, editable, then submit."""

    items: tuple[ReviewItem, ...]
    complete: bool  # False when reviewing before the end (from the middle of the interview)


@dataclass(frozen=True, slots=True)
class Completed:
    """The interview was submitted."""

    answers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Declined:
    """Consent was refused; the interview has ended and no answers are kept."""

    message: str


Prompt = Ask | Note | Invalid | Stale | ReviewSummary | Completed | Declined
