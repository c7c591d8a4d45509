"""The staff's side of the bot, between the transports and storage: /staff (admins manage
roles), /list (interview progress), /weekly (analysts), and what /start and /help are for
anyone holding a role. No Telegram library here.

`bot.core.reception.Reception` looks the sender's role up once per update and hands
`StaffDesk.handle` the update as a `bot.core.desk` value (`Said`, `Pressed`) with that
role. None back means the update is not the staff's: it goes on to the `EmployerDesk`, so
that /start begins the employer interview, /help is the employers' help, and /list,
/staff or /weekly from anyone without the role get exactly the unknown-command answer an
employer gets.

Someone holding a role who sends /start (or opens the chat) is greeted with their own
commands (`bot.core.roles`), not the interview; `/start try` or the greeting's button
begins the interview, as a test response (`storage.audience`: counted nowhere). /start with
a link's payload goes to the interview as for anyone, so staff can try invite links.

Every staff update is one unit of work, as an employer's is (`bot.core.interviewer`): in
one transaction holding the chat's lock it claims the update id (a re-delivery changes no
role and writes no audit row again, but answers again: the answer may never have reached
the person), reads or writes what the command needs, and commits; only then is the
`StaffReply` (messages and files) sent. Units run as every other (`storage.Units`, the
interviewer's), though always on a thread (`Units.slow`). /list's spreadsheet and the
weekly report are built after that commit, on a thread: seconds of CPU for a long list,
which neither the event loop nor a lock (on SQLite, the database's write lock) should
wait on; their rows are read there in one read-only transaction.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from analytics.weeks import InvalidWeek, IsoWeek, check_report_week
from bot.core import broadcast_drafts, interview_files
from bot.core.broadcast_drafts import Written
from bot.core.desk import Command, Pressed, Said, parse_command
from bot.core.interview_files import USE_PREFIX, Filed
from bot.core.interviewer import Interviewer
from bot.core.labels import STATUS_LABELS, sector_label, sector_labels, sector_order, status_label
from bot.core.limits import MAX_TELEGRAM_USER_ID
from bot.core.messages import UNREAD, StaffReply, Stored, Unread, Upload, Who, plain
from bot.core.roles import EVERYONE, TRY_DATA, staff_greeting, staff_help
from bot.core.tables import clean_cell, xlsx_table
from conversations.areas import district_name
from conversations.definition import Interview
from conversations.loader import DefinitionError, load_definition_bytes
from storage import Session, claim_update, utcnow
from storage.audience import may_receive_report
from storage.broadcasts import draft_of
from storage.db import reading
from storage.repositories import first_response_at
from storage.roster import employer_listing, sector_counts, status_counts
from storage.staff import (
    Standing,
    UnknownRole,
    parse_role,
    read_standing,
    record_audit,
    remove_role,
    role_of,
    seed_admins,
    seed_analysts,
    set_role,
    staff_members,
)
from storage.staff_models import Role

if TYPE_CHECKING:  # the types only
    from bot.core.followups import FollowUps
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
LIST_HEADERS = ("Organisation", "Sector", "District", "Size", "Status", "Opted out", "Updated")
TRY_VERB = "try"  # /start try: the interview, as a test response
WEEKLY_USAGE = "Please give the week like 2026-W47, or send /weekly on its own for last week."
WEEKLY_WORKING = "Preparing the weekly summary…"
WEEKLY_FAILED = "Sorry, the weekly summary could not be made just now. Please try again later."
ROLE_CHANGED = (
    "Your role has changed, so that was not done. Send /start to see what you can do now."
)
# The commands of anyone holding a role, and the analysts' (analysts and admins by role,
# and the SKILLSBOT_ANALYSTS ids).
ROLE_COMMANDS = frozenset({"staff", "list", "start", "help"})
ANALYST_COMMANDS = frozenset({"weekly"})
ANALYST_ROLES: frozenset[Role] = frozenset({"analyst", "admin"})
BROADCAST_ROLES: frozenset[Role] = frozenset({"admin", "staff"})


# -- roles ---------------------------------------------------------------------------------


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


def parse_user_id(text: str) -> int | None:
    """The Telegram user id written in ASCII digits, within Telegram's range; else None."""
    if not _USER_ID.fullmatch(text):
        return None
    user_id = int(text)
    return user_id if 1 <= user_id <= MAX_TELEGRAM_USER_ID else None


