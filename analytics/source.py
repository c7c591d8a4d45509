"""The raw frames analytics starts from, built from the columns storage reads.

`storage.analytics_source` and `storage.verbatim_reviews` read plain columns straight off
the database cursor; here they become frames with the types the rest of analytics relies
on: ids as int64, `question_id` categorical (a million answers name a few dozen
questions), numbers as float64, and times as timezone-aware UTC timestamps whatever the
database (SQLite gives naive ISO text, PostgreSQL aware datetimes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from storage.analytics_source import (
    ANSWER_COLUMNS,
    RESPONSE_COLUMNS,
    Columns,
    Database,
    answer_columns,
    response_columns,
)
from storage.verbatim_reviews import REVIEW_COLUMNS, review_columns

_TIME_COLUMNS = ("started_at", "updated_at", "completed_at")


def responses_frame(
    engine: Database, *, interview_id: str | None = None, include_test: bool = False
) -> pd.DataFrame:
    """Every response with its employer's profile (one row per response); staff members'
    test runs only with `include_test` (see `storage.analytics_source.response_columns`).

    Includes the organisation and contact name, so that verbatims can be cleaned of
    them; callers must never show those columns.
    """
    return responses_frame_of(
        response_columns(engine, interview_id=interview_id, include_test=include_test)
    )


def responses_frame_of(columns: Columns) -> pd.DataFrame:
    """`responses_frame` of columns already read (`storage.analytics_source`)."""
    frame = _frame(columns, RESPONSE_COLUMNS)
    for name in _TIME_COLUMNS:
        frame[name] = _utc_times(frame[name])
    frame["response_id"] = frame["response_id"].astype("int64")
    frame["employer_id"] = frame["employer_id"].astype("int64")
    return frame


def answers_frame(
    engine: Database,
    *,
    interview_id: str | None = None,
    include_test: bool = False,
    completed_only: bool = False,
) -> pd.DataFrame:
    """Every answer as (response_id, question_id, value_text, value_number), chosen as
    `storage.analytics_source.answer_columns` says; `question_id` comes back categorical
    to keep memory low.

    `value_text` holds select_multiple answers as values joined by ';' (see
    `storage.answer_text`).
    """
    return answers_frame_of(
        answer_columns(
            engine,
            interview_id=interview_id,
            include_test=include_test,
            completed_only=completed_only,
        )
    )


def answers_frame_of(columns: Columns) -> pd.DataFrame:
    """`answers_frame` of columns already read (`storage.analytics_source`)."""
    frame = _frame(columns, ANSWER_COLUMNS)
    frame["response_id"] = frame["response_id"].astype("int64")
    frame["question_id"] = pd.Categorical(frame["question_id"].to_numpy())
    frame["value_number"] = pd.to_numeric(frame["value_number"], errors="coerce").astype("float64")
    return frame


def reviews_frame(engine: Database) -> pd.DataFrame:
    """Every verbatim decision as (response_id, question_id, source_hash, status, quote)."""
    return reviews_frame_of(review_columns(engine))


def reviews_frame_of(columns: Columns) -> pd.DataFrame:
    """`reviews_frame` of columns already read (`storage.verbatim_reviews`)."""
    frame = _frame(columns, REVIEW_COLUMNS)
    frame["response_id"] = frame["response_id"].astype("int64")
    frame["question_id"] = frame["question_id"].astype("object")
    return frame


def _frame(columns: Columns, names: Sequence[str]) -> pd.DataFrame:
    """A frame holding the columns as they are: one object array per column, no copy.

    `DataFrame.from_records` and per-row Python cost several times more at a million rows
    than handing pandas whole columns."""
    arrays = {name: np.array(columns[name], dtype=object) for name in names}
    if not any(len(values) for values in arrays.values()):
        return pd.DataFrame({name: pd.Series([], dtype="object") for name in names})
    return pd.DataFrame(arrays, copy=False)


def _utc_times(values: pd.Series) -> pd.Series:
    """Parse stored times as aware UTC (SQLite gives naive text, PostgreSQL aware values)."""
    return pd.to_datetime(values, utc=True, format="ISO8601")
