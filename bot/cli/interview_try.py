"""`skillsbot interview try`: run an interview in the terminal.

A transport like the Telegram adapter, only smaller: it turns each line of standard input
into an engine input, hands it to the engine and prints the prompts. No interview logic
lives here. When the interview ends, or input runs out, the answers so far are printed as
one JSON object on the last line, so runs can be scripted with piped input.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from bot.settings import settings_or_exit
from conversations.areas import UnknownArea, resolve_area
from conversations.definition import Interview
from conversations.engine import InterviewEngine, display_value
from conversations.events import (
    Ask,
    Back,
    Completed,
    Declined,
    Edit,
    Input,
    Invalid,
    Note,
    Prompt,
    Restart,
    Review,
    ReviewItem,
    ReviewSummary,
    Skip,
    Stale,
    Submit,
    Text,
)
from conversations.loader import DefinitionError, builtin_interview_path, load_interview
from conversations.state import InterviewState

# Words that mean the same at every question; anything else is an answer.
COMMANDS: dict[str, Input] = {
    "back": Back(),
    "skip": Skip(),
    "review": Review(),
    "restart": Restart(),
}


def render(prompt: Prompt, out: TextIO) -> None:
    """Print one prompt for a person at a terminal."""
    match prompt:
        case Note(question=question):
            print(f"\n{question.label}", file=out)
        case Ask():
            _render_question(prompt, out)
        case Invalid(message=message) | Stale(message=message):
            print(f"! {message}", file=out)
        case ReviewSummary(items=items, complete=complete):
            print("\nYour answers:" if complete else "\nYour answers so far:", file=out)
            for number, item in enumerate(items, start=1):
                # The label is a whole question ("...?"), so the answer goes on its own line.
                print(f"  {number}. {item.label}\n     {item.display}", file=out)
            if complete:
                print("Type a number to change that answer, or 'submit' to send them.", file=out)
        case Completed():
            print("\nThank you! Your answers have been submitted.", file=out)
        case Declined(message=message):
            print(f"\n{message}", file=out)


def _render_question(ask: Ask, out: TextIO) -> None:
    question = ask.question
    if ask.follow_up:
        print(f'\nPlease tell us what you mean by "Other" ({question.label})', file=out)
        return
    print(f"\n[{ask.section_title}] question {ask.position} of {ask.total}", file=out)
    print(question.label, file=out)
    if question.hint:
        print(f"({question.hint})", file=out)
    multiple = question.type == "select_multiple"
    for number, choice in enumerate(ask.options, start=1):
        tick = ("[x] " if choice.value in ask.selected else "[ ] ") if multiple else ""
        print(f"  {number}. {tick}{choice.label}", file=out)
    if ask.current is not None:
        print(f"Current answer: {display_value(question, ask.current)}", file=out)
    hints = []
    if multiple:
        hints.append("type the numbers that apply, for example 1,3")
    elif ask.options:
        hints.append("type a number")
    if ask.can_skip:
        hints.append("'skip' to leave it out")
    if ask.can_back:
        hints.append("'back' to go back")
    if hints:
        print(f"({'; '.join(hints)})", file=out)


def read_input(line: str, state: InterviewState, review: tuple[ReviewItem, ...]) -> Input:
    """The engine input a typed line means, given where the interview is."""
    text = line.strip()
    word = text.casefold()
    if state.reviewing:
        if word == "submit":
            return Submit()
        if text.isascii() and text.isdigit() and 1 <= int(text) <= len(review):
            return Edit(review[int(text) - 1].question_id)
    if word in COMMANDS:
        return COMMANDS[word]
    return Text(text)


def run_in_terminal(interview: Interview, lines: TextIO, out: TextIO) -> dict[str, Any]:
    """Run the interview on `lines` until it ends or input runs out; the answers given."""
    engine = InterviewEngine(interview, today=date.today)
    step = engine.start()
    review: tuple[ReviewItem, ...] = ()
    while True:
        for prompt in step.prompts:
            render(prompt, out)
            if isinstance(prompt, ReviewSummary) and prompt.complete:
                review = prompt.items
        if step.state.finished:
            break
        line = lines.readline()
        if not line:
            break
        step = engine.handle(step.state, read_input(line, step.state, review))
    return dict(step.state.answers)


def try_interview(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="An interview: YAML or XLSForm (default: the built-in LSIP interview)."
        ),
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            help="The LSIP area whose districts are offered [default: SKILLSBOT_AREA].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run an interview in the terminal, one answer per line.

    A number picks an option (1,3 picks several); 'back', 'skip' and 'review' work at any
    question; on the review screen a number changes that answer and 'submit' sends them.
    The answers are printed as JSON on the last line.
    """
    try:
        chosen = area if area is not None else settings_or_exit(needs_token=False).area
        area = resolve_area(chosen)
    except UnknownArea as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    try:
        interview = load_interview(path or builtin_interview_path(), area=area)
    except DefinitionError as err:
        for problem in err.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    answers = run_in_terminal(interview, sys.stdin, sys.stdout)
    print(json.dumps({"answers": answers}, ensure_ascii=False))
