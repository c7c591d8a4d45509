"""The Telegram libraries, each behind a thin adapter over `bot.core`.

`aiogram/` (the default) and `ptb/` (python-telegram-bot) each turn an update's JSON into
core calls and the core's replies into Bot API calls. `SKILLSBOT_TELEGRAM_LIBRARY` picks one.
"""

from __future__ import annotations

from typing import Any, Protocol

LIBRARIES = ("aiogram", "ptb")
DEFAULT_LIBRARY = "aiogram"


class Transport(Protocol):
    """What the inbox worker hands each update to (`EmployerBot.handle`)."""

    async def handle(self, raw: dict[str, Any]) -> None:
        """Parse one update's JSON, run it through the core, send what it says."""

    async def aclose(self) -> None:
        """Let go of the library's connections."""
