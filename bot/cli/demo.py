"""`skillsbot demo seed`: fill the database with synthetic employers and responses."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from bot.cli.database import command_database, command_settings
from conversations.areas import UnknownArea, resolve_area

app = typer.Typer(help="Demo data for trying out reports (synthetic, no real employers).")
AREA_VARIABLE = "SKILLSBOT_AREA"


@app.command("seed")
def seed(
    employers: int = typer.Option(
        2000, "--employers", min=1, max=1_000_000, help="Employers to create."
    ),
    weeks: int = typer.Option(
        8, "--weeks", min=1, max=520, help="Spread responses over this many weeks."
    ),
    seed_number: int = typer.Option(
        1, "--seed", help="Random seed: the same seed gives the same data."
    ),
) -> None:
    """Apply migrations, then add synthetic employers with one response each."""
    from analytics.demo import seed_demo

    settings = command_settings()
    try:
        area = resolve_area(settings.area)
    except UnknownArea as error:
        typer.echo(f"Error: {AREA_VARIABLE}: {error}", err=True)
        raise typer.Exit(2) from None
    with command_database(settings.database_url, migrate=True) as engine:
        counts = seed_demo(
            engine,
            employers=employers,
            weeks=weeks,
            seed=seed_number,
            now=datetime.now(UTC),
            area=area,
        )
    typer.echo(
        f"Added {counts.employers} demo employers, {counts.responses} responses and "
        f"{counts.answers} answers ({area}, last {weeks} weeks, seed {seed_number})."
    )
