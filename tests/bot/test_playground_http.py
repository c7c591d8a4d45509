"""The playground's web app over real HTTP, against the real fake Telegram and a real aiogram Bot.

The bot's side is played by an aiogram ``Bot`` calling the fake's Bot API directly, so these
tests need neither the bot's handlers nor a browser.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from typer.testing import CliRunner

from bot import cli
from bot.cli.playground import PLAYGROUND_DATABASE, playground_settings
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_telegram.server import TINY_PNG
from bot.devtools.playground import PEOPLE, playground_app
from bot.devtools.playground.app import TOKEN_HEADER
from bot.devtools.playground.people import person_named
from bot.devtools.playground.runner import PLAYGROUND_TOKEN, Playground, PlaygroundError
from bot.settings import SettingsError, load_settings
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import Session, make_engine, response_records, upgrade
from storage.staff import staff_members
from tests.ports import free_port

ALEX = person_named("employer-a")
BEA = person_named("employer-b")
SKILLSBOT = str(Path(sys.executable).with_name("skillsbot"))
LONDON = ZoneInfo("Europe/London")


class PlainHttpSession(AiohttpSession):
    """aiogram's session without the pause its close() keeps for TLS connections."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token="777000:PLAYGROUND") as server:
        yield server


PAGE_TOKEN = "test-page-token"


