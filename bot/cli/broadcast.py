"""`skillsbot broadcast send|list|cancel|resend-unknown`: news for part of the employer list.

`send` checks everything first, then shows the recipient count, and how many of the segment
the audience policy (storage/audience.py) leaves out and why, and asks before sending
(`--yes` skips the question; with no terminal on standard input it refuses without `--yes`,
never waiting; `--dry-run` only prints the counts). The same text to the same audience
within half an hour is taken for a retry and asked about even with `--yes` (`--again` sends
it anyway). Sent now, it runs here with a progress bar; with `--at` it is stored and the
running bot sends it on time. `resend-unknown` sends a finished broadcast again to those
whose delivery is unknown.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer

from bot.cli.database import command_database, command_settings
from bot.cli.staff import cli_actor, local_time, text_table
from bot.core.limits import telegram_length

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage import Engine
    from storage.broadcast_models import Broadcast

app = typer.Typer(help="Send news to part of the employer list.", no_args_is_help=True)

_Values = Annotated[list[str] | None, typer.Option(help="Repeat to allow several values.")]
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 2**20  # the Bot API's limits on uploads
MAX_DOCUMENT_BYTES = 50 * 2**20
# A command run again within this window with the same text and audience is taken for a
# retry (the first may have gone out after all) and asks before a second broadcast.
DUPLICATE_WINDOW = timedelta(minutes=30)


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
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Send even though the same text went to the same audience a moment ago.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Only say how many would receive it and who is left out, and why."
        ),
    ] = False,
) -> None:
    """Send (or schedule) a broadcast to the employers of a segment.

    Everything is checked before the broadcast is stored (once stored, the running bot
    sends it): the text, the file, the time, the settings, the audience, and, when it is
    sent from here, that Telegram accepts the bot's token.
    """
    from storage import Session, utcnow
    from storage.audience import describe_left_out
    from storage.broadcasts import (
        audience_report,
        create_broadcast,
        delivery_counts,
        describe_segment,
        recent_twins,
    )

    text = text.replace("\x00", "").strip()  # PostgreSQL refuses a NUL in text
    media_kind, media = _media(photo, document)
    limit = MAX_CAPTION if media_kind else MAX_TEXT
    if not text or telegram_length(text) > limit:
        _fail(f"the text must have 1 to {limit} characters (an emoji counts as two)", code=2)
    settings = command_settings()
    when = None
    if at is not None:
        # Imported here: the broadcaster brings aiogram, seconds of start-up a refusal of
        # this command (a retry, a bad segment) need not pay.
        from bot.core.broadcast_drafts import InvalidSendTime, parse_send_time

        try:
            when = parse_send_time(at, now=utcnow(), zone=settings.zone)
        except InvalidSendTime as error:
            _fail(str(error), code=2)
    segment = {
        "status": status or [],
        "sector": sector or [],
        "district": district or [],
        "size": size or [],
        "round": round_name or [],
    }
    with command_database(settings.database_url) as engine:
        with Session(engine) as session:
            reached = audience_report(session, segment=segment)
            twins = recent_twins(
                session,
                text=text,
                segment=segment,
                media_kind=media_kind,
                since=utcnow() - DUPLICATE_WINDOW,
            )
            twin_counts = [delivery_counts(session, broadcast_id=row.id) for row in twins if row.id]
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
            what += f" at {local_time(when, settings.zone)}"
        if not yes and not sys.stdin.isatty():
            _fail(f"not sending to {what} without --yes (no terminal to ask)", code=1)
        if twins and not again:
            _ask_about_twin(twins[0], twin_counts[0], settings.zone)
        # Sent now, this process sends it and needs the token; scheduled, the running bot
        # does.
        if when is None:
            _require_token(settings)
            asyncio.run(_check_telegram(settings))
        if not yes and not typer.confirm(f"Send this message to {what}?"):
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
                f"Broadcast {broadcast_id} scheduled for {local_time(when, settings.zone)} "
                f"to {count} employer(s); the running bot will send it."
            )
            return
        asyncio.run(_send_now(engine, broadcast_id, settings))


@app.command("resend-unknown")
def resend_unknown(
    broadcast_id: Annotated[int, typer.Argument(help="The broadcast's id (see list).", min=1)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Send a finished broadcast again to the employers whose delivery is 'unknown'.

    A sender that stopped mid-send leaves the message it was sending 'unknown': it may or
    may not have arrived. Sending again reaches those who did not get it, and gives a
    second copy to those who did; hence the question (`--yes` answers it).
    """
    from storage import Session, utcnow
    from storage.broadcasts import requeue_unknown, unknown_deliveries

    settings = command_settings()
    with command_database(settings.database_url) as engine:
        with Session(engine) as session:
            found = unknown_deliveries(session, broadcast_id=broadcast_id)
        if found is None:
            _fail(f"there is no broadcast {broadcast_id}", code=1)
        if found.status != "done":
            _fail(
                f"broadcast {broadcast_id} is {found.status}; "
                "unknown deliveries can be resent once it is done",
                code=1,
            )
        left_out = found.unknown - found.resendable
        note = f" ({left_out} more left out: opted out, unreachable or erased since)"
        if found.resendable == 0:
            typer.echo(
                f"Broadcast {broadcast_id} has no unknown delivery to resend"
                + (note if left_out else "")
                + "."
            )
            return
        what = (
            f"{found.resendable} employer(s) whose delivery of broadcast {broadcast_id} is "
            "unknown; some of them may already have it and will get it twice"
        )
        if left_out:
            what += note
        if not yes and not sys.stdin.isatty():
            _fail(f"not resending to {what} without --yes (no terminal to ask)", code=1)
        _require_token(settings)
        if not yes and not typer.confirm(f"Resend to {what}?"):
            typer.echo("Nothing sent.")
            raise typer.Exit(1)
        asyncio.run(_check_telegram(settings))
        with Session(engine) as session, session.begin():
            requeued = requeue_unknown(
                session, broadcast_id=broadcast_id, actor=cli_actor(), now=utcnow()
            )
        if requeued == 0:
            _fail(f"broadcast {broadcast_id} changed meanwhile; nothing resent", code=1)
        asyncio.run(_send_now(engine, broadcast_id, settings))


