"""The weekly report as one self-contained HTML file: tables, and charts as base64 PNGs."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape

from analytics.render_markdown import cell_text
from analytics.tables import ReportTables, Table

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 75rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
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
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(tables: ReportTables, charts: Mapping[str, bytes]) -> str:
    """The whole report; `charts` maps a chart's title to its PNG bytes (embedded)."""
    title = f"Weekly skills summary: {tables.week.label}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Monday {escape(tables.week.monday.strftime('%d %B %Y'))} to Sunday, "
        "Europe/London time.</p>",
    ]
    for chart_title, png in charts.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<h2>{escape(chart_title)}</h2>")
        parts.append(f'<img alt="{escape(chart_title)}" src="data:image/png;base64,{data}">')
    for table in tables.tables:
        parts.append(f"<h2>{escape(table.title)}</h2>")
        if table.note:
            parts.append(f'<p class="note">{escape(table.note)}</p>')
        parts.append(html_table(table))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
