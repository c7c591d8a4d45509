"""Running a unit of work (one transaction for one chat) from async code.

`Units.run(chat_id, work, *args)` calls `work(session, *args)` inside
`chat_transaction(engine, chat_id)` and returns its result: the caller writes plain
synchronous repository code and never sees where it ran. `Units.call(work, *args)` is the
same for a unit that is no one chat's (one transaction, no chat lock: a broadcast's claim,
the outbox's), and `Units.read(work, *args)` for one that only reads (`storage.reading`:
on SQLite it never waits for a writer). This is the one way async code in `bot/` reaches
the database. Where a unit runs depends on the database:

- SQLite: on the event loop itself. A unit takes a millisecond or two, and handing it to a
  thread and back cost more than that. If another writer of this process (a thread)
  holds the database, the unit waits for it right there, up to 50 ms: waiting on a thread
  instead let the unit run there afterwards, fighting the event loop for the GIL while it
  held the database. A longer wait, or a program outside the process holding SQLite's lock
  (`ForeignWriter`: a shell, a backup, another command), sends the unit to a thread.
- PostgreSQL: on a pool of threads, one per connection, as it waits on the network.
  Tried and measured worse: SQLAlchemy's asyncio extension on psycopg's async connections
  (at 120 answers/s offered, two workers kept up on threads with p50 237 ms but fell
  behind on the event loop, p50 1.8 s: each round trip waited for a turn of the busy loop
  while the unit held its connection); and units inline on the loop, each round trip
  blocking it (238 against 289 answers/s).

`Units.slow` runs the same units always on a thread, on SQLite too: for the few that may
take long (a whole list read, a broadcast's thousands of delivery rows made, the daily
jobs), which no other chat's answer should wait on behind the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, exc
from sqlmodel import Session

from storage.db import (
    DatabaseUnavailable,
    ForeignWriter,
    WriterBusy,
    chat_transaction,
    concurrent_writers,
    reading,
)

# SQLite's codes for a database that is busy or cannot be read or written just now; its
# other OperationalErrors (no such table, say) would fail the same way every time.
_SQLITE_PASSING = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL")
# PostgreSQL's SQLSTATE classes of the same kind: connection exceptions, transactions rolled
# back (deadlock, serialisation), insufficient resources, the server shutting down or
# starting. Its other OperationalErrors (a statement cancelled, a program limit) repeat.
_POSTGRESQL_PASSING = ("08", "40", "53", "57P01", "57P02", "57P03")


def is_transient(error: BaseException) -> bool:
    """Whether a unit failed because the database is away or busy, so that the same unit
    may well succeed later: a lost or refused connection, an exhausted pool, a locked SQLite
    file. Constraint violations and programming errors are not: they fail every time."""
    if isinstance(error, WriterBusy | DatabaseUnavailable | exc.TimeoutError):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.InterfaceError):
        return True
    if isinstance(error, exc.OperationalError):
        name = getattr(error.orig, "sqlite_errorname", None)
        if name is not None:
            return bool(name.startswith(_SQLITE_PASSING))
        state = getattr(error.orig, "sqlstate", None)  # PostgreSQL's; None: never connected
        return state is None or state.startswith(_POSTGRESQL_PASSING)
    return False


def is_dropped_connection(error: BaseException) -> bool:
    """Whether a unit failed on a pooled connection the server had dropped (a restart, a
    failover, a terminated backend): the pool is discarded then, and the same unit may be
    tried again at once on a fresh connection."""
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)


P = ParamSpec("P")
T = TypeVar("T")

# How long a unit waits on the event loop for a busy SQLite database, and how often it
# tries again meanwhile (seconds).
INLINE_WAIT_SECONDS = 0.05
INLINE_RETRY_SECONDS = 0.0002


class Units:
    """Runs units of work against one database; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inline = concurrent_writers(engine) == 1  # SQLite
        self._threads = ThreadPoolExecutor(
            max_workers=concurrent_writers(engine), thread_name_prefix="skillsbot-db"
        )
        self._owns_threads = True

    @functools.cached_property
    def slow(self) -> Units:
        """These units, always on a thread (on SQLite too), sharing this one's threads:
        for a unit that may take long, which the event loop should not wait on."""
        twin = Units.__new__(Units)
        twin.engine = self.engine
        twin._inline = False
        twin._threads = self._threads
        twin._owns_threads = False
        return twin

    async def run(
        self,
        chat_id: int | None,
        work: Callable[Concatenate[Session, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`work(session, *args, **kwargs)` in one transaction holding the chat's lock.

        With `chat_id` None no chat is locked: for writes that are safe without it (see
        `storage.set_prompt_messages`).
        """
        if self._inline:
            # Another writer (a thread) holds the database for a millisecond or two: wait
            # for it right here, briefly (see the module docstring).
            deadline = time.monotonic() + INLINE_WAIT_SECONDS
            while True:
                try:
                    return _unit(self.engine, chat_id, work, args, kwargs, wait=False)
                except ForeignWriter:
                    break  # a program outside skillsbot may write for long: use a thread
                except WriterBusy:
                    pass  # nothing was done
                if time.monotonic() >= deadline:
                    break  # a long writer: wait for it on a thread
                time.sleep(INLINE_RETRY_SECONDS)  # noqa: ASYNC251 (deliberate, see above)
        unit = functools.partial(_unit, self.engine, chat_id, work, args, kwargs, wait=True)
        return await self._on_thread(unit)

    async def call(
        self,
        work: Callable[Concatenate[Session, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`work(session, *args, **kwargs)` in one transaction that holds no chat's lock:
        a unit of work that is no one chat's (a broadcast's claim, the outbox's)."""
        return await self.run(None, work, *args, **kwargs)

    async def read(
        self,
        work: Callable[Concatenate[Session, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`work(session, *args, **kwargs)` on a connection that only reads
        (`storage.reading`), nothing committed: on SQLite on the event loop (under WAL it
        never waits for a writer nor holds one up), on PostgreSQL on a thread."""
        unit = functools.partial(_read, self.engine, work, args, kwargs)
        if self._inline:
            return unit()
        return await self._on_thread(unit)

    async def _on_thread(self, unit: Callable[[], T]) -> T:
        # With the caller's context, as asyncio.to_thread does: the inbox lease a worker
        # declared (storage.inbox.holding) fences the unit's claim of its update.
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, functools.partial(context.run, unit)
        )

    async def aclose(self) -> None:
        """Let the threads go (after the last unit has finished)."""
        if self._owns_threads:
            self._threads.shutdown(wait=True)


def _unit(
    engine: Engine,
    chat_id: int | None,
    work: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    wait: bool,
) -> T:
    locking = chat_id is not None
    with chat_transaction(engine, chat_id or 0, lock_chat=locking, wait=wait) as session:
        return work(session, *args, **kwargs)


def _read(
    engine: Engine, work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> T:
    with reading(engine) as connection, Session(bind=connection) as session:
        return work(session, *args, **kwargs)
