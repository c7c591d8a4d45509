"""Polling into the inbox and the inbox workers, against the fake Telegram and a real
database (SQLite and PostgreSQL): confirmed once written, handled per chat in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.inbox_worker import InboxWorkers
from bot.runtime.polling import PollingLoop, RawUpdate, TryLater
from bot.transports import LIBRARIES, BotAccount, PollingConflict
from bot.transports.links import connect
from storage import Engine
from storage import inbox as inbox_store
from tests.e2e.conftest import allow_inserts, refuse_inserts

pytestmark = pytest.mark.slow


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture(params=LIBRARIES)
async def bot(fake: FakeTelegram, request: pytest.FixtureRequest) -> AsyncIterator[BotAccount]:
    """Either library's getUpdates (polling is the same loop on both)."""
    link = connect(request.param, fake.token, fake.base_url)
    yield link.account
    await link.close()


@asynccontextmanager
async def serving(
    bot: BotAccount,
    engine: Engine,
    handle: Callable[[RawUpdate], Awaitable[Any]],
    **options: Any,
) -> AsyncIterator[InboxWorkers]:
    """A polling loop writing to the inbox, and inbox workers handling with `handle`."""
    workers = InboxWorkers(engine, handle, poll_seconds=0.2, retry_seconds=0.05, **options)
    loop = PollingLoop(bot, workers.accept, timeout=1)
    tasks = [asyncio.create_task(loop.run()), asyncio.create_task(workers.run())]
    try:
        yield workers
    finally:
        loop.stop()
        workers.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
    """Wait until `predicate()` holds (the inbox changes where the fake cannot see)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (nothing to wait on: another process)
            await asyncio.sleep(0.01)


async def test_updates_are_confirmed_once_written_while_a_slow_chat_is_still_in_hand(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    release = asyncio.Event()
    handled: list[tuple[int, str]] = []

    async def handle(update: RawUpdate) -> None:
        text = update["message"]["text"]
        if text == "slow":
            await release.wait()
        handled.append((update["message"]["chat"]["id"], text))

    async with serving(bot, engine, handle):
        try:
            slow = await fake.send_text(1, "slow")
            after_slow = await fake.send_text(1, "after slow")
            quick = await fake.send_text(2, "quick")
            # Everything is Telegram's no more: written first, then confirmed.
            await fake.wait_until(lambda: fake.acknowledged_offset > quick)
            await until(lambda: (2, "quick") in handled)
            more = await fake.send_text(2, "more")
            await until(lambda: (2, "more") in handled)
            # Confirmed at the next getUpdates, which may come after the handling:
            # what matters is that the slow chat does not hold it back.
            await fake.wait_until(lambda: fake.acknowledged_offset > more)
            # Chat 1's second update waits for its first, however long that takes.
            assert (1, "after slow") not in handled
            assert not inbox_store.handled(engine, slow)
        finally:
            release.set()
        await until(lambda: inbox_store.handled(engine, after_slow))
    assert handled == [(2, "quick"), (2, "more"), (1, "slow"), (1, "after slow")]


async def test_one_chat_is_handled_in_order_one_at_a_time_and_chats_in_parallel(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    order: dict[int, list[str]] = {7: [], 8: []}
    busy: set[int] = set()
    overlaps: list[int] = []
    most_at_once = 0

    async def handle(update: RawUpdate) -> None:
        nonlocal most_at_once
        chat = update["message"]["chat"]["id"]
        if chat in busy:
            overlaps.append(chat)
        busy.add(chat)
        most_at_once = max(most_at_once, len(busy))
        await asyncio.sleep(0.05)
        order[chat].append(update["message"]["text"])
        busy.discard(chat)

    async with serving(bot, engine, handle):
        for number in range(5):
            await fake.send_text(7, f"seven {number}")
            last = await fake.send_text(8, f"eight {number}")
        await until(lambda: inbox_store.handled(engine, last) and len(order[7]) == 5)
    assert overlaps == []
    assert order[7] == [f"seven {n}" for n in range(5)]
    assert order[8] == [f"eight {n}" for n in range(5)]
    assert most_at_once == 2  # the two chats went side by side


async def test_a_redelivered_update_is_written_and_handled_once(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    seen: list[int] = []

    async def handle(update: RawUpdate) -> None:
        seen.append(update["update_id"])

    async with serving(bot, engine, handle):
        update_id = await fake.send_text(5, "hi")
        await until(lambda: inbox_store.handled(engine, update_id))
        # The confirmation was lost: Telegram sends it again, under the same id.
        fake.redeliver(update_id)
        await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
        later = await fake.send_text(5, "and then")
        await until(lambda: inbox_store.handled(engine, later))
    assert seen == [update_id, later]


async def test_a_failed_write_confirms_nothing_and_the_batch_comes_again(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    seen: list[str] = []

    async def handle(update: RawUpdate) -> None:
        seen.append(update["message"]["text"])

    refuse_inserts(engine, "inbox_update")
    async with serving(bot, engine, handle):
        update_id = await fake.send_text(5, "kept by Telegram")
        await fake.wait_until(lambda: fake.polls_started >= 3)
        assert fake.acknowledged_offset <= update_id
        assert seen == []
        allow_inserts(engine, "inbox_update")
        await fake.wait_until(lambda: fake.acknowledged_offset > update_id, timeout=15)
        await until(lambda: seen == ["kept by Telegram"])


async def test_an_update_failing_every_time_is_set_aside_after_three_tries(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    tries: list[int] = []
    apologies: list[int] = []
    seen: list[str] = []

    async def handle(update: RawUpdate) -> None:
        if update["message"]["text"] == "poison":
            tries.append(update["update_id"])
            raise ValueError("a fault of ours")
        seen.append(update["message"]["text"])

    async def on_failure(update: RawUpdate) -> None:
        apologies.append(update["update_id"])

    async with serving(bot, engine, handle, on_failure=on_failure):
        poison = await fake.send_text(5, "poison")
        after = await fake.send_text(5, "after")
        await until(lambda: inbox_store.handled(engine, after))
    assert tries == [poison] * 3
    assert apologies == [poison]
    assert seen == ["after"]  # the chat was not stuck behind it
    (failed,) = inbox_store.failed(engine)
    assert (failed.update_id, failed.error, failed.attempts) == (poison, "ValueError", 3)


async def test_a_database_outage_is_waited_out_and_not_counted_as_a_try(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    calls = 0

    async def handle(update: RawUpdate) -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise TryLater from ConnectionError("database away")

    async with serving(bot, engine, handle):
        update_id = await fake.send_text(5, "patience")
        await until(lambda: inbox_store.handled(engine, update_id), timeout=20)
    assert calls == 3
    assert inbox_store.failed(engine) == []


async def test_stopping_while_the_database_is_away_leaves_the_update_for_the_next_worker(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    async def away(update: RawUpdate) -> None:
        raise TryLater from ConnectionError("database away")

    async with serving(bot, engine, away):
        stuck = await fake.send_text(7, "my answer")
        await fake.wait_until(lambda: fake.acknowledged_offset > stuck)
        await asyncio.sleep(0.3)
    assert not inbox_store.handled(engine, stuck)
    seen: list[int] = []

    async def back(update: RawUpdate) -> None:
        seen.append(update["update_id"])

    # Given back on stopping: the next worker takes it at once.
    async with serving(bot, engine, back):
        await until(lambda: inbox_store.handled(engine, stuck))
    assert seen == [stuck]


async def test_network_errors_are_retried(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    fake.fail_next("getUpdates", times=2, error_code=502)
    async with serving(bot, engine, lambda update: asyncio.sleep(0)):
        update_id = await fake.send_text(5, "hi")
        await until(lambda: inbox_store.handled(engine, update_id))


async def test_a_refused_or_unreadable_get_updates_is_waited_out(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    page = "<html><body>Request blocked</body></html>"
    fake.fail_next("getUpdates", error_code=403, page=page)  # a firewall's page
    fake.fail_next("getUpdates", error_code=200, page=page)  # a proxy's, as a success
    fake.fail_next("getUpdates", error_code=400)
    async with serving(bot, engine, lambda update: asyncio.sleep(0)):
        update_id = await fake.send_text(5, "hi")
        await until(lambda: inbox_store.handled(engine, update_id), timeout=20)


async def test_a_second_poller_stops_at_its_first_409_and_the_serving_one_carries_on(
    fake: FakeTelegram, bot: BotAccount, engine: Engine
) -> None:
    async def accept(updates: Any) -> None:
        inbox_store.accept(engine, updates)

    serving_loop = PollingLoop(bot, accept, timeout=5, newcomer_seconds=1.0)
    running = asyncio.create_task(serving_loop.run())
    await fake.wait_until(lambda: fake.polls_started == 1)
    # The serving loop has been polling for longer than its newcomer window when the second
    # one arrives: a 409 is a conflict to wait out for it, not a reason to stop. Its next
    # poll (0.5 s later) ends the second's within that one's window, and the second stops.
    # (The second's window is 3 s: with 1 s, a loaded full run once saw the serving loop's
    # next poll come later than that, and the second, no longer new, waited the conflict
    # out as the serving one does.)
    await asyncio.sleep(1.1)
    second_link = connect("aiogram", fake.token, fake.base_url)
    try:
        second = PollingLoop(second_link.account, accept, timeout=5, newcomer_seconds=3.0)
        with pytest.raises(PollingConflict):
            await asyncio.wait_for(second.run(), timeout=10)
    finally:
        await second_link.close()
    assert not running.done()
    update_id = await fake.send_text(6, "still here")
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
    assert inbox_store.pending_count(engine) == 1
    serving_loop.stop()
    await asyncio.wait_for(running, timeout=10)
