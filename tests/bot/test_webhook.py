"""The webhook server over real HTTP, writing to the real inbox (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.cli import run as run_command
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_telegram.webhook import WebhookSettings
from bot.runtime.app import EmployerBot
from bot.runtime.webhook import SECRET_HEADER, ListenFailed, WebhookServer, telegram_updates
from bot.settings import Settings, load_settings
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import Engine, make_engine
from storage import inbox as inbox_store

SECRET = "k3Y-" + "abcdefghijklmnopqrstuvwxyz0123456789"
UPDATE = {
    "update_id": 500,
    "message": {"message_id": 1, "date": 0, "text": "hello", "chat": {"id": 77, "type": "private"}},
}


def inbox_accept(engine: Engine) -> Any:
    """What `EmployerBot.accept` does minus waking workers: write and commit on a thread."""

    async def accept(updates: Sequence[dict[str, Any]]) -> int:
        return await asyncio.to_thread(inbox_store.accept, engine, updates)

    return accept


async def serving(engine: Engine) -> tuple[WebhookServer, str]:
    server = WebhookServer(
        accept=inbox_accept(engine), database=engine, secret=SECRET, path="/telegram/hook"
    )
    await server.start("127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def webhook(engine: Engine) -> AsyncIterator[str]:
    """The base URL of a webhook server writing to `engine`'s inbox."""
    server, base = await serving(engine)
    yield base
    await server.stop()


