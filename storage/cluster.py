"""One holder per cluster: the clock and the sender, each a `storage.locks.SessionLock`.

Any number of `skillsbot run` processes may share a PostgreSQL database. Two jobs must run
in one of them only: the scheduler's clock (reminder planning, the weekly report, the
retention purges, the outbox dispatch) and the broadcast sender (one sender, so that its
rate limiter is the cluster's). Each is a `ClusterLock`: a session-level advisory lock
named after its role (`cluster/clock`, `cluster/sender`) in the current schema, held on a
connection of its own (see `SessionLock` for how a dead holder is noticed).

- The holder keeps the lock as long as its connection lives; `hold()` checks it every few
  seconds, and a holder that lost its connection learns it there and stops.
- The others call `hold()` every few seconds too; the first to find the lock free
  becomes the holder. So a dead holder is replaced within seconds.

On SQLite there is one process (`skillsbot run` refuses a second one), and the lock is
always held: `shared` is False and nothing is elected.
"""

from __future__ import annotations

import enum

from sqlalchemy import Engine

from storage.locks import SessionLock, cluster_lock_name


class ClusterRole(enum.Enum):
    """What a lock elects."""

    CLOCK = "clock"  # the scheduler's jobs
    SENDER = "sender"  # the broadcast sender

    @property
    def lock_name(self) -> str:
        """The name of the role's advisory lock (see storage.locks)."""
        return cluster_lock_name(self.value)


class ClusterLock(SessionLock):
    """Who, of all the processes on one PostgreSQL database, holds `role` (see the module)."""

    def __init__(self, engine: Engine, role: ClusterRole) -> None:
        super().__init__(engine, role.lock_name)
        self.role = role
