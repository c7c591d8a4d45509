"""Raw rows for analytics, read straight off the database cursor as plain columns.

The only SQL analytics needs lives here; `analytics.source` turns the columns into frames.
Each function returns `Columns`: column name -> that column's values, one per row, in row
order (one tuple per column, all of the same length; empty when there are no rows). A
million answers are read in about a second because the rows never become SQLAlchemy
objects and are transposed with the garbage collector paused.

Values are as the database driver gives them: times are UTC, as ISO 8601 text on SQLite
(which keeps no zone) and as aware datetimes on PostgreSQL.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select, select
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
# Where columns are read from: the database (a connection of their own) or a connection
# already open (several reads in one transaction: one snapshot).
Source = Engine | Connection
# Column name -> its values, one per row (see the module's docstring).
Columns = Mapping[str, Sequence[Any]]


def response_columns(
    engine: Source, *, interview_id: str | None = None, include_test: bool = False
) -> Columns:
    """Every response with its employer's profile (one row per response, by id), as
    RESPONSE_COLUMNS; staff members' test runs of the interview only with `include_test`
    (so reports never count them).

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
    return read_columns(engine, statement.order_by(col(Response.id)), RESPONSE_COLUMNS)


def answer_columns(
    engine: Source,
    *,
    interview_id: str | None = None,
    include_test: bool = False,
    completed_only: bool = False,
) -> Columns:
    """Every answer as ANSWER_COLUMNS (response_id, question_id, value_text, value_number);
    those of staff members' test runs only with `include_test`; with `completed_only`, only
    the answers of responses completed now (all that reports count).

    `value_text` holds select_multiple answers as values joined by ';' (see
    `storage.answer_text`).
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
    return read_columns(engine, statement, ANSWER_COLUMNS)


@dataclass(frozen=True, slots=True)
class SurveyColumns:
    """What a report reads: responses, answers, verbatim decisions and the figures earlier
    reports published (`storage.publications`), as columns."""

    responses: Columns
    answers: Columns
    reviews: Columns
    published: Columns
    # How far the record of publications went when they were read
    # (`storage.publications.published_mark`): recording the report checks it.
    published_mark: int = 0


def survey_columns(
    connection: Connection, *, interview_id: str | None, completed_only: bool = False
) -> SurveyColumns:
    """The interview's responses, answers (`completed_only`: of completed responses),
    every verbatim decision and the figures its reports published, read on one connection:
    in one transaction, one snapshot (a response completed meanwhile is in all of them or
    in none)."""
    from storage.publications import published_columns, published_mark
    from storage.verbatim_reviews import review_columns

    # The mark first: on a connection whose statements do not share one snapshot (outside
    # `storage.db.reading`), the figures read after it can only be more than it says, and
    # a report built on them is refused at recording, never recorded without knowing one.
    mark = published_mark(connection, interview_id=interview_id)
    return SurveyColumns(
        responses=response_columns(connection, interview_id=interview_id),
        answers=answer_columns(
            connection, interview_id=interview_id, completed_only=completed_only
        ),
        reviews=review_columns(connection),
        published=published_columns(connection, interview_id=interview_id),
        published_mark=mark,
    )


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


def read_columns(source: Source, statement: Select[Any], columns: Sequence[str]) -> Columns:
    """Run a select on the DB-API cursor and return its result column by column (on a
    connection of its own, or on `source` when it is one).

    SQLAlchemy's Row objects cost several microseconds a row; the cursor's plain tuples,
    transposed with `zip`, are several times cheaper at a million rows.
    """
    if isinstance(source, Connection):
        return _read_columns(source, statement, columns)
    with source.connect() as connection:
        return _read_columns(connection, statement, columns)


def _read_columns(
    connection: Connection, statement: Select[Any], columns: Sequence[str]
) -> Columns:
    with _no_garbage_collection():
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
            return {name: () for name in columns}
        values = list(zip(*rows, strict=True))
        del rows
    return dict(zip(columns, values, strict=True))
