"""Inbox workers of two processes on PostgreSQL: a slow owner keeps its update; a dead one's
is taken over, and the old owner's late commit is fenced off."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from bot.runtime.inbox_worker import InboxWorkers, RawUpdate
from storage import Engine, chat_transaction, claim_update, locks, make_engine, utcnow
from storage import inbox as inbox_store

pytestmark = pytest.mark.postgres


async def until(predicate: Callable[[], bool], timeout: float = 20) -> None:  # noqa: ASYNC109
    """Wait until `predicate()` holds (the database changes where nothing signals it)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (another process's doing)
            await asyncio.sleep(0.02)


def handle_in_transaction(engine: Engine, update: RawUpdate) -> bool:
    """What a handler does: claim the update in its chat's transaction (fenced on the
    lease the worker declared); whether it was the first handling."""
    chat_id = update["message"]["chat"]["id"]
    with chat_transaction(engine, chat_id, lock_chat=False) as session:
        return claim_update(
            session, update_id=update["update_id"], chat_id=chat_id, now=utcnow(), lock_chat=True
        )


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_slow_owner_keeps_its_update_and_a_dead_ones_is_taken_over_fenced(
    database_url: str, engine: Engine
) -> None:
    # Two processes: each its own engine (its own connections) and owner lock.
    engines = [make_engine(database_url) for _ in range(2)]
    entered, go_on = asyncio.Event(), asyncio.Event()
    outcomes: dict[str, list[Any]] = {"slow": [], "other": []}

    async def slow(update: RawUpdate) -> None:
        entered.set()
        await go_on.wait()  # still handling, however long
        try:
            fresh = await asyncio.to_thread(handle_in_transaction, engines[0], update)
        except inbox_store.LeaseLost:
            outcomes["slow"].append("lease lost")
            raise
        outcomes["slow"].append(fresh)

    async def other(update: RawUpdate) -> None:
        outcomes["other"].append(await asyncio.to_thread(handle_in_transaction, engines[1], update))

    # The first checks its lock only at start: as a process that died, it does not take
    # the lock back once its session is ended below (a live one may, keeping its leases).
    first = InboxWorkers(engines[0], slow, poll_seconds=0.1, reap_seconds=3600)
    second = InboxWorkers(engines[1], other, poll_seconds=0.1, reap_seconds=0.1)
    update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5}, "text": "hi"}}
    runs = [asyncio.create_task(first.run())]
    try:
        inbox_store.accept(engine, [update])
        await asyncio.wait_for(entered.wait(), 20)
        runs.append(asyncio.create_task(second.run()))
        await until(lambda: second.owner_lock.held)
        # Both alive: whoever reaps, the slow owner keeps its lease.
        assert inbox_store.reap(engine, owner=second.owner) == 0
        assert inbox_store.claim(engine, owner=second.owner) == []
        assert outcomes["other"] == []
        # The slow owner's lock session ends (its process died, or its connection broke).
        with engine.connect() as connection:
            pid = locks.holder_pid(connection, locks.inbox_owner_lock_name(first.owner))
            assert pid is not None
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await until(lambda: bool(outcomes["other"]))
        assert outcomes["other"] == [True]  # taken over, and handled there
        await until(lambda: inbox_store.handled(engine, 1))
        # The old owner finishes at last: its transaction must not commit.
        go_on.set()
        await until(lambda: bool(outcomes["slow"]))
        # Fenced, every time: the first may have claimed the update again between the
        # second's reap and its claim (nothing tells it its lock died), and then handles
        # it twice, each refused. (One full run of the suite, loaded, saw two.)
        assert set(outcomes["slow"]) == {"lease lost"}
        assert inbox_store.failed(engine) == []
    finally:
        go_on.set()
        first.stop()
        second.stop()
        await asyncio.wait_for(asyncio.gather(*runs), timeout=30)
        for each in engines:
            each.dispose()
