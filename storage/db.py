"""Database engines, migrations and the per-chat transaction.

SQLite (the default, `sqlite:///./skillsbot.db`) and PostgreSQL are both supported. Every
function here is synchronous; `storage.units` runs a unit of work for async code.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

from storage import locks

DATABASE_URL_VARIABLE = "DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///./skillsbot.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
MIGRATIONS_DIRECTORY = Path(__file__).parent / "migrations"
_BAD_PORT = f"{DATABASE_URL_VARIABLE} names a port that is not a number from 1 to 65535"


class InvalidDatabaseURL(ValueError):
    """DATABASE_URL is not a SQLite or PostgreSQL URL we can use.

    The message never repeats the URL itself, which may hold a password.
    """


class WriterBusy(RuntimeError):
    """Someone else is writing to the SQLite database (raised only when asked not to wait)."""


class ForeignWriter(WriterBusy):
    """SQLite's own write lock is held by a program that does not queue on skillsbot's
    writer lock (a shell, a backup...), which may hold it for long."""


# The execution option that makes SQLite's BEGIN IMMEDIATE fail at once when busy.
_NO_WAIT = "skillsbot_no_wait"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened (the message names no URL or password)."""


class UnknownRevision(RuntimeError):
    """The database is at a migration this version of skillsbot does not ship (a newer one?)."""


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The database URL from `DATABASE_URL` (or the default SQLite file)."""
    env = os.environ if environ is None else environ
    return env.get(DATABASE_URL_VARIABLE) or DEFAULT_DATABASE_URL


def normalise_url(url: str) -> URL:
    """Parse a database URL; `postgres://` and `postgresql://` get the psycopg 3 driver."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise InvalidDatabaseURL(
            f"{DATABASE_URL_VARIABLE} is not a database URL; expected "
            "sqlite:///PATH or postgresql://USER@HOST/DATABASE"
        ) from None
    except ValueError:  # SQLAlchemy's parser calls int() on the port
        raise InvalidDatabaseURL(_BAD_PORT) from None
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidDatabaseURL(_BAD_PORT)
    backend, _, driver = parsed.drivername.partition("+")
    if backend in {"postgres", "postgresql"}:
        if driver not in {"", "psycopg"}:
            raise InvalidDatabaseURL(
                f"{DATABASE_URL_VARIABLE} names the PostgreSQL driver {driver!r}; "
                "only psycopg (version 3) is installed"
            )
        if not parsed.database:
            raise InvalidDatabaseURL(f"{DATABASE_URL_VARIABLE} names no PostgreSQL database")
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if driver not in {"", "pysqlite"}:
            raise InvalidDatabaseURL(
                f"{DATABASE_URL_VARIABLE} names the SQLite driver {driver!r}; use sqlite:///PATH"
            )
        return parsed
    raise InvalidDatabaseURL(
        f"{DATABASE_URL_VARIABLE} must start with sqlite:// or postgresql:// "
        f"(got the scheme {backend!r})"
    )


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, set up for concurrent writers.

    SQLite: WAL, foreign keys on, a busy timeout, and every transaction opened with
    `BEGIN IMMEDIATE`, so writers (threads or processes) queue for the write lock instead
    of failing with "database is locked" when a read turns into a write.
    PostgreSQL: a pool of ten connections, not pinged before each use (a round trip that
    cost a fifth of the bot's time under load): a connection the server dropped fails its
    unit of work, SQLAlchemy then discards the whole pool, and the unit is tried again.
    """
    parsed = normalise_url(url)
    # hide_parameters: an error's message never quotes the values of a statement (answers,
    # chat ids), so a logged traceback carries no personal data.
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_size=10, max_overflow=5, hide_parameters=True)
    engine = create_engine(
        parsed,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        hide_parameters=True,
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module (see `_begin_immediate`).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_immediate(connection: Any) -> None:
    # SQLAlchemy's recipe for pysqlite: we emit BEGIN ourselves. IMMEDIATE takes the write
    # lock at once (waiting up to the busy timeout), so a transaction never has to upgrade
    # a read lock, which SQLite refuses with SQLITE_BUSY without waiting.
    if not connection.get_execution_options().get(_NO_WAIT):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as error:
        if getattr(error.orig, "sqlite_errorname", "") not in {"SQLITE_BUSY", "SQLITE_LOCKED"}:
            raise
        raise ForeignWriter("another program is writing to the SQLite database") from None
    finally:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()


def _engine_for(url_or_engine: str | Engine) -> tuple[Engine, bool]:
    if isinstance(url_or_engine, Engine):
        return url_or_engine, False
    return make_engine(url_or_engine), True


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY))
    return config


def database_problem(engine: Engine, error: Exception) -> str:
    """One line on why opening or migrating the database failed, for a command that caught
    whatever it raised: storage's own message when it wrote one, else which database (never
    the URL, which may hold a password)."""
    if isinstance(error, DatabaseUnavailable | UnknownRevision):
        return str(error)
    kind = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
    reason = "" if isinstance(error, OperationalError) else f" ({type(error).__name__})"
    return f"Could not open the {kind} database named by {DATABASE_URL_VARIABLE}{reason}."


def ensure_reachable(engine: Engine) -> None:
    """Open a connection once; raise `DatabaseUnavailable` if the database cannot be used."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        raise DatabaseUnavailable(database_problem(engine, error)) from error


