"""The follow-up tables: interview rounds and the outbox of follow-ups to send.

Migration 0003 (storage/migrations/versions/0003_followups.py) creates exactly these, and
adds `response.round_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime

FollowUpKind = Literal["reminder", "round_invite", "weekly_report"]
FollowUpStatus = Literal["pending", "sending", "sent", "cancelled", "failed"]
FOLLOW_UP_STATUSES: tuple[FollowUpStatus, ...] = (
    "pending",
    "sending",
    "sent",
    "cancelled",
    "failed",
)


# interview_round: a later round of interviews (e.g. a Stage 2 progress check) for a segment.
class InterviewRound(SQLModel, table=True):
    """A round opened by staff: which interview, for which segment of the list, when, by whom."""

    __tablename__ = "interview_round"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    interview_path: str | None = None
    interview_id: str
    interview_version: str
    segment: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_at: datetime = Field(sa_type=UTCDateTime)
    opened_by: str


# follow_up: one message to send later (the outbox); rows, not in-memory jobs.
class FollowUp(SQLModel, table=True):
    """One follow-up: what, to whom, when it is due, and how sending it went.

    `key` is unique, so the same reminder (or invitation, or weekly report) is never
    scheduled twice. `last_error` holds an error kind, never personal data.
    """

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_status_due_at", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str
    employer_id: int | None = Field(default=None, foreign_key="employer.id", index=True)
    chat_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    response_id: int | None = Field(default=None, foreign_key="response.id", index=True)
    round_id: int | None = Field(default=None, foreign_key="interview_round.id")
    sequence: int = 0
    detail: str | None = None
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending")
    attempts: int = 0
    last_error: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
