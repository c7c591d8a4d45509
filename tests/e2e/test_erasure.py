"""What people can know and erase about themselves: /myanswers, and /forget once the bot has
followed them up (reminders sent and planned)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.core.render import SELECTED_MARK
from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.app import EmployerBot
from conversations.loader import builtin_interview_path, load_interview
from storage import Answer, Employer, Engine, Response, save_state, utcnow
from storage.followup_models import FollowUp
from tests.e2e.conftest import Employer as Person

# The profile the built-in interview declares (`profile:` on its questions).
PROFILE = load_interview(builtin_interview_path()).profile

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
    assert await follow_ups.plan(now=later) == 1
    seen = len(ivy.messages())
    # (at an allowed hour: reminders keep out of quiet hours and weekends when sent)
    result = await follow_ups.dispatch_due(
        now=follow_ups.policy.allowed_time(later + timedelta(days=30))
    )
    assert len(result.sent) == 1
    assert len(ivy.messages()) == seen + 1  # the reminder
    await follow_ups.plan(now=later + timedelta(days=30))
    await ivy.send("/forget")
    await ivy.tap("Erase my answers")
    # Erasure drops the chat's updates from the inbox in the press's own transaction, so
    # the press counts as handled at its commit, before the bot has answered it.
    await fake.wait_until(lambda: "erased your personal data" in (ivy.last().text or ""))
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


async def test_myanswers_shows_everything_stored_about_them(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    jo = Person(fake, 1302)
    await jo.send("/start ws-fenland-2026")
    await jo.tap("Yes, I agree")
    await jo.send("Jo's Joinery & Sons")
    await jo.tap("Owner")
    await jo.send("/myanswers")
    text = "\n".join(message.text or "" for message in jo.messages()[-2:])
    with Session(engine) as session:
        employer = session.exec(select(Employer)).one()
        response = session.exec(select(Response)).one()
    for shown in (
        "Telegram user id: 1302",
        "Organisation: Jo's Joinery & Sons",
        "Status: started",
        f"(consent text version {employer.consent_version})",
        "Interview 1 (in progress)",
        "via ws-fenland-2026",
        "Organisation\n→ Jo's Joinery & Sons",
    ):
        assert shown in text, shown
    # Times are shown in Europe/London, not UTC.
    london = response.started_at.astimezone(ZoneInfo("Europe/London"))
    assert f"Started {london.strftime('%d %B %Y at %H:%M %Z')}, last change " in text


async def test_myanswers_shows_answers_to_questions_of_another_version(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    kim = Person(fake, 1303)
    await kim.send("/start")
    await kim.tap("Yes, I agree")
    with Session(engine) as session, session.begin():  # answers of an older version
        response = session.exec(select(Response)).one()
        answers = {**response.state.answers, "old_q": "other", "old_q_other": "Sam's course"}
        save_state(
            session,
            response=response,
            state=replace(response.state, answers=answers),
            now=utcnow(),
            profile=PROFILE,
        )
    await kim.send("/myanswers")
    text = "\n".join(message.text or "" for message in kim.messages()[-2:])
    assert "old_q\n→ other" in text
    assert "old_q_other\n→ Sam's course" in text


async def test_myanswers_shows_labels_in_the_interviews_order(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    lou = Person(fake, 1304)
    await lou.send("/start")
    await lou.tap("Yes, I agree")
    await lou.send("Lou's Lathes")
    await lou.tap("Owner")
    await lou.tap("Construction")
    district = lou.labels(lou.question())[0]  # the first district of the area
    await lou.tap(district)
    # Back to the sector, changed after the district: it still shows in its place.
    await lou.send("/back")
    await lou.send("/back")
    await lou.tap("Manufacturing")
    await lou.tap(SELECTED_MARK + district)  # the district again, as it was
    await lou.send("/myanswers")
    text = "\n".join(message.text or "" for message in lou.messages()[-2:])
    for shown in (
        "Your role: Owner, partner or managing director",
        "Main activity: Manufacturing",
        f"Site: {district}",
    ):
        assert shown in text, shown
    for raw in ("owner", "manufacturing", "E0"):
        assert f": {raw}" not in text, raw
    order = [
        "Consent\n→ Yes",
        "Organisation\n→ Lou's Lathes",
        "Your role\n→ Owner, partner or managing director",
        "Main activity\n→ Manufacturing",
        f"Site\n→ {district}",
    ]
    places = [text.find(line) for line in order]
    assert -1 not in places, text
    assert places == sorted(places), text
