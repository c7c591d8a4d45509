"""Each library's `BotAccount` (the bot's own calls: getUpdates, the webhook, command menus,
getMe) against the fake Bot API over real HTTP: the same answers and the same
library-neutral errors from aiogram and python-telegram-bot, which polling, the webhook,
the menus and the broadcast command's check rely on; and closing a PTB link lets go of its
connections even when its Bot was never initialized (a reminder sent before the first
update left a socket open)."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.retry import RetryPolicy
from bot.runtime.webhook import ALLOWED_UPDATES
from bot.transports import (
    LIBRARIES,
    PollingConflict,
    TelegramRefused,
    TelegramUnavailable,
    Unauthorized,
    bot_id_of,
)
from bot.transports.links import TelegramLink, connect

USER = 7301
ONE_TRY = RetryPolicy(attempts=1)
HOOK = "https://bot.example.org/hook"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_user(USER)
        yield server


@pytest.fixture(params=LIBRARIES)
async def link(fake: FakeTelegram, request: pytest.FixtureRequest) -> AsyncIterator[TelegramLink]:
    telegram = connect(request.param, fake.token, fake.base_url, ONE_TRY)
    try:
        yield telegram
    finally:
        await telegram.close()


async def test_updates_come_as_telegrams_json_and_the_offset_confirms_them(
    fake: FakeTelegram, link: TelegramLink
) -> None:
    update_id = await fake.send_text(USER, "hello")
    [update] = await link.account.get_updates(offset=None, poll_seconds=0)
    assert update["update_id"] == update_id
    assert update["message"]["text"] == "hello"
    assert await link.account.get_updates(offset=update_id + 1, poll_seconds=0, limit=1) == []
    assert fake.acknowledged_offset == update_id + 1


async def test_a_webhook_set_refuses_polling_until_deleted(
    fake: FakeTelegram, link: TelegramLink
) -> None:
    await link.account.set_webhook(
        url=HOOK, secret="s3cret", max_connections=7, allowed_updates=ALLOWED_UPDATES
    )
    settings = fake.webhook.settings
    assert settings is not None
    assert (settings.url, settings.secret_token, settings.max_connections) == (HOOK, "s3cret", 7)
    assert settings.allowed_updates == ALLOWED_UPDATES
    with pytest.raises(PollingConflict):
        await link.account.get_updates(offset=None, poll_seconds=0)
    await link.account.delete_webhook()
    assert fake.webhook.settings is None
    assert await link.account.get_updates(offset=None, poll_seconds=0) == []


async def test_menus_are_set_for_everyone_or_one_chat_and_removed(
    fake: FakeTelegram, link: TelegramLink
) -> None:
    await link.account.set_commands([("start", "Begin"), ("help", "What I do")])
    assert [c["command"] for c in fake.my_commands] == ["start", "help"]
    await link.account.set_commands([("list", "Employers")], chat_id=USER)
    scope = f'{{"chat_id": {USER}, "type": "chat"}}'
    assert [c["command"] for c in fake.world.commands[(scope, "")]] == ["list"]
    await link.account.delete_commands(USER)
    assert (scope, "") not in fake.world.commands


async def test_refusals_failures_and_a_wrong_token_come_as_the_neutral_errors(
    fake: FakeTelegram, link: TelegramLink
) -> None:
    fake.fail_next("setMyCommands", error_code=400, description="Bad Request: chat not found")
    with pytest.raises(TelegramRefused):
        await link.account.set_commands([("start", "Begin")], chat_id=USER)
    fake.fail_next("deleteWebhook", error_code=502)
    with pytest.raises(TelegramUnavailable):
        await link.account.delete_webhook()
    fake.fail_next("getMe", error_code=500)
    with pytest.raises(TelegramUnavailable):
        await link.account.get_me()


async def test_get_me_names_the_bot_whose_id_the_token_begins_with(
    fake: FakeTelegram, link: TelegramLink
) -> None:
    assert await link.account.get_me() == bot_id_of(fake.token) == 123456


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_token_telegram_does_not_know_is_unauthorized(
    fake: FakeTelegram, library: str
) -> None:
    stranger = connect(library, "999:NOT-OURS", fake.base_url, ONE_TRY)
    try:
        with pytest.raises(Unauthorized):
            await stranger.account.get_updates(offset=None, poll_seconds=0)
        with pytest.raises(Unauthorized):  # `skillsbot broadcast send`'s check
            await stranger.account.get_me()
    finally:
        await stranger.close()


@pytest.mark.parametrize("library", LIBRARIES)
async def test_closing_lets_go_of_every_connection_even_of_a_bot_never_initialized(
    fake: FakeTelegram, library: str
) -> None:
    # A send before any update (a reminder at start-up) opens a connection; an unclosed one
    # is a ResourceWarning at collection, an error under this suite's warning filter.
    telegram = connect(library, fake.token, fake.base_url, ONE_TRY)
    await telegram.calls.send_message(USER, "A reminder", None)
    await telegram.account.get_updates(offset=None, poll_seconds=0)
    await telegram.close()
    del telegram
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
