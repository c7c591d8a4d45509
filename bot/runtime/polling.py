"""Long polling that writes first, then confirms.

Each batch getUpdates returns is handed to `accept` (which commits it to the inbox, see
`storage.inbox`); only then does the next getUpdates carry the offset past it, which tells
Telegram the batch is ours. Handling is someone else's business (`bot.runtime.inbox_worker`), so a
slow or failing chat holds up no polling window. A crash before the commit loses nothing
(Telegram sends the batch again); a crash after it neither (the inbox has it, and a second
delivery of the same ids is ignored).

In a cluster on PostgreSQL only one process polls at a time: `bot.runtime.app` holds the polling
leadership (an advisory lock) around this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.core.updates import RawUpdate
from bot.runtime.inbox_worker import Backoff, TryLater
from bot.transports import (
    BotAccount,
    PollingConflict,
    TelegramRefused,
    TelegramUnavailable,
    Unauthorized,
)
from storage.inbox import chat_key, update_id_of

__all__ = ["Backoff", "PollingLoop", "RawUpdate", "TryLater", "update_chat_id"]

logger = logging.getLogger("skillsbot.polling")

Accept = Callable[[Sequence[RawUpdate]], Awaitable[Any]]
update_chat_id = chat_key  # the chat an update belongs to (kept under its old name)

# Errors after which fetching starts again after a backoff. The bot's retry policy
# (`bot.retry`) has already tried the call again and given up; polling never gives up.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (TelegramUnavailable, TimeoutError, OSError)
# A bot token ("123456:AA..."), blanked from anything logged: a proxy's page may echo the URL.
_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{6,}")


class PollingLoop:
    """Fetch updates with getUpdates, `accept` each batch, then confirm it by the offset.

    `run()` returns after `stop()`, having confirmed what was accepted. When `accept`
    raises (the database is away), the batch is not confirmed: the same offset is asked
    again after a backoff, and Telegram sends the batch again.

    It raises `PollingConflict` when another process polls the same token: at once if
    the 409 comes within `newcomer_seconds` of our first poll (we are the newcomer), else
    only when the conflict persists for `conflicts_tolerated` polls in a row. So a second
    process gives up after its first 409, and the bot that was already serving carries on.
    (The two sides of a conflict both see a 409 on a waiting poll; only its timing tells
    them apart: the serving bot polls again about half a second after the newcomer's first
    poll ended its own.)
    """

    def __init__(
        self,
        account: BotAccount,
        accept: Accept,
        *,
        timeout: int = 25,
        allowed_updates: list[str] | None = None,
        backoff_cap: float = 30.0,
        conflicts_tolerated: int = 3,
        newcomer_seconds: float = 2.0,
    ) -> None:
        self.account = account
        self.accept = accept
        self.timeout = timeout
        self.allowed_updates = allowed_updates or ["message", "callback_query", "my_chat_member"]
        self.backoff = Backoff(cap=backoff_cap)
        self.conflicts_tolerated = conflicts_tolerated
        self.newcomer_seconds = newcomer_seconds
        self.offset = 0  # every update below it is in the inbox
        self._confirmed = 0  # the offset Telegram was last sent
        self._conflicts = 0  # 409s in a row
        self._first_poll: float | None = None  # loop time of our first getUpdates
        self._stopping = asyncio.Event()
        self._fetch: asyncio.Future[list[RawUpdate]] | None = None
        # What Telegram said while it refuses getUpdates for good (a 403 or 404: the bot
        # deleted, a proxy in the way), for a health check; None while polling works.
        self.refused: str | None = None

    def stop(self) -> None:
        """Stop fetching; `run()` returns once the offset is confirmed."""
        self._stopping.set()
        if self._fetch is not None:
            self._fetch.cancel()

    async def run(self) -> None:
        """Poll until `stop()`; see the class docstring."""
        try:
            await self._poll()
        finally:
            await self._confirm()

    async def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                updates = await self._get_updates(self.timeout)
            except asyncio.CancelledError:
                if self._stopping.is_set():
                    return
                raise
            except PollingConflict:
                self._conflicts += 1
                if self._newcomer() or self._conflicts >= self.conflicts_tolerated:
                    raise
                await self._retry("get_updates_conflict")
                continue
            except TRANSIENT_ERRORS as error:
                await self._retry("get_updates_failed", error)
                continue
            except Unauthorized:
                raise  # the token is wrong: `skillsbot run` says so and stops
            except TelegramRefused as error:  # a 400 or 403 (a proxy's page, say): the
                self._refused(error)  # same offset, later; said loudly, once
                await self._retry("get_updates_refused", error)
                continue
            self._conflicts = 0
            self.refused = None
            ids = [uid for uid in map(update_id_of, updates) if uid is not None]
            fresh = [raw for raw in updates if (update_id_of(raw) or -1) >= self.offset]
            if fresh:
                try:
                    await self.accept(fresh)
                except Exception as error:  # nothing confirmed: Telegram sends them again
                    await self._retry("inbox_write_failed", error)
                    continue
            self.backoff.reset()
            if ids:
                self.offset = max(self.offset, max(ids) + 1)

    async def _retry(self, event: str, error: BaseException | None = None) -> None:
        delay = self.backoff.next_delay()
        kind = type(error).__name__ if error is not None else "conflict"
        logger.warning("event=%s error=%s retry_in=%.1fs", event, kind, delay)
        await self._sleep(delay)

    def _refused(self, error: TelegramRefused) -> None:
        """Note a refusal for good; the first since polling last worked is an ERROR with
        Telegram's description (no token), the tries after it the usual warnings."""
        described = " ".join(_TOKEN.sub("<token>", str(error)).split())[:200] or "(none)"
        if self.refused is None:
            logger.error(
                "event=get_updates_refused error=%s description=%r "
                "(polling goes on trying; nothing arrives until this is mended)",
                type(error).__name__,
                described,
            )
        self.refused = described

    def _newcomer(self) -> bool:
        """Whether we started polling only just now (then a 409 means we are the second)."""
        now = asyncio.get_running_loop().time()
        return self._first_poll is None or now - self._first_poll < self.newcomer_seconds

    async def _get_updates(self, wait_seconds: int) -> list[RawUpdate]:
        if self._first_poll is None:
            self._first_poll = asyncio.get_running_loop().time()
        fetch = self.account.get_updates(
            offset=self.offset or None,
            poll_seconds=wait_seconds,
            allowed_updates=self.allowed_updates,
        )
        self._fetch = asyncio.ensure_future(fetch)
        try:
            result = await self._fetch
        finally:
            self._fetch = None
        self._confirmed = max(self._confirmed, self.offset)
        return result

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _confirm(self) -> None:
        """Tell Telegram the updates accepted are ours (a getUpdates with the offset)."""
        if self.offset <= self._confirmed:
            return
        try:
            await self.account.get_updates(offset=self.offset, poll_seconds=0, limit=1)
        except Exception as error:  # a failed confirmation only means a harmless re-delivery
            logger.warning("event=confirm_failed error=%s", type(error).__name__)
        else:
            self._confirmed = self.offset
            logger.info("event=offset_confirmed offset=%s", self.offset)
