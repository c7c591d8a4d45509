"""`skillsbot interview ...`: check interview definitions and try them in the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.interview_try import try_interview
from bot.settings import settings_or_exit
from conversations.areas import UnknownArea, resolve_area
from conversations.definition import interview_summary
from conversations.loader import DefinitionError, builtin_interview_path, load_interview

app = typer.Typer(
    help="Check interview definitions and try them in the terminal.", no_args_is_help=True
)
app.command("try")(try_interview)


@app.command("check")
def check_interviews(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Interview definitions: YAML or XLSForm (default: the built-in one)."),
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            help="The LSIP area whose districts are offered [default: SKILLSBOT_AREA].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check interview files and list every problem, one per line.

    Exits 0 when every file is valid, 1 when any has problems, 2 for an unknown area.
    """
    try:
        chosen = area if area is not None else settings_or_exit(needs_token=False).area
        area = resolve_area(chosen)
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


@app.command("export")
def export_interview(
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    path: Annotated[
        Path | None,
        typer.Argument(help="An interview file, YAML or XLSForm (default: the built-in one)."),
    ] = None,
    format_: Annotated[str, typer.Option("--format", help="xlsx (an XLSForm) or yaml.")] = "xlsx",
    area: Annotated[
        str | None,
        typer.Option(
            help="The LSIP area whose districts are offered [default: SKILLSBOT_AREA].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write an interview as an XLSForm workbook or as YAML; loading it back gives the same.

    Exits 1 when the interview has problems or the format cannot hold it, 2 for a bad format.
    """
    from conversations.export import ExportError, to_xlsform_sheets, to_yaml

    if format_ not in ("xlsx", "yaml"):
        typer.echo(f"--format must be xlsx or yaml, not {format_!r}", err=True)
        raise typer.Exit(2)
    source = path or builtin_interview_path()
    try:
        chosen = area if area is not None else settings_or_exit(needs_token=False).area
        interview = load_interview(source, area=resolve_area(chosen))
    except UnknownArea as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    except DefinitionError as err:
        for problem in err.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    try:
        if format_ == "yaml":
            out.write_text(to_yaml(interview), encoding="utf-8")
        else:
            write_xlsform(to_xlsform_sheets(interview), out)
    except ExportError as err:
        typer.echo(f"{source}: {err}", err=True)
        raise typer.Exit(1) from None
    except OSError as err:
        typer.echo(f"{out}: cannot write the file: {err.strerror or err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{out}: {interview.id} version {interview.version} as {format_}")


def write_xlsform(sheets: dict[str, list[list[str]]], out: Path) -> None:
    """Save the sheets as an .xlsx workbook; every cell is text (no formulas)."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                cell.data_type = "s"  # text as written, even when it starts with "="
    book.save(out)
