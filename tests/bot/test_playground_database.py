"""The playground never touches a real bot's database (issue 19, item 1), its people have ids
no Telegram account can have, the roles it grants are audited, and a second run on the same
database behaves like the first (issue 18).

Real databases (SQLite and PostgreSQL), the real bot against the fake Telegram, and the real
`skillsbot` command line.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.run import NO_TOKEN_ON_REAL_DATA
from bot.devtools.fake_telegram import Message
from bot.devtools.playground import PEOPLE
from bot.devtools.playground.people import IMPOSSIBLE_ID_BASE, is_playground_id, person_named
from bot.devtools.playground.runner import Playground, PlaygroundError, claim_database
from bot.settings import Settings
from bot.transports import LIBRARIES
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import (
    Engine,
    Session,
    employer_for_telegram,
    make_engine,
    response_records,
    upgrade,
    utcnow,
)
from storage.ownership import (
    FIRST_IMPOSSIBLE_ID,
    PLAYGROUND_MARK,
    DatabaseUse,
    database_use,
    engine_use,
    mark_as_playground,
)
from storage.staff import audit_entries, seed_admins, staff_members
from tests.e2e.conftest import library_of

ALEX_ID = person_named("employer-a").user_id
REAL_ADMIN = 740001  # an id a real Telegram account can have (the old playground admin's)


def _use_like_a_real_bot(engine: Engine) -> None:
    """What a production database holds: an admin from SKILLSBOT_ADMINS and an employer."""
    with Session(engine) as session, session.begin():
        seed_admins(session, [REAL_ADMIN], utcnow())
        employer_for_telegram(session, telegram_user_id=5550001, chat_id=5550001, now=utcnow())


def _snapshot(engine: Engine) -> tuple[list[tuple[int, str]], int]:
    with Session(engine) as session:
        roles = [(m.telegram_user_id, m.role) for m in staff_members(session)]
        return roles, len(audit_entries(session, limit=1000))


# -- ids ------------------------------------------------------------------------------------


def test_the_playground_people_have_ids_no_telegram_account_can_have() -> None:
    # Telegram: a user id "has at most 52 significant bits"; 2**53 is where doubles (the
    # page's JavaScript) stop being exact.
    for person in PEOPLE:
        assert 2**52 <= person.user_id < 2**53, person
        assert is_playground_id(person.user_id)
    assert not is_playground_id(REAL_ADMIN)
    assert not is_playground_id(2**52 - 1)
    assert IMPOSSIBLE_ID_BASE == 2**52


def test_a_playground_database_a_real_bot_used_since_is_in_use(tmp_path: Path) -> None:
    """The playground's mark does not outlive a real bot's use of the database: once a real
    Telegram account has been in it, the playground refuses it like any other."""
    engine = make_engine(f"sqlite:///{tmp_path / 'once-a-playground.db'}")
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            mark_as_playground(session, now=utcnow())
            employer_for_telegram(session, telegram_user_id=ALEX_ID, chat_id=ALEX_ID, now=utcnow())
        assert engine_use(engine) is DatabaseUse.PLAYGROUND  # only its own people so far
        assert FIRST_IMPOSSIBLE_ID == IMPOSSIBLE_ID_BASE
        _use_like_a_real_bot(engine)
        assert engine_use(engine) is DatabaseUse.IN_USE
        with pytest.raises(PlaygroundError, match="did not create"):
            claim_database(engine)
    finally:
        engine.dispose()


# -- skillsbot run without a token ----------------------------------------------------------


def test_run_without_a_token_refuses_a_database_holding_real_data(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _use_like_a_real_bot(engine)
    before = _snapshot(engine)
    with socket.socket() as taken:  # were the playground to start, it would stop at once
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = CliRunner().invoke(
            app,
            ["run"],
            env={
                "TELEGRAM_BOT_TOKEN": None,
                "DATABASE_URL": database_url,
                "SKILLSBOT_PLAYGROUND_PORT": str(taken.getsockname()[1]),
            },
        )
    assert result.exit_code == 2, result.output
    assert result.output == f"skillsbot: {NO_TOKEN_ON_REAL_DATA}\n"
    assert _snapshot(engine) == before  # no role granted, nothing audited
    made = [path.name for path in tmp_path.iterdir()]
    assert not [name for name in made if "playground" in name], made  # nor its own database


def test_the_real_data_check_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "never-made.db"
    assert database_use(f"sqlite:///{missing}") is DatabaseUse.NEW
    assert not missing.exists()


# -- the playground on a database it did not create ------------------------------------------


async def test_the_playground_refuses_a_real_bots_database(engine: Engine) -> None:
    _use_like_a_real_bot(engine)
    before = _snapshot(engine)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    playground = Playground(database=engine, interview=interview, port=0, polling_timeout=1)
    with pytest.raises(PlaygroundError, match="did not create"):
        await playground.start()
    assert playground.bot_task is None
    assert playground.fake.base_url == ""  # the fake never started
    assert _snapshot(engine) == before


def test_the_playground_command_refuses_a_real_bots_database_by_name(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _use_like_a_real_bot(engine)
    before = _snapshot(engine)
    result = CliRunner().invoke(
        app,
        ["playground", "--database", database_url, "--port", "1"],
        env={"TELEGRAM_BOT_TOKEN": None, "DATABASE_URL": None},
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith("skillsbot: this database holds data the playground did")
    assert result.output.count("\n") == 1
    assert _snapshot(engine) == before


# -- restarts ---------------------------------------------------------------------------------


def _asks_consent(message: Message) -> bool:
    return any("agree" in label.casefold() for row in message.buttons() for label, _ in row)


def _has_buttons(message: Message) -> bool:
    return bool(message.buttons())


async def _start_and_wait_for_the_first_question(playground: Playground, key: str) -> Message:
    """Send /start as ``key`` and return the consent question (the interview's first)."""
    person = person_named(key)
    await playground.fake.send_text(person.user_id, "/start", first_name=person.first_name)
    return await playground.fake.wait_for_bot_message(
        person.user_id, predicate=_asks_consent, timeout=20
    )


async def test_a_second_run_on_the_same_database_works_like_the_first(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'skillsbot-playground.db'}")
    upgrade(engine)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    try:
        for key in ("employer-a", "employer-b"):
            async with Playground(
                database=engine, interview=interview, port=0, polling_timeout=1
            ) as running:
                await _start_and_wait_for_the_first_question(running, key)
        with Session(engine) as session:
            roles = {(m.telegram_user_id, m.role) for m in staff_members(session)}
            entries = audit_entries(session, limit=100)
        assert roles == {(p.user_id, p.role) for p in PEOPLE if p.role is not None}
        grants = [e for e in entries if e.action == "role.add"]
        assert sorted(e.detail.split()[0] for e in grants) == ["admin", "analyst", "staff"]
        assert {e.actor for e in grants} == {"playground"}  # audited, once each
        assert [e.action for e in entries].count(PLAYGROUND_MARK) == 1
        assert database_use(str(engine.url)) is DatabaseUse.PLAYGROUND
    finally:
        engine.dispose()


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_second_run_continues_an_interview_begun_in_the_first(
    engine: Engine, library: str
) -> None:
    """The database remembers the message showing the question; a fresh fake counting
    messages from 1 again made every button of the resumed interview "old". On either
    Telegram library (SKILLSBOT_TELEGRAM_LIBRARY), which makes every call."""
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    alex = person_named("employer-a")
    settings = Settings.model_construct(telegram_library=library)
    async with Playground(
        database=engine, interview=interview, port=0, polling_timeout=1, settings=settings
    ) as first:
        consent = await _start_and_wait_for_the_first_question(first, "employer-a")
        await first.fake.press(alex.user_id, consent.message_id, consent.button("agree"))
        named = await first.fake.wait_for_bot_message(
            alex.user_id, after=consent.message_id, timeout=20
        )
        await first.fake.send_text(alex.user_id, "Fenland Fasteners Ltd")
        await first.fake.wait_for_bot_message(
            alex.user_id, after=named.message_id, predicate=_has_buttons, timeout=20
        )
    async with Playground(
        database=engine, interview=interview, port=0, polling_timeout=1, settings=settings
    ) as second:
        await second.fake.send_text(alex.user_id, "/start", first_name=alex.first_name)
        role = await second.fake.wait_for_bot_message(
            alex.user_id, predicate=_has_buttons, timeout=20
        )
        await second.fake.press(alex.user_id, role.message_id, role.buttons()[0][0][1] or "")
        await second.fake.wait_for_bot_message(
            alex.user_id, after=role.message_id, predicate=_has_buttons, timeout=20
        )
        await second.fake.wait_until(lambda: bool(second.fake.callback_answers))
        assert [a.text for a in second.fake.callback_answers] == [None]  # no "moved on"
        assert {library_of(call) for call in second.fake.requests} == {library}
    with Session(engine) as session:
        record = response_records(session, statuses=None)[0]
    assert record.answers["org_name"] == "Fenland Fasteners Ltd"
    assert len(record.answers) == 3  # consent, name and role: nothing lost, nothing refused


# -- naming the database ------------------------------------------------------------------


def test_run_without_a_token_still_checks_database_url_and_playground_checks_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    run = runner.invoke(
        app, ["run"], env={"TELEGRAM_BOT_TOKEN": None, "DATABASE_URL": "mysql://x@y/z"}
    )
    assert run.exit_code == 2
    assert run.output.startswith("skillsbot: DATABASE_URL must start with sqlite://")
    named = runner.invoke(
        app,
        ["playground", "--database", "mysql://x@y/z"],
        env={"TELEGRAM_BOT_TOKEN": None, "DATABASE_URL": None},
    )
    assert named.exit_code == 2
    assert named.output.startswith("skillsbot: --database must start with sqlite://")
    assert named.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
