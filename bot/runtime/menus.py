"""Keeping each staff member's command menu in step with their role (what each role may
do, its /help and its greeting are `bot.core.roles`').

Telegram shows a chat the commands set for that chat (`BotCommandScopeChat`) in place of
the default ones. Employers see the default menu (`bot.core.desk.BOT_COMMANDS`);
each person holding a role gets a menu of their own: /start and /help, their role's
commands, then the employer commands (they may try the interview, as a test response).

Roles change in several places: the chat's /staff, `skillsbot staff add|remove`, the
settings at start-up, the playground. The command line runs without the bot (often on
another machine, without the bot's token), so nothing calls Telegram when a role changes.
Instead the table `command_menu` records which menu each chat was given, and
`CommandMenus.bring_up_to_date` compares it with the roster and sets or removes the menus
that differ. The bot does that for everyone at start-up, then every `CHECK_SECONDS`
(`keep_menus`); /staff in the chat and a staff member's /start do it at once for the
person concerned. One path for every way a role can change, and a failed call to Telegram
is simply tried again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

from bot.core.roles import TRY_BUTTON as TRY_BUTTON
from bot.core.roles import menu_digest, menu_entries
from bot.transports import BotAccount, TelegramRefused
from storage import Session, utcnow
from storage.staff import forget_menu, menus_set, record_menu, roster
from storage.staff_models import Role

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Units

logger = logging.getLogger("skillsbot.menus")

# How often the running bot looks for roles changed elsewhere (the command line).
CHECK_SECONDS = 30.0


# -- keeping menus in step with the roster ----------------------------------------------


class CommandMenus:
    """Sets and removes per-chat command menus so that they match the roster."""

    def __init__(self, account: BotAccount, units: Units) -> None:
        self.account = account
        self.units = units
        # Menus Telegram refused (the person never opened the chat, or blocked the bot):
        # tried again at the next start-up or when they send /start, not every check.
        self._refused: set[tuple[int, str]] = set()
        self._lock = asyncio.Lock()

    async def bring_up_to_date(
        self, *, everyone: bool = False, only: Collection[int] | None = None
    ) -> int:
        """Set the menu of each person whose role's menu is not the one recorded (with
        `everyone`, of each person on the roster), and remove the menus of people who hold
        no role any more; `only` limits this to those users. How many menus changed.

        Telegram's refusal for one chat is noted and skipped; a network or server error
        ends the round (raised), to be tried again at the next."""
        async with self._lock:
            people, recorded = await self.units.read(_roster_and_menus)
            changed = 0
            for user_id, role in people.items():
                if only is not None and user_id not in only:
                    continue
                digest = menu_digest(role)
                if not everyone and recorded.get(user_id) == digest:
                    continue
                if not everyone and only is None and (user_id, digest) in self._refused:
                    continue
                if await self._set(user_id, role, digest):
                    changed += 1
            for user_id in recorded.keys() - people.keys():
                if only is None or user_id in only:
                    await self._remove(user_id)
                    changed += 1
            return changed

    async def _set(self, user_id: int, role: Role, digest: str) -> bool:
        try:
            await self.account.set_commands(menu_entries(role), chat_id=user_id)
        except TelegramRefused as error:
            self._refused.add((user_id, digest))
            logger.warning("event=menu_not_set error=%s", type(error).__name__)
            return False
        self._refused.discard((user_id, digest))
        await self.units.call(_record, user_id, digest)
        return True

    async def _remove(self, user_id: int) -> None:
        try:
            await self.account.delete_commands(user_id)
        except TelegramRefused as error:
            # No chat with them, or blocked: no menu of theirs to take away.
            logger.warning("event=menu_not_removed error=%s", type(error).__name__)
        await self.units.call(_record, user_id, None)


def _roster_and_menus(session: Session) -> tuple[dict[int, Role], dict[int, str]]:
    return roster(session), menus_set(session)


def _record(session: Session, user_id: int, digest: str | None) -> None:
    """Note the menu a person was given (None: theirs was removed)."""
    if digest is None:
        forget_menu(session, telegram_user_id=user_id)
    else:
        record_menu(session, telegram_user_id=user_id, menu=digest, now=utcnow())


async def keep_menus(
    account: BotAccount,
    units: Units,
    stop: asyncio.Event,
    *,
    interval: float = CHECK_SECONDS,
) -> None:
    """Until `stop` is set: every staff member's menu set at once (at start-up), then every
    `interval` seconds the menus of roles changed meanwhile (by the command line, say)."""
    menus = CommandMenus(account, units)
    everyone = True
    while not stop.is_set():
        try:
            await menus.bring_up_to_date(everyone=everyone)
            everyone = False
        except Exception as error:  # Telegram or the database is away: try again later
            logger.warning("event=menus_not_checked error=%s", type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
