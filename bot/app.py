"""Wiring: the Bot, the Dispatcher with its routers and middleware, and the polling loop.

Everything is built from explicit parts handed in (database engine, interview, settings);
nothing lives at module level. `EmployerBot` is what `skillsbot run` and the end-to-end
tests start.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    SendMessage,
    SetMyCommands,
)
from aiogram.methods.base import Response
from aiogram.types import BotCommand, TelegramObject, Update

from bot.broadcaster import DEFAULT_RATE, Broadcaster
from bot.followups import FollowUps, ReminderPolicy
from bot.handlers import broadcast, definitions, followups, interview_routers, staff
from bot.handlers.commands import BOT_COMMANDS
from bot.handlers.delivery import Delivery
from bot.handlers.interviewer import Interviewer
from bot.logs import UpdateLog, update_kind
from bot.menus import keep_menus
from bot.polling import PollingLoop, RawUpdate, TryLater, update_chat_id
from bot.render import Outgoing
from bot.scheduler import FollowUpScheduler, ScheduleSettings
from bot.session import JsonSession
from bot.workers import WorkerPool
from conversations.definition import Interview
from storage import utcnow
from storage.units import is_transient

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

logger = logging.getLogger("skillsbot.updates")
DEFAULT_API_URL = "https://api.telegram.org"
# Said when an update failed every time it was tried (a fault of ours, not the person's).
NOT_SAVED = (
    "Sorry, something went wrong on our side and your last message could not be saved. "
    "Please send it again in a minute."
)
NOT_SAVED_NOTICE = "Sorry, that did not go through. Please try again in a minute."


class UpdateLogging(BaseMiddleware):
    """One log line per update: id, kind, employer id, outcome and milliseconds."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Give the handlers an `update_log` to fill in; log it when they are done."""
        if not isinstance(event, Update):
            return await handler(event, data)
        record = UpdateLog(update_id=event.update_id, kind=update_kind(event))
        data["update_log"] = record
        try:
            return await handler(event, data)
        except Exception:
            record.outcome = "error"
            raise
        finally:
            logger.info(record.line())


# aiogram reads every answer from Telegram as `Response[T]`, a generic pydantic model that
# pydantic caches only weakly: once garbage-collected it is rebuilt on the next call (tens of
# milliseconds of schema building, the bot's main cost under load). Keep the ones the bot
# uses on every update alive for the life of the process.
KEPT_RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        SendMessage,
        EditMessageText,
        EditMessageReplyMarkup,
        AnswerCallbackQuery,
        GetUpdates,
        SetMyCommands,
    )
)


def freeze_startup_heap() -> None:
    """Take what start-up allocated out of the garbage collector's sight (`gc.freeze`).

    aiogram's hundreds of models, SQLAlchemy's metadata and the interview live for the
    whole process; a full collection traversed them all, stopping the bot for 150-250 ms
    about every two seconds under load, which alone broke a p99 of 250 ms.
    """
    gc.collect()
    gc.freeze()


def build_bot(token: str, api_url: str = DEFAULT_API_URL) -> Bot:
    """A Bot talking to `api_url` (Telegram, a self-hosted Bot API server, or the fake).

    Requests go as JSON bodies and JSON goes through orjson (see `bot.session`): under
    load, decoding getUpdates (which re-sends every update not yet confirmed) with the
    standard library was a fifth of the bot's time.
    """
    session = JsonSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token, session=session)


def _without_pressed_keyboard(raw: RawUpdate) -> RawUpdate:
    """The update without the keyboard of the message whose button was pressed.

    No handler reads it (a press carries its meaning in its callback data), and parsing a
    keyboard of 26 buttons into aiogram objects cost more than the rest of the update.
    """
    query = raw.get("callback_query")
    if not isinstance(query, dict):
        return raw
    message = query.get("message")
    if not isinstance(message, dict) or "reply_markup" not in message:
        return raw
    slim = {key: value for key, value in message.items() if key != "reply_markup"}
    return {**raw, "callback_query": {**query, "message": slim}}


def parse_update(raw: RawUpdate, bot: Bot) -> Update:
    """Telegram's JSON of an update as aiogram's `Update`, bound to `bot`."""
    return Update.model_validate(_without_pressed_keyboard(raw), context={"bot": bot})


def build_dispatcher(
    interviewer: Interviewer,
    follow_ups: FollowUps | None = None,
    analysts: Collection[int] = (),
) -> Dispatcher:
    """The Dispatcher: every router, the logging middleware, the interviewer injected."""
    dispatcher = Dispatcher()
    dispatcher["interviewer"] = interviewer
    dispatcher.update.outer_middleware(UpdateLogging())
    dispatcher.include_router(staff.router())  # before the unknown-command fallback
    dispatcher.include_router(definitions.router())  # admins' interview files, too
    dispatcher.include_router(broadcast.router())  # needs dispatcher["broadcaster"]
    if follow_ups is not None:
        dispatcher["follow_ups"] = follow_ups
        dispatcher.include_router(followups.router(analysts))  # before the fallback too
    dispatcher.include_routers(*interview_routers())
    return dispatcher


