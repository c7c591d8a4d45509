"""`skillsbot interview ...`: check interview definitions and try them in the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.commands.interview_try import try_interview
from conversations.areas import DEFAULT_AREA, UnknownArea, resolve_area
from conversations.definition import Interview
from conversations.loader import DefinitionError, builtin_interview_path, load_interview

app = typer.Typer(
    help="Check interview definitions and try them in the terminal.", no_args_is_help=True
)
app.command("try")(try_interview)


def interview_summary(interview: Interview) -> str:
    """One line on a valid interview: its questions, sections and conditional questions."""
    questions = len(interview.questions)
    sections = len(interview.sections)
    conditional = sum(1 for q in interview.questions if q.relevant is not None)
    return (
        f"ok, {questions} question{'s' * (questions != 1)} in {sections} "
        f"section{'s' * (sections != 1)}, {conditional} conditional"
    )


@app.command("check")
def check_interviews(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Interview YAML files (default: the built-in LSIP interview)."),
    ] = None,
    area: Annotated[
        str,
        typer.Option(envvar="SKILLSBOT_AREA", help="The LSIP area whose districts are offered."),
    ] = DEFAULT_AREA,
) -> None:
    """Check interview files and list every problem, one per line.

    Exits 0 when every file is valid, 1 when any has problems, 2 for an unknown area.
    """
    try:
        area = resolve_area(area)
    except UnknownArea as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    failed = False
    for path in paths or [builtin_interview_path()]:
        try:
            interview = load_interview(path, area=area)
        except DefinitionError as err:
            failed = True
            for problem in err.problems:
                typer.echo(str(problem))
            continue
        typer.echo(f"{path}: {interview_summary(interview)}")
    if failed:
        raise typer.Exit(1)
