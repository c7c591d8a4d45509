"""The broadcast tables: a message staff send to part of the employer list, and its deliveries.

Migration 0004 (storage/migrations/versions/0004_broadcasts.py) creates exactly these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime

BroadcastStatus = Literal["scheduled", "ready", "sending", "done", "cancelled"]
# pending: not tried; sending: claimed, being sent now; unknown: left 'sending' by a sender
# that died, so it may or may not have gone out (never resent); cancelled: never sent.
DeliveryStatus = Literal[
    "pending", "sending", "sent", "failed", "unreachable", "unknown", "cancelled"
]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = (
    "pending",
    "sending",
    "sent",
    "failed",
    "unreachable",
    "unknown",
    "cancelled",
)


# broadcast: one piece of news for a segment of the list; sent now or at `scheduled_at`.
class Broadcast(SQLModel, table=True):
    """A broadcast: content, audience filter, when, by whom, and which sender owns it now.

    `media_kind` is None (text only), "photo" or "document"; `media` is a Telegram file id
    or a local path (the command line), replaced by the file id after the first upload.
    One sender at a time owns a broadcast (`owner`, kept alive by `heartbeat_at`); another
    process takes over only when the heartbeat is stale.
    """

    id: int | None = Field(default=None, primary_key=True)
    text: str
    media_kind: str | None = None
    media: str | None = None
    segment: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="ready")
    created_by: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recipients: int = 0
    progress_chat_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    progress_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    owner: str | None = None
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# broadcast_delivery: one recipient of one broadcast; made when the broadcast starts.
class BroadcastDelivery(SQLModel, table=True):
    """One recipient's delivery: status, attempts, when it was sent and Telegram's message id.

    `error` holds an error kind, never personal data.
    """

    __tablename__ = "broadcast_delivery"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "employer_id"),
        Index("ix_broadcast_delivery_broadcast_id_status", "broadcast_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id")
    employer_id: int = Field(foreign_key="employer.id")
    chat_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)  # None: erased
    status: str = Field(default="pending")
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    error: str | None = None


# broadcast_draft: a broadcast being written in a staff member's chat (migration 0009a).
class BroadcastDraft(SQLModel, table=True):
    """Where a staff member is in writing a broadcast, one per chat: the `step` waiting for
    an answer ("message", "audience", "confirm", "time") and what is chosen so far
    (`data`: text, media_kind, media, field, values, segment). Kept in the database, not
    in a Telegram library's memory, so that either library, any process and a restart
    carry on the same draft; deleted when the broadcast is stored or the draft cancelled."""

    __tablename__ = "broadcast_draft"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    step: str
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)
