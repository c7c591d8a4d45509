"""Follow-up buttons (Continue, No more messages, a round's Start, Send me messages again)
and the analysts' /weekly.

Continue re-shows the current question exactly as /start would; No more messages (on every
broadcast, reminder and round invitation, and in /help) opts the employer out with one tap,
recorded with its time and audited, and says so; Send me messages again (in /help) takes it
back, as /start does; a round's Start begins a response of that round. /weekly
is for analysts (role analyst or admin, or SKILLSBOT_ANALYSTS); anyone else falls through
to the unknown-command answer.
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
from bot.followups import FollowUpAction, FollowUpButton, FollowUps
from bot.handlers.context import note, who_sent
from bot.handlers.interviewer import Interviewer, Who
from bot.handlers.staff import database_of
from bot.logs import UpdateLog
from bot.render import NOT_OURS_BUTTON, Outgoing
from storage import (
    Employer,
    Session,
    chat_transaction,
    claim_update,
    utcnow,
)
from storage.audience import opt_in
from storage.followups import opt_out, round_invited, start_round_response
from storage.repositories import first_response_at, known_employer_and_active_response
from storage.staff import role_of

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

OPTED_OUT = (
    "Done — you won't get any more messages from us: no news, reminders or invitations. "
    "We will still answer when you write. Your answers are kept; send /start, or use the "
    "setting in /help, if you want our messages again."
)
OPTED_IN = "Done — you will get our messages again."
NOT_INVITED = "Sorry, that invitation was not sent to you, so I cannot start it here."
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
        role = await asyncio.to_thread(_role, database_of(data), user.id)
        return role in ("analyst", "admin")


def _role(database: Engine, user_id: int) -> str | None:
    with Session(database) as session:
        return role_of(session, user_id)


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


def _set_messages(database: Engine, who: Who, employer_id: int, *, on: bool) -> bool | None:
    """Opt the employer out (or back in) in one transaction; None if the button is not
    theirs (or they were erased: nothing is stored about them then)."""
    with chat_transaction(database, who.chat_id) as session:
        now = utcnow()
        claim_update(session, update_id=who.update_id, chat_id=who.chat_id, now=now)
        employer = session.get(Employer, employer_id)
        if employer is None or employer.telegram_user_id != who.user_id:
            # Not theirs (or they were erased): nothing of the press is kept (the inbox
            # drops an update's chat and content once it is done).
            return None
        if on:
            opt_in(session, employer=employer, now=now)
        else:
            opt_out(session, employer=employer, now=now)
        return True


def _begin_round(interviewer: Interviewer, who: Who, round_id: int) -> bool:
    """Begin the round's response (unless one is in progress); /start then shows it.
    False if the round did not invite this employer: its Start is not theirs to press.
    Someone we hold no record of was invited to nothing, and nothing is stored about them
    (a record is made only when they press Start on the interview itself)."""
    with chat_transaction(interviewer.database, who.chat_id) as session:
        now = utcnow()
        employer, _ = known_employer_and_active_response(
            session, telegram_user_id=who.user_id, chat_id=who.chat_id, now=now
        )
        if employer is None or employer.id is None:
            return False
        if not round_invited(session, round_id=round_id, employer_id=employer.id):
            return False
        response = start_round_response(
            session,
            employer_id=employer.id,
            round_id=round_id,
            interview_id=interviewer.interview.id,
            interview_version=interviewer.interview.version,
            state=interviewer.engine.start().state,
            now=now,
        )
        if response is not None and role_of(session, who.user_id) is not None:
            response.test = True  # a staff member's own run counts nowhere
            session.add(response)
        return True


async def on_follow_up_button(
    query: CallbackQuery,
    callback_data: FollowUpButton,
    interviewer: Interviewer,
    update_log: UpdateLog | None = None,
    **data: Any,
) -> None:
    """Continue, No more messages (or its undo), or a round's Start."""
    who = who_sent(query, data["event_update"])
    if who is None:
        return
    if callback_data.action is FollowUpAction.CONTINUE:
        await interviewer.delivery.answer_callback(query.id)
        note(update_log, await interviewer.resume(who))
        return
    if callback_data.action is FollowUpAction.START_ROUND:
        if not await asyncio.to_thread(_begin_round, interviewer, who, callback_data.ref):
            await interviewer.delivery.answer_callback(query.id, NOT_INVITED)
            if update_log is not None:
                update_log.outcome = "not_invited"
            return
        await interviewer.delivery.answer_callback(query.id)
        note(update_log, await interviewer.start(who, None, resubscribe=False))
        return
    on = callback_data.action is FollowUpAction.RESUME
    done = await asyncio.to_thread(
        _set_messages, interviewer.database, who, callback_data.ref, on=on
    )
    if done is None:
        await interviewer.delivery.answer_callback(query.id, NOT_OURS_BUTTON)
        return
    await interviewer.delivery.answer_callback(query.id)
    if query.message is not None:
        await interviewer.delivery.edit_keyboard(who.chat_id, query.message.message_id, None)
    await interviewer.delivery.send(who.chat_id, Outgoing(OPTED_IN if on else OPTED_OUT))
    if update_log is not None:
        update_log.outcome = "opted_in" if on else "opted_out"


def router(analysts: Collection[int] = ()) -> Router:
    """A new router with the follow-up buttons and /weekly (before the unknown-command one)."""
    feature = Router(name="followups")
    feature.callback_query.register(on_follow_up_button, FollowUpButton.filter())
    feature.message.register(
        on_weekly, F.chat.type == "private", Command("weekly"), IsAnalyst(analysts)
    )
    return feature
