"""aiogram's side of an update: parse Telegram's JSON, run the Dispatcher's routers.

The staff routers (`bot.transports.aiogram.routers`) come first, the employer's router
(`bot.transports.aiogram.employer`) last. Per-update data is put in by outer middleware:
the `update_log` (one log line per update) and `roles` (the sender's role, looked up at most
once per update, whichever filters ask).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import TelegramObject, Update

from bot.core.desk import EmployerDesk
from bot.core.staff import StaffDesk, read_role
from bot.logs import UpdateLog
from bot.transports.aiogram import employer
from bot.transports.aiogram.routers import broadcast, definitions, followups, staff
from storage.staff_models import Role

if TYPE_CHECKING:
    from storage import Units

logger = logging.getLogger("skillsbot.updates")
RawUpdate = dict[str, Any]


def update_kind(update: Update) -> str:
    """`bot.logs.update_kind` read from a parsed update: what it carries, never its content."""
    if update.message is not None:
        message = update.message
        if message.text is not None:
            return "command" if message.text.startswith("/") else "text"
        kind = message.content_type  # a str enum: its value, not "ContentType.STICKER"
        return str(getattr(kind, "value", kind))
    if update.callback_query is not None:
        return "button"
    if update.my_chat_member is not None:
        return "chat_member"
    return str(update.event_type)


class UpdateLogging(BaseMiddleware):
    """One log line per update: id, kind, employer id, outcome and milliseconds."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Give the handlers an `update_log` to fill in; log it when they are done."""
        if not isinstance(event, Update):
            return await handler(event, data)
        record = UpdateLog(update_id=event.update_id, kind=update_kind(event))
        data["update_log"] = record
        try:
            return await handler(event, data)
        except Exception:
            record.outcome = "error"
            raise
        finally:
            logger.info(record.line())


class Roles:
    """The sender's role, looked up once per update (the first filter to ask queries)."""

    def __init__(self, units: Units, user_id: int | None) -> None:
        self.units = units
        self.user_id = user_id
        self._looked_up = False
        self._role: Role | None = None
        self._lock = asyncio.Lock()

    async def role(self) -> Role | None:
        """The role (None: an employer, or nobody we know)."""
        async with self._lock:
            if not self._looked_up and self.user_id is not None:
                self._role = await read_role(self.units, self.user_id)
            self._looked_up = True
        return self._role


def _sender(update: Update) -> int | None:
    event = update.message or update.callback_query
    user = event.from_user if event is not None else None
    return user.id if user is not None else None


class RoleLookup(BaseMiddleware):
    """Puts `roles` (a `Roles` for the update's sender) in the handlers' data."""

    def __init__(self, units: Units) -> None:
        self.units = units

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Give the filters one lazy, shared role lookup."""
        if isinstance(event, Update):
            data["roles"] = Roles(self.units, _sender(event))
        return await handler(event, data)


def _without_pressed_keyboard(raw: RawUpdate) -> RawUpdate:
    """The update without the keyboard of the message whose button was pressed.

    No handler reads it (a press carries its meaning in its callback data), and parsing a
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


def build_dispatcher(staff_desk: StaffDesk) -> Dispatcher:
    """The Dispatcher: every router, the middleware, and the core's desks injected (the
    staff's as made by the app, with its follow-ups, analysts, and the menu and broadcast
    services it calls; the employer's over the same interviewer)."""
    interviewer = staff_desk.interviewer
    dispatcher = Dispatcher()
    dispatcher["interviewer"] = interviewer
    dispatcher["desk"] = EmployerDesk(interviewer)
    dispatcher["staff_desk"] = staff_desk
    dispatcher.update.outer_middleware(UpdateLogging())
    dispatcher.update.outer_middleware(RoleLookup(interviewer.units))
    dispatcher.include_router(staff.router())  # before the employer's router
    dispatcher.include_router(definitions.router())  # admins' interview files, too
    dispatcher.include_router(broadcast.router())  # drafts, before /weekly
    if staff_desk.follow_ups is not None:
        dispatcher["follow_ups"] = staff_desk.follow_ups
        dispatcher.include_router(followups.router(staff_desk))  # before the employer's too
    dispatcher.include_router(employer.router())
    return dispatcher


class AiogramTransport:
    """Handles an update's JSON with aiogram: parse, then the Dispatcher's routers."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher) -> None:
        self.bot = bot
        self.dispatcher = dispatcher

    async def handle(self, raw: RawUpdate) -> None:
        """One update, start to finish (its replies sent)."""
        await self.dispatcher.feed_update(self.bot, parse_update(raw, self.bot))

    async def aclose(self) -> None:
        """Nothing of its own to close (the Bot is the app's)."""
