"""The core's reading of an update: commands, their arguments and /start payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.core.desk import Blocked, Command, parse_command, start_payload
from bot.core.messages import Button, Keyboard, Who
from bot.logs import update_kind
from storage.db import chat_transaction
from storage.repositories import claim_update, employer_for_telegram, mark_reachable


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/start", Command("start", None)),
        ("/start inv-abc_123", Command("start", "inv-abc_123")),
        ("/START", Command("start", None)),
        ("/back@skills_bot", Command("back", None)),
        ("/weekly  2026-W47 ", Command("weekly", "2026-W47")),
        ("/help\nmore", Command("help", "more")),
    ],
)
def test_commands_are_read_as_telegram_writes_them(text: str, command: Command) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize("text", ["hello", "/", "/ start", "/é", " /start", "//start"])
def test_other_text_is_no_command(text: str) -> None:
    assert parse_command(text) is None


@pytest.mark.parametrize(
    "text",
    ["/list-foo", "/help!", "/staff,", "/start?x", "/back@skills_bot!", "/help@", "/" + "a" * 33],
)
def test_a_command_ends_at_a_space_a_mention_or_the_end(text: str) -> None:
    # Telegram's syntax: "/help!" is no /help (it was read as one, and "/list-foo" as /list);
    # the desk answers it as an unknown command.
    assert parse_command(text) is None


@pytest.mark.parametrize(
    ("args", "payload"),
    [
        (None, None),
        ("", None),
        ("c-ely-fair", "c-ely-fair"),
        (" token_1 ", "token_1"),
        ("two words", None),
        ("<script>", None),
        ("x" * 65, None),
    ],
)
def test_start_payloads_are_checked(args: str | None, payload: str | None) -> None:
    assert start_payload(args) == payload


def test_a_keyboard_is_the_bot_api_json() -> None:
    keyboard = Keyboard.of([[Button("Yes", "iv:c:1:0:0"), Button("No", "iv:c:1:0:1")]])
    assert keyboard.to_json() == {
        "inline_keyboard": [
            [
                {"text": "Yes", "callback_data": "iv:c:1:0:0"},
                {"text": "No", "callback_data": "iv:c:1:0:1"},
            ]
        ]
    }


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ({"update_id": 1, "message": {"text": "/start"}}, "command"),
        ({"update_id": 1, "message": {"text": "hello"}}, "text"),
        ({"update_id": 1, "message": {"sticker": {}}}, "sticker"),
        ({"update_id": 1, "callback_query": {}}, "button"),
        ({"update_id": 1, "my_chat_member": {}}, "chat_member"),
        ({"update_id": 1, "edited_message": {}}, "edited_message"),
    ],
)
def test_the_log_names_an_update_without_its_content(raw: dict[str, object], kind: str) -> None:
    assert update_kind(raw) == kind


@pytest.mark.parametrize(
    "raw",
    [
        {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/start",
                                     "from": {"id": 5, "is_bot": False, "first_name": "A",
                                              "language_code": "cy"},
                                     "chat": {"id": 5, "type": "private"}}},
        {"update_id": 2, "message": {"message_id": 1, "date": 0, "text": "hello",
                                     "from": {"id": 5, "is_bot": False, "first_name": "A"},
                                     "chat": {"id": -100, "type": "group", "title": "G"}}},
        {"update_id": 3, "message": {"message_id": 1, "date": 0, "caption": "News",
                                     "from": {"id": 5, "is_bot": False, "first_name": "A"},
                                     "chat": {"id": 5, "type": "private"},
                                     "photo": [{"file_id": "small", "file_unique_id": "s",
                                                "width": 1, "height": 1},
                                               {"file_id": "large", "file_unique_id": "l",
                                                "width": 9, "height": 9}]}},
        {"update_id": 4, "callback_query": {"id": "q", "chat_instance": "c", "data": "bc:all",
                                            "from": {"id": 5, "is_bot": False,
                                                     "first_name": "A"},
                                            "message": {"message_id": 7, "date": 0,
                                                        "chat": {"id": 5, "type": "private"}}}},
        {"update_id": 5, "my_chat_member": {
            "chat": {"id": 5, "type": "private"}, "date": 0,
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "old_chat_member": {"status": "member",
                                "user": {"id": 1, "is_bot": True, "first_name": "B"}},
            "new_chat_member": {"status": "kicked", "until_date": 0,
                                "user": {"id": 1, "is_bot": True, "first_name": "B"}}}},
        {"update_id": 6, "edited_message": {"message_id": 1, "date": 0, "text": "x",
                                            "chat": {"id": 5, "type": "private"}}},
        {"update_id": 7, "message": {"message_id": 1, "date": 0, "caption": "v2",
                                     "from": {"id": 5, "is_bot": False, "first_name": "A"},
                                     "chat": {"id": 5, "type": "private"},
                                     "document": {"file_id": "d", "file_unique_id": "u",
                                                  "file_name": "form.yaml", "file_size": 9}}},
    ],
)
def test_both_transports_read_an_update_as_the_same_core_value(raw: dict[str, Any]) -> None:
    from aiogram.types import Update as AiogramUpdate
    from telegram import Update as PtbUpdate

    from bot.transports.aiogram.transport import update_of as aiogram_update_of
    from bot.transports.ptb.transport import update_of as ptb_update_of

    # Each adapter only copies its library's fields; the core builds the values from them.
    fields = aiogram_update_of(AiogramUpdate.model_validate(raw), None)
    assert fields == ptb_update_of(PtbUpdate.de_json(raw, None), None)
    read = fields.incoming()
    assert (read is None) == ("edited_message" in raw)
    if "my_chat_member" in raw:  # the update carried along, to be claimed
        assert read == Blocked(chat_id=5, update_id=5)
    filed = fields.filed()
    assert (filed is None) == ("document" not in raw.get("message", {}))
    if filed is not None:
        assert (filed.who, filed.file_name, filed.file_size) == (Who(7, 5, 5), "form.yaml", 9)


def test_a_blocked_update_is_claimed_in_the_unit_that_marks_them_unreachable(
    engine: Engine,
) -> None:
    from bot.core.interviewer import Interviewer

    now = datetime(2026, 12, 1, tzinfo=UTC)
    chat = 6160001
    with chat_transaction(engine, chat) as session:
        employer_for_telegram(session, telegram_user_id=chat, chat_id=chat, now=now)
    with chat_transaction(engine, chat) as session:
        Interviewer._mark_unreachable(session, chat, 77)

    def status() -> str:
        with Session(engine) as session:
            employer = employer_for_telegram(session, telegram_user_id=chat, chat_id=chat, now=now)
            return employer.status

    assert status() == "unreachable"
    with chat_transaction(engine, chat) as session:
        assert not claim_update(session, update_id=77, chat_id=chat, now=now)  # claimed
        employer = employer_for_telegram(session, telegram_user_id=chat, chat_id=chat, now=now)
        mark_reachable(session, employer=employer, now=now)
    with chat_transaction(engine, chat) as session:  # the same update handled again
        Interviewer._mark_unreachable(session, chat, 77)
    assert status() != "unreachable"
