"""Staff, analysts and admins on a phone (issue 18): their own command menus, /help, the
greeting instead of the employer interview, and /list as a short summary with the full list
as a spreadsheet. Real polling, the fake Bot API over HTTP, a real database."""

from __future__ import annotations

import asyncio
import io
import json

import openpyxl
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.core.desk import BOT_COMMANDS
from bot.core.staff import LIST_NOT_SENT, seed_admin_roles
from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.app import EmployerBot
from bot.runtime.menus import TRY_BUTTON, CommandMenus, keep_menus
from bot.transports.links import connect
from conversations.definition import Interview
from storage import Employer, Engine, Response, Units, utcnow
from storage.staff import set_role
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import current_library, polling_bot

pytestmark = pytest.mark.slow

ADMIN, STAFF, ANALYST, EMPLOYER = 9001, 9002, 9003, 3001
EMPLOYER_COMMANDS = [name for name, _ in BOT_COMMANDS]


def menu(fake: FakeTelegram, user_id: int) -> list[str] | None:
    """The commands set for this user's chat (None: no menu of its own, so the default)."""
    scope = json.dumps({"type": "chat", "chat_id": user_id}, sort_keys=True)
    commands = fake.world.commands.get((scope, ""))
    return None if commands is None else [command["command"] for command in commands]


def give_roles(engine: Engine, roles: dict[int, str]) -> None:
    with Session(engine) as session, session.begin():
        for user_id, role in roles.items():
            set_role(
                session,
                telegram_user_id=user_id,
                role=role,
                added_by="test",  # type: ignore[arg-type]
                now=utcnow(),
            )


def text_of(person: Person) -> str:
    return person.last().text or ""


