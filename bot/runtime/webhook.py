"""Telegram's webhook: updates POSTed by Telegram are written to the inbox, then answered.

`WebhookServer` serves two routes with aiohttp:

- ``POST <path of SKILLSBOT_WEBHOOK_URL>``: the ``X-Telegram-Bot-Api-Secret-Token`` header
  must equal the secret (compared in constant time; 401 otherwise, before the body is
  read); the body must be a JSON object with an integer ``update_id`` (400 otherwise). The
  update is handed to ``accept`` (the inbox: `EmployerBot.accept`), and 200 is answered
  only once that returned, that is once the update is committed. When the database is
  away (`storage.is_transient`), or does not answer within `accept_timeout`, the answer is
  503 and Telegram sends the update again later; an update already in the inbox is
  answered 200 again and handled once. A pooled connection the server had dropped is
  noticed by the write that uses it, and the write is tried once more on a fresh one
  (cheaper than pinging every connection before use). Calls that timed out keep their
  threads until they end; with `max_stuck` of them, requests get 503 at once.
- ``GET /healthz``: 200 ``{"database": "ok"}`` when the database answers, else 503.

The socket is opened with ``SO_REUSEPORT``, so several `skillsbot run` processes on one
machine can listen on the same port and the kernel spreads the connections among them.
`register` calls setWebhook (at every start: idempotent) and `unregister` deleteWebhook
(before polling; Telegram refuses getUpdates while a webhook is set).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from bot.core.updates import RawUpdate
from bot.transports import BotAccount, TelegramUnavailable
from storage import Engine, Units, is_dropped_connection, is_transient
from storage.db import answer_once

if TYPE_CHECKING:
    from bot.runtime.app import EmployerBot
    from bot.settings import Settings

logger = logging.getLogger("skillsbot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# The update kinds the bot asks Telegram for (the same as polling's, `bot.runtime.polling`).
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
HEALTH_TIMEOUT_SECONDS = 3.0
# How long an update's inbox write may take before the answer is 503 (Telegram sends it
# again later): a database that accepts connections but never answers must not leave
# Telegram's request hanging.
ACCEPT_TIMEOUT_SECONDS = 10.0
# Database calls that timed out are still running on their threads (a thread cannot be
# stopped); once this many are, requests are answered 503 at once without starting more,
# so a hung database cannot tie up every thread of the process.
MAX_STUCK_CALLS = 4
# An update is a few kilobytes; anything much larger is not from Telegram.
MAX_BODY = 1024 * 1024
# How often setWebhook is tried at start before giving up (1 s, 2 s, 4 s, ... apart).

T = TypeVar("T")
Accept = Callable[[Sequence[RawUpdate]], Awaitable[int]]


def webhook_path(url: str) -> str:
    """The path Telegram posts to: that of the webhook URL (``/`` when it has none)."""
    return urlsplit(url).path or "/"


class WebhookServer:
    """Telegram's webhook in front of the inbox; see the module docstring."""

    def __init__(
        self,
        *,
        accept: Accept,
        database: Engine,
        secret: str,
        path: str = "/",
        health_timeout: float = HEALTH_TIMEOUT_SECONDS,
        accept_timeout: float = ACCEPT_TIMEOUT_SECONDS,
        max_stuck: int = MAX_STUCK_CALLS,
        units: Units | None = None,
    ) -> None:
        self.accept = accept
        self.database = database
        # How the health check reaches the database (the bot's one `Units`, else its own,
        # let go by `stop`).
        self.units = units or Units(database)
        self._owns_units = units is None
        self.path = path
        self.health_timeout = health_timeout
        self.accept_timeout = accept_timeout
        self.max_stuck = max_stuck
        self.stuck: set[asyncio.Future[Any]] = set()  # timed out, still running
        self._secret = secret.encode()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def application(self) -> web.Application:
        """The aiohttp application (its two routes)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self.receive)
        app.router.add_get("/healthz", self.health)
        return app

    async def start(self, host: str, port: int, *, reuse_port: bool = True) -> None:
        """Listen on host:port (0: any free port, then read `port`)."""
        runner = web.AppRunner(
            self.application(), access_log=None, handle_signals=False, shutdown_timeout=5.0
        )
        await runner.setup()
        await web.TCPSite(runner, host, port, reuse_port=reuse_port).start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        logger.info("event=webhook_listening host=%s port=%s", host, self.port)

    async def stop(self) -> None:
        """Stop listening; requests in hand are finished first."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._owns_units:
            await self.units.aclose()

    async def receive(self, request: web.Request) -> web.Response:
        """One update from Telegram: check, write to the inbox, answer once committed."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            logger.warning("event=webhook_refused reason=secret")
            return _answer(401, "wrong or missing secret token")
        try:
            update = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _answer(400, "the body is not JSON")
        if not isinstance(update, dict) or not _update_id(update.get("update_id")):
            return _answer(400, "the body is not a Telegram update")
        try:
            try:
                await self._bounded(lambda: self.accept([update]), self.accept_timeout)
            except Exception as error:
                if not is_dropped_connection(error):
                    raise
                # A pooled connection the server had dropped (a restart, a failover): the
                # pool is discarded now, and a fresh connection is tried once.
                await self._bounded(lambda: self.accept([update]), self.accept_timeout)
        except TimeoutError:  # no answer in time, or too many calls stuck already
            logger.warning("event=webhook_database_slow")
            return _answer(503, "the database does not answer; try again")
        except Exception as error:
            if is_transient(error):
                logger.warning("event=webhook_database_away error=%s", type(error).__name__)
                return _answer(503, "the database is away; try again")
            logger.error("event=webhook_accept_failed error=%s", type(error).__name__)
            return _answer(500, "the update could not be saved")
        return _answer(200, None)

    async def _bounded(self, call: Callable[[], Awaitable[T]], seconds: float) -> T:
        """`call()` within `seconds` (TimeoutError otherwise). A call that times out
        runs on (its thread cannot be stopped) and counts as stuck until it ends; with
        `max_stuck` of those, raise DatabaseStuck at once instead of starting another."""
        if len(self.stuck) >= self.max_stuck:
            raise DatabaseStuck("earlier database calls have not ended")
        task = asyncio.ensure_future(call())
        try:
            return await asyncio.wait_for(asyncio.shield(task), seconds)
        except TimeoutError:
            self.stuck.add(task)
            task.add_done_callback(self._unstick)
            raise

    def _unstick(self, task: asyncio.Future[Any]) -> None:
        self.stuck.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its error was answered already (as a 503)

    async def health(self, request: web.Request) -> web.Response:
        """Whether the database answers (for the proxy's health checks)."""
        try:
            await self._bounded(lambda: self.units.read(answer_once), self.health_timeout)
        except Exception as error:
            logger.warning("event=health_failed error=%s", type(error).__name__)
            return web.json_response({"database": "unavailable"}, status=503)
        return web.json_response({"database": "ok"})


# Telegram's update ids are positive, and the inbox keeps them in a bigint column.
MAX_UPDATE_ID = 2**63 - 1


class DatabaseStuck(TimeoutError):
    """Too many database calls have timed out and not yet ended: none is started."""


def _update_id(value: Any) -> bool:
    """Whether `value` can be a Telegram update_id: a positive integer that fits a bigint."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_UPDATE_ID


def _answer(status: int, problem: str | None) -> web.Response:
    body: dict[str, Any] = {"ok": problem is None}
    if problem is not None:
        body["description"] = problem
    return web.json_response(body, status=status)


async def register(account: BotAccount, *, url: str, secret: str, max_connections: int) -> None:
    """setWebhook with our allowed updates, `max_connections` and the secret, with the
    library chosen; tried again by its retry policy while Telegram or the network is unwell
    (`bot.retry`; raises when it gives up)."""
    await account.set_webhook(
        url=url, secret=secret, max_connections=max_connections, allowed_updates=ALLOWED_UPDATES
    )


async def unregister(account: BotAccount) -> None:
    """deleteWebhook, keeping the pending updates: polling fetches them next."""
    await account.delete_webhook()


class ListenFailed(Exception):
    """The webhook's address cannot be listened on (in use without SO_REUSEPORT, not ours)."""


@asynccontextmanager
async def telegram_updates(employer_bot: EmployerBot, settings: Settings) -> AsyncIterator[bool]:
    """How updates reach the inbox; yields whether the bot must poll.

    With SKILLSBOT_WEBHOOK_URL: listen on SKILLSBOT_WEBHOOK_LISTEN, call setWebhook, yield
    False, and stop listening afterwards (the webhook stays set for the other processes;
    Telegram keeps the updates while none answers). Without: deleteWebhook, yield True.
    """
    if settings.webhook_url is None:
        try:
            await unregister(employer_bot.account)
        except TelegramUnavailable as error:
            # the retry policy gave up; polling carries on (getUpdates says 409 if set)
            logger.warning("event=delete_webhook_failed error=%s", type(error).__name__)
        yield True
        return
    assert settings.webhook_secret is not None  # the settings refuse a URL without one
    secret = settings.webhook_secret.get_secret_value()
    server = WebhookServer(
        accept=employer_bot.accept,
        database=employer_bot.database,
        secret=secret,
        path=webhook_path(settings.webhook_url),
        units=employer_bot.units,
    )
    host, port = settings.webhook_address
    try:
        await server.start(host, port)
    except OSError as error:
        raise ListenFailed(
            f"cannot listen on {settings.webhook_listen} for the webhook "
            f"({error.strerror or error})"
        ) from None
    try:
        await register(
            employer_bot.account,
            url=settings.webhook_url,
            secret=secret,
            max_connections=settings.webhook_max_connections,
        )
        yield False
    finally:
        await server.stop()
