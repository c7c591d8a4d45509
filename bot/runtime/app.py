"""Wiring: the chosen library's adapter, the core over it, the inbox workers and the
polling loop.

Everything is built from explicit parts handed in (database engine, interview, settings);
nothing lives at module level. `EmployerBot` is what `skillsbot run` and the end-to-end
tests start: updates reach the inbox (`accept`, from polling or a webhook), and the inbox
workers handle them (`bot.runtime.inbox_worker`) through the transport of the library chosen
(`bot.transports`). Nothing here imports a Telegram library: the adapter is built by
`bot.transports.links.build_adapter`, which imports the chosen library's package only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.broadcaster import DEFAULT_RATE, Broadcaster
from bot.core.desk import BOT_COMMANDS
from bot.core.followups import FollowUps, ReminderPolicy
from bot.core.interviewer import Interviewer
from bot.core.messages import Outgoing
from bot.core.sending import Sender
from bot.core.staff import StaffDesk
from bot.retry import DEFAULT_POLICY, RetryPolicy
from bot.runtime.inbox_worker import InboxWorkers
from bot.runtime.menus import CommandMenus, keep_menus
from bot.runtime.polling import PollingLoop, RawUpdate, TryLater, update_chat_id
from bot.runtime.scheduler import FollowUpScheduler, ScheduleSettings
from bot.settings import ReportSettings
from bot.transports import (
    DEFAULT_API_URL,
    DEFAULT_LIBRARY,
    BotAccount,
    TelegramRefused,
    TelegramUnavailable,
    bot_id_of,
)
from bot.transports.links import build_adapter
from conversations.definition import Interview
from storage import Units, utcnow
from storage.locks import SessionLock, polling_lock_name
from storage.units import is_transient

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from bot.settings import Settings
    from storage import Engine

logger = logging.getLogger("skillsbot.updates")
# Said when an update failed every time it was tried (a fault of ours, not the person's).
NOT_SAVED = (
    "Sorry, something went wrong on our side and your last message could not be saved. "
    "Please send it again in a minute."
)
NOT_SAVED_NOTICE = "Sorry, that did not go through. Please try again in a minute."
# How often a process that does not poll tries to take the polling over, and how often the
# one that polls checks that it still holds the lock (seconds).
LEADERSHIP_SECONDS = 2.0
# How long a stopping process goes on handling what the inbox holds for it (seconds).
DRAIN_SECONDS = 5.0


def freeze_startup_heap() -> None:
    """Take what start-up allocated out of the garbage collector's sight (`gc.freeze`).

    The Telegram library's hundreds of models, SQLAlchemy's metadata and the interview live
    for the whole process; a full collection traversed them all, stopping the bot for
    150-250 ms about every two seconds under load, which alone broke a p99 of 250 ms.
    """
    gc.collect()
    gc.freeze()


class EmployerBot:
    """The employer bot: `await run()` until `stop()`, then `await close()`."""

    def __init__(
        self,
        *,
        token: str,
        database: Engine,
        interview: Interview,
        area: str,
        api_url: str = DEFAULT_API_URL,
        zone: ZoneInfo,
        polling_timeout: int = 25,
        max_in_flight: int = 100,
        reminders: ReminderPolicy | None = None,
        schedule: ScheduleSettings | None = None,
        analysts: Collection[int] = (),
        report: ReportSettings | None = None,
        broadcast_rate: float = DEFAULT_RATE,
        broadcast_check_seconds: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        retry: RetryPolicy = DEFAULT_POLICY,
        library: str = DEFAULT_LIBRARY,
    ) -> None:
        # The library that parses each update and sends the employer's replies.
        self.library = library
        # The bot's Telegram id (its polling lock's name), read off the token.
        self.bot_id = bot_id_of(token)
        self.adapter = build_adapter(library, token, api_url, retry, self._unreachable)
        # What fetches updates, sets the webhook and the command menus.
        self.account: BotAccount = self.adapter.account
        # What the employer's replies, reminders, reports and apologies are sent with.
        self.messenger: Sender = self.adapter.messenger
        # The one way this bot's async code reaches the database (storage.units), shared by
        # the interviewer, the staff's desk, follow-ups, broadcasts, menus and the inbox.
        self.units = Units(database)
        self.interviewer = Interviewer(
            interview=interview,
            database=database,
            delivery=self.messenger,
            area=area,
            zone=zone,
            units=self.units,
        )
        self.follow_ups = FollowUps(
            units=self.units,
            database=database,
            delivery=self.messenger,
            interview=interview,
            # Without their settings: the defaults, in the bot's zone and area.
            policy=reminders or ReminderPolicy(zone=zone),
            analysts=analysts,
            report=report or ReportSettings(area=area, zone=zone),
        )
        # The follow-up jobs run only when a schedule is given (skillsbot run gives one).
        # `clock` gives the jobs their `now` (tests set it to a Saturday night, say).
        self.scheduler = FollowUpScheduler(self.follow_ups, schedule, clock) if schedule else None
        self.analysts = tuple(analysts)
        # Broadcasts go with the library chosen, through the calls its messenger makes.
        self.broadcaster = Broadcaster(
            self.messenger.calls, database, rate=broadcast_rate, units=self.units
        )
        # The staff's side of the core; the transport hands it the staff's updates.
        staff = StaffDesk(
            self.interviewer,
            follow_ups=self.follow_ups,
            analysts=self.analysts,
            refresh_menu=self.refresh_menu,
            start_broadcast=self.broadcaster.start,
        )
        self.transport = self.adapter.transport(staff)
        self.broadcast_check_seconds = broadcast_check_seconds
        self.database = database
        self.polling_timeout = polling_timeout
        # Handles what reaches the inbox, from this process or any other.
        self.inbox = InboxWorkers(
            database,
            self.handle,
            on_failure=self._failed,
            concurrency=max_in_flight,
            units=self.units,
        )
        self.polling: PollingLoop | None = None  # while this process polls
        self._stopping = asyncio.Event()

    async def accept(self, updates: Sequence[RawUpdate]) -> int:
        """Write updates to the inbox (committed when this returns: only then confirm them to
        Telegram) and wake the workers; how many were new. Raises when the database is away."""
        return await self.inbox.accept(updates)

    async def handle(self, raw: RawUpdate) -> None:
        """Handle one update (Telegram's JSON) here, with the library chosen (its transport).

        Raises `TryLater` when the database is away or busy (see `storage.is_transient`),
        so that the update is tried again rather than given up."""
        try:
            await self.transport.handle(raw)
        except Exception as error:
            if is_transient(error):
                raise TryLater from error
            raise

    async def _failed(self, raw: RawUpdate) -> None:
        """An update was given up after failing every time: tell the person."""
        query = raw.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            await self.messenger.answer_callback(query["id"], NOT_SAVED_NOTICE)
        chat_id = update_chat_id(raw)
        if chat_id is not None and chat_id > 0:  # a person's private chat
            await self.messenger.send(chat_id, Outgoing(NOT_SAVED))

    async def refresh_menu(self, user_id: int) -> None:
        """Set one person's command menu to their role's (after /staff, or their /start),
        with the library chosen (`bot.runtime.menus`)."""
        await CommandMenus(self.account, self.units).bring_up_to_date(only={user_id})

    async def _unreachable(self, chat_id: int) -> None:
        await self.interviewer.chat_closed(chat_id)

    async def register_commands(self) -> None:
        """Show the bot's commands in Telegram's menu (setMyCommands)."""
        await self.account.set_commands(BOT_COMMANDS)

    async def run(self, *, polling: bool = True) -> None:
        """Until `stop()`: handle from the inbox, run the scheduled jobs and broadcasts, and
        (unless `polling` is False: a webhook feeds `accept`) poll Telegram. On PostgreSQL
        only the process holding the polling lock polls; the others wait to take over.
        Raises `PollingConflict` when another bot polls the token."""
        try:
            await self.register_commands()
        except (TelegramUnavailable, TelegramRefused) as error:  # the retry policy gave up
            # The menu is a nicety; answering people is not. Poll anyway.
            logger.warning("event=set_commands_failed error=%s", type(error).__name__)
        if self.scheduler is not None:
            self.scheduler.start()
        # Starts scheduled broadcasts when due and resumes those a dead sender left.
        watching = asyncio.Event()
        watcher = asyncio.gather(
            self.broadcaster.watch(watching, interval=self.broadcast_check_seconds),
            keep_menus(self.account, self.units, watching),  # staff's menus
        )
        workers = asyncio.create_task(self.inbox.run(), name="inbox-workers")
        try:
            if not polling:
                await self._stopping.wait()
            elif self.database.dialect.name == "postgresql":
                await self._poll_when_leader()
            else:
                await self._poll()
        finally:
            # What was written just before stopping is handled now, not at the next start.
            self.inbox.stop(drain_seconds=DRAIN_SECONDS)
            await workers
            watching.set()
            await watcher
            await self.broadcaster.shutdown()
            if self.scheduler is not None:
                self.scheduler.shutdown()

    async def _poll(self, *, newcomer_seconds: float = 2.0) -> None:
        """Poll Telegram into the inbox until `stop()` (or the loop is stopped)."""
        self.polling = PollingLoop(
            self.account,
            self.accept,
            timeout=self.polling_timeout,
            newcomer_seconds=newcomer_seconds,
        )
        try:
            if not self._stopping.is_set():
                await self.polling.run()
        finally:
            self.polling = None

    async def _poll_when_leader(self) -> None:
        """Take the cluster's polling lock (trying every `LEADERSHIP_SECONDS`), poll while
        holding it, and contend again if it is lost (the database connection dropped)."""
        # One lock per bot (the token's bot id) and database: other bots may poll alongside.
        # Session-level, held on a connection of its own for as long as this process polls:
        # not a unit of work. Taken and let go on a thread (PostgreSQL's round trip).
        lock = SessionLock(self.database, polling_lock_name(self.bot_id))
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping.is_set():
                try:
                    leader = await loop.run_in_executor(None, lock.hold)
                except Exception as error:
                    logger.warning("event=polling_lock_failed error=%s", type(error).__name__)
                    leader = False
                if not leader:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), LEADERSHIP_SECONDS)
                    continue
                logger.info("event=polling_leader")
                guard = asyncio.create_task(self._keep_leadership(lock))
                try:
                    # Taking over from a leader that died, a 409 may come from its last poll.
                    await self._poll(newcomer_seconds=0.0)
                finally:
                    guard.cancel()
                    await asyncio.gather(guard, return_exceptions=True)
        finally:
            await loop.run_in_executor(None, lock.release)

    async def _keep_leadership(self, lock: SessionLock) -> None:
        """Stop polling when the polling lock's connection is lost (another may take it)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(LEADERSHIP_SECONDS)
            if not await loop.run_in_executor(None, lock.hold):
                break
        logger.warning("event=polling_lock_lost")
        if self.polling is not None:
            self.polling.stop()

    def stop(self) -> None:
        """Stop fetching; `run()` returns once the updates in hand are finished."""
        self._stopping.set()
        if self.polling is not None:
            self.polling.stop()

    async def close(self) -> None:
        """Close the library's HTTP connections and the database worker threads."""
        try:
            try:
                await self.interviewer.aclose()
            finally:
                await self.units.aclose()  # after the interviewer's last unit
        finally:
            try:
                await self.transport.aclose()
            finally:
                await self.adapter.aclose()


def build_employer_bot(
    settings: Settings,
    interview: Interview,
    database: Engine,
    *,
    scheduled: bool = True,
    polling_timeout: int = 25,
) -> EmployerBot:
    """The bot as the settings describe it: reminders, follow-up jobs (unless not
    `scheduled`), report, analysts, retries and library as configured.

    `skillsbot run` and the playground both build their bot here, so that a setting is
    honoured by both; the playground only hands in settings whose token and API URL are
    its fake Telegram's.
    """
    from bot.settings import retry_policy  # settings' validators load no Telegram library

    return EmployerBot(
        token=settings.token.get_secret_value(),
        api_url=settings.api_url,
        database=database,
        interview=interview,
        area=settings.area,
        zone=settings.zone,
        polling_timeout=polling_timeout,
        broadcast_rate=settings.broadcast_rate,
        reminders=ReminderPolicy(
            delays=settings.reminder_delays,
            quiet_start=settings.quiet_hours[0],
            quiet_end=settings.quiet_hours[1],
            weekends=settings.reminder_weekends,
            max_reminders=settings.max_reminders,
            zone=settings.zone,
        ),
        schedule=ScheduleSettings(
            dispatch_seconds=settings.dispatch_seconds,
            weekly_cron=settings.weekly_cron,
            zone=settings.zone,
            inbox_retention=timedelta(days=settings.inbox_retention_days),
        )
        if scheduled
        else None,
        analysts=settings.analysts,
        report=settings.report,
        retry=retry_policy(settings),
        library=settings.telegram_library,
    )
