"""`skillsbot report weekly` takes its thresholds and area from `.env` too, as the bot
reads its settings (the environment first, then a `.env` file in the working directory)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analytics.demo import seed_demo
from bot.cli import app
from storage import make_engine, upgrade

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_report_weekly_honours_thresholds_and_area_from_a_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed_demo(engine, employers=40, weeks=2, seed=5, now=NOW)
    engine.dispose()
    for name in (
        "SKILLSBOT_MIN_BASE",
        "SKILLSBOT_MIN_PERCENT_BASE",
        "SKILLSBOT_AREA",
        "SKILLSBOT_TIMEZONE",
        "SKILLSBOT_CAUTION_BASE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{path}\nSKILLSBOT_MIN_BASE=7\n"
        "SKILLSBOT_MIN_PERCENT_BASE=30\nSKILLSBOT_CAUTION_BASE=80\n"
        "SKILLSBOT_AREA=The Marches\n"
        "SKILLSBOT_TIMEZONE=America/New_York\n",
        encoding="utf-8",
    )
    command = ["report", "weekly", "--week", "2026-W48", "--out", "out", "--format", "md"]
    result = CliRunner().invoke(app, command, env={"DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "weekly-2026-W48.md").read_text(encoding="utf-8")
    assert "fewer than 7 employers" in text
    assert "base under 30" in text
    assert "Percentages on a base under 80 are marked *" in text
    assert "The Marches" in text
    assert "Weeks run Monday to Sunday, America/New_York time." in text

    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{path}\nSKILLSBOT_MIN_PERCENT_BASE=lots\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, command, env={"DATABASE_URL": None})
    assert result.exit_code == 2
    assert "SKILLSBOT_MIN_PERCENT_BASE must be a whole number" in result.output
