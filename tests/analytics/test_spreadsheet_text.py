"""Text fit for a spreadsheet cell: no control character an xlsx file cannot hold, no formula."""

from __future__ import annotations

import pytest

from analytics.spreadsheet_text import neutralise


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+44 1223", "'+44 1223"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        (" =1+1", "' =1+1"),
        ("\n\u00a0-2", "'\n\u00a0-2"),
        ("\u200b\u2060@A1", "'\u200b\u2060@A1"),
        # Removed first, so that they cannot hide a formula.
        ("\x01=1+1", "'=1+1"),
        ("\x0c\x1f x=1", " x=1"),
        ("plain", "plain"),
        ("fine = good", "fine = good"),
        ("", ""),
    ],
)
def test_text_is_neutralised(text: str, safe: str) -> None:
    assert neutralise(text) == safe
