"""The playground's web app: the chat page and a small JSON API over the fake Telegram.

The page acts as the people in ``PEOPLE`` (each a Telegram user with a private chat) and
watches their chats by long polling. Everything the bot wrote is sent as plain text plus
Telegram's entities; the page renders it with ``textContent``, never as HTML.

Every bad request (bad JSON, missing or mistyped fields, an unknown person or message,
over-long text) gets a 400 with ``{"ok": false, "error": "..."}``, never a traceback.

Other web pages must not be able to act through the visitor's browser (the playground's
admin can grant roles), so, as a security reviewer would expect of a local web app:

- every request must name the playground's own address in ``Host`` (a loopback name, the
  address it listens on, or an IP address, with its port): another domain name means DNS
  rebinding, refused;
- every POST must be ``application/json`` (which a cross-site form or a "simple" fetch
  cannot send without CORS, which the playground never grants), come from the page's own
  ``Origin`` when the browser names one, not be marked cross-site by ``Sec-Fetch-Site``,
  and carry the per-run token the page holds (``X-Playground-Token``, from a ``<meta>`` of
  the page, which another origin cannot read). Refusals are 403 (415 for the type), and
  nothing reaches the bot.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.devtools.fake_telegram import FakeTelegram, Message
from bot.devtools.fake_telegram.markup import MAX_TEXT
from bot.devtools.playground.people import PEOPLE, Person, person_by_key

logger = logging.getLogger("skillsbot.playground")

DEFAULT_WAIT = 25.0  # seconds a long poll waits for a change
MAX_WAIT = 55.0
MAX_CALLBACK_DATA = 64  # bytes, as Telegram allows
MAX_BODY = 64 * 1024

# The page's files and how they are served.
STATIC_TYPES = {
    "index.html": "text/html",
    "style.css": "text/css",
    "chat.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
NOTICES_KEPT = 20  # the latest pop-up notices of a chat the page is given
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

FAKE_KEY = web.AppKey("fake", FakeTelegram)
STOPPING_KEY = web.AppKey("stopping", asyncio.Event)
TOKEN_KEY = web.AppKey("token", str)
ZONE_KEY = web.AppKey("zone", ZoneInfo)
HOSTS_KEY = web.AppKey("hosts", frozenset)

TOKEN_HEADER = "X-Playground-Token"
TOKEN_PLACEHOLDER = b"{{playground_token}}"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


class BadRequest(Exception):
    """A request the playground refuses with 400 and this message."""


def playground_app(
    fake: FakeTelegram,
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    zone: ZoneInfo,
) -> web.Application:
    """The aiohttp app serving the chat page and its API for the running ``fake``.

    ``host`` is the address it listens on (loopback names are always accepted in
    ``Host``); ``token`` the page's secret for this run (a fresh random one by default);
    ``zone`` the one messages' times are shown in (the settings' SKILLSBOT_TIMEZONE).
    """
    app = web.Application(middlewares=[_json_errors, _same_site_only], client_max_size=MAX_BODY)
    app[FAKE_KEY] = fake
    app[ZONE_KEY] = zone
    app[STOPPING_KEY] = asyncio.Event()
    app[TOKEN_KEY] = token or secrets.token_urlsafe(32)
    app[HOSTS_KEY] = frozenset({*LOOPBACK_NAMES, host.strip("[]").casefold()})
    for person in PEOPLE:
        fake.add_user(person.user_id, first_name=person.first_name)
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/favicon.ico", _favicon)  # browsers ask for it whatever the page says
    app.router.add_get("/api/users", _users)
    app.router.add_get("/api/chats/{user}", _chat)
    app.router.add_post("/api/chats/{user}/send", _send)
    app.router.add_post("/api/chats/{user}/press", _press)
    app.router.add_get("/api/files/{user}/{message_id}", _file)
    app.on_shutdown.append(_wake_long_polls)
    return app


# -- the page -----------------------------------------------------------------------------


async def _index(request: web.Request) -> web.Response:
    """The page, carrying this run's token for its script's requests."""
    page = _static_file("index.html")
    assert isinstance(page.body, bytes)
    page.body = page.body.replace(TOKEN_PLACEHOLDER, request.app[TOKEN_KEY].encode())
    page.headers["Cache-Control"] = "no-store"
    return page


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_TYPES or name == "index.html":
        raise web.HTTPNotFound()
    return _static_file(name)


async def _favicon(request: web.Request) -> web.Response:
    return _static_file("favicon.svg")


def _static_file(name: str) -> web.Response:
    body = resources.files("bot.devtools.playground").joinpath("static", name).read_bytes()
    return web.Response(
        body=body,
        content_type=STATIC_TYPES[name],
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


# -- the API ------------------------------------------------------------------------------


async def _users(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    return web.json_response(
        {
            "ok": True,
            "bot": {
                "name": fake.world.bot_user["first_name"],
                "username": fake.world.bot_user["username"],
            },
            "commands": _commands(fake, None),
            "users": [person.to_json() for person in PEOPLE],
            "max_text": MAX_TEXT,
        }
    )


async def _chat(request: web.Request) -> web.Response:
    """GET ?version=N[&timeout=S]: the chat now, or once its version differs from N."""
    fake = request.app[FAKE_KEY]
    person = _person(request)
    chat = fake.world.chat_for(person.user_id)
    raw_version = request.query.get("version")
    if raw_version is not None:
        version = _whole_number(raw_version, "version")
        wait = min(_seconds(request.query.get("timeout"), DEFAULT_WAIT), MAX_WAIT)
        deadline = asyncio.get_running_loop().time() + wait
        stopping = request.app[STOPPING_KEY]
        while chat.version == version and not stopping.is_set() and not fake.closing:
            remaining = deadline - asyncio.get_running_loop().time()
            if not await chat.pulse.wait(remaining):
                break
    return web.json_response(_transcript(fake, person, request.app[ZONE_KEY]))


async def _send(request: web.Request) -> web.Response:
    """POST {text}: the person sends a message to the bot."""
    fake = request.app[FAKE_KEY]
    person = _person(request)
    body = await _json_object(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise BadRequest("'text' must be a string")
    if not text.strip():
        raise BadRequest("Please type a message before sending.")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"That message is too long: Telegram allows {MAX_TEXT} characters.")
    try:
        update_id = await fake.send_text(person.user_id, text, first_name=person.first_name)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return web.json_response({"ok": True, "update_id": update_id})


async def _press(request: web.Request) -> web.Response:
    """POST {message_id, data}: the person presses an inline button."""
    fake = request.app[FAKE_KEY]
    person = _person(request)
    body = await _json_object(request)
    message_id, data = body.get("message_id"), body.get("data")
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise BadRequest("'message_id' must be an integer")
    if not isinstance(data, str) or not data:
        raise BadRequest("'data' must be a non-empty string")
    if len(data.encode()) > MAX_CALLBACK_DATA:
        raise BadRequest(f"'data' must be at most {MAX_CALLBACK_DATA} bytes")
    try:
        update_id = await fake.press(person.user_id, message_id, data)
    except LookupError:
        raise BadRequest(f"There is no bot message {message_id} in this chat.") from None
    return web.json_response({"ok": True, "update_id": update_id})


async def _file(request: web.Request) -> web.Response:
    """GET: the photo or document a message in the person's chat carries."""
    fake = request.app[FAKE_KEY]
    person = _person(request)
    message_id = _whole_number(request.match_info["message_id"], "message id")
    chat = fake.world.chats.get(person.user_id)
    message = chat.get(message_id) if chat else None
    if message is None or message.deleted or message.file_id is None:
        raise BadRequest(f"Message {message_id} in this chat carries no file.")
    stored = fake.world.files.get(message.file_id)
    if stored is None:
        raise BadRequest(f"Message {message_id} in this chat carries no file.")
    headers = {}
    if message.kind != "photo":
        name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return web.Response(
        body=stored.data,
        headers=headers,
        content_type=stored.mime_type or "application/octet-stream",
    )