def head_revision() -> str:
    """The newest migration shipped with this version of skillsbot."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "storage/migrations has no revisions"
    return head


def upgrade(url_or_engine: str | Engine) -> str:
    """Apply every pending migration (idempotent) and return the revision reached."""
    engine, owned = _engine_for(url_or_engine)
    try:
        config = _alembic_config()
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # two processes upgrading one database at once take turns
                locks.lock_for_transaction(connection, locks.MIGRATIONS)
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, "head")
            except CommandError as error:
                raise UnknownRevision(
                    "The database is at a revision this version of skillsbot does not know"
                    f" (this version goes up to {head_revision()}); is a newer skillsbot in use?"
                ) from error
        revision = current_revision(engine)
        assert revision is not None
        return revision
    finally:
        if owned:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def pending_migrations(engine: Engine) -> bool:
    """True when the database is not at the newest migration."""
    return current_revision(engine) != head_revision()


def concurrent_writers(engine: Engine) -> int:
    """How many transactions can usefully write at once: SQLite 1, PostgreSQL its pool."""
    if engine.dialect.name == "postgresql":
        return int(getattr(engine.pool, "size", lambda: 5)())
    return 1


@contextmanager
def chat_transaction(
    engine: Engine, chat_id: int, *, lock_chat: bool = True, wait: bool = True
) -> Iterator[Session]:
    """One transaction for one Telegram update, holding the chat's lock across processes.

    PostgreSQL takes the chat's advisory lock (`storage.locks`; unless `lock_chat` is False, for a
    write that is safe without it); SQLite's `BEGIN IMMEDIATE` already lets one writer in
    at a time, and writers of this and other skillsbot processes queue on a lock first
    (`_WriterLock`), so they are let in as soon as the last one commits instead of polling
    SQLite's busy handler. With `wait=False` (SQLite only), `WriterBusy` is raised at once
    instead of waiting for another writer, before anything has been done; its subclass
    `ForeignWriter` when the writer is a program that skips skillsbot's lock. Commits on
    success, rolls back on an exception. Objects stay readable after the block (they are
    not expired on commit).
    """
    postgres = engine.dialect.name == "postgresql"
    with contextlib.ExitStack() as stack:
        if not postgres:
            lock = _sqlite_writer_lock(engine)
            if not lock.acquire(blocking=wait):
                raise WriterBusy("another thread or process is writing")
            stack.callback(lock.release)
        session = stack.enter_context(Session(engine, expire_on_commit=False))
        stack.enter_context(session.begin())
        if postgres and lock_chat:
            locks.lock_for_transaction(session, locks.chat_lock_name(chat_id))
        elif not postgres:  # emits BEGIN IMMEDIATE now: take the write lock
            session.connection(execution_options={_NO_WAIT: not wait})
        yield session


class _WriterLock:
    """Who may write to a SQLite database next: a thread lock within this process, and an
    advisory lock on a file beside the database (`<database>-writer`) between processes.

    SQLite's own lock makes a waiting writer sleep and retry (1, 2, 5, 10... ms), so under
    load the database sat idle while writers slept; with several worker processes that cut
    the bot's throughput to one process's. A waiter blocked on `flock` is woken the moment
    the writer lets go. SQLite's lock still guards against processes that skip this one.
    """

    def __init__(self, database: str | None) -> None:
        self._thread_lock = threading.Lock()
        self._file: int | None = None
        self._path = f"{database}-writer" if database and database != ":memory:" else None

    def acquire(self, *, blocking: bool) -> bool:
        """Take both locks (False, holding neither, when not `blocking` and one is taken)."""
        if not self._thread_lock.acquire(blocking=blocking):
            return False
        if self._path is None:
            return True
        try:
            if self._file is None:
                self._file = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._file, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            self._thread_lock.release()
            return False
        except BaseException:
            self._thread_lock.release()
            raise
        return True

    def release(self) -> None:
        """Let the next writer in."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._thread_lock.release()

    def __del__(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.close(self._file)


_writer_locks: weakref.WeakKeyDictionary[Engine, _WriterLock] = weakref.WeakKeyDictionary()
_writer_locks_guard = threading.Lock()


def _sqlite_writer_lock(engine: Engine) -> _WriterLock:
    """This process's lock for writing to a SQLite engine's database."""
    with _writer_locks_guard:
        lock = _writer_locks.get(engine)
        if lock is None:
            lock = _writer_locks[engine] = _WriterLock(engine.url.database)
        return lock
