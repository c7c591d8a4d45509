"""Two reports made at once (two analysts, or the command line beside the bot's Monday job)
each hide what they must against what the other published: the one recorded second was
built knowing the first, built again if it was not (`storage.publications`)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from analytics.demo import seed_demo
from analytics.report import weekly_report
from analytics.weeks import IsoWeek
from storage.db import reading
from storage.publications import published_mark

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FIRST, SECOND = IsoWeek(2026, 48), IsoWeek(2026, 47)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """20 employers over three weeks, on each database."""
    seed_demo(engine, employers=20, weeks=3, seed=5, now=NOW)
    return engine


def mark(engine: Engine) -> int:
    with reading(engine) as connection:
        return published_mark(connection, interview_id=None)


def test_a_report_published_while_another_was_built_is_taken_into_account(
    seeded: Engine, tmp_path: Path
) -> None:
    """The W48 report reads the record of publications; before it is built, the W47 report
    is made and recorded from start to end. The W48 report cannot record what it built
    without knowing W47's: it is built again, and what it publishes knows W47's report."""
    made: list[Any] = []
    marks: list[int] = []
    main = threading.get_ident()

    def between(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "max(published_figure.id)" not in statement or threading.get_ident() != main:
            return
        if not made:  # the W48 report's first read: W47's report is made meanwhile
            worker = threading.Thread(
                target=lambda: made.append(
                    weekly_report(seeded, SECOND, tmp_path / "w47", ("csv",), now=NOW)
                )
            )
            worker.start()
            worker.join()
            marks.append(mark(seeded))  # the record, W47's report in it

    event.listen(seeded, "after_cursor_execute", between)
    try:
        report = weekly_report(seeded, FIRST, tmp_path / "w48", ("csv",), now=NOW)
    finally:
        event.remove(seeded, "after_cursor_execute", between)
    (other,) = made
    assert other.published_mark == 0  # W47's report knew no earlier one
    assert marks[0] > 0
    # What W48's report recorded was built on the record with W47's report in it (its
    # first build, on the record without it, was refused and never written).
    assert report.published_mark == marks[0]
    assert mark(seeded) > marks[0]  # and it was recorded
    (written,) = report.files
    assert sorted((tmp_path / "w48").iterdir()) == [written]
