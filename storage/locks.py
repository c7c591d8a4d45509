"""PostgreSQL advisory locks, keyed per deployment.

Advisory-lock keys are one number space for the whole PostgreSQL server, shared by every
database user and schema on it. A fixed number (`pg_advisory_xact_lock(42)`) would make two
deployments in different schemas of one server, or two tests running in parallel each in
its own schema, wait on each other. So every skillsbot lock is named, and its key is
derived on the server from the connection's schema (`current_schema()`, set by the
`search_path` of DATABASE_URL) and that name: every process of one deployment agrees on
it, another deployment gets another key.

Use these for any new lock (a polling or scheduler leader, a one-at-a-time job):

- `lock_for_transaction(session, name)`: wait for the lock; released at commit/rollback.
- `SessionLock(engine, name)`: a session-level lock held on a connection of its own for as
  long as the process lives (a leader, a process's own identity); see the class.
- `try_lock(connection, name)` / `unlock(connection, name)`: the same on a connection the
  caller holds open.
- `lock_key(connection, name)` / `holder_pid(connection, name)`: the number itself, and the
  server process holding it (from `pg_locks`), e.g. for tests and for staff.

Names are short fixed words (`migrations`, `rounds`), or a word and an id (`chat_lock_name`,
`polling_lock_name`, `inbox_owner_lock_name`, `cluster_lock_name`).
SQLite needs none of this: its writers already take turns, and there is one process.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine, TextClause, create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session

logger = logging.getLogger("skillsbot.locks")

# The key of the lock named by the bind parameter :lock_name, in the connection's schema.
# hashtextextended is PostgreSQL's own 64-bit string hash (PostgreSQL 11+); a schema-less
# search_path (no current_schema) still gets a key of its own.
KEY_SQL = "hashtextextended(coalesce(current_schema(), '') || '/' || :lock_name, 0)"

MIGRATIONS = "migrations"
ROUNDS = "rounds"


# Seconds of silence before the server, and the client, probe a session lock's connection,
# the gap between probes, and how many may go unanswered: a dead machine's locks are freed
# after about 5 + 2 * 3 = 11 s (a killed process's at once: its socket closes).
KEEPALIVE_IDLE = 5
KEEPALIVE_INTERVAL = 2
KEEPALIVE_COUNT = 3

# The prefix of the lock every process holds for its inbox owner id (see storage.inbox).
INBOX_OWNER_PREFIX = "inbox-owner/"


def chat_lock_name(chat_id: int) -> str:
    """The name of the lock held while one Telegram chat's update is handled."""
    return f"chat/{chat_id}"


def polling_lock_name(bot_id: int) -> str:
    """The lock of the one process polling Telegram for a bot."""
    return f"polling/{bot_id}"


def cluster_lock_name(role: str) -> str:
    """The lock of the one process of a cluster that plays `role` (clock, sender)."""
    return f"cluster/{role}"


def inbox_owner_lock_name(owner: str) -> str:
    """The lock a live process holds for its inbox owner id: while it is held, nobody takes
    the updates that owner leased (storage.inbox)."""
    return INBOX_OWNER_PREFIX + owner


def lock_for_transaction(session: Session | Connection, name: str) -> None:
    """Wait for the lock `name`; it is held until the transaction ends."""
    session.execute(_XACT_LOCK, {"lock_name": name})


def try_lock(connection: Connection, name: str) -> bool:
    """Take the session-level lock `name` if free (True), without waiting; it is held until
    `unlock` or until the connection closes."""
    return bool(connection.execute(_TRY_LOCK, {"lock_name": name}).scalar_one())


def unlock(connection: Connection, name: str) -> bool:
    """Release a session-level lock taken with `try_lock` (False if it was not held)."""
    return bool(connection.execute(_UNLOCK, {"lock_name": name}).scalar_one())


def lock_key(connection: Session | Connection, name: str) -> int:
    """The advisory-lock key of `name` in this connection's schema."""
    return int(connection.execute(_KEY, {"lock_name": name}).scalar_one())


