"""Shared database fixtures: every database test runs once on SQLite and once on PostgreSQL.

- `database_url`: the URL of a fresh, empty database (not migrated). Parametrized over
  `sqlite` (a new file in tmp_path) and `postgres` (a new schema, made the connection's
  search_path through the URL, in the database at TEST_POSTGRES_URL, default
  postgresql://postgres@127.0.0.1:5432/test, and dropped afterwards). The postgres case
  carries the `postgres` mark and is skipped when the server does not answer, unless
  SKILLSBOT_REQUIRE_POSTGRES=1 (as on CI): then it fails.
- `engine`: an engine on that database with every migration applied.

Use them in any test: `def test_x(engine): ...` or, for subprocesses, pass
`DATABASE_URL=database_url` in their environment.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from storage import Engine, make_engine, normalise_url, upgrade

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
    with fresh_postgres_schema() as url:
        yield url


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema (skips or fails as `database_url` does);
    dropped, with any connection left open to it, on leaving."""
    _require_postgres()
    # A fresh schema is far quicker than a fresh database (CREATE DATABASE waits for a
    # checkpoint). Connections find it through search_path and carry its name as their
    # application_name, so teardown can end any a test left open.
    schema = f"skillsbot_test_{secrets.token_hex(6)}"
    maintenance = _maintenance_url()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = normalise_url(maintenance).update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": schema}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()",
                (schema,),
            )
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    template_engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(template_engine)
    finally:
        template_engine.dispose()  # the last connection to close folds the WAL into the file
    return path


@pytest.fixture
def engine(database_url: str, migrated_sqlite_template: Path) -> Iterator[Engine]:
    """An engine on the fresh database with every migration applied."""
    sqlite_file = normalise_url(database_url).database
    if database_url.startswith("sqlite") and sqlite_file and not Path(sqlite_file).exists():
        shutil.copyfile(migrated_sqlite_template, sqlite_file)  # quicker than migrating again
        database_engine = make_engine(database_url)
    else:
        database_engine = make_engine(database_url)
        upgrade(database_engine)
    try:
        yield database_engine
    finally:
        database_engine.dispose()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put the root logger back as it was: a command run in-process (CliRunner) configures
    logging onto its own stderr, which is closed once the command returns, and a later
    test's log line would then print a "Logging error" into that test's output."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
