"""The weekly report as Markdown."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from analytics.disclosure import is_suppressed
from analytics.tables import ReportTables, Table


def cell_text(table: Table, column: str, value: object, row: int = -1) -> str:
    """A cell as people read it: percentages (* = treat with caution), one decimal, markers."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if is_suppressed(value) or isinstance(value, str):
        return str(value)
    if table.is_percent(row, column):
        caution = "*" if table.is_caution(row, column) else ""
        return f"{float(value):.0%}{caution}"  # type: ignore[arg-type]
    if column in table.decimal_columns:
        return f"{float(value):.1f}"  # type: ignore[arg-type]
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def _escape(text: str) -> str:
    """A cell's text, kept as text by any Markdown viewer: no table break, no HTML (an
    approved quote `<script>…` stays words), no link."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    text = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)  # a tag's start; `<5` stays
    return text.replace("](", "]\\(")


def markdown_table(table: Table) -> str:
    """One table in Markdown (pipe) syntax."""
    columns = [str(c) for c in table.frame.columns]
    lines = [
        "| " + " | ".join(_escape(c) for c in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for index, row in enumerate(table.frame.itertuples(index=False)):
        cells = [_escape(cell_text(table, c, v, index)) for c, v in zip(columns, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    if table.frame.empty:
        lines.append("| " + " | ".join("" for _ in columns) + " |")
    return "\n".join(lines)


def render_markdown(tables: ReportTables, charts: Mapping[str, str] | None = None) -> str:
    """The whole report; `charts` maps a chart's title to its PNG file name to link."""
    parts = [f"# Weekly skills summary: {tables.heading}", ""]
    if tables.status_note:
        parts += [f"**{tables.status_note}**", ""]
    parts.append(f"Weeks run Monday to Sunday, {tables.week.zone.key} time.")
    for table in tables.tables:
        parts += ["", f"## {table.title}", ""]
        if table.base_definition:
            parts += [table.base_definition, ""]
        if table.note:
            parts += [f"_{table.note}_", ""]
        parts.append(markdown_table(table))
    if charts:
        parts += ["", "## Charts", ""]
        parts += [f"![{title}]({name})" for title, name in charts.items()]
    return "\n".join(parts) + "\n"
