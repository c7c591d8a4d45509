"""The Bot API methods the fake serves, with Telegram's checks and answers."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.devtools.fake_telegram.errors import (
    DROPPED,
    ApiError,
    DroppedConnection,
    bad_request,
    too_many_requests,
)
from bot.devtools.fake_telegram.markup import (
    MAX_CAPTION,
    MAX_TEXT,
    check_reply_markup,
    format_text,
    utf16_len,
)
from bot.devtools.fake_telegram.state import (
    CallbackAnswer,
    ChatLog,
    JsonDict,
    Message,
    StoredFile,
    World,
    utc_now,
)
from bot.devtools.fake_telegram.webhook import Webhook

MAX_UPLOAD = 50 * 1024 * 1024
MAX_CALLBACK_TEXT = 200  # answerCallbackQuery's text, in UTF-16 code units as Telegram counts
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """The arguments of one call, from a JSON body, a form or the query string."""

    def __init__(self, values: Mapping[str, Any], files: Mapping[str, Upload] | None = None):
        self.values = dict(values)
        self.files = dict(files or {})

    def text(self, name: str) -> str | None:
        """A string argument (numbers are accepted as their text)."""
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def integer(self, name: str) -> int | None:
        """An integer argument."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Integer')

    def boolean(self, name: str) -> bool:
        """A boolean argument; absent means False."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1"}
        return bool(value)

    def json(self, name: str) -> Any:
        """A JSON-object argument; forms carry these as JSON text."""
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_id(self) -> int:
        """The chat_id argument; only private chats (positive ids) exist here."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = self.integer("chat_id")
        except ApiError:
            raise bad_request("chat not found") from None
        if chat_id is None or chat_id <= 0:
            raise bad_request("chat not found")
        return chat_id

    def chat_id_or_none(self) -> int | None:
        """The chat_id if there is a usable one, for records."""
        try:
            return self.chat_id()
        except ApiError:
            return None


Handler = Callable[[Params], Awaitable[Any]]


def sends_to_chat(method: str) -> bool:
    """Whether a method posts into a chat (blocked users refuse these; flood control counts)."""
    return method.startswith(("send", "edit")) or method in {"copymessage", "forwardmessage"}


