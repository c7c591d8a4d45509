"""An update's JSON through python-telegram-bot: parse, hand to the core, log one line.

The update's fields are copied out of PTB's objects into the core's plain
`bot.core.updates.Update` (`update_of`; nothing more is decided here), which makes the
core's values for `bot.core.reception.Reception`; that decides which desk answers it (the
staff's, its sender's role looked up once, then the employer's), as it does for aiogram's
transport.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, CallbackQuery, Document, Message, Update, User

from bot.core import updates
from bot.core.interviewer import Interviewer
from bot.core.messages import Reply
from bot.core.reception import Reception
from bot.core.staff import StaffDesk
from bot.logs import UpdateLog, update_kind

logger = logging.getLogger("skillsbot.updates")


def update_of(update: Update, bot: Bot) -> updates.Update:
    """The fields of a PTB update the core reads (`bot.core.updates`)."""
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
        found = await bot.get_file(document.file_id)
        return bytes(await found.download_as_bytearray())

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


class PtbTransport:
    """Handles an update's JSON with python-telegram-bot (see the package docstring)."""

    def __init__(self, bot: Bot, interviewer: Interviewer, staff: StaffDesk | None = None) -> None:
        self.bot = bot
        self.reception = Reception(staff or StaffDesk(interviewer))
        self._ready = False
        self._starting = asyncio.Lock()

    async def ready(self) -> None:
        """Start PTB's Bot (its HTTP client, and getMe) once: the first updates come
        together (a worker per chat), and each would otherwise start it again."""
        if self._ready:
            return
        async with self._starting:
            if not self._ready:
                await self.bot.initialize()
                self._ready = True

    async def handle(self, raw: dict[str, Any]) -> None:
        """One update, start to finish (its replies sent)."""
        await self.ready()
        record = UpdateLog(update_id=int(raw.get("update_id", 0)), kind=update_kind(raw))
        try:
            read = update_of(Update.de_json(raw, self.bot), self.bot)
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
        """Close PTB's HTTP connections."""
        if self._ready:
            await self.bot.shutdown()
