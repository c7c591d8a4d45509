"""The inbox: Telegram updates written first, confirmed to Telegram, then handled from here.

A transport (polling, the webhook) hands what Telegram sent to `accept`, which commits it,
deduplicated by `update_id`, before returning; only then does the transport confirm the
updates to Telegram (the next getUpdates offset, the webhook's 200). Workers in any
process then `claim` updates, handle them, and `complete` them (or `retry_later`, or
`set_aside` one that keeps failing; `failed` lists those for staff).

Order: only the lowest pending update of a chat can be claimed, and only while nobody
holds a lease on it; so one chat's updates are handled one at a time, in order, and
different chats in parallel. The claim is one UPDATE over a `SELECT ... FOR UPDATE SKIP
LOCKED` on PostgreSQL (workers of several processes never wait for each other's rows);
on SQLite the same statement runs under the database's single write lock. A lease
expires (`lease_until`), so the updates of a process that died are claimed again by
another; handling is idempotent (the handlers' `claim_update`), so a second run of an
update that had in fact been handled changes nothing.

A done row keeps only its id, chat and times (its payload, which may quote a person, is
dropped); a failed row keeps its payload for staff. Nothing here logs an update's content.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    and_,
    bindparam,
    exists,
    func,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.db import chat_transaction, utcnow
from storage.models import Employer, InboxUpdate, UTCDateTime

# The channel of PostgreSQL's NOTIFY after an accept, on which idle workers LISTEN.
NOTIFY_CHANNEL = "skillsbot_inbox"
# How long a claim holds an update unless renewed (a dead process's work is retaken then).
DEFAULT_LEASE = timedelta(seconds=30)

_inbox = InboxUpdate.__table__  # type: ignore[attr-defined]
_employer = Employer.__table__  # type: ignore[attr-defined]

# The update kinds whose payload names a chat directly; a button press names its message's.
_CHAT_PAYLOADS = ("message", "edited_message", "my_chat_member")


def chat_key(update: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (its updates are handled in order); None for none."""
    for kind in _CHAT_PAYLOADS:
        payload = update.get(kind)
        if isinstance(payload, dict):
            return _int_id(payload.get("chat"))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict):
            return _int_id(message.get("chat"))
        return _int_id(query.get("from"))
    return None


