"""The ``/_fake/`` HTTP control API: act as a user and watch a chat from a web page."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.devtools.fake_telegram.state import Message

if TYPE_CHECKING:
    from bot.devtools.fake_telegram.server import FakeTelegram

MAX_WAIT = 60.0
DEFAULT_WAIT = 25.0


class ControlError(Exception):
    """A control request we refuse with 400 and a JSON error."""


def message_json(message: Message) -> dict[str, Any]:
    """A transcript entry for the control API."""
    return {
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "kind": message.kind,
        "text": message.text,
        "caption": message.caption,
        "buttons": [
            [{"text": text, "data": data} for text, data in row] for row in message.buttons()
        ],
        "keyboard": message.keyboard(),
        "reply_markup": message.reply_markup,
        "edited": message.edited,
        "deleted": message.deleted,
        "photo": message.photo,
        "document": message.document,
        "file_id": message.file_id,
        "date": message.date.isoformat(),
    }


class ControlApi:
    """Routes under ``/_fake/`` driving a ``FakeTelegram``."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def routes(self) -> list[web.RouteDef]:
        """The aiohttp routes."""
        return [
            web.get("/_fake/info", self.info),
            web.post("/_fake/users/{user_id}/text", self.text),
            web.post("/_fake/users/{user_id}/press", self.press),
            web.post("/_fake/users/{user_id}/{kind:sticker|photo|voice|document}", self.media),
            web.get("/_fake/chats/{chat_id}", self.chat),
            web.get("/_fake/chats/{chat_id}/wait", self.wait),
            web.get("/_fake/files/{file_id}", self.file),
        ]

    async def info(self, request: web.Request) -> web.Response:
        """The bot and its commands."""
        return web.json_response(
            {"ok": True, "bot": self.fake.world.bot_user, "commands": self.fake.my_commands}
        )

    async def text(self, request: web.Request) -> web.Response:
        """POST {text, first_name?, username?}: the user sends a message."""
        return await _answer(self._text(request))

    async def _text(self, request: web.Request) -> dict[str, Any]:
        user_id = _positive(request.match_info["user_id"], "user id")
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ControlError("'text' must be a non-empty string")
        first_name = body.get("first_name", "Test")
        username = body.get("username")
        if not isinstance(first_name, str) or not (username is None or isinstance(username, str)):
            raise ControlError("'first_name' and 'username' must be strings")
        try:
            update_id = await self.fake.send_text(
                user_id, text, first_name=first_name, username=username
            )
        except ValueError as error:
            raise ControlError(str(error)) from None
        return {"update_id": update_id}

    async def press(self, request: web.Request) -> web.Response:
        """POST {message_id, data}: the user presses an inline button."""
        return await _answer(self._press(request))

    async def _press(self, request: web.Request) -> dict[str, Any]:
        user_id = _positive(request.match_info["user_id"], "user id")
        body = await _body(request)
        message_id, data = body.get("message_id"), body.get("data")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise ControlError("'message_id' must be an integer")
        if not isinstance(data, str):
            raise ControlError("'data' must be a string")
        try:
            update_id = await self.fake.press(user_id, message_id, data)
        except LookupError as error:
            raise ControlError(str(error)) from None
        return {"update_id": update_id}

    async def media(self, request: web.Request) -> web.Response:
        """POST: the user sends a sticker, photo, voice note or document."""
        return await _answer(self._media(request))

    async def _media(self, request: web.Request) -> dict[str, Any]:
        user_id = _positive(request.match_info["user_id"], "user id")
        kind = request.match_info["kind"]
        if kind == "sticker":
            update_id = await self.fake.send_sticker(user_id)
        elif kind == "photo":
            update_id = await self.fake.send_photo(user_id)
        elif kind == "voice":
            update_id = await self.fake.send_voice(user_id)
        else:
            update_id = await self.fake.send_document(user_id)
        return {"update_id": update_id}

    async def chat(self, request: web.Request) -> web.Response:
        """GET: the transcript and its version."""
        return await _answer(self._chat(request))

    async def _chat(self, request: web.Request) -> dict[str, Any]:
        return self._transcript(_positive(request.match_info["chat_id"], "chat id"))

    async def wait(self, request: web.Request) -> web.Response:
        """GET ?version=N[&timeout=S]: long poll until the chat's version differs from N."""
        return await _answer(self._wait(request))

    async def _wait(self, request: web.Request) -> dict[str, Any]:
        chat_id = _positive(request.match_info["chat_id"], "chat id")
        version = _integer(request.query.get("version", ""), "version")
        timeout = _number(request.query.get("timeout", str(DEFAULT_WAIT)), "timeout")
        chat = self.fake.world.chat_for(chat_id)
        deadline = asyncio.get_running_loop().time() + min(max(timeout, 0.0), MAX_WAIT)
        while chat.version == version and not self.fake.closing:
            remaining = deadline - asyncio.get_running_loop().time()
            if not await chat.pulse.wait(remaining):
                break
        return self._transcript(chat_id) | {"changed": chat.version != version}

    async def file(self, request: web.Request) -> web.Response:
        """GET: a file's bytes (e.g. a document the bot sent)."""
        stored = self.fake.world.files.get(request.match_info["file_id"])
        if stored is None:
            return web.json_response({"ok": False, "error": "no such file"}, status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _transcript(self, chat_id: int) -> dict[str, Any]:
        chat = self.fake.world.chats.get(chat_id)
        return {
            "chat_id": chat_id,
            "version": chat.version if chat else 0,
            "messages": [message_json(m) for m in self.fake.chat(chat_id)],
        }


async def _answer(work: Any) -> web.Response:
    try:
        result = await work
    except ControlError as error:
        return web.json_response({"ok": False, "error": str(error)}, status=400)
    return web.json_response({"ok": True, **result})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ControlError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _integer(raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ControlError(f"the {what} must be an integer, not {raw!r}") from None


def _positive(raw: str, what: str) -> int:
    value = _integer(raw, what)
    if value <= 0:
        raise ControlError(f"the {what} must be positive")
    return value


def _number(raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ControlError(f"the {what} must be a number, not {raw!r}") from None
    if value != value:  # NaN
        raise ControlError(f"the {what} must be a number")
    return value
