"""The broadcast sender: the rate limiter on a virtual clock, and a small run over the fake."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.app import build_bot
from bot.broadcaster import (
    Broadcaster,
    InvalidSendTime,
    Progress,
    RateLimiter,
    final_report,
    parse_send_time,
    progress_text,
)
from bot.fake_telegram import FakeTelegram
from bot.retry import RetryPolicy
from storage import Employer, Engine, Session
from storage.broadcasts import create_broadcast, deliveries

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


async def test_a_chat_that_had_a_message_waits_then_takes_a_fresh_overall_turn() -> None:
    # Two broadcasts at once: each send takes an overall turn, then checks its chat.
    clock = VirtualClock()
    limiter = RateLimiter(10, headroom=1.0, per_chat_interval=1.1, clock=clock, sleep=clock.sleep)
    sends: list[tuple[float, int]] = []
    for chat in (1, 2, 1, 3):
        await limiter.wait_turn()
        await limiter.wait_chat(chat)
        sends.append((clock.now, chat))
    to_one = [at for at, chat in sends if chat == 1]
    assert to_one[1] - to_one[0] >= 1.1
    gaps = [b[0] - a[0] for a, b in zip(sends, sends[1:], strict=False)]
    assert min(gaps) >= 0.1 - 1e-9  # the late send did not bunch with the next one


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


async def test_sends_once_each_marks_blocked_unreachable_and_waits_out_errors(
    engine: Engine,
) -> None:
    users = list(range(5001, 5021))
    with Session(engine) as session, session.begin():
        for user in users:
            session.add(
                Employer(
                    chat_id=user,
                    telegram_user_id=user,
                    consent_at=NOW,  # broadcasts reach those who agreed to the notice
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
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
        bot = build_bot(fake.token, fake.base_url, RetryPolicy(first=0.05))
        try:
            sender = Broadcaster(bot, engine, rate=50)
            seen: list[Progress] = []

            async def hook(progress: Progress) -> None:
                seen.append(progress)

            result = await sender.run(broadcast_id, on_progress=hook)
        finally:
            await bot.session.close()
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
