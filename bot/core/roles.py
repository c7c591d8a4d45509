"""What each role may do, in plain words: its commands (for its menu and its /help), its
/help and its greeting. Telegram-free: `bot.runtime.menus` sets the menus with aiogram.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.desk import BOT_COMMANDS
from bot.core.messages import Button, Keyboard
from storage.staff_models import ROLES, Role

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


def menu_entries(role: Role) -> list[tuple[str, str]]:
    """The command menu of someone holding this role: (command, description) pairs."""
    own = [("start", START_MENU), ("help", HELP_MENU)]
    own += [(command.name, command.menu) for command in role_commands(role)]
    own += [(name, text) for name, text in BOT_COMMANDS if name not in {"start", "help"}]
    return own


def menu_digest(role: Role) -> str:
    """A short fingerprint of the role's menu: a changed menu is set again everywhere."""
    return hashlib.sha256(json.dumps(menu_entries(role)).encode()).hexdigest()[:16]


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


def staff_greeting(role: Role, area: str) -> tuple[str, Keyboard]:
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
    return text, Keyboard.of([[Button(TRY_BUTTON, TRY_DATA)]])
