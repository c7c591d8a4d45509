"""docs/deploy/nginx.conf, run: Debian's nginx in front of two `skillsbot run` webhook
processes on PostgreSQL.

The shipped site configuration is read from docs/deploy and only its addresses, ports and
certificate paths are changed: it listens with TLS on a free port of 127.0.0.1, and its
three upstream lines become the two processes' ports and a third port nobody listens on (a
machine that is down, whose requests `proxy_next_upstream` must pass on). nginx runs
unprivileged-style with a prefix, pid file, temp folders and logs in the test's folder,
inside a small `http` block of the test's own (an access log naming the upstream each
request went to). The fake Bot API pushes every update to nginx over HTTPS, as Telegram
would; employers complete the interview through it.
"""

from __future__ import annotations

import asyncio
import re
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.devtools.fake_telegram import FakeTelegram
from conversations.definition import Interview
from storage import Engine, make_engine, upgrade
from storage import inbox as inbox_store
from tests.e2e.conftest import current_library
from tests.e2e.test_cluster import (
    DEPLOY,
    NGINX,
    Cluster,
    ClusterEmployer,
    HandledWatcher,
    free_port,
    healthy,
    self_signed,
    substituted,
)
from tests.e2e.test_concurrency import stored

SECRET = "nginx-secret-0123456789_abcdefghijklmnopq"
EMPLOYERS = 20
STARTUP_TIMEOUT = 300.0  # two processes importing and migrating on a busy machine
WEBHOOK_PATH = "/telegram/webhook"


def nginx_site(folder: Path, *, port: int, cert: Path, key: Path, upstreams: list[int]) -> str:
    """The shipped nginx.conf listening on 127.0.0.1:`port` in front of `upstreams`."""
    return substituted(
        (DEPLOY / "nginx.conf").read_text(),
        [
            (r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;", 1),
            (re.escape("/etc/letsencrypt/live/bot.example.org/fullchain.pem"), str(cert), 1),
            (re.escape("/etc/letsencrypt/live/bot.example.org/privkey.pem"), str(key), 1),
            *[
                (rf"server 10\.0\.0\.1{n}:8443 ", f"server 127.0.0.1:{upstream} ", 1)
                for n, upstream in enumerate(upstreams, start=1)
            ],
        ],
    )


def nginx_main(folder: Path, site: str) -> Path:
    """A main configuration that keeps everything in `folder` and includes `site`."""
    (folder / "site.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\ndaemon off;\n"
        "worker_processes 1;\nevents {}\nhttp {\n"
        "    log_format upstream '$status|$upstream_addr|$upstream_status';\n"
        f"    access_log {folder}/access.log upstream;\n{temp}\n"
        f"    include {folder}/site.conf;\n}}\n"
    )
    return main


def start_nginx(folder: Path, main: Path) -> subprocess.Popen[bytes]:
    """Debian's nginx in the foreground with `main` (its own prefix; errors to a file)."""
    return subprocess.Popen(
        [str(NGINX), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def cluster_database(database_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database for the processes."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """The processes and nginx (as the cluster's proxy), stopped with SIGTERM afterwards."""
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        codes = running.stop()
        assert codes == [0] * len(codes), running.logs()


async def status_of(client: aiohttp.ClientSession, method: str, url: str) -> int:
    async with client.request(method, url, data=b"{}") as answer:
        return answer.status


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
@pytest.mark.skipif(not NGINX.exists(), reason="Debian's nginx is not installed")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
# On python-telegram-bot alone: what is checked is the shipped nginx configuration in front
# of the webhook processes; aiogram's processes behind a proxy are test_cluster.py's.
@pytest.mark.one_library("ptb")
async def test_two_processes_behind_the_shipped_nginx_config_serve_every_employer(
    database_url: str,
    cluster_database: Engine,
    cluster: Cluster,
    tmp_path: Path,
    interview: Interview,
) -> None:
    engine = cluster_database
    cert, _ = self_signed(tmp_path)
    key = tmp_path / "key.pem"
    proxy_port, ports, down = free_port(), [free_port(), free_port()], free_port()
    main = nginx_main(
        tmp_path,
        nginx_site(tmp_path, port=proxy_port, cert=cert, key=key, upstreams=[*ports, down]),
    )
    cluster.proxy = start_nginx(tmp_path, main)
    async with FakeTelegram() as fake:
        fake.webhook.ssl_context = ssl.create_default_context(cafile=str(cert))
        settings = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_URL": database_url,
            "SKILLSBOT_WEBHOOK_URL": f"https://127.0.0.1:{proxy_port}{WEBHOOK_PATH}",
            "SKILLSBOT_WEBHOOK_SECRET": SECRET,
            "SKILLSBOT_LOG_LEVEL": "INFO",
            "SKILLSBOT_TELEGRAM_LIBRARY": current_library(),
        }
        for number, port in enumerate(ports, start=1):
            cluster.start_instance(number, port, settings)
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not (fake.webhook.active and all([await healthy(p) for p in ports])):
                assert all(i.process.poll() is None for i in cluster.instances), cluster.logs()
                assert cluster.proxy.poll() is None, (tmp_path / "error.log").read_text()
                await asyncio.sleep(0.2)

        # Only POSTs to the webhook's path get through; nginx refuses the rest itself.
        tls = ssl.create_default_context(cafile=str(cert))
        base = f"https://127.0.0.1:{proxy_port}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as client:
            assert await status_of(client, "GET", base + WEBHOOK_PATH) == 403
            assert await status_of(client, "POST", base + "/healthz") == 404
            assert await status_of(client, "POST", base + WEBHOOK_PATH) == 401  # no secret

        watcher = HandledWatcher(engine)
        watching = asyncio.create_task(watcher.run())
        people = [ClusterEmployer(fake, 710_000 + n, interview, watcher) for n in range(EMPLOYERS)]
        try:
            await asyncio.gather(*(person.complete() for person in people))
        finally:
            watching.cancel()

    acknowledged = {attempt.update_id for attempt in fake.webhook.attempts if attempt.ok}
    assert len(acknowledged) == watcher.handled
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT update_id, status FROM inbox_update")).all())
    assert acknowledged <= rows.keys()
    assert {rows[uid] for uid in acknowledged} == {"done"}
    assert inbox_store.failed(engine) == []
    for person in people:
        status, answers, answer_rows = stored(engine, person.user_id)
        assert status == "completed", person.transcript()
        assert answers == person.given
        assert answer_rows == person.given

    # nginx spread the updates over both processes, and passed on those it first sent to
    # the machine that is down (its attempts there failed, and the update still got a 200).
    cluster.proxy.send_signal(signal.SIGQUIT)  # graceful: the access log is complete
    cluster.proxy.wait(timeout=30)
    lines = [line.split("|") for line in (tmp_path / "access.log").read_text().splitlines()]
    webhook_posts = [(status, addresses) for status, addresses, _ in lines if addresses != "-"]
    reached = {
        address
        for status, addresses in webhook_posts
        if status == "200"
        for address in addresses.split(", ")
    }
    for port in ports:
        assert any(address.endswith(f":{port}") for address in reached), reached
    assert any(
        addresses.startswith(f"127.0.0.1:{down}, ") and status == "200"
        for status, addresses in webhook_posts
    ), webhook_posts[:20]
