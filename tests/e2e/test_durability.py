"""What survives a restart and Telegram's errors: re-deliveries, 429s, 403s, 5xx answers and
lost connections, and the database's: an outage, and a fault that fails every time.

The bot runs in this process (real polling loop, real HTTP to the fake Telegram, real
database on SQLite and PostgreSQL); the process-level guarantees are in test_run_process.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.app import EmployerBot
from conversations.definition import Interview
from conversations.state import InterviewState
from storage import Employer, Engine, Response, Session, employer_data, make_engine
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import allow_inserts, polling_bot, refuse_inserts

pytestmark = pytest.mark.slow


@asynccontextmanager
async def polling(fake: FakeTelegram, engine: Engine, interview: Interview) -> AsyncIterator[None]:
    """A fresh EmployerBot polling `fake` (as after a restart); stopped cleanly at the end."""
    async with polling_bot(fake, engine, interview):
        yield


def session_employer_id(engine: Engine, user_id: int) -> int | None:
    """Our internal id of the person with this Telegram user id."""
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        return employer.id


def snapshot(engine: Engine, user_id: int) -> tuple[str, InterviewState | None, dict[str, Any]]:
    """(employer status, newest response's state, its answer rows), via storage."""
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        responses = employer_data(session, employer=employer)["responses"]
        if not responses:
            return employer.status, None, {}
        response = session.get(Response, responses[-1]["id"])
        assert response is not None
        return employer.status, response.state, responses[-1]["answers"]


@pytest.mark.in_process_bot
async def test_an_update_delivered_again_after_a_crash_changes_nothing(
    fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    ann = Person(fake, 2001)
    async with polling(fake, engine, interview):
        await ann.send("/start")
        await ann.tap("Yes, I agree")
        typed = await fake.send_text(ann.user_id, "Acme Widgets Ltd")
        await ann.wait_handled(typed)
        while "Done" not in (ann.labels(ann.last()) if ann.last().buttons() else []):
            await ann.answer_current()
        # A multi-select question: pressing an option again would unselect it.
        options = ann.last()
        label = ann.labels(options)[0]
        toggled = await fake.press(ann.user_id, options.message_id, options.button(label))
        await ann.wait_handled(toggled)
        chosen = ann.labels(ann.last())
    before = snapshot(engine, ann.user_id)
    assert before[1].selected
    count = len(ann.messages())
    # The bot crashed before its confirmation reached Telegram: the two come again, same ids.
    fake.redeliver(typed)
    fake.redeliver(toggled)
    assert fake.pending_updates == 2
    async with polling(fake, engine, interview):
        await fake.wait_until(lambda: fake.acknowledged_offset > toggled)
        later = await fake.send_text(ann.user_id, "/help")  # handled after them, in order
        await ann.wait_handled(later)
    assert fake.pending_updates == 0
    assert snapshot(engine, ann.user_id) == before
    # The inbox had them already: nothing is done twice, nor said again.
    assert len(ann.messages()) == count + 1  # the answer to /help
    (shown,) = [m for m in ann.messages() if m.message_id == options.message_id]
    assert ann.labels(shown) == chosen  # the option is still selected


async def test_a_429_is_waited_out_and_the_question_still_arrives(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    bea = Person(fake, 2002)
    fake.fail_next("sendMessage", error_code=429, retry_after=1)
    await bea.send("/start")
    assert bea.labels() == ["Yes, I agree", "No"]
    sends = [r for r in fake.requests if r.method == "sendMessage" and r.chat_id == bea.user_id]
    assert [r.status for r in sends][:2] == [429, 200]
    assert sends[1].time - sends[0].time >= 0.9  # retry_after was obeyed
    await bea.tap("Yes, I agree")
    assert "organisation called" in (bea.last().text or "")


async def test_a_server_error_while_sending_is_retried(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    cy = Person(fake, 2003)
    await cy.send("/start")
    # The first 502 is a proxy's HTML page, not Telegram's JSON: retried all the same (on
    # aiogram it was not: ClientDecodeError, one request).
    fake.fail_next("sendMessage", error_code=502, page="<html><h1>502 Bad Gateway</h1></html>")
    fake.fail_next("sendMessage", error_code=502)
    await cy.tap("Yes, I agree")
    assert "organisation called" in (cy.last().text or "")
    sends = [r.status for r in fake.requests if r.method == "sendMessage"]
    assert sends[-3:] == [502, 502, 200]
    state = snapshot(engine, cy.user_id)[1]
    assert state is not None
    assert state.answers == {"consent": "yes"}


@pytest.mark.polling_only  # it drops getUpdates calls
async def test_connections_lost_on_the_way_to_telegram_are_retried(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    di = Person(fake, 2006)
    await di.send("/start")
    # The network drops a poll, two sends and an answer to a button press.
    fake.drop_next("getUpdates")
    fake.drop_next("sendMessage", times=2)
    fake.drop_next("answerCallbackQuery")
    await di.tap("Yes, I agree")
    assert "organisation called" in (di.last().text or "")
    state = snapshot(engine, di.user_id)[1]
    assert state is not None
    assert state.answers == {"consent": "yes"}
    calls = [(r.method, r.status) for r in fake.requests if r.method != "getUpdates"]
    assert calls.count(("sendMessage", 0)) == 2
    assert ("answerCallbackQuery", 0) in calls
    assert ("answerCallbackQuery", 200) in calls
    assert ("getUpdates", 0) in [(r.method, r.status) for r in fake.requests]
    await di.send("Dropped Packets Ltd")
    assert "What is your role?" in (di.question().text or "")


async def test_a_blocked_employer_is_marked_unreachable_and_others_are_still_served(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    dee = Person(fake, 2004)
    eve = Person(fake, 2005)
    await dee.send("/start")
    await dee.tap("Yes, I agree")
    fake.block(dee.user_id)
    count = len(dee.messages())
    await dee.send("Blocked Ltd")
    status, state, answers = snapshot(engine, dee.user_id)
    assert status == "unreachable"
    assert answers["org_name"] == "Blocked Ltd"  # stored before the reply failed
    assert state is not None
    assert state.current == "role"
    assert len(dee.messages()) == count  # nothing reached them
    assert any(r.status == 403 for r in fake.requests)
    await eve.send("/start")
    await eve.tap("Yes, I agree")
    assert "organisation called" in (eve.last().text or "")
    assert snapshot(engine, eve.user_id)[0] == "started"
    # Dee unblocks the bot and comes back: reachable again, where she stopped.
    fake.unblock(dee.user_id)
    await dee.send("/start")
    assert "What is your role?" in (dee.question().text or "")
    assert snapshot(engine, dee.user_id)[0] == "started"


@pytest.mark.in_process_bot
async def test_an_update_that_fails_every_time_is_given_up_with_an_apology(
    fake: FakeTelegram, engine: Engine, interview: Interview, database_url: str
) -> None:
    bea = Person(fake, 2101)
    async with polling(fake, engine, interview):
        await bea.send("/start")
        await bea.tap("Yes, I agree")
        asked = bea.question().text
        refuse_inserts(engine, "answer", when="NEW.question_id = 'org_name'")
        refused = await fake.send_text(bea.user_id, "Acme Widgets Ltd")
        await bea.wait_handled(refused)  # tried three times, then set aside: not stuck
        assert "could not be saved" in (bea.last().text or "")
        assert "org_name" not in snapshot(engine, bea.user_id)[2]
        # Kept for staff: listed with our id of her and the error's class, not her words.
        listed = CliRunner().invoke(app, ["inbox", "failed"], env={"DATABASE_URL": database_url})
        assert listed.exit_code == 0, listed.output
        (row,) = [line for line in listed.output.splitlines() if line.startswith(str(refused))]
        parts = row.split()  # update id, employer id, date, time, tries, error
        assert parts[:2] == [str(refused), str(session_employer_id(engine, bea.user_id))]
        assert parts[4] == "3"
        assert parts[5] in {"IntegrityError", "ProgrammingError", "InternalError"}
        assert "Acme" not in listed.output
        assert str(bea.user_id) not in listed.output
        allow_inserts(engine, "answer")
        await bea.send("Acme Widgets Ltd")  # sent again, as the apology asked
        assert snapshot(engine, bea.user_id)[2]["org_name"] == "Acme Widgets Ltd"
        assert "What is your role?" in (bea.question().text or "")
        assert asked != bea.question().text


@pytest.mark.in_process_bot
async def test_a_postgresql_outage_delays_an_answer_and_loses_nothing(
    fake: FakeTelegram, engine: Engine, interview: Interview, caplog: pytest.LogCaptureFixture
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("an outage of the PostgreSQL server (SQLite is a file in this process)")
    # The bot logs in as a role of its own, so that the test can shut it out of the server
    # (NOLOGIN and its connections ended) and let it back in, as an outage would.
    role = f"skillsbot_outage_{secrets.token_hex(4)}"
    schema = str(engine.url.query["application_name"])
    admin = engine.url.set(drivername="postgresql+psycopg")
    grants = [
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]
    with engine.begin() as connection:
        for statement in grants:
            connection.exec_driver_sql(statement)
    bot_engine = make_engine(admin.set(username=role).render_as_string(hide_password=False))
    try:
        cy = Person(fake, 2102)
        async with polling(fake, bot_engine, interview):
            await cy.send("/start")
            await cy.tap("Yes, I agree")
            with engine.begin() as connection:
                connection.exec_driver_sql(f"ALTER ROLE {role} NOLOGIN")
                connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    f" WHERE usename = '{role}'"
                )
            seen = len(cy.messages())
            typed = await fake.send_text(cy.user_id, "Acme Widgets Ltd")
            # The inbox cannot be written: the update stays Telegram's, and is fetched again
            # (in webhook mode: answered 503, and posted again).
            failures = ("event=inbox_write_failed", "event=webhook_database_away")
            refused = lambda: sum(  # noqa: E731
                any(failure in r.message for failure in failures) for r in caplog.records
            )
            await fake.wait_until(lambda: refused() >= 2, timeout=15)
            assert len(cy.messages()) == seen  # no answer yet, and no apology
            assert fake.acknowledged_offset <= typed  # nor confirmed: Telegram keeps it
            with engine.begin() as connection:
                connection.exec_driver_sql(f"ALTER ROLE {role} LOGIN")
            await cy.wait_handled(typed)
            assert "What is your role?" in (cy.question().text or "")
        assert snapshot(engine, cy.user_id)[2]["org_name"] == "Acme Widgets Ltd"
    finally:
        bot_engine.dispose()
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")
