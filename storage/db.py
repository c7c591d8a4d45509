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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
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
    """SQLite's own write lock is held by something that does not queue on this process's
    writer lock (a shell, a backup, another command...), which may hold it for long."""


# The execution option that makes SQLite's BEGIN IMMEDIATE fail at once when busy.
_NO_WAIT = "skillsbot_no_wait"
# The execution option of a transaction that only reads (SQLite: a deferred BEGIN).
_READ_ONLY = "skillsbot_read_only"
_BUSY_TIMEOUT_MS = SQLITE_BUSY_TIMEOUT_SECONDS * 1000
# Where a SQLite connection's busy timeout is noted (its pool record's info, which lives as
# long as the connection itself).
_BUSY_TIMEOUT_NOTE = "skillsbot_busy_timeout_ms"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened (the message names no URL or password)."""


class UnknownRevision(RuntimeError):
    """The database is at a migration this version of skillsbot does not ship (a newer one?)."""


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


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


# libpq's connection settings for the main engine (the lock connections' are in
# storage.locks): seconds to connect, and TCP keepalives.
POSTGRES_CONNECT_ARGS: dict[str, int] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, set up for concurrent writers.

    SQLite: WAL, foreign keys on, a busy timeout, and every transaction opened with
    `BEGIN IMMEDIATE`, so writers (threads or processes) queue for the write lock instead
    of failing with "database is locked" when a read turns into a write.
    PostgreSQL: a pool of ten connections, not pinged before each use (a round trip that
    cost a fifth of the bot's time under load): a connection the server dropped fails its
    unit of work, SQLAlchemy then discards the whole pool, and the unit is tried again
    (`storage.is_dropped_connection`). Connecting gives up after 5 s; TCP keepalives on.
    """
    parsed = normalise_url(url)
    # hide_parameters: an error's message never quotes the values of a statement (answers,
    # chat ids), so a logged traceback carries no personal data.
    if parsed.get_backend_name() == "postgresql":
        # A server that cannot be reached fails a connect in seconds, not after the
        # system's TCP timeout; keepalives notice a server machine that vanished under an
        # idle pooled connection (the values given in the URL, if any, win).
        connect_args = {
            key: value for key, value in POSTGRES_CONNECT_ARGS.items() if key not in parsed.query
        }
        return create_engine(
            parsed, pool_size=10, max_overflow=5, hide_parameters=True, connect_args=connect_args
        )
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
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_immediate(connection: Any) -> None:
    # SQLAlchemy's recipe for pysqlite: we emit BEGIN ourselves. IMMEDIATE takes the write
    # lock at once (waiting up to the busy timeout), so a transaction never has to upgrade
    # a read lock, which SQLite refuses with SQLITE_BUSY without waiting. A read-only
    # transaction (`reading`) begins DEFERRED: under WAL it never waits for a writer.
    options = connection.get_execution_options()
    if options.get(_READ_ONLY):
        _busy_timeout(connection, _BUSY_TIMEOUT_MS)
        connection.exec_driver_sql("BEGIN")
        return
    no_wait = bool(options.get(_NO_WAIT))
    _busy_timeout(connection, 0 if no_wait else _BUSY_TIMEOUT_MS)
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as error:
        busy = getattr(error.orig, "sqlite_errorname", "") in {"SQLITE_BUSY", "SQLITE_LOCKED"}
        if not no_wait or not busy:
            raise
        raise ForeignWriter("another program is writing to the SQLite database") from None


def _busy_timeout(connection: Any, milliseconds: int) -> None:
    """Give the SQLite connection this busy timeout for the BEGIN that follows (the only
    statement of a transaction that waits for a lock), if it has another one now.

    The connection keeps the last one set (noted in its pool record): setting the timeout
    before and after every transaction, as before, cost two statements each time, while the
    event loop's transactions (no waiting) nearly always follow one another.
    """
    info = connection.connection.info
    if info.get(_BUSY_TIMEOUT_NOTE, _BUSY_TIMEOUT_MS) == milliseconds:
        return
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
    finally:
        cursor.close()
    info[_BUSY_TIMEOUT_NOTE] = milliseconds


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


def answer_once(session: Session) -> None:
    """One round trip to the database, in the caller's session (a health check's unit)."""
    session.execute(text("SELECT 1"))


def head_revision() -> str:
    """The newest migration shipped with this version of skillsbot."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "storage/migrations has no revisions"
    return head


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> str:
    """Apply every pending migration (idempotent), or those up to `revision`, and return
    the revision reached."""
    return _migrate(url_or_engine, command.upgrade, revision)


def downgrade(url_or_engine: str | Engine, revision: str) -> str:
    """Undo the migrations after `revision` (for tests and for going back a version)."""
    return _migrate(url_or_engine, command.downgrade, revision)


def _migrate(url_or_engine: str | Engine, move: Any, revision: str) -> str:
    engine, owned = _engine_for(url_or_engine)
    try:
        config = _alembic_config()
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # two processes upgrading one database at once take turns
                locks.lock_for_transaction(connection, locks.MIGRATIONS)
            config.attributes["connection"] = connection
            try:
                move(config, revision)
            except CommandError as error:
                raise UnknownRevision(
                    "The database is at a revision this version of skillsbot does not know"
                    f" (this version goes up to {head_revision()}); is a newer skillsbot in use?"
                ) from error
        reached = current_revision(engine)
        assert reached is not None
        return reached
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
    at a time, and this process's writers queue on a thread lock first, so they are let in
    as soon as the last one commits instead of polling SQLite's busy handler (one process
    serves a SQLite database: `sole_process`). With `wait=False` (SQLite only), `WriterBusy`
    is raised at once instead of waiting for another writer, before anything has been done;
    its subclass `ForeignWriter` when the writer is outside this process. Commits on
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


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection that only reads. On SQLite its transaction begins DEFERRED, not
    IMMEDIATE: under WAL it neither waits for a writer nor holds one up, so it may run on
    the event loop (a read by key takes less than a thread's round trip). On PostgreSQL it
    is REPEATABLE READ. Either way the transaction begins here, so every statement of the
    block, those on the DB-API cursor (`storage.analytics_source.read_columns`) included,
    reads one snapshot: what several statements read agrees."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        else:
            connection.execution_options(**{_READ_ONLY: True})
        with connection.begin():
            yield connection


_writer_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_writer_locks_guard = threading.Lock()


def _sqlite_writer_lock(engine: Engine) -> threading.Lock:
    """This process's lock for writing to a SQLite engine's database (one writer at a time:
    a waiting thread is woken when the writer lets go, rather than polling SQLite's lock)."""
    with _writer_locks_guard:
        lock = _writer_locks.get(engine)
        if lock is None:
            lock = _writer_locks[engine] = threading.Lock()
        return lock


class AnotherProcess(RuntimeError):
    """Another `skillsbot run` already serves this SQLite database."""


@contextmanager
def sole_process(engine: Engine) -> Iterator[None]:
    """On SQLite, hold for the block a lock that only one process may hold (an advisory lock
    on `<database>-run.lock` beside the file; released by the system if the process dies);
    raise `AnotherProcess` at once when another holds it. On PostgreSQL, nothing: any
    number of processes share the work."""
    database = engine.url.database
    if engine.dialect.name == "postgresql" or not database or database == ":memory:":
        yield
        return
    descriptor = os.open(f"{database}-run.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AnotherProcess("another skillsbot process uses this SQLite database") from None
        yield
    finally:
        os.close(descriptor)
