"""Cells of terminal and chat tables cannot forge rows or reach the terminal as escape
sequences (issue 19, item 8): the shared `clean_cell`, and the tables that use it, through
the real command line on a real database."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session
from typer.testing import CliRunner

from bot.cli import app
from bot.core.labels import sector_labels
from bot.core.staff import progress_summary
from bot.core.tables import REPLACEMENT, clean_cell, text_table, xlsx_table
from storage import Engine, utcnow
from storage.roster import RosterEntry, import_roster

HOSTILE = "Evil Ltd\nFake Row Ltd  Construction\x1b]0;PWNED\x07\r\x9b2J\x7f\u202eredro"
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _unsafe(text: str) -> list[str]:
    """Characters a table must never print: controls and bidirectional overrides."""
    return [c for c in text if unicodedata.category(c) == "Cc" or c in BIDI]


def test_line_breaks_become_spaces_and_other_controls_a_visible_mark() -> None:
    assert clean_cell("Fen\nBakery") == "Fen Bakery"
    assert clean_cell("Fen\r\n\tBakery\u2028Ltd") == "Fen Bakery Ltd"
    assert clean_cell("\x1b]0;PWNED\x07") == f"{REPLACEMENT}]0;PWNED{REPLACEMENT}"
    assert clean_cell("a\x9b2Jb\x00c\x7fd") == f"a{REPLACEMENT}2Jb{REPLACEMENT}c{REPLACEMENT}d"
    assert clean_cell("\u202eevil") == f"{REPLACEMENT}evil"
    assert clean_cell(None) == ""
    assert clean_cell(12) == "12"


def test_ordinary_text_is_kept_as_it_is() -> None:
    for text in ("Café Nero (Ely)", "Zoë & Sons", "株式会社", "👩‍🔧 Fixers", "A\u00a0B", "عربي"):
        assert clean_cell(text) == text


@given(st.text())
def test_no_cell_can_break_a_line_or_hold_a_control(text: str) -> None:
    cleaned = clean_cell(text)
    assert not any(c in LINE_BREAKS for c in cleaned)
    assert _unsafe(cleaned) == []
    assert len(cleaned.splitlines()) <= 1


def test_a_table_keeps_one_line_per_row_whatever_the_cells() -> None:
    table = text_table(["name", "note"], [[HOSTILE, "ok"], ["Fen Bakery", "a\nb"]])
    lines = table.split("\n")
    assert len(lines) == 4  # header, rule, two rows
    assert _unsafe(table.replace("\n", "")) == []
    assert lines[2].startswith("Evil Ltd Fake Row Ltd")


def test_the_chats_list_summary_cleans_its_labels() -> None:
    summary = progress_summary(
        {"listed": 2, "odd\nstatus": 1}, {"Evil\nsector\x1b[2J": 2, None: 1}, sector_labels()
    )
    assert "\x1b" not in summary
    assert "• Evil sector" in summary
    assert "• odd status: 1" in summary
    # total, two statuses, blank, heading, two sectors
    assert len(summary.split("\n")) == 7


def test_a_spreadsheet_keeps_numbers_and_makes_text_harmless() -> None:
    import io

    import openpyxl

    data = xlsx_table(
        ["Name", "Count"],
        [["=1+2", 3], ["@SUM(A1)", 4.5], ["Fen\nBakery\x00", None], [" -2", True]],
        title="Employers",
    )
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet.title == "Employers"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [
        ["Name", "Count"],
        ["'=1+2", 3],
        ["'@SUM(A1)", 4.5],
        ["Fen Bakery\ufffd", None],
        ["' -2", "True"],
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:B5"


def test_employers_list_prints_a_hostile_name_on_one_row(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with Session(engine) as session, session.begin():
        import_roster(
            session,
            entries=[
                RosterEntry(
                    organisation=HOSTILE,
                    contact_name=None,
                    email=None,
                    phone=None,
                    sector="construction",
                    district=None,
                    size_band=None,
                    notes=None,
                ),
                RosterEntry(
                    organisation="Fen Bakery",
                    contact_name=None,
                    email=None,
                    phone=None,
                    sector=None,
                    district=None,
                    size_band=None,
                    notes=None,
                ),
            ],
            now=utcnow(),
        )
    result = CliRunner().invoke(app, ["employers", "list"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip("\n").split("\n")
    assert len(lines) == 5, lines  # header, rule, two employers, the count
    assert lines[-1] == "2 employers, 0 opted out"
    assert _unsafe(result.output.replace("\n", "")) == []
    assert "PWNED" in result.output  # shown, harmlessly


def test_round_list_prints_a_hostile_round_name_on_one_row(
    engine: Engine, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    opened = CliRunner().invoke(app, ["round", "open", "Stage 2\n99  forged\x1b]0;x\x07"], env=env)
    assert opened.exit_code == 0, opened.output
    listed = CliRunner().invoke(app, ["round", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.rstrip("\n").split("\n")) == 3
    assert _unsafe(listed.output.replace("\n", "")) == []