class BotApi:
    """Answers Bot API calls against a ``World``; raises ``ApiError`` as Telegram would."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.closing = False
        self.polls_started = 0  # getUpdates calls so far; a newer one supersedes older ones
        self.webhook = Webhook(world)
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.webhook.set_webhook,
            "deleteWebhook": self.webhook.delete_webhook,
            "getWebhookInfo": self.webhook.get_webhook_info,
            "logOut": self.accept,
            "close": self.accept,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": self.accept,
            "setMyShortDescription": self.accept,
            "setMyName": self.accept,
            "setChatMenuButton": self.accept,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageCaption": self.edit_message_caption,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "sendChatAction": self.send_chat_action,
            "getChat": self.get_chat,
            "getFile": self.get_file,
        }
        self._handlers = {name.lower(): handler for name, handler in handlers.items()}
        self._names = {name.lower(): name for name in handlers}

    def method_name(self, method: str) -> str:
        """The canonical spelling of a method (Telegram's names are case-insensitive)."""
        return self._names.get(method.lower(), method)

    async def call(self, method: str, params: Params) -> Any:
        """Run one method: injected faults, blocked users and flood control come first."""
        key = method.lower()
        handler = self._handlers.get(key)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        planned = self.world.failures.get(key)
        if planned:
            failure = planned.popleft()
            if not planned:
                del self.world.failures[key]
            if failure.error_code == DROPPED:
                raise DroppedConnection(method)
            raise ApiError(
                failure.error_code,
                failure.description,
                retry_after=failure.retry_after,
                page=failure.page,
            )
        if sends_to_chat(key):
            chat_id = params.chat_id_or_none()
            if chat_id in self.world.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            flood = self.world.flood
            if flood is not None and key != "sendchataction" and not flood.admit(chat_id):
                raise too_many_requests(flood.retry_after)
        return await handler(params)

    # -- the bot itself -------------------------------------------------------------------

    async def accept(self, params: Params) -> bool:
        """Methods whose only effect here is saying yes."""
        return True

    async def get_me(self, params: Params) -> JsonDict:
        """getMe."""
        return self.world.bot_user

    async def get_updates(self, params: Params) -> list[JsonDict]:
        """getUpdates with offset confirmation, long polling and 409 for a superseded poll
        (or while a webhook is set)."""
        self.webhook.refuse_polling()
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.integer("timeout") or 0, 0)
        allowed = params.json("allowed_updates")
        queue = self.world.updates
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("can't parse allowed updates")
            queue.allowed_updates = frozenset(allowed)
        self.polls_started += 1
        mine = self.polls_started
        queue.pulse.fire()  # an older poll still waiting wakes up and answers 409
        queue.confirm(offset)
        self.world.changed()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if mine != self.polls_started:
                raise ApiError(409, CONFLICT)
            self.webhook.refuse_polling()
            found = queue.take(limit)
            remaining = deadline - loop.time()
            if found or remaining <= 0 or self.closing:
                return found
            await queue.pulse.wait(remaining)

    async def set_my_commands(self, params: Params) -> bool:
        """setMyCommands, per scope and language."""
        commands = params.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= utf16_len(description) <= 256:
                raise bad_request(
                    "command description is empty"
                    if not description
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
        self.world.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def get_my_commands(self, params: Params) -> list[JsonDict]:
        """getMyCommands."""
        return list(self.world.commands.get(self._commands_key(params), []))

    async def delete_my_commands(self, params: Params) -> bool:
        """deleteMyCommands."""
        self.world.commands.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: Params) -> tuple[str, str]:
        scope = params.json("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.text("language_code") or ""

    # -- sending ----------------------------------------------------------------------------

    def _chat(self, params: Params) -> ChatLog:
        return self.world.chat_for(params.chat_id())

    def _markup(self, params: Params, *, inline_only: bool = False) -> JsonDict | None:
        raw = params.json("reply_markup")
        if raw is None:
            return None
        markup = check_reply_markup(raw)
        if inline_only and "inline_keyboard" not in markup:
            raise bad_request("can't parse inline keyboard markup JSON object")
        return markup

    def _formatted(self, params: Params, field: str) -> tuple[str, tuple[JsonDict, ...]]:
        text, entities = format_text(params.text(field) or "", params.text("parse_mode"))
        explicit = params.json("caption_entities" if field == "caption" else "entities")
        if isinstance(explicit, list) and not entities:
            entities = [e for e in explicit if isinstance(e, dict)]
        return text, tuple(entities)

    def _post(self, chat: ChatLog, message: Message) -> JsonDict:
        chat.add(message)
        self.world.changed()
        return self.world.message_json(message)

    def _post_new(
        self, chat: ChatLog, params: Params, markup: JsonDict | None, **fields: Any
    ) -> JsonDict:
        """Post a new message of the bot's in `chat`, with the call's `markup` (checked
        first) and parse mode; `fields` the rest (text or caption, entities, media)."""
        message = chat.new_message(
            from_bot=True,
            reply_markup=markup,
            parse_mode=params.text("parse_mode"),
            **fields,
        )
        return self._post(chat, message)

    async def send_message(self, params: Params) -> JsonDict:
        """sendMessage."""
        chat = self._chat(params)
        text, entities = self._formatted(params, "text")
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = self._markup(params)
        return self._post_new(chat, params, markup, text=text, entities=entities)

    async def send_photo(self, params: Params) -> JsonDict:
        """sendPhoto: an upload must be an image Telegram can process."""
        chat = self._chat(params)
        caption, entities = self._caption(params)
        markup = self._markup(params)
        stored = self._file(params, "photo", folder="photos", default_name="photo.jpg")
        if not stored.data.startswith(_IMAGE_MAGIC) and not _is_webp(stored.data):
            raise bad_request("IMAGE_PROCESS_FAILED")
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": 800,
            "height": 600,
        }
        return self._post_new(
            chat,
            params,
            markup,
            kind="photo",
            caption=caption,
            entities=entities,
            photo=stored.file_name,
            file_id=stored.file_id,
            media={"photo": [size]},
        )

    async def send_document(self, params: Params) -> JsonDict:
        """sendDocument."""
        chat = self._chat(params)
        caption, entities = self._caption(params)
        markup = self._markup(params)
        stored = self._file(params, "document", folder="documents", default_name="document")
        document: JsonDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return self._post_new(
            chat,
            params,
            markup,
            kind="document",
            caption=caption,
            entities=entities,
            document=stored.file_name,
            file_id=stored.file_id,
            media={"document": document},
        )

    def _caption(self, params: Params) -> tuple[str | None, tuple[JsonDict, ...]]:
        if params.text("caption") is None:
            return None, ()
        caption, entities = self._formatted(params, "caption")
        if utf16_len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return caption, entities

    def _file(self, params: Params, field: str, *, folder: str, default_name: str) -> StoredFile:
        raw = params.values.get(field)
        upload = params.files.get(field)
        if upload is None and isinstance(raw, str) and raw.startswith("attach://"):
            upload = params.files.get(raw.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"there is no {field} in the request")
        if upload is not None:
            if len(upload.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            if not upload.data:
                raise bad_request("file must be non-empty")
            name = upload.filename or default_name
            mime = mimetypes.guess_type(name)[0] or upload.content_type
            extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
            return self.world.store_file(
                upload.data, folder=folder, file_name=name, mime_type=mime, extension=extension
            )
        if not raw:
            raise bad_request(f"there is no {field} in the request")
        if isinstance(raw, str) and raw in self.world.files:
            return self.world.files[raw]
        if isinstance(raw, str) and raw.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def send_chat_action(self, params: Params) -> bool:
        """sendChatAction ("typing" and friends)."""
        chat = self._chat(params)
        action = params.text("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.world.chat_actions.append((chat.user.user_id, action))
        return True

    # -- editing ----------------------------------------------------------------------------

    def _own_message(self, params: Params, *, verb: str = "edit") -> tuple[ChatLog, Message]:
        if params.values.get("inline_message_id"):
            raise bad_request(f"message to {verb} not found")
        chat_id = params.chat_id()
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        chat = self.world.chats.get(chat_id)
        message = chat.get(message_id) if chat else None
        if chat is None or message is None or message.deleted:
            raise bad_request(f"message to {verb} not found")
        if verb == "edit" and not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _save_edit(self, chat: ChatLog, old: Message, new: Message) -> JsonDict:
        if (new.text, new.caption, new.entities, _inline(new.reply_markup)) == (
            old.text,
            old.caption,
            old.entities,
            _inline(old.reply_markup),
        ):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        edited = replace(new, edited=True, edit_date=utc_now())
        chat.put(edited)
        self.world.changed()
        return self.world.message_json(edited)

    async def edit_message_text(self, params: Params) -> JsonDict:
        """editMessageText; leaving out reply_markup removes the inline keyboard, as on Telegram."""
        chat, old = self._own_message(params)
        if old.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(params, "text")
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = self._markup(params, inline_only=True)
        return self._save_edit(
            chat,
            old,
            replace(
                old,
                text=text,
                entities=entities,
                reply_markup=markup,
                parse_mode=params.text("parse_mode"),
            ),
        )

    async def edit_message_caption(self, params: Params) -> JsonDict:
        """editMessageCaption."""
        chat, old = self._own_message(params)
        if old.kind not in {"photo", "document"}:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._caption(params)
        markup = self._markup(params, inline_only=True)
        return self._save_edit(
            chat, old, replace(old, caption=caption or None, entities=entities, reply_markup=markup)
        )

    async def edit_message_reply_markup(self, params: Params) -> JsonDict:
        """editMessageReplyMarkup; no reply_markup removes the inline keyboard."""
        chat, old = self._own_message(params)
        markup = self._markup(params, inline_only=True)
        return self._save_edit(chat, old, replace(old, reply_markup=markup))

    async def delete_message(self, params: Params) -> bool:
        """deleteMessage (the bot may delete both sides' messages in a private chat)."""
        chat, old = self._own_message(params, verb="delete")
        chat.put(replace(old, deleted=True))
        self.world.changed()
        return True

    # -- callbacks, chats, files ------------------------------------------------------------

    async def answer_callback_query(self, params: Params) -> bool:
        """answerCallbackQuery: each query can be answered once."""
        query_id = params.text("callback_query_id")
        text = params.text("text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")  # the query stays open, as on Telegram
        origin = self.world.open_callbacks.pop(query_id or "", None)
        if origin is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        answer = CallbackAnswer(
            callback_query_id=query_id or "",
            text=text,
            show_alert=params.boolean("show_alert"),
            url=params.text("url"),
            user_id=origin[0],
            message_id=origin[1],
        )
        self.world.callback_answers.append(answer)
        chat = self.world.chats.get(origin[0])
        if chat is not None and text:  # a notice the user sees; no text only stops the spinner
            chat.notice(answer)
        self.world.changed()
        return True

    async def get_chat(self, params: Params) -> JsonDict:
        """getChat for a private chat the fake knows."""
        chat = self.world.chats.get(params.chat_id())
        if chat is None:
            raise bad_request("chat not found")
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **chat.user.chat_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    async def get_file(self, params: Params) -> JsonDict:
        """getFile: where to download a file."""
        stored = self.world.files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }


def _inline(markup: JsonDict | None) -> JsonDict | None:
    return markup if markup is not None and "inline_keyboard" in markup else None


def _is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
