"""The one Telegram retry policy (`bot.retry`) on python-telegram-bot: every call of a Bot
built by `build_ptb_bot` is tried again through 429s, 5xx and dropped connections
(`bot.transports.ptb.retry`), against the fake Bot API over real HTTP with failures
injected; the messenger then handles only 403s, refusals and calls the policy gave up on.

Waits are recorded rather than slept: nothing here asserts on time taken.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import Forbidden, NetworkError, RetryAfter

from bot.core.messages import Outgoing
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_telegram.server import TINY_PNG
from bot.retry import RetryPolicy
from bot.transports.ptb import PtbMessenger, build_ptb_bot
from bot.transports.ptb.retry import RetryingRequest

USER = 7101
QUICK = RetryPolicy(attempts=4, first=0.01, cap=0.02)


class Waits:
    """The waits the policy asked for, recorded instead of slept."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.asked.append(delay)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_user(USER)
        yield server


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
async def bot(fake: FakeTelegram, waits: Waits) -> AsyncIterator[Bot]:
    telegram = build_ptb_bot(fake.token, fake.base_url, QUICK)
    request = telegram.request
    assert isinstance(request, RetryingRequest)
    request._sleep = waits  # the recorder instead of asyncio.sleep
    await telegram.initialize()
    try:
        yield telegram
    finally:
        await telegram.shutdown()


def sends(fake: FakeTelegram) -> list[int]:
    return [r.status for r in fake.requests if r.method == "sendMessage"]


def test_the_bot_is_built_on_the_policy_given() -> None:
    telegram = build_ptb_bot("1:a", "http://127.0.0.1:1", QUICK)
    request = telegram.request
    assert isinstance(request, RetryingRequest)
    assert request.policy == QUICK


async def test_every_bot_call_is_retried_through_429_5xx_and_a_dropped_connection(
    fake: FakeTelegram, bot: Bot, waits: Waits, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("sendMessage", error_code=429, retry_after=5)
    fake.fail_next("sendMessage", error_code=502)
    fake.drop_next("sendMessage")
    with caplog.at_level(logging.WARNING, logger="skillsbot.telegram"):
        message = await bot.send_message(USER, "Hello")
    assert message.text == "Hello"
    assert [m.text for m in fake.bot_messages(USER)] == ["Hello"]  # once
    assert waits.asked == [5.0, 0.02, 0.02]
    assert sends(fake)[:2] == [429, 502]
    assert sends(fake)[-1] == 200
    retries = [r.getMessage() for r in caplog.records]
    assert len(retries) == 3
    assert all("method=sendMessage" in line for line in retries)
    assert not any(fake.token in line for line in retries)  # the URL holds the token


async def test_any_method_is_retried_not_only_sends(
    fake: FakeTelegram, bot: Bot, waits: Waits
) -> None:
    sent = await bot.send_message(USER, "Before")
    fake.fail_next("editMessageText", error_code=500, times=2)
    edited = await bot.edit_message_text("After", chat_id=USER, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "After"
    assert waits.asked == [0.01, 0.02]


async def test_the_error_reaches_the_caller_when_the_policy_gives_up(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.fail_next("sendMessage", error_code=500, times=10)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "Hello")
    assert sends(fake) == [500] * QUICK.attempts


async def test_a_429_given_up_on_reaches_the_caller_as_ptbs_retry_after(
    fake: FakeTelegram, bot: Bot, waits: Waits
) -> None:
    fake.fail_next("sendMessage", error_code=429, retry_after=3, times=QUICK.attempts)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "Hello")
    assert waits.asked == [3.0] * (QUICK.attempts - 1)


async def test_dropped_connections_given_up_on_raise_a_network_error(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.drop_next("sendMessage", times=QUICK.attempts)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "Hello")
    assert fake.bot_messages(USER) == []


async def test_a_403_is_not_retried(fake: FakeTelegram, bot: Bot, waits: Waits) -> None:
    fake.block(USER)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "Hello")
    assert sends(fake) == [403]
    assert waits.asked == []


async def test_the_messenger_handles_only_what_retrying_cannot_mend(
    fake: FakeTelegram, bot: Bot
) -> None:
    closed: list[int] = []

    async def unreachable(chat_id: int) -> None:
        closed.append(chat_id)

    messenger = PtbMessenger(bot, on_unreachable=unreachable)
    fake.fail_next("sendMessage", error_code=500, times=2)
    assert await messenger.send(USER, Outgoing("Through")) is not None
    fake.fail_next("sendMessage", error_code=500, times=QUICK.attempts)
    assert await messenger.send(USER, Outgoing("Given up")) is None  # no exception
    fake.drop_next("sendMessage", times=QUICK.attempts)
    assert await messenger.send(USER, Outgoing("Lost")) is None
    fake.block(USER)
    assert await messenger.send(USER, Outgoing("Blocked")) is None
    assert closed == [USER]
    assert [m.text for m in fake.bot_messages(USER)] == ["Through"]


async def test_the_messenger_uploads_files_as_documents_and_photos(
    fake: FakeTelegram, bot: Bot
) -> None:
    async def unreachable(chat_id: int) -> None:
        raise AssertionError(chat_id)

    messenger = PtbMessenger(bot, on_unreachable=unreachable)
    fake.fail_next("sendDocument", error_code=500, times=1)  # retried like any call
    assert await messenger.send_file(USER, "weekly.xlsx", b"PK\x03\x04 workbook") is not None
    assert await messenger.send_file(USER, "chart.png", TINY_PNG, photo=True) is not None
    sent = fake.bot_messages(USER)
    assert [(m.document, m.photo) for m in sent] == [("weekly.xlsx", None), (None, "chart.png")]
