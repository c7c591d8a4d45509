"""The analysts' /weekly.

/weekly is for analysts (role analyst or admin, or SKILLSBOT_ANALYSTS); anyone else falls
through to the unknown-command answer. The follow-up messages' buttons (Continue, No more
messages, a round's Start, Send me messages again) are the core's
(`bot.core.desk.EmployerDesk.follow_up`), as every employer's update is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiogram import F, Router
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, Message, TelegramObject

from analytics.weeks import InvalidWeek, IsoWeek, check_report_week
from bot.core.messages import Outgoing
from bot.followups import FollowUps
from bot.handlers.staff import sender_role
from storage import (
    Session,
    utcnow,
)
from storage.repositories import first_response_at

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

WEEKLY_USAGE = "Please give the week like 2026-W47, or send /weekly on its own for last week."
WEEKLY_WORKING = "Preparing the weekly summary…"
WEEKLY_FAILED = "Sorry, the weekly summary could not be made just now. Please try again later."
logger = logging.getLogger("skillsbot.followups")


class IsAnalyst(BaseFilter):
    """Passes messages from analysts and admins (by role) and the SKILLSBOT_ANALYSTS ids."""

    def __init__(self, analysts: Collection[int] = ()) -> None:
        self.analysts = frozenset(analysts)

    async def __call__(self, event: TelegramObject, **data: Any) -> bool:
        """True for an analyst."""
        user = event.from_user if isinstance(event, Message | CallbackQuery) else None
        if user is None:
            return False
        if user.id in self.analysts:
            return True
        role = await sender_role(data, user.id)
        return role in ("analyst", "admin")


async def on_weekly(message: Message, command: CommandObject, follow_ups: FollowUps) -> None:
    """/weekly [2026-W47]: the headline summary, the workbook and the charts.

    A week outside the data's range gets one line and nothing else. Once "Preparing…" is
    out, nothing here raises: a failure would make the update be handled again, and the
    report (or the apology) sent twice.
    """
    week_text = (command.args or "").strip()
    week: str | None = None
    chat_id = message.chat.id
    if week_text:
        try:
            chosen = IsoWeek.parse(week_text)
        except InvalidWeek:
            await message.answer(WEEKLY_USAGE)
            return
        first = await asyncio.to_thread(_first_response, follow_ups.database)
        try:
            check_report_week(chosen, first_response=first, now=utcnow())
        except InvalidWeek as error:
            await message.answer(_sentence(str(error)))
            return
        week = chosen.label
    if await follow_ups.delivery.send(chat_id, Outgoing(WEEKLY_WORKING)) is None:
        return
    try:
        await follow_ups.weekly_for(chat_id, week)
    except Exception as error:  # the apology once, instead of the whole report again
        logger.error("event=weekly_failed error=%s", type(error).__name__)
        logger.debug("weekly_failed", exc_info=True)
        await follow_ups.delivery.send(chat_id, Outgoing(WEEKLY_FAILED))


def _first_response(database: Engine) -> datetime | None:
    with Session(database) as session:
        return first_response_at(session)


def _sentence(line: str) -> str:
    """A message line as a sentence: capital first letter, full stop at the end."""
    return line[:1].upper() + line[1:] + ("" if line.endswith(".") else ".")


def router(analysts: Collection[int] = ()) -> Router:
    """A new router with /weekly (before the employer's router, whose unknown-command
    answer anyone else gets)."""
    feature = Router(name="followups")
    feature.message.register(
        on_weekly, F.chat.type == "private", Command("weekly"), IsAnalyst(analysts)
    )
    return feature
