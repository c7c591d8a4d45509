"""The fake Telegram's in-memory world: users, their private chats, messages, files, updates.

Everything here is synchronous bookkeeping plus asyncio signals that wake waiters; the Bot
API semantics live in ``api.py`` and the HTTP layer in ``server.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]


class Pulse:
    """A broadcast signal: every waiter wakes on the next ``fire()``; nothing is lost in between.

    A waiter checks its condition and then calls ``wait()`` without awaiting anything in
    between, so a change can never slip past it unnoticed.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next fire."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """Wait for the next fire; False when ``seconds`` pass first."""
        event = self._event
        if seconds <= 0:
            return False
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            return False
        return True


@dataclass(frozen=True)
class Message:
    """One message of a private chat as it stands now (a snapshot; edits make a new one)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: datetime
    kind: str = "text"  # text, photo, document, sticker, voice
    text: str | None = None
    caption: str | None = None
    reply_markup: JsonDict | None = None
    edited: bool = False
    deleted: bool = False
    photo: str | None = None  # file name of a photo, when the message carries one
    document: str | None = None  # file name of a document, when the message carries one
    file_id: str | None = None
    parse_mode: str | None = None
    entities: tuple[JsonDict, ...] = field(default=(), compare=False, repr=False)
    edit_date: datetime | None = field(default=None, compare=False, repr=False)
    media: JsonDict = field(default_factory=dict, compare=False, repr=False)

    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of (text, callback_data); [] without one."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]

    def button(self, text: str) -> str:
        """The callback data of the inline button labelled ``text``.

        An exact label wins; otherwise a single label containing ``text`` (ignoring case).
        Raises ``LookupError`` naming the buttons there are.
        """
        flat = [b for row in self.buttons() for b in row]
        exact = [data for label, data in flat if label == text]
        folded = text.casefold()
        partial = [data for label, data in flat if folded in label.casefold()]
        found = exact or (partial if len(partial) == 1 else [])
        if not found or found[0] is None:
            labels = ", ".join(repr(label) for label, _ in flat) or "none"
            raise LookupError(
                f"no callback button {text!r} on message {self.message_id}; buttons: {labels}"
            )
        return found[0]

    def keyboard(self) -> list[list[str]]:
        """The reply keyboard (the one under the input field) as rows of labels."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]

    def describe(self) -> str:
        """One readable line, for transcripts in failure messages."""
        who = "bot" if self.from_bot else "user"
        flags = "".join([" (edited)" if self.edited else "", " (deleted)" if self.deleted else ""])
        body = self.text if self.text is not None else f"<{self.kind}>"
        if self.caption:
            body += f" caption={self.caption!r}"
        if self.document:
            body += f" file={self.document!r}"
        labels = " | ".join(label for row in self.buttons() for label, _ in row)
        if labels:
            body += f" [{labels}]"
        return f"#{self.message_id} {who}{flags}: {body}"

    def to_json(self, *, sender: JsonDict, chat: JsonDict) -> JsonDict:
        """The message as the Bot API shows it."""
        data: JsonDict = {
            "message_id": self.message_id,
            "from": sender,
            "chat": chat,
            "date": int(self.date.timestamp()),
        }
        if self.edit_date is not None:
            data["edit_date"] = int(self.edit_date.timestamp())
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = list(self.entities)
        data.update(self.media)
        if self.caption is not None:
            data["caption"] = self.caption
            if self.entities:
                data["caption_entities"] = list(self.entities)
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data


@dataclass(frozen=True)
class RequestRecord:
    """One Bot API call: arrival time (``time.monotonic()``), method, chat, HTTP status, and
    the caller's User-Agent."""

    time: float
    method: str
    chat_id: int | None
    status: int
    description: str | None = None
    client: str = ""  # the User-Agent: which library made the call

    @property
    def ok(self) -> bool:
        """True when Telegram would have accepted the call."""
        return self.status == 200


@dataclass(frozen=True)
class CallbackAnswer:
    """One answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None = None
    user_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class StoredFile:
    """A file the fake holds, uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class User:
    """A Telegram user; their private chat with the bot has the same id."""

    user_id: int
    first_name: str = "Test"
    username: str | None = None
    language_code: str = "en"

    def to_json(self) -> JsonDict:
        """The ``User`` object."""
        data: JsonDict = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            data["username"] = self.username
        return data

    def chat_json(self) -> JsonDict:
        """The private ``Chat`` object."""
        data: JsonDict = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


