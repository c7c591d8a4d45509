"""The cluster's locks: one holder per role and schema on PostgreSQL; always held on SQLite."""

from __future__ import annotations

from sqlalchemy import text

from storage import Engine, locks
from storage.cluster import ClusterLock, ClusterRole


def test_one_holder_per_role_until_its_session_ends(engine: Engine) -> None:
    first, second = (ClusterLock(engine, ClusterRole.CLOCK) for _ in range(2))
    sender = ClusterLock(engine, ClusterRole.SENDER)
    try:
        if engine.dialect.name == "sqlite":  # one process: nothing to elect
            assert (first.hold(), second.hold(), first.shared) == (True, True, False)
            return
        assert first.hold()
        assert not second.hold()
        assert sender.hold()  # another role is another lock
        assert first.hold()  # still ours: the holder's check
        # The holder's session ends (a crash, a cut connection): the other takes over,
        # and the old holder learns at its next check that it no longer holds it.
        with engine.connect() as connection:
            pid = locks.holder_pid(connection, ClusterRole.CLOCK.lock_name)
            assert pid is not None
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert second.hold()
        assert not first.hold()
        second.release()
        assert first.hold()
    finally:
        for lock in (first, second, sender):
            lock.release()
