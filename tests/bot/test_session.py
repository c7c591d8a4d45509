"""The Bot API session: JSON bodies, multipart only for uploads, Telegram's errors kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.transports.aiogram.account import build_bot

TOKEN = "123456:TEST-TOKEN"
MESSAGE = {"message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "hi"}


class Recorder:
    """A stand-in Bot API that records what each request looked like."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []  # (method, content type, body)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            body: Any = await request.json()
        else:
            body = dict(await request.post())
        self.seen.append((method, request.content_type, body))
        if body.get("text") == "bad":
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: no"}, status=400
            )
        return web.json_response({"ok": True, "result": MESSAGE})


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, Bot]]:
    recording = Recorder()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", recording.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    bot = build_bot(TOKEN, str(server.make_url("")).rstrip("/"))
    try:
        yield recording, bot
    finally:
        await bot.session.close()
        await server.close()


async def test_a_request_goes_as_one_json_object(recorder: tuple[Recorder, Bot]) -> None:
    recording, bot = recorder
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="iv:c:1:0:0")]]
    )
    sent = await bot.send_message(1, "hi", reply_markup=keyboard, disable_notification=False)
    assert sent.message_id == 5
    method, content_type, body = recording.seen[-1]
    assert (method, content_type) == ("sendMessage", "application/json")
    assert body["chat_id"] == 1
    assert body["text"] == "hi"
    assert body["disable_notification"] is False
    assert body["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "iv:c:1:0:0"}]]
    }


async def test_an_upload_still_goes_as_a_multipart_form(recorder: tuple[Recorder, Bot]) -> None:
    recording, bot = recorder
    await bot.send_document(1, BufferedInputFile(b"a,b\n1,2\n", filename="report.csv"))
    method, content_type, body = recording.seen[-1]
    assert (method, content_type) == ("sendDocument", "multipart/form-data")
    assert body["chat_id"] == "1"


async def test_telegram_errors_still_raise_as_aiogram_says(
    recorder: tuple[Recorder, Bot],
) -> None:
    _, bot = recorder
    with pytest.raises(TelegramBadRequest, match="no"):
        await bot.send_message(1, "bad")
