"""Plain text tables for the terminal and for chats, and the one function that makes a cell
safe to show in them.

Cells come from spreadsheets and chats (organisation names, notes, audit details): a
newline in one forges a row of the table, and an escape sequence (`\\x1b]0;...\\x07`) is run
by the terminal it reaches (retitling it, or worse). `clean_cell` is used for every cell of
every table, `text_table` (the command line: `employers list`, `staff list|audit`,
`round list`, `broadcast list`) and the chat's `/list` alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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
