"""python-telegram-bot's side of `bot.runtime.app.EmployerBot`: one `Bot`, its account, sender and
transport.

`build` is what `bot.transports.links.build_adapter` calls for `SKILLSBOT_TELEGRAM_LIBRARY=
ptb`; aiogram is never imported on this path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Bot

from bot.core.staff import StaffDesk
from bot.retry import RetryPolicy
from bot.transports import Transport
from bot.transports.ptb.account import PtbAccount
from bot.transports.ptb.messenger import PtbMessenger, build_ptb_bot
from bot.transports.ptb.transport import PtbTransport


class PtbAdapter:
    """`bot.transports.Adapter` on one PTB `Bot` (its connections closed by `aclose`)."""

    def __init__(
        self, bot: Bot, retry: RetryPolicy, *, on_unreachable: Callable[[int], Awaitable[None]]
    ) -> None:
        self.bot = bot
        self.account = PtbAccount(bot, retry)
        self.messenger = PtbMessenger(bot, on_unreachable=on_unreachable)

    def transport(self, staff: StaffDesk) -> Transport:
        """Updates handed to the core, files downloaded with PTB (`transport.py`)."""
        return PtbTransport(self.bot, staff.interviewer, staff)

    async def aclose(self) -> None:
        """Close the long poll's connection and the Bot's (`PtbAccount.aclose`)."""
        await self.account.aclose()


def build(
    token: str,
    api_url: str,
    retry: RetryPolicy,
    on_unreachable: Callable[[int], Awaitable[None]],
) -> PtbAdapter:
    """The PTB adapter: a `Bot` to `api_url` whose every call is tried again as `retry`
    says; `on_unreachable(chat_id)` is told of a person who blocked the bot."""
    return PtbAdapter(build_ptb_bot(token, api_url, retry), retry, on_unreachable=on_unreachable)
