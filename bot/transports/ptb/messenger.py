"""Sending with python-telegram-bot: the raw Bot API calls under the core's one send policy
(`bot.core.sending.Sender`, as `bot.transports.aiogram.delivery` for aiogram).

429s, 5xx and network errors are retried below this, on every call of the Bot
(`bot.transports.ptb.retry`, the one policy of `bot.retry`); `PtbCalls.refusal` says what
an error that reaches the sender means.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.core.messages import Keyboard
from bot.core.sending import Attachment, Posted, Refusal, Sender
from bot.retry import DEFAULT_POLICY, RetryPolicy
from bot.transports import file_id_of
from bot.transports.ptb.retry import RetryingRequest


def build_ptb_bot(
    token: str, api_url: str, retry: RetryPolicy = DEFAULT_POLICY, *, connections: int = 128
) -> Bot:
    """PTB's Bot talking to `api_url` (Telegram, a self-hosted Bot API server, or the fake),
    every call of which is tried again as `retry` says (`bot.transports.ptb.retry`), over
    aiohttp (`bot.transports.ptb.request`)."""
    base = api_url.rstrip("/")
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=RetryingRequest(retry, connections=connections),
    )


def to_markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """PTB's `InlineKeyboardMarkup` for a core keyboard (None stays None)."""
    if keyboard is None:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.callback_data) for b in row]
            for row in keyboard.inline_keyboard
        ]
    )


class PtbCalls:
    """`bot.core.sending.BotCalls` made with python-telegram-bot's `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_message(self, chat_id: int, text: str, keyboard: Keyboard | None) -> int:
        sent = await self.bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=to_markup(keyboard)
        )
        return sent.message_id

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None
    ) -> None:
        await self.bot.edit_message_text(
            text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=to_markup(keyboard),
        )

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> None:
        await self.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=to_markup(keyboard)
        )

    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None:
        await self.bot.answer_callback_query(callback_id, text=text, show_alert=alert or None)

    async def send_file(self, chat_id: int, name: str, data: bytes, photo: bool) -> int:
        upload = InputFile(data, filename=name)
        if photo:
            return (await self.bot.send_photo(chat_id, upload)).message_id
        return (await self.bot.send_document(chat_id, upload)).message_id

    async def send_stored(
        self, chat_id: int, photo: bool, file_id: str, caption: str | None
    ) -> int:
        if photo:
            sent = await self.bot.send_photo(
                chat_id, file_id, caption=caption, parse_mode=ParseMode.HTML
            )
        else:
            sent = await self.bot.send_document(
                chat_id, file_id, caption=caption, parse_mode=ParseMode.HTML
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
            sent = await self.bot.send_message(chat_id, text, reply_markup=markup)
            return Posted(sent.message_id)
        media: str | Path = attachment.file_id or Path(str(attachment.path))
        caption = text or None
        if attachment.photo:
            sent = await self.bot.send_photo(chat_id, media, caption=caption, reply_markup=markup)
        else:
            sent = await self.bot.send_document(
                chat_id, media, caption=caption, reply_markup=markup
            )
        return Posted(sent.message_id, file_id_of(sent))

    async def edit_plain(self, chat_id: int, message_id: int, text: str) -> None:
        await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)

    def on_flood(self, listener: Callable[[float], None]) -> None:
        request = self.bot.request
        if isinstance(request, RetryingRequest):
            request.on_flood(listener)

    def refusal(self, error: Exception) -> tuple[Refusal, str] | None:
        if isinstance(error, Forbidden):
            return Refusal.UNREACHABLE, ""
        if isinstance(error, RetryAfter):
            return Refusal.THROTTLED, ""
        if isinstance(error, BadRequest):
            return Refusal.NOT_APPLIED, error.message
        if isinstance(error, TelegramError):
            return Refusal.GAVE_UP, ""
        return None


class PtbMessenger(Sender):
    """The core's send policy on python-telegram-bot's `Bot`."""

    def __init__(self, bot: Bot, *, on_unreachable: Callable[[int], Awaitable[None]]) -> None:
        super().__init__(PtbCalls(bot), on_unreachable=on_unreachable)
        self.bot = bot