@pytest.fixture
async def client(fake: FakeTelegram) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """A client that acts as the page does: it carries the page's token."""
    app = playground_app(fake, token=PAGE_TOKEN, zone=LONDON)
    async with TestClient(TestServer(app), headers={TOKEN_HEADER: PAGE_TOKEN}) as test_client:
        yield test_client


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = PlainHttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    client = Bot(fake.token, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield client
    await client.session.close()


Client = TestClient[web.Request, web.Application]


async def _json(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    return body


# -- the page ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "snippet"),
    [
        ("/", "text/html", '<script src="/static/chat.js"'),
        ("/static/style.css", "text/css", ".bubble"),
        ("/static/chat.js", "text/javascript", "textContent"),
    ],
)
async def test_the_page_and_its_files_are_served_with_their_types(
    client: Client, path: str, content_type: str, snippet: str
) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == content_type
    assert response.charset == "utf-8"
    assert snippet in await response.text()
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_the_page_has_an_icon_where_browsers_look_for_it(client: Client) -> None:
    page = await (await client.get("/")).text()
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    for path in ("/favicon.ico", "/static/favicon.svg"):
        response = await client.get(path)
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
        assert (await response.text()).startswith("<svg")


async def test_the_page_script_never_puts_text_in_as_html(client: Client) -> None:
    script = await (await client.get("/static/chat.js")).text()
    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script


@pytest.mark.parametrize("path", ["/static/secret.py", "/static/..%2Fapp.py", "/static/index.html"])
async def test_only_the_page_files_are_served(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404


async def test_an_unknown_api_path_answers_json(client: Client) -> None:
    body = await _json(await client.get("/api/nothing-here"), 404)
    assert body["ok"] is False
    assert body["error"]


# -- people and commands ---------------------------------------------------------------------


async def test_users_lists_every_person_and_the_bot_commands(client: Client, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Begin the interview")])
    body = await _json(await client.get("/api/users"))
    assert [user["key"] for user in body["users"]] == [person.key for person in PEOPLE]
    roles = {user["key"]: user["role"] for user in body["users"]}
    assert roles["employer-a"] is None
    assert roles["staff"] == "staff"
    assert roles["analyst"] == "analyst"
    assert body["commands"] == [{"command": "start", "description": "Begin the interview"}]
    assert body["bot"]["username"]
    assert len({user["user_id"] for user in body["users"]}) == len(PEOPLE)


async def test_each_person_sees_the_commands_telegram_would_show_in_their_chat(
    client: Client, bot: Bot
) -> None:
    """setMyCommands per role: a chat's own scope, else all private chats, else the
    default; a language's list before the one for any language."""
    await bot.set_my_commands([BotCommand(command="start", description="Begin")])
    staff = person_named("staff")
    await bot.set_my_commands(
        [BotCommand(command="list", description="Responses")],
        scope=BotCommandScopeChat(chat_id=staff.user_id),
    )
    await bot.set_my_commands(
        [BotCommand(command="list", description="Responses (en)")],
        scope=BotCommandScopeChat(chat_id=staff.user_id),
        language_code="en",
    )
    names = {
        key: [
            c["description"]
            for c in (await _json(await client.get(f"/api/chats/{key}")))["commands"]
        ]
        for key in ("employer-a", "staff")
    }
    assert names == {"employer-a": ["Begin"], "staff": ["Responses (en)"]}
    await bot.set_my_commands(
        [BotCommand(command="myanswers", description="Mine")],
        scope=BotCommandScopeAllPrivateChats(),
    )
    employer = await _json(await client.get("/api/chats/employer-a"))
    assert [c["command"] for c in employer["commands"]] == ["myanswers"]
    listed = (await _json(await client.get("/api/users")))["commands"]  # any private chat's
    assert [c["command"] for c in listed] == ["myanswers"]


# -- sending and pressing --------------------------------------------------------------------


async def test_sending_text_reaches_the_bot_as_that_person(
    client: Client, fake: FakeTelegram, bot: Bot
) -> None:
    body = await _json(await client.post("/api/chats/employer-a/send", json={"text": "/start"}))
    assert isinstance(body["update_id"], int)
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start"
    assert message.from_user is not None
    assert message.from_user.id == ALEX.user_id
    assert message.from_user.first_name == ALEX.first_name
    assert fake.chat(BEA.user_id) == []


async def test_pressing_a_button_sends_its_callback_query(client: Client, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Yes", callback_data="q:1:yes"),
                InlineKeyboardButton(text="No", callback_data="q:1:no"),
            ]
        ]
    )
    sent = await bot.send_message(ALEX.user_id, "Do you agree?", reply_markup=keyboard)
    await _json(
        await client.post(
            "/api/chats/employer-a/press", json={"message_id": sent.message_id, "data": "q:1:no"}
        )
    )
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None
    assert query.data == "q:1:no"
    assert query.from_user.id == ALEX.user_id


async def test_the_bots_pop_up_notices_reach_the_page_in_order(
    client: Client, fake: FakeTelegram, bot: Bot
) -> None:
    """answerCallbackQuery's text is a toast, with show_alert an alert; one without text
    only stops the button's spinner. A waiting long poll answers when one comes."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Pick", callback_data="pick")]]
    )
    sent = await bot.send_message(ALEX.user_id, "Pick up to 3", reply_markup=keyboard)
    for _ in range(3):
        await _json(
            await client.post(
                "/api/chats/employer-a/press", json={"message_id": sent.message_id, "data": "pick"}
            )
        )
    queries = [u.callback_query for u in await bot.get_updates(timeout=0)]
    first, second, third = [query for query in queries if query is not None]
    before = await _json(await client.get("/api/chats/employer-a"))
    assert before["notices"] == []
    poll = asyncio.ensure_future(
        client.get(f"/api/chats/employer-a?version={before['version']}&timeout=10")
    )
    await asyncio.sleep(0.1)
    await bot.answer_callback_query(first.id, text="That question has moved on.")
    woken = await _json(await poll)
    await bot.answer_callback_query(second.id)
    await bot.answer_callback_query(third.id, text="You can pick up to 3.", show_alert=True)
    after = await _json(await client.get("/api/chats/employer-a"))
    assert woken["notices"] == [{"id": 1, "text": "That question has moved on.", "alert": False}]
    assert after["notices"] == [
        {"id": 1, "text": "That question has moved on.", "alert": False},
        {"id": 2, "text": "You can pick up to 3.", "alert": True},
    ]
    assert (await _json(await client.get("/api/chats/employer-b")))["notices"] == []


async def test_pressing_on_another_persons_message_is_refused(client: Client, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="yes")]]
    )
    sent = await bot.send_message(ALEX.user_id, "Do you agree?", reply_markup=keyboard)
    body = await _json(
        await client.post(
            "/api/chats/employer-b/press", json={"message_id": sent.message_id, "data": "yes"}
        ),
        400,
    )
    assert "no bot message" in body["error"]


# -- watching the chat -------------------------------------------------------------------------


async def test_the_transcript_shows_both_sides_with_keyboards_and_formatting(
    client: Client, bot: Bot
) -> None:
    await client.post("/api/chats/employer-a/send", json={"text": "hello <there> & co"})
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Manufacturing", callback_data="s:m"),
                InlineKeyboardButton(text="Guide", url="https://example.org/guide"),
            ]
        ]
    )
    await bot.send_message(ALEX.user_id, "<b>Which sector</b> are you in?", reply_markup=keyboard)
    body = await _json(await client.get("/api/chats/employer-a"))
    first, second = body["messages"]
    assert (first["from_bot"], first["text"]) == (False, "hello <there> & co")
    assert first["entities"] == []
    assert second["from_bot"] is True
    assert second["text"] == "Which sector are you in?"
    assert second["entities"] == [{"type": "bold", "offset": 0, "length": 12}]
    assert second["buttons"] == [
        [
            {"text": "Manufacturing", "data": "s:m", "url": None},
            {"text": "Guide", "data": None, "url": "https://example.org/guide"},
        ]
    ]
    assert second["edited"] is False
    assert len(second["time"]) == 5
    assert second["time"][2] == ":"


async def test_edits_and_removed_keyboards_and_deletions_show(client: Client, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    )
    question = await bot.send_message(ALEX.user_id, "Pick one", reply_markup=keyboard)
    gone = await bot.send_message(ALEX.user_id, "Temporary")
    await bot.edit_message_text(
        text="Pick one: A", chat_id=ALEX.user_id, message_id=question.message_id
    )
    await bot.delete_message(ALEX.user_id, gone.message_id)
    body = await _json(await client.get("/api/chats/employer-a"))
    assert [m["id"] for m in body["messages"]] == [question.message_id]
    edited = body["messages"][0]
    assert (edited["text"], edited["edited"], edited["buttons"]) == ("Pick one: A", True, [])


async def test_a_long_poll_answers_when_the_bot_writes(client: Client, bot: Bot) -> None:
    before = await _json(await client.get("/api/chats/employer-a"))
    poll = asyncio.ensure_future(
        client.get(f"/api/chats/employer-a?version={before['version']}&timeout=30")
    )
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    await bot.send_message(ALEX.user_id, "Welcome!")
    after = await _json(await poll)
    assert time.monotonic() - started < 10  # at once, not at the poll's 30 s timeout
    assert after["version"] > before["version"]
    assert [m["text"] for m in after["messages"]] == ["Welcome!"]


async def test_a_long_poll_gives_up_after_its_timeout(client: Client) -> None:
    before = await _json(await client.get("/api/chats/employer-b"))
    started = time.monotonic()
    after = await _json(
        await client.get(f"/api/chats/employer-b?version={before['version']}&timeout=0.2")
    )
    assert 0.15 < time.monotonic() - started < 3
    assert after["version"] == before["version"]
    assert after["messages"] == []


async def test_stopping_the_app_ends_waiting_long_polls(fake: FakeTelegram) -> None:
    runner = web.AppRunner(playground_app(fake, zone=LONDON), shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with TestClient(TestServer(web.Application())) as other:
        poll = asyncio.ensure_future(
            other.session.get(f"http://127.0.0.1:{port}/api/chats/employer-c?version=0&timeout=30")
        )
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await runner.cleanup()
        response = await poll
        assert response.status == 200
        assert time.monotonic() - started < 2


# -- files ----------------------------------------------------------------------------------


async def test_photos_and_documents_are_served_from_the_fake(client: Client, bot: Bot) -> None:
    photo = await bot.send_photo(
        ALEX.user_id, BufferedInputFile(TINY_PNG, "chart.png"), caption="Your chart"
    )
    report = await bot.send_document(
        ALEX.user_id, BufferedInputFile(b"a,b\n1,2\n", "answers 2025.csv"), caption="Export"
    )
    body = await _json(await client.get("/api/chats/employer-a"))
    shown_photo, shown_document = body["messages"]
    assert shown_photo["file"]["image"] is True
    assert shown_photo["text"] == "Your chart"
    assert shown_document["file"] == {
        "url": f"/api/files/employer-a/{report.message_id}",
        "name": "answers 2025.csv",
        "image": False,
    }
    image = await client.get(shown_photo["file"]["url"])
    assert image.status == 200
    assert image.content_type == "image/png"
    assert await image.read() == TINY_PNG
    document = await client.get(shown_document["file"]["url"])
    assert document.status == 200
    assert await document.read() == b"a,b\n1,2\n"
    assert document.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''answers%202025.csv"
    )
    assert photo.message_id != report.message_id


async def test_files_are_only_served_from_the_persons_own_chat(client: Client, bot: Bot) -> None:
    photo = await bot.send_photo(ALEX.user_id, BufferedInputFile(TINY_PNG, "chart.png"))
    text = await bot.send_message(ALEX.user_id, "no file here")
    for path in (
        f"/api/files/employer-b/{photo.message_id}",
        f"/api/files/employer-a/{text.message_id}",
        "/api/files/employer-a/999",
        "/api/files/employer-a/-1",
        "/api/files/nobody/1",
    ):
        body = await _json(await client.get(path), 400)
        assert body["ok"] is False, path
        assert body["error"], path


# -- bad requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "payload", "fragment"),
    [
        ("/api/chats/employer-a/send", b"{not json", "JSON object"),
        ("/api/chats/employer-a/send", b"[1, 2]", "JSON object"),
        ("/api/chats/employer-a/send", b"{}", "'text' must be a string"),
        ("/api/chats/employer-a/send", b'{"text": 12}', "'text' must be a string"),
        ("/api/chats/employer-a/send", b'{"text": "   "}', "Please type a message"),
        ("/api/chats/employer-a/send", b'{"text": "' + b"x" * 4097 + b'"}', "too long"),
        ("/api/chats/nobody/send", b'{"text": "hi"}', "no playground user"),
        ("/api/chats/employer-a/press", b'{"data": "x"}', "'message_id' must be an integer"),
        ("/api/chats/employer-a/press", b'{"message_id": true, "data": "x"}', "integer"),
        ("/api/chats/employer-a/press", b'{"message_id": "1", "data": "x"}', "integer"),
        ("/api/chats/employer-a/press", b'{"message_id": 1}', "'data'"),
        ("/api/chats/employer-a/press", b'{"message_id": 1, "data": 5}', "'data'"),
        (
            "/api/chats/employer-a/press",
            b'{"message_id": 1, "data": "' + b"d" * 65 + b'"}',
            "64 bytes",
        ),
        ("/api/chats/employer-a/press", b'{"message_id": 1, "data": "x"}', "no bot message 1"),
    ],
)
async def test_bad_posts_get_a_400_with_a_clear_message(
    client: Client, path: str, payload: bytes, fragment: str
) -> None:
    response = await client.post(path, data=payload, headers={"Content-Type": "application/json"})
    body = await _json(response, 400)
    assert body["ok"] is False
    assert fragment.casefold() in body["error"].casefold()
    assert "Traceback" not in body["error"]


@pytest.mark.parametrize(
    "query",
    [
        "?version=abc",
        "?version=-1",
        "?version=1.5",
        "?version=1&timeout=nan",
        "?version=1&timeout=soon",
        "?version=1&timeout=-3",
        "?version=1&timeout=inf",
    ],
)
async def test_bad_long_poll_queries_get_a_400(client: Client, query: str) -> None:
    body = await _json(await client.get(f"/api/chats/employer-a{query}"), 400)
    assert body["ok"] is False
    assert body["error"]


async def test_an_over_large_body_gets_a_json_error(client: Client) -> None:
    response = await client.post(
        "/api/chats/employer-a/send",
        data=b"x" * (200 * 1024),
        headers={"Content-Type": "application/json"},
    )
    body = await _json(response, 413)
    assert body["ok"] is False
    assert body["error"]


async def test_a_get_on_a_post_endpoint_is_refused_politely(client: Client) -> None:
    body = await _json(await client.get("/api/chats/employer-a/send"), 405)
    assert body["ok"] is False


# -- requests from other sites ---------------------------------------------------------------

FORGED = "/staff add 8888 admin"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        # What a page on another site can send without asking (no CORS preflight):
        (
            {"Content-Type": "text/plain", "Origin": "http://evil.example"},
            f'{{"text": "{FORGED}"}}',
            403,
        ),
        (
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"},
            "text=%2Fstaff+add+8888+admin",
            403,
        ),
        # ... and without an Origin (an older browser), with the token even: not JSON.
        ({"Content-Type": "text/plain"}, f'{{"text": "{FORGED}"}}', 415),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            "text=%2Fstaff+add+8888+admin",
            415,
        ),
        (
            {"Content-Type": "multipart/form-data; boundary=x", "Origin": "null"},
            f'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\n{FORGED}\r\n--x--',
            403,
        ),
        # JSON, even with the token, from another origin or marked cross-site:
        (
            {"Content-Type": "application/json", "Origin": "http://evil.example"},
            f'{{"text": "{FORGED}"}}',
            403,
        ),
        (
            {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
            f'{{"text": "{FORGED}"}}',
            403,
        ),
        (
            {"Content-Type": "application/json", "Host": "evil.example"},
            f'{{"text": "{FORGED}"}}',
            403,
        ),
    ],
)
async def test_a_post_from_another_site_is_refused_and_changes_nothing(
    client: Client, fake: FakeTelegram, headers: dict[str, str], body: str, status: int
) -> None:
    response = await client.post("/api/chats/admin/send", data=body.encode(), headers=headers)
    refused = await _json(response, status)
    assert refused["ok"] is False
    assert refused["error"]
    assert fake.world.updates.history == {}  # nothing reached the bot
    assert fake.chat(person_named("admin").user_id) == []


async def test_a_json_post_without_the_pages_token_is_refused(
    client: Client, fake: FakeTelegram
) -> None:
    for token in ("", "a-guess", PAGE_TOKEN + "x"):
        response = await client.post(
            "/api/chats/admin/send", json={"text": FORGED}, headers={TOKEN_HEADER: token}
        )
        assert "token" in (await _json(response, 403))["error"]
    assert fake.world.updates.history == {}
    origin = f"http://127.0.0.1:{client.port}"
    accepted = await client.post(
        "/api/chats/admin/send",
        json={"text": "/start"},
        headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
    )
    await _json(accepted)
    assert len(fake.world.updates.history) == 1


async def test_the_page_carries_a_fresh_token_each_run(fake: FakeTelegram) -> None:
    pages = []
    for _ in range(2):
        async with TestClient(TestServer(playground_app(fake, zone=LONDON))) as other:
            pages.append(await (await other.get("/")).text())
    tokens = {_page_token(page) for page in pages}
    assert len(tokens) == 2
    assert all(len(token) >= 32 for token in tokens)


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost.evil.example:{port}"]
)
async def test_a_foreign_host_name_is_refused_even_for_reading(client: Client, host: str) -> None:
    headers = {"Host": host.format(port=client.port)}
    response = await client.get("/api/chats/admin", headers=headers)
    assert (await _json(response, 403))["ok"] is False
    page = await client.get("/", headers=headers)
    assert page.status == 403
    assert "playground-token" not in await page.text()


async def test_loopback_names_with_our_port_are_accepted(client: Client) -> None:
    for host in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]", "192.0.2.7"):
        response = await client.get("/api/users", headers={"Host": f"{host}:{client.port}"})
        await _json(response)


def test_a_host_beyond_loopback_needs_the_unsafe_flag() -> None:
    refused = CliRunner().invoke(cli.app, ["playground", "--host", "0.0.0.0", "--port", "1"])
    assert refused.exit_code == 2
    assert "--unsafe-listen-anywhere" in refused.output
    assert refused.output.count("\n") == 1
    # With the flag it warns (and here stops at once, on a database it cannot use).
    allowed = CliRunner().invoke(
        cli.app,
        [
            "playground",
            "--host",
            "0.0.0.0",
            "--port",
            "1",
            "--unsafe-listen-anywhere",
            "--database",
            "mysql://x",
        ],
    )
    assert allowed.output.startswith("skillsbot: WARNING: the playground listens on 0.0.0.0")
    assert allowed.exit_code == 2


# -- the whole playground ------------------------------------------------------------------


async def test_a_busy_port_is_a_clear_error_and_nothing_is_left_running(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'playground.db'}")
    upgrade(engine)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        playground = Playground(database=engine, interview=interview, port=port, polling_timeout=1)
        try:
            with pytest.raises(PlaygroundError, match=f"127.0.0.1:{port}.*--port"):
                await playground.start()
            assert playground.bot_task is None
            assert playground.fake.closing
        finally:
            engine.dispose()


async def test_the_playgrounds_fake_telegram_takes_no_orders_from_other_sites(
    tmp_path: Path,
) -> None:
    """The fake listens on 127.0.0.1 too: a page on another site must not be able to act as
    the playground's admin through it (its /_fake/ control API), nor call its Bot API with a
    token it could know (issue 19, item 2)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'playground.db'}")
    upgrade(engine)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    admin = person_named("admin").user_id
    cross_site = {
        "Content-Type": "text/plain",
        "Origin": "http://evil.example",
        "Sec-Fetch-Site": "cross-site",
    }
    try:
        async with Playground(
            database=engine, interview=interview, port=0, polling_timeout=1
        ) as running:
            base = running.fake.base_url
            async with ClientSession(headers=cross_site) as browser:
                forged = await browser.post(
                    f"{base}/_fake/users/{admin}/text", data=f'{{"text": "{FORGED}"}}'
                )
                assert forged.status == 404
                as_bot = await browser.post(
                    f"{base}/bot{PLAYGROUND_TOKEN}/sendMessage",
                    data=f'{{"chat_id": {admin}, "text": "x"}}',
                )
                assert as_bot.status in {401, 404}
            assert PLAYGROUND_TOKEN not in running.fake.token
            assert running.fake.world.updates.history == {}
            assert running.fake.chat(admin) == []
        with Session(engine) as session:
            roles = {(m.telegram_user_id, m.role) for m in staff_members(session)}
        assert roles == {(p.user_id, p.role) for p in PEOPLE if p.role is not None}
    finally:
        engine.dispose()


