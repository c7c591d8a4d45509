"""The `skillsbot` command line: one Typer app with a sub-app per area of work.

Sub-apps are imported only when their command runs: the Telegram layer (aiogram) and
pandas take seconds to import, and `skillsbot interview check` should not pay for them.
A command module in turn imports the database layer, analytics and Telegram inside the
functions that use them, so that `skillsbot X --help` (and `X Y --help`) imports none of
them (tests/bot/test_cli_help.py).
`skillsbot run` reads its settings and checks its interview before it imports the Telegram
layer, so a bad setting is told in a fraction of a second (`check_run_settings`); the
settings read then are handed to the command (`ctx.obj`), not read again.
To add a command, add a line to `SUB_APPS` (a Typer sub-app) or `COMMANDS` (one function).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from bot.settings import Settings

# name -> module holding a Typer sub-app called `app`
SUB_APPS: dict[str, str] = {
    "interview": "bot.cli.interview",
    "db": "bot.cli.db",
    "export": "bot.cli.export",
    "report": "bot.cli.report",
    "demo": "bot.cli.demo",
    "staff": "bot.cli.staff",
    "employers": "bot.cli.employers",
    "campaign": "bot.cli.campaign",
    "round": "bot.cli.rounds",
    "broadcast": "bot.cli.broadcast",
    "verbatims": "bot.cli.verbatims",
    "inbox": "bot.cli.inbox",
}
# name -> (module, function) of a single command
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("bot.cli.run", "run"),
    "playground": ("bot.cli.playground", "playground"),
}


# name -> the command's one-line help, for `skillsbot --help` and `skillsbot run --help`
# without importing the commands (tests/bot/test_cli_help.py checks they are the commands'
# own words; a command missing here is imported to list it).
SUMMARIES: dict[str, str] = {
    "interview": "Check interview definitions and try them in the terminal.",
    "db": "Look after the database.",
    "export": "Write responses out for analysts.",
    "report": "Reports for analysts: aggregates only, small bases suppressed.",
    "demo": "Demo data for trying out reports (synthetic, no real employers).",
    "staff": "Give and take away staff roles; read the audit log.",
    "employers": "The employer interview list.",
    "campaign": "Links for events and newsletters.",
    "round": "Open later interview rounds and list them.",
    "broadcast": "Send news to part of the employer list.",
    "verbatims": "Review text answers before the weekly report quotes them.",
    "inbox": "The inbox of received Telegram updates.",
    "run": (
        "Start the bot, polling or on webhooks (without a token: the browser playground instead)."
    ),
    "playground": "Try skillsbot in your browser: the real bot against a pretend Telegram.",
}
# Commands whose whole help is their summary (no options), so `X --help` needs no import.
_SUMMARY_IS_HELP = frozenset({"run"})


def build_app(only: str | None = None, *, summaries: bool = False) -> typer.Typer:
    """The CLI with every command, or with just the one named `only` (imported lazily).

    With `summaries`, a command is a stand-in with its `SUMMARIES` line, enough to list the
    commands (and to show the help of a command in `_SUMMARY_IS_HELP`), importing none.
    """
    app = typer.Typer(
        name="skillsbot",
        help="Skills interviews with employers for Local Skills Improvement Plans.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """Skills interviews with employers for Local Skills Improvement Plans."""

    for name, module in SUB_APPS.items():
        if only in (None, name):
            if summaries and name in SUMMARIES:
                app.add_typer(typer.Typer(help=SUMMARIES[name]), name=name)
            else:
                app.add_typer(importlib.import_module(module).app, name=name)
    for name, (module, function) in COMMANDS.items():
        if only in (None, name):
            if summaries and name in SUMMARIES:
                app.command(name, help=SUMMARIES[name])(_stand_in)
            else:
                app.command(name)(getattr(importlib.import_module(module), function))
    return app


def _stand_in() -> None:
    """A listed command that is not imported (never run: `main` imports the real one)."""


def __getattr__(name: str) -> Any:
    # `from bot.cli import app` (tests, typer's CliRunner) gets the whole CLI.
    if name == "app":
        return build_app()
    raise AttributeError(name)


def check_run_settings() -> Settings:
    """What `skillsbot run` reads and checks first, before it is imported: a bad setting or
    (with a token) interview exits 2 with its one line; the settings for `run`."""
    from bot.settings import run_settings_or_exit

    return run_settings_or_exit()


def main() -> None:
    """Entry point of the `skillsbot` console script."""
    arguments = sys.argv[1:]
    first = next((arg for arg in arguments if not arg.startswith("-")), None)
    asks_help = not {"--help", "--install-completion", "--show-completion"}.isdisjoint(arguments)
    if first not in SUB_APPS and first not in COMMANDS:  # the list of commands, or an error
        build_app(summaries=True)()
        return
    settings = check_run_settings() if first == "run" and not asks_help else None
    build_app(first, summaries=asks_help and first in _SUMMARY_IS_HELP)(obj=settings)


if __name__ == "__main__":
    main()
