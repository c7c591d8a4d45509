"""Bulk insert of demo data: employers, responses and answers, many rows per statement.

Used by `skillsbot demo seed` and the analytics benchmark. Rows go in with SQLAlchemy
core `executemany` (and RETURNING for the generated ids), in batches, one transaction
per batch; nothing is built as an ORM object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select

from storage.models import Answer, Employer, Response
from storage.repositories import answer_number, answer_text

BATCH_SIZE = 2_000


@dataclass(frozen=True, slots=True)
class SeedResponse:
    """One employer with one response and its answers, ready to insert.

    `employer` holds employer columns (organisation, sector, status, created_at, ...);
    `response` holds response columns except `employer_id`; `answers` maps each question
    id to (value, answered_at).
    """

    employer: Mapping[str, Any]
    response: Mapping[str, Any]
    answers: Mapping[str, tuple[Any, datetime]]


@dataclass(frozen=True, slots=True)
class SeedCounts:
    """How many rows a seed inserted."""

    employers: int = 0
    responses: int = 0
    answers: int = 0


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _batches(items: Iterable[SeedResponse], size: int) -> Iterator[list[SeedResponse]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_seed(
    engine: Engine, items: Iterable[SeedResponse], *, batch_size: int = BATCH_SIZE
) -> SeedCounts:
    """Insert employers, their responses and answers; returns the row counts."""
    employers_table, responses_table, answers_table = (
        _table(Employer),
        _table(Response),
        _table(Answer),
    )
    counts = SeedCounts()
    for batch in _batches(items, batch_size):
        with engine.begin() as connection:
            employer_ids = _insert_returning_ids(
                connection, employers_table, [dict(item.employer) for item in batch]
            )
            response_ids = _insert_returning_ids(
                connection,
                responses_table,
                [
                    {**item.response, "employer_id": employer_id}
                    for item, employer_id in zip(batch, employer_ids, strict=True)
                ],
            )
            answer_rows = [
                {
                    "response_id": response_id,
                    "question_id": question_id,
                    "value": value,
                    "value_text": answer_text(value),
                    "value_number": answer_number(value),
                    "answered_at": answered_at,
                }
                for item, response_id in zip(batch, response_ids, strict=True)
                for question_id, (value, answered_at) in item.answers.items()
            ]
            if answer_rows:
                connection.execute(insert(answers_table), answer_rows)
        counts = SeedCounts(
            employers=counts.employers + len(batch),
            responses=counts.responses + len(batch),
            answers=counts.answers + len(answer_rows),
        )
    return counts


def _insert_returning_ids(
    connection: Any, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [row[0] for row in connection.execute(statement, list(rows))]


def row_counts(engine: Engine) -> SeedCounts:
    """How many employers, responses and answers the database holds."""
    with engine.connect() as connection:
        return SeedCounts(
            employers=connection.scalar(select(func.count()).select_from(_table(Employer))) or 0,
            responses=connection.scalar(select(func.count()).select_from(_table(Response))) or 0,
            answers=connection.scalar(select(func.count()).select_from(_table(Answer))) or 0,
        )
