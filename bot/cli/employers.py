"""`skillsbot employers ...`: the employer interview list (import, invites, listing)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.database import command_database, command_settings
from bot.cli.staff import cli_actor, local_time, text_table
from bot.core.invites import (
    BotUsernameError,
    bot_username,
    deep_link,
    new_invite_token,
    qr_file_name,
    write_invites_csv,
    write_qr_png,
)
from bot.core.labels import sector_label, sector_labels, status_label
from bot.core.roster_import import (
    RosterFileError,
    RowProblem,
    district_key,
    read_roster,
    sector_slug,
)
from bot.core.tables import clean_cell
from bot.settings import Settings
from conversations.areas import UnknownArea, district_name, districts, resolve_area

app = typer.Typer(help="The employer interview list.", no_args_is_help=True)

SHOWN_PROBLEMS = 20  # problem lines printed by `import`, with a count of the rest

# The statuses an employer can have, in their order: storage.models.EMPLOYER_STATUSES,
# written out because Typer builds the options (and `--help`) from them, and importing the
# database layer would cost `--help` a second (tests/bot/test_cli_help.py checks they agree).
EMPLOYER_STATUSES = (
    "listed",
    "invited",
    "started",
    "completed",
    "declined",
    "unreachable",
    "opted_out",
)
Status = StrEnum("Status", {status: status for status in EMPLOYER_STATUSES})  # type: ignore[misc]


@app.callback()
def employers() -> None:
    """The employers to interview, in the database named by DATABASE_URL."""


def configured_area(settings: Settings) -> str:
    """The LSIP area (the settings' SKILLSBOT_AREA), or a clear line and exit code 2."""
    try:
        return resolve_area(settings.area)
    except UnknownArea as error:
        typer.echo(f"SKILLSBOT_AREA: {error}", err=True)
        raise typer.Exit(2) from None


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A CSV or XLSX file, header in row 1.")],
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Import the good rows, skip the bad ones.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, but change nothing.")
    ] = False,
) -> None:
    """Add employers from a spreadsheet; employers already listed are updated, not doubled."""
    from storage import Session, utcnow
    from storage.roster import import_roster
    from storage.staff import record_audit

    settings = command_settings()
    area = configured_area(settings)
    try:
        reading = read_roster(file, area=area)
    except RosterFileError as error:
        typer.echo(clean_cell(error), err=True)
        raise typer.Exit(1) from None
    for line in problem_lines(reading.problems):
        typer.echo(line, err=True)
    skipped = len(reading.problems)
    if skipped and not skip_bad_rows:
        rows = "row has a problem" if skipped == 1 else "rows have problems"
        typer.echo(
            f"Nothing imported: {skipped} {rows}. Fix them, or use --skip-bad-rows to import "
            f"the other {len(reading.rows)}.",
            err=True,
        )
        raise typer.Exit(1)
    with command_database(settings.database_url) as engine, Session(engine) as session:
        transaction = session.begin()
        outcome = import_roster(session, entries=reading.entries, now=utcnow())
        if dry_run:
            transaction.rollback()
        else:
            record_audit(
                session,
                actor=cli_actor(),
                action="employers.import",
                count=outcome.added + outcome.updated,
                detail=f"added {outcome.added}, updated {outcome.updated}, skipped {skipped}",
                now=utcnow(),
            )
            transaction.commit()
    prefix = "Dry run, nothing changed: would have " if dry_run else ""
    typer.echo(f"{prefix}added {outcome.added}, updated {outcome.updated}, skipped {skipped}")


