"""One library's connection to the Bot API, for what runs beside the bot's update path.

`connect(library, ...)` gives the bot's own calls (`BotAccount`) and the calls to chats
(`bot.core.sending.BotCalls`) of aiogram or python-telegram-bot, for the command line's
broadcast sender, the tests and the benchmarks. The library is imported only when chosen.
(`bot.app.EmployerBot` builds its own, sharing the Bot with its transport.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.sending import BotCalls
from bot.retry import DEFAULT_POLICY, RetryPolicy
from bot.transports import LIBRARIES, BotAccount


@dataclass(frozen=True, slots=True)
class TelegramLink:
    """A library's Bot API calls: the bot's own, a chat's, and how to let them go."""

    account: BotAccount
    calls: BotCalls
    close: Callable[[], Awaitable[None]]


def connect(
    library: str, token: str, api_url: str, retry: RetryPolicy = DEFAULT_POLICY
) -> TelegramLink:
    """The calls of `library` ("aiogram" or "ptb") to `api_url` with `token`, every one
    tried again as `retry` says."""
    if library not in LIBRARIES:
        raise ValueError(f"unknown Telegram library {library!r} (aiogram or ptb)")
    if library == "ptb":
        from bot.transports.ptb import PtbAccount, build_ptb_bot
        from bot.transports.ptb.messenger import PtbCalls

        ptb = build_ptb_bot(token, api_url, retry)
        account = PtbAccount(ptb, retry)
        return TelegramLink(account, PtbCalls(ptb), account.aclose)
    from bot.handlers.delivery import AiogramCalls
    from bot.transports.aiogram.account import AiogramAccount, build_bot

    bot = build_bot(token, api_url, retry)
    return TelegramLink(AiogramAccount(bot), AiogramCalls(bot), bot.session.close)
