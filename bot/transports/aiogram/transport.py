"""An update's JSON through aiogram: parse, hand to the core, log one line.

The update becomes the core's plain values (`incoming_of`, `filed_of`) for
`bot.core.reception.Reception`, which decides which desk answers it (the staff's, its
sender's role looked up once, then the employer's), as it does for python-telegram-bot's
transport. Which command is which, who may use it and what a button means are the core's:
no Dispatcher, routers or filters here.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from aiogram import Bot
from aiogram.types import CallbackQuery, Message, Update

from bot.core.desk import Blocked, Incoming, Pressed, Said
from bot.core.interview_files import Filed
from bot.core.messages import Reply, Who
from bot.core.reception import Reception
from bot.core.staff import StaffDesk
from bot.logs import UpdateLog, update_kind

logger = logging.getLogger("skillsbot.updates")
RawUpdate = dict[str, Any]


def who_sent(event: Message | CallbackQuery, update_id: int) -> Who | None:
    """The update id, person and private chat of a message or button press."""
    user = event.from_user
    if user is None:
        return None
    if isinstance(event, CallbackQuery):
        chat_id = event.message.chat.id if event.message is not None else user.id
    else:
        chat_id = event.chat.id
    return Who(update_id, user.id, chat_id, user.language_code)


def incoming_of(update: Update) -> Incoming | None:
    """The core's value for an aiogram update (None: nothing the core handles)."""
    if update.message is not None:
        message = update.message
        who = who_sent(message, update.update_id)
        if who is None:
            return None
        photo_id = message.photo[-1].file_id if message.photo else None
        private = message.chat.type == "private"
        return Said(who, message.text, private, photo_id=photo_id, caption=message.caption)
    if update.callback_query is not None:
        query = update.callback_query
        who = who_sent(query, update.update_id)
        if who is None:
            return None
        message_id = query.message.message_id if query.message is not None else 0
        return Pressed(who, query.data, message_id, query.id)
    member = update.my_chat_member
    if member is not None and member.new_chat_member.status == "kicked":
        return Blocked(member.chat.id, update.update_id)
    return None


def filed_of(update: Update, bot: Bot) -> Filed | None:
    """A document sent in a private chat, as the core's `Filed` (downloaded with aiogram)."""
    message = update.message
    if message is None or message.document is None or message.chat.type != "private":
        return None
    who = who_sent(message, update.update_id)
    if who is None:
        return None
    document = message.document

    async def download() -> bytes:
        buffer = io.BytesIO()
        await bot.download(document, destination=buffer)
        return buffer.getvalue()

    return Filed(who, document.file_name, document.file_size, download)


def _without_pressed_keyboard(raw: RawUpdate) -> RawUpdate:
    """The update without the keyboard of the message whose button was pressed.

    Nothing reads it (a press carries its meaning in its callback data), and parsing a
    keyboard of 26 buttons into aiogram objects cost more than the rest of the update.
    """
    query = raw.get("callback_query")
    if not isinstance(query, dict):
        return raw
    message = query.get("message")
    if not isinstance(message, dict) or "reply_markup" not in message:
        return raw
    slim = {key: value for key, value in message.items() if key != "reply_markup"}
    return {**raw, "callback_query": {**query, "message": slim}}


def parse_update(raw: RawUpdate, bot: Bot) -> Update:
    """Telegram's JSON of an update as aiogram's `Update`, bound to `bot`."""
    return Update.model_validate(_without_pressed_keyboard(raw), context={"bot": bot})


class AiogramTransport:
    """Handles an update's JSON with aiogram (see the module docstring)."""

    def __init__(self, bot: Bot, staff: StaffDesk) -> None:
        self.bot = bot
        self.reception = Reception(staff)

    async def handle(self, raw: RawUpdate) -> None:
        """One update, start to finish (its replies sent)."""
        record = UpdateLog(update_id=int(raw.get("update_id", 0)), kind=update_kind(raw))
        try:
            update = parse_update(raw, self.bot)
            reply = await self.reception.handle(incoming_of(update), filed_of(update, self.bot))
            if reply is not None:
                record.outcome = reply.outcome
                record.employer_id = reply.employer_id if isinstance(reply, Reply) else None
        except Exception:
            record.outcome = "error"
            raise
        finally:
            logger.info(record.line())

    async def aclose(self) -> None:
        """Nothing of its own to close (the Bot is the app's)."""
