"""``FakeTelegram``: the fake Bot API over real HTTP, plus the users who talk to the bot."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import orjson
from aiohttp import web

from bot.devtools.fake_telegram.api import MAX_UPLOAD, BotApi, Params, Upload
from bot.devtools.fake_telegram.control import ControlApi
from bot.devtools.fake_telegram.errors import (
    DEFAULT_DESCRIPTIONS,
    DROPPED,
    ApiError,
    DroppedConnection,
    bad_request,
)
from bot.devtools.fake_telegram.markup import MAX_TEXT, command_entities, utf16_len
from bot.devtools.fake_telegram.state import (
    CallbackAnswer,
    ChatLog,
    FloodControl,
    InjectedFailure,
    JsonDict,
    Message,
    RequestRecord,
    StoredFile,
    World,
    utc_now,
)
from bot.devtools.fake_telegram.webhook import Webhook

logger = logging.getLogger(__name__)

# The smallest valid PNG (1x1), sent as a user's photo so a bot can download an image.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4d80000000049454e44ae426082"
)


class FakeTelegram:
    """A fake Telegram Bot API server on 127.0.0.1 and the users who talk to the bot.

    Point the bot at ``base_url`` (``TELEGRAM_API_URL``); act as users with ``send_text``,
    ``press`` and friends; read transcripts with ``chat``; inject faults with ``block``,
    ``fail_next`` and ``rate_limit``. Usable as ``async with FakeTelegram() as fake:``.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "skillsbot_test_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        control_api: bool = True,
    ) -> None:
        prefix = token.split(":", 1)[0]
        self.token = token
        # The /_fake/ routes act as any user with no check at all: fine for tests and
        # `python -m bot.devtools.fake_telegram`, but the playground leaves them out (any web page
        # could post to them on 127.0.0.1, see bot.devtools.playground.runner).
        self.control_api = control_api
        self.host = host
        self.port = port
        self.base_url = ""
        self.world = World(
            bot_id=int(prefix) if prefix.isdigit() else 123456,
            bot_username=bot_username,
            bot_first_name="Skillsbot",
        )
        self.api = BotApi(self.world)
        self.closing = False
        self._runner: web.AppRunner | None = None

    # -- running ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one) and set ``base_url``."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        if self.control_api:
            app.add_routes(ControlApi(self).routes())
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Answer pending long polls and stop listening."""
        self.closing = self.api.closing = True
        await self.api.webhook.close()
        self.world.updates.pulse.fire()
        for chat in self.world.chats.values():
            chat.pulse.fire()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        planned = self.world.delays.get(method.lower())
        if planned:  # a slow network: the call reaches Telegram late (see ``delay_next``)
            await asyncio.sleep(planned.popleft())
        arrived = time.monotonic()
        chat_id: int | None = None
        body: JsonDict
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            params = await _read_params(request)
            chat_id = params.chat_id_or_none()
            body = {"ok": True, "result": await self.api.call(method, params)}
            status = 200
        except ApiError as error:
            if error.page is not None:  # not Telegram's answer: a proxy's error page
                self.world.record(
                    RequestRecord(
                        arrived,
                        self.api.method_name(method),
                        chat_id,
                        error.error_code,
                        error.description,
                        _client(request),
                    )
                )
                return web.Response(
                    text=error.page, status=error.error_code, content_type="text/html"
                )
            body, status = error.to_json(), error.error_code
        except DroppedConnection:
            self.world.record(
                RequestRecord(
                    arrived,
                    self.api.method_name(method),
                    chat_id,
                    DROPPED,
                    "connection dropped",
                    _client(request),
                )
            )
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never sent: the client sees the connection go
        except Exception:  # a bug in the fake must still answer like Telegram, not hang the bot
            logger.exception("fake Telegram failed on %s", self.api.method_name(method))
            body = ApiError(500, "Internal Server Error").to_json()
            status = 500
        self.world.record(
            RequestRecord(
                arrived,
                self.api.method_name(method),
                chat_id,
                status,
                body.get("description"),
                _client(request),
            )
        )
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    async def _serve_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self.world.files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # -- acting as users ---------------------------------------------------------------------

    def add_user(
        self, user_id: int, *, first_name: str = "Test", username: str | None = None
    ) -> None:
        """Make a user known (e.g. broadcast recipients) without sending anything."""
        _check_user_id(user_id)
        self.world.chat_for(user_id, first_name=first_name, username=username)

    async def send_text(
        self, user_id: int, text: str, *, first_name: str = "Test", username: str | None = None
    ) -> int:
        """The user sends ``text``; returns the update_id. /commands get bot_command entities."""
        _check_user_id(user_id)
        if not text.strip():
            raise ValueError("Telegram users cannot send an empty message")
        if utf16_len(text) > MAX_TEXT:  # UTF-16 code units, as Telegram counts
            raise ValueError(f"Telegram users cannot send more than {MAX_TEXT} characters")
        chat = self.world.chat_for(user_id, first_name=first_name, username=username)
        entities = tuple(command_entities(text))
        return self._user_posts(chat, text=text, entities=entities)

    async def press(self, user_id: int, message_id: int, data: str) -> int:
        """The user presses an inline button on a bot message; ``data`` may be forged."""
        chat = self.world.chats.get(user_id)
        message = chat.get(message_id) if chat else None
        if chat is None or message is None or message.deleted or not message.from_bot:
            raise LookupError(f"chat {user_id} has no bot message {message_id} to press on")
        query_id = str(4_000_000_000_000_000 + self.world.serial())
        self.world.open_callbacks[query_id] = (user_id, message_id)
        return self.world.updates.push(
            "callback_query",
            {
                "id": query_id,
                "from": chat.user.to_json(),
                "message": self.world.message_json(message),
                "chat_instance": str(7_000_000_000_000 + user_id),
                "data": data,
            },
        )

    async def send_sticker(self, user_id: int) -> int:
        """The user sends a sticker."""
        chat = self._user_chat(user_id)
        number = self.world.serial()
        sticker = {
            "file_id": f"FAKE-sticker-{number:06d}",
            "file_unique_id": f"S{number:06d}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\N{THUMBS UP SIGN}",
        }
        return self._user_posts(chat, kind="sticker", media={"sticker": sticker})

    async def send_photo(self, user_id: int, caption: str | None = None) -> int:
        """The user sends a photo (a tiny PNG the bot can download)."""
        chat = self._user_chat(user_id)
        stored = self.world.store_file(
            TINY_PNG, folder="photos", file_name=None, mime_type="image/png", extension="png"
        )
        sizes = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "width": 1,
                "height": 1,
            }
        ]
        return self._user_posts(
            chat, kind="photo", caption=caption, stored=stored, media={"photo": sizes}
        )

    async def send_voice(self, user_id: int, duration: int = 3) -> int:
        """The user sends a voice note."""
        chat = self._user_chat(user_id)
        stored = self.world.store_file(
            b"OggS\x00fake-voice",
            folder="voice",
            file_name=None,
            mime_type="audio/ogg",
            extension="oga",
        )
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(stored.data),
        }
        return self._user_posts(chat, kind="voice", stored=stored, media={"voice": voice})

    async def send_document(
        self,
        user_id: int,
        filename: str = "x.pdf",
        *,
        data: bytes | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> int:
        """The user sends a document (``data`` defaults to a few placeholder bytes)."""
        chat = self._user_chat(user_id)
        content = data if data is not None else b"%PDF-1.4\n% fake document\n"
        extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored = self.world.store_file(
            content,
            folder="documents",
            file_name=filename,
            mime_type=mime_type,
            extension=extension,
        )
        document: JsonDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "file_size": len(content),
        }
        if mime_type:
            document["mime_type"] = mime_type
        return self._user_posts(
            chat, kind="document", caption=caption, stored=stored, media={"document": document}
        )

    def inject_update(self, update: JsonDict) -> int:
        """Queue a raw update (its own update_id is replaced by a fresh one); returns that id.

        To re-deliver an update the bot already had, pass ``fake.update(update_id)``.
        """
        kinds = [key for key in update if key != "update_id"]
        if len(kinds) != 1:
            raise ValueError(f"an update has exactly one payload field, got {kinds}")
        payload = json.loads(json.dumps(update[kinds[0]]))
        return self.world.updates.push(kinds[0], payload)

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again under its ORIGINAL id, as Telegram does after a bot crashed
        before confirming it (``KeyError`` if the fake never created that update)."""
        self.world.updates.redeliver(update_id)
        self.world.changed()

    def update(self, update_id: int) -> JsonDict:
        """A copy of an update the fake created."""
        return dict(json.loads(json.dumps(self.world.updates.history[update_id])))

    def _user_chat(self, user_id: int) -> ChatLog:
        _check_user_id(user_id)
        return self.world.chat_for(user_id)

    def _user_posts(
        self,
        chat: ChatLog,
        *,
        kind: str = "text",
        text: str | None = None,
        caption: str | None = None,
        entities: tuple[JsonDict, ...] = (),
        stored: StoredFile | None = None,
        media: JsonDict | None = None,
    ) -> int:
        message = chat.new_message(
            from_bot=False,
            kind=kind,
            text=text,
            caption=caption,
            entities=entities,
            photo=stored.file_path if stored and kind == "photo" else None,
            document=stored.file_name if stored and kind == "document" else None,
            file_id=stored.file_id if stored else None,
            media=media or {},
        )
        chat.add(message)
        self.world.changed()
        return self.world.updates.push("message", self.world.message_json(message))

    # -- observing ---------------------------------------------------------------------------

    def chat(self, chat_id: int) -> list[Message]:
        """The transcript: both sides' messages in order, as edited; deleted ones flagged."""
        chat = self.world.chats.get(chat_id)
        return list(chat) if chat else []

    def bot_messages(self, chat_id: int) -> list[Message]:
        """The bot's messages in a chat, in order (deleted ones flagged, not dropped)."""
        return [m for m in self.chat(chat_id) if m.from_bot]

    def last_bot_message(self, chat_id: int) -> Message | None:
        """The bot's latest message still in the chat (not deleted)."""
        shown = [m for m in self.bot_messages(chat_id) if not m.deleted]
        return shown[-1] if shown else None

    def file_bytes(self, message: Message) -> bytes:
        """The content of the file a message carries."""
        stored = self.world.files.get(message.file_id or "")
        if stored is None:
            raise LookupError(f"message {message.message_id} carries no file")
        return stored.data

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        after: int = 0,
        predicate: Callable[[Message], bool] | None = None,
        timeout: float = 10,  # noqa: ASYNC109 (the agreed interface, like asyncio.wait_for)
    ) -> Message:
        """The first bot message with message_id > ``after`` (matching ``predicate``).

        With a predicate, an earlier bot message that has been edited to match also counts.
        On timeout raises ``TimeoutError`` showing the transcript.
        """
        chat = self.world.chat_for(chat_id)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = _find_bot_message(list(chat), after, predicate)
            if found is not None:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self.closing:
                wanted = " matching the predicate" if predicate else ""
                raise TimeoutError(
                    f"no bot message after #{after}{wanted} in chat {chat_id} within "
                    f"{timeout}s; transcript:\n{self.transcript(chat_id)}"
                )
            await chat.pulse.wait(remaining)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10,  # noqa: ASYNC109 (the agreed interface, like asyncio.wait_for)
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking on every change the fake sees."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self.closing:
                raise TimeoutError(f"condition not met within {timeout}s")
            await self.world.pulse.wait(remaining)

    def transcript(self, chat_id: int) -> str:
        """The chat as readable lines."""
        lines = [f"  {m.describe()}" for m in self.chat(chat_id)]
        return "\n".join(lines) or "  (empty)"

    @property
    def requests(self) -> list[RequestRecord]:
        """Every Bot API call so far, in the order answered."""
        return self.world.requests

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every answerCallbackQuery call so far."""
        return self.world.callback_answers

    @property
    def my_commands(self) -> list[JsonDict]:
        """The commands set for the default scope and no particular language."""
        return list(self.world.commands.get(('{"type": "default"}', ""), []))

    @property
    def chat_actions(self) -> list[tuple[int, str]]:
        """Every sendChatAction as (chat_id, action)."""
        return self.world.chat_actions

    @property
    def acknowledged_offset(self) -> int:
        """The highest getUpdates offset the bot has confirmed."""
        return self.world.updates.acknowledged_offset

    @property
    def polls_started(self) -> int:
        """How many getUpdates calls have arrived (useful to wait until the bot polls)."""
        return self.api.polls_started

    @property
    def webhook(self) -> Webhook:
        """The webhook side: its settings (None: polling), every push attempt, the peak of
        requests in flight."""
        return self.api.webhook

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len(self.world.updates)

    # -- fault injection ---------------------------------------------------------------------

    def block(self, user_id: int, *, notify: bool = False) -> int | None:
        """The user blocks the bot: sends to them answer 403. ``notify`` also queues the
        my_chat_member update Telegram sends, and returns its update_id."""
        self.world.blocked.add(user_id)
        if notify:
            chat = self.world.chat_for(user_id)
            return self.world.updates.push(
                "my_chat_member",
                {
                    "chat": chat.user.chat_json(),
                    "from": chat.user.to_json(),
                    "date": int(utc_now().timestamp()),
                    "old_chat_member": {"status": "member", "user": self.world.bot_user},
                    "new_chat_member": {
                        "status": "kicked",
                        "user": self.world.bot_user,
                        "until_date": 0,
                    },
                },
            )
        return None

    def unblock(self, user_id: int) -> None:
        """The user unblocks the bot."""
        self.world.blocked.discard(user_id)

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are lost on the way: the connection closes
        before the call reaches Telegram, and the client gets no answer."""
        planned = self.world.failures.setdefault(method.lower(), deque())
        planned.extend([InjectedFailure(DROPPED, "connection dropped", None)] * times)

    def delay_next(self, method: str, *, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take ``seconds`` on the way: Telegram sees
        (and counts, for flood control) each that much later than it was sent."""
        self.world.delays.setdefault(method.lower(), deque()).extend([seconds] * times)

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        error_code: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        page: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``error_code``: Telegram's JSON
        (a 429 says ``retry_after`` unless it is None, as a proxy's might not), or with
        ``page`` given, that HTML page instead (a proxy's "502 Bad Gateway")."""
        if error_code == 429:
            failure = InjectedFailure(
                429,
                description
                or (
                    f"Too Many Requests: retry after {retry_after}"
                    if retry_after is not None
                    else "Too Many Requests"
                ),
                retry_after,
                page,
            )
        else:
            failure = InjectedFailure(
                error_code, description or DEFAULT_DESCRIPTIONS.get(error_code, "Error"), None, page
            )
        planned = self.world.failures.setdefault(method.lower(), deque())
        planned.extend([failure] * times)

    def rate_limit(
        self,
        per_second_overall: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
    ) -> None:
        """Answer 429 to sends beyond these rates (both None switches flood control off)."""
        if per_second_overall is None and per_chat_per_second is None:
            self.world.flood = None
        else:
            self.world.flood = FloodControl(per_second_overall, per_chat_per_second, retry_after)


def _check_user_id(user_id: int) -> None:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise ValueError(f"a user id is a positive integer, not {user_id!r}")


def _find_bot_message(
    messages: list[Message], after: int, predicate: Callable[[Message], bool] | None
) -> Message | None:
    shown = [m for m in messages if m.from_bot and not m.deleted]
    for message in shown:
        if message.message_id > after and (predicate is None or predicate(message)):
            return message
    if predicate is not None:
        for message in shown:
            if message.message_id <= after and message.edited and predicate(message):
                return message
    return None


async def _read_params(request: web.Request) -> Params:
    """Arguments from the query string and a JSON, urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if not request.body_exists:
        return Params(values)
    try:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            values.update(body)
        elif request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    values[key] = value
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "Request Entity Too Large") from None
    return Params(values, files)


def _client(request: web.Request) -> str:
    """The calling library, from its User-Agent (aiogram's aiohttp, PTB's own name...)."""
    return request.headers.get("User-Agent", "")[:80]
