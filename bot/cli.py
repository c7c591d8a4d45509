"""The `skillsbot` command line: one Typer app with a sub-app per area of work.

Sub-apps are imported only when their command runs: the Telegram layer (aiogram) and
pandas take seconds to import, and `skillsbot interview check` should not pay for them.
`skillsbot run` checks its settings and interview before it imports the Telegram layer, so
a bad setting is told in a fraction of a second (`check_run_settings`).
To add a command, add a line to `SUB_APPS` (a Typer sub-app) or `COMMANDS` (one function).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

# name -> module holding a Typer sub-app called `app`
SUB_APPS: dict[str, str] = {
    "interview": "bot.commands.interview",
    "db": "bot.commands.db",
    "export": "bot.commands.export",
    "report": "bot.commands.report",
    "demo": "bot.commands.demo",
    "staff": "bot.commands.staff",
    "employers": "bot.commands.employers",
    "campaign": "bot.commands.campaign",
    "round": "bot.commands.rounds",
    "broadcast": "bot.commands.broadcast",
    "verbatims": "bot.commands.verbatims",
}
# name -> (module, function) of a single command
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("bot.commands.run", "run"),
    "playground": ("bot.commands.playground", "playground"),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with just the one named `only` (imported lazily)."""
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
            app.add_typer(importlib.import_module(module).app, name=name)
    for name, (module, function) in COMMANDS.items():
        if only in (None, name):
            app.command(name)(getattr(importlib.import_module(module), function))
    return app


def __getattr__(name: str) -> Any:
    # `from bot.cli import app` (tests, typer's CliRunner) gets the whole CLI.
    if name == "app":
        return build_app()
    raise AttributeError(name)


def check_run_settings() -> None:
    """What `skillsbot run` checks first, done before it is imported: with a token set, a
    bad setting or interview exits 2 with its one line (the same functions `run` calls, so
    the same words); without a token `run` starts the playground and checks its own."""
    from bot.commands.playground import token_missing
    from bot.settings import interview_or_exit, settings_or_exit

    if not token_missing():
        interview_or_exit(settings_or_exit())


def main() -> None:
    """Entry point of the `skillsbot` console script."""
    arguments = sys.argv[1:]
    first = next((arg for arg in arguments if not arg.startswith("-")), None)
    known = first in SUB_APPS or first in COMMANDS
    if first == "run" and not {"--help", "--install-completion", "--show-completion"} & set(
        arguments
    ):
        check_run_settings()
    build_app(first if known else None)()


if __name__ == "__main__":
    main()
