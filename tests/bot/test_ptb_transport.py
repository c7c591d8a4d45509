"""python-telegram-bot's transport, against the fake Bot API over real HTTP."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine

from bot.core.interviewer import Interviewer
from bot.devtools.fake_telegram import FakeTelegram
from bot.retry import RetryPolicy
from bot.transports.ptb import build_ptb_bot
from bot.transports.ptb.transport import PtbTransport
from conversations.definition import Interview, Question, Section

ASKED = Question("name", "text", "Your name?", "s")
# An update the core does not handle (an edit): its handling reaches no database.
EDITED = {
    "edited_message": {
        "message_id": 1,
        "date": 0,
        "text": "x",
        "chat": {"id": 5, "type": "private"},
    }
}


async def test_the_bot_is_started_once_when_the_first_updates_come_together() -> None:
    # Two updates handled at once by a new transport each started PTB's Bot (getMe twice,
    # a second HTTP client started over the first).
    async with FakeTelegram() as fake:
        bot = build_ptb_bot(fake.token, fake.base_url, RetryPolicy(attempts=1))
        database = create_engine("sqlite://")
        interviewer = Interviewer(
            interview=Interview("tiny", "Tiny", "1", (Section("s", "S", (ASKED,)),)),
            database=database,
            delivery=None,  # type: ignore[arg-type]  # nothing is sent
            area="Cambridgeshire and Peterborough",
            zone=ZoneInfo("Europe/London"),
        )
        transport = PtbTransport(bot, interviewer)
        try:
            await asyncio.gather(*(transport.handle({"update_id": n, **EDITED}) for n in (1, 2)))
            await transport.handle({"update_id": 3, **EDITED})
        finally:
            await transport.aclose()
            await interviewer.aclose()
            database.dispose()
        assert [r.method for r in fake.requests].count("getMe") == 1
