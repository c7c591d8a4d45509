"""Sending with aiogram: the raw Bot API calls under the core's one send policy.

Every message the bot sends a person goes through `Delivery`, a `bot.core.sending.Sender`
whose calls aiogram makes. 429s, server and network errors are tried again by the bot's
retry policy (`bot.retry`, applied to every call by `bot.transports.aiogram.retry`); what
reaches the sender is what retrying cannot mend, and `AiogramCalls.refusal` says which it
is: a person who blocked the bot (403), a refused edit, or a call the policy gave up on (a
success whose body could not be read too, as PTB has it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile, FSInputFile, InputFile

from bot.core.messages import Keyboard
from bot.core.sending import Attachment, Posted, Refusal, Sender
from bot.transports import file_id_of
from bot.transports.aiogram.markup import to_markup
from bot.transports.aiogram.retry import install_retry

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


# Kept alive: pydantic caches parametrized generic models only weakly (see
# `bot.transports.aiogram.adapter.KEPT_RESPONSE_TYPES`).
RAW_RESPONSE_TYPES = (Response[RawMessage], Response[RawMessage | bool])


def _raw(method: TelegramMethod[Any]) -> TelegramMethod[Any]:
    """The method as the Bot's call accepts it (its static result type is the parsed one)."""
    return method


class AiogramCalls:
    """`bot.core.sending.BotCalls` made with aiogram's `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_message(self, chat_id: int, text: str, keyboard: Keyboard | None) -> int:
        method = RawSendMessage(
            chat_id=chat_id, text=text, parse_mode="HTML", reply_markup=to_markup(keyboard)
        )
        sent: RawMessage = await self.bot(_raw(method))
        return int(sent["message_id"])

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None
    ) -> None:
        method = RawEditMessageText(
            text=text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode="HTML",
            reply_markup=to_markup(keyboard),
        )
        await self.bot(_raw(method))

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> None:
        method = RawEditMessageReplyMarkup(
            chat_id=chat_id, message_id=message_id, reply_markup=to_markup(keyboard)
        )
        await self.bot(_raw(method))

    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None:
        await self.bot.answer_callback_query(callback_id, text=text, show_alert=alert or None)

    async def send_file(self, chat_id: int, name: str, data: bytes, photo: bool) -> int:
        upload = BufferedInputFile(data, filename=name)
        if photo:
            return (await self.bot.send_photo(chat_id, upload)).message_id
        return (await self.bot.send_document(chat_id, upload)).message_id

    async def send_stored(
        self, chat_id: int, photo: bool, file_id: str, caption: str | None
    ) -> int:
        if photo:
            sent = await self.bot.send_photo(chat_id, file_id, caption=caption, parse_mode="HTML")
        else:
            sent = await self.bot.send_document(
                chat_id, file_id, caption=caption, parse_mode="HTML"
            )
        return sent.message_id

    async def send_plain(
        self,
        chat_id: int,
        text: str,
        keyboard: Keyboard | None = None,
        attachment: Attachment | None = None,
    ) -> Posted:
        markup = to_markup(keyboard)
        if attachment is None:
            method = RawSendMessage(chat_id=chat_id, text=text, reply_markup=markup)
            sent: RawMessage = await self.bot(_raw(method))
            return Posted(int(sent["message_id"]))
        media: InputFile | str = attachment.file_id or FSInputFile(str(attachment.path))
        caption = text or None
        if attachment.photo:
            message = await self.bot.send_photo(
                chat_id, media, caption=caption, reply_markup=markup
            )
        else:
            message = await self.bot.send_document(
                chat_id, media, caption=caption, reply_markup=markup
            )
        return Posted(message.message_id, file_id_of(message))

    async def edit_plain(self, chat_id: int, message_id: int, text: str) -> None:
        await self.bot(_raw(RawEditMessageText(text=text, chat_id=chat_id, message_id=message_id)))

    def on_flood(self, listener: Callable[[float], None]) -> None:
        install_retry(self.bot).on_flood(listener)

    def refusal(self, error: Exception) -> tuple[Refusal, str] | None:
        if isinstance(error, TelegramForbiddenError):
            return Refusal.UNREACHABLE, ""
        if isinstance(error, TelegramRetryAfter):
            return Refusal.THROTTLED, ""
        if isinstance(error, (TelegramNotFound, TelegramBadRequest)):
            return Refusal.NOT_APPLIED, str(error.message)
        if isinstance(error, TelegramAPIError):
            return Refusal.GAVE_UP, ""
        if isinstance(error, ClientDecodeError):  # a success whose body was not readable
            return Refusal.GAVE_UP, ""  # (an error's is read by its status: `session.py`)
        return None


class Delivery(Sender):
    """The core's send policy on aiogram's `Bot`."""

    def __init__(self, bot: Bot, *, on_unreachable: Callable[[int], Awaitable[None]]) -> None:
        super().__init__(AiogramCalls(bot), on_unreachable=on_unreachable)
        self.bot = bot