def staff_command(session: Session, *, fresh: bool, admin_id: int, args: list[str]) -> str:
    """Carry out `/staff ...` for an admin in the update's transaction (`fresh`: the update
    was not handled before; else nothing is written again); the reply text."""
    now = utcnow()
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
            set_role(session, telegram_user_id=user_id, role=role, added_by=str(admin_id), now=now)
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


def changed_user(args: list[str]) -> int | None:
    """The user whose role `/staff add|remove USER_ID ...` may have changed."""
    if len(args) >= 2 and args[0].lower() in {"add", "remove"}:
        return parse_user_id(args[1])
    return None


# -- /list ---------------------------------------------------------------------------------


def progress_summary(
    statuses: Mapping[str, int],
    sectors: Mapping[str | None, int],
    labels: Mapping[str, str],
) -> str:
    """Counts by status (in plain words, in the order employers move through them) and by
    sector (the ESS's names, in its order), one short line each, to read on
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


def list_rows(session: Session, labels: Mapping[str, str], zone: ZoneInfo) -> list[list[object]]:
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


def list_facts(
    session: Session, interview: Interview | None, zone: ZoneInfo
) -> tuple[str, list[list[object]]]:
    """/list's summary and the spreadsheet's rows, read in one transaction."""
    labels = sector_labels(interview)
    statuses, sectors = status_counts(session), sector_counts(session)
    rows = list_rows(session, labels, zone)
    return progress_summary(statuses, sectors, labels), rows


def list_progress(
    database: Engine, interview: Interview | None, zone: ZoneInfo
) -> tuple[str, bytes | None]:
    """The summary and the spreadsheet, their rows read in one read-only transaction
    (`storage.reading`: on SQLite it holds no writer up) and laid out after it (seconds of
    openpyxl for a long list). Synchronous, for the command line and the benchmark; the bot
    reads through its units (`StaffDesk.list`)."""
    with reading(database) as connection, Session(bind=connection) as session:
        summary, rows = list_facts(session, interview, zone)
    return summary, (xlsx_table(LIST_HEADERS, rows, title="Employers") if rows else None)


def _sentence(line: str) -> str:
    """A message line as a sentence: capital first letter, full stop at the end."""
    return line[:1].upper() + line[1:] + ("" if line.endswith(".") else ".")


# -- the desk ------------------------------------------------------------------------------


class StaffDesk:
    """Answers the updates of people holding a role (see the module docstring)."""

    def __init__(
        self,
        interviewer: Interviewer,
        *,
        follow_ups: FollowUps | None = None,
        analysts: Collection[int] = (),
        refresh_menu: Callable[[int], Awaitable[object]] | None = None,
        start_broadcast: Callable[[int], object] | None = None,
    ) -> None:
        self.interviewer = interviewer
        self.follow_ups = follow_ups
        self.analysts = frozenset(analysts)
        # Sets the person's command menu to their role's now (`bot.runtime.menus`; the running
        # bot's check would within a minute): the transport's, as it calls Telegram.
        self.refresh_menu = refresh_menu
        # Starts sending a confirmed broadcast now (`bot.core.broadcaster`; without it, the
        # running bot's watcher picks it up within seconds).
        self.start_broadcast = start_broadcast

    def concerns(self, incoming: Said | Pressed | Filed) -> bool:
        """Whether the update may be the staff's (then look the sender's role up)."""
        if isinstance(incoming, Filed):
            return True
        if isinstance(incoming, Pressed):
            data = incoming.data or ""
            return data == TRY_DATA or data.startswith((USE_PREFIX, broadcast_drafts.PREFIX))
        # Any private message may be a step of a broadcast draft.
        return incoming.private

    async def standing(self, who: Who) -> Standing:
        """The sender's role (None: an employer, or nobody we know) and the step their
        chat's broadcast draft waits at, in one statement (`Reception` asks once per update).

        Asked for nearly every private message, so on SQLite it is read right here (reads
        by key that never wait for a writer: `Units.read`), a thread's round trip costing
        more than the read; PostgreSQL's waits on the network, on a thread.
        """
        return await self.interviewer.units.read(read_standing, who.user_id, who.chat_id)

    def is_analyst(self, user_id: int, role: Role | None) -> bool:
        """Analysts and admins by role, and the SKILLSBOT_ANALYSTS ids."""
        return user_id in self.analysts or role in ANALYST_ROLES

    async def handle(
        self,
        incoming: Said | Pressed | Filed,
        role: Role | None,
        draft_step: str | None | Literal[Unread.UNREAD] = UNREAD,
    ) -> StaffReply | None:
        """Answer a staff update (delivered when this returns); None: not the staff's.
        `role` and `draft_step` are what `standing` read (the step read here when not)."""
        if isinstance(incoming, Filed):
            return None if role is None else await self.interview_file(incoming, role)
        if isinstance(incoming, Pressed):
            if role is None:
                return None
            if incoming.data == TRY_DATA:
                return await self.try_button(incoming)
            if (incoming.data or "").startswith(USE_PREFIX):
                return await self.use_interview(incoming, role)
            return await self.draft(incoming, role, draft_step)
        if not incoming.private:
            return None
        command = _command_of(incoming)
        who = incoming.who
        if role is not None and command is not None and command.name in ROLE_COMMANDS:
            return await self._role_command(who, role, command)
        drafted = await self.draft(incoming, role, draft_step)
        if drafted is not None:
            return drafted
        if command is not None and command.name in ANALYST_COMMANDS:
            if self.follow_ups is None or not self.is_analyst(who.user_id, role):
                return None
            return await self.weekly(who, command.args)
        return None

    async def _role_command(self, who: Who, role: Role, command: Command) -> StaffReply | None:
        """/start, /help, /list or /staff from someone holding a role."""
        if command.name == "start":
            return await self.start(who, role, command.args)
        if command.name == "help":
            helped = StaffReply("staff_help", [plain(staff_help(role, self.interviewer.area))])
            return await self._run(who, lambda _s, _f: helped)
        if command.name == "list":
            return await self.list(who)
        return await self.staff(who, role, command.args)

    async def staff(self, who: Who, role: Role, args_text: str | None) -> StaffReply:
        """/staff [add USER_ID ROLE | remove USER_ID]: admins manage roles."""
        if role != "admin":
            refused = StaffReply("admins_only", [plain(ADMINS_ONLY)])
            return await self._run(who, lambda _s, _f: refused)
        args = (args_text or "").split()

        def work(session: Session, fresh: bool) -> StaffReply:
            text = staff_command(session, fresh=fresh, admin_id=who.user_id, args=args)
            return StaffReply("staff_roles", [plain(text)], menu_of=changed_user(args))

        return await self._run(who, work, allowed={"admin"})

    async def start(self, who: Who, role: Role, args_text: str | None) -> StaffReply | None:
        """/start from someone holding a role: their greeting; `/start try` begins the
        interview (a test response); None for a link's payload (the employer's /start)."""
        args = (args_text or "").strip()
        if args:
            if args.lower() != TRY_VERB:
                return None
            reply = await self.interviewer.start(who, None)
            return StaffReply(reply.outcome)
        text, keyboard = staff_greeting(role, self.interviewer.area)
        greeting = plain(text, keyboard)
        return await self._run(
            who, lambda _s, _f: StaffReply("staff_greeting", [greeting], menu_of=who.user_id)
        )

    async def try_button(self, pressed: Pressed) -> StaffReply:
        """The greeting's "Try the interview" button: its spinner stopped, the button taken
        away (a message too old to edit keeps it), then the interview as `/start try`."""
        messenger = self.interviewer.delivery
        await messenger.answer_callback(pressed.callback_id)
        if pressed.message_id:
            await messenger.edit_keyboard(pressed.who.chat_id, pressed.message_id, None)
        reply = await self.interviewer.start(pressed.who, None)
        return StaffReply(reply.outcome)

    async def interview_file(self, filed: Filed, role: Role) -> StaffReply:
        """A file from someone holding a role: an admin's is checked as an interview
        definition, stored when valid and offered for use (`bot.core.interview_files`)."""
        who = filed.who
        refused = interview_files.ADMINS_ONLY if role != "admin" else interview_files.refusal(filed)
        if refused is not None:
            answer = StaffReply("definition_refused", [plain(refused)])
            return await self._run(who, lambda _s, _f: answer)
        name = interview_files.file_name(filed)
        raw = await filed.download()
        try:
            # CPU work, not the database's (a definition parsed and checked): on a thread,
            # allowed in bot/ (tests/bot/test_one_way_to_the_database.py).
            interview = await asyncio.to_thread(
                load_definition_bytes, raw, path=name, area=self.interviewer.area
            )
        except DefinitionError as error:
            problems = interview_files.problems_reply(name, [str(p) for p in error.problems])
            return await self._run(who, lambda _s, _f: problems)

        def keep(session: Session, _fresh: bool) -> StaffReply:
            return interview_files.store(
                session, admin_id=who.user_id, name=name, raw=raw, interview=interview
            )

        return await self._run(who, keep, allowed={"admin"})

    async def use_interview(self, pressed: Pressed, role: Role) -> StaffReply:
        """The tap on "Use it for new responses": activate that version (admins only)."""
        who = pressed.who
        if role != "admin":
            refused = StaffReply(
                "definition_refused", notice=interview_files.ADMINS_ONLY, alert=True
            )
            return await self._run(who, lambda _s, _f: refused, callback_id=pressed.callback_id)
        definition_id = interview_files.use_id(pressed.data)
        if definition_id is None:
            ignored = StaffReply("foreign_button")
            return await self._run(who, lambda _s, _f: ignored, callback_id=pressed.callback_id)

        def use(session: Session, fresh: bool) -> StaffReply:
            said = interview_files.activate(
                session, fresh=fresh, admin_id=who.user_id, definition_id=definition_id
            )
            return StaffReply("definition_activated", [said], settled=pressed.message_id or None)

        return await self._run(who, use, callback_id=pressed.callback_id, allowed={"admin"})

    async def draft(
        self,
        incoming: Said | Pressed,
        role: Role | None,
        step: str | None | Literal[Unread.UNREAD] = UNREAD,
    ) -> StaffReply | None:
        """A step of a broadcast draft (`bot.core.broadcast_drafts`) from an admin or staff
        member; None when the chat's draft (at `step`, read here if UNREAD) does not take
        the update."""
        if role not in BROADCAST_ROLES:
            return None
        who = incoming.who
        zone = self.interviewer.zone
        actor = str(who.user_id)
        if step is UNREAD:
            step = await self._draft_step(who.chat_id)
        if isinstance(incoming, Pressed):
            if not broadcast_drafts.takes_press(step, incoming.data):
                return None
            started: list[int] = []

            def pressed(session: Session, _fresh: bool) -> StaffReply:
                reply, broadcast_id = broadcast_drafts.press(
                    session, who.chat_id, incoming.data, actor=actor, zone=zone
                )
                if broadcast_id is not None:
                    started.append(broadcast_id)
                return reply

            # The spinner stops first, as it always did here: a draft's step may wait on the
            # database, and a try after a failed one answers again (Telegram refuses that
            # second answer; the sender lets it go).
            await self.interviewer.delivery.answer_callback(incoming.callback_id)
            reply = await self._run(who, pressed, allowed=BROADCAST_ROLES)
            if started and self.start_broadcast is not None:
                self.start_broadcast(started[0])
            return reply
        if not incoming.private:
            return None
        command = _command_of(incoming)
        written = Written(
            incoming.text if incoming.text is not None else incoming.caption,
            command=command.name if command is not None else None,
            photo_id=incoming.photo_id,
        )
        beginning = command is not None and command.name == "broadcast"
        if not beginning and not broadcast_drafts.takes_message(step, written):
            return None

        def wrote(session: Session, _fresh: bool) -> StaffReply:
            return broadcast_drafts.message(session, who.chat_id, written, actor=actor, zone=zone)

        return await self._run(who, wrote, allowed=BROADCAST_ROLES)

    async def _draft_step(self, chat_id: int) -> str | None:
        """The step the chat's broadcast draft waits at (None: no draft), read on its own:
        an update no draft takes goes on to the employer's unit of work unclaimed."""
        return await self.interviewer.units.read(draft_step, chat_id)

    async def weekly(self, who: Who, week_text: str | None) -> StaffReply:
        """/weekly [2026-W47]: the headline summary, the workbook and the charts.

        A week outside the data's range gets one line and nothing else. Once "Preparing…" is
        out, nothing here raises: a failure would make the update be handled again, and the
        report (or the apology) sent twice.
        """
        follow_ups = self.follow_ups
        assert follow_ups is not None
        text = (week_text or "").strip()
        chosen: IsoWeek | None = None
        if text:
            try:
                chosen = IsoWeek.parse(text, follow_ups.report.zone)
            except InvalidWeek:
                chosen = None

        def check(session: Session, _fresh: bool) -> StaffReply:
            # Figures go only to whom they may go now (a role removed since the routing
            # read gets nothing), as the Monday job checks at send time.
            if not may_receive_report(session, chat_id=who.user_id, analysts=self.analysts):
                return StaffReply("role_changed", [plain(ROLE_CHANGED)], menu_of=who.user_id)
            if not text:
                return StaffReply("weekly", [plain(WEEKLY_WORKING)])
            if chosen is None:
                return StaffReply("weekly_usage", [plain(WEEKLY_USAGE)])
            try:
                check_report_week(chosen, first_response=first_response_at(session), now=utcnow())
            except InvalidWeek as error:
                return StaffReply("weekly_refused", [plain(_sentence(str(error)))])
            return StaffReply("weekly", [plain(WEEKLY_WORKING)])

        reply = await self._run(who, check, deliver=False)
        delivered = await self._deliver(who.chat_id, reply)
        if reply.outcome != "weekly" or not delivered:
            return reply
        try:
            await follow_ups.weekly_for(who.chat_id, chosen.label if chosen else None)
        except Exception as error:  # the apology once, instead of the whole report again
            logger.error("event=weekly_failed error=%s", type(error).__name__)
            logger.debug("weekly_failed", exc_info=True)
            await self.interviewer.delivery.send(who.chat_id, plain(WEEKLY_FAILED))
        return reply

    # -- the unit of work ----------------------------------------------------------------------

    async def list(self, who: Who) -> StaffReply:
        """/list: the summary by status and sector, then the full list as a spreadsheet.

        The update is claimed in its unit of work; the list is read and laid out after the
        commit, on a thread of its own (10,000 employers take seconds of openpyxl, which
        neither the event loop nor SQLite's write lock should wait on)."""
        claimed = await self._run(
            who, lambda _s, _f: StaffReply("list"), deliver=False, allowed=EVERYONE
        )
        if claimed.outcome != "list":  # the role was removed since the routing read
            await self._deliver(who.chat_id, claimed)
            return claimed
        zone = self.interviewer.zone
        summary, rows = await self.interviewer.units.read(
            list_facts, self.interviewer.interview, zone
        )
        if not rows:
            reply = StaffReply("list", [plain(summary)])
        else:
            # CPU work, the spreadsheet laid out after the read: allowed
            # (tests/bot/test_one_way_to_the_database.py).
            workbook = await asyncio.to_thread(xlsx_table, LIST_HEADERS, rows, title="Employers")
            name = f"employers-{datetime.now(zone):%Y-%m-%d}.xlsx"
            # A spreadsheet not delivered (retried already, bot.core.sending) is apologised
            # for rather than failing the update, which would send the summary again.
            reply = StaffReply(
                "list",
                [
                    plain(summary + "\n\nThe full list is in the spreadsheet below."),
                    Upload(name, workbook, if_not_sent=LIST_NOT_SENT),
                ],
            )
        await self._deliver(who.chat_id, reply)
        return reply

    async def _run(
        self,
        who: Who,
        work: Callable[[Session, bool], StaffReply],
        *,
        deliver: bool = True,
        callback_id: str | None = None,
        allowed: Collection[Role] | None = None,
    ) -> StaffReply:
        """`work(session, fresh)` in the update's unit of work, then its reply delivered
        (with `callback_id`, the button press answered first).

        With `allowed`, a write only those roles may make: the sender's role, read before
        the unit to choose the desk, is checked again in the unit's own transaction, so a
        role removed meanwhile refuses the write (`ROLE_CHANGED`) instead of making it."""
        # Always on a thread (`Units.slow`, not a SQLite unit on the event loop): a staff
        # update is rare, and some read the whole list (a draft's audience: about 0.2 s for
        # 10,000 employers), which no other chat's answer should wait on.
        reply = await self.interviewer.units.slow.run(
            who.chat_id, _unit_of_work, who, work, allowed
        )
        if deliver:
            await self._deliver(who.chat_id, reply, callback_id)
        return reply

    async def _deliver(
        self, chat_id: int, reply: StaffReply, callback_id: str | None = None
    ) -> bool:
        """Answer the press, take its message's buttons away, send the reply's messages and
        files in order, then bring the menu of the person concerned up to date; whether
        the first message was delivered."""
        messenger = self.interviewer.delivery
        if callback_id is not None:
            await messenger.answer_callback(callback_id, reply.notice, alert=reply.alert)
        if reply.settled is not None:
            await messenger.edit_keyboard(chat_id, reply.settled, None)
        first: bool | None = None
        for item in reply.messages:
            if isinstance(item, Upload):
                sent = await messenger.send_file(chat_id, item.name, item.data, photo=item.photo)
                if sent is None and item.if_not_sent:
                    await messenger.send(chat_id, plain(item.if_not_sent))
            elif isinstance(item, Stored):
                sent = await messenger.send_stored(
                    chat_id, item.file_id, photo=item.photo, caption=item.caption
                )
            else:
                sent = await messenger.send(chat_id, item)
            if first is None:
                first = sent is not None
        if reply.menu_of is not None and self.refresh_menu is not None:
            try:
                await self.refresh_menu(reply.menu_of)
            except Exception as error:  # the menu is a nicety: `keep_menus` tries again
                logger.warning("event=menu_not_updated error=%s", type(error).__name__)
        return bool(first)


def draft_step(session: Session, chat_id: int) -> str | None:
    """The step of the chat's broadcast draft (None: no draft)."""
    draft = draft_of(session, chat_id=chat_id)
    return None if draft is None else draft.step


def _unit_of_work(
    session: Session,
    who: Who,
    work: Callable[[Session, bool], StaffReply],
    allowed: Collection[Role] | None = None,
) -> StaffReply:
    """`work(session, fresh)` in the update's transaction (holding the chat's lock), after
    claiming the update (`fresh`: not handled before), if the sender still holds one of
    the `allowed` roles (None: any); `Units` runs it with the caller's context (the inbox
    lease its claim is fenced on)."""
    fresh = claim_update(session, update_id=who.update_id, chat_id=who.chat_id, now=utcnow())
    if allowed is not None and role_of(session, who.user_id) not in allowed:
        return StaffReply("role_changed", [plain(ROLE_CHANGED)], menu_of=who.user_id)
    return work(session, fresh)


def _command_of(incoming: Said) -> Command | None:
    """The command a private message is (None: not a command, or not in a private chat)."""
    if not incoming.private or incoming.text is None:
        return None
    return parse_command(incoming.text)
