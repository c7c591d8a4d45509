"""The peer of the bot benchmark: a plain in-memory aiogram bot asking the same interview.

Run: `TELEGRAM_BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT .venv/bin/python
benchmarks/peer_inmemory.py` (bench_bot.py `--peer` starts it against its fake Telegram).

What a careful developer would write without skillsbot's durability: aiogram's own polling
(`Dispatcher.start_polling`, which confirms updates as it fetches them and handles each as
a task), each chat's interview state in a dict (lost on restart), no database. It drives
the same engine (`conversations`, pure) and renders with the same functions
(`bot.core.render`), so the employer sees the same messages and buttons: /start greets and
asks the first question; a button press is answered (answerCallbackQuery) and the next
question sent; a multi-select tick edits the buttons in place; Submit turns the review
into the thanks, in place (one edit, as skillsbot does); a question answered by a button
becomes "question → answer" (one edit, as skillsbot does; a typed answer leaves the
question as it is, as skillsbot does). Unlike skillsbot it keeps nothing if it stops.
It runs with skillsbot's garbage-collector settings (start-up heap frozen, young threshold
20,000): with CPython's defaults the collector alone cost it more than all of skillsbot's
database work, and the comparison is of durability, not of runtime settings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from html import escape
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, Message

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.cli.run import collect_garbage_less_often  # noqa: E402
from bot.core.callbacks import Action, parse_button  # noqa: E402
from bot.core.messages import Outgoing  # noqa: E402
from bot.core.render import answered_text, ask_keyboard, render_prompts  # noqa: E402
from bot.runtime.app import freeze_startup_heap  # noqa: E402
from bot.transports.aiogram.adapter import KEPT_RESPONSE_TYPES  # noqa: E402, F401 (see serve)
from bot.transports.aiogram.markup import to_markup  # noqa: E402
from conversations.areas import DEFAULT_AREA  # noqa: E402
from conversations.definition import Interview  # noqa: E402
from conversations.engine import InterviewEngine, Step, choice_options, display_value  # noqa: E402
from conversations.events import (  # noqa: E402
    Ask,
    Choose,
    Done,
    Input,
    Invalid,
    Resume,
    Skip,
    Stale,
    Submit,
    Text,
    Toggle,
)
from conversations.loader import builtin_interview_path, load_interview  # noqa: E402
from conversations.state import InterviewState  # noqa: E402


class PeerInterviewer:
    """The interview for every chat, state in memory: chat id -> (response number, state)."""

    def __init__(self, interview: Interview, area: str) -> None:
        self.interview = interview
        self.engine = InterviewEngine(interview)
        self.area = area
        self.states: dict[int, tuple[int, InterviewState]] = {}

    def router(self) -> Router:
        """The handlers: /start, typed answers, button presses."""
        router = Router()
        router.message.register(self.start, CommandStart())
        router.message.register(self.typed, F.text)
        router.callback_query.register(self.pressed)
        return router

    async def start(self, message: Message, bot: Bot) -> None:
        """Greet and ask the first question (a new interview each /start)."""
        step = self.engine.start()
        number = len(self.states) + 1
        self.states[message.chat.id] = (number, step.state)
        intro = (
            f"Hello! Thank you for taking part in <b>{escape(self.interview.title)}</b> "
            f"for {escape(self.area)}."
        )
        await self._send(bot, message.chat.id, [Outgoing(intro), *self._render(step, number)])

    async def typed(self, message: Message, bot: Bot) -> None:
        """A typed answer."""
        held = self.states.get(message.chat.id)
        if held is None:
            await bot.send_message(message.chat.id, "Send /start to begin.")
            return
        number, state = held
        step = self.engine.handle(state, Text(message.text or ""))
        self.states[message.chat.id] = (number, step.state)
        await self._send(bot, message.chat.id, self._render(step, number))

    async def pressed(self, query: CallbackQuery, bot: Bot) -> None:
        """A button: its input to the engine; a tick edits the buttons, else the next
        question is sent."""
        button = parse_button(query.data)
        chat_id = query.message.chat.id if query.message is not None else None
        held = self.states.get(chat_id) if chat_id is not None else None
        event = self._input(button) if button is not None else None
        if held is None or chat_id is None or event is None or query.message is None:
            await query.answer()
            return
        number, state = held
        before = self._asked(state)
        step = self.engine.handle(state, event)
        self.states[chat_id] = (number, step.state)
        await query.answer()
        refused = any(isinstance(prompt, Invalid | Stale) for prompt in step.prompts)
        if isinstance(event, Choose | Done | Skip) and before is not None and not refused:
            # As skillsbot does: the question pressed becomes "question → answer", no buttons.
            answers = step.state.answers
            given = (
                step.echo.text
                if step.echo is not None
                else display_value(before.question, answers.get(before.question.id), answers)
            )
            await bot.edit_message_text(
                answered_text(before, given),
                chat_id=chat_id,
                message_id=query.message.message_id,
                parse_mode="HTML",
            )
        asks = [prompt for prompt in step.prompts if isinstance(prompt, Ask)]
        if isinstance(event, Toggle) and len(step.prompts) == 1 and asks:
            keyboard = ask_keyboard(asks[0], interview=self.interview, response_id=number)
            await bot.edit_message_reply_markup(
                chat_id=chat_id,
                message_id=query.message.message_id,
                reply_markup=to_markup(keyboard),
            )
            return
        messages = self._render(step, number)
        if isinstance(event, Submit) and len(messages) == 1:
            # As skillsbot does (bot/core/interviewer.py `_submitted_in_place`): the review
            # whose Submit was pressed becomes the thanks, one edit and no new message.
            (thanks,) = messages
            await bot.edit_message_text(
                thanks.text,
                chat_id=chat_id,
                message_id=query.message.message_id,
                parse_mode="HTML",
                reply_markup=to_markup(thanks.keyboard),
            )
            return
        await self._send(bot, chat_id, messages)

    def _asked(self, state: InterviewState) -> Ask | None:
        """The question on screen in this state, if one is (as skillsbot finds it)."""
        if not state.asking:
            return None
        asks = [p for p in self.engine.handle(state, Resume()).prompts if isinstance(p, Ask)]
        return asks[-1] if asks else None

    def _input(self, button: Any) -> Input | None:
        if button.action is Action.SUBMIT:
            return Submit()
        questions = self.interview.questions
        if not 0 <= button.question < len(questions):
            return None
        question = questions[button.question]
        if button.action is Action.DONE:
            return Done(question.id)
        if button.action is Action.SKIP:
            return Skip(question.id)
        options = choice_options(question)
        if not 0 <= button.choice < len(options):
            return None
        value = options[button.choice].value
        if button.action is Action.CHOOSE:
            return Choose(value, question.id)
        if button.action is Action.TOGGLE:
            return Toggle(value, question.id)
        return None

    def _render(self, step: Step, number: int) -> list[Outgoing]:
        return render_prompts(step.prompts, interview=self.interview, response_id=number)

    @staticmethod
    async def _send(bot: Bot, chat_id: int, messages: list[Outgoing]) -> None:
        for outgoing in messages:
            await bot.send_message(
                chat_id,
                outgoing.text,
                parse_mode="HTML",
                reply_markup=to_markup(outgoing.keyboard),
            )


async def serve() -> None:
    """Poll until cancelled (SIGTERM/SIGINT: aiogram's own signal handling)."""
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    api = TelegramAPIServer.from_base(
        os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")
    )
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=api))
    dispatcher = Dispatcher()
    dispatcher.include_router(PeerInterviewer(interview, DEFAULT_AREA).router())
    # As `skillsbot run` does; aiogram's answer models stay built here too (imported above:
    # `KEPT_RESPONSE_TYPES`, which the peer had while bot.runtime.app made them).
    freeze_startup_heap()
    collect_garbage_less_often()
    await dispatcher.start_polling(bot, polling_timeout=25)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve())
