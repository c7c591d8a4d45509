"""The `skillsbot` command line: one Typer app with a sub-app per area of work."""

from __future__ import annotations

import typer

from bot.commands import (
    campaign,
    db,
    demo,
    employers,
    export,
    interview,
    playground,
    report,
    run,
    staff,
)

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
app.add_typer(staff.app, name="staff")
app.add_typer(employers.app, name="employers")
app.add_typer(campaign.app, name="campaign")
app.command("run")(run.run)
app.command("playground")(playground.playground)


def main() -> None:
    """Entry point of the `skillsbot` console script."""
    app()
