"""The webhook with a PostgreSQL that stops answering, or drops its connections.

A small TCP proxy of the test's own sits between the webhook's engine and the real
PostgreSQL; "frozen", it keeps every connection open (and takes new ones) but forwards
nothing, as a hung database server does. Telegram must get an answer (503: it sends the
update again) and the process must not tie up a thread per request meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import psycopg
import pytest

from bot.runtime.webhook import WebhookServer
from storage import Engine, make_engine
from storage import inbox as inbox_store
from storage.db import normalise_url
from tests.bot.test_webhook import SECRET, UPDATE, inbox_accept, post

pytestmark = pytest.mark.postgres
ANSWER_WITHIN = aiohttp.ClientTimeout(total=20)  # only so that a hang fails, not a measure


class FreezableProxy:
    """Forwards TCP between clients and `target`; `freeze()` stops forwarding (the
    connections stay open and new ones are taken), `thaw()` lets the held bytes through."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.thawed = asyncio.Event()
        self.thawed.set()
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        self.thawed.clear()

    def thaw(self) -> None:
        self.thawed.set()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, upstream_writer]
        # Cancelled when the loop closes under a connection still open.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(
                self._pipe(reader, upstream_writer),
                self._pipe(upstream_reader, writer),
                return_exceptions=True,
            )
        for each in (writer, upstream_writer):
            each.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            await self.thawed.wait()
            sink.write(data)
            await sink.drain()
        sink.close()


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[FreezableProxy]:
    url = normalise_url(database_url)
    running = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    await running.start()
    yield running
    running.thaw()
    await running.close()


@pytest.fixture
def proxied(engine: Engine, database_url: str, proxy: FreezableProxy) -> AsyncIterator[Engine]:
    """An engine on the test's (migrated) schema, reaching PostgreSQL through the proxy."""
    url = normalise_url(database_url).set(host="127.0.0.1", port=proxy.port)
    through = make_engine(url.render_as_string(hide_password=False))
    yield through  # type: ignore[misc]
    through.dispose()


async def serve(engine: Engine, **limits: Any) -> tuple[WebhookServer, str]:
    server = WebhookServer(
        accept=inbox_accept(engine), database=engine, secret=SECRET, path="/telegram/hook", **limits
    )
    await server.start("127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.port}"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_hung_database_is_answered_503_and_does_not_pile_up_threads(
    engine: Engine, proxied: Engine, proxy: FreezableProxy
) -> None:
    server, base = await serve(proxied, accept_timeout=1.0, health_timeout=1.0, max_stuck=2)
    try:
        async with aiohttp.ClientSession(timeout=ANSWER_WITHIN) as client:
            assert (await post(client, base, UPDATE))[0] == 200
            proxy.freeze()
            for update_id in range(601, 607):
                status, body = await post(client, base, {**UPDATE, "update_id": update_id})
                assert status == 503, body
                assert "try again" in body["description"]
            async with client.get(f"{base}/healthz") as health:
                assert health.status == 503
            # Calls that timed out wait on their threads; no more than max_stuck are started.
            assert 0 < len(server.stuck) <= 2
            proxy.thaw()
            async with asyncio.timeout(30):
                while server.stuck:  # noqa: ASYNC110 (the threads end when the proxy thaws)
                    await asyncio.sleep(0.1)
            assert (await post(client, base, {**UPDATE, "update_id": 610}))[0] == 200
    finally:
        proxy.thaw()
        await server.stop()
    assert inbox_store.pending_count(engine) >= 2  # 500 and 610 at least


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_connection_the_server_dropped_is_replaced_not_answered_503(
    engine: Engine, database_url: str
) -> None:
    server, base = await serve(engine)
    try:
        async with aiohttp.ClientSession(timeout=ANSWER_WITHIN) as client:
            assert (await post(client, base, UPDATE))[0] == 200  # a connection in the pool
            # The server ends this schema's sessions (its connections carry its name).
            schema = normalise_url(database_url).query["application_name"]
            maintenance = normalise_url(database_url).set(drivername="postgresql", query={})
            with psycopg.connect(
                maintenance.render_as_string(hide_password=False), autocommit=True
            ) as admin:
                ended = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (schema,),
                ).fetchone()
            assert ended is not None
            assert ended[0] >= 1
            assert (await post(client, base, {**UPDATE, "update_id": 501}))[0] == 200
    finally:
        await server.stop()