_XACT_LOCK: TextClause = text(f"SELECT pg_advisory_xact_lock({KEY_SQL})")
_TRY_LOCK: TextClause = text(f"SELECT pg_try_advisory_lock({KEY_SQL})")
_UNLOCK: TextClause = text(f"SELECT pg_advisory_unlock({KEY_SQL})")
_KEY: TextClause = text(f"SELECT {KEY_SQL}")
_HOLDER: TextClause = text(
    f"SELECT pid FROM pg_locks, (SELECT {KEY_SQL} AS key) AS named"
    " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    " AND classid::bigint = (named.key >> 32) & 4294967295"
    " AND objid::bigint = named.key & 4294967295"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def holder_pid(connection: Session | Connection, name: str) -> int | None:
    """The server process (backend pid) holding the lock `name` in this schema, if any."""
    pid = connection.execute(_HOLDER, {"lock_name": name}).scalar()
    return None if pid is None else int(pid)


class SessionLock:
    """A session-level advisory lock named `name`, held on a connection of its own, outside
    the engine's pool, for as long as this process wants it (or lives).

    - `hold()` takes the lock if it is free, or checks (`SELECT 1`) that we still hold it;
      True if we do. A holder that lost its connection learns it there (False), and may
      call `hold()` again to contend anew.
    - A process killed by any signal closes its socket and the server frees its locks at
      once; a machine that vanishes is noticed by TCP keepalives (about 11 s), set on both
      ends of the lock's connection.
    - `release()` lets go and closes the connection (call it, or the connection is left to
      the garbage collector).

    On SQLite there is one process: the lock is always held (`shared` is False). `hold()`
    blocks on the database: call it in a thread; it is safe from several threads.
    Session-level locks need a session: behind PgBouncer, use session pooling for the bot.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.name = name
        self.shared = engine.dialect.name == "postgresql"
        self._engine = engine
        self._own: Engine | None = None
        self._connection: Connection | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether this process held the lock at the last `hold()` (always, on SQLite)."""
        return not self.shared or self._connection is not None

    def hold(self) -> bool:
        """Take the lock if it is free, or check that we still hold it; True if we do.

        False when another process holds it, or the database cannot be reached (then
        nobody here acts as the holder until it can)."""
        if not self.shared:
            return True
        with self._guard:
            try:
                if self._connection is not None:
                    self._connection.execute(text("SELECT 1"))
                    return True
                return self._try_take()
            except Exception as error:
                # Only the type: a driver's message may name the host or the user.
                logger.warning("event=lock_lost lock=%s error=%s", self.name, type(error).__name__)
                self._drop()
                return False

    def release(self) -> None:
        """Let go of the lock (if held) and close its connection."""
        if not self.shared:
            return
        with self._guard:
            was_held = self._connection is not None
            self._drop()
            if self._own is not None:
                self._own.dispose()
                self._own = None
        if was_held:
            logger.info("event=lock_released lock=%s", self.name)

    def _try_take(self) -> bool:
        if self._own is None:
            # NullPool: the lock's connection is made for it and really closed after, never
            # lent to a unit of work (which would then run inside the lock's session).
            self._own = create_engine(
                self._engine.url,
                poolclass=NullPool,
                hide_parameters=True,
                connect_args={
                    "keepalives": 1,
                    "keepalives_idle": KEEPALIVE_IDLE,
                    "keepalives_interval": KEEPALIVE_INTERVAL,
                    "keepalives_count": KEEPALIVE_COUNT,
                    "connect_timeout": 5,
                },
            )
        connection = self._own.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            for setting, value in (
                ("tcp_keepalives_idle", KEEPALIVE_IDLE),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                ("tcp_keepalives_count", KEEPALIVE_COUNT),
            ):
                connection.execute(text(f"SET {setting} = {int(value)}"))
            # The key names the schema the bot's own engine works in: a search_path given
            # in that engine's connect arguments does not reach this separate connection.
            with self._engine.connect() as main:
                schema = main.execute(text("SELECT current_schema()")).scalar_one()
            connection.execute(
                text("SELECT set_config('search_path', :schema, false)"), {"schema": schema}
            )
            taken = try_lock(connection, self.name)
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        logger.info("event=lock_taken lock=%s", self.name)
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()  # ends the session: the server frees the lock
            except Exception:
                logger.debug("lock_close_failed", exc_info=True)
