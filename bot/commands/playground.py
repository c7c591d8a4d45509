"""`skillsbot playground`: try the real bot in a browser, without a Telegram bot token.

It starts the fake Telegram, the real bot polling it and a chat page (see
`bot.playground.runner`), prints the page's address and runs until Ctrl+C, then stops all
three cleanly and exits 0. It uses the same database as `skillsbot run` (DATABASE_URL), so
reports and exports cover what was answered in the playground. `skillsbot run` starts it
when no TELEGRAM_BOT_TOKEN is set.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.commands.database import checked_database_url, engine_or_exit
from bot.logs import configure_logging
from bot.playground.runner import PLAYGROUND_TOKEN, Playground, PlaygroundError
from bot.settings import Settings, SettingsError, exit_with, interview_or_exit
from storage import database_problem, upgrade

PORT_VARIABLE = "SKILLSBOT_PLAYGROUND_PORT"
DEFAULT_PORT = 8080
NO_TOKEN = (
    "skillsbot: TELEGRAM_BOT_TOKEN is not set, so here is the playground instead "
    "(the real bot against a pretend Telegram, in your browser)."
)


def _port_setting() -> int:
    raw = os.environ.get(PORT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{PORT_VARIABLE} must be a port number (1-65535)")
    return int(raw)


class _TokenSetting(BaseSettings):
    """Only TELEGRAM_BOT_TOKEN, read the way `Settings` reads it (environment, .env)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )
    token: str = Field(default="", validation_alias="TELEGRAM_BOT_TOKEN")


def token_missing(*, env_file: Path | str | None = ".env") -> bool:
    """True when no TELEGRAM_BOT_TOKEN is set (or it is blank), in the environment or .env."""
    setting = _TokenSetting(_env_file=env_file)  # type: ignore[call-arg]
    return not setting.token.strip()


def playground_settings(*, env_file: Path | str | None = ".env") -> Settings:
    """The bot's settings with the playground's fixed token in place of TELEGRAM_BOT_TOKEN."""
    try:
        return Settings(_env_file=env_file, TELEGRAM_BOT_TOKEN=PLAYGROUND_TOKEN)  # type: ignore[call-arg]
    except ValidationError as error:
        problem = error.errors()[0]
        variable = str(problem["loc"][0]).upper() if problem["loc"] else "a setting"
        if problem["type"] == "missing":
            raise SettingsError(f"{variable} is not set") from None
        raise SettingsError(f"{variable} cannot be used; please check its value") from None


def playground(
    port: int = typer.Option(
        DEFAULT_PORT, min=1, max=65535, envvar=PORT_VARIABLE, help="Port of the chat page."
    ),
    host: str = typer.Option("127.0.0.1", help="Address the chat page listens on."),
) -> None:
    """Try skillsbot in your browser: the real bot against a pretend Telegram."""
    start_playground(host=host, port=port)


def start_playground(*, host: str = "127.0.0.1", port: int | None = None) -> NoReturn:
    """Run the playground until Ctrl+C (or SIGTERM), then exit 0; problems exit 1 or 2.

    Without ``port``, SKILLSBOT_PLAYGROUND_PORT or 8080.
    """
    # A malformed DATABASE_URL in the words every command uses (the settings only name it).
    checked_database_url()
    try:
        settings = playground_settings()
        port = port if port is not None else _port_setting()
    except SettingsError as error:
        exit_with(str(error), code=2)
    configure_logging(settings.log_level)
    interview = interview_or_exit(settings)
    database = engine_or_exit(settings.database_url)
    try:
        upgrade(database)
    except Exception as error:  # the database is down or refuses us: say so, no traceback
        exit_with(database_problem(database, error), code=1)
    try:
        code = asyncio.run(
            _serve(
                Playground(
                    database=database,
                    interview=interview,
                    area=settings.area,
                    zone=settings.zone,
                    host=host,
                    port=port,
                )
            )
        )
    finally:
        database.dispose()
    raise SystemExit(code)


async def _serve(playground: Playground) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        try:
            await playground.start()
        except PlaygroundError as error:
            print(f"skillsbot: {error}", file=sys.stderr)
            return 1
        print(
            f"skillsbot playground: open {playground.url} in your browser (Ctrl+C stops it).",
            flush=True,
        )
        bot_stopped = asyncio.ensure_future(playground.wait_until_bot_stops())
        asked = asyncio.ensure_future(stopping.wait())
        await asyncio.wait([bot_stopped, asked], return_when=asyncio.FIRST_COMPLETED)
        bot_stopped.cancel()
        asked.cancel()
        failed = not stopping.is_set()
        await playground.stop()
        if failed:
            print(
                "skillsbot: the playground's bot stopped unexpectedly; see the log above.",
                file=sys.stderr,
            )
            return 1
        print("skillsbot playground: stopped.", flush=True)
        return 0
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
