"""Verbatim reviews: read a text answer for review, record a staff decision, list decisions.

A quote is shown in the weekly report only once a staff member approved it
(`analytics.verbatims`); the decision names the answer by (response id, question id) and
holds the hash of the text reviewed, so that an answer changed later is reviewed again.
Every decision is written to the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import Session, col

from storage.analytics_source import Columns, Source, read_columns
from storage.models import Answer, Employer, Response
from storage.staff import record_audit
from storage.verbatim_models import ReviewStatus, VerbatimReview

REVIEW_COLUMNS = ("response_id", "question_id", "source_hash", "status", "quote")
_ACTIONS: dict[str, str] = {"approved": "verbatim.approve", "rejected": "verbatim.reject"}


@dataclass(frozen=True, slots=True)
class VerbatimSource:
    """A text answer as it stands, with what redaction needs to know about its employer."""

    response_id: int
    question_id: str
    text: str
    organisation: str | None
    contact_name: str | None


def text_hash(text: str) -> str:
    """The SHA-256 (hex) of an answer's text, which a decision is bound to."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verbatim_source(
    session: Session, *, response_id: int, question_id: str
) -> VerbatimSource | None:
    """The text answer to review, or None if there is no such text answer."""
    statement = (
        select(col(Answer.value_text), col(Employer.organisation), col(Employer.contact_name))
        .join(Response, col(Response.id) == col(Answer.response_id))
        .join(Employer, col(Employer.id) == col(Response.employer_id))
        .where(col(Answer.response_id) == response_id, col(Answer.question_id) == question_id)
    )
    row = session.execute(statement).first()
    if row is None or not isinstance(row[0], str) or not row[0].strip():
        return None
    return VerbatimSource(response_id, question_id, row[0], row[1], row[2])


def record_review(
    session: Session,
    *,
    source: VerbatimSource,
    status: ReviewStatus,
    quote: str | None,
    actor: str,
    now: datetime,
) -> VerbatimReview:
    """Approve (with the quote to show) or reject an answer; replaces an earlier decision.

    The audit entry names the answer by ids only, never by its text."""
    if status not in _ACTIONS:
        raise ValueError(f"unknown review status {status!r}")
    if status == "approved" and not (quote and quote.strip()):
        raise ValueError("an approved verbatim needs its quote")
    review = session.get(VerbatimReview, (source.response_id, source.question_id))
    if review is None:
        review = VerbatimReview(
            response_id=source.response_id,
            question_id=source.question_id,
            source_hash="",
            status=status,
            reviewed_by=actor,
            reviewed_at=now,
        )
    review.source_hash = text_hash(source.text)
    review.status = status
    review.quote = quote if status == "approved" else None
    review.reviewed_by = actor
    review.reviewed_at = now
    session.add(review)
    record_audit(
        session,
        actor=actor,
        action=_ACTIONS[status],
        count=1,
        detail=f"{source.response_id}:{source.question_id}",
        now=now,
    )
    session.flush()
    return review


def review_columns(engine: Source) -> Columns:
    """Every decision, as REVIEW_COLUMNS (response_id, question_id, source_hash, status,
    quote), column by column (see `storage.analytics_source`)."""
    statement: Select[Any] = select(  # type: ignore[assignment]
        col(VerbatimReview.response_id),
        col(VerbatimReview.question_id),
        col(VerbatimReview.source_hash),
        col(VerbatimReview.status),
        col(VerbatimReview.quote),
    )
    return read_columns(engine, statement, REVIEW_COLUMNS)
