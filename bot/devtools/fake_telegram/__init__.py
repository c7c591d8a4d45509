"""A fake Telegram Bot API server over real HTTP, for tests, benchmarks and the playground.

Point aiogram at it with ``AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))``
(the same setting, ``TELEGRAM_API_URL``, a self-hosted Bot API server uses).
"""

from bot.devtools.fake_telegram.errors import ApiError
from bot.devtools.fake_telegram.server import FakeTelegram
from bot.devtools.fake_telegram.state import CallbackAnswer, Message, RequestRecord, StoredFile

__all__ = ["ApiError", "CallbackAnswer", "FakeTelegram", "Message", "RequestRecord", "StoredFile"]
