"""The audience policy (storage/audience.py): who may be sent a broadcast, a reminder or a
round invitation, the counts of who is left out and why, opting out and back in (with
audit rows), staff members' test runs kept out of lists, exports and analytics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from conversations.loader import builtin_interview_path, load_interview
from conversations.state import InterviewState
from storage import (
    Employer,
    Engine,
    Response,
    Session,
    erase_employer,
    response_records,
    save_state,
    start_response,
)
from storage.analytics_source import answer_columns, response_columns
from storage.audience import (
    describe_left_out,
    left_out_reason,
    may_message,
    opt_in,
    opt_out,
    sort_audience,
)
from storage.broadcasts import audience_report
from storage.followups import open_round, plan_reminders
from storage.roster import employer_listing, status_counts
from storage.staff import audit_entries, seed_analysts, set_role, staff_members

# The profile the built-in interview declares (`profile:` on its questions).
PROFILE = load_interview(builtin_interview_path()).profile

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def person(engine: Engine, user_id: int, **fields: object) -> int:
    """An employer with a Telegram chat who agreed to the notice (fields override)."""
    values: dict[str, object] = {
        "telegram_user_id": user_id,
        "chat_id": user_id,
        "status": "started",
        "consent_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    with Session(engine) as session, session.begin():
        row = Employer(**values)  # type: ignore[arg-type]
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def begin(
    engine: Engine, employer_id: int, *, test: bool = False, status: str = "in_progress"
) -> int:
    with Session(engine) as session, session.begin():
        response = start_response(
            session,
            employer_id=employer_id,
            interview_id="lsip",
            interview_version="1",
            state=InterviewState("lsip", "1", answers={"consent": "yes", "sector": "retail"}),
            source=None,
            now=NOW,
            test=test,
        )
        if status == "completed":
            state = InterviewState("lsip", "1", "completed", {"consent": "yes", "sector": "retail"})
            save_state(session, response=response, state=state, now=NOW, profile=PROFILE)
        assert response.id is not None
        return response.id


def test_each_rule_gives_its_reason_and_the_first_one_wins() -> None:
    def reason(kind: str = "broadcast", staff: bool = False, invitations: int = 0, **kw: object):
        fields: dict[str, object] = {
            "chat_id": 1,
            "telegram_user_id": 1,
            "status": "started",
            "consent_at": NOW,
            "created_at": NOW,
            "updated_at": NOW,
        }
        fields.update(kw)
        employer = Employer(**fields)  # type: ignore[arg-type]
        return left_out_reason(
            employer, kind=kind, staff=staff, invitations=invitations, max_unanswered=2
        )

    assert reason() is None
    assert reason(erased_at=NOW, status="opted_out", chat_id=None) == "erased"
    assert reason(staff=True) == "staff"
    assert reason(status="declined") == "declined"
    assert reason(opted_out_at=NOW) == "opted_out"
    assert reason(status="unreachable") == "unreachable"
    assert reason(status="declined", opted_out_at=NOW) == "declined"
    assert reason(chat_id=None) == "no_chat"
    assert reason(consent_at=None) == "no_consent"
    # Never answered: reminders and invitations within the maximum, then nothing.
    assert reason("reminder", consent_at=None) is None
    assert reason("round_invite", consent_at=None, invitations=1) is None
    assert reason("round_invite", consent_at=None, invitations=2) == "invitations_used"
    assert reason("round_invite", invitations=5) is None  # they answered: no limit
    assert reason("reminder", status="completed") == "completed"


def test_the_broadcast_audience_counts_who_is_left_out_and_why(engine: Engine) -> None:
    person(engine, 1)
    person(engine, 2)
    person(engine, 3, status="declined", consent_at=None)
    person(engine, 4, opted_out_at=NOW, status="opted_out")
    person(engine, 5, status="unreachable")
    person(engine, 6, consent_at=None)
    person(engine, 7, erased_at=NOW, telegram_user_id=None, chat_id=None, status="opted_out")
    person(engine, 8)
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=8, role="staff", added_by="test", now=NOW)
    with Session(engine) as session:
        report = audience_report(session, segment={})
    assert sorted(e.telegram_user_id or 0 for e in report.recipients) == [1, 2]
    assert report.left_out == {
        "erased": 1,
        "staff": 1,
        "declined": 1,
        "opted_out": 1,
        "unreachable": 1,
        "no_consent": 1,
    }
    assert describe_left_out(report.left_out) == (
        "left out: 1 erased at their request, 1 staff, analysts and admins, "
        "1 declined the privacy notice, 1 opted out of messages, "
        "1 unreachable (blocked the bot), 1 not yet agreed to the privacy notice"
    )
    assert describe_left_out({}) == "nobody left out"


def test_opting_out_is_timed_audited_cancels_what_is_pending_and_can_be_taken_back(
    engine: Engine,
) -> None:
    employer_id = person(engine, 11)
    begin(engine, employer_id)
    with Session(engine) as session, session.begin():
        plan_reminders(
            session, due_time=lambda at, n: at + timedelta(days=2), max_reminders=2, now=NOW
        )
        employer = session.get(Employer, employer_id)
        assert employer is not None
        assert opt_out(session, employer=employer, now=NOW) is True
        assert opt_out(session, employer=employer, now=NOW) is False  # once is enough
    with Session(engine) as session:
        employer = session.get(Employer, employer_id)
        assert employer is not None
        assert (employer.status, employer.opted_out_at) == ("opted_out", NOW)
        assert may_message(session, employer, kind="reminder") == "opted_out"
        # Staff see it: counted in /list, with its time in `employers list`.
        assert status_counts(session)["opted_out"] == 1
        assert [e.opted_out_at for e in employer_listing(session)] == [NOW]
        (entry,) = audit_entries(session, action="employer.opt_out")
        assert (entry.actor, entry.detail, entry.count) == (
            "employer",
            f"employer {employer_id}",
            1,
        )
        from storage.followup_models import FollowUp

        assert {f.status for f in session.exec(select(FollowUp))} == {"cancelled"}
    # Answering while opted out keeps the opt-out as their status.
    with Session(engine) as session, session.begin():
        response = session.exec(select(Response)).one()
        state = InterviewState("lsip", "1", answers={"consent": "yes", "sector": "energy"})
        save_state(session, response=response, state=state, now=NOW, profile=PROFILE)
        employer = session.get(Employer, employer_id)
        assert employer is not None
        assert employer.status == "opted_out"
        assert opt_in(session, employer=employer, now=NOW + timedelta(hours=1)) is True
    with Session(engine) as session:
        employer = session.get(Employer, employer_id)
        assert employer is not None
        assert (employer.status, employer.opted_out_at) == ("started", None)
        assert may_message(session, employer, kind="reminder") is None
        assert len(audit_entries(session, action="employer.opt_in")) == 1


def test_erasure_is_audited_with_the_internal_id_only(engine: Engine) -> None:
    employer_id = person(engine, 987_654_321, organisation="Secret Bakery", email="a@b.example")
    with Session(engine) as session, session.begin():
        employer = session.get(Employer, employer_id)
        assert employer is not None
        erase_employer(session, employer=employer, now=NOW)
    with Session(engine) as session:
        (entry,) = audit_entries(session, action="employer.erase")
        assert entry.detail == f"employer {employer_id}"
        assert "987654321" not in f"{entry.actor} {entry.detail}"


def test_staff_runs_are_test_responses_kept_out_of_lists_exports_and_analytics(
    engine: Engine,
) -> None:
    staff_id = person(engine, 21, organisation="Chamber")
    employer_id = person(engine, 22, organisation="Real Ltd")
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=21, role="analyst", added_by="test", now=NOW)
    test_response = begin(engine, staff_id, test=True, status="completed")
    real_response = begin(engine, employer_id, status="completed")
    with Session(engine) as session:
        assert [e.organisation for e in employer_listing(session)] == ["Real Ltd"]
        assert status_counts(session)["completed"] == 1
        assert [r.response_id for r in response_records(session)] == [real_response]
        with_tests = response_records(session, include_test=True)
        assert [r.response_id for r in with_tests] == [test_response, real_response]
    assert list(response_columns(engine)["response_id"]) == [real_response]
    assert set(answer_columns(engine)["response_id"]) == {real_response}
    assert set(answer_columns(engine, include_test=True)["response_id"]) == {
        test_response,
        real_response,
    }
    with Session(engine) as session, session.begin():
        opened = open_round(
            session,
            name="Spring",
            interview_id="lsip",
            interview_version="1",
            interview_path=None,
            segment={},
            opened_by="cli:test",
            now=NOW,
        )
    assert opened.invited == 1  # the employer, not the analyst


def test_someone_who_never_answered_is_invited_only_up_to_the_maximum(engine: Engine) -> None:
    person(engine, 31, consent_at=None)
    invited = []
    for number in range(4):
        with Session(engine) as session, session.begin():
            opened = open_round(
                session,
                name=f"Round {number}",
                interview_id="lsip",
                interview_version="1",
                interview_path=None,
                segment={},
                opened_by="cli:test",
                now=NOW,
                max_unanswered=2,
            )
            invited.append(opened.invited)
    assert invited == [1, 1, 0, 0]
    with Session(engine) as session:
        (employer,) = session.exec(select(Employer)).all()
        report = sort_audience(session, [employer], kind="round_invite", max_unanswered=2)
        assert report.left_out == {"invitations_used": 1}


def test_people_named_only_in_skillsbot_analysts_are_staff_not_employers(engine: Engine) -> None:
    # 61 is in SKILLSBOT_ANALYSTS and pressed Start; 62 is an admin who is also named there;
    # 63 was seeded as an analyst at an earlier start and is no longer named.
    analyst = person(engine, 61)
    person(engine, 62)
    person(engine, 63)
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=62, role="admin", added_by="cli:ops", now=NOW)
        seed_analysts(session, [63], NOW)
    with Session(engine) as session, session.begin():
        assert seed_analysts(session, [61, 62], NOW + timedelta(days=1)) == 2  # 61 in, 63 out
    with Session(engine) as session, session.begin():
        assert seed_analysts(session, [61, 62], NOW + timedelta(days=2)) == 0  # nothing new
        assert {m.telegram_user_id: m.role for m in staff_members(session)} == {
            61: "analyst",
            62: "admin",  # another role is left alone
        }
        audience = audience_report(session, segment={})
        assert [e.telegram_user_id for e in audience.recipients] == [63]
        assert audience.left_out == {"staff": 2}
        assert analyst not in [e.id for e in employer_listing(session)]
        entries = audit_entries(session, limit=10)
        assert [(e.actor, e.action, e.detail) for e in entries if e.actor.endswith("ANALYSTS")] == [
            ("setting:SKILLSBOT_ANALYSTS", "role.unseed", "analyst"),
            ("setting:SKILLSBOT_ANALYSTS", "role.seed", "analyst"),
            ("setting:SKILLSBOT_ANALYSTS", "role.seed", "analyst"),
        ]
