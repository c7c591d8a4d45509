"""Follow-ups end to end over the fake Telegram: a reminder's Continue and Stop reminders,
and /weekly for an employer (the unknown-command answer)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.app import EmployerBot
from bot.fake_telegram import FakeTelegram
from bot.handlers.interviewer import UNKNOWN_COMMAND
from storage import Employer, Session, utcnow
from tests.e2e.conftest import Employer as Person

pytestmark = pytest.mark.slow


async def test_reminder_continue_then_stop(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    alice = Person(fake, 3001)
    await alice.send("/start")
    for _ in range(3):
        await alice.answer_current()
    question = (alice.question().text or "").split("Question ", 1)[-1]
    later = utcnow() + timedelta(days=9)
    running_bot.follow_ups.plan(now=utcnow())
    await running_bot.follow_ups.dispatch_due(now=later)
    assert (alice.last().text or "").startswith("You stopped at question 4 of ")
    await alice.tap("Continue")
    assert (alice.question().text or "").endswith(question.split("\n", 1)[-1])  # as /start
    running_bot.follow_ups.plan(now=later)
    await running_bot.follow_ups.dispatch_due(now=later + timedelta(days=9))
    await alice.tap("Stop reminders", alice.buttons_message())
    assert "won't get any more reminders" in (alice.last().text or "")
    with Session(engine) as session:
        statuses = {
            employer.telegram_user_id: employer.status
            for employer in session.exec(select(Employer))
        }
    assert statuses[3001] == "opted_out"
    count = len(alice.messages())
    running_bot.follow_ups.plan(now=later + timedelta(days=20))
    await running_bot.follow_ups.dispatch_due(now=later + timedelta(days=30))
    assert len(alice.messages()) == count


async def test_an_employers_weekly_is_an_unknown_command(
    running_bot: EmployerBot, fake: FakeTelegram
) -> None:
    bob = Person(fake, 3002)
    await bob.send("/weekly")
    assert UNKNOWN_COMMAND in (bob.messages()[0].text or "")
