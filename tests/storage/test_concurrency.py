"""Concurrent updates: idempotent claims, per-chat serialisation, no 'database is locked'."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from storage import (
    AnotherProcess,
    Engine,
    ForeignWriter,
    InboxUpdate,
    WriterBusy,
    chat_transaction,
    claim_update,
    employer_for_telegram,
    locks,
    make_engine,
    sole_process,
    upgrade,
    utcnow,
)
from storage.db import reading
from storage.staff import Standing, read_standing

WAIT = 10  # seconds: a generous ceiling; the tests finish in well under a second


def test_two_threads_claiming_one_update_exactly_one_wins(engine: Engine) -> None:
    barrier = threading.Barrier(2, timeout=WAIT)

    def claim(chat_id: int) -> bool:
        with Session(engine) as session, session.begin():
            barrier.wait()
            return claim_update(session, update_id=123, chat_id=chat_id, now=utcnow())

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(claim, [1, 2]))
    assert sorted(results) == [False, True]
    with Session(engine) as session:
        assert len(session.exec(select(InboxUpdate)).all()) == 1


def _hold_chat(
    engine: Engine, chat_id: int, entered: threading.Event, release: threading.Event
) -> Callable[[], None]:
    """A job that opens the chat's transaction, says so, and holds it until released."""

    def hold() -> None:
        with chat_transaction(engine, chat_id) as session:
            employer_for_telegram(session, telegram_user_id=chat_id, chat_id=chat_id, now=utcnow())
            entered.set()
            assert release.wait(WAIT)

    return hold


def test_chat_transaction_serialises_one_chat(engine: Engine) -> None:
    entered, release, second_in = threading.Event(), threading.Event(), threading.Event()
    seen_by_second: list[bool] = []

    def second() -> None:
        with chat_transaction(engine, 42) as session:
            second_in.set()
            first_row = session.exec(select(InboxUpdate).where(InboxUpdate.update_id == 1)).first()
            seen_by_second.append(first_row is not None)

    def first() -> None:
        with chat_transaction(engine, 42) as session:
            entered.set()
            claim_update(session, update_id=1, chat_id=42, now=utcnow())
            assert release.wait(WAIT)

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(first)
        assert entered.wait(WAIT)
        waiter = pool.submit(second)
        assert not second_in.wait(0.3), "the second transaction ran while the first held the chat"
        release.set()
        holder.result(WAIT)
        waiter.result(WAIT)
    assert seen_by_second == [True]  # it ran after the first committed


def test_a_claim_locking_the_chat_serialises_one_chat(engine: Engine) -> None:
    """A transaction begun without the chat's lock takes it with its claim: a second one
    for the chat waits in its claim until the first commits, then reads what it wrote."""
    entered, release, second_claimed = threading.Event(), threading.Event(), threading.Event()
    seen_by_second: list[bool] = []

    def claim(session: Session, update_id: int) -> bool:
        return claim_update(session, update_id=update_id, chat_id=42, now=utcnow(), lock_chat=True)

    def first() -> None:
        with chat_transaction(engine, 42, lock_chat=False) as session:
            assert claim(session, 1)
            session.execute(text("UPDATE inbox_update SET chat_key = 43 WHERE update_id = 1"))
            entered.set()
            assert release.wait(WAIT)

    def second() -> None:
        with chat_transaction(engine, 42, lock_chat=False) as session:
            assert claim(session, 2)
            second_claimed.set()
            row = session.exec(select(InboxUpdate).where(InboxUpdate.update_id == 1))
            seen_by_second.append(row.one().chat_key == 43)

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(first)
        assert entered.wait(WAIT)
        waiter = pool.submit(second)
        assert not second_claimed.wait(0.3), "the second claim went in while the first held"
        release.set()
        holder.result(WAIT)
        waiter.result(WAIT)
    assert seen_by_second == [True]  # it read after the first committed


