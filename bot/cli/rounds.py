"""`skillsbot round open|list`: later interview rounds for a segment of the employer list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.database import command_database, command_settings
from bot.cli.staff import cli_actor, local_time, text_table

app = typer.Typer(help="Open later interview rounds and list them.", no_args_is_help=True)

_Values = Annotated[list[str] | None, typer.Option(help="Repeat to allow several values.")]


@app.command("open")
def open_command(
    name: Annotated[str, typer.Argument(help="The round's name, e.g. 'Stage 2 2027'.")],
    interview: Annotated[
        Path | None, typer.Option(help="The interview definition (default: the built-in one).")
    ] = None,
    sector: _Values = None,
    district: _Values = None,
    size: _Values = None,
    status: _Values = None,
    add: Annotated[
        bool,
        typer.Option(
            "--add",
            help="The round is open already: invite only the employers of the segment "
            "(default: the round's own) who were not invited yet.",
        ),
    ] = False,
) -> None:
    """Open a round and invite every employer of the segment who has a Telegram chat.

    A round of the same name is refused (it would invite everyone twice), unless --add."""
    from conversations.loader import DefinitionError, builtin_interview_path, load_interview
    from storage import Session, utcnow
    from storage.followups import RoundExists, open_round
    from storage.staff import record_audit

    if not name.strip():
        typer.echo("skillsbot: give the round a name", err=True)
        raise typer.Exit(2)
    settings = command_settings()
    path = interview or builtin_interview_path()
    try:
        definition = load_interview(path, area=settings.area)
    except DefinitionError as error:
        typer.echo(f"skillsbot: {path} is not a usable interview:", err=True)
        for problem in error.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None
    except OSError:
        typer.echo(f"skillsbot: cannot read the interview file {path}", err=True)
        raise typer.Exit(2) from None
    segment = {
        "sector": sector or [],
        "district": district or [],
        "size": size or [],
        "status": status or [],
    }
    # Someone who never answered gets at most SKILLSBOT_MAX_REMINDERS invitations.
    max_unanswered = settings.max_reminders
    with (
        command_database(settings.database_url) as engine,
        Session(engine) as session,
        session.begin(),
    ):
        now = utcnow()
        try:
            opened = open_round(
                session,
                name=" ".join(name.split()),
                interview_id=definition.id,
                interview_version=definition.version,
                interview_path=str(interview) if interview else None,
                segment=segment,
                opened_by=cli_actor(),
                now=now,
                add=add,
                max_unanswered=max_unanswered,
            )
        except RoundExists as error:
            typer.echo(
                f"skillsbot: round {error.existing.id} ({error.existing.name}) is open "
                "already; nobody was invited again (--add invites only those not invited yet)",
                err=True,
            )
            raise typer.Exit(1) from None
        record_audit(
            session,
            actor=cli_actor(),
            action="round.add" if opened.added else "round.open",
            count=opened.invited,
            detail=f"round {opened.round_id}",
            now=now,
        )
    done = "Added to" if opened.added else "Opened"
    typer.echo(
        f"{done} round {opened.round_id} ({opened.name}): "
        f"{opened.invited} invitation(s) will be sent by the running bot."
    )


@app.command("list")
def list_command() -> None:
    """Every round, newest first, with its invitations by status."""
    from storage import Session
    from storage.followups import interview_rounds, round_invitations

    settings = command_settings()
    with command_database(settings.database_url) as engine, Session(engine) as session:
        rows = []
        for row in interview_rounds(session):
            assert row.id is not None
            counts = round_invitations(session, round_id=row.id)
            shown = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
            rows.append(
                [
                    str(row.id),
                    row.name,
                    row.interview_id,
                    local_time(row.opened_at, settings.zone),
                    shown or "-",
                ]
            )
    if not rows:
        typer.echo("No rounds yet.")
        return
    typer.echo(text_table(["id", "name", "interview", "opened", "invitations"], rows))
