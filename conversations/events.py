"""The engine's vocabulary: the inputs a transport feeds in and the prompts it gets back.

Inputs and prompts are frozen dataclasses. A transport (Telegram, the terminal, the
playground) turns what a person did into an input, hands it to `conversations.engine`,
persists the new state, then renders the prompts. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conversations.definition import Choice, Part, Question

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
    answer if there is one. `part` says where the question stands ("Part 3 of 7:
    Recruitment"); its total never moves. `position` and `total` count the relevant
    answerable questions ("question 7 of 24"), a total that grows as answers open
    questions: show `part` to people. `instruction` says how to answer, matching the
    buttons shown ("Tick all that apply, then tap Done."); it may be empty.
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
    part: Part | None = None
    instruction: str = ""


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
class Notice:
    """A short notice about the button just pressed, meant for a pop-up rather than a
    message (Telegram: answerCallbackQuery's text; `alert` asks for a box the person
    closes). It comes with the other prompts of the step, never alone: a refused tick
    gives a Notice and the question unchanged."""

    text: str
    alert: bool = False


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One answer on the review screen, in interview order.

    `label` is the question's full label, `short_label` the few words naming it in a
    compact list ("Vacancies"), `display` the answer as one line ("Sales; Team working")
    and `answers` the same answer as its labels, one per option picked. `editable` is
    False for consent (withdrawing it is /forget) and for a submitted interview; an edit
    names the question by `question_id`, never by the item's place in the list.
    """

    question_id: str
    label: str
    display: str
    short_label: str = ""
    answers: tuple[str, ...] = ()
    editable: bool = True


@dataclass(frozen=True, slots=True)
class ReviewSummary:
    """The review screen: every answer, editable, then submit.

    `complete` is False for a review from the middle of the interview (the current
    question follows it; there is nothing to submit yet). `submitted` is True for the
    answers of a submitted interview: nothing on it can be edited or submitted again.
    """

    items: tuple[ReviewItem, ...]
    complete: bool
    submitted: bool = False

    @property
    def editable(self) -> tuple[ReviewItem, ...]:
        """The items that can be changed."""
        return tuple(item for item in self.items if item.editable)

    def page(self, number: int, size: int = 10) -> tuple[ReviewItem, ...]:
        """The items of page `number` (from 1) of pages of `size` items; () past the end."""
        start = (number - 1) * size
        return self.items[start : start + size] if number >= 1 else ()

    def pages(self, size: int = 10) -> int:
        """How many pages of `size` items the review fills (at least 1)."""
        return max(1, -(-len(self.items) // size))


@dataclass(frozen=True, slots=True)
class Completed:
    """The interview was submitted."""

    answers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Declined:
    """Consent was refused; the interview has ended and no answers are kept."""

    message: str


Prompt = Ask | Note | Notice | Invalid | Stale | ReviewSummary | Completed | Declined
