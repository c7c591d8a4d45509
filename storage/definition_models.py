"""The table of interview definitions loaded from the chat, one row per (id, version).

Migration 0006e (storage/migrations/versions/0006e_interview_definitions.py) creates it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


# interview_definition: a definition file as an admin sent it; at most one row is active.
class InterviewDefinition(SQLModel, table=True):
    """An interview definition file (YAML or XLSForm), kept as sent, and whether new
    responses use it. A version's file never changes: responses name it by id and version."""

    __tablename__ = "interview_definition"
    __table_args__ = (UniqueConstraint("interview_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: str
    version: str
    file_name: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str
    uploaded_at: datetime = Field(sa_type=UTCDateTime)
    active: bool = Field(default=False, index=True)
    activated_by: str | None = None
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
