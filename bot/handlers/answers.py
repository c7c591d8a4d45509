"""Answers: typed replies and inline button presses."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message, Update

from bot.callbacks import parse_button
from bot.handlers.context import note, who_sent
from bot.handlers.interviewer import Interviewer
from bot.logs import UpdateLog
from conversations.events import Text


async def on_text(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """A typed reply goes to the engine as it is."""
    who = who_sent(message, event_update)
    if who is None or message.text is None:
        return
    note(update_log, await interviewer.feed(who, Text(message.text)))


async def on_button(
    query: CallbackQuery,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """A button press: applied if it belongs to the question on screen, else a notice."""
    who = who_sent(query, event_update)
    if who is None:
        await interviewer.delivery.answer_callback(query.id)
        return
    message_id = query.message.message_id if query.message is not None else 0
    # The press is answered after the transaction, so that the spinner stops only once
    # the answer is safely stored.
    reply = await interviewer.press(who, parse_button(query.data), message_id, query.id)
    note(update_log, reply)


def router() -> Router:
    """A new router with this feature's handlers (one per Dispatcher)."""
    feature = Router(name="answers")
    feature.message.register(on_text, F.chat.type == "private", F.text)
    feature.callback_query.register(on_button)
    return feature
