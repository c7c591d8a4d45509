"""Staff commands on Telegram: /staff (admins manage roles), /list (interview progress),
and what /start and /help are for anyone holding a role.

Every handler here sits behind `HasRole`. For anyone without a role the filter fails, the
update falls through to the other routers: /start begins the employer interview, /help is
the employers' help, and /list or /staff get exactly the unknown-command answer an
employer gets for any command the bot does not know. Include this router before the start
and commands routers.

Someone holding a role who sends /start (or opens the chat) is greeted with their own
commands (`bot.menus`), not the interview; `/start try` or the greeting's button begins
the interview, as a test response (`storage.audience`: counted nowhere). /start with a
link's payload goes to the interview as for anyone, so staff can try invite links.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter, Command, CommandObject, CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, Message, TelegramObject

from bot.labels import (
    STATUS_LABELS,
    sector_label,
    sector_labels,
    sector_order,
    status_label,
)
from bot.limits import MAX_TELEGRAM_USER_ID
from bot.menus import TRY_DATA, CommandMenus, staff_greeting, staff_help
from bot.tables import clean_cell, xlsx_table
from bot.transports.aiogram.employer import note, on_message, who_sent
from conversations.areas import district_name
from conversations.definition import Interview
from storage import Session, chat_transaction, claim_update, utcnow
from storage.roster import employer_listing, sector_counts, status_counts
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

logger = logging.getLogger("skillsbot.staff")

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


NOBODY_LISTED = "Nobody is on the employer list yet, and no employer has started the interview."
LIST_NOT_SENT = "Sorry, the spreadsheet could not be sent just now. Send /list again in a minute."
TRY_VERB = "try"  # /start try: the interview, as a test response


def database_of(data: dict[str, Any]) -> Engine:
    """The database engine from the dispatcher's data (`database`, else the interviewer's)."""
    database = data.get("database")
    if database is None:
        database = data["interviewer"].database
    return database  # type: ignore[no-any-return]


def zone_of(data: dict[str, Any]) -> ZoneInfo:
    """The zone times are shown in (SKILLSBOT_TIMEZONE), from the dispatcher's interviewer."""
    return data["interviewer"].zone  # type: ignore[no-any-return]


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
        role = await sender_role(data, user.id)
        return {"staff_role": role} if role in self.roles else False


async def sender_role(data: dict[str, Any], user_id: int) -> Role | None:
    """The sender's role: from the update's one lookup (`roles`, put in by the transport's
    middleware), else from the database."""
    roles = data.get("roles")
    if roles is not None and roles.user_id == user_id:
        return await roles.role()  # type: ignore[no-any-return]
    return await asyncio.to_thread(_role_lookup, database_of(data), user_id)


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
    target = _changed_user((command.args or "").split())
    if target is not None and message.bot is not None:
        # Their menu follows their role now (the running bot's check would within a minute).
        await _bring_menus_up_to_date(message.bot, database_of(data), target)


def _changed_user(args: list[str]) -> int | None:
    """The user whose role `/staff add|remove USER_ID ...` may have changed."""
    if len(args) >= 2 and args[0].lower() in {"add", "remove"}:
        return parse_user_id(args[1])
    return None


async def _bring_menus_up_to_date(bot: Bot, database: Engine, user_id: int) -> None:
    try:
        await CommandMenus(bot, database).bring_up_to_date(only={user_id})
    except Exception as error:  # the menu is a nicety: `keep_menus` tries again
        logger.warning("event=menu_not_updated error=%s", type(error).__name__)


# -- /start and /help for staff ----------------------------------------------------------


def _area(data: dict[str, Any]) -> str:
    interviewer = data.get("interviewer")
    return str(interviewer.area) if interviewer is not None else "your area"


async def on_staff_start(
    message: Message, command: CommandObject, staff_role: Role, **data: Any
) -> None:
    """/start from someone holding a role: greet them with their commands; `/start try`
    begins the interview (a test response); a link's payload goes on as for anyone."""
    args = (command.args or "").strip()
    if args:
        if args.lower() == TRY_VERB:
            await _try_interview(message, data)
        else:
            await on_message(message, data["desk"], data["event_update"], data.get("update_log"))
        return
    text, keyboard = staff_greeting(staff_role, _area(data))
    await message.answer(text, reply_markup=keyboard)
    if message.from_user is not None and message.bot is not None:
        await _bring_menus_up_to_date(message.bot, database_of(data), message.from_user.id)
    update_log = data.get("update_log")
    if update_log is not None:
        update_log.outcome = "staff_greeting"


