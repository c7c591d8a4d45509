"""The staff's desk, without Telegram: plain values in, messages and files out through a
recording messenger (the network edge), on a real database."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.core import broadcast_drafts as drafts
from bot.core import interview_files as files
from bot.core.desk import Pressed, Said
from bot.core.followups import FollowUps, ReminderPolicy
from bot.core.interview_copy import UNKNOWN_COMMAND
from bot.core.interview_files import Filed
from bot.core.interviewer import Interviewer
from bot.core.messages import Keyboard, Outgoing, Who
from bot.core.reception import Reception
from bot.core.roles import TRY_DATA
from bot.core.staff import (
    ADMINS_ONLY,
    NOBODY_LISTED,
    NOT_YOURSELF,
    ROLE_CHANGED,
    WEEKLY_USAGE,
    StaffDesk,
)
from bot.settings import ReportSettings
from conversations.loader import builtin_interview_path, load_interview
from storage import Engine, Response, utcnow
from storage.broadcasts import draft_of
from storage.staff import audit_entries, role_of, set_role

ADMIN, ANALYST, EMPLOYER = 9001, 9003, 3001


class RecordingMessenger:
    """What the desk sends, in order, as (method, chat, payload); uploads may be refused."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | str, object]] = []
        self.refuse_files = False

    async def send(self, chat_id: int, message: Outgoing) -> int | None:
        self.sent.append(("send", chat_id, message.text))
        return len(self.sent)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None = None
    ) -> bool:
        self.sent.append(("edit_text", chat_id, text))
        return True

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> bool:
        self.sent.append(("edit_keyboard", chat_id, message_id))
        return True

    async def answer_callback(
        self, callback_id: str, notice: str | None = None, *, alert: bool = False
    ) -> None:
        self.sent.append(("answer_callback", callback_id, notice))

    async def send_file(
        self, chat_id: int, name: str, data: bytes, *, photo: bool = False
    ) -> int | None:
        if self.refuse_files:
            return None
        self.sent.append(("send_file", chat_id, name))
        return len(self.sent)

    async def send_stored(
        self, chat_id: int, file_id: str, *, photo: bool, caption: str | None = None
    ) -> int | None:
        self.sent.append(("send_stored", chat_id, file_id))
        return len(self.sent)

    def texts(self) -> list[str]:
        return [str(payload) for method, _, payload in self.sent if method == "send"]


@pytest.fixture
def messenger() -> RecordingMessenger:
    return RecordingMessenger()


@pytest.fixture
def menus() -> list[int]:
    """Whose command menu the desk asked to bring up to date, in order."""
    return []


@pytest.fixture
async def desk(
    engine: Engine, messenger: RecordingMessenger, menus: list[int]
) -> AsyncIterator[StaffDesk]:
    interview = load_interview(builtin_interview_path())
    interviewer = Interviewer(
        interview=interview,
        database=engine,
        delivery=messenger,
        area="Cambridgeshire and Peterborough",
        zone=ZoneInfo("Europe/London"),
    )
    follow_ups = FollowUps(
        database=engine,
        delivery=messenger,
        interview=interview,
        units=interviewer.units,
        policy=ReminderPolicy(zone=interviewer.zone),
        report=ReportSettings(zone=interviewer.zone),
    )

    async def refresh_menu(user_id: int) -> None:
        menus.append(user_id)

    staff = StaffDesk(interviewer, follow_ups=follow_ups, refresh_menu=refresh_menu)
    try:
        yield staff
    finally:
        await interviewer.aclose()


def said(update_id: int, user_id: int, text: str) -> Said:
    return Said(Who(update_id, user_id, user_id), text)


def grant(engine: Engine, user_id: int, role: str) -> None:
    with Session(engine) as session, session.begin():
        set_role(
            session,
            telegram_user_id=user_id,
            role=role,
            added_by="test",  # type: ignore[arg-type]
            now=utcnow(),
        )


