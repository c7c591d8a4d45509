"""Plain text tables for the terminal and for chats, and the one function that makes a cell
safe to show in them.

Cells come from spreadsheets and chats (organisation names, notes, audit details): a
newline in one forges a row of the table, and an escape sequence (`\\x1b]0;...\\x07`) is run
by the terminal it reaches (retitling it, or worse). `clean_cell` is used for every cell of
every table, `text_table` (the command line: `employers list`, `staff list|audit`,
`round list`, `broadcast list`) and the chat's `/list` alike. `xlsx_table` writes a table
as a spreadsheet (the chat's `/list` sends one), every text cell made harmless there too.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence

from analytics.spreadsheet_text import neutralise

# Line breaks and tabs read as a space; every other control character shows as U+FFFD.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
# Explicit bidirectional formatting characters, which reorder what follows them on screen
# ("Trojan Source"): a name could appear to sit in another column.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
REPLACEMENT = "\ufffd"


def clean_cell(value: object) -> str:
    """``value`` as one line of printable text: line breaks and tabs become a space, other
    control characters (C0, DEL, C1, so ESC and CSI too) and bidirectional overrides become
    U+FFFD, so that nothing can start a row or reach the terminal as a command. Other text
    (accents, emoji with their joiners, other scripts) is kept as it is."""
    text = "" if value is None else str(value)
    if text.isprintable():  # the usual case, at C speed
        return text
    text = _BREAKS.sub(" ", text)
    return "".join(
        REPLACEMENT if unicodedata.category(c) == "Cc" or c in _BIDI else c for c in text
    )


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table with columns padded to their widest cell; every cell cleaned."""
    lines = [[clean_cell(cell) for cell in line] for line in [headers, *rows]]
    widths = [max(len(line[index]) for line in lines) for index in range(len(headers))]
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def xlsx_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "List"
) -> bytes:
    """One sheet as an XLSX file: bold frozen headers with an autofilter, columns sized to
    their contents; numbers stay numbers, and every text cell is `clean_cell`-ed and then
    `neutralise`-d (a name such as ``=HYPERLINK(...)`` is text, never a formula)."""
    # Imported here: openpyxl is heavy, and the bot loads it only when staff ask for a list.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)  # streamed: several times quicker for long lists
    sheet = workbook.create_sheet(neutralise(clean_cell(title))[:31] or "List")
    for index, header in enumerate(headers, start=1):
        widest = max([len(str(header)), *(len(str(row[index - 1] or "")) for row in rows)])
        sheet.column_dimensions[get_column_letter(index)].width = min(widest + 2, 60)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    bold = Font(bold=True)
    heading = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=neutralise(clean_cell(header)))
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return neutralise(clean_cell(value))
