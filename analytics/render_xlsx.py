"""The weekly report as an XLSX workbook: one formatted sheet per table.

Every sheet opens with a title block (the table, the LSIP area and the week with its
dates, the base definition); then bold, frozen headers with an autofilter, columns sized
to their contents, numbers stored as numbers: shares with a percentage format (`0%`, and
`0%*` for "treat with caution"), means with one decimal. Every text cell, headers and
notes included, is made fit for a spreadsheet by `analytics.spreadsheet_text.neutralise`:
no control character openpyxl refuses, no formula.
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


HEADER_ROW = 5  # rows 1-3: the title block; row 4 blank


def write_xlsx(tables: ReportTables, path: Path) -> Path:
    """Write the workbook to `path` and return it."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for table in tables.tables:
        _write_sheet(workbook, table, _sheet_name(table.name, used), tables.heading)
    workbook.save(path)
    return path


def _write_sheet(workbook: Workbook, table: Table, name: str, heading: str = "") -> None:
    sheet = workbook.create_sheet(name)
    sheet.append([neutralise(table.title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([neutralise(heading)])
    sheet.append([neutralise(table.base_definition)])
    sheet.append([])
    columns = [str(c) for c in table.frame.columns]
    sheet.append([neutralise(c) for c in columns])
    widths = [len(c) for c in columns]
    for cell in sheet[HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for position, row in enumerate(table.frame.itertuples(index=False)):
        values = [_cell_value(v) for v in row]
        sheet.append(values)
        row_number = HEADER_ROW + 1 + position  # not sheet.max_row: that walks every cell
        for index, value in enumerate(values):
            widths[index] = max(widths[index], len(str(value)) if value is not None else 0)
            cell = sheet.cell(row=row_number, column=index + 1)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if table.is_percent(position, columns[index]):
                caution = table.is_caution(position, columns[index])
                cell.number_format = '0%"*"' if caution else "0%"
            elif columns[index] in table.decimal_columns:
                cell.number_format = "0.0"
            elif isinstance(value, int) or float(value).is_integer():
                cell.number_format = "#,##0"
    for index in range(1, len(columns) + 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(_MAX_WIDTH, max(8, widths[index - 1] + 2))
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    if columns and len(table.frame) > 1:
        last = get_column_letter(len(columns))
        sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + len(table.frame)}"
    if table.note:
        sheet.append([])
        sheet.append([neutralise(table.note)])
