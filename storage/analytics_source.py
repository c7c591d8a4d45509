"""Raw rows for analytics, read straight into pandas.

The only SQL analytics needs lives here. Each function returns one plain frame with
columns named after the tables; times come back as timezone-aware UTC pandas timestamps
on both SQLite (which keeps no zone) and PostgreSQL.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Select, select
from sqlmodel import col

from storage.models import Answer, Employer, Response

RESPONSE_COLUMNS = (
    "response_id",
    "employer_id",
    "interview_id",
    "interview_version",
    "status",
    "source",
    "started_at",
    "updated_at",
    "completed_at",
    "organisation",
    "contact_name",
    "sector",
    "district",
    "size_band",
)
ANSWER_COLUMNS = ("response_id", "question_id", "value_text", "value_number")
# The engine type analytics passes around without importing SQLAlchemy itself.
Database = Engine
_TIME_COLUMNS = ("started_at", "updated_at", "completed_at")


def responses_frame(
    engine: Engine, *, interview_id: str | None = None, include_test: bool = False
) -> pd.DataFrame:
    """Every response with its employer's profile (one row per response); staff members'
    test runs of the interview only with `include_test` (so reports never count them).

    Includes the organisation and contact name, so that verbatims can be cleaned of
    them; callers must never show those columns.
    """
    statement: Select[Any] = select(  # type: ignore[assignment]
        col(Response.id).label("response_id"),
        col(Response.employer_id),
        col(Response.interview_id),
        col(Response.interview_version),
        col(Response.status),
        col(Response.source),
        col(Response.started_at),
        col(Response.updated_at),
        col(Response.completed_at),
        col(Employer.organisation),
        col(Employer.contact_name),
        col(Employer.sector),
        col(Employer.district),
        col(Employer.size_band),
    ).join(Employer, col(Employer.id) == col(Response.employer_id))
    if not include_test:
        statement = statement.where(col(Response.test).is_(False))
    if interview_id is not None:
        statement = statement.where(col(Response.interview_id) == interview_id)
    frame = _read(engine, statement.order_by(col(Response.id)), RESPONSE_COLUMNS)
    for name in _TIME_COLUMNS:
        frame[name] = _utc_times(frame[name])
    frame["response_id"] = frame["response_id"].astype("int64")
    frame["employer_id"] = frame["employer_id"].astype("int64")
    return frame


def answers_frame(
    engine: Engine,
    *,
    interview_id: str | None = None,
    include_test: bool = False,
    completed_only: bool = False,
) -> pd.DataFrame:
    """Every answer as (response_id, question_id, value_text, value_number); those of
    staff members' test runs only with `include_test`; with `completed_only`, only the
    answers of responses completed now (all that reports count).

    `value_text` holds select_multiple answers as values joined by ';' (see
    `storage.answer_text`); `question_id` comes back categorical to keep memory low.
    """
    statement: Select[Any] = select(  # type: ignore[assignment]
        col(Answer.response_id),
        col(Answer.question_id),
        col(Answer.value_text),
        col(Answer.value_number),
    )
    if interview_id is not None:
        of_interview = select(col(Response.id)).where(col(Response.interview_id) == interview_id)
        statement = statement.where(col(Answer.response_id).in_(of_interview))
    if not include_test:
        tests = select(col(Response.id)).where(col(Response.test).is_(True))
        statement = statement.where(col(Answer.response_id).not_in(tests))
    if completed_only:
        done = select(col(Response.id)).where(col(Response.status) == "completed")
        statement = statement.where(col(Answer.response_id).in_(done))
    frame = _read(engine, statement, ANSWER_COLUMNS)
    frame["response_id"] = frame["response_id"].astype("int64")
    frame["question_id"] = pd.Categorical(frame["question_id"].to_numpy())
    frame["value_number"] = pd.to_numeric(frame["value_number"], errors="coerce").astype("float64")
    return frame


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a million row tuples are made.

    Every tuple allocated counts towards a collection, and each collection walks all the
    tuples made so far: at a million rows that is most of the time spent reading. Row
    tuples hold no cycles, so nothing is left for the collector to find afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read(engine: Engine, statement: Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    """Run a select on the DB-API cursor and build the frame column by column.

    SQLAlchemy's Row objects and `DataFrame.from_records` cost several microseconds a row;
    plain tuples transposed with `zip` are several times cheaper at a million rows.
    """
    with engine.connect() as connection, _no_garbage_collection():
        compiled = statement.compile(dialect=connection.dialect)
        parameters: Any = compiled.params
        if compiled.positiontup is not None:
            parameters = tuple(parameters[name] for name in compiled.positiontup)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(str(compiled), parameters)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return pd.DataFrame({name: pd.Series([], dtype="object") for name in columns})
        values = list(zip(*rows, strict=True))
        del rows
        arrays = [np.array(column, dtype=object) for column in values]
        del values
    return pd.DataFrame(dict(zip(columns, arrays, strict=True)), copy=False)


def _utc_times(values: pd.Series) -> pd.Series:
    """Parse stored times as aware UTC (SQLite gives naive text, PostgreSQL aware values)."""
    return pd.to_datetime(values, utc=True, format="ISO8601")
