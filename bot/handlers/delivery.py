"""Sending to Telegram: notes 403s, shrugs off permanent refusals, never raises.

Every message the bot sends a person goes through `Delivery`. 429s, server and network
errors are tried again by the bot's retry policy (`bot.retry`, applied to every call by
`bot.telegram_retry`); what reaches `Delivery` is what retrying cannot mend: a person who
blocked the bot (403) is marked unreachable and skipped, a refused edit is let go, and a
call the policy gave up on is logged and counted as not delivered. The bot itself keeps
running whatever happens here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
)
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile

from bot.core.messages import Keyboard, Outgoing
from bot.core.render import clip, split_text
from bot.limits import MAX_CALLBACK_ANSWER, MAX_MESSAGE_CHARS, telegram_length
from bot.transports.aiogram.markup import to_markup

logger = logging.getLogger("skillsbot.delivery")
T = TypeVar("T")


# The sent or edited message comes back as JSON, not as aiogram objects: the bot only
# needs its id, and validating a message with a keyboard of 26 buttons into pydantic
# models took longer than everything else about sending it.
RawMessage = dict[str, Any]


class RawSendMessage(SendMessage):
    """sendMessage whose result stays JSON."""

    __returning__ = RawMessage  # type: ignore[assignment]


class RawEditMessageText(EditMessageText):
    """editMessageText whose result stays JSON."""

    __returning__ = RawMessage | bool


class RawEditMessageReplyMarkup(EditMessageReplyMarkup):
    """editMessageReplyMarkup whose result stays JSON."""

    __returning__ = RawMessage | bool


# Kept alive: pydantic caches parametrized generic models only weakly (see bot.app).
RAW_RESPONSE_TYPES = (Response[RawMessage], Response[RawMessage | bool])


def _raw(method: TelegramMethod[Any]) -> TelegramMethod[Any]:
    """The method as the Bot's call accepts it (its static result type is the parsed one)."""
    return method


class Unreachable(Exception):
    """The chat blocked the bot or no longer exists."""


class Delivery:
    """The bot's outgoing calls, with Telegram's errors handled."""

    def __init__(
        self,
        bot: Bot,
        *,
        on_unreachable: Callable[[int], Awaitable[None]],
    ) -> None:
        self.bot = bot
        self.on_unreachable = on_unreachable

    async def send(self, chat_id: int, message: Outgoing) -> int | None:
        """Send one message; its message id, or None if it could not be delivered.

        A text over Telegram's limit (which would be refused) goes as several messages,
        the buttons on the last: a question or a Submit button is never lost to length.
        """
        if telegram_length(message.text) > MAX_MESSAGE_CHARS:
            *first, last = split_text([message.text])
            for text in first:
                await self._send_one(chat_id, Outgoing(text))
            message = Outgoing(last, message.keyboard, message.question_id)
        return await self._send_one(chat_id, message)

    async def _send_one(self, chat_id: int, message: Outgoing) -> int | None:
        method = RawSendMessage(
            chat_id=chat_id,
            text=message.text,
            parse_mode="HTML",
            reply_markup=to_markup(message.keyboard),
        )
        sent = await self._call(chat_id, "sendMessage", lambda: self.bot(_raw(method)))
        return int(sent["message_id"]) if sent is not None else None

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        keyboard: Keyboard | None = None,
    ) -> bool:
        """Replace a message's text (and keyboard; None removes it)."""
        method = RawEditMessageText(
            text=text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode="HTML",
            reply_markup=to_markup(keyboard),
        )
        done = await self._call(chat_id, "editMessageText", lambda: self.bot(_raw(method)))
        return done is not None

    async def edit_keyboard(
        self, chat_id: int, message_id: int, keyboard: Keyboard | None
    ) -> bool:
        """Replace a message's buttons in place (None removes them)."""
        method = RawEditMessageReplyMarkup(
            chat_id=chat_id, message_id=message_id, reply_markup=to_markup(keyboard)
        )
        done = await self._call(chat_id, "editMessageReplyMarkup", lambda: self.bot(_raw(method)))
        return done is not None

    async def send_file(
        self, chat_id: int, name: str, data: bytes, *, photo: bool = False
    ) -> int | None:
        """Upload one file (as a photo, shown inline, or as a document), retried on its own
        like any message; its message id, or None if it could not be delivered."""
        upload = BufferedInputFile(data, filename=name)
        if photo:
            sent = await self._call(
                chat_id, "sendPhoto", lambda: self.bot.send_photo(chat_id, upload)
            )
        else:
            sent = await self._call(
                chat_id, "sendDocument", lambda: self.bot.send_document(chat_id, upload)
            )
        return sent.message_id if sent is not None else None

    async def answer_callback(
        self, callback_id: str, notice: str | None = None, *, alert: bool = False
    ) -> None:
        """Stop the button's spinner, with a short notice if there is something to say
        (`alert`: in a box the person closes, rather than a passing pop-up)."""
        await self._call(
            None,
            "answerCallbackQuery",
            lambda: self.bot.answer_callback_query(
                callback_id,
                text=None if notice is None else clip(notice, MAX_CALLBACK_ANSWER),
                show_alert=True if alert and notice else None,
            ),
        )

    async def _call(
        self, chat_id: int | None, method: str, call: Callable[[], Awaitable[T]]
    ) -> T | None:
        try:
            return await call()
        except TelegramForbiddenError:
            logger.info("event=unreachable method=%s", method)
            if chat_id is not None:
                await self.on_unreachable(chat_id)
            return None
        except (TelegramNotFound, TelegramBadRequest) as error:
            # e.g. "message is not modified" or a message deleted by the person: there
            # is nothing to retry.
            logger.info("event=not_applied method=%s reason=%s", method, _reason(error))
            return None
        except (TelegramAPIError, TimeoutError) as error:  # the retry policy gave up
            logger.error("event=gave_up method=%s error=%s", method, type(error).__name__)
            return None


def _reason(error: Any) -> str:
    """Telegram's description without anything a person wrote (it never quotes text)."""
    message = str(getattr(error, "message", "")) or type(error).__name__
    return message.replace(" ", "_")[:80]
