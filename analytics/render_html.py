"""The weekly report as one self-contained HTML file: tables, and charts as base64 PNGs."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from html import escape

import pandas as pd

from analytics.disclosure import is_suppressed
from analytics.render_markdown import cell_text
from analytics.tables import ReportTables, Table

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem; color: #222; max-width: 75rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
nav ol { padding-left: 1.2rem; } nav li { margin: 0.2rem 0; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; } h3 { font-size: 1.1rem; }
@media (max-width: 40rem) {
  body { margin: 0.5rem; } table { font-size: 0.8rem; }
  h1 { font-size: 1.25rem; } h2 { font-size: 1.1rem; } h3 { font-size: 1rem; }
}
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; vertical-align: top; }
thead th { background: #ddebf7; position: sticky; top: 0; text-align: left; }
tbody th { font-weight: normal; text-align: left; }
td { text-align: right; } td.t { text-align: left; }
.note { color: #555; font-style: italic; } .note > summary { font-style: normal; }
img { max-width: 100%; }
details { margin: 0.25rem 0; }
summary { cursor: pointer; padding: 0.4rem 0; }
details[open] > summary { font-weight: bold; }
"""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _is_word(value: object) -> bool:
    return isinstance(value, str) and not is_suppressed(value) and value != "n/a"


def _kinds(frame: pd.DataFrame) -> list[str]:
    """Per column: "th" for the leading label columns (row headers, left), "t" for a later
    column of words (left), "" for figures and their markers (right-aligned)."""
    kinds: list[str] = []
    for column in frame.columns:
        values = list(frame[column])
        words = not any(map(_is_number, values)) and any(map(_is_word, values))
        leading = all(kind == "th" for kind in kinds)
        kinds.append(("th" if leading else "t") if words else "")
    return kinds


def _cell(kind: str, text: str, span: int = 1) -> str:
    rowspan = f' rowspan="{span}"' if span > 1 else ""
    if kind == "th":
        return f"<th{rowspan}>{text}</th>"
    css = ' class="t"' if kind == "t" else ""
    return f"<td{css}{rowspan}>{text}</td>"


@dataclass(frozen=True, slots=True)
class _Layout:
    """What every part of one table shares: its columns' kinds (`_kinds`) and its rows."""

    kinds: list[str]
    records: list[tuple[object, ...]]


def _layout(frame: pd.DataFrame) -> _Layout:
    return _Layout(_kinds(frame), [tuple(r) for r in frame.itertuples(index=False)])


def html_table(
    table: Table,
    rows: list[int] | None = None,
    *,
    merge_first: bool = False,
    layout: _Layout | None = None,
) -> str:
    """One table as escaped HTML: all its rows, or those at `rows` (positions in the frame,
    which the caution marks and percentages are looked up by). Label columns are row
    headers; figures are right-aligned with no markup of their own (the page stays light).
    With `merge_first`, runs of one text in the first column are one cell (rowspan): a
    question over its answers. `layout`: the table's `_layout`, when several parts of it
    are drawn."""
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    layout = layout or _layout(frame)
    kinds, records = layout.kinds, layout.records
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    positions = list(range(len(frame))) if rows is None else rows
    lines = []
    for number, index in enumerate(positions):
        record = records[index]
        texts = [
            escape(cell_text(table, column, value, index))
            for column, value in zip(columns, record, strict=True)
        ]
        spans = [1] * len(texts)
        skip = 0
        if merge_first and columns:
            if number and records[positions[number - 1]][0] == record[0]:
                skip = 1  # inside the run started above
            else:
                while (
                    number + spans[0] < len(positions)
                    and records[positions[number + spans[0]]][0] == record[0]
                ):
                    spans[0] += 1
        cells = [
            _cell(kind, text, span)
            for kind, text, span in list(zip(kinds, texts, spans, strict=True))[skip:]
        ]
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table></div>"
    )


_LONG = 30  # tables longer than this are collapsed (tap to open)
_PAGE = 200  # rows at most in one collapsed part of a long table
_GROUPS = 40  # a long table is split by its first column if that has 2 to 40 values


def _pages(rows: list[int]) -> list[list[int]]:
    return [rows[start : start + _PAGE] for start in range(0, len(rows), _PAGE)]


