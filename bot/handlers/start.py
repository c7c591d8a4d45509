"""/start [payload]: greet and begin, or carry on where the employer stopped."""

from __future__ import annotations

import logging
import re

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message, Update

from bot.handlers.context import note, who_sent
from bot.handlers.interviewer import Interviewer
from bot.logs import UpdateLog

logger = logging.getLogger("skillsbot.handlers")

# Deep-link payloads: a personal invite's token, or a campaign or event, e.g. "c-ely-fair".
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def start_payload(args: str | None) -> str | None:
    """The deep-link payload (None if absent or invalid); the interviewer decides what it
    is (`bot.invites.take_start_payload`)."""
    if not args:
        return None
    payload = args.strip()
    return payload if PAYLOAD.fullmatch(payload) else None


async def on_start(
    message: Message,
    command: CommandObject,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """Begin, resume, or offer the submitted answers."""
    who = who_sent(message, event_update)
    if who is None:
        return
    payload = start_payload(command.args)
    if command.args and payload is None:
        logger.warning("event=bad_start_payload update=%s", who.update_id)
    note(update_log, await interviewer.start(who, payload))


def router() -> Router:
    """A new router with this feature's handlers (one per Dispatcher)."""
    feature = Router(name="start")
    feature.message.filter(F.chat.type == "private")
    feature.message.register(on_start, CommandStart())
    return feature