@pytest.mark.in_process_bot
async def test_each_role_gets_its_own_menu_at_start_up(
    fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    give_roles(engine, {ADMIN: "admin", STAFF: "staff", ANALYST: "analyst"})
    async with polling_bot(fake, engine, interview):
        await fake.wait_until(
            lambda: all(menu(fake, u) for u in (ADMIN, STAFF, ANALYST)), timeout=10
        )
    admin, staff, analyst = menu(fake, ADMIN), menu(fake, STAFF), menu(fake, ANALYST)
    assert admin is not None
    assert staff is not None
    assert analyst is not None
    assert admin[:6] == ["start", "help", "list", "broadcast", "weekly", "staff"]
    assert staff[:4] == ["start", "help", "list", "broadcast"]
    assert analyst[:4] == ["start", "help", "list", "weekly"]
    assert {"weekly", "staff"}.isdisjoint(staff)
    assert {"broadcast", "staff"}.isdisjoint(analyst)
    for own in (admin, staff, analyst):  # they may try the interview: its commands are there
        assert {"back", "skip", "review", "myanswers", "forget"} <= set(own)
    assert [c["command"] for c in fake.my_commands] == EMPLOYER_COMMANDS  # the default
    assert menu(fake, EMPLOYER) is None


async def test_menus_follow_roles_given_and_taken_in_the_chat(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    seed_admin_roles(engine, [ADMIN])
    admin = Person(fake, ADMIN)
    await admin.send("/staff add 9003 analyst")
    assert (menu(fake, ANALYST) or [])[:4] == ["start", "help", "list", "weekly"]
    await admin.send("/staff add 9003 staff")
    assert (menu(fake, ANALYST) or [])[:4] == ["start", "help", "list", "broadcast"]
    await admin.send("/staff remove 9003")
    assert menu(fake, ANALYST) is None  # back to the employers' menu


@pytest.mark.each_library
async def test_menus_follow_the_command_line_while_the_bot_runs(
    fake: FakeTelegram, engine: Engine, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    link = connect(current_library(), fake.token, fake.base_url)
    stop = asyncio.Event()
    keeper = asyncio.create_task(keep_menus(link.account, Units(engine), stop, interval=0.05))
    try:
        added = CliRunner().invoke(app, ["staff", "add", str(STAFF), "staff"], env=env)
        assert added.exit_code == 0, added.output
        await fake.wait_until(lambda: menu(fake, STAFF) is not None, timeout=10)
        assert "broadcast" in (menu(fake, STAFF) or [])
        removed = CliRunner().invoke(app, ["staff", "remove", str(STAFF)], env=env)
        assert removed.exit_code == 0, removed.output
        await fake.wait_until(lambda: menu(fake, STAFF) is None, timeout=10)
    finally:
        stop.set()
        await keeper
        await link.close()


async def test_help_lists_what_each_person_can_do(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    give_roles(engine, {ADMIN: "admin", STAFF: "staff", ANALYST: "analyst"})
    shown = {}
    for user_id in (ADMIN, STAFF, ANALYST, EMPLOYER):
        person = Person(fake, user_id)
        await person.send("/help")
        shown[user_id] = text_of(person)
    assert shown[ADMIN].startswith("You are an admin")
    for command in ("/list", "/broadcast", "/weekly", "/staff", "interview file"):
        assert command in shown[ADMIN]
    assert "/broadcast" in shown[STAFF]
    assert "/weekly" not in shown[STAFF]
    assert "/staff " not in shown[STAFF]
    assert "/weekly" in shown[ANALYST]
    assert "/broadcast" not in shown[ANALYST]
    for user_id in (ADMIN, STAFF, ANALYST):  # and the employer commands, to try it
        assert "/start try" in shown[user_id]
        assert "/back – go back to the previous question" in shown[user_id]
    assert "I run a short skills interview" in shown[EMPLOYER]  # employers' help as it was
    assert "/list" not in shown[EMPLOYER]


async def test_staff_are_greeted_with_their_commands_and_may_try_the_interview(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    give_roles(engine, {STAFF: "staff", ANALYST: "analyst"})
    staff = Person(fake, STAFF)
    await staff.send("/start")
    greeting = staff.last()
    assert (greeting.text or "").startswith("Hello! You are staff")
    assert "/list" in (greeting.text or "")
    assert "/broadcast" in (greeting.text or "")
    assert staff.labels(greeting) == [TRY_BUTTON]
    with Session(engine) as session:
        assert session.exec(select(Response)).all() == []  # no interview begun
    await staff.tap(TRY_BUTTON)
    assert "Privacy notice" in "\n".join(m.text or "" for m in staff.messages()[1:])
    analyst = Person(fake, ANALYST)
    await analyst.send("/start try")
    assert "Privacy notice" in "\n".join(m.text or "" for m in analyst.messages())
    with Session(engine) as session:
        responses = session.exec(select(Response)).all()
    assert len(responses) == 2
    assert all(response.test for response in responses)  # test responses, counted nowhere
    employer = Person(fake, EMPLOYER)
    await employer.send("/start")
    greeting = employer.messages()[0].text or ""  # an employer's /start: the interview
    assert "thank you for taking part" in greeting.casefold()
    assert "/list" not in greeting


async def test_list_is_a_short_summary_and_a_spreadsheet_in_the_interviews_words(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    give_roles(engine, {STAFF: "staff"})
    now = utcnow()
    rows = [
        ('=HYPERLINK("http://evil.example","Click")', "other", "started"),
        ("Fen Farm", "primary_utilities", "opted_out"),
        ("Ely Builders", "construction", "completed"),
        ("March Motors", "manufacturing", "invited"),
        ("Wisbech Wholesale", None, "listed"),
    ]
    with Session(engine) as session, session.begin():
        for organisation, sector, status in rows:
            session.add(
                Employer(
                    organisation=organisation,
                    sector=sector,
                    status=status,
                    created_at=now,
                    updated_at=now,
                )
            )
    staff = Person(fake, STAFF)
    await staff.send("/list")
    summary_message, document = staff.messages()[-2:]
    summary = summary_message.text or ""
    lines = summary.splitlines()
    assert lines[:6] == [
        "Employers: 5",
        "• On the list, not invited yet: 1",
        "• Invited, not started: 1",
        "• Started, not finished: 1",
        "• Completed: 1",
        "• Asked for no more messages: 1",
    ]
    sectors = lines[lines.index("By sector:") + 1 : lines.index("By sector:") + 6]
    assert sectors == [  # the ESS's order and names (as the reports), then Other and Not given
        "• Primary Sector and Utilities: 1",
        "• Manufacturing: 1",
        "• Construction: 1",
        "• Other: 1",
        "• Not given: 1",
    ]
    for internal in ("opted_out", "primary_utilities", "other", "listed"):
        assert internal not in summary
    assert len(lines) <= 20
    assert max(len(line) for line in lines) <= 60
    assert (document.document or "").startswith("employers-")
    sheet = openpyxl.load_workbook(io.BytesIO(fake.file_bytes(document))).active
    assert sheet is not None
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert table[0][:5] == ["Organisation", "Sector", "District", "Size", "Status"]
    by_name = {row[0]: row for row in table[1:]}
    assert len(by_name) == 5
    assert by_name["Fen Farm"][1:5] == [
        "Primary Sector and Utilities",
        None,
        None,
        "Asked for no more messages",
    ]
    hostile = next(row for row in table[1:] if "HYPERLINK" in str(row[0]))
    assert str(hostile[0]).startswith("'=")  # text, never a formula
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


async def test_a_spreadsheet_telegram_refuses_gets_an_apology_not_a_second_summary(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    give_roles(engine, {STAFF: "staff"})
    now = utcnow()
    with Session(engine) as session, session.begin():
        session.add(
            Employer(organisation="Fen Farm", status="listed", created_at=now, updated_at=now)
        )
    fake.fail_next("sendDocument", error_code=400, description="Bad Request: file is too big")
    staff = Person(fake, STAFF)
    await staff.send("/list")
    texts = [message.text or "" for message in staff.messages()]
    assert len(texts) == 2
    assert texts[0].startswith("Employers: 1")
    assert texts[1] == LIST_NOT_SENT


@pytest.mark.each_library
async def test_a_chat_telegram_refuses_is_not_asked_again_until_start_up(
    fake: FakeTelegram, engine: Engine
) -> None:
    give_roles(engine, {STAFF: "staff"})
    link = connect(current_library(), fake.token, fake.base_url)
    menus = CommandMenus(link.account, Units(engine))

    def calls() -> int:
        return sum(1 for r in fake.requests if r.method.lower() == "setmycommands")

    try:
        fake.fail_next("setMyCommands", error_code=400, description="Bad Request: chat not found")
        assert await menus.bring_up_to_date() == 0
        assert await menus.bring_up_to_date() == 0  # the periodic check leaves it be
        assert calls() == 1
        assert menu(fake, STAFF) is None
        assert await menus.bring_up_to_date(only={STAFF}) == 1  # their /start: tried again
        assert (menu(fake, STAFF) or [])[:3] == ["start", "help", "list"]
        assert await menus.bring_up_to_date() == 0  # recorded: nothing to do
        assert await menus.bring_up_to_date(everyone=True) == 1  # start-up: everyone
        assert calls() == 3
    finally:
        await link.close()
