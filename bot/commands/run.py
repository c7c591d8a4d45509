"""`skillsbot run`: start the bot."""

from __future__ import annotations


def run() -> None:
    """Start the bot with long polling."""
    raise SystemExit("not built yet")
