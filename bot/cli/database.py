"""The database a command line works on, and what it says when that database cannot be used.

Every command reads its settings once, as the bot does (`command_settings`, `bot.settings`):
from the environment, else from a `.env` file in the working directory; DATABASE_URL's
default is `sqlite:///./skillsbot.db`. A problem is one line on standard error,
`skillsbot: ...` naming DATABASE_URL and never the URL (which may hold a password), without
a traceback: exit code 2 when the URL is malformed, 1 when the database cannot be opened or
is not at the newest migration.

The database layer (sqlalchemy, alembic) is imported by the functions that use it, so that
every command's `--help` answers without it (tests/bot/test_cli_help.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot.settings import Settings, exit_with, settings_or_exit

if TYPE_CHECKING:
    from storage import Engine

NOT_MIGRATED = "The database is not up to date: run `skillsbot db upgrade` first."


def command_settings() -> Settings:
    """The settings of a command that does not talk to Telegram, read once (environment,
    then `.env`) for the command to hand down; one line naming a bad variable and exit 2."""
    return settings_or_exit(needs_token=False)


def checked_database_url(url: str) -> str:
    """The URL, or one line and exit 2 if it is malformed."""
    from storage import InvalidDatabaseURL, normalise_url

    try:
        normalise_url(url)
    except InvalidDatabaseURL as error:
        exit_with(str(error), code=2)
    return url


def engine_or_exit(url: str) -> Engine:
    """An engine for the URL (the settings' DATABASE_URL), or one line and exit 2 if it is
    malformed. Nothing is connected yet."""
    from storage import InvalidDatabaseURL, make_engine

    try:
        return make_engine(url)
    except InvalidDatabaseURL as error:
        exit_with(str(error), code=2)


@contextmanager
def command_database(url: str, *, migrate: bool = False) -> Iterator[Engine]:
    """The database at `url` (the settings' DATABASE_URL, or a command's own), reachable
    and at the newest migration: migrated here with `migrate`, else one line asking for
    `skillsbot db upgrade` and exit 1. Disposed of afterwards."""
    from storage import (
        DatabaseUnavailable,
        UnknownRevision,
        ensure_reachable,
        pending_migrations,
        upgrade,
    )

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
