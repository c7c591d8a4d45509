"""`skillsbot broadcast send|list|cancel`: news for part of the employer list, from a terminal.

`send` shows the recipient count, and how many of the segment the audience policy
(storage/audience.py) leaves out and why, and asks before sending (`--yes` skips the
question; with no terminal on standard input it refuses without `--yes`, never waiting;
`--dry-run` only prints the counts). Sent now, it runs
here with a progress bar; with `--at` it is stored and the running bot sends it on time.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as ProgressBar

from bot.commands.database import command_database
from bot.commands.staff import cli_actor, display_zone, local_time, text_table
from storage import Session, utcnow
from storage.audience import describe_left_out
from storage.broadcasts import (
    audience_report,
    broadcasts,
    cancel_broadcast,
    create_broadcast,
    delivery_counts,
    describe_segment,
)

if TYPE_CHECKING:
    from storage import Engine

app = typer.Typer(help="Send news to part of the employer list.", no_args_is_help=True)

_Values = Annotated[list[str] | None, typer.Option(help="Repeat to allow several values.")]
MAX_TEXT = 4096
MAX_CAPTION = 1024


@app.command("send")
def send(
    text: Annotated[str, typer.Option(help="The message (the caption with a photo/document).")],
    photo: Annotated[Path | None, typer.Option(help="An image file to send with it.")] = None,
    document: Annotated[Path | None, typer.Option(help="A file to send with it.")] = None,
    status: _Values = None,
    sector: _Values = None,
    district: _Values = None,
    size: _Values = None,
    round_name: Annotated[
        list[str] | None,
        typer.Option("--round", help="Employers invited to this interview round (repeatable)."),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Send later: '2026-11-24 09:30' or 'tomorrow 9:30' (UK).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Only say how many would receive it and who is left out, and why."
        ),
    ] = False,
) -> None:
    """Send (or schedule) a broadcast to the employers of a segment."""
    from bot.broadcaster import InvalidSendTime, parse_send_time

    text = text.strip()
    media_kind, media = _media(photo, document)
    limit = MAX_CAPTION if media_kind else MAX_TEXT
    if not text or len(text) > limit:
        _fail(f"the text must have 1 to {limit} characters", code=2)
    when = None
    if at is not None:
        try:
            when = parse_send_time(at, now=utcnow(), zone=display_zone())
        except InvalidSendTime as error:
            _fail(str(error), code=2)
    segment = {
        "status": status or [],
        "sector": sector or [],
        "district": district or [],
        "size": size or [],
        "round": round_name or [],
    }
    with command_database() as engine:
        with Session(engine) as session:
            reached = audience_report(session, segment=segment)
        count = len(reached.recipients)
        left_out = describe_left_out(reached.left_out)
        if dry_run:
            typer.echo(
                f"Would send to {count} employer(s) ({describe_segment(segment)}); {left_out}."
            )
            return
        if count == 0:
            _fail(f"no reachable employer matches that segment ({left_out})", code=1)
        typer.echo(f"{count} employer(s) would receive it; {left_out}.")
        what = f"{count} employer(s) ({describe_segment(segment)})"
        if when is not None:
            what += f" at {local_time(when)}"
        if not yes:
            if not sys.stdin.isatty():
                _fail(f"not sending to {what} without --yes (no terminal to ask)", code=1)
            if not typer.confirm(f"Send this message to {what}?"):
                typer.echo("Nothing sent.")
                raise typer.Exit(1)
        with Session(engine) as session, session.begin():
            row = create_broadcast(
                session,
                text=text,
                segment=segment,
                created_by=cli_actor(),
                now=utcnow(),
                media_kind=media_kind,
                media=media,
                scheduled_at=when,
            )
            broadcast_id = row.id
        assert broadcast_id is not None
        if when is not None:
            typer.echo(
                f"Broadcast {broadcast_id} scheduled for {local_time(when)} "
                f"to {count} employer(s); the running bot will send it."
            )
            return
        asyncio.run(_send_now(engine, broadcast_id))


def _media(photo: Path | None, document: Path | None) -> tuple[str | None, str | None]:
    if photo is not None and document is not None:
        _fail("give --photo or --document, not both", code=2)
    chosen, kind = (photo, "photo") if photo is not None else (document, "document")
    if chosen is None:
        return None, None
    if not chosen.is_file():
        _fail(f"cannot read the file {chosen}", code=2)
    return kind, str(chosen.resolve())


def _fail(message: str, *, code: int) -> None:
    typer.echo(f"skillsbot: {message}", err=True)
    raise typer.Exit(code)


async def _send_now(engine: Engine, broadcast_id: int) -> None:
    from bot.app import build_bot
    from bot.broadcaster import Broadcaster, Progress, final_report
    from bot.settings import settings_or_exit

    settings = settings_or_exit()
    bot = build_bot(settings.token.get_secret_value(), settings.api_url)
    columns = (
        TextColumn(f"Broadcast {broadcast_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TimeRemainingColumn(),
    )
    try:
        with ProgressBar(*columns, transient=False) as bar:
            task = bar.add_task("send", total=None, failed=0)

            async def show(progress: Progress) -> None:
                bar.update(
                    task,
                    total=progress.total,
                    completed=progress.done,
                    failed=progress.failed + progress.unreachable,
                )

            sender = Broadcaster(bot, engine, rate=settings.broadcast_rate)
            result = await sender.run(broadcast_id, on_progress=show)
    finally:
        await bot.session.close()
    if result is None:
        typer.echo(f"Broadcast {broadcast_id} is being sent by another process.")
        return
    typer.echo(final_report(result))


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 20,
) -> None:
    """Broadcasts, newest first, with their delivery counts."""
    with command_database() as engine, Session(engine) as session:
        rows = []
        for row in broadcasts(session, limit=limit):
            assert row.id is not None
            counts = delivery_counts(session, broadcast_id=row.id)
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"
            when = local_time(row.scheduled_at or row.created_at)
            rows.append(
                [
                    str(row.id),
                    row.status,
                    when,
                    str(row.recipients),
                    describe_segment(row.segment),
                    shown,
                ]
            )
    if not rows:
        typer.echo("No broadcasts yet.")
        return
    typer.echo(text_table(["id", "status", "when", "recipients", "audience", "deliveries"], rows))


@app.command("cancel")
def cancel(
    broadcast_id: Annotated[int, typer.Argument(help="The broadcast's id (see list).", min=1)],
) -> None:
    """Cancel a scheduled or running broadcast; its sender stops within a second or two."""
    with command_database() as engine, Session(engine) as session, session.begin():
        done = cancel_broadcast(session, broadcast_id=broadcast_id, actor=cli_actor(), now=utcnow())
    if not done:
        _fail(f"broadcast {broadcast_id} is not scheduled or running", code=1)
    typer.echo(f"Broadcast {broadcast_id} cancelled.")
