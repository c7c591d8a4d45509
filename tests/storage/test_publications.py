"""What reports published: recorded one report at a time, and never by a report that was
built without knowing one recorded meanwhile (it must be built again)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from storage import Engine, utcnow
from storage.analytics_source import survey_columns
from storage.db import reading
from storage.publications import (
    PublishedMeanwhile,
    published_columns,
    published_mark,
    record_published,
)

WAIT = 30  # seconds: a ceiling; the tests take well under a second

A = ("Skills lacking among staff, to date", "Manufacturing", "Digital", 7.0, True, 3.0)
B = ("Skills lacking among staff, to date", "Manufacturing", "Digital", 9.0, False, 0.0)


def record(
    engine: Engine, figures: list[tuple[str, str, str, float, bool, float]], mark: int | None
) -> int:
    with Session(engine) as session, session.begin():
        return record_in(session, figures, mark)


def record_in(
    session: Session,
    figures: list[tuple[str, str, str, float, bool, float]],
    mark: int | None,
    week: str = "2026-W48",
) -> int:
    """Record `figures` as week `week`'s report of the test area, in `session`'s unit."""
    return record_published(
        session,
        area="Test area",
        interview_id="lsip",
        week=week,
        figures=figures,
        now=utcnow(),
        known_mark=mark,
    )


def mark_of(engine: Engine) -> int:
    with reading(engine) as connection:
        return published_mark(connection, interview_id="lsip")


def test_a_report_built_before_another_was_recorded_is_refused(engine: Engine) -> None:
    before = mark_of(engine)
    assert before == 0
    assert record(engine, [A], before) == 1
    after = mark_of(engine)
    assert after > before
    with pytest.raises(PublishedMeanwhile):
        record(engine, [B], before)  # built knowing nothing of A
    with reading(engine) as connection:
        shown = published_columns(connection, interview_id="lsip")["shown"]
    assert list(shown) == [True]  # B was not recorded
    assert record(engine, [B], after) == 1  # built again, knowing A
    assert record(engine, [A, B], None) == 0  # unchecked, and nothing new


def test_a_record_transaction_must_be_read_committed(engine: Engine) -> None:
    """Under REPEATABLE READ the mark read once the lock is granted would not see a report
    recorded while waiting for it: refused outright."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's isolation levels")
    with (
        Session(engine.execution_options(isolation_level="REPEATABLE READ")) as session,
        session.begin(),
        pytest.raises(RuntimeError, match="READ COMMITTED"),
    ):
        record_in(session, [A], 0)


def test_the_mark_and_the_figures_are_read_in_one_snapshot(engine: Engine) -> None:
    """A report recorded while another report reads (between its statements, the figures
    read on the DB-API cursor included) is in neither the mark nor the figures it reads."""
    record(engine, [A], None)
    statements: list[str] = []

    def meanwhile(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)
        if len(statements) == 1:  # after the first statement of the read
            with ThreadPoolExecutor(1) as other:  # another connection, another thread
                other.submit(record, engine, [B], None).result(WAIT)

    with reading(engine) as connection:
        event.listen(connection, "after_cursor_execute", meanwhile)
        columns = survey_columns(connection, interview_id="lsip", completed_only=True)
    assert "max(published_figure.id)" in statements[0]
    assert len(columns.published["grid"]) == 1  # B, recorded meanwhile, is not read
    assert columns.published_mark < mark_of(engine)  # and the mark says so: B came after
    with reading(engine) as connection:
        assert len(published_columns(connection, interview_id="lsip")["grid"]) == 2


def waiting_for_a_lock(engine: Engine) -> bool:
    """PostgreSQL: whether a session of this schema waits for an advisory lock."""
    with reading(engine) as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
                    " WHERE locktype = 'advisory' AND NOT granted"
                    " AND application_name = current_setting('application_name')"
                )
            ).scalar_one()
        )


def test_two_reports_recorded_at_once_take_turns(engine: Engine) -> None:
    """Both built on the same record: the first to record holds the others off (PostgreSQL's
    advisory lock, SQLite's write lock) until it commits; the second then learns of it."""
    known = mark_of(engine)
    inside = threading.Event()
    release = threading.Event()

    def first() -> int:
        with Session(engine) as session, session.begin():
            recorded = record_in(session, [A], known, week="2026-W47")
            inside.set()
            assert release.wait(WAIT)
        return recorded

    with ThreadPoolExecutor(2) as pool:
        holding = pool.submit(first)
        assert inside.wait(WAIT)
        waiting = pool.submit(record, engine, [B], known)
        if engine.dialect.name == "postgresql":  # seen waiting for the lock
            deadline = time.monotonic() + WAIT
            while not waiting_for_a_lock(engine) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert waiting_for_a_lock(engine)
        else:  # SQLite's busy wait is not seen from outside: give it time to get there
            time.sleep(0.5)
        assert not waiting.done()  # held off while the first has not committed
        release.set()
        assert holding.result(WAIT) == 1
        with pytest.raises(PublishedMeanwhile):
            waiting.result(WAIT)