def _long_table(table: Table) -> str:
    """A long table in collapsed parts that open one at a time, with no script: one part
    per value of its first column (a sector, a question) where it has 2 to 40 of them, in
    their order, the column dropped from each part's table and runs of the next column
    merged; otherwise, and for a part over _PAGE rows, pages of _PAGE rows."""
    frame = table.frame
    first = frame.columns[0]
    labels = [str(v) for v in frame[first]]
    groups: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        groups.setdefault(label, []).append(position)
    total = len(frame)
    if not 2 <= len(groups) <= _GROUPS:
        layout = _layout(frame)
        parts = []
        for rows in _pages(list(range(total))):
            summary = f"Rows {rows[0] + 1:,} to {rows[-1] + 1:,} of {total:,}"
            body = html_table(table, rows, layout=layout)
            parts.append(f"<details><summary>{summary}</summary>{body}</details>")
        return "".join(parts)
    inner = replace(table, frame=frame.drop(columns=first))
    inner_layout = _layout(inner.frame)
    merge = (
        len(inner.frame.columns) > 1
        and inner.frame[inner.frame.columns[0]].map(lambda v: isinstance(v, str)).all()
    )
    parts = []
    for label, rows in groups.items():
        pages = _pages(rows)
        for number, page in enumerate(pages):
            name = f"{first}: {label}"
            count = f"{len(rows):,} rows"
            if len(pages) > 1:
                count = f"rows {number * _PAGE + 1:,} to {number * _PAGE + len(page):,} of {count}"
            body = html_table(inner, page, merge_first=bool(merge), layout=inner_layout)
            parts.append(f"<details><summary>{escape(name)} ({count})</summary>{body}</details>")
    return "".join(parts)


def _anchor(index: int) -> str:
    return f"s{index}"


def _by_measure(table: Table) -> list[Table]:
    """A table of several ESS measures as one table per measure (each its own section)."""
    if "Measure" not in table.frame.columns or not table.name.startswith("Measures by "):
        return []
    parts = []
    for measure, rows in table.frame.groupby("Measure", sort=False):
        positions = {old: new for new, old in enumerate(rows.index)}
        parts.append(
            replace(
                table,
                name=f"{measure} {table.name}",
                title=f"{measure}, {table.name.removeprefix('Measures ')}",
                frame=rows.drop(columns="Measure").reset_index(drop=True),
                caution_cells=frozenset(
                    (positions[r], c) for r, c in table.caution_cells if r in positions
                ),
                percent_cells=frozenset(
                    (positions[r], c) for r, c in table.percent_cells if r in positions
                ),
            )
        )
    return parts


def _section(anchor: str, title: str, body: list[str]) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>' + "".join(body) + "</section>"


def _table_body(table: Table) -> list[str]:
    parts = []
    if table.base_definition:
        parts.append(f"<p>{escape(table.base_definition)}</p>")
    if table.note:
        # The same long note sits on most tables: one line on a phone until opened.
        parts.append(
            '<details class="note"><summary>What the marks mean (hidden figures, caution)'
            f"</summary><p>{escape(table.note)}</p></details>"
        )
    rows = len(table.frame)
    if rows <= _LONG:
        parts.append(html_table(table))
    else:
        parts.append(
            f'<p class="parts">{rows:,} rows, in parts (tap one to open it); the '
            "spreadsheet has the whole table on one sheet.</p>"
        )
        parts.append(_long_table(table))
    return parts


def render_html(tables: ReportTables, charts: Mapping[str, bytes]) -> str:
    """The whole report; `charts` maps a chart's title to its PNG bytes (embedded).

    A contents list, then the headline figures, the charts, and one section per table and
    per ESS measure (a table of several measures becomes a section with one sub-section
    each); a table over 30 rows comes in collapsed parts (`_long_table`: one per sector or
    question, pages of 200 rows at most), which open without any script; tables scroll
    sideways on a phone, not squeezed.
    """
    title = f"Weekly skills summary: {tables.heading}"
    contents: list[str] = []
    sections: list[str] = []
    pending = dict(charts)  # drawn right after the headline figures (the first table)
    for position, table in enumerate([*tables.tables, None]):
        if position >= 1:
            for name, png in pending.items():
                anchor = _anchor(len(contents))
                contents.append(f'<li><a href="#{anchor}">{escape(name)}</a></li>')
                data = base64.b64encode(png).decode("ascii")
                image = f'<img alt="{escape(name)}" src="data:image/png;base64,{data}">'
                sections.append(_section(anchor, name, [image]))
            pending = {}
        if table is None:
            break
        anchor = _anchor(len(contents))
        measures = _by_measure(table)
        if not measures:
            contents.append(f'<li><a href="#{anchor}">{escape(table.title)}</a></li>')
            sections.append(_section(anchor, table.title, _table_body(table)))
            continue
        items, parts = [], []
        for number, measure in enumerate(measures):
            sub = f"{anchor}m{number}"
            items.append(f'<li><a href="#{sub}">{escape(measure.title)}</a></li>')
            parts.append(
                f'<section id="{sub}"><h3>{escape(measure.title)}</h3>'
                + "".join(_table_body(measure))
                + "</section>"
            )
        contents.append(
            f'<li><a href="#{anchor}">{escape(table.title)}</a><ol>{"".join(items)}</ol></li>'
        )
        sections.append(_section(anchor, table.title, parts))
    status = f"<p><strong>{escape(tables.status_note)}</strong></p>" if tables.status_note else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        status,
        f"<p>Weeks run Monday to Sunday, {escape(tables.week.zone.key)} time.</p>",
        "<nav><h2>Contents</h2><ol>",
        *contents,
        "</ol></nav>",
        *sections,
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"
