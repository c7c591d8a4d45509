"""The weekly report as an XLSX workbook: one formatted sheet per table.

Headers are bold and frozen, columns sized to their contents, shares formatted as
percentages. Every text cell, headers and notes included, is made fit for a spreadsheet by
`analytics.spreadsheet_text.neutralise`: no control character openpyxl refuses, no formula.
"""

from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analytics.spreadsheet_text import neutralise
from analytics.tables import ReportTables, Table

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_MAX_WIDTH = 60


def _cell_value(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return neutralise(str(value))


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(c for c in name if c not in "[]:*?/\\")[:31] or "Sheet"
    candidate, number = base, 2
    while candidate in used:
        suffix = f" {number}"
        candidate = base[: 31 - len(suffix)] + suffix
        number += 1
    used.add(candidate)
    return candidate


def write_xlsx(tables: ReportTables, path: Path) -> Path:
    """Write the workbook to `path` and return it."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for table in tables.tables:
        _write_sheet(workbook, table, _sheet_name(table.name, used))
    workbook.save(path)
    return path


def _write_sheet(workbook: Workbook, table: Table, name: str) -> None:
    sheet = workbook.create_sheet(name)
    columns = [str(c) for c in table.frame.columns]
    sheet.append([neutralise(c) for c in columns])
    widths = [len(c) for c in columns]
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table.frame.itertuples(index=False):
        values = [_cell_value(v) for v in row]
        sheet.append(values)
        for index, value in enumerate(values):
            widths[index] = max(widths[index], len(str(value)) if value is not None else 0)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        number_format = (
            "0%"
            if column in table.percent_columns
            else "0.0"
            if column in table.decimal_columns
            else None
        )
        if number_format is not None:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, int | float):
                    cell.number_format = number_format
        sheet.column_dimensions[letter].width = min(_MAX_WIDTH, max(8, widths[index - 1] + 2))
    sheet.freeze_panes = "A2"
    if table.note:
        sheet.append([])
        sheet.append([neutralise(table.note)])