@contextmanager
def statements_reading(engine: Engine, *tables: str) -> Iterator[list[str]]:
    """The SQL statements run meanwhile that name any of these tables."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if any(table in statement for table in tables):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_an_update_reads_the_senders_role_once(desk: StaffDesk, engine: Engine) -> None:
    # The role Reception reads rides on the update: the unit of work that begins the
    # interview (a staff member's run is a test response) asked the database again, and a
    # staff member's message that is no broadcast draft's step read the draft on its own.
    grant(engine, 9002, "staff")
    reception = Reception(desk)
    for update_id, (user_id, text) in enumerate(
        [(EMPLOYER, "/start"), (9002, "/start try"), (9002, "hello")], start=40
    ):
        with statements_reading(engine, "staff_member", "broadcast_draft") as seen:
            reply = await reception.handle(said(update_id, user_id, text))
        assert reply is not None
        assert len(seen) == 1, (text, seen)
    with Session(engine) as session:
        runs = session.exec(select(Response.test).order_by(Response.id)).all()
    assert runs == [False, True]  # the staff member's own run counts nowhere


def test_private_messages_and_staff_buttons_need_a_role_looked_up(desk: StaffDesk) -> None:
    assert desk.concerns(said(1, EMPLOYER, "/list"))
    assert desk.concerns(said(1, EMPLOYER, "hello"))  # a broadcast draft's step, maybe
    assert desk.concerns(Pressed(Who(1, EMPLOYER, EMPLOYER), TRY_DATA, 5, "cb"))
    assert desk.concerns(Pressed(Who(1, EMPLOYER, EMPLOYER), "bc:all", 5, "cb"))
    assert not desk.concerns(Pressed(Who(1, EMPLOYER, EMPLOYER), "iv:c:1:0:0", 5, "cb"))
    assert not desk.concerns(Said(Who(1, EMPLOYER, -100), "/list", private=False))


async def test_without_a_role_nothing_is_the_staffs(
    desk: StaffDesk, messenger: RecordingMessenger
) -> None:
    for text in ("/list", "/staff", "/help", "/start", "/weekly"):
        assert await desk.handle(said(1, EMPLOYER, text), None) is None
    assert messenger.sent == []


async def test_a_command_with_trailing_characters_is_an_unknown_one_even_for_staff(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger
) -> None:
    # "/list-foo" was read as /list (and "/help!" as /help): the staff got the list.
    grant(engine, ADMIN, "admin")
    reception = Reception(desk)
    for update_id, text in enumerate(["/list-foo", "/help!", "/staff,"], start=30):
        reply = await reception.handle(said(update_id, ADMIN, text))
        assert reply is not None
        assert reply.outcome == "unknown_command"
    unknown = html.escape(UNKNOWN_COMMAND)  # sent as HTML
    assert [text for text in messenger.texts() if "command" in text] == [unknown] * 3
    reply = await reception.handle(said(33, ADMIN, "/help@skills_bot"))
    assert reply is not None
    assert reply.outcome == "staff_help"


async def test_an_admin_gives_a_role_once_however_often_the_update_comes(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger, menus: list[int]
) -> None:
    grant(engine, ADMIN, "admin")
    add = said(10, ADMIN, "/staff add 4242 analyst")
    for _ in range(2):  # the second time: a re-delivery of the same update
        reply = await desk.handle(add, "admin")
        assert reply is not None
        assert reply.outcome == "staff_roles"
    assert messenger.texts() == ["4242 is now analyst."] * 2
    assert menus == [4242, 4242]
    with Session(engine) as session:
        assert role_of(session, 4242) == "analyst"
        assert [entry.action for entry in audit_entries(session)].count("role.add") == 1


async def test_a_role_removed_after_the_routing_read_refuses_the_write(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger
) -> None:
    """The role that chose the desk was read before the unit of work; a write only a role
    may make checks it again in the unit's own transaction (here: demoted meanwhile)."""
    grant(engine, ADMIN, "staff")  # was admin when the update was routed
    reply = await desk.handle(said(13, ADMIN, "/staff add 4242 admin"), "admin")
    assert reply is not None
    assert reply.outcome == "role_changed"
    await desk.handle(said(14, 9002, "/broadcast"), "staff")  # 9002 holds no role (now)
    # Nor does anything read out go to them: the list, the weekly figures.
    await desk.handle(said(15, ANALYST, "/list"), "analyst")
    await desk.handle(said(16, ANALYST, "/weekly"), "analyst")
    assert messenger.texts() == [ROLE_CHANGED] * 4
    assert [method for method, _, _ in messenger.sent] == ["send"] * 4
    with Session(engine) as session:
        assert role_of(session, 4242) is None
        assert draft_of(session, chat_id=9002) is None
        assert [entry.action for entry in audit_entries(session)] == []


async def test_staff_may_not_change_roles_nor_an_admin_their_own(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger
) -> None:
    grant(engine, ADMIN, "admin")
    await desk.handle(said(11, 9002, "/staff add 4242 admin"), "staff")
    await desk.handle(said(12, ADMIN, f"/staff remove {ADMIN}"), "admin")
    assert messenger.texts() == [ADMINS_ONLY, NOT_YOURSELF]


async def test_an_empty_list_is_one_line_and_no_file(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger
) -> None:
    grant(engine, ADMIN, "staff")
    reply = await desk.handle(said(13, ADMIN, "/list"), "staff")
    assert reply is not None
    assert messenger.sent == [("send", ADMIN, NOBODY_LISTED)]


async def test_a_start_with_a_links_payload_is_the_employers(desk: StaffDesk) -> None:
    assert await desk.handle(said(14, ADMIN, "/start c-ely-fair"), "admin") is None


async def test_the_greeting_offers_to_try_the_interview(desk: StaffDesk, menus: list[int]) -> None:
    reply = await desk.handle(said(15, ADMIN, "/start"), "staff")
    assert reply is not None
    assert reply.outcome == "staff_greeting"
    greeting = reply.messages[0]
    assert isinstance(greeting, Outgoing)
    assert greeting.keyboard is not None
    assert greeting.keyboard.inline_keyboard[0][0].callback_data == TRY_DATA
    assert menus == [ADMIN]


