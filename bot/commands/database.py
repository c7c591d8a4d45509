"""The database a command line works on, and what it says when that database cannot be used.

Every command reads DATABASE_URL as the bot does (`bot.settings`): from the environment,
else from a `.env` file in the working directory, else `sqlite:///./skillsbot.db`. A problem
is one line on standard error, `skillsbot: ...` naming DATABASE_URL and never the URL (which
may hold a password), without a traceback: exit code 2 when the URL is malformed, 1 when the
database cannot be opened or is not at the newest migration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from bot.settings import Settings, exit_with
from storage import (
    DATABASE_URL_VARIABLE,
    DEFAULT_DATABASE_URL,
    DatabaseUnavailable,
    Engine,
    InvalidDatabaseURL,
    UnknownRevision,
    ensure_reachable,
    make_engine,
    normalise_url,
    pending_migrations,
    upgrade,
)

NOT_MIGRATED = "The database is not up to date: run `skillsbot db upgrade` first."


class _DatabaseSetting(BaseSettings):
    """Only DATABASE_URL, read the way `Settings` reads it (environment, then .env)."""

    model_config = Settings.model_config
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias=AliasChoices(DATABASE_URL_VARIABLE)
    )


def configured_database_url(*, env_file: Path | str | None = ".env") -> str:
    """DATABASE_URL from the environment, else from `env_file`, else the default SQLite file."""
    return _DatabaseSetting(_env_file=env_file).database_url  # type: ignore[call-arg]


def checked_database_url(url: str | None = None) -> str:
    """The URL (by default `configured_database_url`), or one line and exit 2 if malformed."""
    url = configured_database_url() if url is None else url
    try:
        normalise_url(url)
    except InvalidDatabaseURL as error:
        exit_with(str(error), code=2)
    return url


def engine_or_exit(url: str | None = None) -> Engine:
    """An engine for the URL (by default `configured_database_url`), or one line and exit 2
    if it is malformed. Nothing is connected yet."""
    try:
        return make_engine(configured_database_url() if url is None else url)
    except InvalidDatabaseURL as error:
        exit_with(str(error), code=2)


@contextmanager
def command_database(url: str | None = None, *, migrate: bool = False) -> Iterator[Engine]:
    """The database named by DATABASE_URL (or `url`), reachable and at the newest migration:
    migrated here with `migrate`, else one line asking for `skillsbot db upgrade` and exit 1.
    Disposed of afterwards."""
    engine = engine_or_exit(url)
    try:
        ensure_reachable(engine)
        if migrate:
            upgrade(engine)
        elif pending_migrations(engine):
            exit_with(NOT_MIGRATED, code=1)
        yield engine
    except (DatabaseUnavailable, UnknownRevision) as error:
        exit_with(str(error), code=1)
    finally:
        engine.dispose()
