"""The weekly report as one self-contained HTML file: tables, and charts as base64 PNGs."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape

from analytics.render_markdown import cell_text
from analytics.tables import ReportTables, Table

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem; color: #222; max-width: 75rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
nav ol { padding-left: 1.2rem; } nav li { margin: 0.2rem 0; }
@media (max-width: 40rem) { body { margin: 0.5rem; } table { font-size: 0.8rem; } }
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


def render_html(tables: ReportTables, charts: Mapping[str, bytes]) -> str:
    """The whole report; `charts` maps a chart's title to its PNG bytes (embedded).

    A contents list, then one section per chart and per table (each measure has its own);
    long tables are collapsed; tables scroll sideways on a phone rather than squeeze.
    """
    title = f"Weekly skills summary: {tables.heading}"
    sections = [(chart_title, None) for chart_title in charts] + [
        (table.title, table) for table in tables.tables
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        "<p>Weeks run Monday to Sunday, Europe/London time.</p>",
        "<nav><h2>Contents</h2><ol>",
        *(
            f'<li><a href="#{_anchor(i)}">{escape(name)}</a></li>'
            for i, (name, _) in enumerate(sections)
        ),
        "</ol></nav>",
    ]
    for index, (name, table) in enumerate(sections):
        parts.append(f'<section id="{_anchor(index)}"><h2>{escape(name)}</h2>')
        if table is None:
            data = base64.b64encode(charts[name]).decode("ascii")
            parts.append(f'<img alt="{escape(name)}" src="data:image/png;base64,{data}">')
        else:
            if table.base_definition:
                parts.append(f"<p>{escape(table.base_definition)}</p>")
            if table.note:
                parts.append(f'<p class="note">{escape(table.note)}</p>')
            body = html_table(table)
            if len(table.frame) > _LONG:
                body = (
                    f"<details><summary>Show all {len(table.frame)} rows</summary>{body}</details>"
                )
            parts.append(body)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