async def test_a_weekly_in_bad_words_gets_the_usage_and_no_report(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger
) -> None:
    assert await desk.handle(said(16, EMPLOYER, "/weekly 2026-W99"), None) is None
    grant(engine, ANALYST, "analyst")
    reply = await desk.handle(said(17, ANALYST, "/weekly 2026-W99"), "analyst")
    assert reply is not None
    assert reply.outcome == "weekly_usage"
    assert messenger.texts() == [WEEKLY_USAGE]


FORMS = Path(__file__).parents[1] / "conversations" / "forms"


def filed(update_id: int, user_id: int, name: str, data: bytes | None) -> Filed:
    """A file sent by `user_id`; downloading it fails when `data` is None."""

    async def download() -> bytes:
        if data is None:
            raise AssertionError("downloaded a file that should have been refused unread")
        return data

    return Filed(
        Who(update_id, user_id, user_id), name, None if data is None else len(data), download
    )


async def test_files_are_refused_unread_unless_an_admin_sends_a_definition(
    desk: StaffDesk, messenger: RecordingMessenger
) -> None:
    assert await desk.handle(filed(20, EMPLOYER, "simple.csv", None), None) is None
    await desk.handle(filed(21, 9002, "simple.csv", None), "staff")
    await desk.handle(filed(22, ADMIN, "photo.jpg", None), "admin")
    first, second = messenger.texts()
    assert first == files.ADMINS_ONLY
    assert second.startswith("To change the interview, send a YAML or XLSForm file")


async def test_a_definition_is_stored_and_activated_once_however_often_the_tap_comes(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger
) -> None:
    grant(engine, ADMIN, "admin")
    form = (FORMS / "simple.csv").read_bytes()
    reply = await desk.handle(filed(23, ADMIN, "simple.csv", form), "admin")
    assert reply is not None
    offer = reply.messages[0]
    assert isinstance(offer, Outgoing)
    assert offer.keyboard is not None
    use = offer.keyboard.inline_keyboard[0][0]
    assert use.text == files.USE_BUTTON
    tap = Pressed(Who(24, ADMIN, ADMIN), use.callback_data, 77, "cb-24")
    for _ in range(2):  # the second time: a re-delivery of the same update
        await desk.handle(tap, "admin")
    assert messenger.texts()[-2:] == [messenger.texts()[-1]] * 2
    assert "new responses now use 'hiring' version 1" in messenger.texts()[-1]
    assert ("edit_keyboard", ADMIN, 77) in messenger.sent
    with Session(engine) as session:
        actions = [entry.action for entry in audit_entries(session)]
    assert actions.count("interview.activate") == 1


async def test_only_an_admin_may_use_a_stored_definition(
    desk: StaffDesk, messenger: RecordingMessenger
) -> None:
    tap = Pressed(Who(25, 9002, 9002), f"{files.USE_PREFIX}1", 78, "cb-25")
    await desk.handle(tap, "staff")
    assert messenger.sent == [("answer_callback", "cb-25", files.ADMINS_ONLY)]


async def test_a_broadcast_draft_lives_in_the_database_across_desks(
    desk: StaffDesk, engine: Engine, messenger: RecordingMessenger
) -> None:
    staff = 9002
    grant(engine, staff, "staff")
    assert await desk.handle(said(30, staff, "hello"), "staff") is None  # no draft: not ours
    await desk.handle(said(31, staff, "/broadcast"), "staff")
    assert messenger.texts()[-1] == drafts.ASK_MESSAGE
    await desk.handle(said(32, staff, "/weekly"), "staff")  # a command is no message to send
    assert messenger.texts()[-1].startswith("Please send text, a photo or a document.")
    # Another desk (a restarted bot, another process, the other library) carries on.
    again = StaffDesk(desk.interviewer)
    reply = await again.handle(said(33, staff, "News & views"), "staff")
    assert reply is not None
    assert messenger.texts()[-1] == "Who should receive it?"
    with Session(engine) as session:
        draft = draft_of(session, chat_id=staff)
        assert draft is not None
        assert (draft.step, draft.data["text"]) == ("audience", "News & views")
    everyone = Pressed(Who(34, staff, staff), "bc:all", 40, "cb-34")
    assert await again.handle(everyone, "analyst") is None  # analysts do not broadcast
    await again.handle(everyone, "staff")
    assert messenger.texts()[-1].startswith("Nobody reachable matches that")
    await again.handle(said(35, staff, "/cancel"), "staff")
    assert messenger.texts()[-1] == drafts.CANCELLED
    with Session(engine) as session:
        assert draft_of(session, chat_id=staff) is None
    assert await again.handle(said(36, staff, "/cancel"), "staff") is None  # the unknown command
