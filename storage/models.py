"""The tables: employers, their interview responses, the answers, processed updates and
the inbox of received updates.

Each table's family stays together, as in full-stack-fastapi-template's models.py.
Migration 0001 (storage/migrations/versions) creates exactly these tables; a test checks
that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from conversations.state import InterviewState

# Constraint names are fixed so that later migrations (in batch mode on SQLite) can name them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EmployerStatus = Literal[
    "listed", "invited", "started", "completed", "declined", "unreachable", "opted_out"
]
EMPLOYER_STATUSES: tuple[EmployerStatus, ...] = (
    "listed",
    "invited",
    "started",
    "completed",
    "declined",
    "unreachable",
    "opted_out",
)
ResponseStatus = Literal["in_progress", "completed", "declined", "abandoned"]
RESPONSE_STATUSES: tuple[ResponseStatus, ...] = (
    "in_progress",
    "completed",
    "declined",
    "abandoned",
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored with its zone and always read back timezone-aware in UTC.

    SQLite keeps no zone, so naive values read from it are UTC by construction; naive
    values are refused on the way in so that local times never slip in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC; refuse naive ones."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Make the value read back aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EngineState(TypeDecorator[InterviewState]):
    """The interview engine's state, stored as its JSON form in a JSON column and read
    back as an `InterviewState` (any shape stored so far: `InterviewState.from_json`)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: InterviewState | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        """The state's JSON form."""
        return value.to_json() if value is not None else None

    def process_result_value(self, value: Any | None, dialect: Dialect) -> InterviewState | None:
        """The state the stored JSON holds."""
        return InterviewState.from_json(value) if value is not None else None


# employer: a business we interview; identifiers and profile live here, apart from answers.
class EmployerBase(SQLModel):
    """Profile and contact fields of an employer."""

    organisation: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    sector: str | None = None
    district: str | None = None
    size_band: str | None = None
    role: str | None = None
    notes: str | None = None


class Employer(EmployerBase, table=True):
    """An employer row: profile, Telegram identity, consent and contact status."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int | None = Field(
        default=None, sa_type=BigInteger, unique=True, nullable=True
    )
    chat_id: int | None = Field(default=None, sa_type=BigInteger, index=True, nullable=True)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_version: str | None = None
    recontact_opt_in: bool | None = None
    status: str = Field(default="listed")
    # SHA-256 of the personal invite token, hex (`storage.roster.token_hash`): the token
    # itself is only ever in the link sent out. The column keeps its first name,
    # invite_token (migration 0006a hashed what it held; renaming it would copy the table).
    invite_token_hash: str | None = Field(
        default=None, sa_column=Column("invite_token", String, unique=True, nullable=True)
    )
    # The hash of an invite link this person opened before consenting: their row joins
    # that list entry when they consent (`storage.roster.link_pending_invite`).
    pending_invite_hash: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When they pressed "No more messages" (None: they have not, or took it back).
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# response: one run of an interview by an employer, with the engine's whole state.
class Response(SQLModel, table=True):
    """One interview run: the engine state plus its status and times."""

    __table_args__ = (Index("ix_response_employer_id_status", "employer_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    employer_id: int = Field(foreign_key="employer.id", index=True)
    interview_id: str
    interview_version: str
    status: str = Field(default="in_progress")
    state: InterviewState = Field(sa_column=Column(EngineState, nullable=False))
    source: str | None = None
    started_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    prompt_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    round_id: int | None = Field(default=None, index=True)  # interview_round (migration 0003)
    # A staff member's own run of the interview: left out of counts, reports and exports.
    test: bool = Field(default=False)


# answer: one answered question of a response, typed and as text/number; analytics read these.
class Answer(SQLModel, table=True):
    """One answer, kept in sync with the response state's `answers`."""

    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("response.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    question_id: str
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    value_text: str | None = None
    value_number: float | None = None
    answered_at: datetime = Field(sa_type=UTCDateTime)


InboxStatus = Literal["pending", "done", "failed"]


# inbox_update: every Telegram update as received, written before it is confirmed to
# Telegram and handled from here (storage.inbox). Done rows keep only their id (dedupe)
# and times, until pruned; `handled_at` makes a second handling change nothing.
class InboxUpdate(SQLModel, table=True):
    """A received Telegram update: pending, done (payload dropped), or failed (kept)."""

    __tablename__ = "inbox_update"
    __table_args__ = (
        # What workers scan: the pending rows in update order, and a chat's pending rows.
        Index(
            "ix_inbox_update_pending",
            "update_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_inbox_update_chat_pending",
            "chat_key",
            "update_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # The chat whose updates are handled in order (None: no chat, no order to keep).
    chat_key: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    payload: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    received_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending")
    attempts: int = Field(default=0)
    # Who is handling it, and until when; a pending row with a future lease_until and no
    # owner is waiting to be tried again (not before then).
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None  # an exception's class name, never its text
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the transaction that handled it committed (what it changed is then stored; a
    # second handling, after a takeover, changes nothing).
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
