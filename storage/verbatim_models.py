"""The verbatim review table: a staff member's decision on one quoted text answer.

Migration 0006b (storage/migrations/versions/0006b_verbatim_review.py) creates exactly this.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Column, ForeignKeyConstraint, Integer, String
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime

ReviewStatus = Literal["approved", "rejected"]
REVIEW_STATUSES: tuple[ReviewStatus, ...] = ("approved", "rejected")


# verbatim_review: one row per reviewed text answer; it goes with the answer (erasure).
class VerbatimReview(SQLModel, table=True):
    """Whether a text answer may be quoted, and the quote a staff member approved.

    `source_hash` is the SHA-256 of the answer as reviewed: if the answer changes, the
    decision no longer applies. `quote` is the redacted text as approved (None when
    rejected); it is what the report shows, word for word. The row is deleted with its
    answer (and so with the response, when an employer is erased)."""

    __tablename__ = "verbatim_review"
    __table_args__ = (
        ForeignKeyConstraint(
            ["response_id", "question_id"],
            ["answer.response_id", "answer.question_id"],
            ondelete="CASCADE",
        ),
    )

    response_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    question_id: str = Field(sa_column=Column(String, primary_key=True))
    source_hash: str
    status: str
    quote: str | None = None
    reviewed_by: str
    reviewed_at: datetime = Field(sa_type=UTCDateTime)
