"""What the bot's processes import: `skillsbot run` never loads the analysts'
libraries (pandas, numpy, matplotlib, openpyxl), about 75 MB in every process.

Checked in a fresh interpreter, since this test process has imported them already.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
