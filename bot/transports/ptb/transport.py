"""An update's JSON through python-telegram-bot: parse, hand to the core, log one line.

The update becomes the core's plain values (`incoming_of`, `filed_of`) for
`bot.core.reception.Reception`, which decides which desk answers it (the staff's, its
sender's role looked up once, then the employer's), as it does for aiogram's transport.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update

from bot.core.desk import Blocked, Incoming, Pressed, Said
from bot.core.interview_files import Filed
from bot.core.interviewer import Interviewer
from bot.core.messages import Reply, Who
from bot.core.reception import Reception
from bot.core.staff import StaffDesk
from bot.logs import UpdateLog, update_kind

logger = logging.getLogger("skillsbot.updates")


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
    """The core's value for a PTB update (None: nothing the core handles)."""
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
    """A document sent in a private chat, as the core's `Filed` (downloaded with PTB)."""
    message = update.message
    if message is None or message.document is None or message.chat.type != "private":
        return None
    who = who_sent(message, update.update_id)
    if who is None:
        return None
    document = message.document

    async def download() -> bytes:
        found = await bot.get_file(document.file_id)
        return bytes(await found.download_as_bytearray())

    return Filed(who, document.file_name, document.file_size, download)


class PtbTransport:
    """Handles an update's JSON with python-telegram-bot (see the package docstring)."""

    def __init__(self, bot: Bot, interviewer: Interviewer, staff: StaffDesk | None = None) -> None:
        self.bot = bot
        self.reception = Reception(staff or StaffDesk(interviewer))
        self._ready = False

    async def handle(self, raw: dict[str, Any]) -> None:
        """One update, start to finish (its replies sent)."""
        if not self._ready:  # PTB's Bot wants its HTTP client started (and getMe) once
            await self.bot.initialize()
            self._ready = True
        record = UpdateLog(update_id=int(raw.get("update_id", 0)), kind=update_kind(raw))
        try:
            update = Update.de_json(raw, self.bot)
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
        """Close PTB's HTTP connections."""
        if self._ready:
            await self.bot.shutdown()
