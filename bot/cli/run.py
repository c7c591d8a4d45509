"""`skillsbot run`: start the employer bot with long polling.

Settings come from the environment and `.env`, read once (see `bot.settings`). Pending
migrations are applied, the interview is loaded for the configured area, the commands are
registered, then the bot polls Telegram into the inbox and handles the inbox's updates
until SIGTERM or SIGINT: it stops fetching, confirms the offset of what it wrote, lets the
updates in hand finish and commit, closes its session and exits 0. Problems with settings
or the interview exit 2 with a short message; another bot polling the token exits 1.

On SQLite one process serves the database: a second `skillsbot run` on it exits 2 with one
line. On PostgreSQL any number share the inbox's work, and one of them at a time polls.

With SKILLSBOT_WEBHOOK_URL set it serves Telegram's webhook instead of polling (see
`bot.runtime.webhook`): it listens on SKILLSBOT_WEBHOOK_LISTEN, calls setWebhook, and writes each
update to the inbox before answering 200. Without it, deleteWebhook is called first.

Without a token it starts the playground on the playground's own database, never on
DATABASE_URL; and when DATABASE_URL's database holds data (a production bot that lost its
token), it refuses with one line and exit 2 instead, so nobody mistakes the one for the
other.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

import click

from bot.cli import playground
from bot.cli.database import checked_database_url, engine_or_exit
from bot.core.staff import seed_setting_roles
from bot.logs import configure_logging
from bot.runtime.app import build_employer_bot, freeze_startup_heap
from bot.runtime.webhook import ListenFailed, telegram_updates
from bot.settings import (
    Settings,
    exit_with,
    interview_or_exit,
    run_settings_or_exit,
)
from bot.transports import PollingConflict, Unauthorized
from conversations.definition import Interview
from storage import AnotherProcess, Engine, database_problem, make_engine, sole_process, upgrade
from storage import inbox as inbox_store
from storage.ownership import DatabaseUse, database_use

logger = logging.getLogger("skillsbot.run")
CONFLICT = (
    "skillsbot: another bot process is polling this token (Telegram said 409 Conflict); stopping."
)
UNAUTHORIZED = "skillsbot: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized); stopping."
ANOTHER_PROCESS = (
    "another `skillsbot run` serves this SQLite database (one process only on SQLite; "
    "use PostgreSQL to run several)."
)
NO_TOKEN_ON_REAL_DATA = (
    "TELEGRAM_BOT_TOKEN is not set, and the database named by DATABASE_URL holds real data; "
    "set the token to run the bot (`skillsbot playground` tries skillsbot on a database of "
    "its own)."
)


def run() -> None:
    """Start the bot, polling or on webhooks (without a token: the browser playground instead)."""
    # Read and checked by the CLI before this module was imported (bot.cli), else here.
    ctx = click.get_current_context(silent=True)
    given = ctx.obj if ctx is not None else None
    settings = given if isinstance(given, Settings) else run_settings_or_exit()
    if not settings.has_token:
        refuse_real_data_without_token(settings.database_url)
        print(playground.NO_TOKEN, flush=True)
        playground.start_playground(read=settings)
    configure_logging(settings.log_level)
    interview = interview_or_exit(settings)
    database = engine_or_exit(settings.database_url)
    try:
        with sole_process(database):
            try:
                upgrade(database)
                seed_setting_roles(database, admins=settings.admins, analysts=settings.analysts)
                if database.dialect.name == "sqlite":  # leases of a predecessor that died
                    inbox_store.release(database)
            except Exception as error:  # the database is down or refuses us: say so
                exit_with(database_problem(database, error), code=1)
            code = asyncio.run(serve(settings, interview, database))
    except AnotherProcess:
        exit_with(ANOTHER_PROCESS, code=2)
    finally:
        database.dispose()
    raise SystemExit(code)


def refuse_real_data_without_token(database_url: str) -> None:
    """Exit 2 with one line when DATABASE_URL's database holds data the playground did not
    write: without a token, that is a production bot misconfigured, not someone trying."""
    url = checked_database_url(database_url)
    try:
        use = database_use(url)
    except Exception as error:  # cannot tell: say why, as every command does, and stop
        engine = make_engine(url)
        try:
            exit_with(database_problem(engine, error), code=1)
        finally:
            engine.dispose()
    if use is DatabaseUse.IN_USE:
        exit_with(NO_TOKEN_ON_REAL_DATA, code=2)


# The garbage collector's young-generation threshold for the bot (CPython's is 700).
YOUNG_COLLECTION_THRESHOLD = 20_000


def collect_garbage_less_often() -> None:
    """Raise the young generation's threshold, the older generations' kept.

    Nearly everything an update allocates dies by reference counting, but at the default
    threshold the collector still ran about 6,000 young, 560 middle and 52 full collections
    in a burst of 300 employers (10,000 answers): 4-6 s of CPU, an eighth of the bot's. At
    20,000 it ran 38, 2 and 1 (0.8 s); peak memory stayed at 254 MB.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


async def serve(settings: Settings, interview: Interview, database: Engine) -> int:
    """Poll until a signal asks us to stop; the exit code."""
    bot = build_employer_bot(settings, interview, database)
    freeze_startup_heap()
    collect_garbage_less_often()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, bot.stop)
    mode = "webhook" if settings.webhook_url else "polling"
    logger.info("event=%s interview=%s version=%s", mode, interview.id, interview.version)
    try:
        async with telegram_updates(bot, settings) as polling:
            await bot.run(polling=polling)
    except ListenFailed as error:
        print(f"skillsbot: {error}; stopping.", file=sys.stderr)
        return 1
    except PollingConflict:
        print(CONFLICT, file=sys.stderr)
        return 1
    except Unauthorized:
        print(UNAUTHORIZED, file=sys.stderr)
        return 1
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await bot.close()
    logger.info("event=stopped")
    return 0