@pytest.mark.postgres
def test_a_claim_locking_the_chat_takes_chat_transactions_lock(engine: Engine) -> None:
    """The claim's lock is `chat_transaction`'s: held until the commit, for that chat only."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer: different chats also take turns")
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with chat_transaction(engine, 42, lock_chat=False) as session:
            claim_update(session, update_id=1, chat_id=42, now=utcnow(), lock_chat=True)
            entered.set()
            assert release.wait(WAIT)

    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(hold)
        try:
            assert entered.wait(WAIT)
            with chat_transaction(engine, 7, lock_chat=False) as session:  # another chat
                assert claim_update(session, update_id=2, chat_id=7, now=utcnow(), lock_chat=True)
            with chat_transaction(engine, 42, lock_chat=False) as session:
                session.execute(text("SET LOCAL lock_timeout = '200ms'"))
                with pytest.raises(DBAPIError, match="lock timeout"):  # what chat_transaction runs
                    locks.lock_for_transaction(session, locks.chat_lock_name(42))
        finally:
            release.set()
        holding.result(WAIT)
    with chat_transaction(engine, 42) as session:  # free again once it committed
        assert claim_update(session, update_id=3, chat_id=42, now=utcnow(), lock_chat=True)


@pytest.mark.postgres
def test_different_chats_proceed_together_on_postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer: different chats also take turns")
    entered, release = threading.Event(), threading.Event()
    other_entered, other_release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(_hold_chat(engine, 1, entered, release))
        assert entered.wait(WAIT)
        other = pool.submit(_hold_chat(engine, 2, other_entered, other_release))
        try:
            assert other_entered.wait(WAIT), "chat 2 waited for chat 1"
            assert not holder.done()  # chat 1 still holds its lock
        finally:
            other_release.set()
            release.set()
        holder.result(WAIT)
        other.result(WAIT)


def test_two_engines_writing_at_once_never_fail(database_url: str, engine: Engine) -> None:
    """Two engines, as two bot processes would have, writing the same database."""
    other = make_engine(database_url)
    writes = 40

    def work(args: tuple[Engine, int]) -> int:
        process_engine, offset = args
        for n in range(writes):
            update_id = offset + n
            with chat_transaction(process_engine, update_id % 3) as session:
                # Read first, then write: the pattern that fails with a plain BEGIN.
                session.exec(select(InboxUpdate).limit(1)).all()
                claim_update(session, update_id=update_id, chat_id=update_id % 3, now=utcnow())
                employer_for_telegram(
                    session, telegram_user_id=update_id % 5, chat_id=update_id % 3, now=utcnow()
                )
        return writes

    try:
        with ThreadPoolExecutor(2) as pool:
            done = sum(pool.map(work, [(engine, 0), (other, 10_000)]))
    finally:
        other.dispose()
    assert done == 2 * writes
    with Session(engine) as session:
        assert len(session.exec(select(InboxUpdate)).all()) == 2 * writes


def test_sqlite_no_wait_gives_up_at_once_when_another_process_writes(tmp_path: object) -> None:
    """`wait=False` raises WriterBusy at once, having done nothing; the engine stays usable."""
    path = Path(str(tmp_path)) / "busy.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)  # another process, as SQLite sees it
    try:
        other.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        with pytest.raises(ForeignWriter), chat_transaction(engine, 7, wait=False) as session:
            claim_update(session, update_id=1, chat_id=7, now=utcnow())
        assert time.monotonic() - began < 10  # not the 30-second busy timeout
        other.execute("COMMIT")
        with chat_transaction(engine, 7, wait=False) as session:  # free again: it goes in
            assert claim_update(session, update_id=1, chat_id=7, now=utcnow())
        with Session(engine) as session:
            assert [row.update_id for row in session.exec(select(InboxUpdate))] == [1]
    finally:
        other.close()
        engine.dispose()


def test_sqlite_reads_never_wait_and_each_transaction_gets_its_busy_timeout(
    tmp_path: object,
) -> None:
    """The busy timeout is set only when it changes (storage.db._busy_timeout): a waiting
    transaction on the connection a no-wait one left at zero still waits; a read-only one
    (the role lookup) neither waits for a foreign writer nor fails."""
    path = Path(str(tmp_path)) / "busy.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(ForeignWriter), chat_transaction(engine, 7, wait=False):
            pass  # the pooled connection's busy timeout is zero now
        began = time.monotonic()
        with reading(engine) as connection:  # a deferred read, under a foreign writer
            assert read_standing(connection, 42, 42) == Standing(None, None)
        assert time.monotonic() - began < 1
        threading.Timer(0.3, other.execute, ["COMMIT"]).start()
        began = time.monotonic()
        with chat_transaction(engine, 7) as session:  # waits for the commit, then goes in
            assert claim_update(session, update_id=1, chat_id=7, now=utcnow())
        assert time.monotonic() - began >= 0.2
    finally:
        other.close()
        engine.dispose()


def test_sqlite_no_wait_gives_up_while_this_process_writes(tmp_path: object) -> None:
    url = f"sqlite:///{Path(str(tmp_path)) / 'busy.db'}"
    upgrade(url)
    engine = make_engine(url)
    entered, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(_hold_chat(engine, 1, entered, release))
        assert entered.wait(WAIT)
        with pytest.raises(WriterBusy), chat_transaction(engine, 2, wait=False):
            pass
        release.set()
        holding.result(WAIT)
    with chat_transaction(engine, 2, wait=False) as session:
        assert claim_update(session, update_id=9, chat_id=2, now=utcnow())
    engine.dispose()


def test_one_process_serves_a_sqlite_database_and_any_number_a_postgresql_one(
    engine: Engine,
) -> None:
    """`sole_process`: a second holder (another `skillsbot run`, as the lock file sees it)
    is refused at once on SQLite; on PostgreSQL both go ahead."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with sole_process(engine):
            if engine.dialect.name == "postgresql":
                with sole_process(other):
                    pass
            else:
                with pytest.raises(AnotherProcess), sole_process(other):
                    pass
        with sole_process(other):  # let go: the next one may take it
            pass
    finally:
        other.dispose()


def test_a_connection_dropped_by_the_server_fails_once_then_the_pool_recovers(
    engine: Engine,
) -> None:
    """Connections are not pinged before use: a dropped one fails one unit, then all is well."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop connections")
    with chat_transaction(engine, 5) as session:  # a pooled connection, now idle
        claim_update(session, update_id=1, chat_id=5, now=utcnow())
        backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = make_engine(engine.url.render_as_string(hide_password=False))
    with admin.connect() as connection:  # the server drops it (a restart, say)
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    admin.dispose()
    with pytest.raises(DBAPIError) as failed, chat_transaction(engine, 5) as session:
        claim_update(session, update_id=2, chat_id=5, now=utcnow())
    assert failed.value.connection_invalidated
    with chat_transaction(engine, 5) as session:  # the retry gets a fresh connection
        assert claim_update(session, update_id=2, chat_id=5, now=utcnow())
