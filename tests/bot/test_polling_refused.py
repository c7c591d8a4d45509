"""Polling refused for good (403, 404 from getUpdates), against the fake Telegram: said
once at ERROR, with Telegram's words and no token, and shown until polling works again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.inbox_worker import Backoff
from bot.runtime.polling import PollingLoop, RawUpdate
from bot.transports.links import connect


async def test_a_refused_get_updates_is_one_error_naming_telegrams_words_not_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A 403 or 404 from getUpdates was a warning on every try, forever, without its words.
    async with FakeTelegram() as fake:
        fake.fail_next(
            "getUpdates", times=3, error_code=403, description=f"Forbidden: no {fake.token}"
        )
        await fake.send_text(5, "hi")
        link = connect("aiogram", fake.token, fake.base_url)
        accepted: list[RawUpdate] = []
        states: list[str | None] = []

        async def accept(updates: Sequence[RawUpdate]) -> None:
            states.append(loop.refused)
            accepted.extend(updates)
            loop.stop()

        loop = PollingLoop(link.account, accept, timeout=1)
        loop.backoff = Backoff(first=0.001, cap=0.002)
        try:
            with caplog.at_level(logging.WARNING, logger="skillsbot.polling"):
                await asyncio.wait_for(loop.run(), timeout=10)
        finally:
            await link.close()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # once, not on every try
    assert "Forbidden: no <token>" in errors[0].getMessage()
    assert fake.token not in caplog.text
    assert len(accepted) == 1
    assert states == [None]  # working again
