"""The core's reading of an update: commands, their arguments and /start payloads."""

from __future__ import annotations

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
                                     "chat": {"id": 5, "type": "private"}}},
        {"update_id": 2, "message": {"message_id": 1, "date": 0, "text": "hello",
                                     "chat": {"id": 5, "type": "private"}}},
        {"update_id": 3, "message": {"message_id": 1, "date": 0,
                                     "chat": {"id": 5, "type": "private"},
                                     "sticker": {"file_id": "f", "file_unique_id": "u",
                                                 "type": "regular", "width": 1, "height": 1,
                                                 "is_animated": False, "is_video": False}}},
        {"update_id": 4, "callback_query": {"id": "q", "chat_instance": "c",
                                            "from": {"id": 5, "is_bot": False,
                                                     "first_name": "A"}}},
        {"update_id": 5, "edited_message": {"message_id": 1, "date": 0, "text": "x",
                                            "chat": {"id": 5, "type": "private"}}},
    ],
)
def test_both_transports_name_an_update_alike(raw: dict[str, object]) -> None:
    from aiogram.types import Update

    from bot.transports.aiogram.dispatch import update_kind as aiogram_kind

    assert aiogram_kind(Update.model_validate(raw)) == update_kind(raw)
