"""The import direction between our packages holds: `lint-imports` checks the contracts in
pyproject.toml (`[tool.importlinter]`), the same command `.ci/run` runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    """The `lint-imports` next to this interpreter, or on PATH; skips (fails on CI) without it."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        problem = "lint-imports is not installed (pip install -e '.[dev]')"
        if os.environ.get("SKILLSBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{problem} and SKILLSBOT_REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip(problem)
    return found


def test_every_layer_contract_is_kept() -> None:
    run = subprocess.run(
        [_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # The contracts are there: an empty configuration would also pass.
    assert "conversations imports nothing of ours KEPT" in run.stdout
    assert "no Telegram library below bot KEPT" in run.stdout
    assert "only the adapters import aiogram or telegram KEPT" in run.stdout
