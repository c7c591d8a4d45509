"""Whatever is not text: stickers, photos, voice notes, documents... and blocked chats."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import ChatMemberUpdated, Message, Update

from bot.handlers.context import note, who_sent
from bot.handlers.interviewer import TEXT_ONLY, Interviewer
from bot.logs import UpdateLog


async def on_not_text(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """Say that only text can be read here, then show the current question again."""
    who = who_sent(message, event_update)
    if who is not None:
        reply = await interviewer.say(who, TEXT_ONLY)
        reply.outcome = "not_text"
        note(update_log, reply)


async def on_blocked(
    event: ChatMemberUpdated, interviewer: Interviewer, update_log: UpdateLog | None = None
) -> None:
    """The person blocked the bot: they are unreachable until they come back."""
    await interviewer.chat_closed(event.chat.id)
    if update_log is not None:
        update_log.outcome = "blocked"


def router() -> Router:
    """A new router with this feature's handlers (one per Dispatcher)."""
    feature = Router(name="fallbacks")
    feature.message.register(on_not_text, F.chat.type == "private")
    feature.my_chat_member.register(on_blocked, F.new_chat_member.status == "kicked")
    return feature
