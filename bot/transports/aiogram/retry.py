"""The retry policy (`bot.retry`) applied to every aiogram Bot API call, in one place.

`install_retry(bot, policy)` registers `TelegramRetry`, an aiogram request middleware
(`AiohttpSession.middleware`), on the bot's session: every call the bot makes, whoever makes
it, is tried again on 429, 5xx and network errors as the policy says, and the error reaches
the caller only when the policy gives up or the error is permanent (403, 400...). The
status is read whatever the answer's body (`bot.transports.aiogram.session.JsonSession`,
the session `build_bot` gives every bot): a proxy's HTML 502 is a `TelegramServerError`
and a 429 without `retry_after` a `TelegramRetryAfter`, retried as PTB's retry does.

Two hooks let a caller join in without a retry loop of its own:
- `on_flood(listener)`: told of every 429's `retry_after`, whichever call got it (the
  broadcaster pauses its rate limiter for every sender: Telegram's flood control is the
  bot's, not one call's).
- `waiting_with(wait)` (`bot.retry`'s, shared with PTB's retry): within this context
  (this task and those it starts), the wait before a retry is `wait(delay, status)`
  instead of sleeping `delay` (the broadcaster waits for a turn of its rate limiter, so
  that a retried send keeps the overall rate and one message a second per chat).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import Response, TelegramMethod, TelegramType

from bot.retry import DEFAULT_POLICY, RetryPolicy, retry_wait, waiting_with

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger("skillsbot.telegram")

__all__ = ["TelegramRetry", "install_retry", "retry_of", "waiting_with"]

FloodListener = Callable[[float], None]


class TelegramRetry(BaseRequestMiddleware):
    """aiogram request middleware trying failed calls again as `policy` says."""

    def __init__(self, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self.policy = policy
        self._flood_listeners: list[FloodListener] = []

    def on_flood(self, listener: FloodListener) -> None:
        """Call `listener(retry_after)` on every 429, before the wait."""
        self._flood_listeners.append(listener)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Make the call; on a retryable failure wait and make it again, until the policy
        gives up (then the last error is raised)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await make_request(bot, method)
            except TelegramEntityTooLarge:
                raise  # an upload over Telegram's limit: the same next time
            except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError) as error:
                status, retry_after = _status(error)
                if status == 429:
                    for listener in self._flood_listeners:
                        listener(float(retry_after or 0))
                delay = self.policy.decide(status, retry_after, attempt)
                name = method.__api_method__
                if delay is None:
                    logger.warning(
                        "event=telegram_gave_up method=%s error=%s attempts=%s",
                        name,
                        type(error).__name__,
                        attempt,
                    )
                    raise
                logger.warning(
                    "event=telegram_retry method=%s error=%s attempt=%s retry_in=%.1fs",
                    name,
                    type(error).__name__,
                    attempt,
                    delay,
                )
            await retry_wait()(delay, status)


def _status(error: Exception) -> tuple[int | None, float | None]:
    """The HTTP status of a failed call (None: no answer) and a 429's retry_after."""
    if isinstance(error, TelegramRetryAfter):
        return 429, float(error.retry_after)
    if isinstance(error, TelegramServerError):
        return 500, None
    return None, None


def install_retry(bot: Bot, policy: RetryPolicy = DEFAULT_POLICY) -> TelegramRetry:
    """Register the retry middleware on `bot`'s session (once) and return it."""
    found = retry_of(bot)
    if found is not None:
        return found
    middleware = TelegramRetry(policy)
    bot.session.middleware(middleware)
    return middleware


def retry_of(bot: Bot) -> TelegramRetry | None:
    """The retry middleware on `bot`'s session, if one was installed."""
    for middleware in bot.session.middleware:
        if isinstance(middleware, TelegramRetry):
            return middleware
    return None
