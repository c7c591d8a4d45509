"""`skillsbot export responses` and the frame behind it."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from analytics.export import neutralise_formulas, question_columns, responses_frame
from bot.cli import app
from conversations.definition import Interview, Question, Section
from conversations.state import InterviewState
from storage import (
    Engine,
    ResponseRecord,
    Session,
    chat_transaction,
    employer_for_telegram,
    save_state,
    start_response,
)
from storage.staff import audit_entries

# A profile declaration (`profile:` on questions) of the built-in interview's versions: the
# first asked the size band, later ones the headcount.
PROFILE = {
    "org_name": "organisation",
    "sector": "sector",
    "district": "district",
    "size_band": "size_band",
    "headcount": "size_band",
    "role": "role",
}


WINTER = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)  # GMT: London shows 09:00
SUMMER = datetime(2025, 7, 15, 9, 0, tzinfo=UTC)  # BST: London shows 10:00


def add_response(
    engine: Engine,
    user: int,
    status: str,
    answers: dict[str, Any],
    *,
    source: str = "qr-march",
    interview_id: str = "lsip_employer",
) -> None:
    """An employer and one response of an interview (the built-in one unless told)."""
    with chat_transaction(engine, user) as session:
        employer = employer_for_telegram(session, telegram_user_id=user, chat_id=user, now=WINTER)
        assert employer.id is not None
        response = start_response(
            session,
            employer_id=employer.id,
            interview_id=interview_id,
            interview_version="1",
            state=InterviewState(interview_id, "1"),
            source=source,
            now=WINTER,
        )
        save_state(
            session,
            response=response,
            state=InterviewState(interview_id, "1", status, answers),
            now=SUMMER,
            profile=PROFILE,
        )


def run_export(
    database_url: str, *args: str, interview: Path | None = None, zone: str | None = None
) -> tuple[int, str]:
    """`skillsbot export responses ARGS` with the bot's settings: no bot token, the
    interview at `interview` (default: the built-in one), SKILLSBOT_TIMEZONE `zone`."""
    env = {
        "DATABASE_URL": database_url,
        "SKILLSBOT_INTERVIEW": str(interview or ""),
        "TELEGRAM_BOT_TOKEN": None,
        "SKILLSBOT_TIMEZONE": zone,
    }
    result = CliRunner().invoke(app, ["export", "responses", *args], env=env)
    return result.exit_code, result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_xlsx(path: Path) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(path)
    return [tuple(row) for row in workbook["responses"].iter_rows(values_only=True)]


COMPLETED = {
    "consent": "yes",
    "org_name": '=HYPERLINK("http://evil.example","click")',
    "sector": "manufacturing",
    "size_band": "10-24",
    "role": "owner",
    "applicant_skills_lacking": ["digital", "welding"],
    "vacancies": 3,
}


def test_csv_export_of_completed_responses(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_response(engine, 1, "completed", COMPLETED)
    add_response(engine, 2, "in_progress", {"consent": "yes", "org_name": "Half Done Ltd"})
    out = tmp_path / "responses.csv"
    code, output = run_export(database_url, "--format", "csv", "--out", str(out))
    assert code == 0, output
    assert "Wrote 1 response" in output
    [row] = read_csv(out)
    assert row["status"] == "completed"
    assert row["employer_organisation"].startswith("'=HYPERLINK")
    assert row["employer_sector"] == "manufacturing"
    assert row["org_name"].startswith("'=HYPERLINK")
    assert row["sector"] == "manufacturing"
    assert row["applicant_skills_lacking"] == "digital;welding"
    assert row["vacancies"] == "3"
    assert row["started (Europe/London)"] == "2025-01-15 09:00:00"
    assert row["completed (Europe/London)"] == "2025-07-15 10:00:00"
    header = list(row)
    # Built-in interview order: the profile questions come before the skills questions.
    assert header.index("org_name") < header.index("sector") < header.index("vacancies")
    assert "sector_other" in header


def test_the_export_shows_times_in_the_configured_zone(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """SKILLSBOT_TIMEZONE reaches the export (issue 16): its times are that zone's wall
    clock, and the headers name it, not Europe/London."""
    add_response(engine, 1, "completed", COMPLETED)
    out = tmp_path / "responses.csv"
    code, output = run_export(database_url, "--out", str(out), zone="America/New_York")
    assert code == 0, output
    [row] = read_csv(out)
    assert row["started (America/New_York)"] == "2025-01-15 04:00:00"  # EST, UTC-5
    assert row["completed (America/New_York)"] == "2025-07-15 05:00:00"  # EDT, UTC-4
    assert not any("Europe/London" in header for header in row)


def test_all_exports_every_status_to_xlsx(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    add_response(engine, 1, "completed", COMPLETED)
    add_response(engine, 2, "in_progress", {"consent": "yes", "org_name": "-1 Ltd"})
    out = tmp_path / "everything.xlsx"
    code, output = run_export(database_url, "--all", "--out", str(out))
    assert code == 0, output
    header, *rows = read_xlsx(out)
    assert len(rows) == 2
    by_status = {row[header.index("status")]: row for row in rows}
    assert set(by_status) == {"completed", "in_progress"}
    assert by_status["in_progress"][header.index("org_name")] == "'-1 Ltd"
    assert by_status["completed"][header.index("applicant_skills_lacking")] == "digital;welding"
    assert by_status["completed"][header.index("vacancies")] == 3
    completed_at = by_status["completed"][header.index("completed (Europe/London)")]
    assert completed_at == datetime(2025, 7, 15, 10, 0)  # noqa: DTZ001  (Excel has no zones)
    assert by_status["in_progress"][header.index("completed (Europe/London)")] is None
    # A staff action: the audit log says who exported how many, without personal data.
    with Session(engine) as session:
        [entry] = audit_entries(session, action="export.responses")
    assert entry.count == 2
    assert entry.actor.startswith("cli:")
    assert entry.detail == "xlsx, all statuses, interview lsip_employer"


def test_empty_database_exports_only_the_header(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "none.csv"
    code, output = run_export(database_url, "--out", str(out))
    assert code == 0, output
    assert "Wrote 0 responses" in output
    with out.open(encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("response_id,status,")


# A chamber's own interview, whose questions are not in alphabetical order.
CHAMBER_INTERVIEW = """\
id: chamber_2026
title: Chamber skills check
version: "2"
sections:
  - id: main
    title: Skills
    questions:
      - id: consent
        type: consent
        label: Do you agree to take part?
      - id: zeta_skills
        type: text
        label: Which skills do you lack?
      - id: apprentices
        type: select_one
        label: Do you take apprentices?
        other: true
        choices:
          - {value: "yes", label: "Yes"}
          - {value: "no", label: "No"}
      - id: beta_count
        type: integer
        label: How many staff?
