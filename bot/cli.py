"""The `skillsbot` command line: one Typer app with a sub-app per area of work.

Sub-apps are imported only when their command runs: the Telegram layer (aiogram) and
pandas take seconds to import, and `skillsbot interview check` should not pay for them.
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
    "inbox": "bot.commands.inbox",
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


def main() -> None:
    """Entry point of the `skillsbot` console script."""
    first = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    known = first in SUB_APPS or first in COMMANDS
    build_app(first if known else None)()


if __name__ == "__main__":
    main()
