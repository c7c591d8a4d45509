"""The commands: /back /skip /review /restart /stop /help /myanswers /forget, and unknown ones."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message, Update

from bot.callbacks import Action
from bot.handlers.context import note, who_sent
from bot.handlers.interviewer import PAUSED, UNKNOWN_COMMAND, Interviewer
from bot.logs import UpdateLog
from conversations.events import Back, Input, Review, Skip

# What `skillsbot run` registers with setMyCommands, in menu order.
BOT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Start, or carry on where you stopped"),
    ("back", "Go back to the previous question"),
    ("skip", "Skip an optional question"),
    ("review", "See your answers so far"),
    ("restart", "Start the interview again"),
    ("stop", "Pause; your answers are kept"),
    ("myanswers", "See everything we hold about you"),
    ("language", "Choose the language of the interview"),
    ("forget", "Erase your personal data and answers"),
    ("help", "What this bot is, and its commands"),
)


async def on_engine_command(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """/back, /skip and /review go to the engine as they are."""
    who = who_sent(message, event_update)
    if who is None or message.text is None:
        return
    name = message.text.split()[0].lstrip("/").split("@")[0].lower()
    events: dict[str, Input] = {"back": Back(), "skip": Skip(), "review": Review()}
    event = events[name]
    note(update_log, await interviewer.feed(who, event))


async def on_restart(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """Ask to confirm before throwing the answers away."""
    who = who_sent(message, event_update)
    if who is not None:
        note(update_log, await interviewer.confirm(who, Action.RESTART))


async def on_forget(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """Ask to confirm before erasing the person's data."""
    who = who_sent(message, event_update)
    if who is not None:
        note(update_log, await interviewer.confirm(who, Action.FORGET))


async def on_stop(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """Pause: nothing changes, the answers are kept."""
    who = who_sent(message, event_update)
    if who is not None:
        note(update_log, await interviewer.say(who, PAUSED, with_question=False))


async def on_help(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """What the bot is and what it can do."""
    who = who_sent(message, event_update)
    if who is not None:
        note(update_log, await interviewer.help(who))


async def on_language(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """Offer the interview's languages."""
    who = who_sent(message, event_update)
    if who is not None:
        note(update_log, await interviewer.choose_language(who))


async def on_my_answers(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """Everything stored about the person."""
    who = who_sent(message, event_update)
    if who is not None:
        note(update_log, await interviewer.my_answers(who))


async def on_unknown_command(
    message: Message,
    interviewer: Interviewer,
    event_update: Update,
    update_log: UpdateLog | None = None,
) -> None:
    """A command we do not know: say so, then show the current question again."""
    who = who_sent(message, event_update)
    if who is not None:
        reply = await interviewer.say(who, UNKNOWN_COMMAND)
        reply.outcome = "unknown_command"
        note(update_log, reply)


def router() -> Router:
    """A new router with this feature's handlers (one per Dispatcher)."""
    feature = Router(name="commands")
    feature.message.filter(F.chat.type == "private")
    feature.message.register(on_engine_command, Command("back", "skip", "review"))
    feature.message.register(on_restart, Command("restart"))
    feature.message.register(on_forget, Command("forget"))
    feature.message.register(on_stop, Command("stop"))
    feature.message.register(on_help, Command("help"))
    feature.message.register(on_my_answers, Command("myanswers"))
    feature.message.register(on_language, Command("language"))
    feature.message.register(on_unknown_command, F.text.startswith("/"))
    return feature
