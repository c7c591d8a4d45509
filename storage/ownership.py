"""Whose database is this: empty, the playground's own, or in use by a real bot?

The playground (`skillsbot playground`, and `skillsbot run` without a token) must never
touch a database real people have used: it grants staff roles to its pretend people, and
those grants must not reach a production database. So a database the playground creates
carries a mark, an `audit_log` entry `playground.created` by `playground` (no migration
needed: every database has the audit log), and the playground opens only a database that
is new, empty, or so marked. `skillsbot run` without a token uses `database_use` to refuse
a database that holds data.

The mark alone is not enough: a database the playground once made (on purpose, with
`--database`) may later be a real bot's. So a marked database that holds a real Telegram
account's trace (an employer linked to one, or an update from its chat: ids below
`FIRST_IMPOSSIBLE_ID`, which the playground's people never have) counts as in use.

Looking never creates anything: a SQLite file that does not exist is reported as new
without being opened, and nothing is migrated or written.
"""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path

import sqlmodel
from sqlalchemy import Connection, Engine, column, func, inspect, literal, select, table, text
from sqlmodel import Session, col

from storage.broadcast_models import Broadcast, BroadcastDelivery
from storage.db import make_engine, normalise_url
from storage.models import Employer, InboxUpdate, Response
from storage.staff import record_audit
from storage.staff_models import AuditEntry

PLAYGROUND_ACTOR = "playground"
# The playground's people have ids from here up (bot.devtools.playground.people.IMPOSSIBLE_ID_BASE):
# Telegram gives no account an id of more than 52 bits.
FIRST_IMPOSSIBLE_ID = 2**52
PLAYGROUND_MARK = "playground.created"
# Tables whose rows mean someone used the database (the audit log counts too, unless the
# playground marked it as its own).
_DATA_TABLES = (
    "employer",
    "response",
    "processed_update",  # before revision 0008a: the updates handled
    "inbox_update",
    "staff_member",
    "audit_log",
    "interview_round",
    "broadcast",
)


# The table that recorded handled updates until the inbox did (dropped by 0008a): a database
# not yet upgraded may still have it.
_OLD_PROCESSED_UPDATE = table("processed_update", column("chat_id"))


class DatabaseUse(enum.Enum):
    """What a database holds, as far as the playground is concerned."""

    NEW = "new"  # no file yet, or no tables or rows at all
    PLAYGROUND = "playground"  # created by the playground (it carries the mark)
    IN_USE = "in use"  # holds rows the playground did not write: a real bot's database


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory SQLite database)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def database_use(url: str) -> DatabaseUse:
    """Whether the database at `url` is new, the playground's, or in use; creates nothing.

    Raises what connecting raises (e.g. SQLAlchemy's OperationalError) when it cannot be
    opened; `InvalidDatabaseURL` when the URL is malformed.
    """
    path = sqlite_file(url)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return DatabaseUse.NEW
    engine = make_engine(url)
    try:
        return engine_use(engine)
    finally:
        engine.dispose()


def engine_use(engine: Engine) -> DatabaseUse:
    """`database_use` for an engine already made (connecting to it, reading only)."""
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        if "audit_log" in present:
            marked = connection.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(col(AuditEntry.action) == PLAYGROUND_MARK)
            ).scalar_one()
            if marked:
                return (
                    DatabaseUse.IN_USE
                    if _real_accounts(connection, present)
                    else DatabaseUse.PLAYGROUND
                )
        for table in _DATA_TABLES:
            if (
                table in present
                and connection.execute(
                    text(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608  (names from _DATA_TABLES)
                ).first()
            ):
                return DatabaseUse.IN_USE
    return DatabaseUse.NEW


def _real_accounts(connection: Connection, present: set[str]) -> bool:
    """Whether a real Telegram account has used this database: an employer linked to an id,
    or an update handled from a chat, below the playground's ids."""
    checks = (
        ("employer", Employer.telegram_user_id),
        ("processed_update", _OLD_PROCESSED_UPDATE.c.chat_id),  # before revision 0008a
        ("inbox_update", InboxUpdate.chat_key),
    )
    return any(
        table in present
        and connection.execute(
            select(literal(1)).where(col(column) < FIRST_IMPOSSIBLE_ID).limit(1)
        ).first()
        is not None
        for table, column in checks
    )


def mark_as_playground(session: Session, *, now: datetime) -> None:
    """Mark a new database as the playground's own (an audit entry, once)."""
    already = session.exec(
        sqlmodel.select(AuditEntry).where(col(AuditEntry.action) == PLAYGROUND_MARK).limit(1)
    ).first()
    if already is None:
        record_audit(
            session,
            actor=PLAYGROUND_ACTOR,
            action=PLAYGROUND_MARK,
            count=0,
            detail="this database belongs to the playground",
            now=now,
        )


def highest_update_id(session: Session) -> int:
    """The highest Telegram update id received (in the inbox) in this database (0 when
    none).

    The playground's fake Telegram numbers its updates after it (see
    `bot.devtools.playground.runner`): wherever the bot records the updates it has handled, this is
    the one place that reads them for that.
    """
    received = session.execute(select(func.max(col(InboxUpdate.update_id)))).scalar_one()
    return int(received or 0)


def highest_message_id(session: Session) -> int:
    """The highest Telegram message id this database remembers (0 when none): the message
    showing an interview's question, a broadcast's progress message, a delivered broadcast.

    The playground's fake Telegram numbers every chat's messages after it, so that a
    question asked in an earlier run never counts as newer than the one on screen now.
    """
    columns = (
        Response.prompt_message_id,
        Broadcast.progress_message_id,
        BroadcastDelivery.telegram_message_id,
    )
    return max(
        int(session.execute(select(func.max(col(column)))).scalar_one() or 0) for column in columns
    )
