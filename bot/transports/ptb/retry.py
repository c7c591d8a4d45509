"""The retry policy (`bot.retry`) applied to every python-telegram-bot Bot API call, in one place.

`RetryingRequest` is PTB's request backend (`bot.transports.ptb.request`, on aiohttp) whose
`do_request` (one HTTP exchange, below PTB's parsing of the answer into `RetryAfter`,
`Forbidden`...) is tried again on a 429, a 5xx and a network error (no answer, a timeout)
as the policy says. Every method of a `Bot` built on it goes through here, so callers
(`bot.transports.ptb.messenger`) handle only what retrying cannot mend: 403 and other
permanent refusals, and the error of a call the policy gave up on. This is aiogram's
`bot.transports.aiogram.retry` middleware for PTB; the two share the rules, not code, since each
library reports failures its own way.

When the policy gives up on a 5xx, the answer is handed to PTB, which raises its usual
`NetworkError`; on a 429, PTB's `RetryAfter` is raised here (built with PTB 22's deprecation
warning about its type silenced: PTB warns when it builds one itself); on a network error,
PTB's `NetworkError` (or `TimedOut`) is raised again.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.error import NetworkError, RetryAfter
from telegram.request import BaseRequest, RequestData

from bot.retry import DEFAULT_POLICY, DEFAULT_RETRY_AFTER, RetryPolicy, retry_wait
from bot.transports.ptb.request import AiohttpRequest

logger = logging.getLogger("skillsbot.telegram")

Sleep = Callable[[float], Awaitable[None]]
FloodListener = Callable[[float], None]


class RetryingRequest(AiohttpRequest):
    """PTB's request backend, each call tried again as `policy` says.

    The wait before a retry is `bot.retry.retry_wait()`'s (a sleep, unless the caller set
    its own with `waiting_with`: the broadcaster waits for a turn of its limiter); `sleep`,
    when given, replaces the plain sleep (a test records the waits instead).
    `on_flood(listener)` is told of every 429's `retry_after`, as aiogram's middleware's."""

    def __init__(
        self,
        policy: RetryPolicy = DEFAULT_POLICY,
        *,
        sleep: Sleep | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.policy = policy
        self._sleep = sleep
        self._flood_listeners: list[FloodListener] = []

    def on_flood(self, listener: FloodListener) -> None:
        """Call `listener(retry_after)` on every 429, before the wait."""
        self._flood_listeners.append(listener)

    async def _wait(self, delay: float, status: int | None) -> None:
        if self._sleep is not None:
            await self._sleep(delay)
        else:
            await retry_wait()(delay, status)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One Bot API call: its HTTP status and body once it got an answer retrying cannot
        improve, or the last answer (or network error) when the policy gives up."""
        name = _method_name(url)
        attempt = 0
        while True:
            attempt += 1
            error: NetworkError | None = None
            try:
                code, payload = await super().do_request(
                    url=url,
                    method=method,
                    request_data=request_data,
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                    connect_timeout=connect_timeout,
                    pool_timeout=pool_timeout,
                )
            except NetworkError as failed:  # no answer: connection refused or lost, a timeout
                error, status, retry_after = failed, None, None
            else:
                if code != 429 and code < 500:
                    return code, payload
                status, retry_after = code, _retry_after(payload) if code == 429 else None
                if code == 429:
                    for listener in self._flood_listeners:
                        listener(retry_after if retry_after is not None else DEFAULT_RETRY_AFTER)
            delay = self.policy.decide(status, retry_after, attempt)
            failure = type(error).__name__ if error is not None else str(status)
            if delay is None:
                logger.warning(
                    "event=telegram_gave_up method=%s error=%s attempts=%s",
                    name,
                    failure,
                    attempt,
                )
                if error is not None:
                    raise error
                if status == 429:
                    raise _flood_error(retry_after)
                return code, payload
            logger.warning(
                "event=telegram_retry method=%s error=%s attempt=%s retry_in=%.1fs",
                name,
                failure,
                attempt,
                delay,
            )
            await self._wait(delay, status)


def _method_name(url: str) -> str:
    """The Bot API method of a call's URL (the URL itself holds the token: never logged)."""
    return url.rsplit("/", 1)[-1].split("?", 1)[0][:40]


def _flood_error(retry_after: float | None) -> RetryAfter:
    """PTB's `RetryAfter`, without the warning that its type will change (PTB 22.2+)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return RetryAfter(int(retry_after if retry_after is not None else 1))


def _retry_after(payload: bytes) -> float | None:
    """A 429's `parameters.retry_after`, if the body says."""
    try:
        body = json.loads(payload)
        value = body["parameters"]["retry_after"]
    except (ValueError, TypeError, KeyError):
        return None
    return float(value) if isinstance(value, int | float) else None