def _require_token(settings: Settings) -> None:
    """Exit 2 with the settings' own line on TELEGRAM_BOT_TOKEN when it is missing or
    malformed (this process is to send)."""
    if settings.token_problem is not None:
        _fail(settings.token_problem, code=2)


def _ask_about_twin(twin: Broadcast, counts: dict[str, int], zone: ZoneInfo) -> None:
    """The same news went to the same audience a moment ago: ask (or refuse) before a
    second broadcast, whatever --yes says; `--again` is the deliberate way past."""
    done = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    line = (
        f"broadcast {twin.id} with the same text and audience was created at "
        f"{local_time(twin.created_at, zone)} ({twin.status}{', ' + done if done else ''})"
    )
    if not sys.stdin.isatty():
        _fail(f"{line}; add --again to send it a second time", code=1)
    typer.echo(line[0].upper() + line[1:] + ".")
    if not typer.confirm("Create a second broadcast anyway?", default=False):
        typer.echo("Nothing sent.")
        raise typer.Exit(1)


async def _check_telegram(settings: Settings) -> None:
    """Exit with one line unless Telegram answers getMe with this token (before anything is
    stored: a broadcast that cannot be sent from here must not be left for the bot), asked
    with the library the broadcast is to be sent with (SKILLSBOT_TELEGRAM_LIBRARY)."""
    from bot.retry import RetryPolicy
    from bot.transports import TelegramRefused, TelegramUnavailable, Unauthorized
    from bot.transports.links import connect

    # One try: this only asks whether the token and the address are right.
    link = connect(
        settings.telegram_library,
        settings.token.get_secret_value(),
        settings.api_url,
        RetryPolicy(attempts=1),
    )
    try:
        await link.account.get_me()
    except Unauthorized:
        _fail("Telegram refused TELEGRAM_BOT_TOKEN; nothing stored", code=2)
    except (TelegramUnavailable, TimeoutError):
        _fail(f"cannot reach the Bot API at {settings.api_url}; nothing stored", code=1)
    except TelegramRefused as error:
        _fail(f"the Bot API refused getMe ({error}); nothing stored", code=1)
    finally:
        await link.close()


def _media(photo: Path | None, document: Path | None) -> tuple[str | None, str | None]:
    if photo is not None and document is not None:
        _fail("give --photo or --document, not both", code=2)
    chosen, kind = (photo, "photo") if photo is not None else (document, "document")
    if chosen is None:
        return None, None
    try:
        with chosen.open("rb"):
            pass
    except OSError:
        _fail(f"cannot read the file {chosen}", code=2)
    if not chosen.is_file():
        _fail(f"cannot read the file {chosen}", code=2)
    limit = MAX_PHOTO_BYTES if kind == "photo" else MAX_DOCUMENT_BYTES
    if chosen.stat().st_size > limit:
        _fail(f"{chosen} is larger than Telegram takes ({limit // 2**20} MB)", code=2)
    return kind, str(chosen.resolve())


def _fail(message: str, *, code: int) -> NoReturn:
    typer.echo(f"skillsbot: {message}", err=True)
    raise typer.Exit(code)


async def _send_now(engine: Engine, broadcast_id: int, settings: Settings) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as ProgressBar

    from bot.core.broadcaster import Broadcaster, Progress, final_report
    from bot.settings import retry_policy
    from bot.transports.links import connect

    # Sent with the library the bot uses (SKILLSBOT_TELEGRAM_LIBRARY).
    link = connect(
        settings.telegram_library,
        settings.token.get_secret_value(),
        settings.api_url,
        retry_policy(settings),
    )
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

            sender = Broadcaster(link.calls, engine, rate=settings.broadcast_rate)
            try:
                result = await sender.run(broadcast_id, on_progress=show)
            finally:
                await sender.shutdown()  # lets the sender lock go for the running bot
    finally:
        await link.close()
    if result is None:
        typer.echo(
            f"Broadcast {broadcast_id} is left to the process sending broadcasts now "
            "(a running bot); `skillsbot broadcast list` shows how it goes."
        )
        return
    typer.echo(final_report(result))


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 20,
) -> None:
    """Broadcasts, newest first, with their delivery counts."""
    from storage import Session
    from storage.broadcasts import broadcasts, delivery_counts, describe_segment

    settings = command_settings()
    with command_database(settings.database_url) as engine, Session(engine) as session:
        rows = []
        for row in broadcasts(session, limit=limit):
            assert row.id is not None
            counts = delivery_counts(session, broadcast_id=row.id)
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"
            when = local_time(row.scheduled_at or row.created_at, settings.zone)
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
    from storage import Session, utcnow
    from storage.broadcasts import cancel_broadcast

    settings = command_settings()
    with (
        command_database(settings.database_url) as engine,
        Session(engine) as session,
        session.begin(),
    ):
        done = cancel_broadcast(session, broadcast_id=broadcast_id, actor=cli_actor(), now=utcnow())
    if not done:
        _fail(f"broadcast {broadcast_id} is not scheduled or running", code=1)
    typer.echo(f"Broadcast {broadcast_id} cancelled.")
