"""The Telegram libraries, each behind a thin adapter over `bot.core`.

`aiogram/` (the default) and `ptb/` (python-telegram-bot) each turn an update's JSON into
core calls and the core's replies into Bot API calls. `SKILLSBOT_TELEGRAM_LIBRARY` picks one.
They are the only modules that import a Telegram library (an import contract in
pyproject.toml says so). Each package's `build` gives `bot.runtime.app.EmployerBot` its `Adapter`;
`bot.transports.links.build_adapter` imports only the package of the library chosen.

Besides a `Transport` (handling an update) and the core's `bot.core.sending.BotCalls`
(sending to a chat), each library gives a `BotAccount`: the calls about the bot itself
(fetching updates, the webhook, command menus) that polling (`bot.runtime.polling`), the
webhook (`bot.runtime.webhook`) and the menus (`bot.runtime.menus`) make. Its failures come as
the three errors below, whatever the library, so that those callers import neither library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the types only: the core is imported by whoever builds one
    from bot.core.sending import Sender
    from bot.core.staff import StaffDesk

LIBRARIES = ("aiogram", "ptb")
DEFAULT_LIBRARY = "aiogram"
DEFAULT_API_URL = "https://api.telegram.org"

RawUpdate = dict[str, Any]


class Transport(Protocol):
    """What the inbox worker hands each update to (`EmployerBot.handle`)."""

    async def handle(self, raw: dict[str, Any]) -> None:
        """Hand one update's JSON to the core (`Reception.take`), its replies sent."""

    async def aclose(self) -> None:
        """Let go of the library's connections."""


class HeldFile(Protocol):
    """A file Telegram holds (a photo size, a document): either library's object."""

    @property
    def file_id(self) -> str:
        """What the file is sent again under."""


class SentMessage(Protocol):
    """A message the bot sent, as either library gives it back (the Bot API's names)."""

    @property
    def photo(self) -> Sequence[HeldFile] | None:
        """A photo's sizes, smallest first (None or empty: no photo)."""

    @property
    def document(self) -> HeldFile | None:
        """The document sent, if one was."""


def file_id_of(message: SentMessage) -> str | None:
    """The file a sent photo (its largest size) or document is now held under."""
    if message.photo:
        return message.photo[-1].file_id
    return message.document.file_id if message.document is not None else None


class PollingConflict(Exception):
    """409: another process polls the token, or a webhook is set (getUpdates refused)."""


class TelegramUnavailable(Exception):
    """No answer, a 5xx or 429s: the retry policy (`bot.retry`) tried again and gave up."""


class TelegramRefused(Exception):
    """Telegram refused the call for good (400, 403...): trying again gets the same."""


class Unauthorized(TelegramRefused):
    """401: Telegram does not know the token."""


class BotAccount(Protocol):
    """The Bot API calls about the bot itself, made with one library's `Bot` (retried by its
    retry policy); failures raise `PollingConflict`, `TelegramUnavailable` or
    `TelegramRefused`."""

    async def get_updates(
        self,
        *,
        offset: int | None,
        poll_seconds: int,
        limit: int | None = None,
        allowed_updates: Sequence[str] | None = None,
    ) -> list[RawUpdate]:
        """getUpdates, waiting up to `poll_seconds` for one; the updates as Telegram's JSON (the
        inbox stores them as they came)."""

    async def set_webhook(
        self, *, url: str, secret: str, max_connections: int, allowed_updates: Sequence[str]
    ) -> None:
        """setWebhook, keeping the pending updates."""

    async def delete_webhook(self) -> None:
        """deleteWebhook, keeping the pending updates (polling fetches them next)."""

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], chat_id: int | None = None
    ) -> None:
        """setMyCommands: (name, description) pairs, for everyone or for one chat."""

    async def delete_commands(self, chat_id: int) -> None:
        """deleteMyCommands for one chat (it sees the default menu again)."""

    async def get_me(self) -> int:
        """getMe: the bot's user id (whether Telegram knows the token, at the address)."""

    async def aclose(self) -> None:
        """Let go of the library's connections."""


class Adapter(Protocol):
    """One library's side of the bot (`bot.runtime.app.EmployerBot`): its `BotAccount`, the
    `Sender` the core's messages go through, and the `Transport` that runs each update
    through the core; all over one `Bot` of the library."""

    @property
    def account(self) -> BotAccount:
        """The bot's own calls (getUpdates, the webhook, menus)."""

    @property
    def messenger(self) -> Sender:
        """What the core's messages are sent with."""

    def transport(self, staff: StaffDesk) -> Transport:
        """The transport handing updates to the core: `staff` for the staff's (its
        interviewer's `EmployerDesk` for everyone else's)."""

    async def aclose(self) -> None:
        """Let go of the library's connections (after the transport's `aclose`)."""


def bot_id_of(token: str) -> int:
    """The bot's Telegram user id: the digits before the token's colon (as Telegram issues
    tokens; `bot.settings` refuses any other shape before the bot starts)."""
    digits, _, _ = token.partition(":")
    if not digits.isdigit():
        raise ValueError("a bot token starts with the bot's id and a colon")
    return int(digits)
