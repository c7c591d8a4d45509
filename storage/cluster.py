"""One holder per cluster: PostgreSQL session-level advisory locks for the clock and the sender.

Any number of `skillsbot run` processes may share a PostgreSQL database. Two jobs must run
in one of them only: the scheduler's clock (reminder planning, the weekly report, the
retention purge, the outbox dispatch) and the broadcast sender (one sender, so that its
rate limiter is the cluster's). Each is a `ClusterLock`: a session-level advisory lock
(`pg_try_advisory_lock`) held on a connection of its own, outside the engine's pool.

- The holder keeps the lock as long as its connection lives; `hold()` checks it
  (`SELECT 1`) every few seconds, and a holder that lost its connection learns it there
  and stops. A process killed by any signal closes its socket, and the server frees the
  lock at once; a machine that vanishes is noticed by TCP keepalives (about 11 s, set
  on both ends of the lock's connection).
- The others call `hold()` every few seconds too; the first to find the lock free
  becomes the holder. So a dead holder is replaced within seconds.
- The lock is keyed by its role and the current schema, so two deployments (or two test
  runs) in one database never take each other's locks; a single-key lock space (chat
  locks, the migration lock) never collides with this two-key one.

Session-level locks need a session: behind PgBouncer, use session pooling for the bot.
On SQLite there is one process (`skillsbot run` refuses a second one), and the lock is
always held: `shared` is False and nothing is elected.
"""

from __future__ import annotations

import enum
import logging
import threading

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

logger = logging.getLogger("skillsbot.cluster")

# Seconds of silence before the server, and the client, probe the lock's connection, the
# gap between probes, and how many may go unanswered: a dead machine's locks are freed
# after about 5 + 2 * 3 = 11 s.
KEEPALIVE_IDLE = 5
KEEPALIVE_INTERVAL = 2
KEEPALIVE_COUNT = 3


class ClusterRole(enum.IntEnum):
    """What a lock elects (the advisory lock's first key: "skillsbot" in hex, and a number)."""

    CLOCK = 0x5B1C_0001  # the scheduler's jobs
    SENDER = 0x5B1C_0002  # the broadcast sender


class ClusterLock:
    """Who, of all the processes on one PostgreSQL database, holds `role` (see the module).

    `hold()` blocks on the database: call it in a thread. It is safe to call from several
    threads; `release()` lets go (and ends the lock's connection).
    """

    def __init__(self, engine: Engine, role: ClusterRole) -> None:
        self.role = role
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
                logger.warning(
                    "event=cluster_lock_lost role=%s error=%s",
                    self.role.name.lower(),
                    type(error).__name__,
                )
                self._drop()
                return False

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
            for name, value in (
                ("tcp_keepalives_idle", KEEPALIVE_IDLE),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                ("tcp_keepalives_count", KEEPALIVE_COUNT),
            ):
                connection.execute(text(f"SET {name} = {int(value)}"))
            # The key names the schema the bot's own engine works in: a search_path given
            # in that engine's connect arguments does not reach this separate connection.
            with self._engine.connect() as main:
                schema = main.execute(text("SELECT current_schema()")).scalar_one()
            connection.execute(
                text("SELECT set_config('search_path', :schema, false)"), {"schema": schema}
            )
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:role, hashtext(current_schema()))"),
                {"role": int(self.role)},
            ).scalar_one()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        logger.info("event=cluster_lock_taken role=%s", self.role.name.lower())
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()  # ends the session: the server frees the lock
            except Exception:
                logger.debug("cluster_lock_close_failed", exc_info=True)

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
            logger.info("event=cluster_lock_released role=%s", self.role.name.lower())
