"""An update as the core reads it: the plain fields of Telegram's JSON, and the one builder
that turns them into the core's values.

`read_update` copies the fields the core reads straight out of an update's JSON (the
message, the button press, the bot's new member status in a chat; a document's name and
size), as Telegram sent it and the inbox keeps it: neither library parses an update
(aiogram's and python-telegram-bot's objects carry the Bot API's own field names, so there
was nothing for either to add, and parsing a pressed message's keyboard cost more than the
rest). The one thing a library does is download a document: each transport passes its
`Download` (`bot.transports.aiogram.transport`, `bot.transports.ptb.transport`).
`Update.incoming` and `Update.filed` then make the `bot.core.desk` value (`Said`,
`Pressed`, `Blocked`) and the `bot.core.interview_files.Filed` that
`bot.core.reception.Reception` takes: who sent it, which chat it belongs to, what a missing
sender means and what a member status says are decided here, once for both libraries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.core.desk import Blocked, Incoming, Pressed, Said
from bot.core.interview_files import Filed
from bot.core.messages import Who

RawUpdate = dict[str, Any]  # an update's JSON, as Telegram sent it and the inbox keeps it
Download = Callable[[str], Awaitable[bytes]]  # a file's bytes, by its file id (the library's)


@dataclass(frozen=True, slots=True)
class Sender:
    """The person an update is from (Telegram's `from`)."""

    user_id: int
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent as a document: its name and size as Telegram gave them, and how the
    library downloads it (called only once the core has accepted name and size)."""

    file_name: str | None
    file_size: int | None
    download: Callable[[], Awaitable[bytes]] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Message:
    """A message: its chat, sender (None: a channel's post, say), text and what it
    carries (the largest photo size's file id, a caption, a document)."""

    chat_id: int
    chat_type: str
    sender: Sender | None
    text: str | None = None
    caption: str | None = None
    photo_id: str | None = None
    document: Document | None = None


@dataclass(frozen=True, slots=True)
class Press:
    """An inline button pressed: the callback query's id, data and sender, and the chat and
    id of the message it was under (None: Telegram sent no message)."""

    callback_id: str
    sender: Sender | None
    data: str | None
    chat_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """The bot's own member status in a chat, changed (Telegram's `my_chat_member`)."""

    chat_id: int
    status: str  # the new one: "kicked" when the person blocked the bot


@dataclass(frozen=True, slots=True)
class Update:
    """The fields of one update the core reads; at most one of `message`, `press` and
    `member` is set."""

    update_id: int
    message: Message | None = None
    press: Press | None = None
    member: MemberStatus | None = None

    def incoming(self) -> Incoming | None:
        """The core's value for the update (None: nothing the core handles)."""
        if self.message is not None:
            message = self.message
            if message.sender is None:
                return None
            who = self._who(message.sender, message.chat_id)
            private = message.chat_type == "private"
            return Said(
                who, message.text, private, photo_id=message.photo_id, caption=message.caption
            )
        if self.press is not None:
            press = self.press
            if press.sender is None:
                return None
            chat_id = press.chat_id if press.chat_id is not None else press.sender.user_id
            who = self._who(press.sender, chat_id)
            return Pressed(who, press.data, press.message_id or 0, press.callback_id)
        if self.member is not None and self.member.status == "kicked":
            return Blocked(self.member.chat_id, self.update_id)
        return None

    def filed(self) -> Filed | None:
        """A document sent in a private chat, as the core's `Filed` (else None)."""
        message = self.message
        if (
            message is None
            or message.document is None
            or message.chat_type != "private"
            or message.sender is None
        ):
            return None
        document = message.document
        who = self._who(message.sender, message.chat_id)
        return Filed(who, document.file_name, document.file_size, document.download)

    def _who(self, sender: Sender, chat_id: int) -> Who:
        return Who(self.update_id, sender.user_id, chat_id, sender.language_code)


def read_update(raw: RawUpdate, download: Download) -> Update:
    """The fields of an update's JSON the core reads; `download` fetches a document's bytes
    by its file id, once the core has accepted its name and size. A field Telegram always
    sends (an id, a chat) missing raises, as a library's parsing did: the update fails."""
    message = raw.get("message")
    query = raw.get("callback_query")
    member = raw.get("my_chat_member")
    return Update(
        int(raw["update_id"]),
        message=None if message is None else _message(message, download),
        press=None if query is None else _press(query),
        member=None
        if member is None
        else MemberStatus(int(member["chat"]["id"]), str(member["new_chat_member"]["status"])),
    )


def _sender(user: Mapping[str, Any] | None) -> Sender | None:
    return None if user is None else Sender(int(user["id"]), user.get("language_code"))


def _message(message: Mapping[str, Any], download: Download) -> Message:
    chat = message["chat"]
    photo = message.get("photo")
    document = message.get("document")
    return Message(
        int(chat["id"]),
        str(chat["type"]),
        _sender(message.get("from")),
        text=message.get("text"),
        caption=message.get("caption"),
        photo_id=str(photo[-1]["file_id"]) if photo else None,  # the largest size
        document=None
        if document is None
        else Document(
            document.get("file_name"),
            document.get("file_size"),
            partial(download, str(document["file_id"])),
        ),
    )


def _press(query: Mapping[str, Any]) -> Press:
    shown = query.get("message")  # its keyboard is never read
    return Press(
        str(query["id"]),
        _sender(query.get("from")),
        query.get("data"),
        chat_id=int(shown["chat"]["id"]) if shown is not None else None,
        message_id=int(shown["message_id"]) if shown is not None else None,
    )
