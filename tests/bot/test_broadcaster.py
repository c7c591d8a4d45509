"""The broadcast sender: the rate limiter on a virtual clock, and a small run over the fake."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.broadcast_drafts import InvalidSendTime, parse_send_time
from bot.core.broadcaster import (
    PER_CHAT_INTERVAL,
    Broadcaster,
    Progress,
    RateLimiter,
    final_report,
    progress_text,
)
from bot.devtools.fake_telegram import FakeTelegram
from bot.retry import RetryPolicy
from bot.transports import LIBRARIES
from bot.transports.links import connect
from storage import Employer, Engine, Session
from storage.broadcasts import create_broadcast, deliveries
from tests.factories import add_consented_employers

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


class VirtualClock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


async def test_limiter_spaces_sends_to_the_rate_and_one_per_chat_per_second() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(10, headroom=1.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(30):
        await limiter.wait_turn()
        times.append(clock.now)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.1 - 1e-9
    assert times[-1] - times[0] < 2.91  # 30 sends in 2.9 s: no slower than the rate
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0 - 1e-6) <= 10
    first = clock.now
    await limiter.wait_turn(chat_id=5)
    await limiter.wait_turn(chat_id=5)
    assert clock.now - first >= 1.0


async def test_a_chat_that_had_a_message_is_busy_for_a_second() -> None:
    # Two broadcasts at once: a claim skips the chats that are busy, until they are free.
    clock = VirtualClock()
    limiter = RateLimiter(10, headroom=1.0, per_chat_interval=1.1, clock=clock, sleep=clock.sleep)
    await limiter.wait_turn()
    limiter.take_chat(1)
    await limiter.wait_turn()
    limiter.take_chat(2)
    assert limiter.busy_chats() == {1, 2}
    assert limiter.next_chat_free() == pytest.approx(1.0)  # chat 1, taken 0.1 s earlier
    await limiter.sleep(limiter.next_chat_free())
    assert limiter.busy_chats() == {2}
    await limiter.wait_turn(chat_id=3)  # a turn for a chat reserves it too (staff messages)
    assert 3 in limiter.busy_chats()
    assert limiter.next_chat_free() == pytest.approx(0.1)


async def test_a_pause_holds_every_sender_back() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    await limiter.wait_turn()
    limiter.pause(3)
    await limiter.wait_turn()
    assert clock.now >= 3.0


class SteppedClock:
    """A clock the test moves by hand; sleepers wake (on the event loop) once it passes
    their time, so several senders run concurrently and a step can be a stall."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        until = self.now + max(0.0, seconds)
        while self.now < until:  # noqa: ASYNC110 (the test moves the clock, no event to wait for)
            await asyncio.sleep(0)