async def _try_interview(event: Message | CallbackQuery, data: dict[str, Any]) -> None:
    who = who_sent(event, data["event_update"])
    if who is not None:
        # Their employer record holds a role's user id: the response is marked a test.
        note(data.get("update_log"), await data["interviewer"].start(who, None))


async def on_try(callback: CallbackQuery, **data: Any) -> None:
    """The greeting's "Try the interview" button."""
    await callback.answer()
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):  # too old to edit: the button stays
            await callback.message.edit_reply_markup(reply_markup=None)
    await _try_interview(callback, data)


async def on_staff_help(message: Message, staff_role: Role, **data: Any) -> None:
    """/help from someone holding a role: what they can do, in plain words."""
    await message.answer(staff_help(staff_role, _area(data)))


# -- /list ---------------------------------------------------------------------------------


def progress_summary(
    statuses: Mapping[str, int],
    sectors: Mapping[str | None, int],
    labels: Mapping[str, str],
) -> str:
    """Counts by status (in plain words, in the order employers move through them) and by
    sector (the interview's labels, in the ESS's order), one short line each, to read on
    a phone; erased employers are counted apart, below."""
    listed = {status: count for status, count in statuses.items() if status != "erased"}
    total = sum(listed.values())
    if total == 0 and not statuses.get("erased"):
        return NOBODY_LISTED
    order = list(STATUS_LABELS)
    ranked = sorted(listed, key=lambda s: order.index(s) if s in order else len(order))
    lines = [f"Employers: {total}"]
    lines += [f"• {clean_cell(status_label(s))}: {listed[s]}" for s in ranked if listed[s]]
    if statuses.get("erased"):
        lines.append(f"Also {statuses['erased']} {status_label('erased').lower()}.")
    lines += ["", "By sector:"]
    for sector in sorted(sectors, key=lambda s: sector_order(labels, s)):
        lines.append(f"• {clean_cell(sector_label(labels, sector))}: {sectors[sector]}")
    return "\n".join(lines)


LIST_HEADERS = ("Organisation", "Sector", "District", "Size", "Status", "Opted out", "Updated")


def list_rows(
    session: Session, labels: Mapping[str, str], zone: ZoneInfo
) -> list[list[object]]:
    """Every employer on the list, as the spreadsheet's rows (labels, times in `zone`)."""
    return [
        [
            employer.organisation or "",
            sector_label(labels, employer.sector) if employer.sector else "",
            district_name(employer.district or "") or employer.district or "",
            employer.size_band or "",
            status_label(employer.status),
            _local(employer.opted_out_at, zone),
            _local(employer.updated_at, zone),
        ]
        for employer in employer_listing(session)
    ]


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def list_progress(
    database: Engine, interview: Interview | None, zone: ZoneInfo
) -> tuple[str, bytes | None]:
    """The summary, and the spreadsheet of the full list (None when nobody is listed)."""
    labels = sector_labels(interview)
    with Session(database) as session:
        summary = progress_summary(status_counts(session), sector_counts(session), labels)
        rows = list_rows(session, labels, zone)
    if not rows:
        return summary, None
    return summary, xlsx_table(LIST_HEADERS, rows, title="Employers")


async def on_list(message: Message, **data: Any) -> None:
    """/list: a short summary by status and sector, then the full list as a spreadsheet."""
    interviewer = data.get("interviewer")
    interview = interviewer.interview if interviewer is not None else None
    zone = zone_of(data)
    summary, workbook = await asyncio.to_thread(
        list_progress, database_of(data), interview, zone
    )
    if workbook is None:
        await message.answer(summary)
        return
    await message.answer(summary + "\n\nThe full list is in the spreadsheet below.")
    name = f"employers-{datetime.now(zone):%Y-%m-%d}.xlsx"
    if interviewer is None:
        await message.answer_document(BufferedInputFile(workbook, filename=name))
    elif await interviewer.delivery.send_file(message.chat.id, name, workbook) is None:
        # Retried already (bot.handlers.delivery): say so rather than fail the update,
        # which would send the summary again.
        await message.answer(LIST_NOT_SENT)


def router() -> Router:
    """A new router with the staff commands (one per Dispatcher); before the commands router."""
    feature = Router(name="staff")
    feature.message.filter(F.chat.type == "private")
    feature.message.register(on_staff, Command("staff"), HasRole())
    feature.message.register(on_list, Command("list"), HasRole())
    feature.message.register(on_staff_start, CommandStart(), HasRole())
    feature.message.register(on_staff_help, Command("help"), HasRole())
    feature.callback_query.register(on_try, F.data == TRY_DATA, HasRole())
    return feature