def problem_lines(problems: Sequence[RowProblem], *, limit: int = SHOWN_PROBLEMS) -> list[str]:
    """At most a screenful: the first ``limit`` problems (each one clean line), then how many
    more there are."""
    lines = [clean_cell(problem) for problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(
            f"... and {len(problems) - limit:,} more rows with problems ({len(problems):,} in "
            "all); fix the first ones, which are often the same problem, and try again."
        )
    return lines


@app.command("invites")
def invites(
    out: Annotated[
        Path, typer.Option("--out", help="The CSV file of links to write.", dir_okay=False)
    ],
    qr: Annotated[
        Path | None,
        typer.Option("--qr", help="Also write one QR code PNG per employer here.", file_okay=False),
    ] = None,
    status: Annotated[
        list[Status] | None,
        typer.Option("--status", help="Invite employers in this status (repeatable)."),
    ] = None,
) -> None:
    """Write each employer's personal invite link, and mark them invited."""
    from storage import Session, utcnow
    from storage.roster import issue_invites
    from storage.staff import record_audit

    statuses = [s.value for s in status] if status else ["listed"]
    settings = command_settings()
    try:
        username = bot_username(settings)
    except BotUsernameError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    try:
        if qr is not None:
            qr.mkdir(parents=True, exist_ok=True)
        with (
            command_database(settings.database_url) as engine,
            Session(engine) as session,
            session.begin(),
        ):
            # Files are written inside the transaction: if writing fails, nobody is marked.
            issued = issue_invites(
                session, statuses=statuses, new_token=new_invite_token, now=utcnow()
            )
            count = write_invites_csv(out, issued, bot_username=username)
            if qr is not None:
                for invite in issued:
                    write_qr_png(
                        deep_link(username, invite.token),
                        qr / qr_file_name(invite.employer_id, invite.organisation),
                    )
            record_audit(
                session,
                actor=cli_actor(),
                action="employers.invites",
                count=count,
                detail="statuses " + ",".join(statuses) + (", with QR codes" if qr else ""),
                now=utcnow(),
            )
    except OSError as error:
        typer.echo(f"Could not write {error.filename or out}: {error.strerror or error}", err=True)
        raise typer.Exit(1) from None
    noun = "invite" if count == 1 else "invites"
    where = f" and QR codes to {qr}" if qr is not None else ""
    typer.echo(f"Wrote {count} {noun} to {out}{where}.")


@app.command("list")
def list_employers(
    status: Annotated[Status | None, typer.Option("--status", help="Only this status.")] = None,
    sector: Annotated[
        str | None, typer.Option("--sector", help="Only this sector (name or slug).")
    ] = None,
    district: Annotated[
        str | None, typer.Option("--district", help="Only this district (name or code).")
    ] = None,
) -> None:
    """A table of the employers on the list, with their interview status (in plain words;
    sectors by the ESS's names, as the chat's /list shows them)."""
    from storage import Session
    from storage.roster import employer_listing

    settings = command_settings()
    sector_filter = None
    if sector is not None:
        sector_filter = sector_slug(sector)
        if sector_filter is None:
            typer.echo(f"Unknown sector {sector!r}.", err=True)
            raise typer.Exit(2)
    district_filter = None
    if district is not None:
        district_filter = _district_code(district, configured_area(settings))
    labels = _sector_labels()
    with command_database(settings.database_url) as engine, Session(engine) as session:
        rows = [
            [
                employer.organisation or "",
                sector_label(labels, employer.sector) if employer.sector else "",
                district_name(employer.district or "") or employer.district or "",
                employer.size_band or "",
                status_label(employer.status),
                local_time(employer.opted_out_at, settings.zone) if employer.opted_out_at else "",
                local_time(employer.updated_at, settings.zone),
            ]
            for employer in employer_listing(
                session,
                status=status.value if status else None,
                sector=sector_filter,
                district=district_filter,
            )
        ]
    if not rows:
        typer.echo("No employers match.")
        return
    headers = ["organisation", "sector", "district", "size", "status", "opted out", "updated"]
    typer.echo(text_table(headers, rows))
    opted_out = sum(1 for row in rows if row[5])
    typer.echo(f"{len(rows)} employer{'s' if len(rows) != 1 else ''}, {opted_out} opted out")


def _sector_labels() -> dict[str, str]:
    """The built-in interview's sector labels in ESS order (ESS names if it cannot load)."""
    # Imported here: the loader brings lark, which no `--help` needs.
    from conversations.loader import DefinitionError, builtin_interview_path, load_interview

    try:
        return sector_labels(load_interview(builtin_interview_path()))
    except (DefinitionError, OSError):
        return sector_labels(None)


def _district_code(text: str, area: str) -> str:
    wanted = text.strip()
    for candidate in districts(area):
        if wanted.casefold() == candidate.code.casefold() or district_key(wanted) in {
            district_key(candidate.name),
            district_key(candidate.name.split(",")[0]),
        }:
            return candidate.code
    names = ", ".join(d.name for d in districts(area))
    typer.echo(f"District {text!r} is not in {area}; districts: {names}.", err=True)
    raise typer.Exit(2)
