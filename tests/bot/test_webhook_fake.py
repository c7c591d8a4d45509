"""The fake Bot API's webhook side, driven by a real aiogram Bot, pushing to a real HTTP
receiver that stands in for the bot's webhook (the network edge)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiohttp import web

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_telegram.webhook import SECRET_HEADER

SECRET = "s3cret-token_ABC"


class PlainHttpSession(AiohttpSession):
    """aiogram's session without the 250 ms pause its close() keeps for TLS connections."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@dataclass
class Receiver:
    """A webhook endpoint that records what arrives and answers as told."""

    statuses: list[int] = field(default_factory=list)  # answered in turn; then 200
    hold: asyncio.Event | None = None  # when given, each request waits for it
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[str | None] = field(default_factory=list)
    in_flight: dict[int, int] = field(default_factory=dict)  # chat -> requests in hand
    overlaps: list[int] = field(default_factory=list)  # chats seen with two at once
    concurrent: int = 0
    peak: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        chat = _chat(update)
        self.in_flight[chat] = self.in_flight.get(chat, 0) + 1
        if self.in_flight[chat] > 1:
            self.overlaps.append(chat)
        self.concurrent += 1
        self.peak = max(self.peak, self.concurrent)
        try:
            if self.hold is not None:
                await self.hold.wait()
            await asyncio.sleep(self.delay)
            self.received.append(update)
            self.headers.append(request.headers.get(SECRET_HEADER))
            status = self.statuses.pop(0) if self.statuses else 200
            return web.json_response({}, status=status)
        finally:
            self.concurrent -= 1
            self.in_flight[chat] -= 1


def _chat(update: dict[str, Any]) -> int:
    if "message" in update:
        return int(update["message"]["chat"]["id"])
    return int(update["callback_query"]["message"]["chat"]["id"])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.webhook.retry_first = 0.01
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(
        fake.token, session=PlainHttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    )
    yield client
    await client.session.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    endpoint.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield endpoint
    await runner.cleanup()


async def test_webhook_info_and_polling_conflict(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    info = await bot.get_webhook_info()
    assert info.url == ""
    assert info.pending_update_count == 0
    await fake.send_text(1, "before the webhook")
    assert await bot.set_webhook(
        receiver.url,
        secret_token=SECRET,
        max_connections=7,
        allowed_updates=["message"],
        drop_pending_updates=True,
    )
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.allowed_updates) == (receiver.url, 7, ["message"])
    assert info.pending_update_count == 0  # dropped
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    update_id = await fake.send_text(1, "after it")
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]
    assert receiver.received == []


async def test_set_webhook_checks_its_arguments(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="unallowed characters"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="no spaces")
    with pytest.raises(TelegramBadRequest, match="max_connections"):
        await bot.set_webhook("https://bot.example.org/hook", max_connections=101)
    with pytest.raises(TelegramBadRequest, match="HTTPS URL"):
        await bot.set_webhook("ftp://bot.example.org/hook")


