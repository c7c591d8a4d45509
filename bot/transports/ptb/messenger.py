"""The core's messages sent with python-telegram-bot, with Telegram's errors handled.

As `bot.handlers.delivery` does for aiogram: 429s, 5xx and network errors are retried below
this, on every call of the Bot (`bot.transports.ptb.retry`, the one policy of `bot.retry`);
here a chat that blocked the bot (403) is reported to `on_unreachable`, a refused edit
("message is not modified") is let go, and a call the policy gave up on is logged and
dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.core.messages import Keyboard, Outgoing
from bot.core.render import clip, split_text
from bot.limits import MAX_CALLBACK_ANSWER, MAX_MESSAGE_CHARS, telegram_length
from bot.retry import DEFAULT_POLICY, RetryPolicy
from bot.transports.ptb.retry import RetryingRequest

logger = logging.getLogger("skillsbot.delivery")
T = TypeVar("T")


def build_ptb_bot(
    token: str, api_url: str, retry: RetryPolicy = DEFAULT_POLICY, *, connections: int = 128
) -> Bot:
    """PTB's Bot talking to `api_url` (Telegram, a self-hosted Bot API server, or the fake),
    every call of which is tried again as `retry` says (`bot.transports.ptb.retry`)."""
    base = api_url.rstrip("/")
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=RetryingRequest(retry, connection_pool_size=connections),
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


class PtbMessenger:
    """`bot.core.messages.Messenger` on python-telegram-bot."""

    def __init__(
        self,
        bot: Bot,
        *,
        on_unreachable: Callable[[int], Awaitable[None]],
    ) -> None:
        self.bot = bot
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
        sent = await self._call(
            chat_id,
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id,
                message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=to_markup(message.keyboard),
            ),
        )
        return sent.message_id if sent is not None else None

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None = None
    ) -> bool:
        """Replace a message's text and buttons (None removes them)."""
        done = await self._call(
            chat_id,
            "editMessageText",
            lambda: self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=to_markup(keyboard),
            ),
        )
        return done is not None

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> bool:
        """Replace a message's buttons (None removes them)."""
        done = await self._call(
            chat_id,
            "editMessageReplyMarkup",
            lambda: self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=to_markup(keyboard)
            ),
        )
        return done is not None

    async def answer_callback(
        self, callback_id: str, notice: str | None = None, *, alert: bool = False
    ) -> None:
        """Stop a button's spinner, with a notice if there is something to say."""
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
        except Forbidden:
            logger.info("event=unreachable method=%s", method)
            if chat_id is not None:
                await self.on_unreachable(chat_id)
            return None
        except BadRequest as error:
            # e.g. "message is not modified" or a message deleted by the person: there is
            # nothing to retry.
            reason = error.message.replace(" ", "_")[:80]
            logger.info("event=not_applied method=%s reason=%s", method, reason)
            return None
        except (TelegramError, TimeoutError) as error:  # the retry policy gave up
            logger.error("event=gave_up method=%s error=%s", method, type(error).__name__)
            return None
