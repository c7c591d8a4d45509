"""/broadcast for staff: write the message, pick the audience, see a preview, then confirm,
schedule or cancel.

The draft lives in aiogram's FSM storage (memory): a restart loses at most an unfinished
draft; a confirmed broadcast is in the database at once. Everything sits behind
`HasRole("admin", "staff")`: for anyone else `/broadcast` falls through to the
unknown-command answer, and a stray "bc:" button does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.broadcaster import Broadcaster, InvalidSendTime, parse_send_time
from bot.handlers.staff import HasRole, database_of, zone_of
from bot.limits import telegram_length
from storage import Session, utcnow
from storage.audience import Audience, describe_left_out
from storage.broadcasts import audience_report, create_broadcast, describe_segment, segment_values

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

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


class Draft(StatesGroup):
    """Where a staff member is in composing a broadcast."""

    message = State()
    audience = State()
    confirm = State()
    time = State()


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in rows
        ]
    )


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


async def on_broadcast(message: Message, state: FSMContext, **_: Any) -> None:
    """/broadcast: start a draft."""
    await state.clear()
    await state.set_state(Draft.message)
    await message.answer(ASK_MESSAGE)


async def on_cancel(message: Message, state: FSMContext, **_: Any) -> None:
    """/cancel while composing: drop the draft."""
    await state.clear()
    await message.answer(CANCELLED)


async def on_draft_message(message: Message, state: FSMContext, **_: Any) -> None:
    """The message to broadcast: text, a photo or a document (with a caption)."""
    if message.photo:
        kind, media, text = "photo", "tg:" + message.photo[-1].file_id, message.caption or ""
    elif message.document:
        kind, media, text = "document", "tg:" + message.document.file_id, message.caption or ""
    elif message.text and not message.text.startswith("/"):
        kind, media, text = None, None, message.text
    else:
        await message.answer("Please send text, a photo or a document. " + ASK_MESSAGE)
        return
    text = text.replace("\x00", "")  # PostgreSQL refuses a NUL in text
    limit = MAX_CAPTION if kind else MAX_TEXT
    if telegram_length(text) > limit:  # UTF-16 code units, as Telegram counts
        await message.answer(f"That is too long: Telegram allows {limit} characters here.")
        return
    await state.update_data(text=text, media_kind=kind, media=media)
    await state.set_state(Draft.audience)
    await message.answer("Who should receive it?", reply_markup=AUDIENCE_KEYBOARD)


def _values(database: Engine, field: str) -> list[tuple[str, int]]:
    with Session(database) as session:
        return segment_values(session, field=field)[:30]


async def _stop_spinner(query: CallbackQuery) -> None:
    """Answer the press. Telegram refuses a second answer to one press, which is what a try
    after a failed one (see bot.polling) gives it: the press is still handled."""
    with contextlib.suppress(TelegramBadRequest):
        await query.answer()


def _audience(database: Engine, segment: dict[str, list[str]]) -> Audience:
    with Session(database) as session:
        return audience_report(session, segment=segment)


async def on_audience_button(query: CallbackQuery, state: FSMContext, **data: Any) -> None:
    """Audience buttons: everyone, a field, or one value of it."""
    await _stop_spinner(query)
    message = query.message
    if not isinstance(message, Message) or query.data is None:
        return
    database = database_of(data)
    parts = query.data.split(":")
    if parts[1] == "f" and len(parts) == 3 and parts[2] in FIELDS:
        values = await asyncio.to_thread(_values, database, parts[2])
        if not values:
            await message.answer(f"No reachable employer has a {FIELDS[parts[2]]} yet.")
            return
        await state.update_data(field=parts[2], values=[value for value, _ in values])
        rows = [
            [(f"{value} ({count})", f"bc:v:{index}")] for index, (value, count) in enumerate(values)
        ]
        await message.answer(
            f"Which {FIELDS[parts[2]]}?", reply_markup=_keyboard([*rows, [("Cancel", "bc:cancel")]])
        )
        return
    draft = await state.get_data()
    if parts[1] == "all":
        segment: dict[str, list[str]] = {}
    elif parts[1] == "v" and len(parts) == 3 and parts[2].isdigit():
        values = draft.get("values", [])
        index = int(parts[2])
        if "field" not in draft or index >= len(values):
            return
        segment = {draft["field"]: [values[index]]}
    else:
        return
    reached = await asyncio.to_thread(_audience, database, segment)
    count = len(reached.recipients)
    left_out = describe_left_out(reached.left_out)
    if count == 0:
        await message.answer(
            f"Nobody reachable matches that ({left_out}); pick another audience.",
            reply_markup=AUDIENCE_KEYBOARD,
        )
        return
    await state.update_data(segment=segment)
    await state.set_state(Draft.confirm)
    await message.answer("Preview – the message exactly as employers will see it:")
    await _preview(message, draft)
    await message.answer(
        f"Send it to {count} employer(s) ({describe_segment(segment)})?\n"
        f"{left_out[0].upper()}{left_out[1:]}.",
        reply_markup=CONFIRM_KEYBOARD,
    )


async def _preview(message: Message, draft: dict[str, Any]) -> None:
    text, kind, media = draft["text"], draft.get("media_kind"), draft.get("media")
    if kind == "photo" and media:
        await message.answer_photo(media.removeprefix("tg:"), caption=text or None)
    elif kind == "document" and media:
        await message.answer_document(media.removeprefix("tg:"), caption=text or None)
    else:
        await message.answer(text)


def _create(
    database: Engine, draft: dict[str, Any], *, actor: str, chat_id: int, at: Any = None
) -> int:
    with Session(database) as session, session.begin():
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
        assert row.id is not None
        return row.id


async def on_confirm_button(
    query: CallbackQuery, state: FSMContext, broadcaster: Broadcaster, **data: Any
) -> None:
    """Confirm (send now), Schedule (ask for a time) or Cancel."""
    await _stop_spinner(query)
    message = query.message
    if not isinstance(message, Message):
        return
    if query.data == "bc:cancel":
        await state.clear()
        await message.answer(CANCELLED)
        return
    if query.data == "bc:later":
        await state.set_state(Draft.time)
        zone = zone_of(data).key
        await message.answer(
            f"When? Type a time like 2026-11-24 09:30 or tomorrow 9:30 ({zone} time)."
        )
        return
    draft = await state.get_data()
    if "segment" not in draft:  # a second tap: the first one took the draft
        return
    # The draft goes only once the broadcast is stored: if the database is away, the press
    # is tried again (see bot.polling.TryLater) and must find the draft still there.
    broadcast_id = await asyncio.to_thread(
        _create, database_of(data), draft, actor=str(query.from_user.id), chat_id=message.chat.id
    )
    await state.clear()
    broadcaster.start(broadcast_id)


async def on_time(message: Message, state: FSMContext, **data: Any) -> None:
    """The time to send a scheduled broadcast."""
    try:
        at = parse_send_time(message.text or "", now=utcnow(), zone=zone_of(data))
    except InvalidSendTime as error:
        await message.answer(str(error))
        return
    draft = await state.get_data()
    assert message.from_user is not None
    broadcast_id = await asyncio.to_thread(
        _create,
        database_of(data),
        draft,
        actor=str(message.from_user.id),
        chat_id=message.chat.id,
        at=at,
    )
    await state.clear()  # only now: see on_confirm_button
    zone = zone_of(data)
    shown = at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    await message.answer(f"Broadcast {broadcast_id} is scheduled for {shown} ({zone.key} time).")


def router() -> Router:
    """A new router with /broadcast (one per Dispatcher); before the commands router."""
    feature = Router(name="broadcast")
    feature.message.filter(F.chat.type == "private")
    staff_only = HasRole("admin", "staff")
    feature.message.register(on_broadcast, Command("broadcast"), staff_only)
    drafting = StateFilter(Draft.message, Draft.audience, Draft.confirm, Draft.time)
    feature.message.register(on_cancel, Command("cancel"), drafting, staff_only)
    feature.message.register(on_draft_message, StateFilter(Draft.message), staff_only)
    feature.message.register(on_time, StateFilter(Draft.time), F.text, staff_only)
    feature.callback_query.register(
        on_audience_button,
        StateFilter(Draft.audience),
        F.data.startswith("bc:"),
        ~F.data.in_({"bc:cancel"}),
        staff_only,
    )
    feature.callback_query.register(
        on_confirm_button,
        StateFilter(Draft.confirm, Draft.audience),
        F.data.in_({"bc:go", "bc:later", "bc:cancel"}),
        staff_only,
    )
    return feature
