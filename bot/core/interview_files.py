"""Admins change the interview from the chat: send a definition file, tap to use it.

An admin sends a YAML or XLSForm file (.yaml, .yml, .xlsx, .xls, .csv, .md). The bot
checks it as `skillsbot interview check` does and answers with the same one-line summary,
or the list of problems. A valid file is stored as a new version (`storage.definitions`)
with one button; its tap makes it the interview for new responses. Responses in progress
finish on the version they started (`bot.core.definitions`); the audit log records the upload
and the activation, who and when.

The decisions are here, Telegram-free; `bot.core.staff.StaffDesk` runs them in the
update's unit of work. A transport hands over a file as `Filed`, with a function that
downloads it with its library (called only once the name and size pass).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.core.messages import Button, Keyboard, Outgoing, StaffReply, Who, plain
from bot.core.render import split_text
from conversations.definition import Interview, interview_summary
from conversations.loader import MAX_FILE_BYTES
from storage import Session, utcnow
from storage.definitions import (
    VersionTaken,
    activate_definition,
    get_definition,
    store_definition,
)

logger = logging.getLogger("skillsbot.definitions")

SUFFIXES = (".yaml", ".yml", ".xlsx", ".xls", ".csv", ".md")
ADMINS_ONLY = "Only admins can change the interview."
NOT_A_DEFINITION = (
    "To change the interview, send a YAML or XLSForm file ({suffixes}). "
    "I could not use this one: {why}."
)
USE_PREFIX = "def:use:"
USE_BUTTON = "Use it for new responses"
NO_LONGER_STORED = "That interview file is no longer stored; send it again."


@dataclass(frozen=True, slots=True)
class Filed:
    """A file sent in a private chat: its name and size as Telegram gave them, and how to
    download it (the transport's library does)."""

    who: Who
    file_name: str | None
    file_size: int | None
    download: Callable[[], Awaitable[bytes]]


def file_name(filed: Filed) -> str:
    """The file's own name, without any folder."""
    return Path(filed.file_name or "definition").name


def refusal(filed: Filed) -> str | None:
    """Why a file cannot be a definition, judged by its name and size (None: download it)."""
    suffixes = ", ".join(SUFFIXES)
    if Path(file_name(filed)).suffix.lower() not in SUFFIXES:
        why = "its name does not end in one of those"
        return NOT_A_DEFINITION.format(suffixes=suffixes, why=why)
    if filed.file_size is not None and filed.file_size > MAX_FILE_BYTES:
        why = f"it is bigger than {MAX_FILE_BYTES:,} bytes"
        return NOT_A_DEFINITION.format(suffixes=suffixes, why=why)
    return None


def problems_reply(name: str, problems: list[str]) -> StaffReply:
    """Every problem of a file that cannot be used, in as many messages as it takes."""
    lines = [f"{name} cannot be used; every problem:", *problems]
    texts = split_text(["\n".join(lines)])
    return StaffReply("definition_refused", [plain(text) for text in texts])


def store(
    session: Session, *, admin_id: int, name: str, raw: bytes, interview: Interview
) -> StaffReply:
    """Keep the checked file as a version (in the update's transaction) and offer to use it.

    A re-delivered update stores nothing twice: the same file is the same version."""
    line = f"{name}: {interview_summary(interview)}"
    try:
        row = store_definition(
            session,
            interview_id=interview.id,
            version=interview.version,
            file_name=name,
            content=raw,
            uploaded_by=str(admin_id),
            now=utcnow(),
        )
    except VersionTaken:
        return StaffReply(
            "definition_version_taken",
            [
                plain(
                    f"{line}\nBut version {interview.version} of '{interview.id}' is already "
                    "stored with other content: give this one a new version (the settings "
                    "sheet's version, or 'version' in YAML) and send it again."
                )
            ],
        )
    assert row.id is not None
    button = Keyboard.of([[Button(USE_BUTTON, f"{USE_PREFIX}{row.id}")]])
    offer = plain(
        f"{line}\nVersion {interview.version} of '{interview.id}'. Tap the button to make "
        "it the interview for new responses; responses in progress finish on the "
        "version they started.",
        button,
    )
    return StaffReply("definition_stored", [offer])


def use_id(data: str | None) -> int | None:
    """The stored definition a "Use it" button names (None: not a number)."""
    raw_id = (data or "")[len(USE_PREFIX) :]
    return int(raw_id) if raw_id.isdigit() and raw_id.isascii() else None


def activate(session: Session, *, fresh: bool, admin_id: int, definition_id: int) -> Outgoing:
    """Make a stored version the interview for new responses (in the update's
    transaction; `fresh`: not handled before, else nothing is written again); what to say."""
    row = get_definition(session, definition_id)
    if row is None:
        return plain(NO_LONGER_STORED)
    if fresh:
        row = activate_definition(
            session, definition_id=definition_id, actor=str(admin_id), now=utcnow()
        )
        assert row is not None
        logger.info("event=interview_activated id=%s version=%s", row.interview_id, row.version)
    return plain(
        f"Done: new responses now use '{row.interview_id}' version {row.version}. "
        "Responses in progress finish on the version they started."
    )
