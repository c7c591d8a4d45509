"""What survives a restart and Telegram's errors: re-deliveries, 429s, 403s and 5xx answers.

The bot runs in this process (real polling loop, real HTTP to the fake Telegram, real
database on SQLite and PostgreSQL); the process-level guarantees are in test_run_process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlmodel import select

from bot.app import EmployerBot
from bot.fake_telegram import FakeTelegram
from conversations.definition import Interview
from storage import Employer, Engine, Response, Session, employer_data
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import polling_bot

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
    # Each re-delivery shows the current question again (as it stands), and nothing else.
    new = [message.text or "" for message in ann.messages()[count:]]
    assert len(new) == 2
    assert all(text.endswith(asked) for text in new)  # with the section title above
    assert ann.labels(ann.last()) == chosen  # the option is still selected


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
