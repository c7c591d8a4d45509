"""Structured, readable logs without personal data.

Lines are `key=value` pairs. What people typed, their names, usernames and the bot token
never reach a log: an update is logged by its id, its kind, the employer's internal id,
the outcome and the time it took. Plain values only: no Telegram library is imported here.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("skillsbot.updates")


@dataclass(slots=True)
class UpdateLog:
    """What one update's handling did, filled in by the handlers, logged once at the end."""

    update_id: int
    kind: str
    employer_id: int | None = None
    outcome: str = "ignored"
    started: float = field(default_factory=time.perf_counter)

    def line(self) -> str:
        """The log line: `update=1 kind=message employer=3 outcome=answered ms=12`."""
        elapsed = (time.perf_counter() - self.started) * 1000
        employer = self.employer_id if self.employer_id is not None else "-"
        return (
            f"update={self.update_id} kind={self.kind} employer={employer} "
            f"outcome={self.outcome} ms={elapsed:.0f}"
        )


def update_kind(raw: dict[str, Any]) -> str:
    """A short name for what an update carries (never its content), read from its JSON
    (no Telegram library: both transports log with it)."""
    message = raw.get("message")
    if isinstance(message, dict):
        text = message.get("text")
        if isinstance(text, str):
            return "command" if text.startswith("/") else "text"
        kinds = [key for key in message if key in _CONTENT_KINDS]
        return kinds[0] if kinds else "unknown"
    if "callback_query" in raw:
        return "button"
    if "my_chat_member" in raw:
        return "chat_member"
    kinds = [key for key in raw if key != "update_id"]
    return kinds[0] if kinds else "unknown"


# Message fields that name what a message carries (aiogram's content types).
_CONTENT_KINDS = frozenset(
    {
        "photo",
        "document",
        "sticker",
        "voice",
        "video",
        "video_note",
        "audio",
        "animation",
        "contact",
        "location",
        "venue",
        "poll",
        "dice",
    }
)


def configure_logging(level: str = "INFO") -> None:
    """Log `key=value` lines to stderr; keep aiogram's per-update chatter out."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every update itself ("Update id=... is handled") and, on errors, the
    # exception text, which may quote what a person sent: ours is the one line per update.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("aiogram.dispatcher").setLevel(logging.WARNING)
    # httpx (python-telegram-bot's client) logs every request's URL, which holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
