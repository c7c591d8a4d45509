"""Demo seeding and the analytics reads, on SQLite and PostgreSQL; the `report weekly` CLI."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from analytics.demo import seed_demo
from analytics.report import weekly_report
from analytics.source import answers_frame, responses_frame
from analytics.weeks import IsoWeek
from bot.cli import app
from conversations.areas import districts
from storage import Engine
from storage.demo_seed import row_counts

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday of 2026-W49
EMPLOYERS = 40


def _batch(engine: Engine, first_response: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responses and answers of one seeded batch, ids made relative to the batch."""
    responses = responses_frame(engine)
    responses = responses.loc[responses["response_id"] >= first_response].copy()
    answers = answers_frame(engine)
    answers = answers.loc[answers["response_id"] >= first_response].copy()
    responses["response_id"] -= first_response
    responses["employer_id"] -= int(responses["employer_id"].min())
    answers["response_id"] -= first_response
    answers["question_id"] = answers["question_id"].astype("object")
    answers = answers.sort_values(["response_id", "question_id"]).reset_index(drop=True)
    return responses.reset_index(drop=True), answers


def test_same_seed_gives_the_same_data(engine: Engine) -> None:
    counts = seed_demo(engine, employers=EMPLOYERS, weeks=4, seed=11, now=NOW)
    assert (counts.employers, counts.responses) == (EMPLOYERS, EMPLOYERS)
    assert row_counts(engine) == counts
    first = _batch(engine, 1)
    seed_demo(engine, employers=EMPLOYERS, weeks=4, seed=11, now=NOW)
    second = _batch(engine, EMPLOYERS + 1)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])
    seed_demo(engine, employers=EMPLOYERS, weeks=4, seed=12, now=NOW)
    third = _batch(engine, 2 * EMPLOYERS + 1)
    assert not first[1].equals(third[1])


def test_demo_data_is_plausible_and_follows_the_branching(engine: Engine) -> None:
    seed_demo(engine, employers=120, weeks=8, seed=3, now=NOW)
    responses = responses_frame(engine)
    answers = answers_frame(engine)
    shares = responses["status"].value_counts(normalize=True)
    assert 0.6 <= shares["completed"] <= 0.9
    assert set(responses["status"]) <= {"completed", "in_progress", "abandoned", "declined"}
    assert (responses["started_at"] <= pd.Timestamp(NOW)).all()
    assert (responses["started_at"] >= pd.Timestamp(NOW) - pd.Timedelta(weeks=8)).all()
    assert str(responses["started_at"].dt.tz) == "UTC"
    codes = {d.code for d in districts("Cambridgeshire and Peterborough")}
    assert set(responses["district"].dropna()) <= codes
    assert responses["organisation"].dropna().str.match(r"Demo Employer \d{4} Ltd$").all()
    # Only those with vacancies are asked whether they are hard to fill.
    by_question = answers.pivot_table(
        index="response_id",
        columns="question_id",
        values="value_text",
        aggfunc="first",
        observed=True,
    )
    asked = by_question["hard_to_fill"].notna()
    assert (by_question.loc[asked, "vacancies"] == "yes").all()
    assert (by_question.loc[by_question["vacancies"] == "no", "hard_to_fill"].isna()).all()
    declined = responses.loc[responses["status"] == "declined", "response_id"]
    assert not answers["response_id"].isin(declined).any()


def test_weekly_report_on_seeded_data(engine: Engine, tmp_path: Path) -> None:
    # 800 employers: a report of 150 costs three times the CPU (most groups are small, so
    # a thousand cells are hidden); small data is the disclosure tests' (60 and 40).
    seed_demo(engine, employers=800, weeks=4, seed=5, now=NOW)
    report = weekly_report(engine, IsoWeek(2026, 48), tmp_path, ("xlsx", "md"), threshold=5)
    assert len(report.message) <= 4096
    assert report.message.startswith(
        "Weekly skills summary, Cambridgeshire and Peterborough: week 2026-W48 "
        "(Monday 23 November 2026 to Sunday 29 November 2026)"
    )
    workbook = load_workbook(tmp_path / "weekly-2026-W48.xlsx")
    headline = {row[0]: row for row in workbook["Headline"].iter_rows(min_row=6, values_only=True)}
    started = responses_frame(engine)["started_at"]
    in_week = (
        (started >= pd.Timestamp(IsoWeek(2026, 48).start))
        & (started < pd.Timestamp(IsoWeek(2026, 48).end))
    ).sum()
    assert headline["Responses started this week"][1] == in_week


