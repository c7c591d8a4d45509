"""A worker process of `skillsbot run` with SKILLSBOT_WORKERS > 1 (see `bot.workers`).

Started by the polling process, never by hand: `python -m bot.commands.worker` with the
same settings as its parent and its end of a socket pair named by SKILLSBOT_WORKER_FD. It
handles the updates it is sent until the connection closes, then finishes what it has in
hand and exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket

from bot.app import freeze_startup_heap
from bot.commands.run import build_employer_bot
from bot.logs import configure_logging
from bot.settings import Settings, exit_with, interview_or_exit, settings_or_exit
from bot.workers import FD_VARIABLE, INDEX_VARIABLE, LINE_LIMIT, serve_updates
from conversations.definition import Interview
from storage import Engine, make_engine


def main() -> None:
    """Serve updates from the parent process until it closes the connection."""
    # The parent decides when we stop (a service manager signals the whole group at once).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        fd = int(os.environ[FD_VARIABLE])
        index = int(os.environ.get(INDEX_VARIABLE, "0"))
    except (KeyError, ValueError):
        exit_with(f"a worker is started by `skillsbot run` ({FD_VARIABLE} is not set)", code=2)
    settings = settings_or_exit()
    configure_logging(settings.log_level, worker=index)
    interview = interview_or_exit(settings)
    database = make_engine(settings.database_url)  # the parent has migrated it
    try:
        asyncio.run(_serve(settings, interview, database, fd))
    finally:
        database.dispose()


async def _serve(settings: Settings, interview: Interview, database: Engine, fd: int) -> None:
    employer_bot = build_employer_bot(settings, interview, database, scheduled=False)
    freeze_startup_heap()
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd), limit=LINE_LIMIT)
    try:
        await serve_updates(employer_bot.handle, reader, writer)
    finally:
        await employer_bot.broadcaster.shutdown()
        await employer_bot.close()


if __name__ == "__main__":
    main()
