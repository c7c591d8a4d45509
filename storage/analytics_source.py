"""Raw rows for analytics, read straight into pandas.

The only SQL analytics needs lives here. Each function returns one plain frame with
columns named after the tables; times come back as timezone-aware UTC pandas timestamps
on both SQLite (which keeps no zone) and PostgreSQL. Rows are read from the
result in large batches straight into frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, select
from sqlalchemy.sql.elements import ColumnElement
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
_TIME_COLUMNS = ("started_at", "updated_at", "completed_at")
_BATCH_ROWS = 100_000


def responses_frame(engine: Engine, *, interview_id: str | None = None) -> pd.DataFrame:
    """Every response with its employer's profile (one row per response).

    Includes the organisation and contact name, so that verbatims can be cleaned of
    them; callers must never show those columns.
    """
    statement = select(
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
    if interview_id is not None:
        statement = statement.where(col(Response.interview_id) == interview_id)
    frame = _read(engine, statement.order_by(col(Response.id)), RESPONSE_COLUMNS)
    for name in _TIME_COLUMNS:
        frame[name] = _utc_times(frame[name])
    frame["response_id"] = frame["response_id"].astype("int64")
    frame["employer_id"] = frame["employer_id"].astype("int64")
    return frame


def answers_frame(engine: Engine, *, interview_id: str | None = None) -> pd.DataFrame:
    """Every answer as (response_id, question_id, value_text, value_number).

    `value_text` holds select_multiple answers as values joined by ';' (see
    `storage.answer_text`); `question_id` comes back categorical to keep memory low.
    """
    statement: Select[Any] = select(
        col(Answer.response_id),
        col(Answer.question_id),
        col(Answer.value_text),
        col(Answer.value_number),
    )
    conditions: list[ColumnElement[bool]] = []
    if interview_id is not None:
        statement = statement.join(Response, col(Response.id) == col(Answer.response_id))
        conditions.append(col(Response.interview_id) == interview_id)
    if conditions:
        statement = statement.where(*conditions)
    frame = _read(engine, statement, ANSWER_COLUMNS)
    frame["response_id"] = frame["response_id"].astype("int64")
    frame["question_id"] = frame["question_id"].astype("category")
    frame["value_number"] = pd.to_numeric(frame["value_number"], errors="coerce").astype(
        "float64"
    )
    return frame


def _read(engine: Engine, statement: Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    """Run a select and collect its rows into a frame, batch by batch."""
    chunks: list[pd.DataFrame] = []
    with engine.connect() as connection:
        result = connection.execute(statement)
        for rows in result.partitions(_BATCH_ROWS):
            chunks.append(pd.DataFrame.from_records(rows, columns=list(columns)))
    if not chunks:
        return pd.DataFrame({name: pd.Series([], dtype="object") for name in columns})
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _utc_times(values: pd.Series) -> pd.Series:
    """Parse stored times as aware UTC (SQLite gives naive text, PostgreSQL aware values)."""
    return pd.to_datetime(values, utc=True, format="ISO8601")
