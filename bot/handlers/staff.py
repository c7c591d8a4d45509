"""Staff commands on Telegram: /staff (admins manage roles) and /list (interview progress).

Every handler here sits behind `HasRole`. For anyone without a role the filter fails, the
update falls through to the commands router, and they get exactly the unknown-command
answer an employer gets for any command the bot does not know. Include this router before
the commands router.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING, Any

from aiogram import F, Router
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.limits import MAX_TELEGRAM_USER_ID
from bot.roster_import import sector_name
from bot.tables import clean_cell
from storage import Session, chat_transaction, claim_update, utcnow
from storage.roster import sector_counts, status_counts
from storage.staff import (
    UnknownRole,
    parse_role,
    record_audit,
    remove_role,
    role_of,
    seed_admins,
    seed_analysts,
    set_role,
    staff_members,
)
from storage.staff_models import ROLES, Role

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

STAFF_USAGE = (
    "Usage:\n"
    "/staff – who has a role\n"
    "/staff add USER_ID ROLE – give a role (admin, staff or analyst)\n"
    "/staff remove USER_ID – take a role away"
)
ADMINS_ONLY = "Only admins can change staff roles."
BAD_USER_ID = (
    "Sorry, that is not a Telegram user id: send the number in digits 0-9, "
    "as the person's profile or @userinfobot shows it."
)
# ASCII digits only: str.isdigit() and int() also take other scripts' digits ("١٢٣" is
# 123 to int()) and superscripts ("²³" passes isdigit() and fails int()).
_USER_ID = re.compile(r"[0-9]{1,16}", re.ASCII)
NOT_YOURSELF = "You can't remove your own role; ask another admin."


def database_of(data: dict[str, Any]) -> Engine:
    """The database engine from the dispatcher's data (`database`, else the interviewer's)."""
    database = data.get("database")
    if database is None:
        database = data["interviewer"].database
    return database  # type: ignore[no-any-return]


def _role_lookup(database: Engine, user_id: int) -> Role | None:
    with Session(database) as session:
        return role_of(session, user_id)


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
        role = await asyncio.to_thread(_role_lookup, database_of(data), user.id)
        return {"staff_role": role} if role in self.roles else False


def seed_admin_roles(database: Engine, admins: Iterable[int]) -> int:
    """Make every SKILLSBOT_ADMINS user an admin (at bot start); how many changed."""
    with Session(database) as session, session.begin():
        return seed_admins(session, admins, utcnow())


def seed_setting_roles(database: Engine, *, admins: Iterable[int], analysts: Iterable[int]) -> int:
    """The roles the settings give, at bot start: SKILLSBOT_ADMINS users are admins, and
    SKILLSBOT_ANALYSTS users without another role analysts (so that they are staff, not
    employers, everywhere); how many changed."""
    with Session(database) as session, session.begin():
        now = utcnow()
        return seed_admins(session, admins, now) + seed_analysts(session, analysts, now)


# -- /staff --------------------------------------------------------------------------------


def parse_user_id(text: str) -> int | None:
    """The Telegram user id written in ASCII digits, within Telegram's range; else None."""
    if not _USER_ID.fullmatch(text):
        return None
    user_id = int(text)
    return user_id if 1 <= user_id <= MAX_TELEGRAM_USER_ID else None


def _staff_command(
    database: Engine, *, update_id: int, admin_id: int, chat_id: int, args: list[str]
) -> str:
    """Carry out `/staff ...` for an admin, in one transaction; the reply text."""
    with chat_transaction(database, chat_id) as session:
        now = utcnow()
        fresh = claim_update(session, update_id=update_id, chat_id=chat_id, now=now)
        if not args or args == ["list"]:
            lines = [f"{m.telegram_user_id} – {clean_cell(m.role)}" for m in staff_members(session)]
            return "Staff:\n" + "\n".join(lines) if lines else "Nobody has a role."
        verb, rest = args[0].lower(), args[1:]
        if verb not in {"add", "remove"} or not rest:
            return STAFF_USAGE
        user_id = parse_user_id(rest[0])
        if user_id is None:
            return BAD_USER_ID + "\n\n" + STAFF_USAGE
        if verb == "add":
            if len(rest) != 2:
                return STAFF_USAGE
            try:
                role = parse_role(rest[1])
            except UnknownRole as error:
                return f"Sorry, {error}."
            if fresh:
                set_role(
                    session, telegram_user_id=user_id, role=role, added_by=str(admin_id), now=now
                )
                record_audit(
                    session, actor=str(admin_id), action="role.add", count=1, detail=role, now=now
                )
            return f"{user_id} is now {role}."
        if user_id == admin_id:
            return NOT_YOURSELF
        if role_of(session, user_id) is None:
            return f"{user_id} has no role."
        if fresh:
            remove_role(session, telegram_user_id=user_id)
            record_audit(
                session, actor=str(admin_id), action="role.remove", count=1, detail="", now=now
            )
        return f"{user_id} no longer has a role."


async def on_staff(message: Message, command: CommandObject, staff_role: Role, **data: Any) -> None:
    """/staff [add USER_ID ROLE | remove USER_ID]: admins manage roles."""
    if staff_role != "admin":
        await message.answer(ADMINS_ONLY)
        return
    assert message.from_user is not None
    update = data["event_update"]
    reply = await asyncio.to_thread(
        _staff_command,
        database_of(data),
        update_id=update.update_id,
        admin_id=message.from_user.id,
        chat_id=message.chat.id,
        args=(command.args or "").split(),
    )
    await message.answer(reply)


# -- /list ---------------------------------------------------------------------------------


def progress_table(statuses: dict[str, int], sectors: dict[str | None, int]) -> str:
    """Counts by status (opt-outs among them) and by sector as a compact fixed-width text
    table; erased employers are counted apart, below the total."""
    listed = {status: count for status, count in statuses.items() if status != "erased"}
    total = sum(listed.values())
    rows = [("status", "employers"), *((s, str(n)) for s, n in listed.items())]
    rows += [("total", str(total))]
    if "erased" in statuses:
        rows += [("erased", str(statuses["erased"]))]
    rows += [("", ""), ("sector", "employers")]
    rows += [(sector_name(s) if s else "(not given)", str(n)) for s, n in sectors.items()]
    rows = [(clean_cell(label), clean_cell(count)) for label, count in rows]
    width = max(len(label) for label, _ in rows)
    return "\n".join(
        f"{label.ljust(width)}  {count.rjust(9)}".rstrip() if label or count else ""
        for label, count in rows
    )


def _progress(database: Engine) -> str:
    with Session(database) as session:
        return progress_table(status_counts(session), sector_counts(session))


async def on_list(message: Message, **data: Any) -> None:
    """/list: how many employers are in each status and each sector."""
    table = await asyncio.to_thread(_progress, database_of(data))
    await message.answer(f"<pre>{escape(table)}</pre>", parse_mode="HTML")


def router() -> Router:
    """A new router with the staff commands (one per Dispatcher); before the commands router."""
    feature = Router(name="staff")
    feature.message.filter(F.chat.type == "private")
    feature.message.register(on_staff, Command("staff"), HasRole())
    feature.message.register(on_list, Command("list"), HasRole())
    return feature