def _int_id(holder: Any) -> int | None:
    value = holder.get("id") if isinstance(holder, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def update_id_of(update: Mapping[str, Any]) -> int | None:
    """An update's `update_id`, or None when it has no integer one (it is then refused)."""
    value = update.get("update_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ClaimedUpdate:
    """An update a worker holds a lease on: handle it, then `complete` it."""

    update_id: int
    chat_key: int | None
    payload: dict[str, Any]
    attempts: int  # claims so far, this one included


@dataclass(frozen=True)
class FailedUpdate:
    """An update set aside after failing, as staff see it (no message text by default)."""

    update_id: int
    employer_id: int | None  # our internal id of the person, when we hold a record of them
    received_at: datetime
    failed_at: datetime | None
    attempts: int
    error: str | None
    payload: dict[str, Any] | None


@contextlib.contextmanager
def _transaction(engine: Engine, wait: bool) -> Iterator[Session]:
    # With wait=False (SQLite), `WriterBusy` at once rather than waiting for a writer.
    with chat_transaction(engine, 0, lock_chat=False, wait=wait) as session:
        yield session


def accept(
    engine: Engine,
    updates: Sequence[dict[str, Any]],
    *,
    now: datetime | None = None,
    wait: bool = True,
) -> int:
    """Write updates to the inbox, ignoring ids already there; commit; how many were new.

    Returns only after the commit, so the caller may then confirm the updates to Telegram.
    Items without an integer `update_id` are skipped (nothing could confirm them). On
    PostgreSQL idle workers of every process are woken (NOTIFY, delivered on commit).
    """
    received = now or utcnow()
    rows: dict[int, dict[str, Any]] = {}
    for raw in updates:
        uid = update_id_of(raw)
        if uid is not None and uid not in rows:
            rows[uid] = {
                "update_id": uid,
                "chat_key": chat_key(raw),
                "payload": dict(raw),
                "received_at": received,
                "status": "pending",
                "attempts": 0,
            }
    if not rows:
        return 0
    with _transaction(engine, wait) as session:
        dialect = session.get_bind().dialect.name
        insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert_into(_inbox)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(_inbox.c.update_id)
        )
        new = len(session.execute(statement).all())
        if new and dialect == "postgresql":
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return new


def accept_one(
    engine: Engine, update: dict[str, Any], *, now: datetime | None = None, wait: bool = True
) -> bool:
    """`accept` for a single update (the webhook's case): True if it was new."""
    return accept(engine, [update], now=now, wait=wait) == 1


def _claim_statement() -> Any:
    older = _inbox.alias("older")
    older_pending = exists().where(
        older.c.chat_key == _inbox.c.chat_key,
        older.c.status == "pending",
        older.c.update_id < _inbox.c.update_id,
    )
    moment = bindparam("moment", type_=UTCDateTime())
    claimable = (
        select(_inbox.c.update_id)
        .where(
            _inbox.c.status == "pending",
            or_(_inbox.c.lease_until.is_(None), _inbox.c.lease_until <= moment),
            ~older_pending,
        )
        .order_by(_inbox.c.update_id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True, of=_inbox)
    )
    return (
        update(_inbox)
        .where(_inbox.c.update_id.in_(claimable.scalar_subquery()))
        .values(
            lease_owner=bindparam("owner"),
            lease_until=bindparam("until", type_=UTCDateTime()),
            attempts=_inbox.c.attempts + 1,
        )
        .returning(_inbox.c.update_id, _inbox.c.chat_key, _inbox.c.payload, _inbox.c.attempts)
    )


# Built once: the statements workers run for every update (building them cost more than
# running them on SQLite).
_CLAIM = _claim_statement()
_DONE = (
    update(_inbox)
    .where(_inbox.c.update_id.in_(bindparam("ids", expanding=True)), _inbox.c.status == "pending")
    .values(
        status="done",
        payload=null(),
        lease_owner=None,
        lease_until=None,
        finished_at=bindparam("moment", type_=UTCDateTime()),
    )
)


def claim(
    engine: Engine,
    *,
    owner: str,
    limit: int = 1,
    lease: timedelta = DEFAULT_LEASE,
    done: Sequence[int] = (),
    now: datetime | None = None,
    wait: bool = True,
) -> list[ClaimedUpdate]:
    """Take a lease on up to `limit` updates that may be handled now, oldest first; in the
    same transaction, first `complete` the updates `done` (a worker's finished ones).

    An update may be handled when it is pending, nobody holds an unexpired lease on it (nor
    is it waiting out a `retry_later`), and it is the lowest pending update of its chat. So
    the updates claimed are of different chats, and a chat with an update in hand anywhere
    has nothing claimable. Each claim adds one to `attempts`.
    """
    moment = now or utcnow()
    with _transaction(engine, wait) as session:
        if done:
            session.execute(_DONE, {"ids": list(done), "moment": moment})
        if not limit:
            return []
        values = {"moment": moment, "limit": limit, "owner": owner, "until": moment + lease}
        rows = session.execute(_CLAIM, values).all()
    claimed = [
        ClaimedUpdate(
            update_id=row.update_id,
            chat_key=row.chat_key,
            payload=row.payload if isinstance(row.payload, dict) else {},
            attempts=row.attempts,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda item: item.update_id)


def complete(
    engine: Engine, update_id: int, *, now: datetime | None = None, wait: bool = True
) -> None:
    """Mark an update handled: its chat's next update becomes claimable; payload dropped."""
    with _transaction(engine, wait) as session:
        session.execute(_DONE, {"ids": [update_id], "moment": now or utcnow()})


def retry_later(
    engine: Engine,
    update_id: int,
    *,
    owner: str,
    error: str,
    delay: timedelta,
    now: datetime | None = None,
    wait: bool = True,
) -> None:
    """Give back an update that failed, to be claimed again (by any process) after `delay`.

    Only while `owner` still holds it. `error` is the failure's class name, never its text.
    """
    statement = (
        update(_inbox)
        .where(
            _inbox.c.update_id == update_id,
            _inbox.c.status == "pending",
            _inbox.c.lease_owner == owner,
        )
        .values(lease_owner=None, lease_until=(now or utcnow()) + delay, last_error=error)
    )
    with _transaction(engine, wait) as session:
        session.execute(statement)


def set_aside(
    engine: Engine, update_id: int, *, error: str, now: datetime | None = None, wait: bool = True
) -> None:
    """Stop trying an update that keeps failing; keep it (payload too) for `failed`."""
    statement = (
        update(_inbox)
        .where(_inbox.c.update_id == update_id, _inbox.c.status == "pending")
        .values(
            status="failed",
            lease_owner=None,
            lease_until=None,
            last_error=error,
            finished_at=now or utcnow(),
        )
    )
    with _transaction(engine, wait) as session:
        session.execute(statement)


def renew(
    engine: Engine,
    *,
    owner: str,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
    wait: bool = True,
) -> int:
    """Extend every lease `owner` holds (a worker's heartbeat); how many it holds."""
    statement = (
        update(_inbox)
        .where(_inbox.c.status == "pending", _inbox.c.lease_owner == owner)
        .values(lease_until=(now or utcnow()) + lease)
    )
    with _transaction(engine, wait) as session:
        return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def release(engine: Engine, *, owner: str | None = None, wait: bool = True) -> int:
    """Give back the leases of `owner` (a worker stopping), or every lease (`owner` None:
    the only process on a SQLite database starting, after a predecessor that died)."""
    condition = _inbox.c.status == "pending"
    if owner is not None:
        condition = and_(condition, _inbox.c.lease_owner == owner)
    else:
        condition = and_(condition, _inbox.c.lease_owner.is_not(None))
    statement = update(_inbox).where(condition).values(lease_owner=None, lease_until=None)
    with _transaction(engine, wait) as session:
        return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def pending_count(engine: Engine) -> int:
    """How many updates wait to be handled (or are being handled)."""
    with engine.connect() as connection:
        query = select(func.count()).select_from(_inbox).where(_inbox.c.status == "pending")
        return int(connection.execute(query).scalar_one())


def handled(engine: Engine, update_id: int) -> bool:
    """Whether an update is in the inbox and finished with (done or set aside)."""
    with engine.connect() as connection:
        status = connection.execute(
            select(_inbox.c.status).where(_inbox.c.update_id == update_id)
        ).scalar_one_or_none()
    return status is not None and status != "pending"


def failed(engine: Engine, *, with_payload: bool = False) -> list[FailedUpdate]:
    """The updates set aside, oldest first; their payloads only when asked for."""
    employer_id = (
        select(func.min(_employer.c.id))
        .where(_employer.c.chat_id == _inbox.c.chat_key)
        .scalar_subquery()
    )
    query = (
        select(
            _inbox.c.update_id,
            employer_id.label("employer_id"),
            _inbox.c.received_at,
            _inbox.c.finished_at,
            _inbox.c.attempts,
            _inbox.c.last_error,
            _inbox.c.payload,
        )
        .where(_inbox.c.status == "failed")
        .order_by(_inbox.c.update_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        FailedUpdate(
            update_id=row.update_id,
            employer_id=row.employer_id,
            received_at=row.received_at,
            failed_at=row.finished_at,
            attempts=row.attempts,
            error=row.last_error,
            payload=row.payload if with_payload else None,
        )
        for row in rows
    ]


def forget_chat(session: Session, *, chat_id: int) -> None:
    """Erasure: drop what the inbox holds of a chat (payloads, the chat itself); its
    updates not handled yet are dropped from the queue too."""
    theirs = _inbox.c.chat_key == chat_id
    session.execute(
        update(_inbox).where(theirs, _inbox.c.status == "pending").values(status="done")
    )
    session.execute(update(_inbox).where(theirs).values(payload=null(), chat_key=None))


def _libpq_url(engine: Engine) -> str:
    """The engine's PostgreSQL URL as libpq takes it (psycopg's own connections)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def notifications(engine: Engine) -> AsyncIterator[None]:
    """Yield each time `accept` committed new updates in any process (PostgreSQL's LISTEN
    on a connection of its own). Raises when the connection fails; the caller retries."""
    import psycopg  # PostgreSQL only; imported here so SQLite deployments never need it

    async with await psycopg.AsyncConnection.connect(_libpq_url(engine), autocommit=True) as conn:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        async for _ in conn.notifies():
            yield None


_LOCK_KEY = "hashtext(current_database() || '/' || current_schema() || '/' || :name)"
_TRY_LOCK = text(f"SELECT pg_try_advisory_lock(:cls, {_LOCK_KEY})")
_UNLOCK = text(f"SELECT pg_advisory_unlock(:cls, {_LOCK_KEY})")


class SessionLock:
    """A PostgreSQL session-level advisory lock on a connection of its own: held until
    `release()`, or until the connection (the process) dies, when another may take it.

    The lock is named: `name` within the current database and schema (the bigint locks of
    chats live apart, in the single-key space). Synchronous, like the rest of storage:
    async callers run it on a thread.
    """

    _CLASS = 0x5B11  # the first key of the two-key form: skillsbot's named locks

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._connection: Any = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; whether we hold it now."""
        if self._connection is None:
            self._connection = self.engine.connect()
        try:
            held = self._connection.execute(_TRY_LOCK, {"cls": self._CLASS, "name": self.name})
            result = bool(held.scalar_one())
            self._connection.commit()
        except Exception:
            self._discard()
            raise
        return result

    def still_held(self) -> bool:
        """Whether our connection (and so the lock) is still alive."""
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            self._discard()
            return False
        return True

    def release(self) -> None:
        """Let the lock go (closing its connection)."""
        if self._connection is None:
            return
        with contextlib.suppress(Exception):
            self._connection.execute(_UNLOCK, {"cls": self._CLASS, "name": self.name})
            self._connection.commit()
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.invalidate()
            self._connection.close()
        self._connection = None
