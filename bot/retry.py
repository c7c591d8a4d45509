"""When to try a Telegram Bot API call again, and after how long: one policy, no Telegram.

Every transport applies these rules in one place (for aiogram, `bot.transports.aiogram.retry`'s
request middleware; for python-telegram-bot, `bot.transports.ptb.retry`), so that callers
handle only what retrying cannot mend: 403 (the person blocked the bot) and other permanent
refusals. Both wait before a retry with `retry_wait()`: `asyncio.sleep` unless a caller
set its own wait with `waiting_with` (the broadcaster waits for a turn of its limiter).

- 429 Too Many Requests: wait what Telegram says (`retry_after`), whatever the cap: flood
  control is Telegram's rule, and calling earlier only earns another 429.
- 5xx and network errors (no answer at all, a timeout): exponential backoff from `first`
  seconds, doubling, at most `cap`.
- Anything else (400, 403, 404, 409...): never; trying again would get the same answer.
- `attempts` tries of one call in all, whatever failed; then the caller gets the error.

A call that failed with a 5xx or on the network may have reached the chat: retrying it may
show the message twice. The policy accepts that for a person's own conversation (a
repeated question beats a lost one); the broadcaster, which must not send news twice, keeps
its own account of a delivery in doubt (see `bot.core.broadcaster`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

# A 429 without retry_after (Telegram always sends one; a proxy might not): one second.
DEFAULT_RETRY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to try a Bot API call again (SKILLSBOT_TELEGRAM_ATTEMPTS and
    SKILLSBOT_TELEGRAM_BACKOFF_CAP)."""

    attempts: int = 6
    first: float = 0.5
    cap: float = 30.0

    def decide(self, status: int | None, retry_after: float | None, attempt: int) -> float | None:
        """Seconds to wait before trying again after try number `attempt` (from 1) failed,
        or None to give up.

        `status` is the HTTP status of Telegram's answer (429, 500...), or None when there
        was no answer (a network error or a timeout); `retry_after` is a 429's own wait.
        """
        if attempt >= self.attempts:
            return None
        if status == 429:
            return max(0.0, DEFAULT_RETRY_AFTER if retry_after is None else float(retry_after))
        if status is None or status >= 500:
            return float(min(self.cap, self.first * 2 ** (attempt - 1)))
        return None


DEFAULT_POLICY = RetryPolicy()


def decide(
    status: int | None,
    retry_after: float | None,
    attempt: int,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> float | None:
    """`policy.decide(status, retry_after, attempt)`: seconds to wait, or None to give up."""
    return policy.decide(status, retry_after, attempt)


# The wait before a retry: `wait(delay, status)`, status being the failed call's HTTP status
# (None: no answer).
RetryWait = Callable[[float, "int | None"], Awaitable[None]]
_wait: ContextVar[RetryWait | None] = ContextVar("skillsbot_retry_wait", default=None)


async def _sleep(delay: float, status: int | None) -> None:
    await asyncio.sleep(delay)


def retry_wait() -> RetryWait:
    """The wait before a retry here: the one `waiting_with` set, else sleeping the delay."""
    return _wait.get() or _sleep


@contextlib.contextmanager
def waiting_with(wait: RetryWait) -> Iterator[None]:
    """Within this block (this task, and tasks it starts), retries wait with `wait`."""
    token = _wait.set(wait)
    try:
        yield
    finally:
        _wait.reset(token)
