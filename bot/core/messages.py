"""What the core says, as plain values: buttons, keyboards, messages, and one update's reply.

A transport turns these into Bot API calls with its own library (`bot.transports`). The
field names are the Bot API's own (`inline_keyboard`, `callback_data`), so that a
`Keyboard` is also what Telegram's JSON says (`Keyboard.to_json`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from html import escape
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

if TYPE_CHECKING:  # the type only
    from storage.staff_models import Role


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: its label and the data its press sends back."""

    text: str
    callback_data: str


@dataclass(frozen=True, slots=True)
class Keyboard:
    """Inline buttons under a message, in rows."""

    inline_keyboard: tuple[tuple[Button, ...], ...]

    @classmethod
    def of(cls, rows: Iterable[Iterable[Button]]) -> Keyboard:
        """A keyboard from rows of buttons (lists welcome)."""
        return cls(tuple(tuple(row) for row in rows))

    def to_json(self) -> dict[str, Any]:
        """The keyboard as Telegram's `InlineKeyboardMarkup` JSON."""
        return {
            "inline_keyboard": [
                [{"text": b.text, "callback_data": b.callback_data} for b in row]
                for row in self.inline_keyboard
            ]
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send (HTML). `question_id` is set when its buttons answer that
    question."""

    text: str
    keyboard: Keyboard | None = None
    question_id: str | None = None


def plain(text: str, keyboard: Keyboard | None = None) -> Outgoing:
    """A message of plain words (messages are sent as HTML: the words are escaped)."""
    return Outgoing(escape(text, quote=False), keyboard)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file to send as a document (or, `photo`, shown inline); `if_not_sent` is said
    instead when it cannot be delivered."""

    name: str
    data: bytes
    photo: bool = False
    if_not_sent: str | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """A file Telegram holds (by its file id), sent again: a photo or a document, with an
    HTML caption."""

    file_id: str
    photo: bool = False
    caption: str | None = None


@dataclass(slots=True)
class StaffReply:
    """What one staff update decided to show, delivered after the commit: the answer to
    the button pressed (`notice`, `alert`) and its message's buttons taken away
    (`settled`), then the messages and files in order; and whose command menu may have
    changed (`menu_of`)."""

    outcome: str
    messages: list[Outgoing | Upload | Stored] = field(default_factory=list)
    menu_of: int | None = None
    notice: str | None = None
    alert: bool = False
    settled: int | None = None


class Unread(Enum):
    """The mark of a value not looked up yet (`Who.role`)."""

    UNREAD = "unread"


UNREAD: Final = Unread.UNREAD


@dataclass(frozen=True, slots=True)
class Who:
    """Where an update came from: its id, the person and their private chat.

    `role` is the person's staff role (None: an employer) once `bot.core.reception` has
    looked it up for the update, so that nothing after asks the database again; `UNREAD`
    for an update it did not need it for (the unit of work then reads it, if it must).
    """

    update_id: int
    user_id: int
    chat_id: int
    language_code: str | None = None  # Telegram's guess of the person's language
    role: Role | None | Literal[Unread.UNREAD] = UNREAD


@dataclass(slots=True)
class Reply:
    """What one update's unit of work decided to show; delivered after the commit.

    `messages` are new messages; `old_prompt` the message that showed the question until
    now, edited to `old_prompt_text` and/or `in_place` (its new buttons); `notice` answers
    a button press (`alert`: in a box the person closes); `settled` is a confirmation
    answered now (its buttons go, and it says `settled_text` when that is set)."""

    outcome: str
    messages: list[Outgoing] = field(default_factory=list)
    employer_id: int | None = None
    response_id: int | None = None  # the response whose prompt message to remember
    old_prompt: int | None = None
    old_prompt_text: str | None = None
    in_place: Keyboard | None = None
    notice: str | None = None
    alert: bool = False
    settled: int | None = None
    settled_text: str | None = None


class Messenger(Protocol):
    """The Bot API calls the core needs, as a transport makes them (with its retries).

    Every call swallows Telegram's refusals: a send returns the message id or None, an
    edit whether it was applied. A chat that blocked the bot is the transport's to note.
    """

    async def send(self, chat_id: int, message: Outgoing) -> int | None:
        """Send one message (split when over Telegram's limit); its message id."""

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None = None
    ) -> bool:
        """Replace a message's text and buttons (None removes them)."""

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> bool:
        """Replace a message's buttons (None removes them)."""

    async def answer_callback(
        self, callback_id: str, notice: str | None = None, *, alert: bool = False
    ) -> None:
        """Stop a button's spinner, with a notice when there is something to say."""

    async def send_file(
        self, chat_id: int, name: str, data: bytes, *, photo: bool = False
    ) -> int | None:
        """Upload one file (a photo shown inline, or a document); its message id."""

    async def send_stored(
        self, chat_id: int, file_id: str, *, photo: bool, caption: str | None = None
    ) -> int | None:
        """Send a file Telegram holds, by its file id, with an HTML caption; its message id."""
