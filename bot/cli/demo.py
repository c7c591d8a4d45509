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
        1, "--seed", help="Random seed: with the same --now, the same seed gives the same data."
    ),
    now: str = typer.Option(
        "",
        "--now",
        help=(
            "Date and time the data ends at, such as 2026-12-09T12:00 (UTC unless it "
            "names an offset; default: now). Weeks are counted back from it."
        ),
    ),
) -> None:
    """Apply migrations, then add synthetic employers with one response each."""
    from analytics.demo import seed_demo

    clock = datetime.now(UTC)
    try:
        end = _moment(now) if now.strip() else clock
    except ValueError:
        typer.echo(
            f"Error: --now: {now!r} is not a date and time such as 2026-12-09T12:00", err=True
        )
        raise typer.Exit(2) from None
    if end > clock:
        typer.echo(f"Error: --now: {now.strip()} is in the future", err=True)
        raise typer.Exit(2)
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
            now=end,
            area=area,
        )
    typer.echo(
        f"Added {counts.employers} demo employers, {counts.responses} responses and "
        f"{counts.answers} answers ({area}, last {weeks} weeks, seed {seed_number})."
    )


def _moment(text: str) -> datetime:
    """An ISO date and time; one without an offset is taken as UTC."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
