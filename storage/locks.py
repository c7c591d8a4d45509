"""PostgreSQL advisory locks, keyed per deployment.

Advisory-lock keys are one number space for the whole PostgreSQL server, shared by every
database user and schema on it. A fixed number (`pg_advisory_xact_lock(42)`) would make two
deployments in different schemas of one server, or two tests running in parallel each in
its own schema, wait on each other. So every skillsbot lock is named, and its key is
derived on the server from the connection's schema (`current_schema()`, set by the
`search_path` of DATABASE_URL) and that name: every process of one deployment agrees on
it, another deployment gets another key.

Use these functions for any new lock (a polling or scheduler leader, a one-at-a-time job):

- `lock_for_transaction(session, name)`: wait for the lock; released at commit/rollback.
- `try_lock(connection, name)` / `unlock(connection, name)`: a session-level lock that
  outlives transactions (e.g. a leader), on a connection held open for as long as it is.
- `lock_key(connection, name)`: the number itself (e.g. to find it in `pg_locks`).

Names are short fixed words (`migrations`, `rounds`), or a word and an id (`chat_lock_name`).
SQLite needs none of this: its writers already take turns.
"""

from __future__ import annotations

from sqlalchemy import Connection, TextClause, text
from sqlmodel import Session

# The key of the lock named by the bind parameter :lock_name, in the connection's schema.
# hashtextextended is PostgreSQL's own 64-bit string hash (PostgreSQL 11+); a schema-less
# search_path (no current_schema) still gets a key of its own.
KEY_SQL = "hashtextextended(coalesce(current_schema(), '') || '/' || :lock_name, 0)"

MIGRATIONS = "migrations"
ROUNDS = "rounds"


def chat_lock_name(chat_id: int) -> str:
    """The name of the lock held while one Telegram chat's update is handled."""
    return f"chat/{chat_id}"


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
