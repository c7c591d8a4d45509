"""An update's JSON through python-telegram-bot: parse, hand to the core, log one line.

A message or button press that may be the staff's (`StaffDesk.concerns`: /staff, /list,
/start, /help, /weekly, the greeting's Try button) has its sender's role looked up, once,
and goes to the `StaffDesk`; whatever it leaves (None: not the staff's) goes to the
`EmployerDesk`, as every other update does.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update

from bot.core.desk import Blocked, EmployerDesk, Incoming, Pressed, Said
from bot.core.interviewer import Interviewer
from bot.core.messages import Who
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
        return Said(who, message.text, private=message.chat.type == "private")
    if update.callback_query is not None:
        query = update.callback_query
        who = who_sent(query, update.update_id)
        if who is None:
            return None
        message_id = query.message.message_id if query.message is not None else 0
        return Pressed(who, query.data, message_id, query.id)
    member = update.my_chat_member
    if member is not None and member.new_chat_member.status == "kicked":
        return Blocked(member.chat.id)
    return None


class PtbTransport:
    """Handles an update's JSON with python-telegram-bot (see the package docstring)."""

    def __init__(
        self, bot: Bot, interviewer: Interviewer, staff: StaffDesk | None = None
    ) -> None:
        self.bot = bot
        self.desk = EmployerDesk(interviewer)
        self.staff = staff or StaffDesk(interviewer)
        self._ready = False

    async def handle(self, raw: dict[str, Any]) -> None:
        """One update, start to finish (its replies sent)."""
        if not self._ready:  # PTB's Bot wants its HTTP client started (and getMe) once
            await self.bot.initialize()
            self._ready = True
        record = UpdateLog(update_id=int(raw.get("update_id", 0)), kind=update_kind(raw))
        try:
            incoming = incoming_of(Update.de_json(raw, self.bot))
            if isinstance(incoming, Said | Pressed) and self.staff.concerns(incoming):
                role = await self.staff.role_of(incoming.who.user_id)  # once per update
                staff_reply = await self.staff.handle(incoming, role)
                if staff_reply is not None:
                    record.outcome = staff_reply.outcome
                    return
            if incoming is not None:
                reply = await self.desk.handle(incoming)
                if reply is not None:
                    record.outcome = reply.outcome
                    record.employer_id = reply.employer_id
        except Exception:
            record.outcome = "error"
            raise
        finally:
            logger.info(record.line())

    async def aclose(self) -> None:
        """Close PTB's HTTP connections."""
        if self._ready:
            await self.bot.shutdown()