def _page_token(html: str) -> str:
    """The token the page carries (its <meta name="playground-token">)."""
    match = re.search(r'<meta name="playground-token" content="([^"]+)">', html)
    assert match is not None, html
    return match[1]


async def _until_line(stream: asyncio.StreamReader, fragment: str) -> list[str]:
    lines: list[str] = []
    while True:
        raw = await asyncio.wait_for(stream.readline(), timeout=60)
        if not raw:
            raise AssertionError(f"the process ended before printing {fragment!r}: {lines}")
        lines.append(raw.decode())
        if fragment in lines[-1]:
            return lines


@pytest.mark.slow
async def test_run_without_a_token_serves_the_playground_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    database = tmp_path / "skillsbot.db"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SKILLSBOT_", "DATABASE_URL"))
    }
    environment |= {"DATABASE_URL": f"sqlite:///{database}", "SKILLSBOT_PLAYGROUND_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        SKILLSBOT,
        "run",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines = await _until_line(process.stdout, "Ctrl+C")
        assert lines[0].startswith("skillsbot: TELEGRAM_BOT_TOKEN is not set")
        assert f"http://127.0.0.1:{port}/" in lines[-1]
        async with TestClient(TestServer(web.Application())) as http:
            base = f"http://127.0.0.1:{port}"
            page = await http.session.get(f"{base}/")
            assert page.status == 200
            assert page.content_type == "text/html"
            token = _page_token(await page.text())
            await _json(
                await http.session.post(
                    f"{base}/api/chats/employer-c/send",
                    json={"text": "/start"},
                    headers={TOKEN_HEADER: token},
                )
            )
            chat = await _json(await http.session.get(f"{base}/api/chats/employer-c"))
            deadline = time.monotonic() + 20
            while not any(m["from_bot"] for m in chat["messages"]):
                assert time.monotonic() < deadline, chat
                chat = await _json(
                    await http.session.get(
                        f"{base}/api/chats/employer-c?version={chat['version']}&timeout=5"
                    )
                )
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert "stopped" in out.decode()
    assert "Traceback" not in err.decode()
    assert not database.exists()  # DATABASE_URL's database is never the playground's
    engine = make_engine(f"sqlite:///{tmp_path / 'skillsbot-playground.db'}")
    try:
        with Session(engine) as session:
            assert [r.status for r in response_records(session, statuses=None)] == ["in_progress"]
    finally:
        engine.dispose()


# -- the command's settings ------------------------------------------------------------------


def test_the_token_counts_as_missing_only_when_unset_or_blank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    env_file = tmp_path / ".env"

    def problem() -> str | None:
        return load_settings(env_file=env_file, needs_token=False).token_problem

    assert problem() == "TELEGRAM_BOT_TOKEN is not set"
    env_file.write_text("TELEGRAM_BOT_TOKEN=  \n", encoding="utf-8")
    assert problem() == "TELEGRAM_BOT_TOKEN is not set"
    env_file.write_text("TELEGRAM_BOT_TOKEN=not-a-token\n", encoding="utf-8")
    assert problem() == "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)"
    env_file.write_text("TELEGRAM_BOT_TOKEN=123:abc\n", encoding="utf-8")
    assert problem() is None
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "456:def")
    settings = load_settings(env_file=None, needs_token=False)
    assert settings.has_token
    assert settings.token.get_secret_value() == "456:def"


