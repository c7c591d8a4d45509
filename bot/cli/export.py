"""`skillsbot export ...`: write responses out for analysts."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.database import command_database
from bot.cli.staff import cli_actor
from bot.settings import interview_or_exit, settings_or_exit
from conversations.definition import Interview

if TYPE_CHECKING:
    from storage import Session

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
    include_test: Annotated[
        bool,
        typer.Option(
            "--include-test",
            help="Also staff members' own test runs of the interview (left out by default).",
        ),
    ] = False,
    interview_id: Annotated[
        str | None,
        typer.Option(
            "--interview",
            metavar="ID",
            help="The responses of this interview id instead of the bot's interview.",
        ),
    ] = None,
) -> None:
    """Completed responses of the bot's interview: a row per response, a column per question.

    The bot's interview is the one new responses use: the one an admin activated from the
    chat, else SKILLSBOT_INTERVIEW, else the built-in one.
    Its questions give the column order. No bot token is needed.
    Responses to other interviews are left out and counted: --interview ID exports those.
    """
    from analytics.export import export_responses, format_for
    from storage import Session, utcnow
    from storage.definitions import active_definition
    from storage.staff import record_audit

    settings = settings_or_exit(needs_token=False)
    configured = interview_or_exit(settings)
    fmt = format_for(out, file_format.value if file_format else None)
    try:
        with command_database(settings.database_url) as engine, Session(engine) as session:
            active = active_definition(session)
            chosen = interview_id or (active.interview_id if active else configured.id)
            counts = export_responses(
                session,
                out=out,
                fmt=fmt,
                interview_id=chosen,
                interview=_definition(session, chosen, configured, settings.area),
                include_all=include_all,
                include_test=include_test,
                zone=settings.zone,
            )
            scope = "all statuses" if include_all else "completed"
            scope += ", with test responses" if include_test else ""
            record_audit(
                session,
                actor=cli_actor(),
                action="export.responses",
                count=counts.written,
                detail=f"{fmt}, {scope}, interview {chosen}",
                now=utcnow(),
            )
            session.commit()
    except OSError as error:
        typer.echo(f"Could not write {out}: {error.strerror or error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Wrote {_responses(counts.written)} of the interview {chosen} to {out} ({fmt}).")
    if counts.left_out:
        each = ", ".join(f"{other} ({count})" for other, count in counts.left_out.items())
        typer.echo(
            f"Left out {_responses(sum(counts.left_out.values()))} to other interviews: "
            f"{each}. Export them with --interview ID."
        )


def _definition(
    session: Session, interview_id: str, configured: Interview, area: str
) -> Interview | None:
    """The definition whose questions order the columns of `interview_id`'s responses:
    its newest version sent from the chat, the settings' interview or the built-in one;
    None for any other (columns by question id)."""
    from analytics.export import builtin_interview
    from conversations.loader import DefinitionError, load_definition_bytes
    from storage.definitions import latest_definition

    stored = latest_definition(session, interview_id)
    if stored is not None:
        try:
            return load_definition_bytes(stored.content, path=stored.file_name, area=area)
        except DefinitionError:
            pass
    if interview_id == configured.id:
        return configured
    builtin = builtin_interview()
    return builtin if builtin is not None and builtin.id == interview_id else None


def _responses(count: int) -> str:
    return f"{count} response" if count == 1 else f"{count} responses"
