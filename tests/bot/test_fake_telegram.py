"""The fake Bot API, driven over real HTTP by a real aiogram Bot and aiohttp's client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_telegram.markup import command_entities, parse_html
from bot.devtools.fake_telegram.server import TINY_PNG

USER = 4242


class PlainHttpSession(AiohttpSession):
    """aiogram's session without the 250 ms pause its close() keeps for TLS connections."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    session = PlainHttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(token or fake.token, session=session)


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = make_bot(fake)
    yield client
    await client.session.close()


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=f"pick:{label.lower()}")]
            for label in labels
        ]
    )


async def test_get_me_names_the_configured_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "skillsbot_test_bot", True)


async def test_sent_message_appears_in_transcript_with_its_buttons(
    fake: FakeTelegram, bot: Bot
) -> None:
    await fake.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Is your firm hiring?", reply_markup=keyboard("Yes", "No"))

    assert sent.message_id == 2  # the user's /start is message 1 of this private chat
    assert sent.chat.id == USER
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    [mine, theirs] = fake.chat(USER)
    assert (mine.from_bot, mine.text) == (False, "/start")
    assert theirs.buttons() == [[("Yes", "pick:yes")], [("No", "pick:no")]]
    assert theirs.button("no") == "pick:no"
    with pytest.raises(LookupError, match="'Yes', 'No'"):
        theirs.button("Maybe")
    assert fake.last_bot_message(USER) == theirs


async def test_html_is_parsed_into_text_and_entities(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>Q1</b> of 5 &lt;fast&gt;", parse_mode="HTML")
    assert sent.text == "Q1 of 5 <fast>"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 2)]

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "fewer than <5 staff", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="end tag"):
        await bot.send_message(USER, "<b>unclosed", parse_mode="HTML")


async def test_edits_replace_the_message_and_identical_edits_are_refused(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await bot.send_message(USER, "Pick one", reply_markup=keyboard("A", "B"))

    edited = await bot.edit_message_text("Picked A", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    [shown] = fake.chat(USER)
    assert (shown.text, shown.edited, shown.buttons()) == ("Picked A", True, [])

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Picked A", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)

    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("Undo")
    )
    assert fake.chat(USER)[0].buttons() == [[("Undo", "pick:undo")]]


async def test_deleted_messages_stay_in_the_transcript_flagged(
    fake: FakeTelegram, bot: Bot
) -> None:
    first = await bot.send_message(USER, "first")
    await bot.send_message(USER, "second")
    assert await bot.delete_message(USER, first.message_id + 1)

    assert [(m.text, m.deleted) for m in fake.chat(USER)] == [("first", False), ("second", True)]
    last = fake.last_bot_message(USER)
    assert last is not None
    assert last.text == "first"
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, first.message_id + 1)


async def test_press_delivers_a_callback_query_that_can_be_answered_once(
    fake: FakeTelegram, bot: Bot
) -> None:
    sent = await bot.send_message(USER, "Sector?", reply_markup=keyboard("Retail"))
    update_id = await fake.press(USER, sent.message_id, "pick:retail")

    [update] = await bot.get_updates()
    assert update.update_id == update_id
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    assert (query.data, query.from_user.id, query.message.message_id) == (
        "pick:retail",
        USER,
        sent.message_id,
    )
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):  # 202 UTF-16 units
        await bot.answer_callback_query(query.id, text="\U0001f600" * 101)
    assert await bot.answer_callback_query(query.id, text="Saved")
    assert [(a.text, a.show_alert, a.message_id) for a in fake.callback_answers] == [
        ("Saved", False, sent.message_id)
    ]
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(LookupError):
        await fake.press(USER, 99, "forged")


