"""An update's JSON through aiogram: parse, hand to the core, log one line.

The update's fields are copied out of aiogram's objects into the core's plain
`bot.core.updates.Update` (`update_of`; nothing more is decided here), which makes the
core's values for `bot.core.reception.Reception`; that decides which desk answers it (the
staff's, its sender's role looked up once, then the employer's), as it does for
python-telegram-bot's transport. Which command is which, who may use it and what a button
means are the core's: no Dispatcher, routers or filters here.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from aiogram import Bot
from aiogram.types import CallbackQuery, Document, Message, Update, User

from bot.core import updates
from bot.core.messages import Reply
from bot.core.reception import Reception
from bot.core.staff import StaffDesk
from bot.logs import UpdateLog, update_kind

logger = logging.getLogger("skillsbot.updates")
RawUpdate = dict[str, Any]


def update_of(update: Update, bot: Bot) -> updates.Update:
    """The fields of an aiogram update the core reads (`bot.core.updates`)."""
    member = update.my_chat_member
    return updates.Update(
        update.update_id,
        message=_message(update.message, bot) if update.message is not None else None,
        press=_press(update.callback_query) if update.callback_query is not None else None,
        member=None
        if member is None
        else updates.MemberStatus(member.chat.id, member.new_chat_member.status),
    )


def _sender(user: User | None) -> updates.Sender | None:
    return None if user is None else updates.Sender(user.id, user.language_code)


def _message(message: Message, bot: Bot) -> updates.Message:
    document = message.document
    return updates.Message(
        message.chat.id,
        message.chat.type,
        _sender(message.from_user),
        text=message.text,
        caption=message.caption,
        photo_id=message.photo[-1].file_id if message.photo else None,
        document=None if document is None else _document(document, bot),
    )


def _document(document: Document, bot: Bot) -> updates.Document:
    async def download() -> bytes:
        buffer = io.BytesIO()
        await bot.download(document, destination=buffer)
        return buffer.getvalue()

    return updates.Document(document.file_name, document.file_size, download)


def _press(query: CallbackQuery) -> updates.Press:
    shown = query.message
    return updates.Press(
        query.id,
        _sender(query.from_user),
        query.data,
        chat_id=shown.chat.id if shown is not None else None,
        message_id=shown.message_id if shown is not None else None,
    )


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
            read = update_of(parse_update(raw, self.bot), self.bot)
            reply = await self.reception.handle(read.incoming(), read.filed())
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
