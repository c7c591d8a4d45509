"""Interview definitions sent from the chat, versioned, one of them active.

Revision ID: 0006e
Revises: 0006c
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0006e"
down_revision: str | None = "0006c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create interview_definition."""
    op.create_table(
        "interview_definition",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("interview_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_by", sa.String(), nullable=True),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_interview_definition"),
        sa.UniqueConstraint(
            "interview_id", "version", name="uq_interview_definition_interview_id_version"
        ),
    )
    op.create_index("ix_interview_definition_active", "interview_definition", ["active"])


def downgrade() -> None:
    """Drop interview_definition."""
    op.drop_index("ix_interview_definition_active", table_name="interview_definition")
    op.drop_table("interview_definition")
