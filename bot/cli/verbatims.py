"""`skillsbot verbatims ...`: staff read, approve or reject quotes before a report shows them.

Software drafts each quote with personal data replaced (`analytics.verbatims.redact`), but
it misses some (a surname alone, a name it does not know): so the weekly report shows a
text answer only after a staff member read the draft and approved it. `review` is the
only place unreviewed drafts appear, marked as such; every decision goes to the audit log.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bot.cli.database import command_database, command_settings
from bot.cli.staff import cli_actor
from bot.core.labels import sector_label, sector_labels

if TYPE_CHECKING:
    from storage import Engine
    from storage.verbatim_reviews import VerbatimSource

app = typer.Typer(
    help="Review text answers before the weekly report quotes them.", no_args_is_help=True
)

KeyArgument = Annotated[
    str, typer.Argument(help="The quote's key as `review` lists it: RESPONSE:QUESTION.")
]


@app.callback()
def verbatims() -> None:
    """Quotes from employers' text answers, in the database named by DATABASE_URL."""


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def one_line(text: str) -> str:
    """Text safe to print in a terminal: line breaks shown as ` / `, other control and
    format characters (escape sequences, bidi overrides) as `?`."""
    flat = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    return "".join(
        "?" if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} else char for char in flat
    )


def _parse_key(key: str) -> tuple[int, str]:
    response, _, question = key.strip().partition(":")
    if not (response.isascii() and response.isdigit() and question.strip()):
        _fail(f"{one_line(key)!r} is not a quote's key; `skillsbot verbatims review` lists them")
    return int(response), question.strip()


@app.command("review")
def review(
    week: Annotated[
        str,
        typer.Option(help="Only responses completed in this ISO week, e.g. 2026-W47."),
    ] = "",
    limit: Annotated[int, typer.Option(help="Show at most this many.", min=1)] = 50,
) -> None:
    """List the quotes awaiting review, each as a draft with personal data replaced."""
    from analytics.report import load_frames
    from analytics.verbatims import redact, review_queue
    from analytics.weeks import InvalidWeek, IsoWeek

    settings = command_settings()
    try:
        chosen = IsoWeek.parse(week, settings.zone) if week.strip() else None
    except InvalidWeek as error:
        _fail(str(error))
    with command_database(settings.database_url) as engine:
        frames = load_frames(engine)
    responses = frames.responses
    if chosen is not None:
        done = (
            responses["completed_at"]
            .between(chosen.start, chosen.end, inclusive="left")
            .fillna(False)
        )
        responses = responses.loc[done.to_numpy()]
    tidy = frames.tidy.loc[frames.tidy["response_id"].isin(responses["response_id"]).to_numpy()]
    queue = review_queue(tidy, responses, frames.catalogue, frames.reviews)
    if not queue:
        typer.echo("No quote awaits review.")
        return
    typer.echo(
        f"{len(queue)} quote(s) await review. UNREVIEWED drafts: software replaced the "
        "personal data it found; read each for what it missed before you approve it. "
        "Not for sharing."
    )
    sectors = sector_labels()
    for pending in queue[:limit]:
        draft = redact(
            pending.text, organisation=pending.organisation, contact_name=pending.contact_name
        )
        sector = sector_label(sectors, None if pending.sector == "unknown" else pending.sector)
        typer.echo(f"\n[{pending.key}] {sector} / {one_line(pending.question)}")
        typer.echo(f"  UNREVIEWED: {one_line(draft)}")
    if len(queue) > limit:
        typer.echo(f"\n... and {len(queue) - limit} more (--limit).")
    typer.echo(
        "\nApprove with `skillsbot verbatims approve KEY` (or `--text` to approve your own "
        "wording), reject with `skillsbot verbatims reject KEY`."
    )


def _quotable_questions() -> frozenset[str]:
    """The interview's text questions that a report may quote (not the organisation's name)."""
    from analytics.catalogue import catalogue
    from conversations.loader import builtin_interview_path, load_interview

    kinds = catalogue(load_interview(builtin_interview_path())).kinds
    return frozenset(question for question, kind in kinds.items() if kind == "text")


def _source(engine: Engine, key: str) -> VerbatimSource:
    from storage import Session
    from storage.verbatim_reviews import verbatim_source

    response_id, question_id = _parse_key(key)
    source = None
    if question_id in _quotable_questions():
        with Session(engine) as session:
            source = verbatim_source(session, response_id=response_id, question_id=question_id)
    if source is None:
        _fail(f"no text answer {response_id}:{one_line(question_id)}", 1)
    return source


@app.command("approve")
def approve(
    key: KeyArgument,
    text: Annotated[
        str,
        typer.Option(
            help="The quote to show instead of the draft (it is checked for personal data too)."
        ),
    ] = "",
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask; approve the quote as drafted now.")
    ] = False,
) -> None:
    """Approve a quote: the report shows the draft (or --text), as printed here."""
    from analytics.verbatims import redact
    from storage import Session, utcnow
    from storage.verbatim_reviews import record_review

    with command_database(command_settings().database_url) as engine:
        source = _source(engine, key)
        wording = text if text.strip() else source.text
        quote = redact(wording, organisation=source.organisation, contact_name=source.contact_name)
        # The answer may have changed since `review`: show what is approved, word for word.
        if not yes and not typer.confirm(f"Quote: {one_line(quote)}\nApprove this quote?"):
            typer.echo("Nothing approved.")
            raise typer.Exit(1)
        with Session(engine) as session, session.begin():
            record_review(
                session,
                source=source,
                status="approved",
                quote=quote,
                actor=cli_actor(),
                now=utcnow(),
            )
    typer.echo(f"Approved {source.response_id}:{one_line(source.question_id)}: {one_line(quote)}")


@app.command("reject")
def reject(key: KeyArgument) -> None:
    """Reject a quote: no report shows it (unless the answer changes and is approved)."""
    from storage import Session, utcnow
    from storage.verbatim_reviews import record_review

    with command_database(command_settings().database_url) as engine:
        source = _source(engine, key)
        with Session(engine) as session, session.begin():
            record_review(
                session,
                source=source,
                status="rejected",
                quote=None,
                actor=cli_actor(),
                now=utcnow(),
            )
    typer.echo(
        f"Rejected {source.response_id}:{one_line(source.question_id)}; it will not be quoted."
    )
