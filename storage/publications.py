"""What the weekly reports published: recorded with each report, read by the next one.

A figure "to date" (employers who named a skill, in a sector, so far) grows week after
week. Two reports that show it on bases a few employers apart tell together what those few
employers answered, and a report that shows a figure on the same base as an earlier one
that hid it gives the hidden value away. So every report records its figures as it
published them (`record_published`: shown with the value, or hidden), and disclosure
control reads them all back (`published_columns`) before deciding what to hide
(`analytics.tables`). Only aggregates are kept: nothing here is about one employer.

A report is recorded before it is written out or sent, and reports are recorded one at a
time: one built without knowing a report recorded since it read the record (its
`published_mark`) is refused (`PublishedMeanwhile`) and built again, at most
`RECORD_ATTEMPTS` times. Two reports made at once cannot each miss what the other showed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage import locks
from storage.analytics_source import Columns, Source, read_columns
from storage.publication_models import PublishedFigure

PUBLISHED_COLUMNS = (
    "area",
    "grid",
    "row_label",
    "column_label",
    "base",
    "shown",
    "value",
    "week",
)

# Builds of one report before giving up, when other reports keep being recorded meanwhile.
RECORD_ATTEMPTS = 5

Figure = tuple[str, str, str, float, bool, float]
"""(grid, row, column, base, shown, value): one figure as a report published it (value 0
when hidden)."""


def published_columns(source: Source, *, interview_id: str | None) -> Columns:
    """Every figure recorded for the interview's reports (all areas), as PUBLISHED_COLUMNS."""
    statement: Select[Any] = select(  # type: ignore[assignment]
        col(PublishedFigure.area),
        col(PublishedFigure.grid),
        col(PublishedFigure.row_label),
        col(PublishedFigure.column_label),
        col(PublishedFigure.base),
        col(PublishedFigure.shown),
        col(PublishedFigure.value),
        col(PublishedFigure.week),
    )
    if interview_id is not None:
        statement = statement.where(col(PublishedFigure.interview_id) == interview_id)
    return read_columns(source, statement.order_by(col(PublishedFigure.id)), PUBLISHED_COLUMNS)


class PublishedMeanwhile(RuntimeError):
    """Another report was recorded after this one read what reports published: this one was
    built without knowing it, and must be built again before it is published."""


def published_mark(connection: Session | Connection, *, interview_id: str | None) -> int:
    """How far the record of the interview's publications goes (its last row's id; 0 for
    none). Read with `published_columns`, in the same snapshot, it says what a report knew."""
    statement = select(func.coalesce(func.max(col(PublishedFigure.id)), 0))
    if interview_id is not None:
        statement = statement.where(col(PublishedFigure.interview_id) == interview_id)
    return int(connection.execute(statement).scalar_one() or 0)


def _lock_name(interview_id: str) -> str:
    return f"publications/{interview_id}"


def record_published(
    session: Session,
    *,
    area: str,
    interview_id: str,
    week: str,
    figures: Iterable[Figure],
    now: datetime,
    known_mark: int | None,
) -> int:
    """Record a report's figures as published; one already recorded (the same figure, base
    and outcome, from any week) is kept as it is. Returns how many were new.

    `known_mark`: the `published_mark` the report's build read (None: no check, for a test
    that sets the record up). Reports are recorded one at a time (PostgreSQL: an advisory
    lock until the transaction ends; SQLite: its write lock), and if another report was
    recorded after that read, nothing is recorded and `PublishedMeanwhile` is raised: two
    reports built at once would each hide only against what was published before both,
    and together could give away what either hid. On PostgreSQL the transaction must be
    READ COMMITTED (the default), so that the mark read once the lock is granted sees what
    was recorded while waiting for it."""
    if session.get_bind().dialect.name == "postgresql":
        level = session.connection().get_isolation_level()
        if level != "READ COMMITTED":
            raise RuntimeError(f"reports are recorded under READ COMMITTED, not {level}")
        locks.lock_for_transaction(session, _lock_name(interview_id))
    else:
        session.connection()  # BEGIN IMMEDIATE: one recorder at a time
    if known_mark is not None and published_mark(session, interview_id=interview_id) != known_mark:
        raise PublishedMeanwhile(
            "another report was published while this one was being built; build it again"
        )
    rows = [
        {
            "area": area,
            "interview_id": interview_id,
            "week": week,
            "grid": grid,
            "row_label": row,
            "column_label": column,
            "base": float(base),
            "shown": bool(shown),
            "value": float(value) if shown else 0.0,
            "published_at": now,
        }
        for grid, row, column, base, shown, value in figures
    ]
    if not rows:
        return 0
    table = PublishedFigure.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing().returning(table.c.id)
    new = 0
    for start in range(0, len(rows), 2000):  # bounded statements (SQLite's variable limit)
        new += len(session.execute(statement, rows[start : start + 2000]).all())
    return new
