"""Text fit for a spreadsheet cell, for every file we write that Excel, LibreOffice or Sheets
may open: the responses export, the weekly report's workbook and the invite list.

A string loses the control characters an xlsx file cannot hold and is then, if a spreadsheet
would run it as a formula, neutralised with a leading single quote: in that order, so that no
character removed for the file can hide a formula.

This module imports neither pandas nor openpyxl: the bot's processes write the invite list
with it and must never load the analysts' libraries (see tests/bot/test_imports.py).
"""

from __future__ import annotations

import re
import unicodedata

# Cells starting with these are formulas (or become them) in Excel, LibreOffice and Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Control characters that XML, and so an xlsx file, cannot hold (openpyxl refuses them).
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet might run the text as a formula: it starts with one of
    `FORMULA_PREFIXES`, or with = + - @ after blanks and invisible characters (which a
    spreadsheet, or whoever copies the cell, may drop)."""
    if text.startswith(FORMULA_PREFIXES):
        return True
    for char in text:
        if char in "=+-@":
            return True
        if not (char.isspace() or unicodedata.category(char) in {"Cc", "Cf"}):
            return False
    return False


def neutralise(text: str) -> str:
    """The text without the control characters an xlsx file cannot hold, then prefixed with
    a single quote if it is `formula_like`."""
    text = ILLEGAL_CHARACTERS.sub("", text)
    return "'" + text if formula_like(text) else text
