"""The core's reading of an update: commands, their arguments and /start payloads."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.desk import Command, parse_command, start_payload
from bot.core.messages import Button, Keyboard
from bot.logs import update_kind


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
    ],
)
def test_both_transports_read_an_update_as_the_same_core_value(raw: dict[str, Any]) -> None:
    from aiogram.types import Update as AiogramUpdate
    from telegram import Update as PtbUpdate

    from bot.transports.aiogram.transport import incoming_of as aiogram_incoming
    from bot.transports.ptb.transport import incoming_of as ptb_incoming

    read = aiogram_incoming(AiogramUpdate.model_validate(raw))
    assert read == ptb_incoming(PtbUpdate.de_json(raw, None))
    assert (read is None) == ("edited_message" in raw)
