"""`skillsbot playground`: try the real bot in a browser, without a Telegram bot token.

It starts the fake Telegram, the real bot on a webhook the fake pushes to (or polling it,
with `--polling`) and a chat page (see
`bot.devtools.playground.runner`), prints the page's address and runs until Ctrl+C, then stops all
three cleanly and exits 0. It never uses DATABASE_URL: it works on a database of its own,
`./skillsbot-playground.db`, or the one `--database` names on purpose, and refuses a
database a real bot has used (see `storage.ownership`). `skillsbot run` starts it when no
TELEGRAM_BOT_TOKEN is set, unless DATABASE_URL's database holds data: then it refuses.

The page listens on loopback only, unless `--unsafe-listen-anywhere` allows another
address (with a warning): whoever reaches the page can act as the playground's admin.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import SecretStr, ValidationError

from bot.settings import Settings, SettingsError, exit_with, interview_or_exit

if TYPE_CHECKING:
    from bot.devtools.playground.runner import Playground
    from conversations.definition import Interview
    from storage import Engine

PLAYGROUND_DATABASE = "sqlite:///./skillsbot-playground.db"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
NOT_LOOPBACK = (
    "--host {host} is not this machine's loopback address: anyone who can reach it could act "
    "as the playground's admin; add --unsafe-listen-anywhere if you really mean it"
)
LISTENING_ANYWHERE = (
    "skillsbot: WARNING: the playground listens on {host}, beyond this machine; anyone who "
    "reaches that address can use it as any of its people, the admin included."
)
NO_TOKEN = (
    "skillsbot: TELEGRAM_BOT_TOKEN is not set, so here is the playground instead "
    "(the real bot against a pretend Telegram, in your browser, on a database of its own: "
    "./skillsbot-playground.db)."
)


def playground_settings(
    *,
    env_file: Path | str | None = ".env",
    database: str = PLAYGROUND_DATABASE,
    read: Settings | None = None,
) -> Settings:
    """The bot's settings with the playground's fixed token in place of TELEGRAM_BOT_TOKEN
    and its own database in place of DATABASE_URL: those `read` already (by `skillsbot
    run`), else read here."""
    from bot.devtools.playground.runner import (
        PLAYGROUND_TOKEN,  # the Telegram layer: only when used
    )

    if read is not None:
        return read.model_copy(
            update={"token": SecretStr(PLAYGROUND_TOKEN), "database_url": database}
        )
    try:
        return Settings(  # type: ignore[call-arg]
            _env_file=env_file, TELEGRAM_BOT_TOKEN=PLAYGROUND_TOKEN, DATABASE_URL=database
        )
    except ValidationError as error:
        problem = error.errors()[0]
        variable = str(problem["loc"][0]).upper() if problem["loc"] else "a setting"
        if problem["type"] == "missing":
            raise SettingsError(f"{variable} is not set") from None
        raise SettingsError(f"{variable} cannot be used; please check its value") from None


def playground(
    port: int | None = typer.Option(
        None,
        min=1,
        max=65535,
        help="Port of the chat page [default: SKILLSBOT_PLAYGROUND_PORT, else 8080].",
        show_default=False,
    ),
    host: str = typer.Option(
        "127.0.0.1",
        help="Address the chat page listens on (loopback unless --unsafe-listen-anywhere).",
    ),
    database: str = typer.Option(
        PLAYGROUND_DATABASE,
        "--database",
        help="The playground's own database: a SQLite file or a database URL. Never one a "
        "real bot has used (refused).",
    ),
    unsafe_listen_anywhere: bool = typer.Option(
        False, "--unsafe-listen-anywhere", help="Allow --host other than loopback."
    ),
    polling: bool = typer.Option(
        False,
        "--polling",
        help="The bot polls the pretend Telegram instead of receiving "
        "its updates on a webhook (the default, as in production).",
    ),
) -> None:
    """Try skillsbot in your browser: the real bot against a pretend Telegram."""
    if host.strip("[]").casefold() not in LOOPBACK_HOSTS:
        if not unsafe_listen_anywhere:
            exit_with(NOT_LOOPBACK.format(host=host), code=2)
        print(LISTENING_ANYWHERE.format(host=host), file=sys.stderr, flush=True)
    start_playground(
        host=host.strip("[]"),
        port=port,
        database=playground_database_url(database),
        receive="polling" if polling else "webhook",
    )


def playground_database_url(value: str) -> str:
    """``--database`` as a URL: a URL as given, a plain path as a SQLite file; a malformed
    URL is one line and exit 2."""
    from storage import InvalidDatabaseURL, normalise_url

    url = value if "://" in value else f"sqlite:///{value}"
    try:
        normalise_url(url)
    except InvalidDatabaseURL as error:
        exit_with(str(error).replace("DATABASE_URL", "--database"), code=2)
    return url


def start_playground(
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    database: str = PLAYGROUND_DATABASE,
    read: Settings | None = None,
    receive: str = "webhook",
) -> NoReturn:
    """Run the playground on its own ``database`` until Ctrl+C (or SIGTERM), then exit 0;
    problems exit 1 or 2. Without ``port``, SKILLSBOT_PLAYGROUND_PORT (default 8080). The
    settings `read` by `skillsbot run` are used as they are, else they are read here.
    """
    # Imported here, not above: the Telegram layer takes seconds to import.
    from bot.devtools.playground.runner import PlaygroundError, refuse_foreign_database
    from bot.logs import configure_logging
    from storage import database_problem, make_engine, upgrade

    try:
        settings = playground_settings(database=database, read=read)
    except SettingsError as error:
        exit_with(str(error), code=2)
    configure_logging(settings.log_level)
    interview = interview_or_exit(settings)
    engine = make_engine(database)
    try:
        refuse_foreign_database(engine)  # before anything is written: never a real bot's
        upgrade(engine)
    except PlaygroundError as error:
        engine.dispose()
        exit_with(str(error), code=2)
    except Exception as error:  # the database is down or refuses us: say so, no traceback
        engine.dispose()
        exit_with(database_problem(engine, error).replace("DATABASE_URL", "--database"), code=1)
    code = _run(
        engine,
        interview,
        settings,
        host=host,
        port=port if port is not None else settings.playground_port,
        receive=receive,
    )
    raise SystemExit(code)


def _run(
    engine: Engine,
    interview: Interview,
    settings: Settings,
    *,
    host: str,
    port: int,
    receive: str = "webhook",
) -> int:
    from bot.devtools.playground.runner import Playground

    try:
        return asyncio.run(
            _serve(
                Playground(
                    database=engine,
                    interview=interview,
                    settings=settings,
                    host=host,
                    port=port,
                    receive=receive,
                )
            )
        )
    finally:
        engine.dispose()


async def _serve(playground: Playground) -> int:
    from bot.devtools.playground.runner import PlaygroundError

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
