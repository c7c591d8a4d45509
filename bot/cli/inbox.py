"""`skillsbot inbox ...`: the updates the bot received and could not handle.

An update that failed every time it was tried is set aside (the person was sent an
apology) and kept in the inbox. `skillsbot inbox failed` lists them for staff: the update
id, our internal id of the person (never their Telegram name), when it came (in
SKILLSBOT_TIMEZONE) and the class of the error. What the person sent is shown only with
`--show-content`.
"""

from __future__ import annotations

import json

import typer

from bot.cli.database import command_database, command_settings

app = typer.Typer(help="The inbox of received Telegram updates.", no_args_is_help=True)


@app.callback()
def inbox() -> None:
    """The inbox of Telegram updates, in the database named by DATABASE_URL."""


@app.command("failed")
def failed_command(
    show_content: bool = typer.Option(
        False, "--show-content", help="Also print each update as Telegram sent it (personal data)."
    ),
) -> None:
    """List the updates set aside after failing every time they were tried."""
    from storage import inbox as inbox_store

    settings = command_settings()
    with command_database(settings.database_url) as engine:
        rows = inbox_store.failed(engine, with_payload=show_content)
    if not rows:
        typer.echo("No updates have been set aside.")
        return
    typer.echo(f"{len(rows)} update(s) set aside:")
    typer.echo("update_id  employer  received (local time)  tries  error")
    for row in rows:
        person = str(row.employer_id) if row.employer_id is not None else "-"
        when = row.received_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(
            f"{row.update_id:<10} {person:<9} {when:<22} {row.attempts:<6} {row.error or '-'}"
        )
        if show_content:
            typer.echo(f"    {json.dumps(row.payload, ensure_ascii=False, sort_keys=True)}")
