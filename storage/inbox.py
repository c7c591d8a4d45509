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
on SQLite the same statement runs under the database's single write lock.

Ownership. A lease is held by an owner id (`lease_owner`) and never lapses by time: a live
process, however slow, keeps what it holds. On PostgreSQL each process holds a
session-level advisory lock named after its owner id (`storage.locks.inbox_owner_lock_name`)
for as long as it lives; `reap` gives back the leases of owners whose lock is free (their
process died, or lost its connection), so another process takes them over within a second
or two. On SQLite there is one process, and it gives back every lease when it starts.

Fencing. The handling transaction marks its update handled (`mark_handled`, through the
handlers' `claim_update`) only while the worker's lease (`holding`) is still its own, and
locks the row until it commits: a lease taken away meanwhile (a reaper that found the
owner's lock free) makes it raise `LeaseLost`, and the transaction rolls back. An update
taken over after it was handled (its process died before marking it done) is handled
again as a re-delivery (`mark_handled` is False): nothing changes, and the person is shown
where they are, since what was sent to them before is in doubt.

A done row keeps only its id and times (its chat and payload, which may quote a person,
are dropped) for `prune` to delete after the retention; a failed row keeps them for staff.
Nothing here logs an update's content.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    and_,
    bindparam,
    delete,
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

from storage import locks
from storage.db import chat_transaction, utcnow
from storage.models import Employer, InboxUpdate, UTCDateTime

# The channel of PostgreSQL's NOTIFY after an accept, on which idle workers LISTEN.
NOTIFY_CHANNEL = "skillsbot_inbox"
# How long done rows are kept by default (`prune`): Telegram keeps an update unconfirmed
# for 24 hours at most, so an id is remembered well beyond any re-delivery.
DEFAULT_RETENTION = timedelta(days=7)

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
class Lease:
    """The update a worker is handling, and the owner id it claimed it under."""

    update_id: int
    owner: str


class LeaseLost(Exception):  # noqa: N818 (a state, like TimeoutError)
    """The update's lease is no longer this worker's (its owner's lock was lost and another
    process took the update over): its handling must not commit."""


_HOLDING: contextvars.ContextVar[Lease | None] = contextvars.ContextVar(
    "skillsbot_inbox_holding", default=None
)


def holding(lease: Lease | None) -> None:
    """Declare, for the current task (and the threads it hands work to with the context
    copied), which leased update it is handling: `claim_update` then fences on it."""
    _HOLDING.set(lease)


def current_lease() -> Lease | None:
    """The lease the current task declared with `holding`, if any."""
    return _HOLDING.get()


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


_ACCEPT = {
    name: insert_into(_inbox)
    .on_conflict_do_nothing(index_elements=["update_id"])
    .returning(_inbox.c.update_id)
    for name, insert_into in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


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
    if not any(update_id_of(raw) is not None for raw in updates):
        return 0
    with _transaction(engine, wait) as session:
        return accept_in(session, updates, now=now)


def accept_in(
    session: Session, updates: Sequence[dict[str, Any]], *, now: datetime | None = None
) -> int:
    """`accept` in the caller's transaction (a unit of work of its own, `storage.Units`:
    the updates may be confirmed to Telegram once it has committed)."""
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
    dialect = session.get_bind().dialect.name
    # Many rows to one statement built once: SQLAlchemy sends them as multi-row INSERTs
    # ("insertmanyvalues"); a statement with the rows in it was compiled every time.
    new = len(session.execute(_ACCEPT[dialect], list(rows.values())).all())
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
            _inbox.c.lease_owner.is_(None),  # a lease never lapses: see the module
            or_(_inbox.c.lease_until.is_(None), _inbox.c.lease_until <= moment),  # a retry's
            ~older_pending,
        )
        .order_by(_inbox.c.update_id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True, of=_inbox)
    )
    return (
        update(_inbox)
        .where(_inbox.c.update_id.in_(claimable.scalar_subquery()))
        .values(lease_owner=bindparam("owner"), lease_until=None, attempts=_inbox.c.attempts + 1)
        .returning(_inbox.c.update_id, _inbox.c.chat_key, _inbox.c.payload, _inbox.c.attempts)
    )


# Built once: the statements workers run for every update (building them cost more than
# running them on SQLite).
_CLAIM = _claim_statement()
_DONE = (
    update(_inbox)
    .where(
        _inbox.c.update_id.in_(bindparam("ids", expanding=True)),
        _inbox.c.status == "pending",
        _inbox.c.lease_owner == bindparam("owner"),  # fenced: only while still ours
    )
    .values(
        status="done",
        payload=null(),
        chat_key=None,
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
    done: Sequence[int] = (),
    now: datetime | None = None,
    wait: bool = True,
) -> list[ClaimedUpdate]:
    """Take a lease for `owner` on up to `limit` updates that may be handled now, oldest
    first; in the same transaction, first `complete` the updates `done` (the owner's
    finished ones).

    An update may be handled when it is pending, nobody holds a lease on it (nor is it
    waiting out a `retry_later`), and it is the lowest pending update of its chat. So the
    updates claimed are of different chats, and a chat with an update in hand anywhere has
    nothing claimable. Each claim adds one to `attempts`. The lease is held until the owner
    completes, gives back or sets aside the update, or `reap` finds the owner gone.
    """
    with _transaction(engine, wait) as session:
        return claim_in(session, owner=owner, limit=limit, done=done, now=now)


def claim_in(
    session: Session,
    *,
    owner: str,
    limit: int = 1,
    done: Sequence[int] = (),
    now: datetime | None = None,
) -> list[ClaimedUpdate]:
    """`claim` in the caller's transaction (a unit of work of its own, `storage.Units`)."""
    moment = now or utcnow()
    if done:
        session.execute(_DONE, {"ids": list(done), "moment": moment, "owner": owner})
    if not limit:
        return []
    values = {"moment": moment, "limit": limit, "owner": owner}
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
    engine: Engine, update_id: int, *, owner: str, now: datetime | None = None, wait: bool = True
) -> bool:
    """Mark an update done, if `owner` still holds it: its chat's next update becomes
    claimable; its chat and payload are dropped. Whether it was marked."""
    values = {"ids": [update_id], "moment": now or utcnow(), "owner": owner}
    with _transaction(engine, wait) as session:
        return bool(session.execute(_DONE, values).rowcount)  # type: ignore[attr-defined]


# Marking an update handled in the transaction that handles it (see `mark_handled`).
_CHAT_LOCK_CTE = f"chat_lock AS (SELECT pg_advisory_xact_lock({locks.KEY_SQL}) AS locked)"
_HELD = (
    "held AS (SELECT inbox_update.update_id, inbox_update.handled_at FROM inbox_update{chat}"
    " WHERE inbox_update.update_id = :update_id AND inbox_update.status = 'pending'"
    " AND inbox_update.lease_owner = :owner FOR UPDATE OF inbox_update)"
)
_MARKED = (
    "marked AS (UPDATE inbox_update SET handled_at = :now WHERE update_id IN"
    " (SELECT update_id FROM held WHERE handled_at IS NULL) RETURNING update_id)"
)
_OUTCOME = " SELECT (SELECT count(*) FROM held) AS owned, (SELECT count(*) FROM marked) AS fresh"
_NOW = bindparam("now", type_=UTCDateTime())
# PostgreSQL, leased (the worker's case): the chat's lock, the fence and the mark in one
# statement, a round trip in all. The chat's lock is granted before the row is read; what
# the transaction reads afterwards, in later statements, is read under it (each statement
# of READ COMMITTED sees the data committed when it starts).
_MARK_LEASED_LOCKING_CHAT = text(
    f"WITH {_CHAT_LOCK_CTE}, {_HELD.format(chat=', chat_lock')}, {_MARKED}{_OUTCOME}"
).bindparams(_NOW)
_MARK_LEASED = text(f"WITH {_HELD.format(chat='')}, {_MARKED}{_OUTCOME}").bindparams(_NOW)
# Not leased (an update fed to the handlers by hand: tests, tools): recorded as done.
_UPSERT_HANDLED = (
    "INSERT INTO inbox_update (update_id, received_at, status, attempts, handled_at,"
    " finished_at) SELECT :update_id, :now, 'done', 0, :now, :now{chat}"
    " ON CONFLICT (update_id) DO UPDATE SET handled_at = EXCLUDED.handled_at"
    " WHERE inbox_update.handled_at IS NULL RETURNING update_id"
)
_MARK_UNLEASED_LOCKING_CHAT = text(
    f"WITH {_CHAT_LOCK_CTE} " + _UPSERT_HANDLED.format(chat=" FROM chat_lock")
).bindparams(_NOW)
_MARK_UNLEASED = text(_UPSERT_HANDLED.format(chat="")).bindparams(_NOW)


def mark_handled(
    session: Session, *, update_id: int, chat_id: int | None, now: datetime, lock_chat: bool
) -> bool:
    """Record, in the transaction handling it, that an update is handled: True the first
    time, False when it was handled before (taken over from a process that died before
    marking it done; or fed again by hand).

    When the current task declared its lease (`holding`) on this update, the row is locked
    until commit and must still be held by that owner, else `LeaseLost` is raised (the
    transaction must not commit: another process has the update now). With `lock_chat`
    (PostgreSQL) the chat's lock is taken in the same statement, as `chat_transaction`
    does.
    """
    lease = current_lease()
    leased = lease is not None and lease.update_id == update_id
    locking = lock_chat and chat_id is not None and session.get_bind().dialect.name == "postgresql"
    values: dict[str, Any] = {"update_id": update_id, "now": now}
    if locking:
        values["lock_name"] = locks.chat_lock_name(chat_id or 0)
    if session.get_bind().dialect.name != "postgresql":
        return _mark_handled_sqlite(session, lease if leased else None, values)
    if leased and lease is not None:
        values["owner"] = lease.owner
        statement = _MARK_LEASED_LOCKING_CHAT if locking else _MARK_LEASED
        owned, fresh = session.execute(statement, values).one()
        if not owned:
            raise LeaseLost(update_id)
        return bool(fresh)
    statement = _MARK_UNLEASED_LOCKING_CHAT if locking else _MARK_UNLEASED
    return session.execute(statement, values).first() is not None


# SQLite, built once (building them cost more than running them). Leased: the fence and
# the mark in one statement; a row back means handled now for the first time.
_MARK_LEASED_SQLITE = (
    update(_inbox)
    .where(
        _inbox.c.update_id == bindparam("uid"),
        _inbox.c.status == "pending",
        _inbox.c.lease_owner == bindparam("owner"),
        _inbox.c.handled_at.is_(None),
    )
    .values(handled_at=_NOW)
    .returning(_inbox.c.update_id)
)
# No row back from it: still ours (then handled before), or not (LeaseLost)?
_STILL_HELD_SQLITE = select(_inbox.c.update_id).where(
    _inbox.c.update_id == bindparam("uid"),
    _inbox.c.status == "pending",
    _inbox.c.lease_owner == bindparam("owner"),
)
_UPSERT_HANDLED_SQLITE = (
    sqlite.insert(_inbox)
    .values(
        update_id=bindparam("uid"),
        received_at=_NOW,
        status="done",
        attempts=0,
        handled_at=_NOW,
        finished_at=_NOW,
    )
    .on_conflict_do_update(
        index_elements=["update_id"],
        set_={"handled_at": _NOW},
        where=_inbox.c.handled_at.is_(None),
    )
    .returning(_inbox.c.update_id)
)


def _mark_handled_sqlite(session: Session, lease: Lease | None, values: dict[str, Any]) -> bool:
    # SQLite: the transaction already holds the database's one write lock.
    # (The update's id is bound as "uid": SQLAlchemy keeps column names for VALUES/SET.)
    update_id = values["update_id"]
    marking = {"uid": update_id, "now": values["now"]}
    if lease is None:
        return session.execute(_UPSERT_HANDLED_SQLITE, marking).first() is not None
    marking["owner"] = lease.owner
    if session.execute(_MARK_LEASED_SQLITE, marking).first() is not None:
        return True
    if session.execute(_STILL_HELD_SQLITE, marking).first() is None:
        raise LeaseLost(update_id)
    return False  # ours, and handled before


def prune(engine: Engine, *, before: datetime, wait: bool = True) -> int:
    """Delete the done rows finished before `before` (set-aside ones stay for staff); how
    many. Their ids need remembering only while Telegram might deliver them again."""
    with _transaction(engine, wait) as session:
        return prune_done(session, before=before)


def prune_done(session: Session, *, before: datetime) -> int:
    """`prune` in the caller's transaction (a unit of work of its own: `storage.Units`)."""
    statement = delete(_inbox).where(_inbox.c.status == "done", _inbox.c.finished_at < before)
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


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
    with _transaction(engine, wait) as session:
        retry_later_in(session, update_id, owner=owner, error=error, delay=delay, now=now)


def retry_later_in(
    session: Session,
    update_id: int,
    *,
    owner: str,
    error: str,
    delay: timedelta,
    now: datetime | None = None,
) -> None:
    """`retry_later` in the caller's transaction (a unit of work, `storage.Units`)."""
    statement = (
        update(_inbox)
        .where(
            _inbox.c.update_id == update_id,
            _inbox.c.status == "pending",
            _inbox.c.lease_owner == owner,
        )
        .values(lease_owner=None, lease_until=(now or utcnow()) + delay, last_error=error)
    )
    session.execute(statement)


def set_aside(
    engine: Engine,
    update_id: int,
    *,
    owner: str,
    error: str,
    now: datetime | None = None,
    wait: bool = True,
) -> None:
    """Stop trying an update that keeps failing (if `owner` still holds it); keep it,
    payload too, for `failed`."""
    with _transaction(engine, wait) as session:
        set_aside_in(session, update_id, owner=owner, error=error, now=now)


def set_aside_in(
    session: Session, update_id: int, *, owner: str, error: str, now: datetime | None = None
) -> None:
    """`set_aside` in the caller's transaction (a unit of work, `storage.Units`)."""
    statement = (
        update(_inbox)
        .where(
            _inbox.c.update_id == update_id,
            _inbox.c.status == "pending",
            _inbox.c.lease_owner == owner,
        )
        .values(
            status="failed",
            lease_owner=None,
            lease_until=None,
            last_error=error,
            finished_at=now or utcnow(),
        )
    )
    session.execute(statement)


# PostgreSQL: the leases of owners whose advisory lock nobody holds (their process died,
# or lost its session) are given back. Each such owner's lock is taken for the transaction,
# so that two reapers never both count it dead, and nobody can take that owner id's lock
# back until the leases are free; a live owner's lock is held, and its leases are kept.
_REAP = text(
    "WITH owners AS MATERIALIZED ("
    " SELECT DISTINCT lease_owner FROM inbox_update"
    " WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_owner <> :owner),"
    " dead AS MATERIALIZED ("
    " SELECT lease_owner FROM owners WHERE pg_try_advisory_xact_lock("
    + locks.KEY_SQL.replace(":lock_name", ":prefix || lease_owner")
    + ")) "
    "UPDATE inbox_update SET lease_owner = NULL, lease_until = NULL"
    " WHERE status = 'pending' AND lease_owner IN (SELECT lease_owner FROM dead)"
    " RETURNING update_id"
)


def reap(engine: Engine, *, owner: str) -> int:
    """Give back the leases of every other owner whose lock is free (PostgreSQL; see the
    module); how many updates were given back. Nothing to do on SQLite."""
    if engine.dialect.name != "postgresql":
        return 0
    with _transaction(engine, True) as session:
        return reap_in(session, owner=owner)


def reap_in(session: Session, *, owner: str) -> int:
    """`reap` in the caller's transaction (a unit of work, `storage.Units`; PostgreSQL)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    values = {"owner": owner, "prefix": locks.INBOX_OWNER_PREFIX}
    return len(session.execute(_REAP, values).all())


def release(engine: Engine, *, owner: str | None = None, wait: bool = True) -> int:
    """Give back the leases of `owner` (a worker stopping), or every lease (`owner` None:
    the only process on a SQLite database starting, after a predecessor that died)."""
    with _transaction(engine, wait) as session:
        return release_in(session, owner=owner)


def release_in(session: Session, *, owner: str | None = None) -> int:
    """`release` in the caller's transaction (a unit of work, `storage.Units`)."""
    condition = _inbox.c.status == "pending"
    if owner is not None:
        condition = and_(condition, _inbox.c.lease_owner == owner)
    else:
        condition = and_(condition, _inbox.c.lease_owner.is_not(None))
    statement = update(_inbox).where(condition).values(lease_owner=None, lease_until=None)
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
