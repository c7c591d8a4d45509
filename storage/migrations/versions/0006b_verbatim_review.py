"""Verbatim review: staff approve or reject each quoted text answer before it is shown.

Revision ID: 0006b
Revises: 0006a
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0006b"
down_revision: str | None = "0006a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create verbatim_review, deleted with its answer."""
    op.create_table(
        "verbatim_review",
        sa.Column("response_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("question_id", sa.String(), nullable=False),
        sa.Column("source_hash", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("quote", sa.String(), nullable=True),
        sa.Column("reviewed_by", sa.String(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("response_id", "question_id", name="pk_verbatim_review"),
        sa.ForeignKeyConstraint(
            ["response_id", "question_id"],
            ["answer.response_id", "answer.question_id"],
            name="fk_verbatim_review_response_id_answer",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    """Drop verbatim_review (the decisions are lost; quotes show as unreviewed)."""
    op.drop_table("verbatim_review")
