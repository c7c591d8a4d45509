"""The fake's webhook side: setWebhook, deleteWebhook, getWebhookInfo, and pushing updates.

While a webhook is set, updates go to it by HTTP POST (JSON, with the
``X-Telegram-Bot-Api-Secret-Token`` header when a secret was given), as Telegram does:

- one request in flight per chat, in order: a chat's next update waits until its previous
  one was answered 2xx;
- up to ``max_connections`` requests in flight overall;
- a non-2xx answer, a timeout or a refused connection keeps the update and tries it again
  after a growing delay (``retry_first`` doubling up to ``retry_cap``), recording the error
  for getWebhookInfo's ``last_error_date`` and ``last_error_message``;
- getUpdates answers 409 Conflict while a webhook is set.

Each attempt is recorded (``Webhook.attempts``) so tests can assert on what was sent when.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import orjson

from bot.devtools.fake_telegram.errors import ApiError, bad_request
from bot.devtools.fake_telegram.state import JsonDict, World, utc_now

if TYPE_CHECKING:
    from bot.devtools.fake_telegram.api import Params

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
# The kinds whose payload names the chat; other updates have no chat to keep in order with.
_CHAT_PAYLOADS = ("message", "edited_message", "my_chat_member", "chat_member")


@dataclass(frozen=True)
class WebhookSettings:
    """What setWebhook was told."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: tuple[str, ...]


@dataclass(frozen=True)
class PushAttempt:
    """One POST of an update to the webhook: when (``time.monotonic()``), and how it went.

    ``status`` is the HTTP status, or 0 when no answer came (connection refused or dropped,
    timeout); ``error`` says what went wrong, None on a 2xx.
    """

    update_id: int
    chat_id: int | None
    started: float
    finished: float
    status: int
    error: str | None

    @property
    def ok(self) -> bool:
        """True when the webhook took the update (any 2xx)."""
        return 200 <= self.status < 300


def update_chat(update: JsonDict) -> int | None:
    """The chat an update belongs to, as Telegram orders them (None: no chat)."""
    for kind in _CHAT_PAYLOADS:
        payload = update.get(kind)
        if isinstance(payload, dict):
            return (payload.get("chat") or {}).get("id")
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        holder = message.get("chat") if isinstance(message, dict) else query.get("from")
        return (holder or {}).get("id")
    return None


