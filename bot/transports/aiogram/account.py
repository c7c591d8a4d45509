"""`bot.transports.BotAccount` made with aiogram's `Bot`: getUpdates, the webhook, menus.

aiogram's errors become the library-neutral ones of `bot.transports`, so that polling, the
webhook and the menus handle failures the same whichever library makes the calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import BotCommand, BotCommandScopeChat

from bot.retry import DEFAULT_POLICY, RetryPolicy
from bot.transports import (
    DEFAULT_API_URL,
    PollingConflict,
    RawUpdate,
    TelegramRefused,
    TelegramUnavailable,
    Unauthorized,
)
from bot.transports.aiogram.retry import install_retry
from bot.transports.aiogram.session import JsonSession


def build_bot(
    token: str, api_url: str = DEFAULT_API_URL, retry: RetryPolicy = DEFAULT_POLICY
) -> Bot:
    """A Bot talking to `api_url` (Telegram, a self-hosted Bot API server, or the fake),
    every call of which is tried again as `retry` says (`bot.transports.aiogram.retry`).

    Requests go as JSON bodies and JSON goes through orjson (`bot.transports.aiogram.session`):
    under load, decoding getUpdates (which re-sends every update not yet confirmed) with the
    standard library was a fifth of the bot's time.
    """
    session = JsonSession(api=TelegramAPIServer.from_base(api_url))
    bot = Bot(token, session=session)
    install_retry(bot, retry)
    return bot


class RawGetUpdates(GetUpdates):
    """getUpdates whose result stays JSON: the inbox stores it as it came, and the worker
    that handles an update reads that JSON (`bot.core.updates.read_update`)."""

    __returning__ = Any  # type: ignore[assignment]


# Kept alive: pydantic caches parametrized generic models only weakly (see
# `bot.transports.aiogram.adapter.KEPT_RESPONSE_TYPES`).
RAW_UPDATES_RESPONSE = Response[Any]


@asynccontextmanager
async def neutral_errors() -> AsyncIterator[None]:
    """Raise aiogram's errors as `bot.transports`' (a timeout stays a TimeoutError)."""
    try:
        yield
    except TelegramConflictError as error:
        raise PollingConflict(error.message) from error
    except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as error:
        raise TelegramUnavailable(type(error).__name__) from error
    except ClientDecodeError as error:  # a 2xx whose body is not Telegram's JSON (a proxy's)
        raise TelegramUnavailable(type(error).__name__) from error
    except TelegramUnauthorizedError as error:
        raise Unauthorized(error.message) from error
    except TelegramAPIError as error:
        raise TelegramRefused(error.message) from error


class AiogramAccount:
    """The bot's own calls (`bot.transports.BotAccount`) with aiogram's `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def get_updates(
        self,
        *,
        offset: int | None,
        poll_seconds: int,
        limit: int | None = None,
        allowed_updates: Sequence[str] | None = None,
    ) -> list[RawUpdate]:
        method = RawGetUpdates(
            offset=offset,
            timeout=poll_seconds,
            limit=limit,
            allowed_updates=list(allowed_updates) if allowed_updates is not None else None,
        )
        # The HTTP request waits the long poll plus the session's own timeout.
        request_timeout = int((self.bot.session.timeout or 60) + poll_seconds)
        # GetUpdates' static type promises parsed updates; this subclass returns them raw.
        raw_method = cast("TelegramMethod[Any]", method)
        async with neutral_errors():
            result = await self.bot(raw_method, request_timeout=request_timeout)
        if not isinstance(result, list):
            return []
        return [update for update in result if isinstance(update, dict)]

    async def set_webhook(
        self, *, url: str, secret: str, max_connections: int, allowed_updates: Sequence[str]
    ) -> None:
        async with neutral_errors():
            await self.bot.set_webhook(
                url=url,
                secret_token=secret,
                max_connections=max_connections,
                allowed_updates=list(allowed_updates),
                drop_pending_updates=False,
            )

    async def delete_webhook(self) -> None:
        async with neutral_errors():
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], chat_id: int | None = None
    ) -> None:
        listed = [BotCommand(command=name, description=text) for name, text in commands]
        scope = BotCommandScopeChat(chat_id=chat_id) if chat_id is not None else None
        async with neutral_errors():
            await self.bot.set_my_commands(listed, scope=scope)

    async def delete_commands(self, chat_id: int) -> None:
        async with neutral_errors():
            await self.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=chat_id))

    async def get_me(self) -> int:
        async with neutral_errors():
            me = await self.bot.get_me()
        return me.id

    async def aclose(self) -> None:
        """The Bot's session is closed by its owner (`AiogramAdapter.aclose`, or the link's
        `close` of `bot.transports.links.connect`)."""
