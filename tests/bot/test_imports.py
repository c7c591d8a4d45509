"""What the bot's processes import: `skillsbot run` never loads the analysts'
libraries (pandas, numpy, matplotlib, openpyxl), about 75 MB in every process, and loads
only the Telegram library chosen; and the import contract that keeps both Telegram
libraries inside their adapters leaves no module of bot out.

Checked in a fresh interpreter, since this test process has imported them already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

HEAVY = ("pandas", "numpy", "matplotlib", "openpyxl")

# What `skillsbot run` (through the CLI) imports.
IMPORT_THE_BOT = f"""
import json, sys
import bot.runtime.app, bot.cli.run
from bot.cli import build_app
build_app("run")
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def test_the_bot_processes_load_no_analytics_libraries() -> None:
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_THE_BOT], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


# `skillsbot run` with a bad setting, run as the console script runs it.
RUN_WITH_A_BAD_SETTING = """
import json, sys
sys.argv = ["skillsbot", "run"]
from bot.cli import main
try:
    main()
except SystemExit as stop:
    print(json.dumps([stop.code, sorted(n for n in ("aiogram", "pandas") if n in sys.modules)]))
"""


def test_run_tells_a_bad_setting_before_loading_the_telegram_layer(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SKILLSBOT_", "TELEGRAM_"))},
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "SKILLSBOT_ADMINS": "1;2",
    }
    run = subprocess.run(
        [sys.executable, "-c", RUN_WITH_A_BAD_SETTING],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.stderr == "skillsbot: SKILLSBOT_ADMINS must be comma-separated Telegram user ids\n"
    assert json.loads(run.stdout) == [2, []]  # seconds of imports saved, for every bad setting


# The bot built for one Telegram library (SKILLSBOT_TELEGRAM_LIBRARY), with the modules
# around it (the webhook, the command line, the broadcast sender's link), then closed: which
# Telegram libraries that loaded.
BUILD_THE_BOT = """
import asyncio, json, sys
from zoneinfo import ZoneInfo
import bot.cli, bot.cli.broadcast, bot.cli.run, bot.runtime.webhook, bot.transports.links
from bot.runtime.app import EmployerBot
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import make_engine

database = make_engine("sqlite:///{database}")
employer_bot = EmployerBot(
    token="123456:TEST-TOKEN", database=database, area=DEFAULT_AREA, library={library!r},
    zone=ZoneInfo("Europe/London"),
    interview=load_interview(builtin_interview_path(), area=DEFAULT_AREA),
)
asyncio.run(employer_bot.close())
database.dispose()
print(json.dumps(sorted({{n.split(".")[0] for n in sys.modules}} & {{"aiogram", "telegram"}})))
"""


@pytest.mark.parametrize(("library", "loaded"), [("ptb", ["telegram"]), ("aiogram", ["aiogram"])])
def test_the_bot_loads_only_the_library_chosen(
    library: str, loaded: list[str], tmp_path: Path
) -> None:
    script = BUILD_THE_BOT.format(library=library, database=tmp_path / "bot.db")
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == loaded


# The contract in pyproject.toml that keeps Telegram libraries in the adapters. A forbidden
# contract cannot leave a subpackage out of its package, so it lists bot's modules
# (`bot.core.*`: each module of bot.core); these are the packages it leaves out.
ADAPTERS = ("bot.transports.aiogram", "bot.transports.ptb")
ONLY_THE_ADAPTERS = "only the adapters import aiogram or telegram"
BOT = Path(__file__).resolve().parents[2] / "bot"


def bot_modules() -> list[str]:
    """Every module and package of bot, by its dotted name (from the files)."""
    names = []
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(BOT.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def matches(expression: str, module: str) -> bool:
    """Whether import-linter's module expression (`*`: any one name) names the module."""
    wanted, named = expression.split("."), module.split(".")
    return len(wanted) == len(named) and all(
        w in ("*", n) for w, n in zip(wanted, named, strict=True)
    )


def test_the_telegram_contract_covers_every_module_outside_the_adapters() -> None:
    config = tomllib.loads((BOT.parent / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["name"].startswith(ONLY_THE_ADAPTERS)]
    assert contract["as_packages"] is False  # so that the adapters are not included
    assert set(contract["forbidden_modules"]) == {"aiogram", "telegram"}
    expressions = contract["source_modules"]
    modules = bot_modules()
    assert "bot.transports.links" in modules  # the files were read as modules
    inside = [m for m in modules if any(m == a or m.startswith(f"{a}.") for a in ADAPTERS)]
    assert "bot.transports.ptb.transport" in inside
    outside = [m for m in modules if m not in inside]
    uncovered = [m for m in outside if not any(matches(e, m) for e in expressions)]
    assert uncovered == [], f"add these to the contract {ONLY_THE_ADAPTERS!r}: {uncovered}"
    assert not [m for m in inside if any(matches(e, m) for e in expressions)]
