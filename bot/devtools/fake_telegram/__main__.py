"""Run the fake Telegram standalone: ``python -m bot.devtools.fake_telegram --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.devtools.fake_telegram.server import FakeTelegram


async def serve(fake: FakeTelegram) -> None:
    """Serve until cancelled (Ctrl-C)."""
    async with fake:
        print(f"Fake Telegram Bot API listening on {fake.base_url}", flush=True)
        print(
            f"Set TELEGRAM_API_URL={fake.base_url}; the control API is under "
            f"{fake.base_url}/_fake/",
            flush=True,
        )
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.devtools.fake_telegram", description="A fake Telegram Bot API server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--token", default="123456:TEST-TOKEN", help="the bot token the fake accepts"
    )
    parser.add_argument("--bot-username", default="skillsbot_test_bot")
    options = parser.parse_args(argv)
    fake = FakeTelegram(
        token=options.token, bot_username=options.bot_username, host=options.host, port=options.port
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(fake))


if __name__ == "__main__":
    main()