async def test_documents_and_photos_keep_their_bytes(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_document(
        USER,
        BufferedInputFile(b"org,sector\nAcme,retail\n", filename="answers.csv"),
        caption="Your answers",
    )
    [shown] = fake.bot_messages(USER)
    assert (shown.document, shown.caption) == ("answers.csv", "Your answers")
    assert fake.file_bytes(shown) == b"org,sector\nAcme,retail\n"

    assert sent.document is not None
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None
    assert downloaded.read() == b"org,sector\nAcme,retail\n"

    photo = await bot.send_photo(USER, BufferedInputFile(TINY_PNG, filename="chart.png"))
    assert photo.photo
    assert fake.file_bytes(fake.bot_messages(USER)[-1]) == TINY_PNG
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", filename="x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(USER, "no-such-file-id")


async def test_commands_are_kept(fake: FakeTelegram, bot: Bot) -> None:
    commands = [
        BotCommand(command="start", description="Begin the interview"),
        BotCommand(command="help", description="What this bot does"),
    ]
    assert await bot.set_my_commands(commands)
    assert fake.my_commands == [
        {"command": "start", "description": "Begin the interview"},
        {"command": "help", "description": "What this bot does"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Not Valid", description="x")])


async def test_get_updates_confirms_by_offset(fake: FakeTelegram, bot: Bot) -> None:
    first = await fake.send_text(USER, "/start campaign-7", first_name="Ada", username="ada")
    await fake.send_sticker(USER)
    await fake.send_photo(USER, caption="our site")

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, first + 1, first + 2]
    start = updates[0].message
    assert start is not None
    assert start.entities is not None
    assert start.from_user is not None
    assert [(e.type, e.offset, e.length) for e in start.entities] == [("bot_command", 0, 6)]
    assert (start.from_user.first_name, start.from_user.username) == ("Ada", "ada")
    assert updates[1].message is not None
    assert updates[1].message.sticker is not None
    assert updates[2].message is not None
    assert updates[2].message.photo
    assert fake.acknowledged_offset == 0

    again = await bot.get_updates(offset=first + 1, limit=1)
    assert [u.update_id for u in again] == [first + 1]
    assert fake.acknowledged_offset == first + 1
    assert [u.update_id for u in await bot.get_updates(offset=first + 3)] == []
    assert fake.pending_updates == 0


async def test_long_poll_returns_as_soon_as_an_update_arrives(fake: FakeTelegram, bot: Bot) -> None:
    # A long timeout, so that "at once" has room on a loaded machine and is still far
    # from waiting the timeout out.
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_until(lambda: fake.polls_started == 1)
    began = time.monotonic()
    await fake.send_text(USER, "hello")
    updates = await poll
    assert time.monotonic() - began < 10
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_an_empty_long_poll_waits_its_timeout(bot: Bot) -> None:
    began = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - began < 5  # its timeout, not more than a moment over


async def test_a_second_get_updates_terminates_the_first_with_409(
    fake: FakeTelegram, bot: Bot
) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until(lambda: fake.polls_started == 1)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await older


async def test_allowed_updates_filter_update_types(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Go?", reply_markup=keyboard("Go"))
    await fake.send_text(USER, "words")
    await fake.press(USER, sent.message_id, "pick:go")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in updates] == [True]


async def test_injected_429_raises_retry_after_then_recovers(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(USER, "hi")
        assert caught.value.retry_after == 7
    await bot.send_message(USER, "hi")
    assert [(r.method, r.chat_id, r.status) for r in fake.requests] == [
        ("sendMessage", USER, 429),
        ("sendMessage", USER, 429),
        ("sendMessage", USER, 200),
    ]

    fake.fail_next("getMe", error_code=500)
    with pytest.raises(Exception, match="Internal Server Error"):
        await bot.get_me()


async def test_a_dropped_call_loses_the_connection_and_changes_nothing(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.drop_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "lost on the way")
    assert fake.chat(USER) == []
    await bot.send_message(USER, "sent again")
    assert [m.text for m in fake.chat(USER)] == ["sent again"]
    assert [(r.method, r.status) for r in fake.requests] == [
        ("sendMessage", 0),
        ("sendMessage", 200),
    ]


async def test_flood_control_answers_429_per_chat(fake: FakeTelegram, bot: Bot) -> None:
    fake.rate_limit(per_chat_per_second=1, retry_after=3)
    await bot.send_message(USER, "one")
    await bot.send_message(USER + 1, "other chat is fine")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "two")
    assert caught.value.retry_after == 3
    fake.rate_limit()
    await bot.send_message(USER, "two")


async def test_overall_flood_control(fake: FakeTelegram, bot: Bot) -> None:
    fake.rate_limit(per_second_overall=3)
    results = await asyncio.gather(
        *(bot.send_message(USER + n, "x") for n in range(6)), return_exceptions=True
    )
    assert sum(isinstance(r, TelegramRetryAfter) for r in results) == 3


async def test_blocked_user_answers_403(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(USER, notify=True)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "still there?")
    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    fake.unblock(USER)
    await bot.send_message(USER, "welcome back")


async def test_validation_errors_match_telegram(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, " ")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    await bot.send_message(USER, "x" * 4096)
    # Telegram counts UTF-16 code units: 2,048 emoji fill a message, one more is too many.
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "\U0001f600" * 2049)
    sent = await bot.send_message(USER, "\U0001f600" * 2048)
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.edit_message_text("\U0001f600" * 2049, chat_id=USER, message_id=sent.message_id)
    with pytest.raises(ValueError, match="more than 4096"):
        await fake.send_text(USER, "\U0001f600" * 2049)
    long_data = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="é" * 33)]]
    )  # 66 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "pick", reply_markup=long_data)
    await bot.send_message(USER, "done", reply_markup=ReplyKeyboardRemove())
    assert fake.bot_messages(USER)[-1].reply_markup == {"remove_keyboard": True}

    stranger = make_bot(fake, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_raw_http_json_bodies_and_unknown_methods(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}/bot{fake.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/sendMessage",
            json={
                "chat_id": USER,
                "text": "Hi",
                "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},
            },
        ) as response:
            body = await response.json()
        assert body["ok"] is True
        assert body["result"]["reply_markup"]["inline_keyboard"]

        async with http.post(f"{url}/sendMessage", json={"text": "Hi"}) as response:
            assert response.status == 400
            assert (await response.json())["description"] == "Bad Request: chat_id is empty"

        async with http.post(
            f"{url}/sendMessage",
            data={"chat_id": str(USER), "text": "Hi", "reply_markup": "{not json"},
        ) as response:
            assert response.status == 400

        async with http.get(f"{url}/getCoffee") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }

        async with http.get(f"{url}/getme") as response:  # method names ignore case
            assert (await response.json())["result"]["username"] == "skillsbot_test_bot"


