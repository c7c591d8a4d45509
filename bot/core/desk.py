"""An employer's update as plain values, and which core call answers it.

A transport parses Telegram's update with its own library into one of `Said` (a message in
a chat: text, a command, or something that is not text), `Pressed` (an inline button) or
`Blocked` (the person blocked the bot), and hands it to `EmployerDesk.handle`. Everything
after that (which command is which, what a /start payload may be, what a button means) is
decided here, the same for every transport, follow-up messages' buttons (Continue, No
more messages...) included. The staff's updates go to `bot.core.staff.StaffDesk` first;
what it leaves comes here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.core.callbacks import Action, FollowUpAction, parse_button, parse_follow_up
from bot.core.interview_copy import PAUSED, TEXT_ONLY, UNKNOWN_COMMAND
from bot.core.interviewer import Interviewer
from bot.core.messages import Reply, Who
from conversations.events import Back, Input, Review, Skip, Text

logger = logging.getLogger("skillsbot.handlers")

# Deep-link payloads: a personal invite's token, or a campaign or event, e.g. "c-ely-fair".
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
# "/name", "/name@bot" or "/name args": Telegram's bot command syntax, the name ending at a
# space, the @mention or the end ("/help!" and "/list-foo" are no /help or /list).
COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?", re.S)
# The commands that are engine inputs as they are.
ENGINE_COMMANDS: dict[str, Input] = {"back": Back(), "skip": Skip(), "review": Review()}

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


@dataclass(frozen=True, slots=True)
class Said:
    """A message: its text (None: a sticker, photo, file... anything but text); a photo's
    file id (the largest size) and a photo's or document's caption, for staff drafting a
    broadcast."""

    who: Who
    text: str | None
    private: bool = True  # sent in the person's private chat with the bot
    photo_id: str | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Pressed:
    """An inline button pressed on message `message_id`; `data` as Telegram gave it."""

    who: Who
    data: str | None
    message_id: int
    callback_id: str


@dataclass(frozen=True, slots=True)
class Blocked:
    """The person blocked the bot (their private chat's member status became "kicked");
    `update_id` is the update saying so (claimed in the unit that marks them unreachable)."""

    chat_id: int
    update_id: int | None = None


Incoming = Said | Pressed | Blocked


@dataclass(frozen=True, slots=True)
class Command:
    """A bot command: its name (lower case, without the bot's @name) and its arguments."""

    name: str
    args: str | None


def parse_command(text: str) -> Command | None:
    """The command a message's text is, or None when it is not one (text starting with "/"
    that is none is an unknown command to the desk)."""
    match = COMMAND.fullmatch(text)
    if match is None:
        return None
    args = match.group(2)
    return Command(match.group(1).lower(), args.strip() or None if args else None)


def start_payload(args: str | None) -> str | None:
    """The deep-link payload (None if absent or invalid); the interviewer decides what it
    is (`bot.core.invites.take_start_payload`)."""
    if not args:
        return None
    payload = args.strip()
    return payload if PAYLOAD.fullmatch(payload) else None


class EmployerDesk:
    """Routes an employer's update to the `Interviewer`; its `Reply` says what came of it
    (None: nothing was done, e.g. a message in a group)."""

    def __init__(self, interviewer: Interviewer) -> None:
        self.interviewer = interviewer

    async def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one update (one unit of work, delivered through the interviewer's
        messenger)."""
        if isinstance(incoming, Blocked):
            await self.interviewer.chat_closed(incoming.chat_id, incoming.update_id)
            return Reply("blocked")
        if isinstance(incoming, Pressed):
            follow_up = parse_follow_up(incoming.data)
            if follow_up is not None:
                return await self.follow_up(incoming, *follow_up)
            button = parse_button(incoming.data)
            return await self.interviewer.press(
                incoming.who, button, incoming.message_id, incoming.callback_id
            )
        if not incoming.private:
            return None
        if incoming.text is None:
            reply = await self.interviewer.say(incoming.who, TEXT_ONLY)
            reply.outcome = "not_text"
            return reply
        command = parse_command(incoming.text)
        if command is None:
            if incoming.text.startswith("/"):
                return await self._unknown(incoming.who)
            return await self.interviewer.feed(incoming.who, Text(incoming.text))
        return await self.command(incoming.who, command)

    async def command(self, who: Who, command: Command) -> Reply:
        """One of the employer's commands (an unknown one is said to be unknown)."""
        interviewer = self.interviewer
        name = command.name
        if name == "start":
            payload = start_payload(command.args)
            if command.args and payload is None:
                logger.warning("event=bad_start_payload update=%s", who.update_id)
            return await interviewer.start(who, payload)
        if name in ENGINE_COMMANDS:
            return await interviewer.feed(who, ENGINE_COMMANDS[name])
        if name == "restart":
            return await interviewer.confirm(who, Action.RESTART)
        if name == "forget":
            return await interviewer.confirm(who, Action.FORGET)
        if name == "stop":
            return await interviewer.say(who, PAUSED, with_question=False)
        if name == "help":
            return await interviewer.help(who)
        if name == "myanswers":
            return await interviewer.my_answers(who)
        if name == "language":
            return await interviewer.choose_language(who)
        return await self._unknown(who)

    async def follow_up(self, pressed: Pressed, action: FollowUpAction, ref: int) -> Reply:
        """A follow-up message's button: Continue, a round's Start, No more messages or
        Send me messages again."""
        who, callback_id = pressed.who, pressed.callback_id
        if action is FollowUpAction.CONTINUE:
            return await self.interviewer.resume(who, callback_id)
        if action is FollowUpAction.START_ROUND:
            return await self.interviewer.start_round(who, ref, callback_id)
        on = action is FollowUpAction.RESUME
        return await self.interviewer.set_messages(
            who, ref, on=on, message_id=pressed.message_id, callback_id=callback_id
        )

    async def _unknown(self, who: Who) -> Reply:
        reply = await self.interviewer.say(who, UNKNOWN_COMMAND)
        reply.outcome = "unknown_command"
        return reply
