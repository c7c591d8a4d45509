"""`skillsbot export ...`: write responses out for analysts."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from analytics.export import builtin_interview, export_responses, format_for
from bot.commands.staff import cli_actor
from storage import (
    DatabaseUnavailable,
    InvalidDatabaseURL,
    Session,
    database_url,
    ensure_reachable,
    make_engine,
    pending_migrations,
    utcnow,
)
from storage.staff import record_audit

app = typer.Typer(help="Write responses out for analysts.", no_args_is_help=True)


class Format(StrEnum):
    """File formats of an export."""

    csv = "csv"
    xlsx = "xlsx"


@app.callback()
def export() -> None:
    """Export from the database named by DATABASE_URL (default sqlite:///./skillsbot.db)."""


@app.command("responses")
def responses(
    out: Annotated[Path, typer.Option("--out", help="The file to write.", dir_okay=False)],
    file_format: Annotated[
        Format | None,
        typer.Option("--format", help="csv or xlsx (default: from the --out suffix)."),
    ] = None,
    include_all: Annotated[
        bool, typer.Option("--all", help="Every response, not only completed ones.")
    ] = False,
) -> None:
    """Completed responses, one row per response and one column per question."""
    try:
        engine = make_engine(database_url())
    except InvalidDatabaseURL as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    fmt = format_for(out, file_format.value if file_format else None)
    try:
        ensure_reachable(engine)
        if pending_migrations(engine):
            typer.echo(
                "The database is not up to date: run `skillsbot db upgrade` first.", err=True
            )
            raise typer.Exit(1)
        with Session(engine) as session:
            count = export_responses(
                session, out=out, fmt=fmt, include_all=include_all, interview=builtin_interview()
            )
            scope = "all statuses" if include_all else "completed"
            record_audit(
                session,
                actor=cli_actor(),
                action="export.responses",
                count=count,
                detail=f"{fmt}, {scope}",
                now=utcnow(),
            )
            session.commit()
    except DatabaseUnavailable as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    except OSError as error:
        typer.echo(f"Could not write {out}: {error.strerror or error}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    noun = "response" if count == 1 else "responses"
    typer.echo(f"Wrote {count} {noun} to {out} ({fmt}).")
