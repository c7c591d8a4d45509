"""The inbox's contract (storage.inbox), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextvars
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from storage import Employer, Engine, Session, chat_transaction, claim_update, inbox, locks, utcnow

T0 = utcnow()


def text_update(update_id: int, chat: int, text: str = "hello") -> dict[str, Any]:
    """A Telegram message update as getUpdates returns it."""
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "chat": {"id": chat}, "text": text},
    }


def press_update(update_id: int, chat: int) -> dict[str, Any]:
    """A button press on a message of `chat`."""
    return {
        "update_id": update_id,
        "callback_query": {"id": "q", "from": {"id": chat}, "message": {"chat": {"id": chat}}},
    }


def test_accept_writes_each_update_id_once(engine: Engine) -> None:
    assert inbox.accept(engine, [text_update(1, 5), text_update(2, 5)]) == 2
    # Telegram sends the batch again (the confirmation was lost), plus a new one.
    assert inbox.accept(engine, [text_update(1, 5), text_update(2, 5), text_update(3, 6)]) == 1
    assert not inbox.accept_one(engine, text_update(3, 6))
    assert inbox.accept_one(engine, text_update(4, 6))
    # Not an update: skipped, nothing to confirm or handle.
    assert inbox.accept(engine, [{"update_id": "x"}, {"message": {}}]) == 0
    assert inbox.pending_count(engine) == 4
    claimed = inbox.claim(engine, owner="a", limit=10, now=T0)
    assert [(item.update_id, item.chat_key) for item in claimed] == [(1, 5), (3, 6)]
    assert claimed[0].payload == text_update(1, 5)


def test_a_chat_has_one_update_in_hand_in_order_and_chats_go_in_parallel(engine: Engine) -> None:
    inbox.accept(engine, [text_update(1, 5), press_update(2, 5), text_update(3, 6)], now=T0)
    first = inbox.claim(engine, owner="a", limit=10, now=T0)
    assert [item.update_id for item in first] == [1, 3]
    # Chat 5's next update waits until its first is done, whoever asks.
    assert inbox.claim(engine, owner="b", limit=10, now=T0) == []
    inbox.complete(engine, 1, owner="a", now=T0)
    assert [item.update_id for item in inbox.claim(engine, owner="b", limit=10, now=T0)] == [2]
    assert inbox.handled(engine, 1)
    assert not inbox.handled(engine, 2)
    assert not inbox.handled(engine, 99)


def test_a_lease_never_lapses_and_is_given_back_by_its_owner(engine: Engine) -> None:
    inbox.accept(engine, [text_update(1, 5)], now=T0)
    assert inbox.claim(engine, owner="slow", now=T0)
    # However long it takes, nobody else takes it while its owner holds it.
    assert inbox.claim(engine, owner="b", now=T0 + timedelta(days=1)) == []
    # Only its owner marks it done.
    assert not inbox.complete(engine, 1, owner="b", now=T0)
    # Given back by a stopping worker: claimable at once.
    assert inbox.release(engine, owner="slow") == 1
    (again,) = inbox.claim(engine, owner="c", now=T0)
    assert again.attempts == 2
    assert inbox.complete(engine, 1, owner="c", now=T0)


def test_retry_later_waits_and_set_aside_keeps_the_update_for_staff(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Employer(chat_id=5, telegram_user_id=5, created_at=T0, updated_at=T0))
        session.commit()
    inbox.accept(engine, [text_update(1, 5, "my secret"), text_update(2, 5)], now=T0)
    (item,) = inbox.claim(engine, owner="a", now=T0)
    inbox.retry_later(engine, 1, owner="a", error="KeyError", delay=timedelta(seconds=1), now=T0)
    assert inbox.claim(engine, owner="a", now=T0 + timedelta(seconds=0.5)) == []
    (item,) = inbox.claim(engine, owner="a", now=T0 + timedelta(seconds=2))
    assert (item.update_id, item.attempts) == (1, 2)
    inbox.set_aside(engine, 1, owner="a", error="KeyError", now=T0 + timedelta(seconds=3))
    # Set aside, it no longer holds up its chat.
    assert [i.update_id for i in inbox.claim(engine, owner="a", now=T0 + timedelta(seconds=3))] == [
        2
    ]
    (failed,) = inbox.failed(engine)
    assert (failed.update_id, failed.error, failed.attempts) == (1, "KeyError", 2)
    assert failed.employer_id is not None  # our id of the person, not their Telegram one
    assert failed.payload is None  # no message text unless asked for
    assert inbox.failed(engine, with_payload=True)[0].payload == text_update(1, 5, "my secret")


def test_a_done_update_keeps_no_content_and_erasure_forgets_the_chat(engine: Engine) -> None:
    inbox.accept(engine, [text_update(1, 5, "my secret"), text_update(2, 5, "more")], now=T0)
    inbox.claim(engine, owner="a", now=T0)
    inbox.complete(engine, 1, owner="a", now=T0)
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT chat_key, payload FROM inbox_update WHERE update_id = 1"
        ).one()
    assert tuple(row) == (None, None)
    with chat_transaction(engine, 5) as session:
        inbox.forget_chat(session, chat_id=5)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT update_id, chat_key, payload, status FROM inbox_update ORDER BY update_id"
        ).all()
    assert [tuple(row) for row in rows] == [(1, None, None, "done"), (2, None, None, "done")]
    assert not inbox.accept(engine, [text_update(1, 5)])  # still deduplicated


def test_concurrent_claims_never_hand_out_two_updates_of_one_chat(engine: Engine) -> None:
    """Eight threads claim and complete at once (PostgreSQL: SKIP LOCKED; SQLite: its write
    lock): each update is handled once, and a chat never has two in hand."""
    chats = 6
    updates = [text_update(uid, uid % chats) for uid in range(1, 121)]
    inbox.accept(engine, updates)
    in_hand: dict[int, int] = {}
    handled: list[int] = []
    problems: list[str] = []
    guard = threading.Lock()

    def worker(name: str) -> None:
        idle = 0
        while idle < 50:
            claimed = inbox.claim(engine, owner=name, limit=3)
            if not claimed:
                idle += 1
                continue
            idle = 0
            for item in claimed:
                with guard:
                    if item.chat_key in in_hand:
                        problems.append(f"chat {item.chat_key} twice")
                    in_hand[item.chat_key or 0] = item.update_id
                    handled.append(item.update_id)
                with guard:
                    del in_hand[item.chat_key or 0]
                inbox.complete(engine, item.update_id, owner=name)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert problems == []
    assert sorted(handled) == list(range(1, 121))
    for chat in range(chats):
        mine = [uid for uid in handled if uid % chats == chat]
        assert mine == sorted(mine)  # each chat's in order
    assert inbox.pending_count(engine) == 0


def _handle(engine: Engine, update_id: int, lease: inbox.Lease | None) -> bool:
    """One handling transaction's claim of `update_id`, under `lease` (as a worker's task
    declares it); whether it was the first."""

    def claim() -> bool:
        inbox.holding(lease)
        with chat_transaction(engine, 5) as session:
            return claim_update(session, update_id=update_id, chat_id=5, now=T0, lock_chat=True)

    return contextvars.Context().run(claim)


def test_a_handling_commits_only_while_its_lease_is_held(engine: Engine) -> None:
    inbox.accept(engine, [text_update(1, 5)], now=T0)
    (item,) = inbox.claim(engine, owner="a", now=T0)
    mine, stale = inbox.Lease(1, "a"), inbox.Lease(1, "b")
    with pytest.raises(inbox.LeaseLost):  # not b's: the transaction rolls back
        _handle(engine, 1, stale)
    assert _handle(engine, 1, mine)  # the first handling
    assert not _handle(engine, 1, mine)  # handled already: change nothing
    # Its process dies before marking it done; another takes it over.
    assert inbox.release(engine, owner="a") == 1
    (again,) = inbox.claim(engine, owner="b", now=T0)
    with pytest.raises(inbox.LeaseLost):  # a, fenced off, can no longer commit for it
        _handle(engine, 1, mine)
    assert not _handle(engine, 1, inbox.Lease(1, "b"))  # b sees it handled
    assert inbox.complete(engine, 1, owner="b", now=T0)
    assert not _handle(engine, 1, None)  # fed again by hand: still handled
    assert _handle(engine, 2, None)  # an update the inbox never saw: recorded as done
    assert inbox.handled(engine, 2)


@pytest.mark.postgres
def test_a_dead_owners_leases_are_taken_over_and_a_live_ones_kept(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's advisory locks")
    inbox.accept(engine, [text_update(1, 5), text_update(2, 6), text_update(3, 7)], now=T0)
    owners = {name: locks.SessionLock(engine, locks.inbox_owner_lock_name(name)) for name in "abc"}
    try:
        for name, lock in owners.items():
            assert lock.hold()
            assert inbox.claim(engine, owner=name, now=T0)
        # Everyone alive: nothing is reaped, whoever looks.
        assert inbox.reap(engine, owner="a") == 0
        # b's process dies (its lock's session ends): a takes over b's update only.
        with engine.connect() as connection:
            pid = locks.holder_pid(connection, locks.inbox_owner_lock_name("b"))
            assert pid is not None
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # the server ends the session at once, but asynchronously
            if inbox.reap(engine, owner="a"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("b's lease was never given back")
        (taken,) = inbox.claim(engine, owner="a", limit=10, now=T0)
        assert (taken.update_id, taken.attempts) == (2, 2)
        assert not owners["b"].hold()  # b learns at its next check that it lost the lock
        # c is slow but alive: its update stays its own.
        assert inbox.reap(engine, owner="a") == 0
        assert inbox.complete(engine, 3, owner="c", now=T0)
    finally:
        for lock in owners.values():
            lock.release()


def test_prune_deletes_done_rows_past_the_retention_only(engine: Engine) -> None:
    inbox.accept(engine, [text_update(uid, uid) for uid in (1, 2, 3, 4)], now=T0)
    for item in inbox.claim(engine, owner="a", limit=3, now=T0):
        if item.update_id == 3:
            inbox.set_aside(engine, 3, owner="a", error="KeyError", now=T0)
        else:
            inbox.complete(
                engine, item.update_id, owner="a", now=T0 + timedelta(days=item.update_id)
            )
    # Done on day 1 and day 2; 3 set aside; 4 still pending.
    assert inbox.prune(engine, before=T0 + timedelta(days=1, hours=12)) == 1
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT update_id FROM inbox_update ORDER BY 1").all()
    assert [row[0] for row in rows] == [2, 3, 4]
    assert [failed.update_id for failed in inbox.failed(engine)] == [3]
