"""The rendered weekly report: XLSX sheets, PNG charts, one self-contained HTML, Markdown."""

from __future__ import annotations

import base64
import csv
import re
from dataclasses import replace
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analytics.charts import (
    MAX_SERIES,
    OTHER,
    heatmap_sectors,
    panel_count,
    trend_left_out_note,
    trend_panels,
)
from analytics.render_csv import write_csv
from analytics.render_html import render_html
from analytics.render_markdown import render_markdown
from analytics.render_xlsx import write_xlsx
from analytics.report import UnknownFormat, parse_formats, render_report
from analytics.tables import ReportTables, Table, headline_message, report_tables
from tests.analytics import survey


def tables_with_comments(comments: dict[int, str]) -> ReportTables:
    """The survey's week 10 report tables, with these comments (response id -> text) added
    and approved as written."""
    return report_tables(survey.week_summary(comments), 5)


@pytest.fixture(scope="module")
def tables() -> ReportTables:
    # A comment that a spreadsheet would run as a formula.
    return tables_with_comments({101: '=HYPERLINK("http://x")'})


@pytest.fixture(scope="module")
def written(tables: ReportTables, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    files = render_report(tables, tmp_path_factory.mktemp("report"))
    return {path.name: path for path in files}


def test_all_files_are_written(written: dict[str, Path]) -> None:
    assert sorted(written) == [
        "weekly-2026-W10-responses-by-sector.png",
        "weekly-2026-W10-skills-gaps-by-sector.png",
        "weekly-2026-W10.html",
        "weekly-2026-W10.md",
        "weekly-2026-W10.xlsx",
    ]


def test_xlsx_sheets_values_and_frozen_headers(written: dict[str, Path]) -> None:
    workbook = load_workbook(written["weekly-2026-W10.xlsx"])
    assert workbook.sheetnames[:5] == [
        "Headline",
        "By sector",
        "By district",
        "By size band",
        "Applicant skills",
    ]
    assert "Verbatims" in workbook.sheetnames
    for sheet in workbook.worksheets:
        # A title block: the table, the area and week with its dates, the base.
        assert sheet.freeze_panes == "A6"
        assert sheet["A1"].font.b
        assert "week 2026-W10 (Monday 2 March 2026 to Sunday 8 March 2026)" in sheet["A2"].value
        assert (sheet["A3"].value or "").startswith(("Base", "Every figure")), sheet.title
        assert sheet["A5"].font.b
    assert workbook["Choices by sector"].auto_filter.ref.startswith("A5:")
    headline = workbook["Headline"]
    assert headline["B6"].value == 12  # a number, not text
    assert headline["B6"].number_format == "#,##0"
    sector = workbook["By sector"]
    rows = {row[0]: row for row in sector.iter_rows(min_row=6, values_only=True) if row[0]}
    assert rows["Manufacturing"][3] == 6  # started to date
    assert rows["Manufacturing"][5] == ".."  # 5 of 6: no percentage on a base under 25
    assert rows["Construction"][3] == "<5"
    assert sector.column_dimensions["A"].width >= len("Health and Social Work")
    quotes = [row[2] for row in workbook["Verbatims"].iter_rows(min_row=6, values_only=True)]
    assert '\'=HYPERLINK("http://x")' in quotes


def formula_cells(path: Path) -> list[str]:
    """The cells of the workbook that a spreadsheet would run as formulas."""
    workbook = load_workbook(path)
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


# Comments an employer might write (response id -> (stored, shown in the workbook)): formulas
# behind characters an xlsx file cannot hold, blanks or invisible characters, and plain text
# holding such characters.
HIDDEN_FORMULAS = {
    102: (
        '\x01=HYPERLINK("http://evil.example","click")',
        '\'=HYPERLINK("http://evil.example","click")',
    ),
    103: (' =HYPERLINK("http://evil.example")', '\' =HYPERLINK("http://evil.example")'),
    104: ("\u200b=1+1", "'\u200b=1+1"),
    105: ("\x1f\x02+SUM(1,2)", "'+SUM(1,2)"),
    107: ("\n@SUM(A1)", "'\n@SUM(A1)"),
    108: ("Welders\x07 wanted\x0b soon", "Welders wanted soon"),
    111: ("\trates", "'\trates"),
}


def test_xlsx_cells_hide_no_formula_and_hold_no_control_character(tmp_path: Path) -> None:
    tables = tables_with_comments({rid: stored for rid, (stored, _) in HIDDEN_FORMULAS.items()})
    [path] = render_report(tables, tmp_path, ("xlsx",))
    assert formula_cells(path) == []
    verbatims = load_workbook(path)["Verbatims"]
    quotes = [row[2] for row in verbatims.iter_rows(min_row=6, values_only=True)]
    # Quotes only from sectors with 5 or more responses completed this week (manufacturing,
    # responses 101-106); construction (107-110) and health (111-112) are not quoted.
    for response_id, (_, shown) in HIDDEN_FORMULAS.items():
        assert (shown in quotes) == (response_id <= 106), response_id


def test_xlsx_headers_and_notes_hide_no_formula(tmp_path: Path) -> None:
    table = Table(
        name="Odd",
        title="Odd",
        frame=pd.DataFrame({"\x01=A1": ["-1 below"], " @B2": [3]}),
        note="\x02=NOW()",
    )
    tables = tables_with_comments({})
    path = write_xlsx(replace(tables, tables=(table,)), tmp_path / "odd.xlsx")
    assert formula_cells(path) == []
    rows = list(load_workbook(path)["Odd"].iter_rows(min_row=5, values_only=True))
    assert rows == [("'=A1", "' @B2"), ("'-1 below", 3), (None, None), ("'=NOW()", None)]


@pytest.mark.parametrize(
    "name", ["weekly-2026-W10-responses-by-sector.png", "weekly-2026-W10-skills-gaps-by-sector.png"]
)
def test_charts_decode_and_are_not_blank(written: dict[str, Path], name: str) -> None:
    image = matplotlib.image.imread(written[name])
    assert image.ndim == 3
    assert image.shape[0] > 100
    assert image.shape[1] > 100
    assert float(np.var(image)) > 0


def test_html_is_one_file_with_tables_and_embedded_images(written: dict[str, Path]) -> None:
    html = written["weekly-2026-W10.html"].read_text(encoding="utf-8")
    # 17 tables with the Notes; one over 30 rows comes in collapsed parts, a table each.
    assert html.count("<table>") == 17 - html.count('<p class="parts">') + html.count("<details>")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    assert 'src="http' not in html
    assert "<link" not in html
    assert "&lt;5" in html  # suppressed cells, escaped
    assert "=HYPERLINK(&quot;http://x&quot;)" in html
    assert "Priya" not in html
    assert "Acme" not in html


def test_markdown_has_tables_and_links_the_charts(written: dict[str, Path]) -> None:
    markdown = written["weekly-2026-W10.md"].read_text(encoding="utf-8")
    assert "| Manufacturing | 6 | 5 | 6 | 5 | .. |" in markdown
    assert "| Construction | <5 | <5 | <5 | <5 | .. |"  # a percentage not shown: .. in markdown
    assert "(weekly-2026-W10-skills-gaps-by-sector.png)" in markdown


def test_formats_are_checked() -> None:
    assert parse_formats("png, MD") == ("md", "png")
    with pytest.raises(UnknownFormat, match="pdf"):
        parse_formats("md,pdf")


def test_only_requested_formats_are_written(tables: ReportTables, tmp_path: Path) -> None:
    files = render_report(tables, tmp_path, ("xlsx",))
    assert [path.name for path in files] == ["weekly-2026-W10.xlsx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weekly-2026-W10.xlsx"]
    assert isinstance(tables.heatmap, pd.DataFrame)


def _trend(sectors: int, weeks: list[str]) -> pd.DataFrame:
    values = np.arange(sectors * len(weeks), dtype="float64").reshape(sectors, len(weeks)) + 5
    return pd.DataFrame(values, index=[f"Sector {i:02d}" for i in range(sectors)], columns=weeks)


def test_the_trend_draws_at_most_8_sectors_and_an_other_panel(tables: ReportTables) -> None:
    weeks = ["2026-W08", "2026-W09", "2026-W10"]
    trend = _trend(12, weeks)
    trend.loc["Sector 00", "2026-W09"] = np.nan  # hidden that week (a small sector)
    not_given = pd.Series([7.0, 6.0, np.nan], index=weeks)  # employers who gave no sector
    total = trend.sum(axis=0) + not_given.fillna(3)
    total["2026-W10"] = np.nan
    panels = trend_panels(
        replace(tables, trend=trend, trend_total=total, trend_not_given=not_given)
    )
    assert len(panels) == MAX_SERIES  # 8 panels at most, "Other sectors" included
    assert panels.index[-1] == OTHER
    top = list(panels.index[:-1])
    assert top == [f"Sector {i:02d}" for i in range(5, 12)]  # the 7 largest, in order
    other = panels.loc[OTHER]
    rest = [s for s in trend.index if s not in top]
    # The other sectors' responses, "Not given" never among them: summed where all are
    # published, else the total less the drawn sectors and "Not given" (in W09 this
    # fixture publishes every figure but Sector 00's, so they give it away already: a
    # real report hides a complement beside it, and the difference is then hidden too).
    assert other["2026-W08"] == trend.loc[rest, "2026-W08"].sum()
    assert other["2026-W09"] == total["2026-W09"] - trend.loc[top, "2026-W09"].sum() - 6
    assert other["2026-W10"] == trend.loc[rest, "2026-W10"].sum()
    # Only where every figure it rests on is published: never a hidden one by difference.
    hidden = trend.copy()
    hidden.loc["Sector 00", "2026-W10"] = np.nan
    panels = trend_panels(
        replace(tables, trend=hidden, trend_total=total, trend_not_given=not_given)
    )
    assert np.isnan(panels.loc[OTHER, "2026-W10"])  # total and a part of the sum hidden
    unknown = trend_panels(replace(tables, trend=trend, trend_total=total))
    assert np.isnan(unknown.loc[OTHER, "2026-W09"])  # "Not given" not known: no difference
    assert trend_panels(replace(tables, trend=_trend(8, weeks))).shape[0] == 8


def test_the_heatmap_shows_only_sectors_whose_percentages_are_published(
    tables: ReportTables,
) -> None:
    sectors = [f"Sector {i:02d}" for i in range(11)]
    bases = {s: 30 + i for i, s in enumerate(sectors)}
    bases["Sector 03"] = 24  # under SKILLSBOT_MIN_PERCENT_BASE (25)
    heatmap = pd.DataFrame(0.1, index=sectors, columns=["Team working"])
    drawn, left_out = heatmap_sectors(
        replace(tables, heatmap=heatmap, heatmap_bases=bases, percent_threshold=25)
    )
    assert len(drawn) == MAX_SERIES
    assert "Sector 03" in left_out
    assert drawn == sorted(drawn)  # in the report's (ESS) order
    assert set(drawn) == {f"Sector {i:02d}" for i in range(3, 11)} - {"Sector 03"} | {"Sector 02"}


def test_html_has_a_section_per_measure_in_the_contents(tables: ReportTables) -> None:
    frame = pd.DataFrame(
        {
            "Sector": ["Manufacturing", "Total", "Manufacturing", "Total"],
            "Measure": ["SSV density"] * 2 + ["Employers with skills gaps"] * 2,
            "%": [0.3, 0.36, "..", 0.15],
        }
    )
    table = Table(
        "Measures by sector",
        "Employer Skills Survey measures by sector",
        frame,
        percent_columns=frozenset({"%"}),
        caution_cells=frozenset({(3, "%")}),
    )
    html = render_html(replace(tables, tables=(table,), complete=False), {})
    contents = html.split("</nav>", 1)[0]
    for measure in ("SSV density, by sector", "Employers with skills gaps, by sector"):
        assert f">{measure}</a>" in contents
        assert f"<h3>{measure}</h3>" in html
    assert html.count("<table>") == 2
    assert "15%*" in html  # the caution mark follows its row into the measure's own table
    assert "not over yet" in html.split("<nav>", 1)[0]


def _long_choices(sectors: int, questions: int, answers: int) -> Table:
    """A table shaped like "Answers to choice questions by sector" (audit 14, item 7: 2,385
    rows for 300 employers): question by question, every sector's answers."""
    rows = [
        {
            "Sector": f"Sector {s:02d}",
            "Question": f"How do you rate question number {q} of the interview?",
            "Answer": f"Answer {a} to question {q}",
            "Employers": 5 + a,
            "Share": 0.25,
            "Base": 40 + s,
        }
        for q in range(questions)
        for s in range(sectors)
        for a in range(answers)
    ]
    return Table(
        "Choices by sector",
        "Answers to choice questions by sector",
        pd.DataFrame(rows),
        percent_columns=frozenset({"Share"}),
        caution_cells=frozenset({(0, "Share")}),
    )


def test_a_long_html_table_comes_in_light_parts_that_open_without_script(
    tables: ReportTables,
) -> None:
    """2,400 rows: no part holds more than 200 of them, one part per sector (whose name is
    not repeated on each row, nor a question over its answers), and the page stays under
    100 bytes a row (the old page: 189); nothing needs JavaScript, and no row is lost."""
    table = _long_choices(sectors=15, questions=32, answers=5)
    html = render_html(replace(tables, tables=(table,)), {})
    assert "<script" not in html
    bodies = re.findall(r"<tbody>(.*?)</tbody>", html, flags=re.S)
    assert len(bodies) == 15
    assert max(body.count("<tr>") for body in bodies) <= 200
    assert sum(body.count("<tr>") for body in bodies) == len(table.frame)
    assert html.count("<details><summary>Sector: Sector ") == 15
    assert html.count("Sector 03") == 1  # said once, in its part's summary
    assert html.count("question number 7 of") == 15  # once per sector, over its 5 answers
    assert "25%*" in html  # the caution mark follows its row into its part
    assert len(html.encode("utf-8")) < 100 * len(table.frame)
    assert "spreadsheet has the whole table" in html

    # Over 40 questions: pages of 200 rows; a sector of over 200 rows: its pages.
    many = _long_choices(sectors=1, questions=90, answers=5)
    html = render_html(replace(tables, tables=(replace(many, frame=many.frame.iloc[:, 1:]),)), {})
    summaries = re.findall(r"<summary>(.*?)</summary>", html)
    assert summaries == [f"Rows {a} to {b} of 450" for a, b in [(1, 200), (201, 400), (401, 450)]]
    html = render_html(replace(tables, tables=(_long_choices(2, 90, 5),)), {})
    summaries = re.findall(r"<summary>(.*?)</summary>", html)
    assert summaries[:3] == [
        f"Sector: Sector 00 (rows {a} to {b} of 450 rows)"
        for a, b in [(1, 200), (201, 400), (401, 450)]
    ]
    assert len(summaries) == 6


@pytest.mark.parametrize(("complete", "said"), [(True, "yes"), (False, "no")])
def test_the_csv_says_on_every_row_whether_the_week_is_over(
    tables: ReportTables, tmp_path: Path, complete: bool, said: str
) -> None:
    path = write_csv(replace(tables, complete=complete), tmp_path / "cells.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    assert list(rows[0])[6:] == ["area", "week", "week_start", "week_end", "week_complete"]
    assert {row["week_complete"] for row in rows} == {said}


def test_trend_panels_never_print_a_hidden_count_and_name_every_sector_left_out(
    tables: ReportTables,
) -> None:
    weeks = ["2026-W08", "2026-W09", "2026-W10"]
    trend = _trend(10, weeks)
    trend.loc["Sector 09", "2026-W09"] = np.nan  # 1-4 that week: shown as <5 in tables
    trend.loc["Sector 00"] = np.nan  # hidden every week: nothing to draw
    assert panel_count(trend.loc["Sector 09"].to_numpy()) == "n hidden"  # never n=<sum>
    assert (
        panel_count(trend.loc["Sector 08"].to_numpy()) == f"n={int(trend.loc['Sector 08'].sum())}"
    )
    total = trend.sum(axis=0) + 50
    panels = trend_panels(replace(tables, trend=trend, trend_total=total))
    assert "Sector 00" not in panels.index
    note = trend_left_out_note(replace(tables, trend=trend), panels)
    left_out = [s for s in trend.index if s not in panels.index]
    assert left_out
    assert all(s in note for s in left_out)
    assert "Not given" in note
    without_other = panels.drop(index=OTHER)
    note = trend_left_out_note(replace(tables, trend=trend), without_other)
    assert OTHER not in note.split(":")[0]  # no "Other sectors" panel is promised
    assert all(s in note for s in trend.index if s not in without_other.index)


def test_a_week_not_over_says_why_more_is_hidden_in_every_output() -> None:
    """A report made early in its week hides every figure of a group grown by a few since
    the last report (audit: 5 of 6 headline figures hidden on a Monday): every output says
    so, the complete week's says nothing of it."""
    summary = survey.week_summary()
    early = report_tables(summary, 5, complete=False)
    over = report_tables(summary, 5)
    said = "grown by 1 to 4 employers since an earlier report"
    assert said in early.status_note
    assert not over.status_note
    assert said in render_markdown(early).split("## ", 1)[0]
    assert said in render_html(early, {}).split("<nav>", 1)[0]
    assert said in headline_message(early)
    notes = next(t for t in early.tables if t.name == "Notes")
    assert notes.frame["Measure"].iloc[-1] == "A week not yet over"
    for text in (render_markdown(over), render_html(over, {}), headline_message(over)):
        assert said not in text
    assert "A week not yet over" not in set(
        next(t for t in over.tables if t.name == "Notes").frame["Measure"]
    )


def test_markdown_keeps_a_quotes_html_and_links_as_words(tables: ReportTables) -> None:
    """An outside check: an approved quote `<script>…</script>` went into the Markdown as
    it was, run by a viewer that renders HTML."""
    frame = pd.DataFrame({"Quote": ["<script>alert(1)</script> & [free](http://x.example) | more"]})
    markdown = render_markdown(replace(tables, tables=(Table("Quotes", "Quotes", frame),)))
    assert "<script" not in markdown
    assert "&lt;script>alert(1)&lt;/script> & [free]\\(http://x.example) \\| more" in markdown


def test_the_headline_message_lists_every_skill_tied_with_the_fifth(
    tables: ReportTables,
) -> None:
    """An outside check: the message's top 5 showed one of two skills ranked 5th."""
    frame = pd.DataFrame(
        {
            "Rank": [1, 2, 3, 4, 5, 5, 7],
            "Skill lacking": [f"Skill {n}" for n in "ABCDEFG"],
            "Employers": [9, 8, 7, 6, 5, 5, 4],
            "Share": [0.3, 0.25, 0.2, 0.18, 0.15, 0.15, 0.1],
            "Base": [30] * 7,
        }
    )
    top = Table(
        "Applicant skills",
        "Skills lacking among applicants",
        frame,
        percent_columns=frozenset({"Share"}),
    )
    others = tuple(t for t in tables.tables if t.name != "Applicant skills")
    message = headline_message(replace(tables, tables=(*others, top)))
    assert "5. Skill E (15%)" in message
    assert "5. Skill F (15%)" in message
    assert "Skill G" not in message
