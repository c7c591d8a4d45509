"""Broadcast storage on SQLite and PostgreSQL: audience, delivery rows, claims, resume, cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlmodel import select

from storage import Employer, Engine, Session
from storage.broadcasts import (
    audience,
    broadcasts_to_run,
    cancel_broadcast,
    claim_next,
    create_broadcast,
    deliveries,
    delivery_counts,
    finish_broadcast,
    finish_delivery,
    get_broadcast,
    heartbeat,
    recent_twins,
    release_delivery,
    requeue_unknown,
    segment_values,
    take_over,
    unknown_deliveries,
)
from storage.db import chat_transaction
from storage.repositories import mark_unreachable
from storage.staff import audit_entries, set_role
from tests.factories import add_consented_employers

T = TypeVar("T")


def unit(engine: Engine, work: Callable[..., T], /, **values: Any) -> T:
    """`work(session, **values)` in a short transaction of its own, as `storage.Units` runs
    a sender's or dispatcher's step (committed when this returns)."""
    with chat_transaction(engine, 0, lock_chat=False) as session:
        return work(session, **values)


NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def add_employers(engine: Engine, count: int, *, first_chat: int = 1000, **profile: str) -> None:
    """`count` employers with Telegram chats and this profile."""
    with Session(engine) as session, session.begin():
        add_consented_employers(session, range(first_chat, first_chat + count), now=NOW, **profile)


def new_broadcast(engine: Engine, **segment: list[str]) -> int:
    with Session(engine) as session, session.begin():
        row = create_broadcast(
            session, text="News", segment=segment, created_by="cli:test", now=NOW
        )
        assert row.id is not None
        return row.id


def test_audience_filters_and_excludes_unreachable_opted_out_erased_and_chatless(
    engine: Engine,
) -> None:
    add_employers(engine, 3, sector="construction", district="E07000008")
    add_employers(engine, 2, first_chat=2000, sector="manufacturing", size_band="10-24")
    add_employers(engine, 1, first_chat=3000, sector="construction", status="unreachable")
    add_employers(engine, 1, first_chat=3100, sector="construction", status="opted_out")
    with Session(engine) as session, session.begin():
        session.add(Employer(sector="construction", created_at=NOW, updated_at=NOW))
        session.add(
            Employer(
                chat_id=4000, sector="construction", erased_at=NOW, created_at=NOW, updated_at=NOW
            )
        )
    with Session(engine) as session:
        assert len(audience(session, segment={})) == 5
        assert len(audience(session, segment={"sector": ["construction"]})) == 3
        assert len(audience(session, segment={"size": ["10-24"], "sector": []})) == 2
        both = {"sector": ["construction", "manufacturing"], "district": ["E07000008"]}
        assert len(audience(session, segment=both)) == 3
        assert segment_values(session, field="sector") == [
            ("construction", 3),
            ("manufacturing", 2),
        ]
        with pytest.raises(ValueError, match="cannot filter"):
            audience(session, segment={"colour": ["red"]})


def test_creating_audits_and_starting_makes_one_row_per_recipient(engine: Engine) -> None:
    add_employers(engine, 4, sector="construction")
    add_employers(engine, 2, first_chat=2000, sector="education")
    broadcast_id = new_broadcast(engine, sector=["construction"])
    with Session(engine) as session:
        entry = audit_entries(session, action="broadcast.send")[0]
    assert (entry.actor, entry.count) == ("cli:test", 4)
    assert "sector=construction" in entry.detail
    started = unit(engine, take_over, broadcast_id=broadcast_id, owner="a", now=NOW)
    assert started is not None
    assert started.recipients == 4
    with Session(engine) as session:
        rows = deliveries(session, broadcast_id=broadcast_id)
    assert [r.status for r in rows] == ["pending"] * 4
    assert sorted(r.chat_id for r in rows) == [1000, 1001, 1002, 1003]


def test_claims_each_row_once_and_records_outcomes(engine: Engine) -> None:
    add_employers(engine, 3)
    broadcast_id = new_broadcast(engine)
    unit(engine, take_over, broadcast_id=broadcast_id, owner="a", now=NOW)
    claims = [
        unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=NOW) for _ in range(4)
    ]
    assert claims[3] is None
    first, second, third = (c for c in claims if c is not None)
    assert len({first.delivery_id, second.delivery_id, third.delivery_id}) == 3
    unit(
        engine, finish_delivery, delivery_id=first.delivery_id, status="sent", now=NOW, message_id=7
    )
    unit(engine, finish_delivery, delivery_id=second.delivery_id, status="unreachable", now=NOW)
    assert not unit(engine, finish_broadcast, broadcast_id=broadcast_id, owner="a", now=NOW)
    unit(
        engine,
        finish_delivery,
        delivery_id=third.delivery_id,
        status="failed",
        now=NOW,
        error="5xx",
    )
    assert unit(engine, finish_broadcast, broadcast_id=broadcast_id, owner="a", now=NOW)
    with Session(engine) as session:
        assert delivery_counts(session, broadcast_id=broadcast_id) == {
            "sent": 1,
            "unreachable": 1,
            "failed": 1,
        }
        blocked = session.get(Employer, second.employer_id)
        assert blocked is not None
        assert blocked.status == "unreachable"
        done = get_broadcast(session, broadcast_id=broadcast_id)
        assert done is not None
        assert done.status == "done"


def test_a_live_owner_keeps_it_and_a_dead_ones_claims_become_unknown(engine: Engine) -> None:
    add_employers(engine, 3)
    broadcast_id = new_broadcast(engine)
    unit(engine, take_over, broadcast_id=broadcast_id, owner="a", now=NOW)
    sent = unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=NOW)
    assert sent is not None
    unit(engine, finish_delivery, delivery_id=sent.delivery_id, status="sent", now=NOW)
    # then "a" crashes with this one in flight
    in_flight = unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=NOW)
    assert in_flight is not None
    soon = NOW + timedelta(seconds=5)
    assert unit(engine, take_over, broadcast_id=broadcast_id, owner="b", now=soon) is None
    with Session(engine) as session:
        assert broadcasts_to_run(session, now=soon) == []
    later = NOW + timedelta(minutes=2)
    with Session(engine) as session:
        assert broadcasts_to_run(session, now=later) == [broadcast_id]
    assert unit(engine, take_over, broadcast_id=broadcast_id, owner="b", now=later) is not None
    assert unit(engine, heartbeat, broadcast_id=broadcast_id, owner="a", now=later) is None
    assert unit(engine, heartbeat, broadcast_id=broadcast_id, owner="b", now=later) == "sending"
    # The old owner, were it still running, can claim nothing behind b's back.
    assert unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=later) is None
    resumed = unit(engine, claim_next, broadcast_id=broadcast_id, owner="b", now=later)
    assert resumed is not None
    assert unit(engine, claim_next, broadcast_id=broadcast_id, owner="b", now=later) is None
    unit(engine, finish_delivery, delivery_id=resumed.delivery_id, status="sent", now=later)
    assert unit(engine, finish_broadcast, broadcast_id=broadcast_id, owner="b", now=later)
    with Session(engine) as session:
        counts = delivery_counts(session, broadcast_id=broadcast_id)
    assert counts == {"sent": 2, "unknown": 1}  # the ambiguous one is never sent again


def test_cancelling_stops_claims_and_scheduled_ones_wait_for_their_time(engine: Engine) -> None:
    add_employers(engine, 3)
    running = new_broadcast(engine)
    unit(engine, take_over, broadcast_id=running, owner="a", now=NOW)
    assert unit(engine, claim_next, broadcast_id=running, owner="a", now=NOW) is not None
    with Session(engine) as session, session.begin():
        assert cancel_broadcast(session, broadcast_id=running, actor="cli:test", now=NOW)
        assert not cancel_broadcast(session, broadcast_id=running, actor="cli:test", now=NOW)
    assert unit(engine, claim_next, broadcast_id=running, owner="a", now=NOW) is None
    assert unit(engine, heartbeat, broadcast_id=running, owner="a", now=NOW) == "cancelled"
    with Session(engine) as session:
        assert delivery_counts(session, broadcast_id=running) == {"sending": 1, "cancelled": 2}
    at = NOW + timedelta(hours=1)
    with Session(engine) as session, session.begin():
        scheduled = create_broadcast(
            session, text="Later", segment={}, created_by="1", now=NOW, scheduled_at=at
        )
        scheduled_id = scheduled.id
    assert scheduled_id is not None
    assert unit(engine, take_over, broadcast_id=scheduled_id, owner="a", now=NOW) is None
    with Session(engine) as session:
        assert broadcasts_to_run(session, now=NOW) == []
        assert broadcasts_to_run(session, now=at) == [scheduled_id]
    assert unit(engine, take_over, broadcast_id=scheduled_id, owner="a", now=at) is not None


@pytest.mark.postgres
def test_two_claimers_share_the_rows_without_overlap(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED sharing is a PostgreSQL feature; SQLite serialises claims")
    add_employers(engine, 60)
    broadcast_id = new_broadcast(engine)
    unit(engine, take_over, broadcast_id=broadcast_id, owner="a", now=NOW)
    claimed: dict[str, list[int]] = {"one": [], "two": []}
    barrier = threading.Barrier(2)

    def claimer(name: str) -> None:
        barrier.wait()
        while claim := unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=NOW):
            claimed[name].append(claim.delivery_id)

    threads = [threading.Thread(target=claimer, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = claimed["one"] + claimed["two"]
    assert len(everything) == 60
    assert len(set(everything)) == 60


def test_the_audience_can_be_the_invitees_of_an_interview_round(engine: Engine) -> None:
    from storage.followups import open_round

    add_employers(engine, 3, sector="construction")
    add_employers(engine, 2, first_chat=2000, sector="education")
    with Session(engine) as session, session.begin():
        opened = open_round(
            session,
            name="stage2-2027",
            interview_id="stage2_progress",
            interview_version="1",
            interview_path=None,
            segment={"sector": ["construction"]},
            opened_by="cli:test",
            now=NOW,
        )
    assert opened.invited == 3
    with Session(engine) as session:
        invitees = audience(session, segment={"round": ["stage2-2027"]})
        assert sorted(e.chat_id for e in invitees) == [1000, 1001, 1002]
        assert audience(session, segment={"round": ["no-such-round"]}) == []
        both = audience(session, segment={"round": ["stage2-2027"], "sector": ["education"]})
        assert both == []
        assert segment_values(session, field="round") == [("stage2-2027", 3)]


def test_unknown_deliveries_of_a_finished_broadcast_can_be_requeued_once(
    engine: Engine,
) -> None:
    add_employers(engine, 4)
    broadcast_id = new_broadcast(engine)
    unit(engine, take_over, broadcast_id=broadcast_id, owner="a", now=NOW)
    claims = [
        unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=NOW) for _ in range(3)
    ]
    assert all(claim is not None for claim in claims)
    first, second, third = (claim for claim in claims if claim is not None)
    unit(engine, release_delivery, delivery_id=third.delivery_id)  # a 429: handed back unsent
    unit(engine, finish_delivery, delivery_id=first.delivery_id, status="sent", now=NOW)
    later = NOW + timedelta(minutes=5)
    unit(
        engine, take_over, broadcast_id=broadcast_id, owner="b", now=later, stale_after=timedelta(0)
    )
    for _ in range(2):  # the released row and the fourth are sent by the new owner
        claim = unit(engine, claim_next, broadcast_id=broadcast_id, owner="b", now=later)
        assert claim is not None
        assert claim.delivery_id != second.delivery_id
        unit(engine, finish_delivery, delivery_id=claim.delivery_id, status="sent", now=later)
    with Session(engine) as session, session.begin():  # still sending: not yet
        found = unknown_deliveries(session, broadcast_id=broadcast_id)
        assert found is not None
        assert (found.status, found.unknown) == ("sending", 1)
        assert requeue_unknown(session, broadcast_id=broadcast_id, actor="t", now=later) == 0
    assert unit(engine, finish_broadcast, broadcast_id=broadcast_id, owner="b", now=later)
    with Session(engine) as session, session.begin():
        found = unknown_deliveries(session, broadcast_id=broadcast_id)
        assert found is not None
        assert (found.status, found.unknown, found.resendable) == ("done", 1, 1)
        assert requeue_unknown(session, broadcast_id=broadcast_id, actor="cli:t", now=later) == 1
        assert audit_entries(session, action="broadcast.resend_unknown")[0].count == 1
    with Session(engine) as session:
        assert broadcasts_to_run(session, now=later) == [broadcast_id]
    unit(engine, take_over, broadcast_id=broadcast_id, owner="c", now=later)
    claim = unit(engine, claim_next, broadcast_id=broadcast_id, owner="c", now=later)
    assert claim is not None
    assert claim.delivery_id == second.delivery_id
    assert unit(engine, claim_next, broadcast_id=broadcast_id, owner="c", now=later) is None


def test_an_opted_out_employers_unknown_delivery_is_not_resent(engine: Engine) -> None:
    add_employers(engine, 1)
    broadcast_id = new_broadcast(engine)
    unit(engine, take_over, broadcast_id=broadcast_id, owner="a", now=NOW)
    assert unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=NOW) is not None
    later = NOW + timedelta(minutes=1)
    unit(
        engine, take_over, broadcast_id=broadcast_id, owner="b", now=later, stale_after=timedelta(0)
    )
    assert unit(engine, finish_broadcast, broadcast_id=broadcast_id, owner="b", now=later)
    with Session(engine) as session, session.begin():
        for employer in session.exec(select(Employer)):
            employer.status = "opted_out"
            session.add(employer)
    with Session(engine) as session, session.begin():
        found = unknown_deliveries(session, broadcast_id=broadcast_id)
        assert found is not None
        assert (found.unknown, found.resendable) == (1, 0)
        assert requeue_unknown(session, broadcast_id=broadcast_id, actor="t", now=NOW) == 0


def test_recent_twins_match_text_media_and_audience(engine: Engine) -> None:
    add_employers(engine, 2, sector="construction")
    broadcast_id = new_broadcast(engine, sector=["construction"])
    with Session(engine) as session:
        twins = recent_twins(
            session,
            text="News",
            segment={"sector": ["construction"], "district": []},
            media_kind=None,
            since=NOW - timedelta(minutes=30),
        )
        assert [row.id for row in twins] == [broadcast_id]
        for text, segment, kind, since in (
            ("Other", {"sector": ["construction"]}, None, NOW),
            ("News", {}, None, NOW),
            ("News", {"sector": ["construction"]}, "photo", NOW),
            ("News", {"sector": ["construction"]}, None, NOW + timedelta(seconds=1)),
        ):
            found = recent_twins(session, text=text, segment=segment, media_kind=kind, since=since)
            assert found == [], (text, segment, kind, since)


def test_a_claim_asks_the_audience_policy_again_at_send_time(engine: Engine) -> None:
    # The rows are made when sending starts; by the time each one's turn comes, one
    # recipient was made a staff member and another blocked the bot (seen by a reminder).
    add_employers(engine, 3)
    broadcast_id = new_broadcast(engine)
    unit(engine, take_over, broadcast_id=broadcast_id, owner="a", now=NOW)
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=1000, role="staff", added_by="cli:test", now=NOW)
        mark_unreachable(session, chat_id=1001, now=NOW)
    claimed = [
        unit(engine, claim_next, broadcast_id=broadcast_id, owner="a", now=NOW) for _ in range(2)
    ]
    assert [c.chat_id if c else None for c in claimed] == [1002, None]
    with Session(engine) as session:
        rows = {
            r.chat_id: (r.status, r.error) for r in deliveries(session, broadcast_id=broadcast_id)
        }
    assert rows == {
        1000: ("cancelled", "staff"),
        1001: ("cancelled", "unreachable"),
        1002: ("sending", None),
    }
