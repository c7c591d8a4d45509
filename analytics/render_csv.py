"""The weekly report as one tidy CSV: every published cell, for analysts' own dashboards.

Columns `table,row,column,value,base,status`, then
`area,week,week_start,week_end,week_complete` (the LSIP area, the ISO week, its first
and last days as ISO dates, and `yes` or `no`: `no` for a week not yet over, its figures
so far) on every row, so that a file read on its own still says what it is about.
`status` is `shown`, `suppressed`, `caution` (a percentage on a base under the caution
threshold, default 50) or `not_asked`; value and base are empty where the cell is hidden
(the base stays for `not_asked`: it is 0). Rows and columns that are the sum of the others
are labelled `Total`. Percentages are fractions (0.25 = 25%). Text cells are made safe for
spreadsheets (no formula).
"""

from __future__ import annotations

import csv
from pathlib import Path

from analytics.spreadsheet_text import neutralise
from analytics.tables import ReportTables

COLUMNS = (
    "table",
    "row",
    "column",
    "value",
    "base",
    "status",
    "area",
    "week",
    "week_start",
    "week_end",
    "week_complete",
)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def write_csv(tables: ReportTables, path: Path) -> Path:
    """Write every published cell of the report to `path` and return it."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        about = [
            neutralise(tables.area),
            tables.week.label,
            tables.first_day.isoformat(),
            tables.last_day.isoformat(),
            "yes" if tables.complete else "no",
        ]
        for cell in tables.cells:
            writer.writerow(
                [
                    neutralise(cell.table),
                    neutralise(cell.row),
                    neutralise(cell.column),
                    _number(cell.value),
                    _number(cell.base),
                    cell.status,
                    *about,
                ]
            )
    return path
