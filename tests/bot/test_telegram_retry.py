"""The one Telegram retry policy: its rules (`bot.retry`, no Telegram), and the aiogram
middleware applying them to every call (`bot.transports.aiogram.retry`), against the fake Bot API
over real HTTP with failures injected: 429s, 5xx, dropped connections, 403s.

Waits are recorded rather than slept where a test would otherwise sleep (`waiting_with`),
and the broadcaster's limiter runs on a virtual clock: nothing here asserts on time taken.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramServerError

from bot.core.broadcaster import Broadcaster, RateLimiter
from bot.core.messages import Outgoing
from bot.core.sending import Sender
from bot.devtools.fake_telegram import FakeTelegram
from bot.retry import DEFAULT_RETRY_AFTER, RetryPolicy, decide
from bot.settings import Settings, retry_policy
from bot.transports import LIBRARIES
from bot.transports.aiogram.account import build_bot
from bot.transports.aiogram.delivery import Delivery
from bot.transports.aiogram.retry import install_retry, retry_of, waiting_with
from bot.transports.links import TelegramLink, connect
from storage import Employer, Engine, Session
from storage.broadcasts import create_broadcast, deliveries
from tests.bot.test_broadcaster import VirtualClock

USER = 7001
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
QUICK = RetryPolicy(attempts=4, first=0.01, cap=0.02)


# -- the rules --------------------------------------------------------------------------------


def test_a_429_waits_what_telegram_says_even_beyond_the_cap() -> None:
    policy = RetryPolicy(attempts=6, first=0.5, cap=10)
    assert policy.decide(429, 3, attempt=1) == 3
    assert policy.decide(429, 42, attempt=2) == 42
    assert policy.decide(429, None, attempt=1) == 1.0


def test_server_and_network_errors_back_off_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=10, first=0.5, cap=3)
    assert [policy.decide(500, None, attempt=n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]
    assert [policy.decide(None, None, attempt=n) for n in range(1, 4)] == [0.5, 1, 2]
    assert policy.decide(502, None, attempt=1) == 0.5


def test_permanent_errors_are_never_retried_and_tries_are_counted() -> None:
    policy = RetryPolicy(attempts=3)
    for status in (400, 401, 403, 404, 409):
        assert policy.decide(status, None, attempt=1) is None
    assert policy.decide(500, None, attempt=2) is not None
    assert policy.decide(500, None, attempt=3) is None  # three tries made
    assert policy.decide(429, 1, attempt=3) is None
    assert decide(500, None, 1, policy=policy) == policy.decide(500, None, 1)


def test_the_settings_name_the_policy() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        TELEGRAM_BOT_TOKEN="1:a",
        SKILLSBOT_TELEGRAM_ATTEMPTS="3",
        SKILLSBOT_TELEGRAM_BACKOFF_CAP="12",
    )
    assert retry_policy(settings) == RetryPolicy(attempts=3, cap=12)


# -- the middleware, over HTTP ----------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_user(USER)
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    telegram = build_bot(fake.token, fake.base_url, QUICK)
    try:
        yield telegram
    finally:
        await telegram.session.close()


@pytest.fixture(params=LIBRARIES)
async def link(fake: FakeTelegram, request: pytest.FixtureRequest) -> AsyncIterator[TelegramLink]:
    """Either library's calls (the broadcaster sends with the one the bot uses)."""
    telegram = connect(request.param, fake.token, fake.base_url, QUICK)
    try:
        yield telegram
    finally:
        await telegram.close()


class Waits:
    """The waits the policy asked for, recorded instead of slept."""

    def __init__(self) -> None:
        self.asked: list[tuple[float, int | None]] = []

    async def __call__(self, delay: float, status: int | None) -> None:
        self.asked.append((delay, status))


def sends(fake: FakeTelegram) -> list[int]:
    return [r.status for r in fake.requests if r.method == "sendMessage"]


