"""/forget end to end once the bot has followed the person up: reminders sent and planned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.app import EmployerBot
from bot.fake_telegram import FakeTelegram
from storage import Answer, Employer, Engine, Response, utcnow
from storage.followup_models import FollowUp
from tests.e2e.conftest import Employer as Person

pytestmark = pytest.mark.slow


async def test_forget_after_a_reminder_erases_everything_and_says_so(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    ivy = Person(fake, 1301)
    await ivy.send("/start")
    await ivy.tap("Yes, I agree")
    await ivy.send("Ivy Engineering Ltd")
    # Days pass without an answer: a reminder goes out, and the next one is planned.
    later = utcnow() + timedelta(days=30)
    follow_ups = running_bot.follow_ups
    assert follow_ups.plan(now=later) == 1
    seen = len(ivy.messages())
    result = await follow_ups.dispatch_due(now=later + timedelta(days=30))
    assert len(result.sent) == 1
    assert len(ivy.messages()) == seen + 1  # the reminder
    follow_ups.plan(now=later + timedelta(days=30))
    await ivy.send("/forget")
    await ivy.tap("Yes")
    assert "erased your personal data" in (ivy.last().text or "")
    with Session(engine) as session:
        assert session.exec(select(Answer)).all() == []
        assert session.exec(select(Response)).all() == []
        employer = session.exec(select(Employer)).one()
        assert (employer.telegram_user_id, employer.status) == (None, "opted_out")
        rows = session.exec(select(FollowUp)).all()
        assert {row.status for row in rows} <= {"sent", "cancelled"}
        assert all(row.chat_id is None and row.response_id is None for row in rows)
    # Nothing more reaches them.
    sent_before = len(ivy.messages())
    await follow_ups.dispatch_due(now=later + timedelta(days=90))
    assert len(ivy.messages()) == sent_before