class EmployerBot:
    """The employer bot, ready to poll: `await run()` until `stop()`, then `await close()`."""

    def __init__(
        self,
        *,
        token: str,
        database: Engine,
        interview: Interview,
        area: str,
        api_url: str = DEFAULT_API_URL,
        zone: ZoneInfo | None = None,
        polling_timeout: int = 25,
        max_in_flight: int = 100,
        reminders: ReminderPolicy | None = None,
        schedule: ScheduleSettings | None = None,
        analysts: Collection[int] = (),
        broadcast_rate: float = DEFAULT_RATE,
        broadcast_check_seconds: float = 5.0,
        workers: WorkerPool | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.bot = build_bot(token, api_url)
        self.delivery = Delivery(self.bot, on_unreachable=self._unreachable)
        self.interviewer = Interviewer(
            interview=interview,
            database=database,
            delivery=self.delivery,
            area=area,
            zone=zone or ZoneInfo("Europe/London"),
        )
        self.follow_ups = FollowUps(
            database=database,
            delivery=self.delivery,
            interview=interview,
            policy=reminders,
            analysts=analysts,
        )
        # The follow-up jobs run only when a schedule is given (skillsbot run gives one).
        # `clock` gives the jobs their `now` (tests set it to a Saturday night, say).
        self.scheduler = FollowUpScheduler(self.follow_ups, schedule, clock) if schedule else None
        self.dispatcher = build_dispatcher(self.interviewer, self.follow_ups, analysts)
        self.broadcaster = Broadcaster(self.bot, database, rate=broadcast_rate)
        self.dispatcher["broadcaster"] = self.broadcaster
        self.broadcast_check_seconds = broadcast_check_seconds
        # With workers, this process only polls (and runs the scheduled jobs): they handle.
        self.workers = workers
        self.polling = PollingLoop(
            self.bot,
            workers.handle if workers is not None else self.handle,
            timeout=polling_timeout,
            max_in_flight=max_in_flight,
            on_failure=self._failed,
        )

    async def handle(self, raw: RawUpdate) -> None:
        """Handle one update (Telegram's JSON) here: parse it and feed the dispatcher.

        Raises `TryLater` when the database is away or busy (see `storage.is_transient`),
        so that the update is tried again rather than given up."""
        try:
            await self.dispatcher.feed_update(self.bot, parse_update(raw, self.bot))
        except Exception as error:
            if is_transient(error):
                raise TryLater from error
            raise

    async def _failed(self, raw: RawUpdate) -> None:
        """An update was given up after failing every time: tell the person."""
        query = raw.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            await self.delivery.answer_callback(query["id"], NOT_SAVED_NOTICE)
        chat_id = update_chat_id(raw)
        if chat_id is not None and chat_id > 0:  # a person's private chat
            await self.delivery.send(chat_id, Outgoing(NOT_SAVED))

    async def _unreachable(self, chat_id: int) -> None:
        await self.interviewer.chat_closed(chat_id)

    async def register_commands(self) -> None:
        """Show the bot's commands in Telegram's menu (setMyCommands)."""
        commands = [BotCommand(command=name, description=text) for name, text in BOT_COMMANDS]
        await self.bot.set_my_commands(commands)

    async def run(self) -> None:
        """Register the commands, then poll until `stop()` (raises on 409 Conflict)."""
        try:
            await self.register_commands()
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as error:
            # The menu is a nicety; answering people is not. Poll anyway.
            logger.warning("event=set_commands_failed error=%s", type(error).__name__)
        if self.workers is not None:
            await self.workers.start()
        if self.scheduler is not None:
            self.scheduler.start()
        # Starts scheduled broadcasts when due and resumes those a dead sender left.
        watching = asyncio.Event()
        watcher = asyncio.gather(
            self.broadcaster.watch(watching, interval=self.broadcast_check_seconds),
            keep_menus(self.bot, self.interviewer.database, watching),  # staff's menus
        )
        try:
            await self.polling.run()
        finally:
            if self.workers is not None:
                await self.workers.close()
            watching.set()
            await watcher
            await self.broadcaster.shutdown()
            if self.scheduler is not None:
                self.scheduler.shutdown()

    def stop(self) -> None:
        """Stop fetching; `run()` returns once the updates in hand are finished."""
        self.polling.stop()

    async def close(self) -> None:
        """Close the HTTP session and the database worker threads."""
        try:
            await self.interviewer.aclose()
        finally:
            await self.bot.session.close()
