"""The `skillsbot` command line: one Typer app with a sub-app per area of work."""

from __future__ import annotations

import typer

from bot.commands import db, demo, export, interview, report, run

app = typer.Typer(
    name="skillsbot",
    help="Skills interviews with employers for Local Skills Improvement Plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(interview.app, name="interview")
app.add_typer(db.app, name="db")
app.add_typer(export.app, name="export")
app.add_typer(report.app, name="report")
app.add_typer(demo.app, name="demo")
app.command("run")(run.run)


def main() -> None:
    """Entry point of the `skillsbot` console script."""
    app()
