"""/broadcast for staff: write the message, pick the audience, see a preview, then confirm,
schedule or cancel. Telegram-free: `bot.core.staff.StaffDesk` runs each step in the
update's unit of work.

The draft is a row of `broadcast_draft` (`storage.broadcasts.draft_of`), one per chat,
holding the step waiting for an answer and what is chosen so far: either library, any
process and a restarted bot carry on the same draft. A confirmed broadcast is stored, and
the draft dropped, in one transaction. Only admins and staff draft: for anyone else
`/broadcast` falls through to the unknown-command answer, and a stray "bc:" button to the
employer's stale-button answer. Which update a draft takes mirrors the order the bot
always had: a staff command (/list, /start...) and an interview file come first, then the
draft, then /weekly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.limits import telegram_length
from bot.core.messages import Button, Keyboard, Outgoing, StaffReply, Stored, plain
from storage import Session, utcnow
from storage.audience import describe_left_out
from storage.broadcasts import (
    audience_report,
    create_broadcast,
    describe_segment,
    draft_of,
    drop_draft,
    save_draft,
    segment_values,
)

FIELDS = {
    "status": "status",
    "sector": "sector",
    "district": "district",
    "size": "size band",
    "round": "round",
}
MAX_TEXT = 4096
MAX_CAPTION = 1024
ASK_MESSAGE = (
    "Send the message to broadcast: text, or a photo or document with a caption.\n"
    "/cancel stops without sending anything."
)
CANCELLED = "Broadcast cancelled; nothing was sent."
PREFIX = "bc:"
# The steps of a draft: what it waits for.
MESSAGE, AUDIENCE, CONFIRM, TIME = "message", "audience", "confirm", "time"
STEPS = (MESSAGE, AUDIENCE, CONFIRM, TIME)
CONFIRM_DATA = frozenset({"bc:go", "bc:later", "bc:cancel"})


def _keyboard(rows: list[list[tuple[str, str]]]) -> Keyboard:
    return Keyboard.of([[Button(label, data) for label, data in row] for row in rows])


AUDIENCE_KEYBOARD = _keyboard(
    [
        [("Everyone reachable", "bc:all")],
        [("By status", "bc:f:status"), ("By sector", "bc:f:sector")],
        [("By district", "bc:f:district"), ("By size band", "bc:f:size")],
        [("By interview round", "bc:f:round")],
        [("Cancel", "bc:cancel")],
    ]
)
CONFIRM_KEYBOARD = _keyboard(
    [[("Confirm", "bc:go"), ("Schedule", "bc:later"), ("Cancel", "bc:cancel")]]
)


class InvalidSendTime(ValueError):
    """A send time we cannot read; the message says what to type."""


SEND_TIME_HELP = "Type a time like 2026-11-24 09:30, today 17:00 or tomorrow 9:30 ({zone} time)."


def parse_send_time(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """A send time typed by staff (`2026-11-24 09:30`, `today 17:00`, `tomorrow 9:30`), read
    in `zone` and returned in UTC; it must be in the future."""
    usage = SEND_TIME_HELP.format(zone=zone.key)
    words = text.strip().lower().split()
    if len(words) != 2:
        raise InvalidSendTime(usage)
    day_word, clock = words
    local_now = now.astimezone(zone)
    try:
        if day_word == "today":
            day = local_now.date()
        elif day_word == "tomorrow":
            day = local_now.date() + timedelta(days=1)
        else:
            day = date.fromisoformat(day_word)
        hour, minute = (int(part) for part in clock.split(":"))
        moment = datetime.combine(day, dt_time(hour, minute), tzinfo=zone)
    except ValueError:
        raise InvalidSendTime(usage) from None
    if moment.astimezone(UTC) <= now:
        raise InvalidSendTime("That time has passed. " + usage)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Written:
    """A message written in a draft's chat: its text (or a media's caption), and the photo
    or document it carries (Telegram's file id), if any."""

    text: str | None
    command: str | None = None  # the bot command it is (lower case), if any
    photo_id: str | None = None
    document_id: str | None = None


def takes_message(step: str | None, written: Written) -> bool:
    """Whether the chat's draft takes this message (`step`: the draft's, None: no draft)."""
    if written.command == "broadcast":
        return True
    if step is None:
        return False
    if written.command == "cancel":
        return True
    typed = written.text is not None and not (written.photo_id or written.document_id)
    return step == MESSAGE or (step == TIME and typed)


def takes_press(step: str | None, data: str | None) -> bool:
    """Whether the chat's draft takes this button press."""
    if step is None or not (data or "").startswith(PREFIX):
        return False
    if step == AUDIENCE:
        return True  # its own buttons, and Confirm's (a Cancel among them)
    return step == CONFIRM and data in CONFIRM_DATA


def begin(session: Session, chat_id: int) -> StaffReply:
    """/broadcast: a new draft (any earlier one in the chat dropped)."""
    save_draft(session, chat_id=chat_id, step=MESSAGE, data={}, now=utcnow())
    return StaffReply("broadcast_draft", [plain(ASK_MESSAGE)])


def cancel(session: Session, chat_id: int) -> StaffReply:
    """/cancel or the Cancel button: drop the draft."""
    drop_draft(session, chat_id=chat_id)
    return StaffReply("broadcast_cancelled", [plain(CANCELLED)])


def message(
    session: Session, chat_id: int, written: Written, *, actor: str, zone: ZoneInfo
) -> StaffReply:
    """What the draft's step makes of a message: the message to broadcast, or a send time."""
    draft = draft_of(session, chat_id=chat_id)
    if written.command == "broadcast":
        return begin(session, chat_id)
    if draft is None:
        return StaffReply("ignored")
    if written.command == "cancel":
        return cancel(session, chat_id)
    if draft.step == MESSAGE:
        return _draft_message(session, chat_id, written)
    if draft.step == TIME:
        typed = written.text or ""
        return _schedule(session, chat_id, dict(draft.data), typed, actor=actor, zone=zone)
    return StaffReply("ignored")


def _draft_message(session: Session, chat_id: int, written: Written) -> StaffReply:
    """The message to broadcast: text, a photo or a document (with a caption)."""
    if written.photo_id:
        kind, media, text = "photo", "tg:" + written.photo_id, written.text or ""
    elif written.document_id:
        kind, media, text = "document", "tg:" + written.document_id, written.text or ""
    elif written.text and not written.text.startswith("/"):
        kind, media, text = None, None, written.text
    else:
        return StaffReply(
            "broadcast_draft", [plain("Please send text, a photo or a document. " + ASK_MESSAGE)]
        )
    text = text.replace("\x00", "")  # PostgreSQL refuses a NUL in text
    limit = MAX_CAPTION if kind else MAX_TEXT
    if telegram_length(text) > limit:  # UTF-16 code units, as Telegram counts
        return StaffReply(
            "broadcast_draft",
            [plain(f"That is too long: Telegram allows {limit} characters here.")],
        )
    data = {"text": text, "media_kind": kind, "media": media}
    save_draft(session, chat_id=chat_id, step=AUDIENCE, data=data, now=utcnow())
    return StaffReply("broadcast_draft", [plain("Who should receive it?", AUDIENCE_KEYBOARD)])


def press(
    session: Session, chat_id: int, data: str | None, *, actor: str, zone: ZoneInfo
) -> tuple[StaffReply, int | None]:
    """A draft's button: the reply, and the id of a broadcast to start sending now."""
    draft = draft_of(session, chat_id=chat_id)
    if draft is None or not takes_press(draft.step, data):
        return StaffReply("ignored"), None
    chosen = dict(draft.data)
    if data == "bc:cancel":
        return cancel(session, chat_id), None
    if draft.step == AUDIENCE:  # Confirm and Schedule do nothing before an audience is chosen
        return _audience(session, chat_id, (data or "").split(":"), chosen), None
    return _confirm(session, chat_id, data or "", chosen, actor=actor, zone=zone)


def _audience(
    session: Session, chat_id: int, parts: list[str], draft: dict[str, Any]
) -> StaffReply:
    """Audience buttons: everyone, a field, or one value of it."""
    if parts[1] == "f" and len(parts) == 3 and parts[2] in FIELDS:
        values = segment_values(session, field=parts[2])[:30]
        if not values:
            return StaffReply(
                "broadcast_draft", [plain(f"No reachable employer has a {FIELDS[parts[2]]} yet.")]
            )
        draft.update(field=parts[2], values=[value for value, _ in values])
        save_draft(session, chat_id=chat_id, step=AUDIENCE, data=draft, now=utcnow())
        rows = [
            [(f"{value} ({count})", f"bc:v:{index}")] for index, (value, count) in enumerate(values)
        ]
        keyboard = _keyboard([*rows, [("Cancel", "bc:cancel")]])
        return StaffReply("broadcast_draft", [plain(f"Which {FIELDS[parts[2]]}?", keyboard)])
    if parts[1] == "all":
        segment: dict[str, list[str]] = {}
    elif parts[1] == "v" and len(parts) == 3 and parts[2].isdigit() and parts[2].isascii():
        values = draft.get("values", [])
        index = int(parts[2])
        if "field" not in draft or index >= len(values):
            return StaffReply("ignored")
        segment = {draft["field"]: [values[index]]}
    else:
        return StaffReply("ignored")
    reached = audience_report(session, segment=segment)
    count = len(reached.recipients)
    left_out = describe_left_out(reached.left_out)
    if count == 0:
        return StaffReply(
            "broadcast_draft",
            [
                plain(
                    f"Nobody reachable matches that ({left_out}); pick another audience.",
                    AUDIENCE_KEYBOARD,
                )
            ],
        )
    draft["segment"] = segment
    save_draft(session, chat_id=chat_id, step=CONFIRM, data=draft, now=utcnow())
    question = (
        f"Send it to {count} employer(s) ({describe_segment(segment)})?\n"
        f"{left_out[0].upper()}{left_out[1:]}."
    )
    return StaffReply(
        "broadcast_preview",
        [
            plain("Preview – the message exactly as employers will see it:"),
            preview(draft),
            plain(question, CONFIRM_KEYBOARD),
        ],
    )


def preview(draft: Mapping[str, Any]) -> Outgoing | Stored:
    """The message as employers will see it."""
    text, kind, media = draft["text"], draft.get("media_kind"), draft.get("media")
    if kind in ("photo", "document") and media:
        caption = plain(text).text if text else None
        return Stored(media.removeprefix("tg:"), photo=kind == "photo", caption=caption)
    return plain(text)


def _confirm(
    session: Session,
    chat_id: int,
    data: str,
    draft: dict[str, Any],
    *,
    actor: str,
    zone: ZoneInfo,
) -> tuple[StaffReply, int | None]:
    """Confirm (send now) or Schedule (ask for a time)."""
    if data == "bc:later":
        save_draft(session, chat_id=chat_id, step=TIME, data=draft, now=utcnow())
        ask = f"When? Type a time like 2026-11-24 09:30 or tomorrow 9:30 ({zone.key} time)."
        return StaffReply("broadcast_draft", [plain(ask)]), None
    if "segment" not in draft:
        return StaffReply("ignored"), None
    broadcast_id = _create(session, chat_id, draft, actor=actor)
    return StaffReply("broadcast_confirmed"), broadcast_id


def _schedule(
    session: Session,
    chat_id: int,
    draft: dict[str, Any],
    typed: str,
    *,
    actor: str,
    zone: ZoneInfo,
) -> StaffReply:
    """The time to send a scheduled broadcast."""
    try:
        at = parse_send_time(typed, now=utcnow(), zone=zone)
    except InvalidSendTime as error:
        return StaffReply("broadcast_draft", [plain(str(error))])
    broadcast_id = _create(session, chat_id, draft, actor=actor, at=at)
    shown = at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return StaffReply(
        "broadcast_scheduled",
        [plain(f"Broadcast {broadcast_id} is scheduled for {shown} ({zone.key} time).")],
    )


def _create(
    session: Session,
    chat_id: int,
    draft: Mapping[str, Any],
    *,
    actor: str,
    at: datetime | None = None,
) -> int:
    """Store the broadcast and drop the draft, in the update's one transaction."""
    row = create_broadcast(
        session,
        text=draft["text"],
        media_kind=draft.get("media_kind"),
        media=draft.get("media"),
        segment=draft.get("segment", {}),
        created_by=actor,
        now=utcnow(),
        scheduled_at=at,
        progress_chat_id=chat_id,
    )
    drop_draft(session, chat_id=chat_id)
    assert row.id is not None
    return row.id
