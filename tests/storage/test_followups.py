"""The follow-up outbox on SQLite and PostgreSQL: planning, claiming, restarts, rounds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from bot.core.followups import (
    InvalidFollowUpSetting,
    ReminderPolicy,
    parse_delays,
    parse_quiet_hours,
)
from conversations.areas import DEFAULT_AREA
from conversations.engine import InterviewEngine
from conversations.loader import builtin_interview_path, load_interview
from storage import (
    Employer,
    Engine,
    Session,
    chat_transaction,
    employer_for_telegram,
    start_response,
)
from storage.followups import (
    claim_due,
    follow_ups,
    mark_sent,
    open_round,
    opt_out,
    plan_reminders,
    schedule_weekly_reports,
)
from storage.staff import set_role

T = TypeVar("T")


def unit(engine: Engine, work: Callable[..., T], /, **values: Any) -> T:
    """`work(session, **values)` in a short transaction of its own, as `storage.Units` runs
    a sender's or dispatcher's step (committed when this returns)."""
    with chat_transaction(engine, 0, lock_chat=False) as session:
        return work(session, **values)


INTERVIEW = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
ENGINE = InterviewEngine(INTERVIEW)
POLICY = ReminderPolicy(zone=ZoneInfo("Europe/London"))
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # GMT: London time is UTC


def stalled(engine: Engine, user_id: int, at: datetime, **profile: str) -> tuple[int, int]:
    """An employer with a Telegram chat who started the interview at `at` and stopped."""
    with chat_transaction(engine, user_id) as session:
        employer = employer_for_telegram(session, telegram_user_id=user_id, chat_id=user_id, now=at)
        for name, value in profile.items():
            setattr(employer, name, value)
        assert employer.id is not None
        response = start_response(
            session,
            employer_id=employer.id,
            interview_id=INTERVIEW.id,
            interview_version=INTERVIEW.version,
            state=ENGINE.start().state,
            source=None,
            now=at,
        )
        assert response.id is not None
        return employer.id, response.id


def plan(engine: Engine, now: datetime) -> int:
    with Session(engine) as session, session.begin():
        return plan_reminders(
            session, due_time=POLICY.due_time, max_reminders=POLICY.limit, now=now
        )


def send_all(engine: Engine, now: datetime) -> list[int]:
    claimed = unit(engine, claim_due, now=now)
    with Session(engine) as session, session.begin():
        for row in claimed:
            assert row.id is not None
            mark_sent(session, follow_up_id=row.id, now=now)
    return [row.id for row in claimed if row.id is not None]


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=POLICY.zone)


# -- the policy (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (london(2026, 11, 24, 12, 0), london(2026, 11, 24, 12, 0)),  # Tuesday noon: as is
        (london(2026, 11, 24, 21, 0), london(2026, 11, 25, 8, 0)),  # evening: next morning
        (london(2026, 11, 24, 3, 0), london(2026, 11, 24, 8, 0)),  # night: same morning
        (london(2026, 11, 27, 19, 59), london(2026, 11, 27, 19, 59)),  # Friday before 20:00
        (london(2026, 11, 27, 20, 0), london(2026, 11, 30, 8, 0)),  # Friday 20:00: Monday
        (london(2026, 11, 28, 12, 0), london(2026, 11, 30, 8, 0)),  # Saturday: Monday
        # The clocks go forward on Sunday 29 March 2026: Monday 08:00 BST is 07:00 UTC.
        (london(2026, 3, 28, 12, 0), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        # ... and back on Sunday 25 October 2026: Monday 08:00 GMT is 08:00 UTC.
        (london(2026, 10, 23, 20, 30), datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
    ],
)
def test_reminders_keep_out_of_quiet_hours_and_weekends(
    moment: datetime, allowed: datetime
) -> None:
    assert POLICY.allowed_time(moment.astimezone(UTC)) == allowed


def test_weekends_allowed_when_configured() -> None:
    saturday = london(2026, 11, 28, 12, 0).astimezone(UTC)
    assert ReminderPolicy(weekends=True, zone=POLICY.zone).allowed_time(saturday) == saturday


def test_settings_are_read_or_refused_politely() -> None:
    assert parse_delays("2d,5d") == (timedelta(days=2), timedelta(days=5))
    assert parse_delays("30m, 4h") == (timedelta(minutes=30), timedelta(hours=4))
    assert parse_quiet_hours("20:00-08:00")[0].hour == 20
    for bad in ("2x", "5d,2d", ""):
        with pytest.raises(InvalidFollowUpSetting, match="2d,5d"):
            parse_delays(bad)
    with pytest.raises(InvalidFollowUpSetting, match="20:00-08:00"):
        parse_quiet_hours("25:00-08:00")


# -- planning and claiming -----------------------------------------------------------------


def test_reminders_fall_due_at_the_right_times(engine: Engine) -> None:
    _, response_id = stalled(engine, 501, MONDAY)
    assert plan(engine, MONDAY + timedelta(hours=1)) == 1
    assert plan(engine, MONDAY + timedelta(hours=2)) == 0  # never scheduled twice
    first_due = MONDAY + timedelta(days=2)  # Wednesday 10:00
    assert unit(engine, claim_due, now=first_due - timedelta(seconds=1)) == []
    assert len(send_all(engine, first_due)) == 1
    assert plan(engine, first_due) == 1
    second_due = MONDAY + timedelta(days=5)  # Saturday: moves to Monday 08:00
    with Session(engine) as session:
        pending = follow_ups(session, statuses=["pending"])
    assert [row.due_at for row in pending] == [datetime(2026, 11, 30, 8, 0, tzinfo=UTC)]
    assert unit(engine, claim_due, now=second_due) == []
    assert len(send_all(engine, datetime(2026, 11, 30, 8, 0, tzinfo=UTC))) == 1
    assert plan(engine, datetime(2026, 12, 1, tzinfo=UTC)) == 0  # at most two
    with Session(engine) as session:
        sent = follow_ups(session, kinds=["reminder"], statuses=["sent"])
    assert [(row.response_id, row.sequence) for row in sent] == [(response_id, 1), (response_id, 2)]


def test_finished_opted_out_and_unreachable_employers_are_not_planned(engine: Engine) -> None:
    for user_id, status in ((601, "completed"), (602, "unreachable"), (603, "declined")):
        employer_id, _ = stalled(engine, user_id, MONDAY)
        with Session(engine) as session, session.begin():
            employer = session.get(Employer, employer_id)
            assert employer is not None
            employer.status = status
    assert plan(engine, MONDAY) == 0


def test_opting_out_cancels_pending_reminders(engine: Engine) -> None:
    employer_id, _ = stalled(engine, 701, MONDAY)
    plan(engine, MONDAY)
    with Session(engine) as session, session.begin():
        employer = session.get(Employer, employer_id)
        assert employer is not None
        opt_out(session, employer=employer, now=MONDAY)
    assert unit(engine, claim_due, now=MONDAY + timedelta(days=30)) == []
    assert plan(engine, MONDAY + timedelta(days=1)) == 0


def test_answering_again_replans_the_reminder(engine: Engine) -> None:
    _, response_id = stalled(engine, 801, MONDAY)
    plan(engine, MONDAY)
    later = MONDAY + timedelta(days=1)
    with chat_transaction(engine, 801) as session:
        from storage import Response, save_state

        response = session.get(Response, response_id)
        assert response is not None
        save_state(session, response=response, state=response.state, now=later)
    assert plan(engine, later) == 1
    with Session(engine) as session:
        rows = follow_ups(session, kinds=["reminder"])
    assert [(row.status, row.due_at) for row in rows] == [
        ("cancelled", MONDAY + timedelta(days=2)),
        ("pending", later + timedelta(days=2)),
    ]


def test_a_restart_loses_and_repeats_nothing(engine: Engine) -> None:
    stalled(engine, 901, MONDAY)
    plan(engine, MONDAY)
    due = MONDAY + timedelta(days=2)
    first = unit(engine, claim_due, now=due)  # claimed, then the process dies before sending
    assert len(first) == 1
    assert unit(engine, claim_due, now=due + timedelta(minutes=1)) == []  # still being sent
    again = unit(engine, claim_due, now=due + timedelta(minutes=6))  # stale claim: retried
    assert [(row.id, row.attempts) for row in again] == [(first[0].id, 2)]
    with Session(engine) as session, session.begin():
        assert again[0].id is not None
        mark_sent(session, follow_up_id=again[0].id, now=due)
    assert unit(engine, claim_due, now=due + timedelta(days=1)) == []


def test_two_claimers_send_each_follow_up_exactly_once(engine: Engine, database_url: str) -> None:
    from storage import make_engine

    with Session(engine) as session, session.begin():
        schedule_weekly_reports(session, week="2026-W47", chat_ids=range(1, 61), now=MONDAY)
    second = make_engine(database_url)
    claimed: list[list[int]] = [[], []]

    def claimer(index: int, database: Engine) -> None:
        while rows := unit(database, claim_due, now=MONDAY, limit=3):
            claimed[index].extend(row.id for row in rows if row.id is not None)

    threads = [
        threading.Thread(target=claimer, args=(0, engine)),
        threading.Thread(target=claimer, args=(1, second)),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        second.dispose()
    everything = claimed[0] + claimed[1]
    assert len(everything) == 60
    assert len(set(everything)) == 60


def test_a_round_invites_its_segment(engine: Engine) -> None:
    stalled(engine, 1001, MONDAY, sector="manufacturing", district="E07000008")
    stalled(engine, 1002, MONDAY, sector="construction", district="E07000008")
    opted, _ = stalled(engine, 1003, MONDAY, sector="manufacturing")
    with Session(engine) as session, session.begin():
        employer = session.get(Employer, opted)
        assert employer is not None
        opt_out(session, employer=employer, now=MONDAY)
    with Session(engine) as session, session.begin():
        opened = open_round(
            session,
            name="Stage 2",
            interview_id="stage2",
            interview_version="1",
            interview_path=None,
            segment={"sector": ["manufacturing"]},
            opened_by="cli:test",
            now=MONDAY,
        )
    assert opened.invited == 1
    rows = unit(engine, claim_due, now=MONDAY)
    assert [(row.kind, row.round_id) for row in rows] == [("round_invite", opened.round_id)]


def test_employers_the_policy_leaves_out_never_fill_the_planners_batch(engine: Engine) -> None:
    # Two employers who stopped long ago and were then given a staff role (their responses
    # are not test runs): the audience policy leaves them out of reminders. Were they
    # filtered after the query, they would fill a batch of two on every run, and the
    # employer who stopped later would never be planned.
    for user_id in (611, 612):
        stalled(engine, user_id, MONDAY - timedelta(days=1))
        with Session(engine) as session, session.begin():
            set_role(session, telegram_user_id=user_id, role="staff", added_by="t", now=MONDAY)
    waiting, _ = stalled(engine, 613, MONDAY)
    for _ in range(3):
        with Session(engine) as session, session.begin():
            plan_reminders(
                session, due_time=POLICY.due_time, max_reminders=POLICY.limit, now=MONDAY, limit=2
            )
    with Session(engine) as session:
        planned = follow_ups(session, kinds=["reminder"])
    assert [row.employer_id for row in planned] == [waiting]
