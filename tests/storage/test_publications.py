"""What reports published: recorded one report at a time, and never by a report that was
built without knowing one recorded meanwhile (it must be built again)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
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
        return record_published(
            session,
            area="Test area",
            interview_id="lsip",
            week="2026-W48",
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


def test_the_mark_is_read_in_the_report_snapshot(engine: Engine) -> None:
    record(engine, [A], None)
    with reading(engine) as connection:
        columns = survey_columns(connection, interview_id="lsip", completed_only=True)
    assert columns.published_mark == mark_of(engine)
    assert len(columns.published["grid"]) == 1


def test_two_reports_recorded_at_once_take_turns(engine: Engine) -> None:
    """Both built on the same record: the first to record holds the others off (PostgreSQL's
    advisory lock, SQLite's write lock) until it commits; the second then learns of it."""
    known = mark_of(engine)
    inside = threading.Event()
    release = threading.Event()

    def first() -> int:
        with Session(engine) as session, session.begin():
            recorded = record_published(
                session,
                area="Test area",
                interview_id="lsip",
                week="2026-W47",
                figures=[A],
                now=utcnow(),
                known_mark=known,
            )
            inside.set()
            assert release.wait(WAIT)
        return recorded

    with ThreadPoolExecutor(2) as pool:
        holding = pool.submit(first)
        assert inside.wait(WAIT)
        waiting = pool.submit(record, engine, [B], known)
        time.sleep(0.5)
        assert not waiting.done()  # held off while the first has not committed
        release.set()
        assert holding.result(WAIT) == 1
        with pytest.raises(PublishedMeanwhile):
            waiting.result(WAIT)
