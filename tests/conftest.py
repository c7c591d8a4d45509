"""Shared database fixtures: every database test runs once on SQLite and once on PostgreSQL.

- `database_url`: the URL of a fresh, empty database (not migrated). Parametrized over
  `sqlite` (a new file in tmp_path) and `postgres` (a new database created for the test on
  the server at TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test, and
  dropped afterwards). The postgres case carries the `postgres` mark and is skipped when the
  server does not answer, unless SKILLSBOT_REQUIRE_POSTGRES=1 (as on CI): then it fails.
- `engine`: an engine on that database with every migration applied.

Use them in any test: `def test_x(engine): ...` or, for subprocesses, pass
`DATABASE_URL=database_url` in their environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine

from storage import make_engine, normalise_url, upgrade

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _maintenance_url() -> str:
    """The libpq URL of the PostgreSQL database used to create and drop test databases."""
    url = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL
    return normalise_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def _postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests (None when it answers)."""
    try:
        with psycopg.connect(_maintenance_url(), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL is not reachable ({type(error).__name__})"
    return None


def _require_postgres() -> None:
    problem = _postgres_problem()
    if problem is None:
        return
    if os.environ.get("SKILLSBOT_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{problem} and SKILLSBOT_REQUIRE_POSTGRES=1", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'skillsbot.db'}"
        return
    _require_postgres()
    name = f"skillsbot_test_{secrets.token_hex(6)}"
    maintenance = _maintenance_url()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield normalise_url(maintenance).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the fresh database with every migration applied."""
    database_engine = make_engine(database_url)
    upgrade(database_engine)
    try:
        yield database_engine
    finally:
        database_engine.dispose()
