"""Admins change the interview from the chat: send a definition file, tap to use it.

An admin sends a YAML or XLSForm file (.yaml, .yml, .xlsx, .xls, .csv, .md). The bot
checks it as `skillsbot interview check` does and answers with the same one-line summary,
or the list of problems. A valid file is stored as a new version (`storage.definitions`)
with one button; its tap makes it the interview for new responses. Responses in progress
finish on the version they started (`bot.definitions`); the audit log records the upload
and the activation, who and when.
"""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.core.render import split_text
from bot.handlers.staff import HasRole, database_of
from conversations.definition import Interview
from conversations.loader import MAX_FILE_BYTES, DefinitionError, load_definition_bytes
from storage import chat_transaction, claim_update, utcnow
from storage.definitions import (
    VersionTaken,
    activate_definition,
    get_definition,
    store_definition,
)
from storage.staff_models import Role

if TYPE_CHECKING:
    from storage import Engine

logger = logging.getLogger("skillsbot.definitions")

SUFFIXES = (".yaml", ".yml", ".xlsx", ".xls", ".csv", ".md")
ADMINS_ONLY = "Only admins can change the interview."
NOT_A_DEFINITION = (
    "To change the interview, send a YAML or XLSForm file ({suffixes}). "
    "I could not use this one: {why}."
)
USE_PREFIX = "def:use:"
USE_BUTTON = "Use it for new responses"


def summary(interview: Interview) -> str:
    """The one line `skillsbot interview check` prints for a valid interview."""
    from bot.commands.interview import interview_summary

    return interview_summary(interview)


async def on_document(message: Message, staff_role: Role, **data: Any) -> None:
    """An admin sent a file: check it, store a valid one, offer to use it."""
    if staff_role != "admin":
        await message.answer(ADMINS_ONLY)
        return
    document = message.document
    assert document is not None
    assert message.from_user is not None
    assert message.bot is not None
    name = Path(document.file_name or "definition").name
    suffixes = ", ".join(SUFFIXES)
    if Path(name).suffix.lower() not in SUFFIXES:
        why = "its name does not end in one of those"
        await message.answer(NOT_A_DEFINITION.format(suffixes=suffixes, why=why))
        return
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        why = f"it is bigger than {MAX_FILE_BYTES:,} bytes"
        await message.answer(NOT_A_DEFINITION.format(suffixes=suffixes, why=why))
        return
    buffer = io.BytesIO()
    await message.bot.download(document, destination=buffer)
    raw = buffer.getvalue()
    interviewer = data["interviewer"]
    try:
        interview = await asyncio.to_thread(
            load_definition_bytes, raw, path=name, area=interviewer.area
        )
    except DefinitionError as error:
        lines = [f"{name} cannot be used; every problem:"]
        lines += [str(problem) for problem in error.problems]
        for text in split_text(["\n".join(lines)]):
            await message.answer(text)
        return
    update = data["event_update"]
    stored = await asyncio.to_thread(
        _store,
        database_of(data),
        update_id=update.update_id,
        chat_id=message.chat.id,
        admin_id=message.from_user.id,
        name=name,
        raw=raw,
        interview=interview,
    )
    line = f"{name}: {summary(interview)}"
    if stored is None:
        await message.answer(
            f"{line}\nBut version {interview.version} of '{interview.id}' is already "
            "stored with other content: give this one a new version (the settings "
            "sheet's version, or 'version' in YAML) and send it again."
        )
        return
    button = InlineKeyboardButton(text=USE_BUTTON, callback_data=f"{USE_PREFIX}{stored}")
    await message.answer(
        f"{line}\nVersion {interview.version} of '{interview.id}'. Tap the button to make "
        "it the interview for new responses; responses in progress finish on the "
        "version they started.",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
    )


def _store(
    database: Engine,
    *,
    update_id: int,
    chat_id: int,
    admin_id: int,
    name: str,
    raw: bytes,
    interview: Interview,
) -> int | None:
    """Keep the checked file as a version; its row id (None: the version is taken)."""
    with chat_transaction(database, chat_id) as session:
        now = utcnow()
        claim_update(session, update_id=update_id, chat_id=chat_id, now=now)
        try:
            row = store_definition(
                session,
                interview_id=interview.id,
                version=interview.version,
                file_name=name,
                content=raw,
                uploaded_by=str(admin_id),
                now=now,
            )
        except VersionTaken:
            return None
        assert row.id is not None
        return row.id


async def on_use(callback: CallbackQuery, staff_role: Role, **data: Any) -> None:
    """The tap on "Use it for new responses": activate that version (admins only)."""
    if staff_role != "admin":
        await callback.answer(ADMINS_ONLY, show_alert=True)
        return
    raw_id = (callback.data or "")[len(USE_PREFIX) :]
    if not raw_id.isdigit():
        await callback.answer()
        return
    update = data["event_update"]
    chat_id = callback.message.chat.id if callback.message else callback.from_user.id
    text = await asyncio.to_thread(
        _activate,
        database_of(data),
        update_id=update.update_id,
        chat_id=chat_id,
        admin_id=callback.from_user.id,
        definition_id=int(raw_id),
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await callback.message.answer(text)


def _activate(
    database: Engine, *, update_id: int, chat_id: int, admin_id: int, definition_id: int
) -> str:
    with chat_transaction(database, chat_id) as session:
        now = utcnow()
        claim_update(session, update_id=update_id, chat_id=chat_id, now=now)
        exists = get_definition(session, definition_id)
        if exists is None:
            return "That interview file is no longer stored; send it again."
        row = activate_definition(
            session, definition_id=definition_id, actor=str(admin_id), now=now
        )
        assert row is not None
        logger.info("event=interview_activated id=%s version=%s", row.interview_id, row.version)
        return (
            f"Done: new responses now use '{row.interview_id}' version {row.version}. "
            "Responses in progress finish on the version they started."
        )


def router() -> Router:
    """A new router for definition files (one per Dispatcher); before the fallbacks."""
    feature = Router(name="definitions")
    feature.message.filter(F.chat.type == "private")
    feature.message.register(on_document, F.document, HasRole())
    feature.callback_query.register(on_use, F.data.startswith(USE_PREFIX), HasRole())
    return feature
