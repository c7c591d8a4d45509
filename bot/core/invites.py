"""Invite tokens, deep links to the bot, QR codes, and the invite list file.

A deep link `https://t.me/<bot>?start=<payload>` opens the bot with a Start button; the
payload (Telegram's start parameter) must be 1-64 characters of `[A-Za-z0-9_-]`. A
personal invite's payload is an unguessable token; a campaign's is `c-<slug>`.

Only a token's hash is stored (`storage.roster.token_hash`), so the links are written out
when they are issued and cannot be shown again: issuing again makes new ones. A response
begun from an invite records the source `invite`, never the token, whoever opens it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.spreadsheet_text import neutralise

# The database (storage.roster) and qrcode are imported where they are used: the command
# lines that use this module answer `--help` without them (tests/bot/test_cli_help.py).
if TYPE_CHECKING:  # the types only: the database itself is storage's business
    from datetime import datetime

    from bot.settings import Settings
    from storage import Employer, Session
    from storage.roster import Invite

BOT_USERNAME_VARIABLE = "TELEGRAM_BOT_USERNAME"
CAMPAIGN_PREFIX = "c-"
# The source of a response started from a personal invite (the token itself is not stored).
INVITE_SOURCE = "invite"
# What new_invite_token makes: 24 random bytes, URL-safe base64.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_START_PARAMETER = 64
INVITE_COLUMNS = ("organisation", "contact", "email", "link")
_START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BotUsernameError(Exception):
    """The bot's username cannot be found; the message never holds the token."""


class BadCampaignName(ValueError):
    """A campaign name with no letters or digits to make a link from."""


def new_invite_token() -> str:
    """A fresh, unguessable invite token (32 characters of [A-Za-z0-9_-]), never one that
    begins like a campaign's payload (`c-`, one token in 4,096 otherwise)."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith(CAMPAIGN_PREFIX):
            return token


def is_start_parameter(text: str) -> bool:
    """True when Telegram accepts this as a /start payload (1-64 of [A-Za-z0-9_-])."""
    return bool(_START_PARAMETER.match(text))


def deep_link(bot_username: str, payload: str) -> str:
    """The t.me link that opens the bot and sends /start with this payload."""
    if not is_start_parameter(payload):
        raise ValueError("a start payload is 1-64 characters of letters, digits, _ and -")
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def slug(text: str, *, max_length: int = 40) -> str:
    """Lower-case ASCII words joined by hyphens ('Café Nero (Ely)' -> 'cafe-nero-ely')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-")
    return words[:max_length].rstrip("-")


def campaign_payload(name: str) -> str:
    """The start payload of a campaign link: `c-` and a slug of the name."""
    campaign = slug(name, max_length=MAX_START_PARAMETER - len(CAMPAIGN_PREFIX))
    if not campaign:
        raise BadCampaignName(f"the campaign name {name!r} needs some letters or digits")
    return CAMPAIGN_PREFIX + campaign


def qr_file_name(employer_id: int, organisation: str | None) -> str:
    """The QR code's file name: the employer id and a slug of the organisation."""
    return f"{employer_id:05d}-{slug(organisation or '') or 'employer'}.png"


def _owner_only(path: str, flags: int) -> int:
    """An `open()` opener making the file readable by its owner only (0600, an existing
    file too): each invite link lets whoever holds it answer as that employer."""
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)
    return descriptor


def write_qr_png(link: str, path: Path) -> None:
    """Write a QR code of the link as a PNG image (owner-only, like the invite list)."""
    import qrcode

    image = qrcode.make(link, box_size=8, border=4)
    with open(path, "wb", opener=_owner_only) as file:
        image.save(file)


def write_invites_csv(path: Path, invites: Iterable[Invite], *, bot_username: str) -> int:
    """Write organisation, contact, email and link of each invite, each made fit for a
    spreadsheet (`analytics.spreadsheet_text.neutralise`), to a file only its owner can
    read; returns the row count."""
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="", opener=_owner_only) as file:
        writer = csv.writer(file)
        writer.writerow(INVITE_COLUMNS)
        for invite in invites:
            writer.writerow(
                [
                    neutralise(invite.organisation or ""),
                    neutralise(invite.contact_name or ""),
                    neutralise(invite.email or ""),
                    deep_link(bot_username, invite.token),
                ]
            )
            count += 1
    return count


def bot_username(settings: Settings, *, timeout: float = 10.0) -> str:
    """The bot's username: the settings' TELEGRAM_BOT_USERNAME, else asked of getMe (with
    TELEGRAM_BOT_TOKEN at TELEGRAM_API_URL; both checked when the settings were read).

    Raises `BotUsernameError` with a one-line reason when neither works.
    """
    if settings.bot_username:
        return settings.bot_username
    if not settings.has_token:
        raise BotUsernameError(
            f"set {BOT_USERNAME_VARIABLE} (or TELEGRAM_BOT_TOKEN to ask Telegram for it)"
        )
    token = settings.token.get_secret_value()
    return _ask_get_me(f"{settings.api_url}/bot{token}/getMe", timeout=timeout)


def _ask_get_me(url: str, *, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 (http/https only)
            body = json.loads(reply.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        error.close()  # it holds the open connection
        reason = "the bot token was refused" if error.code in {401, 404} else f"HTTP {error.code}"
        raise BotUsernameError(f"Telegram's getMe failed: {reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError):
        raise BotUsernameError("cannot reach the Telegram Bot API (TELEGRAM_API_URL)") from None
    except ValueError:
        raise BotUsernameError("the Telegram Bot API answered getMe with something odd") from None
    username = body.get("result", {}).get("username") if isinstance(body, dict) else None
    if not isinstance(username, str) or not username:
        raise BotUsernameError("the Telegram Bot API answered getMe without a username")
    return username


def looks_like_token(payload: str) -> bool:
    """Whether a start payload has the shape of a personal invite token (and so must never
    be stored as it is, even when it names no invite: an old or mistyped link)."""
    return bool(_TOKEN_SHAPE.match(payload)) and not payload.startswith(CAMPAIGN_PREFIX)


def take_start_payload(
    session: Session, *, employer: Employer, payload: str, now: datetime
) -> tuple[Employer, str]:
    """A /start payload: the employer row to go on with, and the response source to record.

    A campaign's (`c-...`) or an event's name is the source as it is. Anything that names
    a personal invite, or has a token's shape, is recorded as `invite` (the token never
    is), and the invite is opened: linked now if the person consented before, else after
    their consent (`storage.roster.open_invite`). Nothing of the list entry is shown.
    """
    from storage.roster import invite_entry, open_invite

    # An invite first: a token issued before tokens avoided `c-` may begin like a campaign.
    if invite_entry(session, token=payload) is None and (
        payload.startswith(CAMPAIGN_PREFIX) or not looks_like_token(payload)
    ):
        return employer, payload  # a campaign's or an event's name
    return open_invite(session, employer=employer, token=payload, now=now), INVITE_SOURCE