async def test_every_bot_call_is_retried_through_429_5xx_and_a_dropped_connection(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.fail_next("sendMessage", error_code=429, retry_after=5)
    fake.fail_next("sendMessage", error_code=502)
    fake.drop_next("sendMessage")
    flood: list[float] = []
    retry = retry_of(bot)
    assert retry is not None
    retry.on_flood(flood.append)
    waits = Waits()
    with waiting_with(waits):
        message = await bot.send_message(USER, "Hello")
    assert message.text == "Hello"
    assert [m.text for m in fake.bot_messages(USER)] == ["Hello"]  # once
    assert waits.asked == [(5.0, 429), (0.02, 500), (0.02, None)]
    assert flood == [5.0]
    assert sends(fake)[:2] == [429, 502]
    assert sends(fake)[-1] == 200


async def test_the_error_reaches_the_caller_when_the_policy_gives_up(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.fail_next("sendMessage", error_code=500, times=10)
    with pytest.raises(TelegramServerError), waiting_with(Waits()):
        await bot.send_message(USER, "Hello")
    assert sends(fake) == [500] * QUICK.attempts


async def test_a_403_is_not_retried(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(USER)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(USER, "Hello")
    assert sends(fake) == [403]


async def test_installing_twice_keeps_one_middleware(bot: Bot) -> None:
    assert install_retry(bot) is retry_of(bot)
    assert len(bot.session.middleware) == 1


async def test_delivery_handles_only_what_retrying_cannot_mend(
    fake: FakeTelegram, bot: Bot
) -> None:
    closed: list[int] = []

    async def unreachable(chat_id: int) -> None:
        closed.append(chat_id)

    delivery = Delivery(bot, on_unreachable=unreachable)
    fake.fail_next("sendMessage", error_code=500, times=2)
    assert await delivery.send(USER, Outgoing("Through")) is not None
    fake.fail_next("sendMessage", error_code=500, times=QUICK.attempts)
    assert await delivery.send(USER, Outgoing("Given up")) is None  # no exception
    fake.block(USER)
    assert await delivery.send(USER, Outgoing("Blocked")) is None
    assert closed == [USER]
    assert [m.text for m in fake.bot_messages(USER)] == ["Through"]


# -- answers that are not Telegram's JSON, on either library -----------------------------------

# What nginx in front of the Bot API answers when it cannot reach it.
PROXY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)


async def test_a_proxys_html_502_and_a_429_without_retry_after_are_retried(
    fake: FakeTelegram, link: TelegramLink
) -> None:
    # Before the status was read whatever the body, aiogram made one request and raised
    # ClientDecodeError on the page (and TelegramAPIError on the bare 429).
    fake.fail_next("sendMessage", error_code=502, page=PROXY_PAGE)
    fake.fail_next("sendMessage", error_code=429, retry_after=None)
    flood: list[float] = []
    link.calls.on_flood(flood.append)
    waits = Waits()
    with waiting_with(waits):
        await link.calls.send_message(USER, "Through", None)
    assert sends(fake) == [502, 429, 200]
    assert [m.text for m in fake.bot_messages(USER)] == ["Through"]
    assert [delay for delay, _ in waits.asked] == [QUICK.first, DEFAULT_RETRY_AFTER]
    assert flood == [DEFAULT_RETRY_AFTER]  # the wait the policy takes for a bare 429


@pytest.mark.parametrize(
    ("status", "page", "retry_after"),
    [(502, PROXY_PAGE, 1), (429, None, None), (429, PROXY_PAGE, None)],
    ids=["html-502", "bare-429", "html-429"],
)
async def test_the_sender_lets_go_of_such_a_call_once_the_policy_gives_up(
    fake: FakeTelegram,
    link: TelegramLink,
    status: int,
    page: str | None,
    retry_after: int | None,
) -> None:
    fake.fail_next(
        "sendMessage",
        error_code=status,
        page=page,
        retry_after=retry_after,
        times=QUICK.attempts,
    )
    closed: list[int] = []

    async def unreachable(chat_id: int) -> None:
        closed.append(chat_id)

    sender = Sender(link.calls, on_unreachable=unreachable)
    with waiting_with(Waits()):
        assert await sender.send(USER, Outgoing("Lost")) is None  # no exception
    assert sends(fake) == [status] * QUICK.attempts
    assert closed == []
    assert await sender.send(USER, Outgoing("Later")) is not None
    assert [m.text for m in fake.bot_messages(USER)] == ["Later"]


async def test_an_unreadable_success_is_not_retried_and_the_sender_lets_it_go(
    fake: FakeTelegram, link: TelegramLink
) -> None:
    # As PTB does ("Invalid server response"); aiogram's ClientDecodeError failed the update.
    fake.fail_next("sendMessage", error_code=200, page=PROXY_PAGE)

    async def unreachable(chat_id: int) -> None:
        raise AssertionError("not a 403")

    sender = Sender(link.calls, on_unreachable=unreachable)
    assert await sender.send(USER, Outgoing("Lost")) is None  # no exception
    assert sends(fake) == [200]


# -- the broadcaster joins in through the hooks ------------------------------------------------


def _broadcast(engine: Engine, users: list[int]) -> int:
    with Session(engine) as session, session.begin():
        for user in users:
            session.add(
                Employer(
                    chat_id=user,
                    telegram_user_id=user,
                    consent_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        row = create_broadcast(session, text="News", segment={}, created_by="t", now=NOW)
        assert row.id is not None
        return row.id


async def test_a_429_pauses_the_broadcast_limiter_and_the_retry_waits_for_its_turn(
    engine: Engine, fake: FakeTelegram, link: TelegramLink
) -> None:
    users = [USER, USER + 1, USER + 2]
    for user in users:
        fake.add_user(user)
    broadcast_id = _broadcast(engine, users)
    clock = VirtualClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    sender = Broadcaster(link.calls, engine, rate=10, workers=1, limiter=limiter)
    fake.fail_next("sendMessage", error_code=429, retry_after=30)
    result = await sender.run(broadcast_id)
    assert result is not None
    assert (result.sent, result.failed) == (3, 0)
    assert all(len(fake.bot_messages(user)) == 1 for user in users)
    # The 429's 30 s went to the shared limiter (on a virtual clock), not a sleep.
    assert clock.now >= 30
    with Session(engine) as session:
        rows = deliveries(session, broadcast_id=broadcast_id)
    assert sorted(r.status for r in rows) == ["sent"] * 3


async def test_a_429_on_any_call_pauses_the_broadcasts(
    engine: Engine, fake: FakeTelegram, link: TelegramLink
) -> None:
    clock = VirtualClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    Broadcaster(link.calls, engine, rate=10, limiter=limiter)
    fake.fail_next("sendMessage", error_code=429, retry_after=12)
    with waiting_with(Waits()):
        await link.calls.send_message(USER, "An interview question", None)
    await limiter.wait_turn()
    assert clock.now >= 12


async def test_a_send_the_policy_gives_up_on_is_recorded_as_failed(
    engine: Engine, fake: FakeTelegram, link: TelegramLink
) -> None:
    broadcast_id = _broadcast(engine, [USER])
    clock = VirtualClock()
    sender = Broadcaster(
        link.calls,
        engine,
        rate=10,
        workers=1,
        limiter=RateLimiter(10, clock=clock, sleep=clock.sleep),
    )
    fake.fail_next("sendMessage", error_code=429, retry_after=1, times=QUICK.attempts)
    result = await sender.run(broadcast_id)
    assert result is not None
    assert (result.sent, result.failed) == (0, 1)
    with Session(engine) as session:
        [row] = deliveries(session, broadcast_id=broadcast_id)
    assert row.error == "throttled"
    assert row.attempts >= QUICK.attempts - 1
