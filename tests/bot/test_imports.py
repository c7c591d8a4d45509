"""What the bot's processes import: `skillsbot run` never loads the analysts'
libraries (pandas, numpy, matplotlib, openpyxl), about 75 MB in every process.

Checked in a fresh interpreter, since this test process has imported them already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("pandas", "numpy", "matplotlib", "openpyxl")

# What `skillsbot run` (through the CLI) imports.
IMPORT_THE_BOT = f"""
import json, sys
import bot.app, bot.commands.run
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


# What receiving and handling an update with SKILLSBOT_TELEGRAM_LIBRARY=ptb imports: the
# PTB adapter, the core it calls and the logs it writes, polling and the webhook, the
# menus and the broadcaster (the app around them still builds aiogram's dispatcher: see
# docs/design.md).
IMPORT_THE_PTB_PATH = """
import json, sys
import bot.transports.ptb, bot.transports.ptb.transport, bot.transports.ptb.retry
import bot.transports.ptb.account
import bot.core.desk, bot.core.interviewer, bot.logs, bot.retry
import bot.polling, bot.webhook, bot.menus, bot.broadcaster
print(json.dumps(sorted({n.split(".")[0] for n in sys.modules} & {"aiogram", "telegram"})))
"""


def test_the_ptb_handling_path_loads_no_aiogram() -> None:
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_THE_PTB_PATH], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ["telegram"]  # PTB itself is loaded: the test can fail