# -- what the page gets ----------------------------------------------------------------------


def _transcript(fake: FakeTelegram, person: Person, zone: ZoneInfo) -> dict[str, Any]:
    chat = fake.world.chats.get(person.user_id)
    messages = [m for m in fake.chat(person.user_id) if not m.deleted]
    notices = chat.notices if chat else []
    first = len(notices) - min(len(notices), NOTICES_KEPT)
    return {
        "ok": True,
        "user": person.key,
        "version": chat.version if chat else 0,
        "messages": [_message_json(person, m, zone) for m in messages],
        "notices": [
            {"id": number, "text": notice.text or "", "alert": notice.show_alert}
            for number, notice in enumerate(notices[first:], start=first + 1)
        ],
        "commands": _commands(fake, person.user_id),
    }


def _message_json(person: Person, message: Message, zone: ZoneInfo) -> dict[str, Any]:
    file: dict[str, Any] | None = None
    if message.file_id is not None:
        file = {
            "url": f"/api/files/{person.key}/{message.message_id}",
            "name": message.document or f"{message.kind}",
            "image": message.kind == "photo",
        }
    return {
        "id": message.message_id,
        "from_bot": message.from_bot,
        "kind": message.kind,
        "text": message.text if message.text is not None else message.caption,
        "entities": list(message.entities),
        "buttons": [
            [_button_json(button) for button in row]
            for row in (message.reply_markup or {}).get("inline_keyboard") or []
        ],
        "keyboard": message.keyboard(),
        "edited": message.edited,
        "time": message.date.astimezone(zone).strftime("%H:%M"),
        "file": file,
    }


