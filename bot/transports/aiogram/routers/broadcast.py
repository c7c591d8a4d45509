"""/broadcast on aiogram: each message or "bc:" button of an admin or staff member is
offered to the core's broadcast draft (`bot.core.staff.StaffDesk.draft`, which keeps the
draft in the database: `bot.core.broadcast_drafts`); what no draft takes goes on to the
routers after this one (/weekly, the employer's), as it always did.

Everything sits behind `HasRole("admin", "staff")`: for anyone else `/broadcast` falls
through to the unknown-command answer, and a stray "bc:" button to the employer's.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import CallbackQuery, Message

from bot.core.broadcast_drafts import PREFIX
from bot.core.desk import Pressed, Said
from bot.transports.aiogram.employer import who_sent
from bot.transports.aiogram.filters import Inline
from bot.transports.aiogram.routers.staff import HasRole, note
from storage.staff_models import Role


async def on_message(message: Message, staff_role: Role, **data: Any) -> None:
    """A message that may be a step of the chat's draft (or /broadcast itself)."""
    who = who_sent(message, data["event_update"])
    if who is None:
        raise SkipHandler
    photo_id = message.photo[-1].file_id if message.photo else None
    said = Said(who, message.text, private=True, photo_id=photo_id, caption=message.caption)
    reply = await data["staff_desk"].draft(said, staff_role)
    if reply is None:
        raise SkipHandler  # no draft takes it: the next routers'
    note(data.get("update_log"), reply)


async def on_button(query: CallbackQuery, staff_role: Role, **data: Any) -> None:
    """A draft's button (audience, Confirm, Schedule, Cancel)."""
    who = who_sent(query, data["event_update"])
    if who is None:
        raise SkipHandler
    message_id = query.message.message_id if isinstance(query.message, Message) else 0
    pressed = Pressed(who, query.data, message_id, query.id)
    reply = await data["staff_desk"].draft(pressed, staff_role)
    if reply is None:
        raise SkipHandler
    note(data.get("update_log"), reply)


def router() -> Router:
    """A new router for broadcast drafts (one per Dispatcher); after the staff and
    interview-file routers, before /weekly and the employer's."""
    feature = Router(name="broadcast")
    feature.message.filter(Inline(F.chat.type == "private"))
    staff_only = HasRole("admin", "staff")
    feature.message.register(on_message, staff_only)
    feature.callback_query.register(on_button, Inline(F.data.startswith(PREFIX)), staff_only)
    return feature
