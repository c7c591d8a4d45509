"""What staff, analysts and admins can do, per role: their command menu, their /help and
their greeting, and keeping each person's menu in step with their role.

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
import hashlib
import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.core.desk import BOT_COMMANDS
from storage import Session, utcnow
from storage.staff import forget_menu, menus_set, record_menu, roster
from storage.staff_models import ROLES, Role

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

logger = logging.getLogger("skillsbot.menus")

# How often the running bot looks for roles changed elsewhere (the command line).
CHECK_SECONDS = 30.0
EVERYONE: frozenset[Role] = frozenset(ROLES)


@dataclass(frozen=True, slots=True)
class StaffCommand:
    """A command some roles may use: its menu line and its plain-words /help line."""

    name: str
    menu: str
    help: str
    roles: frozenset[Role]


STAFF_COMMANDS: tuple[StaffCommand, ...] = (
    StaffCommand(
        "list",
        "How the interviews are going; the full list",
        "/list – how many employers are at each stage and in each sector, and the full "
        "list as a spreadsheet",
        EVERYONE,
    ),
    StaffCommand(
        "broadcast",
        "Send a message to employers",
        "/broadcast – write a message to employers, choose who gets it, see how many it "
        "reaches, then send it now or at a time you choose (/cancel stops a draft)",
        frozenset({"admin", "staff"}),
    ),
    StaffCommand(
        "weekly",
        "The weekly summary of the answers",
        "/weekly – last week's summary of the answers: a short text, a spreadsheet and "
        "charts (/weekly 2026-W47 for another week)",
        frozenset({"admin", "analyst"}),
    ),
    StaffCommand(
        "staff",
        "Who has a role; give or take one away",
        "/staff – who has a role; /staff add USER_ID ROLE gives one (admin, staff or "
        "analyst); /staff remove USER_ID takes it away",
        frozenset({"admin"}),
    ),
)
# What an admin can do that is not a command.
ADMIN_EXTRAS = (
    "Send an interview file (YAML or XLSForm) to check it and, with one tap, make it the "
    "interview for new responses",
)
ROLE_NAMES: Mapping[Role, str] = {"admin": "an admin", "staff": "staff", "analyst": "an analyst"}
START_MENU = "Your commands, or try the interview"
HELP_MENU = "What you can do here"
TRY_BUTTON = "Try the interview (test response)"
TRY_DATA = "staff:try"
TRY_LINE = (
    "/start try – answer the interview yourself, as employers see it. It is a test "
    "response: kept apart from the employers' answers, and left out of every list and report."
)


def role_commands(role: Role) -> list[StaffCommand]:
    """The staff commands this role may use, in menu order."""
    return [command for command in STAFF_COMMANDS if role in command.roles]


def menu_for(role: Role) -> list[BotCommand]:
    """The command menu of someone holding this role."""
    own = [("start", START_MENU), ("help", HELP_MENU)]
    own += [(command.name, command.menu) for command in role_commands(role)]
    own += [(name, text) for name, text in BOT_COMMANDS if name not in {"start", "help"}]
    return [BotCommand(command=name, description=text) for name, text in own]


def menu_digest(role: Role) -> str:
    """A short fingerprint of the role's menu: a changed menu is set again everywhere."""
    pairs = [(command.command, command.description) for command in menu_for(role)]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]


def _role_lines(role: Role) -> list[str]:
    lines = [command.help for command in role_commands(role)]
    return lines + (list(ADMIN_EXTRAS) if role == "admin" else [])


def staff_help(role: Role, area: str) -> str:
    """/help for someone holding a role: their role's commands, then the employer ones."""
    employer = [
        f"/{name} – {text[0].lower()}{text[1:]}"
        for name, text in BOT_COMMANDS
        if name not in {"start", "help"}
    ]
    return "\n".join(
        [
            f"You are {ROLE_NAMES[role]} for the skills interview of {area}.",
            "",
            "What you can do:",
            *_role_lines(role),
            "",
            TRY_LINE,
            "",
            "While you try it, the employers' commands work for you too:",
            *employer,
        ]
    )


def staff_greeting(role: Role, area: str) -> tuple[str, InlineKeyboardMarkup]:
    """What /start says to someone holding a role, with a button to try the interview."""
    text = "\n".join(
        [
            f"Hello! You are {ROLE_NAMES[role]} for the skills interview of {area}, so I "
            "won't start the employer interview for you.",
            "",
            "What you can do:",
            *_role_lines(role),
            "",
            "Send /help to see everything. To see the interview as employers do, tap the "
            "button: your answers will be a test response, left out of every list and report.",
        ]
    )
    button = InlineKeyboardButton(text=TRY_BUTTON, callback_data=TRY_DATA)
    return text, InlineKeyboardMarkup(inline_keyboard=[[button]])


# -- keeping menus in step with the roster ----------------------------------------------


class CommandMenus:
    """Sets and removes per-chat command menus so that they match the roster."""

    def __init__(self, bot: Bot, database: Engine) -> None:
        self.bot = bot
        self.database = database
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
            people, recorded = await asyncio.to_thread(self._read)
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

    def _read(self) -> tuple[dict[int, Role], dict[int, str]]:
        with Session(self.database) as session:
            return roster(session), menus_set(session)

    async def _set(self, user_id: int, role: Role, digest: str) -> bool:
        scope = BotCommandScopeChat(chat_id=user_id)
        try:
            await self.bot.set_my_commands(menu_for(role), scope=scope)
        except (TelegramBadRequest, TelegramForbiddenError) as error:
            self._refused.add((user_id, digest))
            logger.warning("event=menu_not_set error=%s", type(error).__name__)
            return False
        self._refused.discard((user_id, digest))
        await asyncio.to_thread(self._write, user_id, digest)
        return True

    async def _remove(self, user_id: int) -> None:
        scope = BotCommandScopeChat(chat_id=user_id)
        try:
            await self.bot.delete_my_commands(scope=scope)
        except (TelegramBadRequest, TelegramForbiddenError) as error:
            # No chat with them, or blocked: no menu of theirs to take away.
            logger.warning("event=menu_not_removed error=%s", type(error).__name__)
        await asyncio.to_thread(self._write, user_id, None)

    def _write(self, user_id: int, digest: str | None) -> None:
        with Session(self.database) as session, session.begin():
            if digest is None:
                forget_menu(session, telegram_user_id=user_id)
            else:
                record_menu(session, telegram_user_id=user_id, menu=digest, now=utcnow())


async def keep_menus(
    bot: Bot, database: Engine, stop: asyncio.Event, *, interval: float = CHECK_SECONDS
) -> None:
    """Until `stop` is set: every staff member's menu set at once (at start-up), then every
    `interval` seconds the menus of roles changed meanwhile (by the command line, say)."""
    menus = CommandMenus(bot, database)
    everyone = True
    while not stop.is_set():
        try:
            await menus.bring_up_to_date(everyone=everyone)
            everyone = False
        except Exception as error:  # Telegram or the database is away: try again later
            logger.warning("event=menus_not_checked error=%s", type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
