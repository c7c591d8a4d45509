"""Typed text as people send it: control characters out, invisible-only text seen as empty.

A person's message can hold characters nobody can see. Control characters (NUL above
all, which PostgreSQL refuses in text columns) carry nothing a reader wants, so they are
removed before an answer is kept. Text made only of invisible characters (spaces, the
zero-width space, joiners, direction marks, fillers such as U+3164) would look like a
blank answer on every list and report, so it counts as empty. Visible text keeps its
invisible characters: a joiner inside an emoji (👨‍👩‍👧) or the tags of a flag (🏴󠁧󠁢󠁥󠁮󠁧󠁿) are
part of what the person wrote.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls but tab and line feed, DEL and the C1 controls; a carriage return becomes a
# line feed first.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Categories that never show on their own: controls, format characters (zero-width
# space/joiners, direction marks, BOM, tags), separators, unassigned and private use code
# points and surrogates, and combining marks (they only change a character before them).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
# Letters drawn as blank space although Unicode files them as visible: the Hangul fillers,
# the Braille blank and the Khmer inherent vowels.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")


def clean_text(text: str) -> str:
    """The text without control characters (tab and line breaks kept), surrounding
    whitespace stripped."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def is_visible(char: str) -> bool:
    """Whether one character shows as something on screen."""
    return char not in _BLANK_GLYPHS and unicodedata.category(char) not in _INVISIBLE_CATEGORIES


def has_visible_text(text: str) -> bool:
    """Whether the text shows anything at all (not only spaces and invisible characters)."""
    return any(is_visible(char) for char in text)


def typed_text(text: str) -> str:
    """A typed answer as it is kept: `clean_text`, and "" when nothing in it is visible."""
    cleaned = clean_text(text)
    return cleaned if has_visible_text(cleaned) else ""
