"""`skillsbot db ...`: look after the database (migrations)."""

from __future__ import annotations

import typer

from bot.cli.database import command_database, command_settings

app = typer.Typer(help="Look after the database.", no_args_is_help=True)


@app.callback()
def db() -> None:
    """Look after the database named by DATABASE_URL (default sqlite:///./skillsbot.db)."""


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration to the database named by DATABASE_URL."""
    from storage import current_revision

    with command_database(command_settings().database_url, migrate=True) as engine:
        revision = current_revision(engine)
    typer.echo(f"Database is at revision {revision}.")
