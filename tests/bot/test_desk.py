"""The core's reading of an update: commands, their arguments and /start payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.core.desk import Blocked, Command, Incoming, Pressed, Said, parse_command, start_payload
from bot.core.messages import Button, Keyboard, Who
from bot.core.updates import read_update
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


PERSON = {"id": 5, "is_bot": False, "first_name": "A"}
PRIVATE = {"id": 5, "type": "private"}


@pytest.mark.parametrize(
    ("raw", "incoming"),
    [
        (
            {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "text": "/start",
                    "from": {**PERSON, "language_code": "cy"},
                    "chat": PRIVATE,
                },
            },
            Said(Who(1, 5, 5, "cy"), "/start"),
        ),
        (
            {
                "update_id": 2,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "text": "hello",
                    "from": PERSON,
                    "chat": {"id": -100, "type": "group", "title": "G"},
                },
            },
            Said(Who(2, 5, -100), "hello", private=False),
        ),
        (
            {
                "update_id": 3,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "caption": "News",
                    "from": PERSON,
                    "chat": PRIVATE,
                    "photo": [
                        {"file_id": "small", "file_unique_id": "s", "width": 1, "height": 1},
                        {"file_id": "large", "file_unique_id": "l", "width": 9, "height": 9},
                    ],
                },
            },
            Said(Who(3, 5, 5), None, photo_id="large", caption="News"),
        ),
        (
            {
                "update_id": 4,
                "callback_query": {
                    "id": "q",
                    "chat_instance": "c",
                    "data": "bc:all",
                    "from": PERSON,
                    "message": {
                        "message_id": 7,
                        "date": 0,
                        "chat": PRIVATE,
                        "text": "Send?",
                        "reply_markup": {
                            "inline_keyboard": [[{"text": "All", "callback_data": "bc:all"}]]
                        },
                    },
                },
            },
            Pressed(Who(4, 5, 5), "bc:all", 7, "q"),
        ),
        (
            {
                "update_id": 8,
                "callback_query": {"id": "r", "chat_instance": "c", "data": "x", "from": PERSON},
            },  # no message: the sender's chat
            Pressed(Who(8, 5, 5), "x", 0, "r"),
        ),
        (
            {
                "update_id": 5,
                "my_chat_member": {
                    "chat": PRIVATE,
                    "date": 0,
                    "from": PERSON,
                    "old_chat_member": {
                        "status": "member",
                        "user": {"id": 1, "is_bot": True, "first_name": "B"},
                    },
                    "new_chat_member": {
                        "status": "kicked",
                        "until_date": 0,
                        "user": {"id": 1, "is_bot": True, "first_name": "B"},
                    },
                },
            },
            Blocked(chat_id=5, update_id=5),
        ),  # carried along, to be claimed
        (
            {
                "update_id": 6,
                "edited_message": {"message_id": 1, "date": 0, "text": "x", "chat": PRIVATE},
            },
            None,
        ),
        (
            {
                "update_id": 9,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "text": "news",
                    "sender_chat": {"id": -200, "type": "channel"},
                    "chat": {"id": -200, "type": "channel"},
                },
            },
            None,
        ),  # no sender
        (
            {
                "update_id": 7,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "caption": "v2",
                    "from": PERSON,
                    "chat": PRIVATE,
                    "document": {
                        "file_id": "d",
                        "file_unique_id": "u",
                        "file_name": "form.yaml",
                        "file_size": 9,
                    },
                },
            },
            Said(Who(7, 5, 5), None, caption="v2"),
        ),
    ],
)
async def test_the_core_reads_an_update_from_its_json(
    raw: dict[str, Any], incoming: Incoming | None
) -> None:
    # Neither library parses an update: the core reads Telegram's JSON itself, and a
    # transport gives only its library's download (by file id).
    async def download(file_id: str) -> bytes:
        return f"bytes of {file_id}".encode()

    read = read_update(raw, download)
    assert read.incoming() == incoming
    filed = read.filed()
    assert (filed is None) == ("document" not in raw.get("message", {}))
    if filed is not None:
        assert (filed.who, filed.file_name, filed.file_size) == (Who(7, 5, 5), "form.yaml", 9)
        assert await filed.download() == b"bytes of d"


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
