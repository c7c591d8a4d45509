"""Every repository function, on every backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, delete, event, text
from sqlmodel import Session, col, select

from conversations.definition import PROFILE_DECLARATIONS
from conversations.state import InterviewState
from storage import (
    Answer,
    Employer,
    Response,
    active_response,
    chat_transaction,
    claim_update,
    completed_answers,
    employer_and_active_response,
    employer_data,
    employer_for_telegram,
    erase_employer,
    expired_employers,
    forget_expired_identifiers,
    get_employer,
    latest_response,
    mark_reachable,
    mark_unreachable,
    profile_from_answers,
    recontact_from_answers,
    record_consent,
    record_refusal,
    response_records,
    save_state,
    set_prompt_message,
    set_prompt_messages,
    start_response,
)
from storage.broadcast_models import BroadcastDelivery
from storage.broadcasts import create_broadcast
from storage.followup_models import FollowUp
from storage.followups import claim_due, mark_sent, plan_reminders
from storage.repositories import RETENTION

# A profile declaration (`profile:` on questions), of the first built-in version and the
# later headcount, so states of either fill the profile.
DECLARED = {
    "headcount": "size_band",
    "org_name": "organisation",
    "sector": "sector",
    "district": "district",
    "size_band": "size_band",
    "role": "role",
    "follow_up": "recontact",
}

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PERSONAL_FIELDS = (
    "telegram_user_id",
    "chat_id",
    "organisation",
    "contact_name",
    "email",
    "phone",
    "sector",
    "district",
    "size_band",
    "role",
    "notes",
    "invite_token_hash",
    "pending_invite_hash",
    "consent_at",
    "consent_version",
)


T = TypeVar("T")


def unit(engine: Engine, work: Callable[..., T], /, **values: Any) -> T:
    """`work(session, **values)` in a short transaction of its own, as `storage.Units` runs
    a sender's or dispatcher's step (committed when this returns)."""
    with chat_transaction(engine, 0, lock_chat=False) as session:
        return work(session, **values)


USER = 5550001


def state(status: str = "in_progress", **answers: Any) -> InterviewState:
    """An engine state of the built-in interview."""
    return InterviewState("lsip_employer", "1", status, answers)


def begin(engine: Engine, *, user: int = USER, source: str | None = "qr-ely") -> tuple[int, int]:
    """An employer with a fresh response; returns (employer id, response id)."""
    with chat_transaction(engine, user) as session:
        employer = employer_for_telegram(session, telegram_user_id=user, chat_id=user, now=T0)
        assert employer.id is not None
        response = start_response(
            session,
            employer_id=employer.id,
            interview_id="lsip_employer",
            interview_version="1",
            state=state(consent="yes"),
            source=source,
            now=T0,
            profile=DECLARED,
        )
        assert response.id is not None
        return employer.id, response.id


def stored_answers(session: Session, response_id: int) -> dict[str, Answer]:
    rows = session.exec(select(Answer).where(Answer.response_id == response_id))
    return {answer.question_id: answer for answer in rows}


def test_claim_update_records_each_update_once(engine: Engine) -> None:
    with chat_transaction(engine, 1) as session:
        assert claim_update(session, update_id=10, chat_id=1, now=T0)
        assert not claim_update(session, update_id=10, chat_id=1, now=T0)
    with chat_transaction(engine, 1) as session:
        assert not claim_update(session, update_id=10, chat_id=1, now=T0)
        assert claim_update(session, update_id=2**40, chat_id=None, now=T0)


def test_a_rolled_back_claim_can_be_claimed_again(engine: Engine) -> None:
    def failing_handler() -> None:
        with chat_transaction(engine, 1) as session:
            assert claim_update(session, update_id=11, chat_id=1, now=T0)
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        failing_handler()
    with chat_transaction(engine, 1) as session:
        assert claim_update(session, update_id=11, chat_id=1, now=T0)


def test_employer_for_telegram_gets_or_creates(engine: Engine) -> None:
    with chat_transaction(engine, USER) as session:
        created = employer_for_telegram(session, telegram_user_id=USER, chat_id=USER, now=T0)
        assert created.status == "listed"
        assert created.created_at == T0
    later = T0 + timedelta(days=1)
    with chat_transaction(engine, -100) as session:
        again = employer_for_telegram(session, telegram_user_id=USER, chat_id=-100, now=later)
        assert again.id == created.id
        assert again.chat_id == -100
        assert again.updated_at == later
        assert get_employer(session, employer_id=created.id or 0) == again
        assert get_employer(session, employer_id=999_999) is None
        assert len(session.exec(select(Employer)).all()) == 1


def test_start_response_and_find_it(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    with Session(engine) as session:
        response = active_response(session, employer_id=employer_id)
        assert response is not None
        assert response.id == response_id
        assert response.status == "in_progress"
        assert response.source == "qr-ely"
        assert response.state == state(consent="yes")
        assert latest_response(session, employer_id=employer_id) == response
        assert set(stored_answers(session, response_id)) == {"consent"}
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        assert employer.status == "started"


def test_active_and_latest_response_after_completion(engine: Engine) -> None:
    employer_id, first_id = begin(engine)
    later = T0 + timedelta(hours=1)
    with chat_transaction(engine, USER) as session:
        first = session.get(Response, first_id)
        assert first is not None
        save_state(session, response=first, state=state("completed", consent="yes"), now=later)
    with Session(engine) as session:
        assert active_response(session, employer_id=employer_id) is None
        latest = latest_response(session, employer_id=employer_id)
        assert latest is not None
        assert latest.id == first_id
        assert latest.status == "completed"
        assert latest.completed_at == later
    with chat_transaction(engine, USER) as session:
        second = start_response(
            session,
            employer_id=employer_id,
            interview_id="lsip_employer",
            interview_version="1",
            state=state(),
            source=None,
            now=later + timedelta(days=1),
        )
    with Session(engine) as session:
        assert active_response(session, employer_id=employer_id) == second
        assert latest_response(session, employer_id=employer_id) == second
        assert latest_response(session, employer_id=424242) is None


def test_employer_and_active_response_in_one_query(engine: Engine) -> None:
    """The same employer and response as `employer_for_telegram` + `active_response`: the
    newest response in progress (not a newer completed one), None when there is none, and
    a new employer created on first contact."""
    with chat_transaction(engine, 555) as session:
        new, none = employer_and_active_response(session, telegram_user_id=555, chat_id=555, now=T0)
        assert new.id is not None
        assert new.status == "listed"
        assert none is None
    employer_id, older_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        newer, done = (
            start_response(
                session,
                employer_id=employer_id,
                interview_id="lsip_employer",
                interview_version="1",
                state=state(),
                source=None,
                now=T0 + timedelta(minutes=minutes),
            )
            for minutes in (1, 2)
        )
        save_state(session, response=done, state=state("completed"), now=T0)
    later = T0 + timedelta(hours=1)
    with chat_transaction(engine, -7) as session:
        employer, response = employer_and_active_response(
            session, telegram_user_id=USER, chat_id=-7, now=later
        )
        assert employer.id == employer_id
        assert (employer.chat_id, employer.updated_at) == (-7, later)  # moved chat
        assert response is not None
        assert response.id == newer.id != older_id
        assert response == active_response(session, employer_id=employer_id)
        save_state(session, response=response, state=state("completed"), now=later)
    with chat_transaction(engine, -7) as session:
        _, response = employer_and_active_response(
            session, telegram_user_id=USER, chat_id=-7, now=later
        )
        assert response is not None
        assert response.id == older_id
    with Session(engine) as session:
        assert session.get(Employer, employer_id).chat_id == -7  # type: ignore[union-attr]


def test_save_state_syncs_answers(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        save_state(
            session,
            response=response,
            state=state(
                "review",
                consent="yes",
                staff=12,
                turnover=1.5,
                skills=["digital", "welding"],
                hard_to_fill="yes",
            ),
            now=t1,
        )
    with Session(engine) as session:
        answers = stored_answers(session, response_id)
        assert answers["staff"].value == 12
        assert answers["staff"].value_number == 12.0
        assert answers["staff"].value_text == "12"
        assert answers["turnover"].value_number == 1.5
        assert answers["skills"].value == ["digital", "welding"]
        assert answers["skills"].value_text == "digital;welding"
        assert answers["skills"].value_number is None
        assert answers["hard_to_fill"].value_text == "yes"
        assert answers["consent"].answered_at == T0
        assert answers["staff"].answered_at == t1
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        save_state(
            session,
            response=response,
            state=state("in_progress", consent="yes", staff=14, skills=["digital", "welding"]),
            now=t2,
        )
    with Session(engine) as session:
        answers = stored_answers(session, response_id)
        assert set(answers) == {"consent", "staff", "skills"}  # two deleted
        assert answers["staff"].value == 14
        assert answers["staff"].answered_at == t2  # changed
        assert answers["skills"].answered_at == t1  # unchanged
        response = session.get(Response, response_id)
        assert response is not None
        assert response.status == "in_progress"
        assert response.updated_at == t2
        assert response.state.answers["staff"] == 14
        assert employer_id == response.employer_id


def test_an_answer_is_saved_in_one_statement_on_postgresql(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        save_state(session, response=response, state=state(consent="yes", staff=3), now=T0)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    later = T0 + timedelta(minutes=1)
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        employer = get_employer(session, employer_id=employer_id)  # loaded, as the bot has it
        assert employer is not None
        event.listen(engine, "before_cursor_execute", count)
        try:
            new_state = state(consent="yes", staff=3, skills=["digital"], skills_other="CNC")
            save_state(session, response=response, state=new_state, now=later)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    # The response's UPDATE and the answers' upsert: one round trip on PostgreSQL.
    assert len(statements) == (1 if engine.dialect.name == "postgresql" else 2), statements
    with Session(engine) as session:
        answers = stored_answers(session, response_id)
        assert {qid: (a.value, a.value_text, a.answered_at) for qid, a in answers.items()} == {
            "consent": ("yes", "yes", T0),
            "staff": (3, "3", T0),
            "skills": (["digital"], "digital", later),
            "skills_other": ("CNC", "CNC", later),
        }
        assert answers["staff"].value_number == 3.0
        saved = session.get(Response, response_id)
        assert saved is not None
        assert (saved.updated_at, saved.state.answers["skills_other"]) == (later, "CNC")


def test_save_state_copies_profile_and_recontact_onto_the_employer(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    profile = {
        "org_name": "Fenland Fabrication Ltd",
        "sector": "manufacturing",
        "district": "E07000010",
        "size_band": "10-24",
        "role": "Owner",
    }
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        save_state(
            session,
            response=response,
            state=state("completed", consent="yes", follow_up="no", **profile),
            now=T0,
            profile=DECLARED,
        )
    with Session(engine) as session:
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        assert employer.organisation == "Fenland Fabrication Ltd"
        assert employer.sector == "manufacturing"
        assert employer.district == "E07000010"
        assert employer.size_band == "10-24"
        assert employer.role == "Owner"
        assert employer.recontact_opt_in is False
        assert employer.status == "completed"


def test_save_state_refuses_an_unknown_status(engine: Engine) -> None:
    _, response_id = begin(engine)
    with Session(engine) as session:
        response = session.get(Response, response_id)
        assert response is not None
        with pytest.raises(ValueError, match="unknown interview state status 'paused'"):
            save_state(session, response=response, state=state("paused"), now=T0)


def test_record_consent(engine: Engine) -> None:
    with chat_transaction(engine, USER) as session:
        employer = employer_for_telegram(session, telegram_user_id=USER, chat_id=USER, now=T0)
        record_consent(session, employer=employer, version="privacy-2025-01", now=T0)
    with Session(engine) as session:
        stored = get_employer(session, employer_id=employer.id or 0)
        assert stored is not None
        assert stored.consent_at == T0
        assert stored.consent_version == "privacy-2025-01"


def test_record_refusal_keeps_only_the_refusal(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        employer = get_employer(session, employer_id=employer_id)
        response = session.get(Response, response_id)
        assert employer is not None
        assert response is not None
        record_consent(session, employer=employer, version="v1", now=T0)
        record_refusal(session, employer=employer, response=response, now=T0)
    with Session(engine) as session:
        response = session.get(Response, response_id)
        employer = get_employer(session, employer_id=employer_id)
        assert response is not None
        assert employer is not None
        assert response.status == "declined"
        assert response.state.answers == {}
        assert stored_answers(session, response_id) == {}
        assert employer.status == "declined"
        assert employer.consent_at is None


def test_a_state_stored_before_it_was_a_type_loads_and_is_written_back_the_same(
    engine: Engine,
) -> None:
    """A row written while the state was a dict (its JSON, here by hand, with a wording and
    a key this version does not know) reads back as an `InterviewState`, and saving it
    writes the same JSON."""
    old = {
        "interview_id": "lsip_employer",
        "version": "1",
        "status": "in_progress",
        "answers": {"consent": "yes"},
        "current": "org_name",
        "selected": None,
        "follow_up": False,
        "language": "Cymraeg",
        "later": [1, 2],
    }
    _, response_id = begin(engine)
    as_json = "CAST(:state AS JSON)" if engine.dialect.name == "postgresql" else ":state"
    with chat_transaction(engine, USER) as session:
        session.execute(
            text(f"UPDATE response SET state = {as_json} WHERE id = :id"),
            {"state": json.dumps(old), "id": response_id},
        )
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        assert response.state == InterviewState.from_json(old)
        assert (response.state.language, response.state.extra) == ("Cymraeg", {"later": [1, 2]})
        moved = replace(response.state, current="role")
        save_state(session, response=response, state=moved, now=T0)
    with Session(engine) as session:
        stored = session.execute(
            text("SELECT state FROM response WHERE id = :id"), {"id": response_id}
        ).scalar_one()
    assert (json.loads(stored) if isinstance(stored, str) else stored) == {**old, "current": "role"}


def test_a_refusal_is_stored_as_the_engines_own_declined_state(engine: Engine) -> None:
    from conversations.engine import InterviewEngine
    from conversations.events import Resume
    from conversations.loader import builtin_interview_path, load_interview

    first = load_interview(builtin_interview_path().parent / "earlier" / "lsip_employer.v1.yaml")
    assert (first.id, first.version) == ("lsip_employer", "1")  # what `begin` starts
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        employer = get_employer(session, employer_id=employer_id)
        response = session.get(Response, response_id)
        assert employer is not None
        assert response is not None
        record_refusal(session, employer=employer, response=response, now=T0)
    with Session(engine) as session:
        response = session.get(Response, response_id)
        assert response is not None
        # The engine reads it back as a declined interview (a hand-written dict it could not).
        step = InterviewEngine(first).handle(response.state, Resume())
        assert step.state.status == "declined"
        assert step.state.answers == {}


def test_an_unreachable_employer_who_writes_again_takes_their_responses_status(
    engine: Engine,
) -> None:
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        save_state(session, response=response, state=state("completed", consent="yes"), now=T0)
        mark_unreachable(session, chat_id=USER, now=T0)
    newcomer, _ = begin(engine, user=USER + 1)
    with chat_transaction(engine, USER + 1) as session:
        session.execute(delete(Response).where(col(Response.employer_id) == newcomer))
        mark_unreachable(session, chat_id=USER + 1, now=T0)
    for who, expected in ((employer_id, "completed"), (newcomer, "invited")):
        with chat_transaction(engine, USER) as session:
            employer = get_employer(session, employer_id=who)
            assert employer is not None
            assert employer.status == "unreachable"
            mark_reachable(session, employer=employer, now=T0 + timedelta(days=1))
        with Session(engine) as session:
            employer = get_employer(session, employer_id=who)
            assert employer is not None
            assert (employer.status, employer.updated_at) == (expected, T0 + timedelta(days=1))
    with chat_transaction(engine, USER) as session:  # any other status is left alone
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        employer.status = "opted_out"
        mark_reachable(session, employer=employer, now=T0)
        assert employer.status == "opted_out"


def test_erasure_cancels_and_blanks_their_reminders_and_broadcast_deliveries(
    engine: Engine,
) -> None:
    employer_id, response_id = begin(engine)
    with Session(engine) as session, session.begin():
        # A reminder sent, and the next one planned (both name the response).
        plan_reminders(
            session, due_time=lambda last, n: last + timedelta(days=n), max_reminders=3, now=T0
        )
        sent = session.exec(select(FollowUp)).one()
        mark_sent(session, follow_up_id=sent.id, now=T0 + timedelta(days=1))
        session.get(Response, response_id).updated_at = T0 + timedelta(days=1)
        plan_reminders(
            session, due_time=lambda last, n: last + timedelta(days=n), max_reminders=3, now=T0
        )
        # One broadcast delivered to them, another not yet.
        for message in ("Skills fair on Friday", "Survey closes soon"):
            row = create_broadcast(session, text=message, segment={}, created_by="staff", now=T0)
            session.flush()
            session.add(
                BroadcastDelivery(broadcast_id=row.id, employer_id=employer_id, chat_id=USER)
            )
        first = session.exec(select(BroadcastDelivery)).first()
        first.status = "sent"
    with chat_transaction(engine, USER) as session:
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        erase_employer(session, employer=employer, now=T0 + timedelta(days=2))
    with Session(engine) as session:
        reminders = session.exec(select(FollowUp).order_by(col(FollowUp.id))).all()
        assert [(r.status, r.response_id, r.chat_id) for r in reminders] == [
            ("sent", None, None),
            ("cancelled", None, None),
        ]
        deliveries = session.exec(select(BroadcastDelivery).order_by(col(BroadcastDelivery.id)))
        assert [(d.status, d.chat_id) for d in deliveries] == [("sent", None), ("cancelled", None)]
        dump = " ".join(
            str(row)
            for table in ("follow_up", "broadcast_delivery")
            for row in session.execute(text(f"SELECT * FROM {table}")).all()
        )
        assert str(USER) not in dump
    assert unit(engine, claim_due, now=T0 + timedelta(days=30)) == []


def test_identifiers_are_forgotten_three_years_after_the_last_activity(engine: Engine) -> None:
    from conversations.loader import builtin_interview_path, load_interview

    identifying = load_interview(builtin_interview_path()).identifying
    assert identifying == ("org_name",)  # as the built-in interview declares it

    def forget(session: Session, now: datetime, **only: Any) -> int:
        return forget_expired_identifiers(session, now=now, identifying_answers=identifying, **only)

    old_id, old_response = begin(engine)
    recent_id, _ = begin(engine, user=USER + 1)
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, old_response)
        employer = get_employer(session, employer_id=old_id)
        assert response is not None
        assert employer is not None
        employer.email, employer.contact_name = "owner@fenland.example", "Sam Smith"
        answers = {"consent": "yes", "org_name": "Fenland Fabrication", "sector": "C"}
        save_state(
            session,
            response=response,
            state=state("completed", **answers),
            now=T0,
            profile=DECLARED,
        )
        claim_update(session, update_id=501, chat_id=USER, now=T0)
    just_before = T0 + RETENTION - timedelta(days=1)
    with chat_transaction(engine, USER + 1) as session:  # active until recently
        recent = get_employer(session, employer_id=recent_id)
        assert recent is not None
        recent.organisation, recent.updated_at = "Still Here Ltd", just_before
    later = T0 + RETENTION + timedelta(days=1)
    with Session(engine) as session:
        assert expired_employers(session, now=later) == [(old_id, USER)]
    with chat_transaction(engine, USER) as session:  # they come back before their turn...
        response = session.get(Response, old_response)
        assert response is not None
        response.updated_at = later
    with chat_transaction(engine, USER) as session:  # ...so the job, re-checking, spares them
        assert forget(session, later, employer_ids=[old_id]) == 0
        response = session.get(Response, old_response)
        assert response is not None
        response.updated_at = T0
    with Session(engine) as session, session.begin():
        assert forget(session, just_before) == 0
        assert forget(session, later) == 1
        assert forget(session, later) == 0
    with Session(engine) as session:
        employer = get_employer(session, employer_id=old_id)
        assert employer is not None
        for name in ("telegram_user_id", "chat_id", "organisation", "email", "contact_name"):
            assert getattr(employer, name) is None, name
        # Kept: the anonymous answers, the profile categories, the consent and the status.
        assert (employer.sector, employer.status, employer.erased_at) == ("C", "completed", later)
        response = session.get(Response, old_response)
        assert response is not None
        assert response.state.answers == {"consent": "yes", "sector": "C"}
        assert set(stored_answers(session, old_response)) == {"consent", "sector"}
        dump = " ".join(
            str(row)
            for table in ("employer", "response", "answer", "inbox_update")
            for row in session.execute(text(f"SELECT * FROM {table}")).all()
        )
        for personal in ("Fenland Fabrication", "owner@", "Sam Smith", str(USER) + ","):
            assert personal not in dump, personal
        still = get_employer(session, employer_id=recent_id)
        assert still is not None
        assert (still.organisation, still.erased_at) == ("Still Here Ltd", None)


def test_erase_employer_leaves_no_personal_data(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        claim_update(session, update_id=77, chat_id=USER, now=T0)
        employer = get_employer(session, employer_id=employer_id)
        response = session.get(Response, response_id)
        assert employer is not None
        assert response is not None
        employer.email = "owner@fenland.example"
        employer.phone = "01354 000000"
        employer.contact_name = "Sam Smith"
        employer.notes = "Met at the Ely jobs fair"
        employer.invite_token_hash = "a" * 64
        employer.pending_invite_hash = "b" * 64
        record_consent(session, employer=employer, version="v1", now=T0)
        save_state(
            session,
            response=response,
            state=state("completed", consent="yes", org_name="Fenland Fabrication", role="MD"),
            now=T0,
            profile=DECLARED,
        )
    erased_at = T0 + timedelta(days=2)
    with chat_transaction(engine, USER) as session:
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        erase_employer(session, employer=employer, now=erased_at)
    with Session(engine) as session:
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        assert employer.status == "opted_out"
        assert employer.erased_at == erased_at
        assert employer.recontact_opt_in is False
        for name in PERSONAL_FIELDS:
            assert getattr(employer, name) is None, name
        assert session.exec(select(Response)).all() == []
        assert session.exec(select(Answer)).all() == []
        # Nothing that names the employer remains anywhere in the database.
        dump = " ".join(
            str(row)
            for table in ("employer", "response", "answer", "inbox_update")
            for row in session.execute(text(f"SELECT * FROM {table}")).all()
        )
        for personal in ("Fenland", "owner@", "01354", "Sam Smith", "Ely", str(USER), "tok-123"):
            assert personal not in dump
    with chat_transaction(engine, USER) as session:  # a re-delivered update still changes nothing
        assert not claim_update(session, update_id=77, chat_id=USER, now=erased_at)
        fresh = employer_for_telegram(session, telegram_user_id=USER, chat_id=USER, now=erased_at)
        assert fresh.id != employer_id


def test_employer_data_shows_everything_stored(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        employer = get_employer(session, employer_id=employer_id)
        response = session.get(Response, response_id)
        assert employer is not None
        assert response is not None
        record_consent(session, employer=employer, version="v1", now=T0)
        save_state(
            session,
            response=response,
            state=state("in_progress", consent="yes", org_name="Acme", skills=["digital"]),
            now=T0,
            profile=DECLARED,
        )
        data = employer_data(session, employer=employer)
    assert data["profile"]["organisation"] == "Acme"
    assert data["telegram_user_id"] == USER
    assert data["consent"] == {"at": T0, "version": "v1"}
    assert data["status"] == "started"
    [only] = data["responses"]
    assert only["id"] == response_id
    assert only["status"] == "in_progress"
    assert only["answers"] == {"consent": "yes", "org_name": "Acme", "skills": ["digital"]}


def test_set_prompt_message_only_moves_forward(engine: Engine) -> None:
    _, response_id = begin(engine)
    big_message_id = 2**33
    with chat_transaction(engine, USER, lock_chat=False) as session:
        set_prompt_message(session, response_id=response_id, message_id=big_message_id)
    with chat_transaction(engine, USER, lock_chat=False) as session:  # a late, older write
        set_prompt_message(session, response_id=response_id, message_id=big_message_id - 1)
    with Session(engine) as session:
        response = session.get(Response, response_id)
        assert response is not None
        assert response.prompt_message_id == big_message_id


def test_set_prompt_messages_writes_a_batch_forward_only(engine: Engine) -> None:
    _, first = begin(engine)
    _, second = begin(engine, user=USER + 1)
    with chat_transaction(engine, USER, lock_chat=False) as session:
        set_prompt_message(session, response_id=first, message_id=50)
    with chat_transaction(engine, USER, lock_chat=False) as session:
        set_prompt_messages(session, {first: 40, second: 7})  # 40 is older than 50
    with Session(engine) as session:
        shown = {rid: session.get(Response, rid) for rid in (first, second)}
        assert {rid: row.prompt_message_id for rid, row in shown.items() if row} == {
            first: 50,
            second: 7,
        }


def test_mark_unreachable(engine: Engine) -> None:
    employer_id, _ = begin(engine)
    other_id, _ = begin(engine, user=USER + 1)
    with chat_transaction(engine, USER) as session:
        mark_unreachable(session, chat_id=USER, now=T0 + timedelta(days=3))
    with Session(engine) as session:
        employer = get_employer(session, employer_id=employer_id)
        other = get_employer(session, employer_id=other_id)
        assert employer is not None
        assert other is not None
        assert employer.status == "unreachable"
        assert employer.updated_at == T0 + timedelta(days=3)
        assert other.status == "started"


def test_response_records_and_completed_answers(engine: Engine) -> None:
    _, done_id = begin(engine)
    _, open_id = begin(engine, user=USER + 1)
    with chat_transaction(engine, USER) as session:
        done = session.get(Response, done_id)
        assert done is not None
        save_state(
            session,
            response=done,
            state=state("completed", consent="yes", sector="construction", staff=3),
            now=T0 + timedelta(hours=1),
            profile=DECLARED,
        )
    with Session(engine) as session:
        [record] = response_records(session)
        assert record.response_id == done_id
        assert record.sector == "construction"
        assert record.answers == {"consent": "yes", "sector": "construction", "staff": 3}
        assert record.completed_at == T0 + timedelta(hours=1)
        everything = response_records(session, statuses=None)
        assert [r.response_id for r in everything] == [done_id, open_id]
        assert response_records(session, interview_id="another") == []
        answers = completed_answers(session)
        assert {(a.question_id, a.value_text) for a in answers} == {
            ("consent", "yes"),
            ("sector", "construction"),
            ("staff", "3"),
        }
        assert all(a.sector == "construction" for a in answers)


@pytest.mark.parametrize(
    ("headcount", "band"), [(1, "1"), (4, "2-4"), (60, "50-99"), (900, "250+")]
)
def test_save_state_derives_the_size_band_from_the_headcount(
    engine: Engine, headcount: int, band: str
) -> None:
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        save_state(
            session,
            response=response,
            state=state("in_progress", consent="yes", headcount=headcount),
            now=T0,
            profile=DECLARED,
        )
    with Session(engine) as session:
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        assert employer.size_band == band


def test_profile_and_recontact_questions_exist_in_the_builtin_interview() -> None:
    # The profile is filled from the answers the interview declares (`profile:`): the built-in
    # interview declares every field, the size band through the headcount, and the
    # recontact opt-in through its yes/no follow-up question.
    from conversations.loader import builtin_interview_path, load_interview

    interview = load_interview(builtin_interview_path())
    assert interview.recontact == "follow_up"
    assert interview.question("follow_up").type == "yes_no"
    assert sorted(interview.profile.values()) == sorted(PROFILE_DECLARATIONS)
    assert interview.profile["headcount"] == "size_band"


def test_the_recontact_opt_in_follows_the_interviews_declaration(engine: Engine) -> None:
    employer_id, response_id = begin(engine)
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        # follow_up is not declared here: its answer changes nothing.
        undeclared = state(consent="yes", follow_up="yes", call_back="no")
        save_state(session, response=response, state=undeclared, now=T0, profile={})
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        assert employer.recontact_opt_in is None
        declared = {"call_back": "recontact"}
        save_state(session, response=response, state=undeclared, now=T0, profile=declared)
    with Session(engine) as session:
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        assert employer.recontact_opt_in is False


def test_recontact_from_answers_reads_only_a_yes_or_no() -> None:
    declared = {"call_back": "recontact", "org_name": "organisation"}
    assert recontact_from_answers(declared, {"call_back": "yes"}) is True
    assert recontact_from_answers(declared, {"call_back": "no"}) is False
    assert recontact_from_answers(declared, {"org_name": "yes"}) is None
    assert recontact_from_answers({}, {"call_back": "yes"}) is None
    # Not a profile field: the employer's profile never gets a "recontact" column.
    assert profile_from_answers(declared, {"call_back": "yes"}) == {}


def test_the_profile_follows_the_interviews_declaration_not_question_ids(
    engine: Engine,
) -> None:
    employer_id, response_id = begin(engine)
    answers = {
        "consent": "yes",
        "org_name": "Not Declared Ltd",
        "business": "construction",
        "staff": 30,
    }
    declared = {"business": "sector", "staff": "size_band"}
    with chat_transaction(engine, USER) as session:
        response = session.get(Response, response_id)
        assert response is not None
        save_state(session, response=response, state=state(**answers), now=T0, profile=declared)
    with Session(engine) as session:
        employer = get_employer(session, employer_id=employer_id)
        assert employer is not None
        assert (employer.sector, employer.size_band) == ("construction", "25-49")
        assert employer.organisation is None  # org_name is not declared here


def test_profile_from_answers_bands_only_a_size_band_number() -> None:
    declared = {"org_name": "organisation", "headcount": "size_band", "staff": "role"}
    answers = {"org_name": "Fen Ltd", "headcount": 1, "staff": 7}
    assert profile_from_answers(declared, answers) == {"organisation": "Fen Ltd", "size_band": "1"}
    assert profile_from_answers({}, answers) == {}