def test_report_weekly_cli(database_url: str, engine: Engine, tmp_path: Path) -> None:
    seed_demo(engine, employers=20, weeks=2, seed=9, now=NOW)
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "SKILLSBOT_MIN_BASE": "5"}
    result = runner.invoke(
        app,
        [
            "report",
            "weekly",
            "--week",
            "2026-W48",
            "--out",
            str(tmp_path),
            "--format",
            "md,html,csv",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert result.output.split() == [
        str(tmp_path / "weekly-2026-W48.md"),
        str(tmp_path / "weekly-2026-W48.html"),
        str(tmp_path / "weekly-2026-W48.csv"),
    ]
    with (tmp_path / "weekly-2026-W48.csv").open(encoding="utf-8", newline="") as handle:
        cells = list(csv.DictReader(handle))
    assert list(cells[0]) == [
        *("table", "row", "column", "value", "base", "status"),
        *("area", "week", "week_start", "week_end", "week_complete"),
    ]
    assert {(c["week"], c["week_start"], c["week_end"], c["week_complete"]) for c in cells} == {
        ("2026-W48", "2026-11-23", "2026-11-29", "yes")
    }
    total = next(
        c
        for c in cells
        if (c["table"], c["row"]) == ("Responses by sector", "Total")
        and c["column"] == "Started to date"
    )
    assert total["status"] == "shown"
    started = responses_frame(engine)["started_at"]
    assert int(total["value"]) == (started < pd.Timestamp(IsoWeek(2026, 48).end)).sum()
    statuses = {c["status"] for c in cells}
    assert statuses <= {"shown", "suppressed", "caution", "not_asked"}
    assert "suppressed" in statuses  # 20 employers: most sectors' counts are hidden
    assert "Responses started this week" in (tmp_path / "weekly-2026-W48.md").read_text()
    bad = runner.invoke(app, ["report", "weekly", "--week", "2026-47"], env=env)
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        "Error: '2026-47' is not an ISO week; write it like 2026-W47"
    ]
    assert "Traceback" not in bad.output


def test_demo_seed_cli(database_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "seed", "--employers", "12", "--weeks", "2", "--seed", "4"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Added 12 demo employers, 12 responses and ")
    assert "Cambridgeshire and Peterborough" in result.output


def test_demo_seed_cli_now_makes_the_data_the_same_at_any_time(
    database_url: str, engine: Engine
) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    arguments = ["demo", "seed", "--employers", "15", "--weeks", "3", "--seed", "5"]
    batches = []
    for first_response, now in ((1, "2026-11-25T12:00"), (16, "2026-11-25T13:00:00+01:00")):
        result = runner.invoke(app, [*arguments, "--now", now], env=env)
        assert result.exit_code == 0, result.output
        batches.append(_batch(engine, first_response))
    first, second = batches
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])
    latest = pd.to_datetime(first[0]["started_at"], utc=True).max()
    assert latest <= pd.Timestamp("2026-11-25T12:00", tz="UTC")
    for bad, says in (("yesterday", "is not a date and time"), ("2999-01-01", "in the future")):
        result = runner.invoke(app, [*arguments, "--now", bad], env=env)
        assert result.exit_code == 2
        assert says in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("area", ["Atlantis"])
def test_demo_seed_cli_unknown_area(database_url: str, area: str) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "seed", "--employers", "2"],
        env={"DATABASE_URL": database_url, "SKILLSBOT_AREA": area},
    )
    assert result.exit_code == 2
    assert "unknown LSIP area 'Atlantis'" in result.output
