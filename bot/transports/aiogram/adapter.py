"""aiogram's side of `bot.runtime.app.EmployerBot`: one `Bot`, its account, sender and transport.

`build` is what `bot.transports.links.build_adapter` calls for `SKILLSBOT_TELEGRAM_LIBRARY=
aiogram`. The transport (`bot.transports.aiogram.transport`) is made with the core's
`StaffDesk` once the app has made it (`transport`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    SendMessage,
    SetMyCommands,
)
from aiogram.methods.base import Response

from bot.core.staff import StaffDesk
from bot.retry import RetryPolicy
from bot.transports import Transport
from bot.transports.aiogram.account import AiogramAccount, build_bot
from bot.transports.aiogram.delivery import Delivery
from bot.transports.aiogram.transport import AiogramTransport

# aiogram reads every answer from Telegram as `Response[T]`, a generic pydantic model that
# pydantic caches only weakly: once garbage-collected it is rebuilt on the next call (tens of
# milliseconds of schema building, the bot's main cost under load). Keep the ones the bot
# uses on every update alive for the life of the process.
KEPT_RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        SendMessage,
        EditMessageText,
        EditMessageReplyMarkup,
        AnswerCallbackQuery,
        GetUpdates,
        SetMyCommands,
    )
)


class AiogramAdapter:
    """`bot.transports.Adapter` on one aiogram `Bot` (its session closed by `aclose`)."""

    def __init__(self, bot: Bot, *, on_unreachable: Callable[[int], Awaitable[None]]) -> None:
        self.bot = bot
        self.account = AiogramAccount(bot)
        self.messenger = Delivery(bot, on_unreachable=on_unreachable)

    def transport(self, staff: StaffDesk) -> Transport:
        """Updates handed to the core, files downloaded with aiogram (`transport.py`)."""
        return AiogramTransport(self.bot, staff)

    async def aclose(self) -> None:
        """Close the Bot's HTTP session."""
        await self.bot.session.close()


def build(
    token: str,
    api_url: str,
    retry: RetryPolicy,
    on_unreachable: Callable[[int], Awaitable[None]],
) -> AiogramAdapter:
    """The aiogram adapter: a `Bot` to `api_url` whose every call is tried again as `retry`
    says; `on_unreachable(chat_id)` is told of a person who blocked the bot."""
    return AiogramAdapter(build_bot(token, api_url, retry), on_unreachable=on_unreachable)