"""


def test_the_bots_interview_orders_the_columns_and_others_are_left_out(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    definition = tmp_path / "chamber.yaml"
    definition.write_text(CHAMBER_INTERVIEW)
    chamber = {"consent": "yes", "zeta_skills": "welding", "apprentices": "other"}
    other = {"apprentices_other": "when we can", "beta_count": 4}
    add_response(engine, 1, "completed", chamber | other, interview_id="chamber_2026")
    add_response(engine, 2, "completed", chamber, interview_id="chamber_2026")
    add_response(engine, 3, "completed", COMPLETED)
    add_response(engine, 4, "in_progress", {"consent": "yes"})
    out = tmp_path / "chamber.csv"

    code, output = run_export(database_url, "--out", str(out), interview=definition)
    assert code == 0, output
    assert "Wrote 2 responses of the interview chamber_2026" in output
    assert "Left out 1 response to other interviews: lsip_employer (1)." in output
    assert "--interview ID" in output
    rows = read_csv(out)
    assert [row["interview_id"] for row in rows] == ["chamber_2026", "chamber_2026"]
    header = list(rows[0])
    questions = header[header.index("completed (Europe/London)") + 1 :]
    assert questions == ["consent", "zeta_skills", "apprentices", "apprentices_other", "beta_count"]
    assert [row["apprentices_other"] for row in rows] == ["when we can", ""]

    code, output = run_export(
        database_url,
        "--all",
        "--interview",
        "lsip_employer",
        "--out",
        str(out),
        interview=definition,
    )
    assert code == 0, output
    assert "Wrote 2 responses of the interview lsip_employer" in output
    assert "Left out 2 responses to other interviews: chamber_2026 (2)." in output
    rows = read_csv(out)
    assert [row["interview_id"] for row in rows] == ["lsip_employer", "lsip_employer"]
    header = list(rows[0])
    # The built-in interview's order, although the bot runs the chamber's interview.
    assert header.index("org_name") < header.index("sector") < header.index("vacancies")
    assert "zeta_skills" not in header
    with Session(engine) as session:
        details = [entry.detail for entry in audit_entries(session, action="export.responses")]
    assert sorted(details) == [
        "csv, all statuses, interview lsip_employer",
        "csv, completed, interview chamber_2026",
    ]


def test_a_broken_interview_or_database_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'unused.db'}"
    out = tmp_path / "x.csv"
    code, output = run_export(database_url, "--out", str(out), interview=tmp_path / "gone.yaml")
    assert (code, output) == (
        2,
        f"skillsbot: SKILLSBOT_INTERVIEW: {tmp_path / 'gone.yaml'}: no such file\n",
    )
    code, output = run_export("postgresql://u:secret@h:notaport/db", "--out", str(out))
    assert (code, output) == (
        2,
        "skillsbot: DATABASE_URL names a port that is not a number from 1 to 65535\n",
    )
    assert list(tmp_path.iterdir()) == []  # no database, no file


def test_unmigrated_database_gets_a_polite_answer(database_url: str, tmp_path: Path) -> None:
    code, output = run_export(database_url, "--out", str(tmp_path / "x.csv"))
    assert code == 1
    assert "skillsbot db upgrade" in output
    assert "Traceback" not in output


# Formulas hidden behind characters an xlsx file cannot hold (which are removed before the
# file is written) or behind blanks and invisible characters: (stored, written). The answers
# to the profile questions are also copied onto the employer's profile.
HIDDEN_FORMULAS = {
    "org_name": (
        '\x01=HYPERLINK("http://evil.example","click")',
        '\'=HYPERLINK("http://evil.example","click")',
    ),
    "sector": ("\x1f\x02+SUM(1,2)", "'+SUM(1,2)"),
    "district": (" \x0b-2+3", "' -2+3"),
    "role": ("\u200b@SUM(A1)", "'\u200b@SUM(A1)"),
    "comments": ("\x0c\t=1+1", "'\t=1+1"),
    "size_band": ("\n=1+1", "'\n=1+1"),
}
HIDDEN_SOURCE = ("\x07=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_control_characters_cannot_hide_a_formula(
    engine: Engine, database_url: str, tmp_path: Path, fmt: str
) -> None:
    stored = {question: value for question, (value, _) in HIDDEN_FORMULAS.items()}
    add_response(engine, 1, "completed", {"consent": "yes", **stored}, source=HIDDEN_SOURCE[0])
    out = tmp_path / f"responses.{fmt}"
    code, output = run_export(database_url, "--out", str(out))
    assert code == 0, output
    row: dict[str, Any]
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(out)["responses"]
        cells = [cell for line in sheet.iter_rows() for cell in line]
        assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
        header, values = read_xlsx(out)
        row = dict(zip(header, values, strict=True))
    else:
        [row] = read_csv(out)
    for question, (_, written) in HIDDEN_FORMULAS.items():
        assert row[question] == written
    assert row["source"] == HIDDEN_SOURCE[1]
    for field in ("organisation", "sector", "district", "role", "size_band"):
        question = "org_name" if field == "organisation" else field
        assert row[f"employer_{field}"] == HIDDEN_FORMULAS[question][1]


@pytest.mark.parametrize("cell", ["=1+1", "+44 1223", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_and_headers_are_neutralised(cell: str) -> None:
    record = ResponseRecord(
        response_id=1,
        employer_id=1,
        status="completed",
        interview_id="i",
        interview_version="1",
        source=cell,
        started_at=WINTER,
        updated_at=WINTER,
        completed_at=WINTER,
        organisation=cell,
        sector=None,
        district=None,
        size_band=None,
        role=None,
        answers={cell: cell, "staff": -3, "ok": "fine = good"},
    )
    frame = neutralise_formulas(responses_frame([record]))
    assert "'" + cell in frame.columns
    assert cell not in frame.columns
    [row] = frame.to_dict("records")
    assert row["source"] == row["employer_organisation"] == row["'" + cell] == "'" + cell
    assert row["staff"] == -3  # numbers are numbers, not formulas
    assert row["ok"] == "fine = good"


def test_question_columns_follow_the_interview_then_sorted_extras() -> None:
    questions = (
        Question(id="intro", type="note", label="Hello", section_id="s"),
        Question(id="zeta", type="text", label="Z", section_id="s"),
        Question(id="alpha", type="select_one", label="A", section_id="s", other=True),
    )
    interview = Interview(
        id="i", title="T", version="1", sections=(Section(id="s", title="S", questions=questions),)
    )
    record = ResponseRecord(
        response_id=1,
        employer_id=1,
        status="completed",
        interview_id="i",
        interview_version="1",
        source=None,
        started_at=SUMMER,
        updated_at=SUMMER,
        completed_at=None,
        organisation=None,
        sector=None,
        district=None,
        size_band=None,
        role=None,
        answers={"retired_q": "x", "alpha": "other", "alpha_other": "Llamas", "b_old": 1},
    )
    assert question_columns([record], interview) == [
        "zeta",
        "alpha",
        "alpha_other",
        "b_old",
        "retired_q",
    ]
    assert question_columns([record], None) == [
        "alpha",
        "alpha_other",
        "b_old",
        "retired_q",
    ]
    started = responses_frame([record], interview=interview)["started (Europe/London)"][0]
    assert started == datetime(2025, 7, 15, 10, 0)  # noqa: DTZ001
    assert started - datetime(2025, 7, 15, 9, 0) == timedelta(hours=1)  # noqa: DTZ001


def test_an_interview_activated_from_the_chat_is_the_one_exported(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from storage.definitions import activate_definition, store_definition

    form = Path(__file__).parents[1] / "conversations" / "forms" / "simple.csv"
    with Session(engine) as session, session.begin():
        row = store_definition(
            session,
            interview_id="hiring",
            version="1",
            file_name="simple.csv",
            content=form.read_bytes(),
            uploaded_by="9001",
            now=WINTER,
        )
        assert row.id is not None
        activate_definition(session, definition_id=row.id, actor="9001", now=WINTER)
    add_response(engine, 1, "completed", {"why": "none", "hire": "no"}, interview_id="hiring")
    add_response(engine, 2, "completed", COMPLETED)
    out = tmp_path / "hiring.csv"
    code, output = run_export(database_url, "--out", str(out))
    assert code == 0, output
    assert "Wrote 1 response of the interview hiring" in output
    rows = read_csv(out)
    assert rows[0]["interview_version"] == "1"
    header = list(rows[0])
    # The stored form's order (hire, vacancies, why), not the answers' sorted order.
    assert header[header.index("completed (Europe/London)") + 1 :] == ["hire", "vacancies", "why"]
