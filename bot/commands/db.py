"""`skillsbot db ...`: look after the database (migrations)."""

from __future__ import annotations

import typer

from storage import (
    DatabaseUnavailable,
    InvalidDatabaseURL,
    UnknownRevision,
    database_url,
    ensure_reachable,
    make_engine,
    upgrade,
)

app = typer.Typer(help="Look after the database.", no_args_is_help=True)


@app.callback()
def db() -> None:
    """Look after the database named by DATABASE_URL (default sqlite:///./skillsbot.db)."""


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration to the database named by DATABASE_URL."""
    try:
        engine = make_engine(database_url())
    except InvalidDatabaseURL as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    try:
        ensure_reachable(engine)
        revision = upgrade(engine)
    except (DatabaseUnavailable, UnknownRevision) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"Database is at revision {revision}.")