def _button_json(button: dict[str, Any]) -> dict[str, Any]:
    url = button.get("url")
    return {
        "text": str(button.get("text", "")),
        "data": button.get("callback_data"),
        "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
    }


def _commands(fake: FakeTelegram, user_id: int | None) -> list[dict[str, str]]:
    """The bot's command menu as Telegram shows it in ``user_id``'s private chat: the
    commands set for that chat if any, else for all private chats, else the default ones
    (each first in the user's language, English here, then for any language)."""
    scopes: list[dict[str, Any]] = [{"type": "all_private_chats"}, {"type": "default"}]
    if user_id is not None:
        scopes.insert(0, {"type": "chat", "chat_id": user_id})
    stored = fake.world.commands
    chosen = next(
        (
            commands
            for scope in scopes
            for language in ("en", "")
            for (key, language_code), commands in stored.items()
            if language_code == language and _same_scope(key, scope)
        ),
        [],
    )
    return [
        {"command": str(c.get("command", "")), "description": str(c.get("description", ""))}
        for c in chosen
    ]


def _same_scope(key: str, scope: dict[str, Any]) -> bool:
    """Whether the fake's stored scope (JSON text) is ``scope``; a chat id may be a string."""
    try:
        stored = json.loads(key)
    except ValueError:
        return False
    if not isinstance(stored, dict) or stored.get("type") != scope["type"]:
        return False
    return scope["type"] != "chat" or str(stored.get("chat_id")) == str(scope["chat_id"])


# -- checking requests --------------------------------------------------------------------


def _person(request: web.Request) -> Person:
    key = request.match_info["user"]
    person = person_by_key(key)
    if person is None:
        known = ", ".join(p.key for p in PEOPLE)
        raise BadRequest(f"There is no playground user {key[:40]!r}; try one of: {known}.")
    return person


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("The request body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _whole_number(raw: str, what: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise BadRequest(f"The {what} must be a whole number.")
    return int(raw)


def _seconds(raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest("The timeout must be a number of seconds.") from None
    if not 0 <= value < float("inf"):
        raise BadRequest("The timeout must be a number of seconds.")
    return value


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(web.HTTPForbidden):
    """A request that did not come from the playground's own page."""


@web.middleware
async def _same_site_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse requests another site (or a rebound DNS name) could make through a browser."""
    if not _host_is_ours(request):
        raise Refused(reason="This playground answers only at its own address.")
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in {"same-origin", "none"}:
            raise Refused(reason="Requests from other sites are refused.")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise Refused(reason="Requests from other sites are refused.")
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(reason="The request body must be JSON.")
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), request.app[TOKEN_KEY].encode()):
            raise Refused(reason="This request does not carry the page's token; reload the page.")
    return await handler(request)


def _host_is_ours(request: web.Request) -> bool:
    """The Host header names an address we accept, with the port we listen on."""
    host = request.host.casefold()
    if host.startswith("["):  # [::1]:8080
        name, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        name, _, port = host.partition(":")
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    listening = str(sockname[1]) if sockname else ""
    return (name in request.app[HOSTS_KEY] or _is_ip_address(name)) and (port or "80") == listening


def _is_ip_address(name: str) -> bool:
    """An address typed as such (listening on 0.0.0.0, the page is reached by one): DNS
    rebinding needs a domain name, so an IP address in Host is safe."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer API errors as JSON; never show a traceback; add the security headers."""
    try:
        response = await handler(request)
    except BadRequest as error:
        response = web.json_response({"ok": False, "error": str(error)}, status=400)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            if isinstance(error, Refused):
                error.headers.update(SECURITY_HEADERS)
            raise
        response = web.json_response({"ok": False, "error": error.reason}, status=error.status)
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as error:
        # Only the type: an error's message may quote personal data (values, rows).
        logger.error(
            "event=playground_request_failed path=%s error=%s", request.path, type(error).__name__
        )
        logger.debug("playground_request_failed", exc_info=True)
        response = web.json_response(
            {"ok": False, "error": "Something went wrong in the playground."}, status=500
        )
    response.headers.update(SECURITY_HEADERS)
    return response


async def _wake_long_polls(app: web.Application) -> None:
    app[STOPPING_KEY].set()
    for chat in app[FAKE_KEY].world.chats.values():
        chat.pulse.fire()