async def test_wait_for_bot_message_sees_new_and_edited_messages(
    fake: FakeTelegram, bot: Bot
) -> None:
    first = await bot.send_message(USER, "Thinking…")

    async def reply_later() -> None:
        await bot.edit_message_text("Done", chat_id=USER, message_id=first.message_id)

    task = asyncio.create_task(reply_later())
    edited = await fake.wait_for_bot_message(
        USER, after=first.message_id, predicate=lambda m: m.text == "Done", timeout=2
    )
    await task
    assert edited.message_id == first.message_id
    assert edited.edited

    with pytest.raises(TimeoutError, match=r"#1 bot \(edited\): Done"):
        await fake.wait_for_bot_message(USER, after=first.message_id, timeout=0.05)


async def test_a_real_dispatcher_polls_and_answers(fake: FakeTelegram, bot: Bot) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"You said: {message.text}")

    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, close_bot_session=False, polling_timeout=1
        )
    )
    try:
        await fake.send_text(USER, "hello")
        reply = await fake.wait_for_bot_message(USER, timeout=5)
        assert reply.text == "You said: hello"
    finally:
        await dispatcher.stop_polling()
        await polling


async def test_two_hundred_users_at_once(fake: FakeTelegram, bot: Bot) -> None:
    users = range(1, 201)
    await asyncio.gather(*(fake.send_text(user, "/start") for user in users))
    updates = await bot.get_updates()
    assert len(updates) == 100  # getUpdates' limit
    await asyncio.gather(*(bot.send_message(user, "Welcome") for user in users))
    replies = await asyncio.gather(*(fake.wait_for_bot_message(user) for user in users))
    assert {r.chat_id for r in replies} == set(users)


async def test_control_api_drives_and_watches_a_chat(fake: FakeTelegram, bot: Bot) -> None:
    control = f"{fake.base_url}/_fake"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{control}/users/{USER}/text", json={"text": "/start"}) as resp:
            assert resp.status == 200
            update_id = (await resp.json())["update_id"]
        assert fake.update(update_id)["message"]["text"] == "/start"

        async with http.get(f"{control}/chats/{USER}") as resp:
            transcript = await resp.json()
        assert [m["text"] for m in transcript["messages"]] == ["/start"]

        waiting = asyncio.create_task(
            http.get(f"{control}/chats/{USER}/wait", params={"version": transcript["version"]})
        )
        sent = await bot.send_message(USER, "Consent?", reply_markup=keyboard("Yes"))
        async with await waiting as resp:
            changed = await resp.json()
        assert changed["changed"] is True
        assert changed["messages"][-1]["buttons"] == [[{"text": "Yes", "data": "pick:yes"}]]

        async with http.post(
            f"{control}/users/{USER}/press",
            json={"message_id": sent.message_id, "data": "pick:yes"},
        ) as resp:
            assert resp.status == 200
        [_, press] = await bot.get_updates()
        assert press.callback_query is not None
        assert press.callback_query.data == "pick:yes"

        async with http.get(
            f"{control}/chats/{USER}/wait",
            params={"version": changed["version"], "timeout": "0.05"},
        ) as resp:
            assert (await resp.json())["changed"] is False


