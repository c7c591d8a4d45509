"""How the bot sends, whichever Telegram library makes the calls: one policy, written once.

A transport supplies the raw Bot API calls (`BotCalls`) and says what each of its library's
errors means (`BotCalls.refusal`). `Sender` does the rest, the same for both libraries:

- a text over Telegram's limit goes as several messages, the buttons on the last (a
  question or a Submit button is never lost to length);
- a button's notice is clipped to what Telegram shows;
- a chat that blocked the bot or no longer exists (403) is reported to `on_unreachable`
  and counted as not delivered;
- a refused edit ("message is not modified", a message the person deleted) is let go;
- a call the retry policy gave up on (429s, 5xx and network errors are retried below this,
  on every call: `bot.retry`) is logged and counted as not delivered.

Nothing here raises a Telegram error, so the bot keeps running whatever Telegram answers;
an error a transport does not recognise (a bug) is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from bot.core.limits import MAX_CALLBACK_ANSWER, MAX_MESSAGE_CHARS, telegram_length
from bot.core.messages import Keyboard, Outgoing
from bot.core.render import clip, split_text

logger = logging.getLogger("skillsbot.delivery")
T = TypeVar("T")


class Refusal(StrEnum):
    """What a Telegram error means for the message it stopped."""

    UNREACHABLE = "unreachable"  # 403: blocked the bot, or the chat is gone
    NOT_APPLIED = "not_applied"  # 400/404: nothing to retry (e.g. message is not modified)
    GAVE_UP = "gave_up"  # the retry policy gave up (5xx, network)
    THROTTLED = "throttled"  # Telegram's 429s outlasted the retry policy


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or a document to send: one Telegram holds (`file_id`) or a local file."""

    photo: bool
    file_id: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    """A message sent, and the file id of its photo or document (to send it again by id)."""

    message_id: int
    file_id: str | None = None


class BotCalls(Protocol):
    """The raw Bot API calls of one Telegram library (retried below by its retry policy)."""

    async def send_message(self, chat_id: int, text: str, keyboard: Keyboard | None) -> int:
        """sendMessage (HTML); the sent message's id."""

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None
    ) -> None:
        """editMessageText (HTML), with its buttons (None removes them)."""

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> None:
        """editMessageReplyMarkup (None removes the buttons)."""

    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None:
        """answerCallbackQuery."""

    async def send_file(self, chat_id: int, name: str, data: bytes, photo: bool) -> int:
        """sendPhoto or sendDocument; the sent message's id."""

    async def send_stored(
        self, chat_id: int, photo: bool, file_id: str, caption: str | None
    ) -> int:
        """sendPhoto or sendDocument of a file Telegram holds (by its file id), with an HTML
        caption; the sent message's id."""

    async def send_plain(
        self,
        chat_id: int,
        text: str,
        keyboard: Keyboard | None = None,
        attachment: Attachment | None = None,
    ) -> Posted:
        """sendMessage, or sendPhoto/sendDocument with `text` as the caption (none if
        empty), as plain text (no parse mode: staff's words as typed; the broadcasts)."""

    async def edit_plain(self, chat_id: int, message_id: int, text: str) -> None:
        """editMessageText, as plain text, without buttons (a broadcast's progress)."""

    def on_flood(self, listener: Callable[[float], None]) -> None:
        """Call `listener(retry_after)` on every 429 any call of this bot gets, before its
        retry waits (Telegram's flood control is the bot's, not one call's)."""

    def refusal(self, error: Exception) -> tuple[Refusal, str] | None:
        """What `error` means and Telegram's description of it (its words, never a
        person's), or None for an error that is not Telegram's."""


class Sender:
    """The bot's outgoing messages, with Telegram's refusals handled (`bot.core.messages.
    Messenger`, plus files)."""

    def __init__(
        self, calls: BotCalls, *, on_unreachable: Callable[[int], Awaitable[None]]
    ) -> None:
        self.calls = calls
        self.on_unreachable = on_unreachable

    async def send(self, chat_id: int, message: Outgoing) -> int | None:
        """Send one message (a text over Telegram's limit as several, the buttons on the
        last); its message id, or None if it could not be delivered."""
        if telegram_length(message.text) > MAX_MESSAGE_CHARS:
            *first, last = split_text([message.text])
            for text in first:
                await self._send_one(chat_id, Outgoing(text))
            message = Outgoing(last, message.keyboard, message.question_id)
        return await self._send_one(chat_id, message)

    async def _send_one(self, chat_id: int, message: Outgoing) -> int | None:
        return await self._call(
            chat_id,
            "sendMessage",
            lambda: self.calls.send_message(chat_id, message.text, message.keyboard),
        )

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None = None
    ) -> bool:
        """Replace a message's text and buttons (None removes them); whether it was done."""
        done = await self._call(
            chat_id,
            "editMessageText",
            lambda: _done(self.calls.edit_text(chat_id, message_id, text, keyboard)),
        )
        return done is not None

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> bool:
        """Replace a message's buttons in place (None removes them); whether it was done."""
        done = await self._call(
            chat_id,
            "editMessageReplyMarkup",
            lambda: _done(self.calls.edit_keyboard(chat_id, message_id, keyboard)),
        )
        return done is not None

    async def answer_callback(
        self, callback_id: str, notice: str | None = None, *, alert: bool = False
    ) -> None:
        """Stop a button's spinner, with a short notice if there is something to say
        (`alert`: in a box the person closes, rather than a passing pop-up)."""
        text = None if notice is None else clip(notice, MAX_CALLBACK_ANSWER)
        await self._call(
            None,
            "answerCallbackQuery",
            lambda: self.calls.answer_callback(callback_id, text, bool(alert and notice)),
        )

    async def send_file(
        self, chat_id: int, name: str, data: bytes, *, photo: bool = False
    ) -> int | None:
        """Upload one file (as a photo, shown inline, or as a document), retried on its own
        like any message; its message id, or None if it could not be delivered."""
        return await self._call(
            chat_id,
            "sendPhoto" if photo else "sendDocument",
            lambda: self.calls.send_file(chat_id, name, data, photo),
        )

    async def send_stored(
        self, chat_id: int, file_id: str, *, photo: bool, caption: str | None = None
    ) -> int | None:
        """Send a file Telegram already holds (a photo or a document someone sent), with an
        HTML caption; its message id, or None if it could not be delivered."""
        return await self._call(
            chat_id,
            "sendPhoto" if photo else "sendDocument",
            lambda: self.calls.send_stored(chat_id, photo, file_id, caption),
        )

    async def _call(
        self, chat_id: int | None, method: str, call: Callable[[], Awaitable[T]]
    ) -> T | None:
        try:
            return await call()
        except TimeoutError:  # the retry policy gave up on a call that never answered
            logger.error("event=gave_up method=%s error=TimeoutError", method)
            return None
        except Exception as error:
            refusal = self.calls.refusal(error)
            if refusal is None:
                raise
            kind, description = refusal
            reason = description.replace(" ", "_")[:80] or type(error).__name__
            if kind is Refusal.UNREACHABLE:
                logger.info("event=unreachable method=%s", method)
                if chat_id is not None:
                    await self.on_unreachable(chat_id)
            elif kind is Refusal.NOT_APPLIED:
                logger.info("event=not_applied method=%s reason=%s", method, reason)
            else:
                logger.error("event=gave_up method=%s error=%s", method, reason)
            return None


async def _done(call: Awaitable[None]) -> bool:
    await call
    return True
