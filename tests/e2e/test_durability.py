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

from bot.app import EmployerBot
from bot.fake_telegram import FakeTelegram
from conversations.definition import Interview
from storage import Employer, Engine, Response, Session, employer_data, make_engine
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import allow_inserts, polling_bot, refuse_inserts

pytestmark = pytest.mark.slow


@asynccontextmanager
async def polling(fake: FakeTelegram, engine: Engine, interview: Interview) -> AsyncIterator[None]:
    """A fresh EmployerBot polling `fake` (as after a restart); stopped cleanly at the end."""
    async with polling_bot(fake, engine, interview):
        yield


def snapshot(engine: Engine, user_id: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(employer status, newest response's state, its answer rows), via storage."""
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        responses = employer_data(session, employer=employer)["responses"]
        if not responses:
            return employer.status, {}, {}
        response = session.get(Response, responses[-1]["id"])
        assert response is not None
        return employer.status, dict(response.state), responses[-1]["answers"]


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
    assert before[1]["selected"]
    asked = ann.last().text or ""
    count = len(ann.messages())
    # The bot crashed before confirming these two: Telegram sends them again, same ids.
    fake.redeliver(typed)
    fake.redeliver(toggled)
    assert fake.pending_updates == 2
    async with polling(fake, engine, interview):
        await ann.wait_handled(toggled)
    assert fake.pending_updates == 0
    assert snapshot(engine, ann.user_id) == before
    # The re-delivered text shows the current question again (as it stands); the
    # re-delivered press, made on a message still in view, only has its spinner stopped.
    new = [message.text or "" for message in ann.messages()[count:]]
    assert len(new) == 1
    assert new[0].endswith(asked)  # with the section title above
    assert ann.labels(ann.last()) == chosen  # the option is still selected
    assert fake.callback_answers[-1].text is None


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
    fake.fail_next("sendMessage", error_code=502, times=2)
    await cy.tap("Yes, I agree")
    assert "organisation called" in (cy.last().text or "")
    sends = [r.status for r in fake.requests if r.method == "sendMessage"]
    assert sends[-3:] == [502, 502, 200]
    assert snapshot(engine, cy.user_id)[1]["answers"] == {"consent": "yes"}


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
    assert snapshot(engine, di.user_id)[1]["answers"] == {"consent": "yes"}
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
    assert state["current"] == "role"
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


async def test_an_update_that_fails_every_time_is_given_up_with_an_apology(
    fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    bea = Person(fake, 2101)
    async with polling(fake, engine, interview):
        await bea.send("/start")
        await bea.tap("Yes, I agree")
        asked = bea.question().text
        refuse_inserts(engine, "answer", when="NEW.question_id = 'org_name'")
        refused = await fake.send_text(bea.user_id, "Acme Widgets Ltd")
        await bea.wait_handled(refused)  # tried three times, then confirmed: not stuck
        assert "could not be saved" in (bea.last().text or "")
        assert "org_name" not in snapshot(engine, bea.user_id)[2]
        allow_inserts(engine, "answer")
        await bea.send("Acme Widgets Ltd")  # sent again, as the apology asked
        assert snapshot(engine, bea.user_id)[2]["org_name"] == "Acme Widgets Ltd"
        assert "What is your role?" in (bea.question().text or "")
        assert asked != bea.question().text


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
            deferred = lambda: sum("event=update_deferred" in r.message for r in caplog.records)  # noqa: E731
            await fake.wait_until(lambda: deferred() >= 2, timeout=15)
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