class ChatLog:
    """A private chat: its messages in order (edits replace, deletions flag), the pop-up
    notices the bot showed its user (answerCallbackQuery with a text), and a version."""

    def __init__(self, user: User, *, first_message_id: int = 1) -> None:
        self.user = user
        self._messages: list[Message] = []
        self._positions: dict[int, int] = {}
        self._first_id = first_message_id
        self.notices: list[CallbackAnswer] = []
        self.version = 0
        self.pulse = Pulse()

    def next_message_id(self) -> int:
        """The id the next message in this chat gets (ids are per chat, as in private chats)."""
        return self._first_id + len(self._messages)

    def new_message(self, *, from_bot: bool, **fields: Any) -> Message:
        """The next message of this chat, dated now (not yet added: `add` it)."""
        return Message(
            message_id=self.next_message_id(),
            chat_id=self.user.user_id,
            from_bot=from_bot,
            date=utc_now(),
            **fields,
        )

    def continue_after(self, message_id: int) -> None:
        """Number the next messages after ``message_id`` (ids never go down)."""
        self._first_id = max(self._first_id, message_id + 1 - len(self._messages))

    def notice(self, answer: CallbackAnswer) -> None:
        """Show the user a pop-up notice (a toast, or an alert with ``show_alert``)."""
        self.notices.append(answer)
        self._changed()

    def add(self, message: Message) -> Message:
        """Append a message; its id must be ``next_message_id()``."""
        self._positions[message.message_id] = len(self._messages)
        self._messages.append(message)
        self._changed()
        return message

    def get(self, message_id: int) -> Message | None:
        """The current version of a message, deleted ones included."""
        position = self._positions.get(message_id)
        return None if position is None else self._messages[position]

    def put(self, message: Message) -> None:
        """Replace a message by its new version (after an edit or deletion)."""
        self._messages[self._positions[message.message_id]] = message
        self._changed()

    def __iter__(self) -> Iterator[Message]:
        return iter(list(self._messages))

    def _changed(self) -> None:
        self.version += 1
        self.pulse.fire()


class UpdateQueue:
    """Updates waiting for the bot, with Telegram's offset confirmation."""

    def __init__(self, first_update_id: int = 100_000_001) -> None:
        self._next_id = first_update_id
        self._pending: deque[tuple[int, str, JsonDict]] = deque()
        self.history: dict[int, JsonDict] = {}
        self.acknowledged_offset = 0
        self.allowed_updates: frozenset[str] = frozenset()
        self.pulse = Pulse()

    def push(self, kind: str, payload: JsonDict) -> int:
        """Queue an update of ``kind`` (e.g. "message") and return its update_id."""
        update_id = self._next_id
        self._next_id += 1
        update = {"update_id": update_id, kind: payload}
        self._pending.append((update_id, kind, update))
        self.history[update_id] = update
        self.pulse.fire()
        return update_id

    def continue_after(self, update_id: int) -> None:
        """Number the next updates after ``update_id``, as Telegram keeps counting across a
        bot's restarts: a bot that remembers the ids it handled (ours does, in its database)
        would take a fresh fake's repeated numbers for duplicates and ignore them."""
        self._next_id = max(self._next_id, update_id + 1)

    def confirm(self, offset: int) -> None:
        """Apply getUpdates' ``offset``: drop earlier updates (negative: keep the last -offset)."""
        if offset > 0:
            while self._pending and self._pending[0][0] < offset:
                self._pending.popleft()
            self.acknowledged_offset = max(self.acknowledged_offset, offset)
        elif offset < 0:
            while len(self._pending) > -offset:
                dropped = self._pending.popleft()
                self.acknowledged_offset = max(self.acknowledged_offset, dropped[0] + 1)

    def redeliver(self, update_id: int) -> None:
        """Queue an earlier update again under its original id, as Telegram does when the
        bot never confirmed it (e.g. it crashed first); the confirmed offset drops below it."""
        update = self.history[update_id]
        if all(item[0] != update_id for item in self._pending):
            kind = next(key for key in update if key != "update_id")
            self._pending.append((update_id, kind, update))
            self._pending = deque(sorted(self._pending, key=lambda item: item[0]))
        self.acknowledged_offset = min(self.acknowledged_offset, update_id)
        self.pulse.fire()

    def discard(self, update_id: int) -> None:
        """Drop one update a webhook took (a webhook confirms updates one by one, in any
        order); the confirmed offset moves up to the oldest update still pending."""
        self._pending = deque(item for item in self._pending if item[0] != update_id)
        oldest = self._pending[0][0] if self._pending else self._next_id
        self.acknowledged_offset = max(self.acknowledged_offset, oldest)

    def drop_pending(self) -> None:
        """Drop every pending update (setWebhook's and deleteWebhook's drop_pending_updates)."""
        self._pending.clear()
        self.acknowledged_offset = max(self.acknowledged_offset, self._next_id)

    def take(self, limit: int) -> list[JsonDict]:
        """Up to ``limit`` pending updates of the allowed types (others are dropped)."""
        result: list[JsonDict] = []
        kept: deque[tuple[int, str, JsonDict]] = deque()
        for item in self._pending:
            if self.allowed_updates and item[1] not in self.allowed_updates:
                continue
            kept.append(item)
            if len(result) < limit:
                result.append(item[2])
        self._pending = kept
        return result

    def __len__(self) -> int:
        return len(self._pending)


