"""`storage.Units`: a unit of work run from async code, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, exc, text
from sqlmodel import Session, select

from storage import (
    Engine,
    InboxUpdate,
    Units,
    claim_update,
    is_transient,
    make_engine,
    upgrade,
    utcnow,
)


def _claim(session: Session, update_id: int, *, chat_id: int) -> bool:
    return claim_update(session, update_id=update_id, chat_id=chat_id, now=utcnow())


def _claimed(engine: Engine) -> list[int]:
    with Session(engine) as session:
        handled = select(InboxUpdate).where(InboxUpdate.handled_at.is_not(None))  # type: ignore[union-attr]
        return sorted(row.update_id for row in session.exec(handled))


async def test_a_unit_commits_and_returns_its_result(engine: Engine) -> None:
    units = Units(engine)
    try:
        assert await units.run(5, _claim, 1, chat_id=5) is True
        assert await units.run(5, _claim, 1, chat_id=5) is False  # committed: seen before
        assert await units.run(None, _claim, 2, chat_id=6) is True  # no chat lock
    finally:
        await units.aclose()
    assert _claimed(engine) == [1, 2]


async def test_a_unit_that_fails_leaves_nothing(engine: Engine) -> None:
    def claim_then_fail(session: Session) -> None:
        _claim(session, 3, chat_id=5)
        raise RuntimeError("after the write")

    units = Units(engine)
    try:
        with pytest.raises(RuntimeError, match="after the write"):
            await units.run(5, claim_then_fail)
    finally:
        await units.aclose()
    assert _claimed(engine) == []


async def test_many_units_of_many_chats_at_once(engine: Engine) -> None:
    units = Units(engine)
    try:
        results = await asyncio.gather(
            *(units.run(chat, _claim, 100 + chat, chat_id=chat) for chat in range(1, 41))
        )
    finally:
        await units.aclose()
    assert results == [True] * 40
    assert _claimed(engine) == [100 + chat for chat in range(1, 41)]


async def test_call_read_and_slow_units(engine: Engine) -> None:
    """`call` (no chat's lock), `read` (nothing committed) and `slow` (always on a thread,
    sharing the threads) run the same units; only the owner lets the threads go."""
    units = Units(engine)
    loop_thread = threading.get_ident()

    def claim_and_say_where(session: Session, update_id: int) -> int:
        _claim(session, update_id, chat_id=8)
        return threading.get_ident()

    def read_then_write(session: Session) -> list[int]:
        seen = [row.update_id for row in session.exec(select(InboxUpdate))]
        session.add(InboxUpdate(update_id=99, received_at=utcnow(), status="done"))
        session.flush()
        return seen

    try:
        where = await units.call(claim_and_say_where, 11)
        assert (where == loop_thread) is (engine.dialect.name == "sqlite")
        assert await units.slow.call(claim_and_say_where, 12) != loop_thread
        assert await units.read(read_then_write) == [11, 12]  # the write is not kept
        await units.slow.aclose()  # the twin's: the threads stay
        assert await units.slow.run(8, claim_and_say_where, 13) != loop_thread
    finally:
        await units.aclose()
    assert _claimed(engine) == [11, 12, 13]


async def test_sqlite_a_unit_waits_on_a_thread_for_another_program(tmp_path: Path) -> None:
    """A program outside skillsbot holds SQLite's lock: the unit waits for it off the loop
    (the loop keeps running) and goes in once it lets go."""
    path = tmp_path / "busy.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    units = Units(engine)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        unit = asyncio.ensure_future(units.run(7, _claim, 1, chat_id=7))
        began = asyncio.get_running_loop().time()
        for _ in range(20):  # the event loop is free while the unit waits
            await asyncio.sleep(0.01)
        assert asyncio.get_running_loop().time() - began < 5  # not SQLite's 30 s timeout
        assert not unit.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(unit, 10) is True
    finally:
        other.close()
        await units.aclose()
        engine.dispose()
    assert _claimed(engine) == [1]


def _failure(engine: Engine, statement: str, **params: object) -> exc.DBAPIError:
    """What running `statement` raises (it must fail)."""
    with pytest.raises(exc.DBAPIError) as raised, engine.begin() as connection:
        connection.execute(text(statement), params)
    return raised.value


def test_a_database_away_is_transient_and_a_failing_statement_is_not(engine: Engine) -> None:
    # Failing every time: a constraint, a table that does not exist, a bad column.
    employer = "INSERT INTO response (employer_id, interview_id) VALUES (:employer, 'x')"
    for statement in (employer, "SELECT * FROM no_such_table", "SELECT nothing FROM employer"):
        error = _failure(engine, statement, employer=999999)
        assert not is_transient(error), statement
    if engine.dialect.name == "postgresql":  # cancelled by a timeout: it would be again
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL statement_timeout = 1")
            with pytest.raises(exc.OperationalError) as cancelled:
                connection.exec_driver_sql("SELECT pg_sleep(1)")
            connection.rollback()
        assert not is_transient(cancelled.value)
    # SQLAlchemy's message never quotes the statement's values (the server's may: the bot
    # logs only an error's type).
    assert "[SQL parameters hidden" in str(_failure(engine, employer, employer=987654321))
    # Away: nobody listens on the port, or the file cannot be opened.
    url = (
        "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2"
        if engine.dialect.name == "postgresql"
        else "sqlite:////nonexistent-directory/skillsbot.db"
    )
    away = make_engine(url)
    try:
        assert is_transient(_failure(away, "SELECT 1"))
    finally:
        away.dispose()


def test_a_sqlite_database_held_by_another_program_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        upgrade(engine)
        other.execute("BEGIN IMMEDIATE")  # a backup, say: holds the write lock
        # What our engine raises after its 30 s busy timeout, without the wait.
        impatient = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
        with pytest.raises(exc.OperationalError) as raised, impatient.begin() as connection:
            connection.exec_driver_sql("INSERT INTO audit_log (actor) VALUES ('x')")
        impatient.dispose()
        assert "database is locked" in str(raised.value)
        assert is_transient(raised.value)
    finally:
        other.close()
        engine.dispose()
