"""Where a Telegram library is picked: the one module outside the adapters that names them.

`build_adapter(library, ...)` gives `bot.runtime.app.EmployerBot` the adapter of aiogram or
python-telegram-bot (`bot.transports.Adapter`: account, sender and transport over one
`Bot`). `connect(library, ...)` gives the bot's own calls (`BotAccount`) and the calls to
chats (`bot.core.sending.BotCalls`), for what runs beside the bot: the command line's
broadcast sender and its getMe check, the tests and the benchmarks. Either imports the
chosen library's package only (the import contract in pyproject.toml ignores exactly these
function-level imports: the other library is never loaded).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.sending import BotCalls
from bot.retry import DEFAULT_POLICY, RetryPolicy
from bot.transports import LIBRARIES, Adapter, BotAccount


@dataclass(frozen=True, slots=True)
class TelegramLink:
    """A library's Bot API calls: the bot's own, a chat's, and how to let them go."""

    account: BotAccount
    calls: BotCalls
    close: Callable[[], Awaitable[None]]


def _known(library: str) -> str:
    if library not in LIBRARIES:
        raise ValueError(f"unknown Telegram library {library!r} (aiogram or ptb)")
    return library


def build_adapter(
    library: str,
    token: str,
    api_url: str,
    retry: RetryPolicy,
    on_unreachable: Callable[[int], Awaitable[None]],
) -> Adapter:
    """The adapter of `library` ("aiogram" or "ptb") to `api_url` with `token`, every call
    tried again as `retry` says; `on_unreachable(chat_id)` is told of a person who blocked
    the bot."""
    if _known(library) == "ptb":
        from bot.transports import ptb

        return ptb.build(token, api_url, retry, on_unreachable)
    from bot.transports import aiogram

    return aiogram.build(token, api_url, retry, on_unreachable)


def connect(
    library: str, token: str, api_url: str, retry: RetryPolicy = DEFAULT_POLICY
) -> TelegramLink:
    """The calls of `library` ("aiogram" or "ptb") to `api_url` with `token`, every one
    tried again as `retry` says."""
    if _known(library) == "ptb":
        from bot.transports.ptb import PtbAccount, build_ptb_bot
        from bot.transports.ptb.messenger import PtbCalls

        ptb_bot = build_ptb_bot(token, api_url, retry)
        ptb_account = PtbAccount(ptb_bot, retry)
        return TelegramLink(ptb_account, PtbCalls(ptb_bot), ptb_account.aclose)
    from bot.transports.aiogram.account import AiogramAccount, build_bot
    from bot.transports.aiogram.delivery import AiogramCalls

    aiogram_bot = build_bot(token, api_url, retry)
    account = AiogramAccount(aiogram_bot)
    return TelegramLink(account, AiogramCalls(aiogram_bot), aiogram_bot.session.close)