def utc_now() -> datetime:
    """Now, in UTC, to the second (Telegram dates are whole seconds)."""
    return datetime.now(UTC).replace(microsecond=0)


class TokenBucket:
    """Flood control for one key: ``rate`` sends a second, bursts up to max(1, rate)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now


class FloodControl:
    """Telegram-like 429s: an overall rate and a per-chat rate, either optional."""

    def __init__(self, overall: float | None, per_chat: float | None, retry_after: int) -> None:
        self.overall = TokenBucket(overall) if overall else None
        self.per_chat_rate = per_chat
        self.retry_after = retry_after
        self._chats: dict[int, TokenBucket] = {}

    def admit(self, chat_id: int | None) -> bool:
        """Take a token for one send to ``chat_id``; False when either limit is exceeded."""
        now = time.monotonic()
        buckets = [self.overall] if self.overall else []
        if self.per_chat_rate and chat_id is not None:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                bucket = self._chats[chat_id] = TokenBucket(self.per_chat_rate)
            buckets.append(bucket)
        for bucket in buckets:
            bucket.refill(now)
        if any(bucket.tokens < 1 for bucket in buckets):
            return False
        for bucket in buckets:
            bucket.tokens -= 1
        return True


@dataclass(frozen=True)
class InjectedFailure:
    """A planned error for the next calls of one method (see ``FakeTelegram.fail_next``)."""

    error_code: int
    description: str
    retry_after: int | None
    page: str | None = None  # an HTML page answered instead of Telegram's JSON


class World:
    """Everything the fake Telegram knows: users, chats, files, updates, calls and faults."""

    def __init__(self, *, bot_id: int, bot_username: str, bot_first_name: str) -> None:
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.chats: dict[int, ChatLog] = {}
        self.files: dict[str, StoredFile] = {}
        self.updates = UpdateQueue()
        self.open_callbacks: dict[str, tuple[int, int]] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.requests: list[RequestRecord] = []
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.blocked: set[int] = set()
        self.failures: dict[str, deque[InjectedFailure]] = {}
        self.delays: dict[str, deque[float]] = {}  # seconds on the way, per call
        self.flood: FloodControl | None = None
        self.pulse = Pulse()  # fires on any change, for wait_until
        self._serial = 0
        self._first_message_id = 1

    def continue_after(self, *, update_id: int, message_id: int) -> None:
        """Number the next updates after ``update_id`` and every chat's next messages after
        ``message_id``, as Telegram keeps counting across a bot's restarts. A bot that
        remembers ids (ours does, in its database: the updates it handled, the message
        showing a question) would take a fresh fake's repeated numbers for old ones: a
        "duplicate" update, a press on an "old" question."""
        self.updates.continue_after(update_id)
        self._first_message_id = max(self._first_message_id, message_id + 1)
        for chat in self.chats.values():
            chat.continue_after(message_id)

    def serial(self) -> int:
        """A fresh number for ids (files, callback queries)."""
        self._serial += 1
        return self._serial

    def chat_for(
        self, user_id: int, *, first_name: str | None = None, username: str | None = None
    ) -> ChatLog:
        """The private chat with ``user_id``, created on first use; updates the user's names."""
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = ChatLog(
                User(user_id, first_name or "Test", username),
                first_message_id=self._first_message_id,
            )
        else:
            if first_name is not None:
                chat.user.first_name = first_name
            if username is not None:
                chat.user.username = username
        return chat

    def message_json(self, message: Message) -> JsonDict:
        """A message in Bot API shape, with its sender and chat."""
        chat = self.chats[message.chat_id]
        sender = self.bot_user if message.from_bot else chat.user.to_json()
        return message.to_json(sender=sender, chat=chat.user.chat_json())

    def store_file(
        self,
        data: bytes,
        *,
        folder: str,
        file_name: str | None,
        mime_type: str | None,
        extension: str,
    ) -> StoredFile:
        """Keep a file and give it a file_id and a download path."""
        number = self.serial()
        stored = StoredFile(
            file_id=f"FAKE-{folder}-{number:06d}",
            file_unique_id=f"U{number:06d}",
            data=data,
            file_path=f"{folder}/file_{number}.{extension}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def record(self, record: RequestRecord) -> None:
        """Note one Bot API call."""
        self.requests.append(record)
        self.changed()

    def changed(self) -> None:
        """Wake whoever waits for any change."""
        self.pulse.fire()
