"""aiogram filters checked on the event loop.

aiogram runs every filter that is not a coroutine on a thread (`asyncio.to_thread`), magic
filters (`F.chat.type == "private"`) included: a thread round trip per filter per update,
for a check that takes a microsecond. The routers' magic filters go through `Inline`.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.utils.magic_filter import MagicFilter


class Inline(Filter):
    """A magic filter resolved right here, as aiogram would have on a thread: its value is
    the check's outcome (a dict is passed on to the handler, anything false fails)."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: Any) -> Any:
        """The magic filter's value for this event."""
        return self.magic.resolve(event)
