"""`skillsbot report weekly`: write the weekly summary (md, xlsx, html, png) for a week."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.database import command_database, command_settings

if TYPE_CHECKING:
    from datetime import datetime

    from storage import Engine

app = typer.Typer(help="Reports for analysts: aggregates only, small bases suppressed.")


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def _first_response(engine: Engine) -> datetime | None:
    from storage import Session
    from storage.repositories import first_response_at

    with Session(engine) as session:
        return first_response_at(session)


@app.command("weekly")
def weekly(
    week: Annotated[
        str,
        typer.Option(help="ISO week such as 2026-W47 (default: the last complete week)."),
    ] = "",
    out: Annotated[Path, typer.Option(help="Directory to write the files into.")] = Path("."),
    formats: Annotated[
        str,
        typer.Option(
            "--format",
            help="Any of md,xlsx,html,png,csv, comma-separated (csv: every published cell).",
        ),
    ] = "md,xlsx,html,png",
    min_base: Annotated[
        int | None,
        typer.Option(
            help="Suppress counts about fewer employers (default SKILLSBOT_MIN_BASE or 5)."
        ),
    ] = None,
) -> None:
    """Write the weekly summary for a week and print the paths of the files."""
    from analytics.disclosure import InvalidMinBase
    from analytics.report import UnknownFormat, parse_formats, weekly_report
    from analytics.weeks import InvalidWeek, IsoWeek, check_report_week
    from storage import utcnow
    from storage.publications import RECORD_ATTEMPTS, PublishedMeanwhile

    settings = command_settings()  # read once: the environment, then .env, as the bot reads
    report_settings = settings.report
    try:
        chosen = IsoWeek.parse(week, report_settings.zone) if week.strip() else None
        wanted = parse_formats(formats)
    except (InvalidWeek, UnknownFormat) as error:
        _fail(str(error))
        return
    if min_base is not None and min_base < 1:
        _fail("--min-base must be at least 1")
    with command_database(settings.database_url) as engine:
        if chosen is not None:
            try:
                check_report_week(chosen, first_response=_first_response(engine), now=utcnow())
            except InvalidWeek as error:
                _fail(str(error))
                return
        try:
            report = weekly_report(
                engine,
                chosen,
                out,
                wanted,
                threshold=min_base if min_base is not None else report_settings.min_base,
                percent_threshold=report_settings.min_percent_base,
                caution_base=report_settings.caution_base,
                area=report_settings.area,
                zone=report_settings.zone,
            )
        except InvalidMinBase as error:
            _fail(str(error))
            return
        except OSError as error:
            _fail(f"cannot write the report into {out}: {error.strerror or error}")
            return
        except PublishedMeanwhile:
            _fail(
                "other reports were published while this one was being built, "
                f"{RECORD_ATTEMPTS} times; nothing was written: run it again"
            )
            return
    for path in report.files:
        typer.echo(str(path))