def test_the_playground_never_uses_the_real_token_or_database_but_keeps_the_other_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "456:real-token")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("SKILLSBOT_AREA", "Norfolk and Suffolk")
    settings = playground_settings(env_file=None)
    assert settings.token.get_secret_value() == PLAYGROUND_TOKEN
    assert settings.database_url == PLAYGROUND_DATABASE
    assert settings.area == "Norfolk and Suffolk"
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    assert playground_settings(env_file=None, database=mine).database_url == mine
    monkeypatch.setenv("SKILLSBOT_BROADCAST_RATE", "many")
    with pytest.raises(SettingsError, match="^SKILLSBOT_BROADCAST_RATE cannot be used"):
        playground_settings(env_file=None)


def test_the_playground_command_offers_port_and_host() -> None:
    result = CliRunner().invoke(cli.app, ["playground", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output
    assert "--host" in result.output
    refused = CliRunner().invoke(cli.app, ["playground", "--port", "0"])
    assert refused.exit_code == 2


@pytest.mark.parametrize("receive", ["webhook", "polling"])
async def test_the_playgrounds_bot_receives_on_a_webhook_by_default_or_polls(
    tmp_path: Path, receive: str
) -> None:
    """As in production, the fake pushes each update to the bot's webhook (with a secret
    made for the run); with receive="polling" the bot polls instead."""
    engine = make_engine(f"sqlite:///{tmp_path / 'playground.db'}")
    upgrade(engine)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    options: dict[str, Any] = {} if receive == "webhook" else {"receive": "polling"}
    employer = person_named("employer-a").user_id
    try:
        async with Playground(
            database=engine, interview=interview, port=0, polling_timeout=1, **options
        ) as running:
            fake = running.fake
            update_id = await fake.send_text(employer, "/start")
            await fake.wait_until(lambda: fake.last_bot_message(employer) is not None, timeout=30)
            pushed = [
                attempt for attempt in fake.webhook.attempts if attempt.update_id == update_id
            ]
            if receive == "webhook":
                assert fake.webhook.active
                settings = fake.webhook.settings
                assert settings is not None
                assert settings.url.startswith("http://127.0.0.1:")
                assert settings.secret_token is not None
                assert len(settings.secret_token) >= 32
                assert [attempt.ok for attempt in pushed] == [True]
                assert fake.polls_started == 0
            else:
                assert not fake.webhook.active
                assert pushed == []
                assert fake.polls_started > 0
        assert running.webhook is None
    finally:
        engine.dispose()


async def test_the_playgrounds_bot_is_built_from_the_settings_as_skillsbot_run_builds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The playground's bot honours `.env` as `skillsbot run` does (issue 16): the report's
    area and thresholds, the reminders, the schedule's zone, the analysts and the retries;
    only its token, API URL and database are the playground's own."""
    for name in (
        "SKILLSBOT_AREA",
        "SKILLSBOT_MIN_BASE",
        "SKILLSBOT_TIMEZONE",
        "SKILLSBOT_ANALYSTS",
        "SKILLSBOT_REMINDER_DELAYS",
        "TELEGRAM_BOT_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SKILLSBOT_MIN_BASE=9\nSKILLSBOT_AREA=Greater Manchester\n"
        "SKILLSBOT_TIMEZONE=America/New_York\nSKILLSBOT_ANALYSTS=4242\n"
        "SKILLSBOT_REMINDER_DELAYS=1d,4d\nSKILLSBOT_TELEGRAM_ATTEMPTS=3\n",
        encoding="utf-8",
    )
    database = f"sqlite:///{tmp_path / 'playground.db'}"
    settings = playground_settings(env_file=env_file, database=database)
    engine = make_engine(database)
    upgrade(engine)
    interview = load_interview(builtin_interview_path(), area=settings.area)
    analyst = person_named("analyst").user_id
    new_york = ZoneInfo("America/New_York")
    try:
        async with Playground(
            database=engine, interview=interview, settings=settings, port=0, polling_timeout=1
        ) as running:
            bot = running.bot
            assert bot is not None
            assert bot.scheduler is not None
            assert bot.follow_ups.report.area == "Greater Manchester"
            assert bot.follow_ups.report.min_base == 9
            assert bot.follow_ups.report.zone == new_york
            assert bot.follow_ups.policy.zone == new_york
            assert bot.follow_ups.policy.delays == (timedelta(days=1), timedelta(days=4))
            assert bot.scheduler.settings.zone == new_york
            assert bot.follow_ups.analysts == frozenset({4242})
            assert bot.interviewer.area == "Greater Manchester"
            # What an analyst sees: /weekly in the playground, with the configured base.
            await running.fake.send_text(analyst, "/weekly")
            report = await running.fake.wait_for_bot_message(
                analyst,
                predicate=lambda message: "Counts out of fewer than" in message.text,
                timeout=60,
            )
            assert "Counts out of fewer than 9 employers" in report.text
    finally:
        engine.dispose()
