"""A bot process's broadcast sender on its own: `python -m tests.e2e.broadcast_sender`.

It runs exactly what `skillsbot run` runs for broadcasts (`Broadcaster.watch`, here every
0.5 s) with the settings of the environment (DATABASE_URL, TELEGRAM_BOT_TOKEN,
TELEGRAM_API_URL, SKILLSBOT_BROADCAST_RATE), without polling Telegram: several of them can
share one fake Telegram, as several bot processes share one bot. Stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal

from bot.core.broadcaster import Broadcaster
from bot.settings import load_settings
from bot.transports.links import connect
from storage import make_engine


async def serve() -> None:
    """Watch for broadcasts until SIGTERM."""
    settings = load_settings(env_file=None)
    database = make_engine(settings.database_url)
    link = connect(settings.telegram_library, settings.token.get_secret_value(), settings.api_url)
    sender = Broadcaster(link.calls, database, rate=settings.broadcast_rate)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await sender.watch(stop, interval=0.5)
    finally:
        await sender.shutdown()
        await link.close()
        database.dispose()


if __name__ == "__main__":
    asyncio.run(serve())
