"""Handling updates from the inbox (`storage.inbox`), in any number of processes.

`InboxWorkers.run()` claims updates the inbox says may be handled now (one chat's in
order, one at a time; different chats in parallel), handles each as its own task, and
marks it complete. It is woken when updates arrive: by `accept()` in this process, by
PostgreSQL's NOTIFY from any process, and in any case every `poll_seconds`.

Failures keep the policy polling had: a failure that should pass (the database away or
busy: `TryLater`) is tried again with backoff for as long as it takes; any other failure
gives the update back to be tried again (by any process) after a short delay, and on its
`handling_attempts`-th try sets it aside with `on_failure` (an apology to the person).

Ownership (see `storage.inbox`): the workers' leases are held under one owner id, and on
PostgreSQL the process holds that id's advisory lock (`storage.locks.SessionLock`) for as
long as it runs; it claims only while it holds it. Every `reap_seconds` it checks its lock
and gives back the leases of owners whose lock is free, so a process that died has its
updates taken over within a second or two, and a live one, however slow, keeps its own.
Each update is handled with its lease declared (`storage.inbox.holding`), so the handling
transaction commits only while the lease is still ours (else `LeaseLost`: the update is
another process's now, and is left to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from bot.core.updates import RawUpdate
from storage import Engine, Units, locks
from storage import inbox as inbox_store
from storage.units import is_transient

logger = logging.getLogger("skillsbot.inbox")

_LOST = "lost"  # a handling outcome: the lease is another process's now
UpdateHandler = Callable[[RawUpdate], Awaitable[Any]]


class TryLater(Exception):  # noqa: N818 (an instruction, like StopIteration)
    """Handling failed for a reason that should pass (the database is away), not because of
    the update: it is tried again until it succeeds."""


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


def worker_name() -> str:
    """This process's name on its leases: host, process id and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class InboxWorkers:
    """Claim, handle and complete inbox updates until `stop()`; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        handle: UpdateHandler,
        *,
        on_failure: UpdateHandler | None = None,
        concurrency: int = 100,
        handling_attempts: int = 3,
        poll_seconds: float = 1.0,
        retry_seconds: float = 0.5,
        reap_seconds: float = 1.0,
        units: Units | None = None,
    ) -> None:
        self.engine = engine
        # How the inbox's writes reach the database (the bot's one `Units`, else its own,
        # let go when `run()` ends).
        self.units = units or Units(engine)
        self._owns_units = units is None
        self.handle = handle
        self.on_failure = on_failure
        self.concurrency = concurrency
        self.handling_attempts = handling_attempts
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.reap_seconds = reap_seconds
        self.owner = worker_name()
        self._postgres = engine.dialect.name == "postgresql"
        # This process's claim to its leases (PostgreSQL; always held on SQLite).
        self.owner_lock = locks.SessionLock(engine, locks.inbox_owner_lock_name(self.owner))
        self._in_hand: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._progress = asyncio.Event()  # set, and replaced, whenever an update settles
        self._draining = False
        self._drain_until = 0.0
        # Handled, not yet marked done: the next claim's transaction marks them (one
        # transaction for many, rather than one each).
        self._done: list[int] = []

    # -- the transport's side ------------------------------------------------------------------

    async def accept(self, updates: Sequence[RawUpdate]) -> int:
        """Write updates to the inbox (committed when this returns) and wake the workers;
        how many were new. Raises what the database raised: then confirm nothing."""
        if not any(inbox_store.update_id_of(raw) is not None for raw in updates):
            return 0  # nothing to write (nothing could confirm them either)
        new = await self.units.call(inbox_store.accept_in, list(updates))
        if new:
            self.wake()
        return new

    def wake(self) -> None:
        """Look for claimable updates now rather than at the next poll."""
        self._wakeup.set()

    async def progress(self, timeout: float) -> None:  # noqa: ASYNC109
        """Return when this process next records an update's outcome (done, given back or
        set aside), or after `timeout` seconds (for tests and tools that wait on the inbox)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout=timeout)

    def stop(self, *, drain_seconds: float = 0.0) -> None:
        """Stop: `run()` returns once the updates in hand are finished (or, for those
        waiting for the database, given back). With `drain_seconds`, it first goes on
        claiming for up to that long, until nothing is left that it may handle (what was
        accepted just before stopping, say)."""
        loop = asyncio.get_running_loop()
        self._drain_until = loop.time() + drain_seconds
        if drain_seconds <= 0:
            self._stopping.set()
        self._draining = True
        self._wakeup.set()

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Claim and handle until `stop()`."""
        helpers: list[asyncio.Task[None]] = []
        if self._postgres:
            await self._keep_ownership()  # the owner lock first: claims need it
            helpers.append(asyncio.create_task(self._ownership(), name="inbox-ownership"))
            helpers.append(asyncio.create_task(self._listen(), name="inbox-listen"))
        backoff = Backoff(cap=5.0)
        try:
            while not self._stopping.is_set():
                if self._draining and asyncio.get_running_loop().time() >= self._drain_until:
                    break
                free = self.concurrency - len(self._in_hand)
                if free <= 0 or not self.owner_lock.held:
                    await self._wait(self.poll_seconds)
                    continue
                self._wakeup.clear()
                done, self._done = self._done, []
                try:
                    claimed = await self.units.call(
                        inbox_store.claim_in,
                        owner=self.owner,
                        limit=free,
                        done=done,
                    )
                except Exception as error:
                    self._done[:0] = done  # marked done next time (else the leases lapse)
                    logger.warning("event=inbox_claim_failed error=%s", type(error).__name__)
                    await self._sleep(backoff.next_delay())
                    continue
                backoff.reset()
                if done:
                    self._settled()
                for item in claimed:
                    task = asyncio.create_task(self._work(item), name=f"update-{item.update_id}")
                    self._in_hand.add(task)
                    task.add_done_callback(self._finished)
                if len(claimed) < free:
                    if self._draining and self._drained(claimed):
                        break
                    await self._wait(self.poll_seconds)
        finally:
            self._stopping.set()
            while self._in_hand:
                await asyncio.gather(*list(self._in_hand), return_exceptions=True)
            if self._done:
                done, self._done = self._done, []
                if await self._settle(inbox_store.claim_in, owner=self.owner, limit=0, done=done):
                    self._settled()
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.units.call(inbox_store.release_in, owner=self.owner)
            # The owner lock is session-level, on a connection of its own (storage.locks):
            # held for the process's life, it cannot be a unit of work. On a thread.
            await asyncio.get_running_loop().run_in_executor(None, self.owner_lock.release)
            if self._owns_units:
                await self.units.aclose()

    def _drained(self, claimed: list[inbox_store.ClaimedUpdate]) -> bool:
        """While draining: whether to stop now (nothing was claimable, and nothing is in
        hand whose chat may have more)."""
        return not claimed and not self._in_hand

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_hand.discard(task)
        self._wakeup.set()  # to mark it done; its chat's next update may be claimable then

    def _settled(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    async def _work(self, item: inbox_store.ClaimedUpdate) -> None:
        """Handle one claimed update to the end: complete, given back, or set aside."""
        # This task's handling transactions are fenced on the lease (see the module).
        inbox_store.holding(inbox_store.Lease(item.update_id, self.owner))
        try:
            outcome = await self._handle(item)
        except Exception as error:  # a fault of ours in this very function: never lose it
            logger.error("event=inbox_worker_error error=%s", type(error).__name__)
            return
        if outcome is None:
            return  # stopping while the database is away: the lease is given back at the end
        if outcome == _LOST:
            logger.warning("event=update_lease_lost update_id=%s", item.update_id)
            return  # another process has it now (this one lost its owner lock)
        if outcome == "done":
            self._done.append(item.update_id)  # marked by the next claim, see run()
            return
        if item.attempts < self.handling_attempts:
            delay = timedelta(seconds=self.retry_seconds * 2 ** (item.attempts - 1))
            await self._settle(
                inbox_store.retry_later_in,
                item.update_id,
                owner=self.owner,
                error=outcome,
                delay=delay,
            )
            return
        logger.error("event=update_given_up update_id=%s error=%s", item.update_id, outcome)
        # The apology first, so that an update set aside is one finished with.
        if self.on_failure is not None:
            try:
                await self.on_failure(item.payload)
            except Exception as error:
                logger.error("event=failure_notice_failed error=%s", type(error).__name__)
        await self._settle(
            inbox_store.set_aside_in, item.update_id, owner=self.owner, error=outcome
        )

    async def _handle(self, item: inbox_store.ClaimedUpdate) -> str | None:
        """Run the handler: "done", the class name of a failure, or None when stopped while
        the failure should pass (the database is away)."""
        patience = Backoff(first=0.5, cap=5.0)
        while True:
            try:
                await self.handle(item.payload)
                return "done"
            except inbox_store.LeaseLost:
                return _LOST
            except TryLater as error:
                cause = error.__cause__ or error
                logger.warning(
                    "event=update_deferred update_id=%s error=%s",
                    item.update_id,
                    type(cause).__name__,
                )
                if self._stopping.is_set():
                    return None
                await self._sleep(patience.next_delay())
                if self._stopping.is_set():
                    return None
            except Exception as error:
                # Only the exception's type: its text may quote what a person sent.
                logger.error(
                    "event=update_failed update_id=%s error=%s attempt=%s",
                    item.update_id,
                    type(error).__name__,
                    item.attempts,
                )
                logger.debug("update %s failed", item.update_id, exc_info=True)
                return type(error).__name__

    async def _settle(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Record an update's outcome, trying again while the database is away (until
        stopping: the lease is given back then, and handling it again changes nothing)."""
        patience = Backoff(first=0.2, cap=5.0)
        while True:
            try:
                await self.units.call(write, *args, **kwargs)
                self._settled()
                return True
            except Exception as error:
                logger.warning("event=inbox_write_failed error=%s", type(error).__name__)
                if not is_transient(error) or self._stopping.is_set():
                    return False
                await self._sleep(patience.next_delay())

    async def _ownership(self) -> None:
        """Keep the owner lock, and reap the leases of dead owners, every `reap_seconds`."""
        while True:
            await asyncio.sleep(self.reap_seconds)
            await self._keep_ownership()

    async def _keep_ownership(self) -> None:
        """Check (or take again) the owner lock; while held, give back dead owners' leases."""
        loop = asyncio.get_running_loop()
        # The owner lock: session-level, on a connection of its own (see `run`).
        if not await loop.run_in_executor(None, self.owner_lock.hold):
            return  # no claims until it is held again (our leases may be taken meanwhile)
        try:
            freed = await self.units.call(inbox_store.reap_in, owner=self.owner)
        except Exception as error:
            logger.warning("event=inbox_reap_failed error=%s", type(error).__name__)
            return
        if freed:
            logger.info("event=inbox_leases_taken_over updates=%s", freed)
            self.wake()

    async def _listen(self) -> None:
        """Wake on PostgreSQL's NOTIFY from any process; reconnect after a failure."""
        while True:
            try:
                async for _ in inbox_store.notifications(self.engine):
                    self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("event=inbox_listen_failed error=%s", type(error).__name__)
            await asyncio.sleep(2.0)

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
