"""The daily retention job deletes the answers each interview declares as identifying."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core.followups import FollowUps, ReminderPolicy, identifying_answers
from bot.settings import ReportSettings
from storage import Answer, Engine, Response, Units
from storage.repositories import RETENTION
from tests.analytics.test_declared_profile import EMPLOYERS, T0, complete, renamed_interview
from tests.bot.test_staff_desk import RecordingMessenger

LONDON = ZoneInfo("Europe/London")


def test_the_identifying_answers_are_the_interviews_and_its_earlier_versions() -> None:
    # The built-in interview's earlier versions call their organisation question org_name.
    assert identifying_answers(renamed_interview()) == {"business_name", "org_name"}


async def test_the_job_deletes_the_organisation_answer_the_interview_declares(
    engine: Engine,
) -> None:
    interview = renamed_interview()
    response_ids = complete(engine, interview)
    units = Units(engine)
    follow_ups = FollowUps(
        database=engine,
        delivery=RecordingMessenger(),
        interview=interview,
        units=units,
        policy=ReminderPolicy(zone=LONDON),
        report=ReportSettings(zone=LONDON),
    )
    try:
        assert await follow_ups.forget_expired(now=T0 + RETENTION - timedelta(days=1)) == 0
        expired = await follow_ups.forget_expired(now=T0 + RETENTION + timedelta(days=1))
    finally:
        await units.aclose()
    assert expired == len(EMPLOYERS)
    with Session(engine) as session:
        states = [session.get(Response, response_id) for response_id in response_ids]
        assert all(s is not None and "business_name" not in s.state.answers for s in states)
        assert all(s is not None and "org_sector" in s.state.answers for s in states)
        kept = set(session.exec(select(Answer.question_id)).all())
        assert kept == {"agree", "org_sector", "staff_lacking"}