@pytest.fixture
def sqlite_engine(tmp_path: Path, migrated_sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite database, for the tests whose point is not the backend."""
    shutil.copyfile(migrated_sqlite_template, tmp_path / "inbox.db")
    database = make_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    yield database
    database.dispose()


@pytest.fixture
async def refusing(sqlite_engine: Engine) -> AsyncIterator[str]:
    """The base URL of a webhook server writing to a SQLite inbox."""
    server, base = await serving(sqlite_engine)
    yield base
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    client: aiohttp.ClientSession,
    base: str,
    body: bytes | dict[str, Any],
    *,
    secret: str | None = SECRET,
) -> tuple[int, dict[str, Any]]:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    data = body if isinstance(body, bytes) else None
    async with client.post(
        f"{base}/telegram/hook", data=data, headers=headers, json=None if data is not None else body
    ) as answer:
        return answer.status, await answer.json()


async def test_an_update_is_in_the_inbox_when_the_answer_is_200(
    engine: Engine, webhook: str, client: aiohttp.ClientSession
) -> None:
    status, body = await post(client, webhook, UPDATE)
    assert (status, body) == (200, {"ok": True})
    assert inbox_store.pending_count(engine) == 1
    claimed = inbox_store.claim(engine, owner="test")
    assert [(c.update_id, c.chat_key, c.payload["message"]["text"]) for c in claimed] == [
        (500, 77, "hello")
    ]


async def test_a_repeated_update_is_answered_200_and_kept_once(
    engine: Engine, webhook: str, client: aiohttp.ClientSession
) -> None:
    assert (await post(client, webhook, UPDATE))[0] == 200
    assert (await post(client, webhook, UPDATE))[0] == 200
    assert inbox_store.pending_count(engine) == 1


@pytest.mark.parametrize("secret", [None, "", SECRET[:-1], SECRET + "x", SECRET.upper()])
async def test_a_wrong_or_missing_secret_is_refused(
    sqlite_engine: Engine, refusing: str, client: aiohttp.ClientSession, secret: str | None
) -> None:
    status, body = await post(client, refusing, UPDATE, secret=secret)
    assert status == 401
    assert body["description"] == "wrong or missing secret token"
    assert inbox_store.pending_count(sqlite_engine) == 0


async def test_the_secret_is_compared_in_constant_time(
    refusing: str, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert (await post(client, refusing, UPDATE, secret="guess"))[0] == 401
    assert (await post(client, refusing, UPDATE))[0] == 200
    assert compared == [(b"guess", SECRET.encode()), (SECRET.encode(), SECRET.encode())]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"update_id": 1',
        b"[1, 2]",
        b'"text"',
        b"{}",
        b'{"update_id": "7"}',
        b'{"update_id": true}',
        b"\xff\xfe",
    ],
)
async def test_garbage_is_answered_400_without_a_traceback(
    sqlite_engine: Engine,
    refusing: str,
    client: aiohttp.ClientSession,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, answer = await post(client, refusing, body)
    assert status == 400
    assert answer["ok"] is False
    assert "Traceback" not in caplog.text
    assert inbox_store.pending_count(sqlite_engine) == 0


@pytest.mark.parametrize("update_id", [2**63, 2**64 + 5, -1, 0])
async def test_an_update_id_telegram_cannot_send_is_answered_400(
    engine: Engine,
    webhook: str,
    client: aiohttp.ClientSession,
    update_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Telegram's ids are positive; one beyond the inbox's bigint column is no update either.
    status, answer = await post(client, webhook, {**UPDATE, "update_id": update_id})
    assert (status, answer["ok"]) == (400, False)
    assert "Traceback" not in caplog.text
    assert inbox_store.pending_count(engine) == 0


async def test_the_largest_bigint_update_id_is_kept(
    engine: Engine, webhook: str, client: aiohttp.ClientSession
) -> None:
    assert (await post(client, webhook, {**UPDATE, "update_id": 2**63 - 1}))[0] == 200
    assert [c.update_id for c in inbox_store.claim(engine, owner="test")] == [2**63 - 1]


async def test_the_answer_waits_for_the_commit(
    engine: Engine, webhook: str, client: aiohttp.ClientSession
) -> None:
    # Another writer holds the inbox: the update cannot be committed until it lets go.
    with engine.connect() as holder:
        transaction = holder.begin()  # on SQLite: BEGIN IMMEDIATE, the write lock
        if engine.dialect.name == "postgresql":
            holder.exec_driver_sql("LOCK TABLE inbox_update IN SHARE ROW EXCLUSIVE MODE")
        answer = asyncio.create_task(post(client, webhook, UPDATE))
        await asyncio.sleep(0.5)
        assert not answer.done(), "answered before the update was committed"
        transaction.rollback()
    assert (await asyncio.wait_for(answer, timeout=10))[0] == 200
    assert inbox_store.pending_count(engine) == 1


async def test_with_the_database_away_the_answer_is_503_and_health_says_so(
    client: aiohttp.ClientSession,
) -> None:
    away = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    server, base = await serving(away)
    try:
        status, body = await post(client, base, UPDATE)
        assert status == 503
        assert "try again" in body["description"]
        async with client.get(f"{base}/healthz") as health:
            assert (health.status, await health.json()) == (503, {"database": "unavailable"})
    finally:
        await server.stop()
        away.dispose()


async def test_health_is_ok_when_the_database_answers(
    webhook: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{webhook}/healthz") as health:
        assert (health.status, await health.json()) == (200, {"database": "ok"})


async def test_only_post_on_the_webhook_path(refusing: str, client: aiohttp.ClientSession) -> None:
    async with client.get(f"{refusing}/telegram/hook") as answer:
        assert answer.status == 405
    async with client.post(
        f"{refusing}/other", headers={SECRET_HEADER: SECRET}, json=UPDATE
    ) as answer:
        assert answer.status == 404


async def test_two_servers_share_a_port(sqlite_engine: Engine) -> None:
    first = WebhookServer(accept=inbox_accept(sqlite_engine), database=sqlite_engine, secret=SECRET)
    second = WebhookServer(
        accept=inbox_accept(sqlite_engine), database=sqlite_engine, secret=SECRET
    )
    await first.start("127.0.0.1", 0)
    try:
        await second.start("127.0.0.1", first.port)  # SO_REUSEPORT: no "address in use"
        await second.stop()
    finally:
        await first.stop()


@pytest.mark.parametrize(
    ("environment", "line"),
    [
        ({}, "SKILLSBOT_WEBHOOK_SECRET is not set; webhook mode"),
        ({"SKILLSBOT_WEBHOOK_SECRET": "password"}, "SKILLSBOT_WEBHOOK_SECRET must be 32 to 256"),
        ({"SKILLSBOT_WEBHOOK_SECRET": "a" * 40}, "SKILLSBOT_WEBHOOK_SECRET must be 32 to 256"),
    ],
)
def test_run_refuses_a_webhook_without_a_strong_secret(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environment: dict[str, str],
    line: str,
) -> None:
    for key in list(os.environ):
        if key.startswith(("SKILLSBOT_", "TELEGRAM_", "DATABASE_URL")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no .env here
    settings = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "SKILLSBOT_WEBHOOK_URL": "https://bot.example.org/hook",
        **environment,
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as stopped:
        run_command.run()
    assert stopped.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"skillsbot: {line}")
    assert stderr.count("\n") == 1
    assert not (tmp_path / "x.db").exists()


def webhook_settings(
    monkeypatch: pytest.MonkeyPatch, fake: FakeTelegram, **variables: str
) -> Settings:
    for key in list(os.environ):
        if key.startswith(("SKILLSBOT_", "TELEGRAM_", "DATABASE_URL")):
            monkeypatch.delenv(key)
    for key, value in {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        **variables,
    }.items():
        monkeypatch.setenv(key, value)
    return load_settings(env_file=None)


@pytest.fixture
async def employer_bot(sqlite_engine: Engine, fake: FakeTelegram) -> AsyncIterator[EmployerBot]:
    bot = EmployerBot(
        token=fake.token,
        api_url=fake.base_url,
        database=sqlite_engine,
        interview=load_interview(builtin_interview_path()),
        area=DEFAULT_AREA,
        zone=ZoneInfo("Europe/London"),
    )
    yield bot
    await bot.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_listens_sets_the_webhook_and_fills_the_inbox(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeTelegram,
    employer_bot: EmployerBot,
    sqlite_engine: Engine,
) -> None:
    port = free_port()
    settings = webhook_settings(
        monkeypatch,
        fake,
        SKILLSBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        SKILLSBOT_WEBHOOK_SECRET=SECRET,
        SKILLSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        SKILLSBOT_WEBHOOK_MAX_CONNECTIONS="12",
    )
    async with telegram_updates(employer_bot, settings) as polling:
        assert polling is False
        assert fake.webhook.settings == WebhookSettings(
            f"http://127.0.0.1:{port}/telegram/hook",
            SECRET,
            12,
            ("message", "callback_query", "my_chat_member"),
        )
        update_id = await fake.send_text(42, "hello")
        await fake.wait_until(lambda: fake.acknowledged_offset > update_id)
        assert inbox_store.pending_count(sqlite_engine) == 1
    assert fake.webhook.active  # stays set for the other processes


async def test_polling_mode_deletes_the_webhook_first(
    monkeypatch: pytest.MonkeyPatch, fake: FakeTelegram, employer_bot: EmployerBot
) -> None:
    await employer_bot.account.set_webhook(
        url="https://bot.example.org/hook",
        secret=SECRET,
        max_connections=40,
        allowed_updates=["message"],
    )
    async with telegram_updates(employer_bot, webhook_settings(monkeypatch, fake)) as polling:
        assert polling is True
        assert not fake.webhook.active


async def test_a_port_taken_by_another_program_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, fake: FakeTelegram, employer_bot: EmployerBot
) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        settings = webhook_settings(
            monkeypatch,
            fake,
            SKILLSBOT_WEBHOOK_URL="https://bot.example.org/hook",
            SKILLSBOT_WEBHOOK_SECRET=SECRET,
            SKILLSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        )
        with pytest.raises(ListenFailed, match=f"cannot listen on 127.0.0.1:{port}"):
            async with telegram_updates(employer_bot, settings):
                pass
    assert not fake.webhook.active
