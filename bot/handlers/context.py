"""Who sent an update, as the Interviewer needs it, and noting what came of it."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message, Update

from bot.handlers.interviewer import Reply, Who
from bot.logs import UpdateLog


def who_sent(event: Message | CallbackQuery, update: Update) -> Who | None:
    """The update id, person and private chat of a message or button press."""
    user = event.from_user
    if user is None:
        return None
    if isinstance(event, CallbackQuery):
        chat_id = event.message.chat.id if event.message is not None else user.id
    else:
        chat_id = event.chat.id
    return Who(
        update_id=update.update_id,
        user_id=user.id,
        chat_id=chat_id,
        language_code=user.language_code,
    )


def note(update_log: UpdateLog | None, reply: Reply) -> None:
    """Put the outcome and the employer's internal id on the update's log line."""
    if update_log is not None:
        update_log.outcome = reply.outcome
        update_log.employer_id = reply.employer_id
