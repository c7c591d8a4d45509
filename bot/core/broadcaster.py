"""The broadcast sender: paced to Telegram's limits, retrying what can be retried, crash-safe.

- `RateLimiter` spaces sends evenly (a leaky bucket of size one): at most `rate` a second
  overall and one a second per chat; `pause(seconds)` stops every sender at once, as
  Telegram's flood control (429 `retry_after`) is global to the bot.
- `Broadcaster.run(id)` takes the broadcast over, then workers repeat: wait for a turn,
  claim one delivery row whose chat may have a message now, send, record the outcome
  (storage/broadcasts.py explains why a crash never makes anyone receive the news twice).
  Claiming after the turn, and never a row whose chat must still wait (two broadcasts to
  one chat), keeps the rows a crash leaves 'unknown' to the calls really in flight (one
  per worker). A worker whose turn passed while it queued behind a slow claim (a busy
  database) takes a fresh turn before claiming, so sends delayed by claims never go in a
  burst with those on time. 403 marks
  the employer unreachable. Sends go through the chosen library's calls
  (`bot.core.sending.BotCalls`: aiogram's or python-telegram-bot's), as plain text. 429s,
  5xx and network errors are tried again by that library's one retry policy (`bot.retry`);
  the broadcaster joins in through its hooks (`BotCalls.on_flood`, `waiting_with`): every
  429, whichever call got it, pauses the limiter for all senders, and a retried send waits
  for a turn of the limiter (the overall rate and one message a second per chat hold for
  retries too). A send the policy gave up on is recorded as
  failed; the row stays claimed while it is retried (it is the worker's one call in
  doubt should the process die).
- Progress goes to `on_progress` at most every `progress_every` seconds, and to the staff
  member's chat as one message edited in place when the broadcast has a progress chat.

One sender per cluster. On PostgreSQL any number of bot processes (and `skillsbot broadcast
send`) may run; only the holder of the cluster's sender lock (storage/cluster.py) sends
broadcasts, so its `RateLimiter` is the whole cluster's: `SKILLSBOT_BROADCAST_RATE` and one
message a second per chat hold across all processes together. The others' `watch()` tries
the lock every `interval` seconds; the one that gets it when the holder dies takes its
broadcasts over at once (storage/broadcasts.py). The message in flight when a sender dies
is never sent again: its row is left 'unknown' (uncertain: it may or may not have
arrived), shown to staff in the final report and `skillsbot broadcast list`, and resent
only if staff ask (`skillsbot broadcast resend-unknown`). At most once, not at least once:
Telegram has no idempotency key, and news twice is worse than news missed by a few.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core.render import no_more_messages_keyboard
from bot.core.sending import Attachment, BotCalls, Posted, Refusal
from bot.retry import waiting_with
from storage import Session, Units, utcnow
from storage.broadcast_models import Broadcast
from storage.broadcasts import (
    STALE_OWNER,
    ChatsBusy,
    ClaimedDelivery,
    broadcasts_to_run,
    claim_next,
    delivery_counts,
    finish_broadcast,
    finish_delivery,
    get_broadcast,
    heartbeat,
    note_attempt,
    take_over,
    update_broadcast,
)
from storage.cluster import ClusterLock, ClusterRole

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

logger = logging.getLogger("skillsbot.broadcast")
DEFAULT_RATE = 25.0
# We pace at 97% of the configured rate: our clock and Telegram's see each send a few
# milliseconds apart, and the margin keeps every one-second window under the limit.
HEADROOM = 0.97
# One a second per chat, with a tenth of a second to spare: two sends a second apart here
# reach Telegram up to a request's travel time closer together.
PER_CHAT_INTERVAL = 1.1
BAR_WIDTH = 20
# A sender woken more than this share of an interval after its slot takes a new turn.
LATE_TOLERANCE = 0.5


class RateLimiter:
    """Even spacing of sends: `rate` a second overall, one a second per chat, global pauses.

    `clock` and `sleep` are injectable so that tests can run it on a virtual clock.
    """

    def __init__(
        self,
        rate: float,
        *,
        headroom: float = HEADROOM,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.interval = 1.0 / (rate * headroom)
        self.per_chat_interval = per_chat_interval
        self.clock = clock
        self.sleep = sleep
        self._next_slot = -math.inf
        self._paused_until = -math.inf
        self._chat_next: dict[int, float] = {}

    async def wait_turn(self, chat_id: int | None = None) -> float:
        """Return when this send may go (its overall slot and its chat's slot have come),
        with the slot's time (`late()` tells whether it has since passed too long ago)."""
        while True:
            now = self.clock()
            slot = max(now, self._next_slot, self._paused_until)
            if chat_id is not None:
                slot = max(slot, self._chat_next.get(chat_id, -math.inf))
            self._next_slot = slot + self.interval  # reserve the slot before sleeping
            if chat_id is not None:
                self._chat_next[chat_id] = slot + self.per_chat_interval
            if slot > now:
                await self.sleep(slot - now)
            woke = self.clock()
            if woke < self._paused_until:  # a 429 arrived while we waited
                continue
            # Woken late (a busy machine, a stalled event loop): every sender whose slot
            # passed meanwhile would go at once, a burst on top of the rate. A late one
            # takes a fresh turn instead, behind those still on time.
            if not self.late(slot, woke):
                return slot

    def late(self, slot: float, now: float | None = None) -> bool:
        """Whether a send whose turn came at `slot` is too late to go now: it would go in a
        burst with the sends that are on time, and must take a fresh turn."""
        return (self.clock() if now is None else now) - slot > self.interval * LATE_TOLERANCE

    def busy_chats(self) -> set[int]:
        """The chats that may not have a message yet (one within the last second)."""
        now = self.clock()
        for chat_id in [chat for chat, slot in self._chat_next.items() if slot <= now]:
            del self._chat_next[chat_id]  # free again: forgotten (`wait_turn` reads -inf)
        return set(self._chat_next)

    def next_chat_free(self) -> float:
        """Seconds until the first busy chat may have a message again (0 if none is busy)."""
        return max(0.0, min(self._chat_next.values(), default=-math.inf) - self.clock())

    def take_chat(self, chat_id: int) -> None:
        """The chat's next message waits a second from now: when a delivery to it is claimed
        (after a turn, for a chat not busy), and again when Telegram has answered it."""
        self._chat_next[chat_id] = self.clock() + self.per_chat_interval

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends for `seconds` (from now)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a broadcast stands."""

    broadcast_id: int
    total: int
    sent: int
    failed: int
    unreachable: int
    unknown: int
    cancelled: int
    elapsed: float
    finished: bool = False
    status: str = "sending"

    @property
    def done(self) -> int:
        """Deliveries that have an outcome."""
        return self.sent + self.failed + self.unreachable + self.unknown + self.cancelled

    @property
    def left(self) -> int:
        """Deliveries still to send."""
        return max(0, self.total - self.done)


def progress_text(progress: Progress, rate: float) -> str:
    """The progress message: a bar, sent / failed / left, and the time remaining."""
    share = progress.done / progress.total if progress.total else 1.0
    filled = round(share * BAR_WIDTH)
    pace = progress.done / progress.elapsed if progress.elapsed > 1 and progress.done else rate
    remaining = progress.left / max(pace, 0.1)
    return (
        f"Broadcast {progress.broadcast_id}: sending\n"
        f"{'▓' * filled}{'░' * (BAR_WIDTH - filled)} {share:.0%}\n"
        f"sent {progress.sent} · failed {progress.failed + progress.unreachable} · "
        + (f"unknown {progress.unknown} · " if progress.unknown else "")
        + f"left {progress.left}\n"
        f"about {_duration(remaining)} to go"
    )


def final_report(progress: Progress) -> str:
    """The report at the end: sent, failed, unreachable (and unknown/cancelled), duration."""
    head = "cancelled" if progress.status == "cancelled" else "finished"
    lines = [
        f"Broadcast {progress.broadcast_id} {head} in {_duration(progress.elapsed)}.",
        f"Sent: {progress.sent}",
        f"Failed: {progress.failed}",
        f"Unreachable (blocked the bot): {progress.unreachable}",
    ]
    if progress.unknown:
        lines.append(
            f"Unknown (sender stopped mid-send, not resent): {progress.unknown} "
            f"(skillsbot broadcast resend-unknown {progress.broadcast_id} sends them again)"
        )
    if progress.cancelled:
        lines.append(f"Not sent (cancelled): {progress.cancelled}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def default_owner() -> str:
    """This process's name as a broadcast owner: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


ProgressHook = Callable[[Progress], Awaitable[None]]


class Broadcaster:
    """Sends broadcasts for one bot process; `run(id)` for one, `watch()` to pick up due ones."""

    def __init__(
        self,
        calls: BotCalls,
        database: Engine,
        *,
        rate: float = DEFAULT_RATE,
        workers: int = 8,
        progress_every: float = 2.0,
        stale_after: timedelta = STALE_OWNER,
        owner: str | None = None,
        limiter: RateLimiter | None = None,
        units: Units | None = None,
    ) -> None:
        self.calls = calls
        self.database = database
        # How every step reaches the database (the bot's one `Units`, else one of its own).
        self.units = units or Units(database)
        self._owns_units = units is None
        self.rate = rate
        self.limiter = limiter or RateLimiter(rate)
        self.workers = max(1, min(workers, math.ceil(rate)))
        self.progress_every = progress_every
        self.stale_after = stale_after
        self.owner = owner or default_owner()
        self.running: dict[int, asyncio.Task[Progress | None]] = {}
        self.sender_lock = ClusterLock(database, ClusterRole.SENDER)
        # One claim at a time in this process: the busy chats a claim skips are up to date
        # (a chat claimed by one worker is busy before the next worker claims).
        self._claiming = asyncio.Lock()
        # Telegram's flood control is the bot's: a 429 on any call pauses every sender.
        calls.on_flood(self.limiter.pause)

    async def holds_sender_lock(self) -> bool:
        """Whether this process is the cluster's broadcast sender (takes the lock if free;
        always True on SQLite)."""
        was_held = self.sender_lock.held
        # A session-level lock on a connection of its own (storage.locks), not a unit of
        # work: held across transactions, so it cannot be one. On a thread (PostgreSQL's
        # round trip; on SQLite it is always held, nothing is done).
        held = await asyncio.to_thread(self.sender_lock.hold)
        if held and not was_held:
            # The sender before us may have sent to any chat within its last second: a
            # new holder starts with that second of silence, so no chat gets two in one.
            self.limiter.pause(self.limiter.per_chat_interval)
        return held

    # -- one broadcast ---------------------------------------------------------------------

    async def run(
        self, broadcast_id: int, on_progress: ProgressHook | None = None
    ) -> Progress | None:
        """Send a broadcast to the end (or until cancelled); None if it is not ours to send
        (another process is the cluster's sender, or the broadcast is not due or done)."""
        if not await self.holds_sender_lock():
            logger.info("event=broadcast_left_to_sender broadcast=%s", broadcast_id)
            return None
        # Slow: the first take-over makes a delivery row for every recipient.
        row = await self.units.slow.call(
            take_over,
            broadcast_id=broadcast_id,
            owner=self.owner,
            now=utcnow(),
            stale_after=self.stale_after,
            sole_sender=self.sender_lock.shared,
        )
        if row is None:
            return None
        started = time.monotonic()
        logger.info("event=broadcast_started broadcast=%s recipients=%s", row.id, row.recipients)
        stop = asyncio.Event()
        status_box = ["sending"]
        await self._ensure_progress_message(row)
        watcher = asyncio.create_task(self._keep_alive(row, stop, status_box, started, on_progress))
        try:
            if row.media_kind is not None and row.media and not _is_file_id(row.media):
                await self._worker(row, stop, first_only=True)  # upload once, reuse the file id
            await asyncio.gather(*(self._worker(row, stop) for _ in range(self.workers)))
            # Rows still 'sending' belong to no one now (our workers are done): finish.
            await self.units.call(
                finish_broadcast,
                broadcast_id=broadcast_id,
                owner=self.owner,
                now=utcnow(),
            )
        finally:
            stop.set()
            await watcher
        progress = await self._progress(broadcast_id, started, finished=True)
        await self._report(row, progress, on_progress)
        logger.info(
            "event=broadcast_finished broadcast=%s sent=%s failed=%s unreachable=%s",
            broadcast_id,
            progress.sent,
            progress.failed,
            progress.unreachable,
        )
        return progress

    async def _worker(
        self, row: Broadcast, stop: asyncio.Event, *, first_only: bool = False
    ) -> None:
        assert row.id is not None
        while not stop.is_set():
            # The turn first, then the claim, then the send: a row is 'sending' only while
            # its Telegram call is made, so a crash leaves at most one row per worker
            # 'unknown' (a call in doubt), never one that merely waited for its turn. Two
            # broadcasts at once may reach one chat: the claim skips chats that had a
            # message within the last second (one a second per chat), and when only those
            # are left, the worker waits for the first to be free, with nothing claimed.
            slot = await self.limiter.wait_turn()
            if stop.is_set():
                return
            async with self._claiming:
                if self.limiter.late(slot):
                    # Queued behind a slow claim (a busy database): sent after it, this
                    # would go in a burst with the sends on time. A fresh turn, with
                    # nothing claimed (a claimed row must not wait: see above).
                    continue
                # Its own unit, committed before the send (see storage/broadcasts.py).
                claim = await self.units.call(
                    claim_next,
                    broadcast_id=row.id,
                    owner=self.owner,
                    now=utcnow(),
                    busy_chats=self.limiter.busy_chats(),
                )
                if isinstance(claim, ClaimedDelivery):
                    self.limiter.take_chat(claim.chat_id)
            if claim is None:
                return
            if isinstance(claim, ChatsBusy):
                await self.limiter.sleep(max(self.limiter.next_chat_free(), 0.01))
                continue
            await self._deliver(row, claim)
            if first_only:
                return

    async def _deliver(self, row: Broadcast, claim: ClaimedDelivery) -> None:
        """Send one claimed delivery (retried as the retry policy says, each retry on a
        turn of the limiter) and record its outcome."""

        async def wait_turn(delay: float, status: int | None) -> None:
            await self.units.call(note_attempt, delivery_id=claim.delivery_id, now=utcnow())
            if status != 429:  # a 429 paused the limiter itself (`on_flood`)
                await asyncio.sleep(delay)
            await self.limiter.wait_turn(claim.chat_id)

        try:
            with waiting_with(wait_turn):
                try:
                    posted = await self._send(row, claim.chat_id, claim.employer_id)
                finally:
                    # The chat's next message waits a second from Telegram's answer, not
                    # from the claim: on a busy machine a request can take long to arrive,
                    # and the second must hold where Telegram counts it.
                    self.limiter.take_chat(claim.chat_id)
        except TimeoutError:  # the policy gave up on a call that never answered
            await self._finish(claim, "failed", error="TimeoutError")
        except Exception as error:
            refusal = self.calls.refusal(error)
            if refusal is None:  # not Telegram's: a bug, raised
                raise
            if refusal[0] is Refusal.UNREACHABLE:
                await self._finish(claim, "unreachable", error="forbidden")
            else:  # permanent, or the policy gave up
                await self._finish(claim, "failed", error=_failure(refusal[0], error))
        else:
            await self._finish(claim, "sent", message_id=posted.message_id)
            await self._remember_file_id(row, posted)

    async def _send(self, row: Broadcast, chat_id: int, employer_id: int) -> Posted:
        # Every broadcast carries "No more messages" (the audience policy, storage.audience).
        keyboard = no_more_messages_keyboard(employer_id)
        return await self.calls.send_plain(chat_id, row.text, keyboard, _attachment(row))

    async def _remember_file_id(self, row: Broadcast, posted: Posted) -> None:
        """After the first send of a local file, the rest go by Telegram's file id."""
        if row.media is None or _is_file_id(row.media):
            return
        if posted.file_id is not None:
            row.media = "tg:" + posted.file_id
            assert row.id is not None
            await self.units.call(update_broadcast, broadcast_id=row.id, media=row.media)

    async def _finish(
        self,
        claim: ClaimedDelivery,
        status: str,
        *,
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        await self.units.call(
            finish_delivery,
            delivery_id=claim.delivery_id,
            status=status,
            now=utcnow(),
            message_id=message_id,
            error=error,
        )

    # -- heartbeat, cancellation, progress ----------------------------------------------------

    async def _keep_alive(
        self,
        row: Broadcast,
        stop: asyncio.Event,
        status_box: list[str],
        started: float,
        on_progress: ProgressHook | None,
    ) -> None:
        assert row.id is not None
        last_progress = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            if stop.is_set():
                return
            status = await self.units.call(
                heartbeat, broadcast_id=row.id, owner=self.owner, now=utcnow()
            )
            if status != "sending":  # cancelled, or another process took it over
                status_box[0] = status or "lost"
                stop.set()
                return
            if time.monotonic() - last_progress >= self.progress_every:
                last_progress = time.monotonic()
                progress = await self._progress(row.id, started)
                if on_progress is not None:
                    await on_progress(progress)
                await self._edit_progress(row, progress_text(progress, self.rate))

    async def _progress(
        self, broadcast_id: int, started: float, *, finished: bool = False
    ) -> Progress:
        def read(session: Session) -> tuple[dict[str, int], int, str]:
            row = get_broadcast(session, broadcast_id=broadcast_id)
            counts = delivery_counts(session, broadcast_id=broadcast_id)
            return counts, sum(counts.values()), row.status if row else "missing"

        counts, total, status = await self.units.read(read)
        return Progress(
            broadcast_id=broadcast_id,
            total=total,
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            unreachable=counts.get("unreachable", 0),
            unknown=counts.get("unknown", 0),
            cancelled=counts.get("cancelled", 0),
            elapsed=time.monotonic() - started,
            finished=finished,
            status=status,
        )

    async def _ensure_progress_message(self, row: Broadcast) -> None:
        if row.progress_chat_id is None or row.progress_message_id is not None:
            return
        assert row.id is not None
        text = f"Broadcast {row.id}: starting, {row.recipients} employer(s)…"
        sent = await self._to_staff(row.progress_chat_id, text)
        if sent is None:
            return
        row.progress_message_id = sent
        await self.units.call(update_broadcast, broadcast_id=row.id, progress_message_id=sent)

    async def _to_staff(self, chat_id: int, text: str, *, edit: int | None = None) -> int | None:
        """Send (or edit, when `edit` is a message id) a message to staff, paced like the
        rest (retries too: a 429 pauses everyone); the message's id, None when it could not
        be done."""

        async def wait_turn(delay: float, status: int | None) -> None:
            if status != 429:
                await asyncio.sleep(delay)
            await self.limiter.wait_turn(chat_id)

        await self.limiter.wait_turn(chat_id)  # edits count against the limits too
        try:
            with waiting_with(wait_turn):
                if edit is None:
                    return (await self.calls.send_plain(chat_id, text)).message_id
                await self.calls.edit_plain(chat_id, edit, text)
                return edit
        except Exception as error:
            if not isinstance(error, TimeoutError) and self.calls.refusal(error) is None:
                raise
            logger.info("event=staff_message_failed error=%s", type(error).__name__)
            return None

    async def _edit_progress(self, row: Broadcast, text: str) -> None:
        if row.progress_chat_id is None or row.progress_message_id is None:
            return
        await self._to_staff(row.progress_chat_id, text, edit=row.progress_message_id)

    async def _report(
        self, row: Broadcast, progress: Progress, on_progress: ProgressHook | None
    ) -> None:
        if on_progress is not None:
            await on_progress(progress)
        if row.progress_chat_id is None:
            return
        await self._edit_progress(row, progress_text(progress, self.rate))
        await self._to_staff(row.progress_chat_id, final_report(progress))

    # -- picking up due broadcasts -----------------------------------------------------------

    async def run_due(self) -> list[int]:
        """Start (as tasks) every broadcast due now that this process is not already sending."""

        due = await self.units.read(
            broadcasts_to_run,
            now=utcnow(),
            stale_after=self.stale_after,
            sole_sender=self.sender_lock.shared,
        )
        started = []
        for broadcast_id in due:
            if broadcast_id in self.running and not self.running[broadcast_id].done():
                continue
            self.running[broadcast_id] = asyncio.create_task(self.run(broadcast_id))
            started.append(broadcast_id)
        return started

    def start(self, broadcast_id: int) -> asyncio.Task[Progress | None]:
        """Send one broadcast in the background (e.g. right after staff confirm it)."""
        task = self.running.get(broadcast_id)
        if task is None or task.done():
            task = self.running[broadcast_id] = asyncio.create_task(self.run(broadcast_id))
        return task

    async def watch(self, stop: asyncio.Event, interval: float = 5.0) -> None:
        """Every `interval` seconds, start due scheduled broadcasts and resume orphaned ones;
        on PostgreSQL only while this process is the cluster's sender (it stops sending at
        once if it loses the lock)."""
        while not stop.is_set():
            try:
                if await self.holds_sender_lock():
                    await self.run_due()
                elif any(not task.done() for task in self.running.values()):
                    logger.warning("event=broadcast_sender_stepped_down")
                    await self._cancel_running()
            except Exception as error:  # the loop runs again in a moment; never let it die
                # Only the type: an error's message may quote personal data (values, rows).
                logger.error("event=broadcast_watch_failed error=%s", type(error).__name__)
                logger.debug("broadcast_watch_failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def shutdown(self) -> None:
        """Stop sending now (the rest wait for a restart, or for another process) and let
        the sender lock go."""
        await self._cancel_running()
        # The session-level lock's own connection (see `holds_sender_lock`).
        await asyncio.to_thread(self.sender_lock.release)
        if self._owns_units:
            await self.units.aclose()

    async def _cancel_running(self) -> None:
        tasks = [task for task in self.running.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _failure(refusal: Refusal, error: BaseException) -> str:
    """A failed delivery's recorded error: `throttled` when Telegram's 429s outlasted the
    retry policy, else the error's class."""
    return "throttled" if refusal is Refusal.THROTTLED else type(error).__name__


def _attachment(row: Broadcast) -> Attachment | None:
    """The broadcast's photo or document: by file id once Telegram holds it, else the
    local file."""
    if row.media_kind is None or row.media is None:
        return None
    photo = row.media_kind == "photo"
    if _is_file_id(row.media):
        return Attachment(photo, file_id=row.media.removeprefix("tg:"))
    return Attachment(photo, path=row.media)


def _is_file_id(media: str) -> bool:
    """True for a Telegram file id (stored as `tg:<id>`), False for a local path."""
    return media.startswith("tg:")
