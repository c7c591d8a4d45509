"""The weeks a weekly report may be asked for: from the first response's week to the
current one, refused with one line otherwise (`report weekly --week`, and `/weekly`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analytics.weeks import InvalidWeek, IsoWeek, check_report_week
from bot.cli import app
from conversations.state import InterviewState
from storage import Engine, Session, chat_transaction, employer_for_telegram, start_response
from storage.repositories import first_response_at

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)  # Wednesday of 2026-W49
FIRST = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)  # Tuesday of 2026-W41


def test_weeks_from_the_first_response_to_the_current_one_are_allowed() -> None:
    for week in (IsoWeek(2026, 41), IsoWeek(2026, 48), IsoWeek(2026, 49)):
        check_report_week(week, first_response=FIRST, now=NOW)
    check_report_week(IsoWeek(2026, 48), first_response=None, now=NOW)  # no data yet
    with pytest.raises(InvalidWeek, match="no responses before 2026-W41; .* 2026-W41 to 2026-W49"):
        check_report_week(IsoWeek(2026, 40), first_response=FIRST, now=NOW)
    with pytest.raises(InvalidWeek, match="2026-W41 to 2026-W49"):
        check_report_week(IsoWeek(1, 1), first_response=FIRST, now=NOW)
    with pytest.raises(InvalidWeek, match="2026-W50 has not started yet"):
        check_report_week(IsoWeek(2026, 50), first_response=FIRST, now=NOW)
    with pytest.raises(InvalidWeek, match="9999-W52 has not started yet"):
        check_report_week(IsoWeek(9999, 52), first_response=FIRST, now=NOW)


def test_report_weekly_refuses_weeks_outside_the_data_with_one_line(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    first = datetime.now(UTC) - timedelta(days=20)
    with chat_transaction(engine, 501) as session:
        employer = employer_for_telegram(session, telegram_user_id=501, chat_id=501, now=first)
        assert employer.id is not None
        start_response(
            session,
            employer_id=employer.id,
            interview_id="lsip",
            interview_version="1",
            state=InterviewState("lsip", "1"),
            source=None,
            now=first,
        )
    with Session(engine) as session:
        assert first_response_at(session) == first
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    for week in ("0001-W01", "9999-W52", IsoWeek.containing(first).previous().label):
        command = ["report", "weekly", "--week", week, "--out", str(tmp_path)]
        result = runner.invoke(app, command, env=env)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert lines[0].startswith("Error: ")
        assert "give a week from" in lines[0]
    result = runner.invoke(
        app,
        ["report", "weekly", "--week", IsoWeek.containing(first).label, "--out", str(tmp_path)],
        env=env,
    )
    assert result.exit_code == 0, result.output
