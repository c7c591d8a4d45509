"""The polling loop against the fake Telegram: offsets confirmed only past finished updates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError

from bot.app import build_bot
from bot.fake_telegram import FakeTelegram
from bot.polling import PollingLoop, RawUpdate, TryLater

pytestmark = pytest.mark.slow


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    telegram = build_bot(fake.token, fake.base_url)
    yield telegram
    await telegram.session.close()


async def test_offset_waits_for_the_slow_update_and_chats_run_concurrently(
    fake: FakeTelegram, bot: Bot
) -> None:
    release = asyncio.Event()
    handled: list[tuple[int, str]] = []

    async def handle(update: RawUpdate) -> None:
        text = update["message"]["text"]
        if text == "slow":
            await release.wait()
        handled.append((update["message"]["chat"]["id"], text))

    loop = PollingLoop(bot, handle, timeout=1)
    running = asyncio.create_task(loop.run())
    slow = await fake.send_text(1, "slow")
    quick = await fake.send_text(2, "quick")
    await fake.wait_until(lambda: (2, "quick") in handled)
    # The other chat's update is done, but the slow one is not: nothing past it is confirmed.
    assert fake.acknowledged_offset <= slow
    release.set()
    await fake.wait_until(lambda: fake.acknowledged_offset > quick)
    assert handled == [(2, "quick"), (1, "slow")]
    loop.stop()
    await asyncio.wait_for(running, timeout=10)


async def test_one_chat_is_handled_in_order_one_at_a_time(fake: FakeTelegram, bot: Bot) -> None:
    order: list[str] = []
    busy = False

    async def handle(update: RawUpdate) -> None:
        nonlocal busy
        assert not busy, "two updates of one chat at once"
        busy = True
        await asyncio.sleep(0.01)
        order.append(update["message"]["text"])
        busy = False

    loop = PollingLoop(bot, handle, timeout=1)
    running = asyncio.create_task(loop.run())
    ids = [await fake.send_text(7, str(n)) for n in range(10)]
    await fake.wait_until(lambda: fake.acknowledged_offset > ids[-1])
    assert order == [str(n) for n in range(10)]
    loop.stop()
    await asyncio.wait_for(running, timeout=10)


async def test_stop_finishes_the_updates_in_hand_and_confirms_them(
    fake: FakeTelegram, bot: Bot
) -> None:
    started = asyncio.Event()
    finished: list[int] = []

    async def handle(update: RawUpdate) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(update["update_id"])

    loop = PollingLoop(bot, handle, timeout=1)
    running = asyncio.create_task(loop.run())
    update_id = await fake.send_text(3, "hello")
    await started.wait()
    loop.stop()
    await asyncio.wait_for(running, timeout=10)
    assert finished == [update_id]
    assert fake.acknowledged_offset == update_id + 1


async def test_a_failing_handler_is_retried_then_given_up_and_the_person_told(
    fake: FakeTelegram, bot: Bot
) -> None:
    attempts: list[int] = []
    told: list[int] = []

    async def handle(update: RawUpdate) -> None:
        attempts.append(update["update_id"])
        raise RuntimeError("a bug: fails every time")

    async def on_failure(update: RawUpdate) -> None:
        told.append(update["update_id"])

    loop = PollingLoop(bot, handle, timeout=1, handling_attempts=2, on_failure=on_failure)
    running = asyncio.create_task(loop.run())
    update_id = await fake.send_text(4, "hi")
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
    assert attempts == [update_id, update_id]
    assert told == [update_id]
    loop.stop()
    await asyncio.wait_for(running, timeout=10)


async def test_try_later_is_retried_until_it_succeeds_and_never_given_up(
    fake: FakeTelegram, bot: Bot
) -> None:
    attempts: list[int] = []
    told: list[int] = []

    async def handle(update: RawUpdate) -> None:
        attempts.append(update["update_id"])
        if len(attempts) <= 3:  # more than handling_attempts: the database is away a while
            raise TryLater from ConnectionError("database away")

    async def on_failure(update: RawUpdate) -> None:
        told.append(update["update_id"])

    loop = PollingLoop(
        bot, handle, timeout=1, handling_attempts=2, on_failure=on_failure, backoff_cap=1.0
    )
    running = asyncio.create_task(loop.run())
    update_id = await fake.send_text(4, "hi")
    await fake.wait_until(lambda: len(attempts) == 3)
    assert fake.acknowledged_offset <= update_id  # not confirmed while it keeps failing
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id, timeout=15)
    assert attempts == [update_id] * 4
    assert told == []
    loop.stop()
    await asyncio.wait_for(running, timeout=10)


async def test_stopping_while_the_database_is_away_leaves_the_update_unconfirmed(
    fake: FakeTelegram, bot: Bot
) -> None:
    handled: list[str] = []

    async def handle(update: RawUpdate) -> None:
        text = update["message"]["text"]
        if update["message"]["chat"]["id"] == 7:
            raise TryLater from ConnectionError("database away")
        handled.append(text)

    loop = PollingLoop(bot, handle, timeout=1)
    running = asyncio.create_task(loop.run())
    stuck = await fake.send_text(7, "my answer")
    later = await fake.send_text(7, "my next answer")
    other = await fake.send_text(8, "another chat")
    await fake.wait_until(lambda: handled == ["another chat"])
    loop.stop()
    await asyncio.wait_for(running, timeout=10)
    # Telegram keeps both of chat 7's updates and sends them again to the next process.
    assert fake.acknowledged_offset == stuck < later < other
    again = await bot.get_updates(offset=stuck, timeout=0)
    assert [update.update_id for update in again] == [stuck, later, other]


async def test_network_errors_are_retried(fake: FakeTelegram, bot: Bot) -> None:
    seen: list[int] = []

    async def handle(update: RawUpdate) -> None:
        seen.append(update["update_id"])

    fake.fail_next("getUpdates", times=2, error_code=502)
    loop = PollingLoop(bot, handle, timeout=1)
    running = asyncio.create_task(loop.run())
    update_id = await fake.send_text(5, "hi")
    await fake.wait_until(lambda: update_id in seen)
    loop.stop()
    await asyncio.wait_for(running, timeout=10)


async def test_a_second_poller_stops_at_its_first_409_and_the_serving_one_carries_on(
    fake: FakeTelegram, bot: Bot
) -> None:
    seen: list[str] = []

    async def handle(update: RawUpdate) -> None:
        seen.append(update["message"]["text"])

    serving = PollingLoop(bot, handle, timeout=5, newcomer_seconds=1.0)
    running = asyncio.create_task(serving.run())
    await fake.wait_until(lambda: fake.polls_started == 1)
    # The serving loop has been polling for longer than its newcomer window when the second
    # one arrives: a 409 is a conflict to wait out for it, not a reason to stop. Its next
    # poll (0.5 s later) ends the second's within that one's window, and the second stops.
    await asyncio.sleep(1.1)
    second_bot = build_bot(fake.token, fake.base_url)
    try:
        second = PollingLoop(second_bot, handle, timeout=5, newcomer_seconds=1.0)
        with pytest.raises(TelegramConflictError):
            await asyncio.wait_for(second.run(), timeout=10)
    finally:
        await second_bot.session.close()
    assert not running.done()
    update_id = await fake.send_text(6, "still here")
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
    assert seen == ["still here"]
    serving.stop()
    await asyncio.wait_for(running, timeout=10)
