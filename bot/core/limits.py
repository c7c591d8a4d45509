"""Telegram's limits: lengths (and length as Telegram counts it), user ids.

Telegram counts characters in UTF-16 code units: an emoji such as 😀 is two, so 2,000 of
them are 4,000 units. Every length checked against one of its limits is `telegram_length`,
never `len`. No imports beyond the standard library, so that the command line can use it
without loading aiogram.
"""

from __future__ import annotations

MAX_MESSAGE_CHARS = 4096  # message text
MAX_CALLBACK_ANSWER = 200  # the notice answering a button press
# Telegram's user ids are positive and have at most 52 significant bits.
MAX_TELEGRAM_USER_ID = 2**52 - 1


def telegram_length(text: str) -> int:
    """The length of a text as Telegram counts it for its limits: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
