"""Staff commands on aiogram: parse, hand to `bot.core.staff.StaffDesk`, nothing decided here.

Every handler here sits behind `HasRole`. For anyone without a role the filter fails, the
update falls through to the other routers: /start begins the employer interview, /help is
the employers' help, and /list or /staff get exactly the unknown-command answer an
employer gets for any command the bot does not know. Include this router before the
employer's. What each command does, and the copy, are the core's (`bot.core.staff`); the
`HasRole` filter (also used by the interview-file and broadcast routers) reads the role the
dispatcher's middleware looks up once per update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import BaseFilter, Command, CommandStart
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.core.desk import Pressed, Said
from bot.core.messages import StaffReply
from bot.core.roles import TRY_DATA
from bot.core.staff import StaffDesk, read_role
from bot.logs import UpdateLog
from bot.transports.aiogram.employer import on_message, who_sent
from bot.transports.aiogram.filters import Inline
from storage.staff_models import ROLES, Role

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Units


def units_of(data: dict[str, Any]) -> Units:
    """How the database is reached, from the dispatcher's data (the interviewer's `Units`,
    the bot's one)."""
    return data["interviewer"].units  # type: ignore[no-any-return]


def zone_of(data: dict[str, Any]) -> ZoneInfo:
    """The zone times are shown in (SKILLSBOT_TIMEZONE), from the dispatcher's interviewer."""
    return data["interviewer"].zone  # type: ignore[no-any-return]


class HasRole(BaseFilter):
    """Passes updates from users holding one of these roles (any role when none given).

    On success the handler receives `staff_role` (the user's role).
    """

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles or ROLES)

    async def __call__(self, event: TelegramObject, **data: Any) -> bool | dict[str, Any]:
        """Look the sender's role up in the database."""
        user = event.from_user if isinstance(event, Message | CallbackQuery) else None
        if user is None:
            return False
        role = await sender_role(data, user.id)
        return {"staff_role": role} if role in self.roles else False


async def sender_role(data: dict[str, Any], user_id: int) -> Role | None:
    """The sender's role: from the update's one lookup (`roles`, put in by the transport's
    middleware), else from the database."""
    roles = data.get("roles")
    if roles is not None and roles.user_id == user_id:
        return await roles.role()  # type: ignore[no-any-return]
    return await read_role(units_of(data), user_id)


def note(update_log: UpdateLog | None, reply: StaffReply | None) -> None:
    """Put the staff update's outcome on its log line."""
    if update_log is not None and reply is not None:
        update_log.outcome = reply.outcome


async def on_command(message: Message, staff_role: Role | None, **data: Any) -> None:
    """/staff, /list, /start, /help (and /weekly): the core's, else the employer's."""
    who = who_sent(message, data["event_update"])
    if who is None:
        return
    staff: StaffDesk = data["staff_desk"]
    reply = await staff.handle(Said(who, message.text, private=True), staff_role)
    if reply is None:  # /start with a link's payload: the interview, as for anyone
        await on_message(message, data["desk"], data["event_update"], data.get("update_log"))
        return
    note(data.get("update_log"), reply)


async def on_try(callback: CallbackQuery, staff_role: Role, **data: Any) -> None:
    """The greeting's "Try the interview" button."""
    who = who_sent(callback, data["event_update"])
    if who is None:
        await callback.answer()
        return
    message_id = callback.message.message_id if isinstance(callback.message, Message) else 0
    pressed = Pressed(who, callback.data, message_id, callback.id)
    note(data.get("update_log"), await data["staff_desk"].handle(pressed, staff_role))


def command(name: str) -> Command:
    """aiogram's filter of the command `name`, read as the core reads commands
    (`bot.core.desk.parse_command`): in any case ("/List" from a phone's keyboard), with or
    without an @mention of a bot."""
    return Command(name, ignore_case=True, ignore_mention=True)


def router() -> Router:
    """A new router with the staff commands (one per Dispatcher); before the employer's."""
    feature = Router(name="staff")
    feature.message.filter(Inline(F.chat.type == "private"))
    for name in ("staff", "list", "help"):
        feature.message.register(on_command, command(name), HasRole())
    start = CommandStart(ignore_case=True, ignore_mention=True)
    feature.message.register(on_command, start, HasRole())
    feature.callback_query.register(on_try, Inline(F.data == TRY_DATA), HasRole())
    return feature
