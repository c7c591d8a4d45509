"""The employer's profile comes from what the interview declares, whatever its question ids.

An interview may call its sector question `org_sector` and its organisation question
`business_name`, as long as it declares them (`profile: sector`, `profile: organisation`):
the report then rolls responses up by that sector, without tabling the question again as
if it asked about skills, and the retention job deletes that organisation answer. Nothing
in storage or analytics may know the built-in interview's ids instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from analytics.report import load_frames
from analytics.tables import report_tables
from analytics.weekly import weekly_summary
from analytics.weeks import IsoWeek
from conversations.definition import Interview
from conversations.loader import load_definition_bytes
from conversations.state import InterviewState
from storage import (
    Answer,
    Engine,
    Response,
    chat_transaction,
    employer_for_telegram,
    forget_expired_identifiers,
    start_response,
)
from storage.repositories import RETENTION

DEFINITION = b"""
id: renamed_profile
title: Profile questions with ids of their own
version: "1"
sections:
  - id: about
    title: About your organisation
    questions:
      - id: agree
        type: consent
        label: Do you agree to take part?
      - id: business_name
        type: text
        profile: organisation
        label: What is your organisation called?
      - id: org_sector
        type: select_one
        profile: sector
        label: What does your organisation mainly do?
        choices:
          - {value: manufacturing, label: Making things}
          - {value: care, label: Looking after people}
  - id: skills
    title: Skills
    questions:
      - id: staff_lacking
        type: yes_no
        label: Do any of your staff lack skills they need?
"""
T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # Tuesday of 2026-W10
# (organisation, sector, staff lacking skills) of each employer, all completed.
EMPLOYERS = (
    ("Acme Widgets Ltd", "manufacturing", "yes"),
    ("Bolt Makers Ltd", "manufacturing", "no"),
    ("Kind Hands Care", "care", "yes"),
)


def renamed_interview() -> Interview:
    """The interview above, loaded and checked as an uploaded file is."""
    return load_definition_bytes(DEFINITION, path="renamed_profile.yaml")


def complete(engine: Engine, interview: Interview) -> list[int]:
    """Each employer's completed response, stored as the bot stores them; their ids."""
    response_ids = []
    for number, (organisation, sector, lacking) in enumerate(EMPLOYERS, start=1):
        answers = {
            "agree": "yes",
            "business_name": organisation,
            "org_sector": sector,
            "staff_lacking": lacking,
        }
        state = InterviewState(interview.id, interview.version, "completed", answers)
        with chat_transaction(engine, number) as session:
            employer = employer_for_telegram(
                session, telegram_user_id=number, chat_id=number, now=T0
            )
            assert employer.id is not None
            response = start_response(
                session,
                employer_id=employer.id,
                interview_id=interview.id,
                interview_version=interview.version,
                state=state,
                source=None,
                now=T0,
                profile=interview.profile,
            )
            assert response.id is not None
            response_ids.append(response.id)
    return response_ids


def test_a_sector_question_with_its_own_id_is_rolled_up_by_not_tabled(engine: Engine) -> None:
    interview = renamed_interview()
    complete(engine, interview)
    frames = load_frames(engine, interview, completed_only=True)
    assert sorted(frames.responses["sector"]) == ["care", "manufacturing", "manufacturing"]
    summary = weekly_summary(frames, IsoWeek.containing(T0))
    tables = report_tables(summary, 1, percent_threshold=1)
    names = {cell.table for cell in tables.cells}

    by_sector_completed = {
        c.row: c.value
        for c in tables.cells
        if c.table == "Responses by sector" and c.column == "Completed to date"
    }
    assert by_sector_completed, names
    # "care" is not an ESS sector: only the declared question's choices can name it.
    assert by_sector_completed["Looking after people"] == 1
    assert by_sector_completed["Manufacturing"] == 2
    assert "Do any of your staff lack skills they need? (by sector)" in names
    for profile_label in (
        "What does your organisation mainly do?",
        "What is your organisation called?",
        "Do you agree to take part?",
    ):
        assert not [name for name in names if name.startswith(profile_label)], names
    assert "Acme Widgets Ltd" not in str(tables.cells)


def test_expiry_deletes_the_declared_organisation_answer(engine: Engine) -> None:
    interview = renamed_interview()
    assert interview.identifying == ("business_name",)
    response_ids = complete(engine, interview)
    later = T0 + RETENTION + timedelta(days=1)
    with Session(engine) as session, session.begin():
        forgotten = forget_expired_identifiers(
            session, now=later, identifying_answers=interview.identifying
        )
    assert forgotten == len(EMPLOYERS)
    with Session(engine) as session:
        for response_id, (_, sector, lacking) in zip(response_ids, EMPLOYERS, strict=True):
            response = session.get(Response, response_id)
            assert response is not None
            kept = {"agree": "yes", "org_sector": sector, "staff_lacking": lacking}
            assert response.state.answers == kept
            assert response.state.status == "completed"
            rows = session.exec(select(Answer).where(Answer.response_id == response_id)).all()
            assert {row.question_id: row.value for row in rows} == kept
