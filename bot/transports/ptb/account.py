"""`bot.transports.BotAccount` made with python-telegram-bot: getUpdates, the webhook, menus.

getUpdates is posted through PTB's request object directly (`BaseRequest.post`: PTB's own
error handling, no `Update` objects built): the inbox stores Telegram's JSON as it came,
and the worker that handles an update reads that JSON (`bot.core.updates.read_update`).
It has a request (a connection) of its own, so that a long poll never holds one the
replies need. PTB's errors become the library-neutral ones of `bot.transports`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.retry import DEFAULT_POLICY, RetryPolicy
from bot.transports import (
    PollingConflict,
    RawUpdate,
    TelegramRefused,
    TelegramUnavailable,
    Unauthorized,
)
from bot.transports.ptb.retry import RetryingRequest

# Seconds a long poll's answer may take beyond the poll's own wait.
POLL_READ_MARGIN = 10.0


@asynccontextmanager
async def neutral_errors() -> AsyncIterator[None]:
    """Raise PTB's errors as `bot.transports`' (PTB's BadRequest is a NetworkError: first)."""
    try:
        yield
    except Conflict as error:
        raise PollingConflict(error.message) from error
    except InvalidToken as error:
        raise Unauthorized(error.message) from error
    except (BadRequest, Forbidden) as error:
        raise TelegramRefused(error.message) from error
    except (NetworkError, RetryAfter) as error:
        raise TelegramUnavailable(type(error).__name__) from error
    except TelegramError as error:
        raise TelegramRefused(error.message) from error


def request_data(parameters: dict[str, Any]) -> RequestData:
    """A Bot API call's parameters as PTB posts them (None values left out)."""
    return RequestData(
        [
            RequestParameter.from_input(key, value)
            for key, value in parameters.items()
            if value is not None
        ]
    )


class PtbAccount:
    """The bot's own calls (`bot.transports.BotAccount`) with python-telegram-bot's `Bot`."""

    def __init__(self, bot: Bot, retry: RetryPolicy = DEFAULT_POLICY) -> None:
        self.bot = bot
        self.updates = RetryingRequest(retry, connections=1)

    async def get_updates(
        self,
        *,
        offset: int | None,
        poll_seconds: int,
        limit: int | None = None,
        allowed_updates: Sequence[str] | None = None,
    ) -> list[RawUpdate]:
        parameters = {
            "offset": offset,
            "timeout": poll_seconds,
            "limit": limit,
            "allowed_updates": list(allowed_updates) if allowed_updates is not None else None,
        }
        async with neutral_errors():
            result = await self.updates.post(
                f"{self.bot.base_url}/getUpdates",
                request_data(parameters),
                read_timeout=poll_seconds + POLL_READ_MARGIN,
            )
        if not isinstance(result, list):
            return []
        return [update for update in result if isinstance(update, dict)]

    async def set_webhook(
        self, *, url: str, secret: str, max_connections: int, allowed_updates: Sequence[str]
    ) -> None:
        async with neutral_errors():
            await self.bot.set_webhook(
                url,
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
        listed = [BotCommand(name, text) for name, text in commands]
        scope = BotCommandScopeChat(chat_id) if chat_id is not None else None
        async with neutral_errors():
            await self.bot.set_my_commands(listed, scope=scope)

    async def delete_commands(self, chat_id: int) -> None:
        async with neutral_errors():
            await self.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))

    async def get_me(self) -> int:
        async with neutral_errors():
            me = await self.bot.get_me()
        return me.id

    async def aclose(self) -> None:
        """Close the long poll's connection and the Bot's (whether or not the Bot was ever
        initialized: PTB's `Bot.shutdown` skips a Bot never initialized, and a reminder
        sent before any update arrived left its connection open)."""
        await self.updates.shutdown()
        await self.bot.request.shutdown()
        await self.bot.shutdown()