class Webhook:
    """The webhook of one fake bot: its settings, the push loop and every attempt made."""

    def __init__(
        self,
        world: World,
        *,
        retry_first: float = 0.05,
        retry_cap: float = 2.0,
        request_timeout: float = 10.0,
    ) -> None:
        self.world = world
        self.retry_first = retry_first
        self.retry_cap = retry_cap
        self.request_timeout = request_timeout
        # How https:// webhooks are checked: None trusts the system's CAs, as Telegram does;
        # a test with its own certificate (Telegram's setWebhook `certificate`) sets a context.
        self.ssl_context: ssl.SSLContext | None = None
        self.settings: WebhookSettings | None = None
        self.attempts: list[PushAttempt] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.last_error: tuple[int, str] | None = None  # (unix time, message)
        self._busy: set[int | str] = set()  # chats (or chatless updates) with one in hand
        self._pushing: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(1)
        self._client: aiohttp.ClientSession | None = None

    # -- Bot API methods -----------------------------------------------------------------

    async def set_webhook(self, params: Params) -> bool:
        """setWebhook: start pushing to ``url`` (an empty url removes the webhook)."""
        url = (params.text("url") or "").strip()
        if not url:
            await self._remove(drop=params.boolean("drop_pending_updates"))
            return True
        if not _URL.fullmatch(url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        connections = params.integer("max_connections") or 40
        if not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = params.json("allowed_updates")
        if allowed is not None and (
            not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed)
        ):
            raise bad_request("can't parse allowed updates")
        await self._remove(drop=params.boolean("drop_pending_updates"))
        kinds = tuple(allowed) if allowed is not None else self._current_allowed()
        self.settings = WebhookSettings(url, secret, connections, kinds)
        self.world.updates.allowed_updates = frozenset(kinds)
        self._slots = asyncio.Semaphore(connections)
        self._client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            connector=aiohttp.TCPConnector(limit=0, ssl=self.ssl_context or True),
        )
        self._pushing = asyncio.create_task(self._push(), name="fake-webhook-push")
        self.world.updates.pulse.fire()  # a long poll still waiting answers 409 now
        return True

    async def delete_webhook(self, params: Params) -> bool:
        """deleteWebhook: stop pushing; updates wait for getUpdates again."""
        await self._remove(drop=params.boolean("drop_pending_updates"))
        return True

    async def get_webhook_info(self, params: Params) -> JsonDict:
        """getWebhookInfo."""
        info: JsonDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if self.settings is None:
            return info
        info.update(url=self.settings.url, max_connections=self.settings.max_connections)
        if self.settings.allowed_updates:
            info["allowed_updates"] = list(self.settings.allowed_updates)
        if self.last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.last_error
        return info

    # -- state -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether a webhook is set (getUpdates then answers 409)."""
        return self.settings is not None

    def refuse_polling(self) -> None:
        """Raise getUpdates' 409 while a webhook is set."""
        if self.active:
            raise ApiError(409, WEBHOOK_ACTIVE)

    async def close(self) -> None:
        """Stop pushing (the fake is stopping); the webhook stays set, as on Telegram."""
        settings = self.settings
        await self._remove(drop=False)
        self.settings = settings

    def _current_allowed(self) -> tuple[str, ...]:
        return tuple(sorted(self.world.updates.allowed_updates))

    async def _remove(self, *, drop: bool) -> None:
        self.settings = None
        tasks = [task for task in (self._pushing, *self._deliveries) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pushing = None
        self._busy.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if drop:
            self.world.updates.drop_pending()
        self.world.changed()

    # -- pushing -----------------------------------------------------------------------------

    async def _push(self) -> None:
        """Start a delivery for each chat's oldest pending update whose chat has none in
        hand; wake on every new update and every finished delivery."""
        queue = self.world.updates
        while True:
            for update in queue.take(len(queue)):
                chat = update_chat(update)
                key: int | str = chat if chat is not None else f"update-{update['update_id']}"
                if key in self._busy:
                    continue  # one in flight per chat; the later ones wait their turn
                self._busy.add(key)
                task = asyncio.create_task(self._deliver(update, chat, key))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
            await queue.pulse.wait(3600)

    async def _deliver(self, update: JsonDict, chat: int | None, key: int | str) -> None:
        """POST one update until the webhook answers 2xx, with growing pauses between."""
        delay = self.retry_first
        try:
            while not await self._attempt(update, chat):
                await asyncio.sleep(delay)
                delay = min(self.retry_cap, delay * 2)
            self.world.updates.discard(update["update_id"])
        finally:
            self._busy.discard(key)
            self.world.updates.pulse.fire()
            self.world.changed()

    async def _attempt(self, update: JsonDict, chat: int | None) -> bool:
        settings, client = self.settings, self._client
        assert settings is not None
        assert client is not None
        headers = {"Content-Type": "application/json"}
        if settings.secret_token is not None:
            headers[SECRET_HEADER] = settings.secret_token
        async with self._slots:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.world.changed()
            started = time.monotonic()
            status, error = 0, None
            try:
                async with client.post(
                    settings.url, data=orjson.dumps(update), headers=headers
                ) as answer:
                    await answer.read()
                    status = answer.status
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {answer.reason}"
            except TimeoutError:
                error = "Connection timed out"
            except aiohttp.ClientSSLError:
                error = "SSL error: certificate verify failed"
            except aiohttp.ClientConnectorError:
                error = "Connection refused"
            except (aiohttp.ClientError, OSError) as failure:
                error = f"Connection failed: {type(failure).__name__}"
            finally:
                self.in_flight -= 1
        self.attempts.append(
            PushAttempt(update["update_id"], chat, started, time.monotonic(), status, error)
        )
        if error is not None:
            self.last_error = (int(utc_now().timestamp()), error)
        self.world.changed()
        return error is None
