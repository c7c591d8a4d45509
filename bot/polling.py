"""Long polling that loses nothing.

aiogram's own polling confirms an update (by asking for the next offset) before it has been
handled, so a crash in between loses it. This loop confirms an update only once its
handling has FINISHED, and only past the contiguous prefix of finished updates: after a
crash, Telegram delivers again whatever was not finished (the database's processed-update
record makes the second delivery harmless).

Updates of different chats are handled concurrently; updates of one chat in order, by one
worker task per chat. The number of updates in hand is bounded. Updates reach the handler
as Telegram's JSON (a dict): it parses them where it handles them, in this process or in a
worker process (see `bot.workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.exceptions import (
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response

logger = logging.getLogger("skillsbot.polling")

RawUpdate = dict[str, Any]
UpdateHandler = Callable[[RawUpdate], Awaitable[Any]]


class TryLater(Exception):  # noqa: N818 (an instruction, like StopIteration)
    """Handling failed for a reason that should pass (the database is away), not because of
    the update: the polling loop tries it again until it succeeds, and never confirms it
    meanwhile."""


# Errors after which fetching is retried with backoff: the network or Telegram is unwell.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TelegramNetworkError,
    TelegramServerError,
    TimeoutError,
    OSError,
)


# The update kinds whose payload names a chat directly; a button press names its message's.
_CHAT_PAYLOADS = ("message", "edited_message", "my_chat_member")


def update_chat_id(raw: RawUpdate) -> int | None:
    """The chat an update belongs to (updates of one chat are handled in order)."""
    for kind in _CHAT_PAYLOADS:
        payload = raw.get(kind)
        if isinstance(payload, dict):
            return _int_or_none(payload.get("chat"))
    query = raw.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict):
            return _int_or_none(message.get("chat"))
        return _int_or_none(query.get("from"))
    return None


def _int_or_none(holder: Any) -> int | None:
    """The `id` of a chat or user object, if it has an integer one."""
    value = holder.get("id") if isinstance(holder, dict) else None
    return value if isinstance(value, int) else None


class RawGetUpdates(GetUpdates):
    """getUpdates whose result stays JSON, so that only updates not seen before are parsed.

    While updates are in hand every poll returns them again (they are not confirmed yet);
    turning each of them into aiogram objects on every poll was the bot's main cost under
    load (hundreds of pydantic validations per answer with many employers at once). The
    list is not validated by pydantic either (that copied every dict of every poll):
    `_get_updates` keeps the items that are JSON objects.
    """

    __returning__ = Any  # type: ignore[assignment]


# Kept alive: pydantic caches parametrized generic models only weakly (see bot.app).
RAW_UPDATES_RESPONSE = Response[Any]


class Backoff:
    """Capped exponential delays: 0.5 s, 1 s, 2 s, ... up to `cap`."""

    def __init__(self, *, first: float = 0.5, cap: float = 30.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; grows with each failure."""
        delay = min(self.cap, self.first * 2.0**self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        """Back to the first delay after a success."""
        self.failures = 0


class PollingLoop:
    """Fetch updates with getUpdates and hand each to `handle`, confirming only finished ones.

    `run()` returns after `stop()` once the updates in hand have finished and their offset
    has been confirmed. It raises `TelegramConflictError` when another process polls the
    same token (after letting the updates in hand finish): at once if the 409 comes within
    `newcomer_seconds` of our first poll (we are the newcomer), else only when the conflict
    persists for `conflicts_tolerated` polls in a row. So a second process gives up after
    its first 409, and the bot that was already serving carries on.

    The two sides of a conflict see the same thing, a 409 on a waiting poll, so only its
    timing tells them apart. The newcomer's first poll ends the serving bot's waiting one;
    the serving bot polls again after `Backoff`'s first delay (0.5 s), and that ends the
    newcomer's, about half a second into its life. `newcomer_seconds` must sit between that
    and the time a second process takes to start and poll (about 3 s at the fastest seen):
    at 5 s a bot started on a fast machine took the serving one for the newcomer, and the
    serving one stopped.
    """

    def __init__(
        self,
        bot: Bot,
        handle: UpdateHandler,
        *,
        timeout: int = 25,
        allowed_updates: list[str] | None = None,
        max_in_flight: int = 100,
        backoff_cap: float = 30.0,
        handling_attempts: int = 3,
        on_failure: UpdateHandler | None = None,
        conflicts_tolerated: int = 3,
        newcomer_seconds: float = 2.0,
        busy_poll_interval: float = 0.05,
    ) -> None:
        self.bot = bot
        self.handle = handle
        self.timeout = timeout
        self.allowed_updates = allowed_updates or ["message", "callback_query", "my_chat_member"]
        self.max_in_flight = max_in_flight
        self.backoff = Backoff(cap=backoff_cap)
        self.handling_attempts = handling_attempts
        self.on_failure = on_failure
        self.conflicts_tolerated = conflicts_tolerated
        self.newcomer_seconds = newcomer_seconds
        self.busy_poll_interval = busy_poll_interval
        self._last_poll = 0.0  # loop time of our latest getUpdates
        self._conflicts = 0  # 409s in a row
        self._first_poll: float | None = None  # loop time of our first getUpdates
        self.confirmed_offset = 0  # every update below this id is finished
        self._pending: set[int] = set()  # fetched, not finished
        self._finished: set[int] = set()  # finished, above a pending one
        self._highest = -1
        self._chats: dict[int | None, deque[RawUpdate]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._progress = asyncio.Event()
        self._stopping = asyncio.Event()
        self._fetch: asyncio.Task[Any] | None = None

    @property
    def in_flight(self) -> int:
        """How many fetched updates have not finished yet."""
        return len(self._pending)

    @property
    def next_offset(self) -> int:
        """The offset that confirms every finished update of the contiguous prefix."""
        if self._pending:
            return min(self._pending)
        return self._highest + 1 if self._highest >= 0 else self.confirmed_offset

    def stop(self) -> None:
        """Ask the loop to stop fetching; `run()` returns once the updates in hand finish."""
        self._stopping.set()
        if self._fetch is not None:
            self._fetch.cancel()

    async def run(self) -> None:
        """Poll until `stop()`; see the class docstring."""
        try:
            await self._poll()
        finally:
            await self._drain()
        await self._confirm()

    async def _poll(self) -> None:
        while not self._stopping.is_set():
            if self.in_flight >= self.max_in_flight:
                self._progress.clear()
                await self._wait_for_progress(1.0)
                continue
            # While updates are in hand Telegram answers at once (it re-sends the ones not
            # yet confirmed), so poll without waiting and pause for progress instead; and
            # at most every `busy_poll_interval`, as each such poll returns them all again.
            timeout = 0 if self._pending else self.timeout
            if self._pending:
                loop_time = asyncio.get_running_loop().time()
                await self._sleep(self._last_poll + self.busy_poll_interval - loop_time)
            self._progress.clear()  # set again by any update finishing from now on
            try:
                updates = await self._get_updates(timeout)
            except asyncio.CancelledError:
                if self._stopping.is_set():
                    return
                raise
            except TelegramConflictError:
                self._conflicts += 1
                if self._newcomer() or self._conflicts >= self.conflicts_tolerated:
                    raise
                delay = self.backoff.next_delay()
                logger.warning("event=get_updates_conflict retry_in=%.1fs", delay)
                await self._sleep(delay)
                continue
            except TelegramRetryAfter as error:
                logger.warning("event=get_updates_throttled retry_after=%s", error.retry_after)
                await self._sleep(error.retry_after)
                continue
            except TRANSIENT_ERRORS as error:
                delay = self.backoff.next_delay()
                logger.warning(
                    "event=get_updates_failed error=%s retry_in=%.1fs", type(error).__name__, delay
                )
                await self._sleep(delay)
                continue
            self.backoff.reset()
            self._conflicts = 0
            fresh = [raw for raw in updates if _update_id(raw) > self._highest]
            for update in fresh:
                self._accept(update)
            if not fresh and self._pending:
                await self._wait_for_progress(0.5)

    def _newcomer(self) -> bool:
        """Whether we started polling only just now (then a 409 means we are the second)."""
        now = asyncio.get_running_loop().time()
        return self._first_poll is None or now - self._first_poll < self.newcomer_seconds

    async def _get_updates(self, wait_seconds: int) -> list[RawUpdate]:
        self._last_poll = asyncio.get_running_loop().time()
        if self._first_poll is None:
            self._first_poll = self._last_poll
        method = RawGetUpdates(
            offset=self.next_offset or None,
            timeout=wait_seconds,
            allowed_updates=self.allowed_updates,
        )
        request_timeout = int((self.bot.session.timeout or 60) + wait_seconds)
        # GetUpdates' static type promises parsed updates; this subclass returns them raw.
        raw_method = cast("TelegramMethod[Any]", method)
        self._fetch = asyncio.ensure_future(self.bot(raw_method, request_timeout=request_timeout))
        try:
            result = await self._fetch
        finally:
            self._fetch = None
        if not isinstance(result, list):
            return []
        return [update for update in result if isinstance(update, dict)]

    def _accept(self, update: RawUpdate) -> None:
        uid = _update_id(update)
        self._pending.add(uid)
        self._highest = max(self._highest, uid)
        chat = update_chat_id(update)
        if chat is None:
            chat_key: int | None = -uid - 1  # no chat: nothing to keep in order with
        else:
            chat_key = chat
        queue = self._chats.get(chat_key)
        if queue is not None:
            queue.append(update)
            return
        self._chats[chat_key] = deque([update])
        worker = asyncio.create_task(self._work(chat_key), name=f"chat-worker-{uid}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, chat_key: int | None) -> None:
        queue = self._chats[chat_key]
        try:
            while queue:
                update = queue[0]
                finished = False
                try:
                    finished = await self._handle_with_retries(update)
                finally:
                    if finished or not self._stopping.is_set():
                        queue.popleft()
                        self._finish(_update_id(update))
                if not finished:
                    # Stopping while the database is away: this update and the rest of the
                    # chat's stay unconfirmed, and Telegram sends them again after a restart.
                    break
        finally:
            del self._chats[chat_key]

    async def _handle_with_retries(self, update: RawUpdate) -> bool:
        """Handle an update, trying again on failure; whether it is finished with.

        Handling is one transaction that claims the update id, so a failed attempt left
        nothing behind and a retry after a success changes nothing. `TryLater` (the
        database is away) is tried again for as long as it takes, with backoff; False
        means the loop was stopped meanwhile. Any other failure is tried
        `handling_attempts` times, then given up: `on_failure` tells the person, and the
        update counts as finished, so that one update that always fails cannot hold up
        everyone's.
        """
        backoff = Backoff(first=0.5, cap=self.backoff.cap)
        # The database back, people should not wait long for their answers to go through.
        patience = Backoff(first=0.5, cap=min(5.0, self.backoff.cap))
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.handle(update)
                return True
            except TryLater as error:
                cause = error.__cause__ or error
                logger.warning(
                    "event=update_deferred update_id=%s error=%s attempt=%s",
                    _update_id(update),
                    type(cause).__name__,
                    attempt,
                )
                attempt = 0  # only failures of the update itself count towards giving up
                if self._stopping.is_set():
                    return False
                await self._sleep(patience.next_delay())
                if self._stopping.is_set():
                    return False
                continue
            except Exception as error:
                # Only the exception's type: its text may quote what a person sent.
                logger.error(
                    "event=update_failed update_id=%s error=%s attempt=%s",
                    _update_id(update),
                    type(error).__name__,
                    attempt,
                )
                logger.debug("update %s failed", _update_id(update), exc_info=True)
            if attempt >= self.handling_attempts:
                break
            await asyncio.sleep(backoff.next_delay())
        logger.error("event=update_given_up update_id=%s", _update_id(update))
        if self.on_failure is not None:
            try:
                await self.on_failure(update)
            except Exception as error:
                logger.error("event=failure_notice_failed error=%s", type(error).__name__)
        return True

    def _finish(self, uid: int) -> None:
        self._pending.discard(uid)
        self._finished.add(uid)
        floor = self.next_offset
        self._finished = {done for done in self._finished if done >= floor}
        self.confirmed_offset = max(self.confirmed_offset, floor)
        self._progress.set()

    async def _wait_for_progress(self, seconds: float) -> None:
        waiters = [
            asyncio.ensure_future(self._progress.wait()),
            asyncio.ensure_future(self._stopping.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _drain(self) -> None:
        while self._workers:
            await asyncio.gather(*list(self._workers), return_exceptions=True)

    async def _confirm(self) -> None:
        """Tell Telegram that every finished update is done (a getUpdates with the offset)."""
        if self._highest < 0:
            return
        try:
            await self.bot(GetUpdates(offset=self.next_offset, timeout=0, limit=1))
        except Exception as error:  # a failed confirmation only means a harmless re-delivery
            logger.warning("event=confirm_failed error=%s", type(error).__name__)
        else:
            logger.info("event=offset_confirmed offset=%s", self.next_offset)


def _update_id(raw: RawUpdate) -> int:
    """An update's id (-1 for JSON without one, which is then never handled)."""
    value = raw.get("update_id")
    return value if isinstance(value, int) else -1
