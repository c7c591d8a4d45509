"""Interview definitions kept in the database: stored as sent, activated by an admin.

New responses use the active definition (else the one the settings name); a response in
progress finishes on the version it started, which `definition_for` finds again.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select, update

from storage.definition_models import InterviewDefinition
from storage.staff import record_audit

__all__ = [
    "VersionTaken",
    "activate_definition",
    "active_definition",
    "definition_for",
    "get_definition",
    "latest_definition",
    "store_definition",
]


class VersionTaken(Exception):
    """Another file already holds this interview id and version."""


def store_definition(
    session: Session,
    *,
    interview_id: str,
    version: str,
    file_name: str,
    content: bytes,
    uploaded_by: str,
    now: datetime,
) -> InterviewDefinition:
    """Keep a checked definition file (the same file sent again is the same row).

    Raises `VersionTaken` when a different file already has this id and version: a
    version names one wording for good, since responses record it.
    """
    known = definition_for(session, interview_id=interview_id, version=version)
    if known is not None:
        if known.content != content:
            raise VersionTaken(f"{interview_id} version {version}")
        return known
    row = InterviewDefinition(
        interview_id=interview_id,
        version=version,
        file_name=file_name,
        content=content,
        uploaded_by=uploaded_by,
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=uploaded_by,
        action="interview.upload",
        count=1,
        detail=f"{interview_id} version {version}",
        now=now,
    )
    return row


def get_definition(session: Session, definition_id: int) -> InterviewDefinition | None:
    """The stored definition with this row id."""
    return session.get(InterviewDefinition, definition_id)


def definition_for(
    session: Session, *, interview_id: str, version: str
) -> InterviewDefinition | None:
    """The stored definition of this interview version, if one was sent."""
    query = select(InterviewDefinition).where(
        InterviewDefinition.interview_id == interview_id,
        InterviewDefinition.version == version,
    )
    return session.exec(query).first()


def latest_definition(session: Session, interview_id: str) -> InterviewDefinition | None:
    """The newest stored version of an interview (the last sent), if any was sent."""
    query = (
        select(InterviewDefinition)
        .where(InterviewDefinition.interview_id == interview_id)
        .order_by(col(InterviewDefinition.uploaded_at).desc(), col(InterviewDefinition.id).desc())
    )
    return session.exec(query).first()


def active_definition(session: Session) -> InterviewDefinition | None:
    """The definition new responses use, when an admin activated one."""
    query = select(InterviewDefinition).where(col(InterviewDefinition.active).is_(True))
    return session.exec(query).first()


def activate_definition(
    session: Session, *, definition_id: int, actor: str, now: datetime
) -> InterviewDefinition | None:
    """Make this definition the one for new responses (None: no such row); audited."""
    row = session.get(InterviewDefinition, definition_id, with_for_update=True)
    if row is None:
        return None
    if row.active:
        return row
    session.exec(  # type: ignore[call-overload]
        update(InterviewDefinition)
        .where(col(InterviewDefinition.active).is_(True))
        .values(active=False)
    )
    row.active = True
    row.activated_by = actor
    row.activated_at = now
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="interview.activate",
        count=1,
        detail=f"{row.interview_id} version {row.version}",
        now=now,
    )
    return row
