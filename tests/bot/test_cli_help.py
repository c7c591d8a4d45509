"""`skillsbot --help` and `skillsbot run --help` are shown without importing the commands
(seconds of aiogram and pandas), and say exactly what the commands themselves would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
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


@pytest.mark.parametrize(
    ("args", "exit_code"), [(["--help"], 0), (["run", "--help"], 0), ([], 2)]
)
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
