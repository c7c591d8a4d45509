"""The employer's updates on aiogram: parse into `bot.core.desk` values, hand them over.

One router, tried after the staff routers: every message, button press and blocked chat
that no staff handler took becomes a `Said`, `Pressed` or `Blocked` for the `EmployerDesk`
(injected as `desk`), whose reply has already been delivered when it returns. Nothing is
decided here.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.core.desk import Blocked, EmployerDesk, Pressed, Said
from bot.core.messages import Reply, Who
from bot.logs import UpdateLog
from bot.transports.aiogram.filters import Inline


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


def note(update_log: UpdateLog | None, reply: Reply | None) -> None:
    """Put the outcome and the employer's internal id on the update's log line."""
    if update_log is not None and reply is not None:
        update_log.outcome = reply.outcome
        update_log.employer_id = reply.employer_id


async def on_message(
    message: Message,
    desk: EmployerDesk,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """A message: text, a command, or anything else."""
    who = who_sent(message, event_update)
    if who is not None:
        said = Said(who, message.text, private=message.chat.type == "private")
        note(update_log, await desk.handle(said))


async def on_button(
    query: CallbackQuery,
    desk: EmployerDesk,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """A button press (answered by the core once its outcome is stored)."""
    who = who_sent(query, event_update)
    if who is None:
        await desk.interviewer.delivery.answer_callback(query.id)
        return
    message_id = query.message.message_id if query.message is not None else 0
    note(update_log, await desk.handle(Pressed(who, query.data, message_id, query.id)))


async def on_blocked(
    event: ChatMemberUpdated, desk: EmployerDesk, update_log: UpdateLog | None = None
) -> None:
    """The person blocked the bot."""
    note(update_log, await desk.handle(Blocked(event.chat.id)))


def router() -> Router:
    """A new router with the employer's handlers (one per Dispatcher; include it last)."""
    feature = Router(name="employer")
    feature.message.register(on_message)
    feature.callback_query.register(on_button)
    feature.my_chat_member.register(on_blocked, Inline(F.new_chat_member.status == "kicked"))
    return feature