@pytest.mark.parametrize(
    ("path", "payload", "problem"),
    [
        ("users/abc/text", {"text": "hi"}, "user id must be an integer"),
        ("users/0/text", {"text": "hi"}, "must be positive"),
        ("users/5/text", {"text": ""}, "'text' must be a non-empty string"),
        ("users/5/text", ["not", "an", "object"], "JSON object"),
        ("users/5/press", {"message_id": "one", "data": "x"}, "'message_id' must be an integer"),
        ("users/5/press", {"message_id": 1, "data": "x"}, "no bot message 1"),
    ],
)
async def test_control_api_refuses_bad_requests_politely(
    fake: FakeTelegram, path: str, payload: object, problem: str
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}/_fake/{path}", json=payload) as resp,
    ):
        assert resp.status == 400
        body = await resp.json()
    assert body["ok"] is False
    assert problem in body["error"]


async def test_control_api_refuses_bad_wait_queries(fake: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        for query in ({"version": "x"}, {"version": "1", "timeout": "soon"}):
            async with http.get(f"{fake.base_url}/_fake/chats/5/wait", params=query) as resp:
                assert resp.status == 400
                assert (await resp.json())["ok"] is False
        async with http.post(f"{fake.base_url}/_fake/users/5/text", data=b"{oops") as resp:
            assert resp.status == 400


async def test_chat_actions_captions_and_webhook_housekeeping(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi", first_name="Grace", username="grace")
    assert await bot.delete_webhook(drop_pending_updates=False)
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 1)
    chat = await bot.get_chat(USER)
    assert (chat.type, chat.first_name, chat.username) == ("private", "Grace", "grace")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat(-100123)

    assert await bot.send_chat_action(USER, "upload_document")
    assert fake.chat_actions == [(USER, "upload_document")]
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")

    sent = await bot.send_document(USER, BufferedInputFile(b"x", filename="a.txt"), caption="v1")
    await bot.edit_message_caption(chat_id=USER, message_id=sent.message_id, caption="v2")
    assert fake.bot_messages(USER)[-1].caption == "v2"
    plain = await bot.send_message(USER, "plain text")
    with pytest.raises(TelegramBadRequest, match="no caption in the message"):
        await bot.edit_message_caption(chat_id=USER, message_id=plain.message_id, caption="x")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("forged", chat_id=USER, message_id=1)


async def test_stopping_answers_a_pending_long_poll() -> None:
    fake = FakeTelegram()
    await fake.start()
    bot = make_bot(fake)
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_until(lambda: fake.polls_started == 1)
        began = time.monotonic()
        await fake.stop()
        assert await poll == []
        assert time.monotonic() - began < 10  # well short of the poll's 30 s
    finally:
        await bot.session.close()


def test_command_entities_are_found_as_telegram_finds_them() -> None:
    found = command_entities("/start then /help@skillsbot_test_bot but not a/b or </b>")
    assert [(e["offset"], e["length"]) for e in found] == [(0, 6), (12, 24)]


def test_html_entity_offsets_count_utf16_units() -> None:
    text, entities = parse_html('\N{FACTORY} <b>Make <i>it</i></b> <a href="https://x.uk">here</a>')
    assert text == "\N{FACTORY} Make it here"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 3, 7),
        ("italic", 8, 2),
        ("text_link", 11, 4),
    ]
    assert entities[-1]["url"] == "https://x.uk"


async def test_wait_until_wakes_on_recorded_requests(fake: FakeTelegram, bot: Bot) -> None:
    waiting = asyncio.create_task(
        fake.wait_until(lambda: any(r.method == "sendChatAction" for r in fake.requests), timeout=2)
    )
    await asyncio.sleep(0)
    await bot.send_chat_action(USER, "typing")
    await waiting
    with pytest.raises(TimeoutError, match="condition not met"):
        await fake.wait_until(lambda: False, timeout=0.01)