async def test_senders_woken_late_by_a_stall_do_not_burst() -> None:
    # Eight senders share the limiter; the machine stalls for 0.6 s. Those whose slots
    # passed meanwhile must not all send at once on top of the rate.
    clock = SteppedClock()
    limiter = RateLimiter(10, headroom=1.0, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    stop = False

    async def sender() -> None:
        while not stop:
            await limiter.wait_turn()
            sent.append(clock.now)

    senders = [asyncio.create_task(sender()) for _ in range(8)]
    for step in range(400):
        clock.now += 0.6 if step == 100 else 0.01
        for _ in range(20):
            await asyncio.sleep(0)
    stop = True
    while not all(each.done() for each in senders):  # let the last turns come
        clock.now += 0.01
        await asyncio.sleep(0)
    sent = [moment for moment in sent if moment < 4.0]
    assert len(sent) >= 30  # it did send, at about the rate
    for start in sent:
        assert sum(1 for t in sent if start <= t < start + 1.0) <= 11, sent


async def test_sends_delayed_by_a_slow_claim_take_a_fresh_turn() -> None:
    # The broadcaster's order: a turn, then a claim (one at a time, from the database),
    # then the send. Every tenth claim stalls for 0.35 s; the senders queued behind it
    # must not all send at once when it clears, on top of those still on time: their
    # turns passed while they queued, so they take fresh ones before claiming.
    clock = SteppedClock()
    limiter = RateLimiter(10, headroom=1.0, clock=clock, sleep=clock.sleep)
    claiming = asyncio.Lock()
    sent: list[float] = []
    claims = 0
    stop = False

    async def sender() -> None:
        nonlocal claims
        while not stop:
            slot = await limiter.wait_turn()
            async with claiming:
                if limiter.late(slot):  # queued behind a slow claim: a fresh turn
                    continue
                claims += 1
                if claims % 10 == 0:
                    await clock.sleep(0.35)
            sent.append(clock.now)

    senders = [asyncio.create_task(sender()) for _ in range(8)]
    for _ in range(600):
        clock.now += 0.01
        for _ in range(20):
            await asyncio.sleep(0)
    stop = True
    while not all(each.done() for each in senders):
        clock.now += 0.01
        await asyncio.sleep(0)
    sent = [moment for moment in sent if moment < 5.5]
    assert len(sent) >= 35  # it did send, at most a little below the rate
    for start in sent:
        assert sum(1 for t in sent if start <= t < start + 1.0) <= 11, sent


def test_progress_and_report_texts() -> None:
    half = Progress(1, total=10, sent=4, failed=1, unreachable=0, unknown=0, cancelled=0, elapsed=5)
    text = progress_text(half, rate=25)
    assert "50%" in text
    assert "sent 4" in text
    assert "left 5" in text
    report = final_report(
        Progress(1, total=10, sent=8, failed=1, unreachable=1, unknown=0, cancelled=0, elapsed=75)
    )
    assert "Sent: 8" in report
    assert "Unreachable (blocked the bot): 1" in report
    assert "1 min 15 s" in report


@pytest.mark.parametrize("library", LIBRARIES)
async def test_sends_once_each_marks_blocked_unreachable_and_waits_out_errors(
    engine: Engine, library: str
) -> None:
    users = list(range(5001, 5021))
    with Session(engine) as session, session.begin():
        add_consented_employers(session, users, now=NOW)
        row = create_broadcast(
            session, text="Skills fair on Friday", segment={}, created_by="t", now=NOW
        )
        broadcast_id = row.id
    assert broadcast_id is not None
    async with FakeTelegram() as fake:
        for user in users:
            fake.add_user(user)
        fake.block(5003)
        fake.fail_next("sendMessage", times=1, error_code=429, retry_after=1)
        fake.fail_next("sendMessage", times=2, error_code=500)
        link = connect(library, fake.token, fake.base_url, RetryPolicy(first=0.05))
        try:
            sender = Broadcaster(link.calls, engine, rate=50)
            seen: list[Progress] = []

            async def hook(progress: Progress) -> None:
                seen.append(progress)

            result = await sender.run(broadcast_id, on_progress=hook)
        finally:
            await link.close()
    assert result is not None
    assert (result.sent, result.unreachable, result.failed) == (19, 1, 0)
    assert seen[-1].finished
    for user in users:
        received = [m for m in fake.bot_messages(user) if m.text == "Skills fair on Friday"]
        assert len(received) == (0 if user == 5003 else 1)
    with Session(engine) as session:
        rows = deliveries(session, broadcast_id=broadcast_id)
        blocked = session.get(Employer, next(r.employer_id for r in rows if r.chat_id == 5003))
    assert blocked is not None
    assert blocked.status == "unreachable"
    assert all(r.telegram_message_id for r in rows if r.status == "sent")


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_chat_waits_a_second_from_telegrams_answer_not_from_the_claim(
    engine: Engine, library: str
) -> None:
    # Two broadcasts to one chat. The first message takes 0.6 s to reach Telegram (a busy
    # machine, a slow network): the second must still reach it a second after the first,
    # where Telegram counts (the fake's flood control answers 429 to anything closer).
    chat = 7001
    texts = ("Apprenticeship fair on Monday", "Digital skills survey closes Friday")
    with Session(engine) as session, session.begin():
        add_consented_employers(session, [chat], now=NOW)
        ids = [
            create_broadcast(session, text=text, segment={}, created_by="t", now=NOW).id
            for text in texts
        ]
    async with FakeTelegram() as fake:
        fake.add_user(chat)
        fake.rate_limit(per_chat_per_second=1)
        fake.delay_next("sendMessage", seconds=0.6)
        link = connect(library, fake.token, fake.base_url, RetryPolicy(first=0.05))
        try:
            sender = Broadcaster(link.calls, engine, rate=10)
            results = await asyncio.gather(*(sender.start(each) for each in ids if each))
        finally:
            await link.close()
    assert [(r.sent, r.failed) for r in results if r] == [(1, 0), (1, 0)]
    sends = [r for r in fake.requests if r.method == "sendMessage"]
    assert [r.status for r in sends] == [200, 200], sends
    assert sends[1].time - sends[0].time >= 1.0
    assert {m.text for m in fake.bot_messages(chat)} == set(texts)


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_crash_while_sends_wait_for_their_chat_leaves_nothing_unknown_unsent(
    engine: Engine, library: str
) -> None:
    # Two broadcasts to the same chats at once: every chat must wait a second between
    # them. The sender "dies" after 12 sends, at a moment when every worker is waiting
    # (for its overall turn or for its chat's); another sender takes both over. A row
    # left 'unknown' must be a call that was really made, never one that only waited.
    chats = range(6001, 6041)
    texts = ("Levy briefing on Tuesday", "Net zero workshop on Thursday")
    with Session(engine) as session, session.begin():
        add_consented_employers(session, chats, now=NOW)
        ids = [
            create_broadcast(session, text=text, segment={}, created_by="t", now=NOW).id
            for text in texts
        ]
    dying = asyncio.Event()
    parked = 0

    async def sleep(seconds: float) -> None:
        nonlocal parked
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(dying.wait(), timeout=seconds)
        if dying.is_set():  # the process is gone: no sleeper wakes again
            parked += 1
            await asyncio.Event().wait()

    async with FakeTelegram() as fake:
        for chat in chats:
            fake.add_user(chat)
        link = connect(library, fake.token, fake.base_url, RetryPolicy(first=0.05))
        sends = lambda: [r for r in fake.requests if r.method == "sendMessage"]  # noqa: E731
        try:
            first = Broadcaster(
                link.calls, engine, rate=10, owner="a", limiter=RateLimiter(10, sleep=sleep)
            )
            assert first.workers == 8
            tasks = [first.start(each) for each in ids if each is not None]
            await fake.wait_until(lambda: len(sends()) >= 12, timeout=30)
            dying.set()
            async with asyncio.timeout(10):
                # every worker of both broadcasts waits (no event to wait for: count them)
                while parked < 2 * first.workers:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            at_crash = len(sends())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            assert len(sends()) == at_crash
            with Session(engine) as session:
                in_doubt = [
                    row
                    for each in ids
                    if each is not None
                    for row in deliveries(session, broadcast_id=each)
                    if row.status == "sending"
                ]
            assert in_doubt == [], "rows marked 'sending' that were never sent"
            await asyncio.to_thread(first.sender_lock.release)  # as a dead process's would go
            # SQLite's one process comes back by a restart, slower than a chat's second (on
            # PostgreSQL a new holder of the sender lock waits that second itself).
            await asyncio.sleep(PER_CHAT_INTERVAL)
            second = Broadcaster(link.calls, engine, rate=10, owner="b", stale_after=timedelta(0))
            for each in ids:
                assert each is not None
                result = await second.run(each)
                assert result is not None
                assert result.finished
        finally:
            await link.close()
    with Session(engine) as session:
        for text, each in zip(texts, ids, strict=True):
            assert each is not None
            rows = deliveries(session, broadcast_id=each)
            assert {row.status for row in rows} <= {"sent", "unknown"}
            for row in rows:
                assert row.chat_id is not None
                got = [m for m in fake.bot_messages(row.chat_id) if m.text == text]
                assert len(got) == 1, (row.status, row.chat_id, text)  # once, unknown or not
    for chat in chats:
        times = sorted(r.time for r in fake.requests if r.chat_id == chat)
        assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False)), chat


def test_send_times_are_read_in_london_and_stored_in_utc() -> None:
    london = ZoneInfo("Europe/London")
    summer = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert parse_send_time("2026-07-02 09:30", now=summer, zone=london) == datetime(
        2026, 7, 2, 8, 30, tzinfo=UTC
    )
    assert parse_send_time("tomorrow 9:30", now=NOW, zone=london) == datetime(
        2026, 11, 25, 9, 30, tzinfo=UTC
    )
    for bad in ("next week", "2026-13-01 09:30", "today 25:00", "2026-11-23 09:30"):
        with pytest.raises(InvalidSendTime):
            parse_send_time(bad, now=NOW, zone=london)