async def test_a_long_poll_ends_in_conflict_when_a_webhook_is_set(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await fake.wait_until(lambda: fake.polls_started == 1)
    other = Bot(
        fake.token, session=PlainHttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    )
    try:
        await other.set_webhook(receiver.url)
    finally:
        await other.session.close()
    with pytest.raises(TelegramConflictError):
        await asyncio.wait_for(poll, timeout=5)


async def test_updates_are_pushed_with_the_secret_and_confirmed_on_200(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    first = await fake.send_text(5, "hello")
    second = await fake.send_text(5, "again")
    await fake.wait_until(lambda: fake.acknowledged_offset > second)
    assert [u["update_id"] for u in receiver.received] == [first, second]
    assert receiver.received[0]["message"]["text"] == "hello"
    assert receiver.headers == [SECRET, SECRET]
    assert fake.pending_updates == 0
    assert [a.status for a in fake.webhook.attempts] == [200, 200]


async def test_without_a_secret_no_header_is_sent(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url)
    update_id = await fake.send_text(5, "hello")
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
    assert receiver.headers == [None]


async def test_a_refused_update_is_kept_and_tried_again(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.statuses = [503, 500, 401]
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    update_id = await fake.send_text(5, "hello")
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
    attempts = fake.webhook.attempts
    assert [a.status for a in attempts] == [503, 500, 401, 200]
    assert {a.update_id for a in attempts} == {update_id}
    pauses = [b.started - a.finished for a, b in zip(attempts, attempts[1:], strict=False)]
    assert pauses[0] >= 0.01
    assert pauses[1] >= 0.02
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
    assert info.last_error_date is not None
    assert [u["update_id"] for u in receiver.received] == [update_id] * 4


async def test_a_webhook_that_is_down_gets_the_update_once_it_is_up(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")  # the discard port: nobody listens
    update_id = await fake.send_text(5, "hello")
    await fake.wait_until(lambda: len(fake.webhook.attempts) >= 2)
    assert {a.status for a in fake.webhook.attempts} == {0}
    assert (await bot.get_webhook_info()).last_error_message == "Connection refused"
    assert fake.pending_updates == 1
    await bot.set_webhook(receiver.url)
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
    assert [u["update_id"] for u in receiver.received] == [update_id]


async def test_one_request_per_chat_in_order_chats_in_parallel(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.delay = 0.02
    receiver.statuses = [200, 502]  # the first chat's second update is refused once
    await bot.set_webhook(receiver.url)
    sent: dict[int, list[int]] = {1: [], 2: [], 3: []}
    for turn in range(5):
        for chat in sent:
            sent[chat].append(await fake.send_text(chat, f"answer {turn}"))
    last = max(max(ids) for ids in sent.values())
    await fake.wait_until(lambda: fake.acknowledged_offset > last, timeout=10)
    taken = [a for a in fake.webhook.attempts if a.ok]
    for chat, ids in sent.items():
        assert [a.update_id for a in taken if a.chat_id == chat] == ids
    assert receiver.overlaps == []  # never two requests of one chat at once
    assert receiver.peak >= 2  # different chats did not wait for each other


async def test_max_connections_bounds_the_requests_in_flight(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.hold = asyncio.Event()
    await bot.set_webhook(receiver.url, max_connections=3)
    ids = [await fake.send_text(chat, "hi") for chat in range(1, 11)]
    await fake.wait_until(lambda: fake.webhook.in_flight == 3)
    await asyncio.sleep(0.05)  # a fourth request would have had time to arrive
    assert receiver.concurrent == 3
    receiver.hold.set()
    await fake.wait_until(lambda: fake.acknowledged_offset > max(ids))
    assert receiver.peak == 3
    assert fake.webhook.peak_in_flight == 3
    assert len(receiver.received) == 10


async def test_a_press_is_pushed_in_its_chats_order(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    sent = await bot.send_message(
        8,
        "Pick",
        reply_markup={  # type: ignore[arg-type]
            "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]
        },
    )
    await bot.set_webhook(receiver.url)
    typed = await fake.send_text(8, "typed first")
    pressed = await fake.press(8, sent.message_id, "a")
    await fake.wait_until(lambda: fake.acknowledged_offset > pressed)
    assert [u["update_id"] for u in receiver.received] == [typed, pressed]
    assert [a.chat_id for a in fake.webhook.attempts] == [8, 8]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


async def test_an_https_webhook_must_have_a_certificate_the_fake_trusts(
    fake: FakeTelegram, bot: Bot, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    endpoint = Receiver()
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=served).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        await bot.set_webhook(url)
        update_id = await fake.send_text(5, "hello")
        await fake.wait_until(lambda: len(fake.webhook.attempts) >= 1)
        assert fake.webhook.attempts[0].error == "SSL error: certificate verify failed"
        assert endpoint.received == []
        fake.webhook.ssl_context = ssl.create_default_context(cafile=str(cert))
        await bot.set_webhook(url)  # as Telegram's setWebhook with the certificate
        await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
        assert [u["update_id"] for u in endpoint.received] == [update_id]
    finally:
        await runner.cleanup()
