"""The bot's Telegram handlers: one Router per feature, wired together in `bot.app`.

Handlers only turn an update into a call on `Interviewer` (which runs the engine inside
one transaction) and note the outcome for the update's log line.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers import answers, commands, fallbacks, start


def interview_routers() -> list[Router]:
    """Every router, in the order they must be tried (fallbacks last)."""
    return [start.router(), commands.router(), answers.router(), fallbacks.router()]
