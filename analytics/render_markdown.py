"""The weekly report as Markdown."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analytics.disclosure import is_suppressed
from analytics.tables import ReportTables, Table


def cell_text(table: Table, column: str, value: object) -> str:
    """A cell as people read it: percentages, one decimal, markers kept as they are."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if is_suppressed(value):
        return str(value)
    if column in table.percent_columns:
        return f"{float(value):.0%}"  # type: ignore[arg-type]
    if column in table.decimal_columns:
        return f"{float(value):.1f}"  # type: ignore[arg-type]
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table) -> str:
    """One table in Markdown (pipe) syntax."""
    columns = [str(c) for c in table.frame.columns]
    lines = [
        "| " + " | ".join(_escape(c) for c in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in table.frame.itertuples(index=False):
        cells = [_escape(cell_text(table, c, v)) for c, v in zip(columns, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    if table.frame.empty:
        lines.append("| " + " | ".join("" for _ in columns) + " |")
    return "\n".join(lines)


def render_markdown(tables: ReportTables, charts: Mapping[str, str] | None = None) -> str:
    """The whole report; `charts` maps a chart's title to its PNG file name to link."""
    parts = [f"# Weekly skills summary: {tables.week.label}", ""]
    start = tables.week.monday.strftime("%d %B %Y")
    parts.append(f"Monday {start} to Sunday, Europe/London time.")
    for table in tables.tables:
        parts += ["", f"## {table.title}", ""]
        if table.note:
            parts += [f"_{table.note}_", ""]
        parts.append(markdown_table(table))
    if charts:
        parts += ["", "## Charts", ""]
        parts += [f"![{title}]({name})" for title, name in charts.items()]
    return "\n".join(parts) + "\n"
