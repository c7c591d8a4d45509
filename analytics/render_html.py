"""The weekly report as one self-contained HTML file: tables, and charts as base64 PNGs."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import replace
from html import escape

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
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #ddebf7; position: sticky; top: 0; }
td.num { text-align: right; }
.note { color: #555; font-style: italic; }
img { max-width: 100%; }
"""


def html_table(table: Table) -> str:
    """One table as escaped HTML."""
    columns = [str(c) for c in table.frame.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = []
    for index, row in enumerate(table.frame.itertuples(index=False)):
        cells = []
        for column, value in zip(columns, row, strict=True):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{escape(cell_text(table, column, value, index))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


_LONG = 30  # tables longer than this are collapsed (tap to open)


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
        parts.append(f'<p class="note">{escape(table.note)}</p>')
    body = html_table(table)
    if len(table.frame) > _LONG:
        body = f"<details><summary>Show all {len(table.frame)} rows</summary>{body}</details>"
    parts.append(body)
    return parts


def render_html(tables: ReportTables, charts: Mapping[str, bytes]) -> str:
    """The whole report; `charts` maps a chart's title to its PNG bytes (embedded).

    A contents list, then the headline figures, the charts, and one section per table and
    per ESS measure (a table of several measures becomes a section with one sub-section
    each); long tables are collapsed; tables scroll sideways on a phone, not squeezed.
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
    status = (
        ""
        if tables.complete
        else "<p><strong>This week is not over yet: figures so far.</strong></p>"
    )
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
