"""Interview files on aiogram: an admin's document or "Use it" tap, handed to the core.

What is checked, stored and said is `bot.core.interview_files`', run by the
`bot.core.staff.StaffDesk`; here a document becomes a `Filed` whose download is aiogram's.
Include this router after the staff router and before the employer's: a file from anyone
without a role goes on to the employer's "I can only read text here".
"""

from __future__ import annotations

import io
from typing import Any

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.core.desk import Pressed
from bot.core.interview_files import USE_PREFIX, Filed
from bot.transports.aiogram.employer import who_sent
from bot.transports.aiogram.filters import Inline
from bot.transports.aiogram.routers.staff import HasRole, note
from storage.staff_models import Role


async def on_document(message: Message, staff_role: Role, **data: Any) -> None:
    """A file from someone holding a role."""
    document = message.document
    who = who_sent(message, data["event_update"])
    if document is None or who is None or message.bot is None:
        return
    bot = message.bot

    async def download() -> bytes:
        buffer = io.BytesIO()
        await bot.download(document, destination=buffer)
        return buffer.getvalue()

    filed = Filed(who, document.file_name, document.file_size, download)
    note(data.get("update_log"), await data["staff_desk"].handle(filed, staff_role))


async def on_use(callback: CallbackQuery, staff_role: Role, **data: Any) -> None:
    """The tap on "Use it for new responses"."""
    who = who_sent(callback, data["event_update"])
    if who is None:
        return
    message_id = callback.message.message_id if isinstance(callback.message, Message) else 0
    pressed = Pressed(who, callback.data, message_id, callback.id)
    note(data.get("update_log"), await data["staff_desk"].handle(pressed, staff_role))


def router() -> Router:
    """A new router for definition files (one per Dispatcher); before the fallbacks."""
    feature = Router(name="definitions")
    feature.message.filter(Inline(F.chat.type == "private"))
    feature.message.register(on_document, Inline(F.document), HasRole())
    feature.callback_query.register(on_use, Inline(F.data.startswith(USE_PREFIX)), HasRole())
    return feature
