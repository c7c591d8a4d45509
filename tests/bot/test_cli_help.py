"""`skillsbot --help` and `skillsbot run --help` are shown without importing the commands
(seconds of aiogram and pandas), and say exactly what the commands themselves would; no
command's `--help` imports the database layer, analytics or Telegram."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from bot.cli import COMMANDS, SUB_APPS, SUMMARIES, build_app


def help_text(summaries: bool, *args: str) -> str:
    result = CliRunner().invoke(build_app(summaries=summaries), [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_has_a_summary() -> None:
    assert set(SUMMARIES) == set(SUB_APPS) | set(COMMANDS)


@pytest.mark.parametrize("args", [(), ("run",)])
def test_the_listing_and_runs_help_are_the_commands_own_words(args: tuple[str, ...]) -> None:
    assert help_text(True, *args) == help_text(False, *args)


# The console script's `--help`, then what it imported.
HELP_THEN_IMPORTS = """
import json, sys
sys.argv = ["skillsbot", *sys.argv[1:]]
from bot.cli import main
try:
    main()
except SystemExit as stop:
    print(json.dumps([stop.code, sorted(n for n in ("aiogram", "pandas") if n in sys.modules)]))
"""


@pytest.mark.parametrize(("args", "exit_code"), [(["--help"], 0), (["run", "--help"], 0), ([], 2)])
def test_help_imports_neither_aiogram_nor_pandas(args: list[str], exit_code: int) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", HELP_THEN_IMPORTS, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Commands" in shown.stdout or "Start the bot" in shown.stdout
    assert json.loads(shown.stdout.splitlines()[-1]) == [exit_code, []]


# What `--help` may not import: the database layer, the analysts' libraries, the Telegram
# libraries and rich's progress bars (seconds of start-up). `analytics.spreadsheet_text`
# imports only the standard library (bot.core.tables uses it); the rest of analytics needs pandas.
HEAVY_PACKAGES = frozenset(
    {"storage", "sqlalchemy", "sqlmodel", "alembic", "pandas", "numpy", "matplotlib"}
    | {"openpyxl", "aiogram", "telegram", "httpx", "qrcode", "analytics"}
    | {"lark"}  # the expression grammar's parser: the interview loader's, a tenth of a second
)
LIGHT_MODULES = frozenset({"analytics", "analytics.spreadsheet_text"})
HEAVY_MODULES = frozenset({"rich.progress"})
# `skillsbot interview try` runs the engine, whose conditions need lark: its group may load it.
ALLOWED = {"interview": frozenset({"lark"})}


def allowed(args: list[str]) -> frozenset[str]:
    """The heavy packages a command line's `--help` may load (its group's)."""
    return ALLOWED.get(args[0], frozenset()) if args else frozenset()


# Each command line's `--help` through the console script, in one interpreter: the heavy
# modules each one loaded first (a module is blamed on the first command that imports it).
EVERY_HELP_THEN_IMPORTS = f"""
import contextlib, io, json, sys
from bot.cli import main

def heavy():
    return {{
        name
        for name in sys.modules
        if name not in {sorted(LIGHT_MODULES)!r}
        and (name.split(".")[0] in {sorted(HEAVY_PACKAGES)!r} or name in {sorted(HEAVY_MODULES)!r})
    }}

shown = []
for args in json.loads(sys.argv[1]):
    sys.argv = ["skillsbot", *args, "--help"]
    before = heavy()
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit as stop:
            code = stop.code
    shown.append([args, code, "Usage" in out.getvalue(), sorted(heavy() - before)])
print(json.dumps(shown))
"""


def command_lines() -> list[list[str]]:
    """Every command and sub-command of the CLI, as the words that name it."""
    found: list[list[str]] = []

    def walk(command: Any, words: list[str]) -> None:  # typer's own click, or click
        found.append(words)
        for name, sub in getattr(command, "commands", {}).items():  # a group's commands
            walk(sub, [*words, name])

    walk(typer.main.get_command(build_app()), [])
    return found


def test_no_help_imports_the_database_analytics_or_telegram_layers() -> None:
    lines = command_lines()
    assert ["employers", "invites"] in lines  # the walk reaches the sub-commands
    shown = subprocess.run(
        [sys.executable, "-c", EVERY_HELP_THEN_IMPORTS, json.dumps(lines)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    results = json.loads(shown.stdout.splitlines()[-1])
    assert [args for args, *_ in results] == lines
    assert [(args, code, usage) for args, code, usage, _ in results] == [
        (args, 0, True) for args in lines
    ]
    blamed = {
        " ".join(args): [name for name in heavy if name.split(".")[0] not in allowed(args)]
        for args, _, _, heavy in results
    }
    assert {line: heavy for line, heavy in blamed.items() if heavy} == {}


def test_the_employer_status_option_offers_the_stored_statuses() -> None:
    from bot.cli.employers import EMPLOYER_STATUSES, Status
    from storage import EMPLOYER_STATUSES as STORED

    assert EMPLOYER_STATUSES == STORED
    assert [status.value for status in Status] == list(STORED)
