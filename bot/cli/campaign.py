"""`skillsbot campaign ...`: links for events and newsletters that tag the responses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.database import command_settings
from bot.core.invites import (
    BadCampaignName,
    BotUsernameError,
    bot_username,
    campaign_payload,
    deep_link,
    write_qr_png,
)

app = typer.Typer(help="Links for events and newsletters.", no_args_is_help=True)


@app.callback()
def campaign() -> None:
    """Campaign links: responses started through one carry its name as their source."""


@app.command("link")
def link(
    name: Annotated[str, typer.Argument(help="The event or newsletter, e.g. 'Spring jobs fair'.")],
    qr: Annotated[
        Path | None, typer.Option("--qr", help="Also write the link as a QR code PNG here.")
    ] = None,
) -> None:
    """Print the bot link for a campaign (`https://t.me/<bot>?start=c-<slug>`)."""
    settings = command_settings()
    try:
        payload = campaign_payload(name)
        url = deep_link(bot_username(settings), payload)
    except (BadCampaignName, BotUsernameError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    if qr is not None:
        try:
            write_qr_png(url, qr)
        except OSError as error:
            typer.echo(f"Could not write {qr}: {error.strerror or error}", err=True)
            raise typer.Exit(1) from None
    typer.echo(url)
