"""Interview rounds, the follow-up outbox, and response.round_id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create interview_round and follow_up; add response.round_id."""
    op.create_table(
        "interview_round",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("interview_path", sa.String(), nullable=True),
        sa.Column("interview_id", sa.String(), nullable=False),
        sa.Column("interview_version", sa.String(), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interview_round"),
    )
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_follow_up"),
        sa.UniqueConstraint("key", name="uq_follow_up_key"),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employer.id"], name="fk_follow_up_employer_id_employer"
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["response.id"], name="fk_follow_up_response_id_response"
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["interview_round.id"], name="fk_follow_up_round_id_interview_round"
        ),
    )
    op.create_index("ix_follow_up_employer_id", "follow_up", ["employer_id"])
    op.create_index("ix_follow_up_response_id", "follow_up", ["response_id"])
    op.create_index("ix_follow_up_status_due_at", "follow_up", ["status", "due_at"])
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("round_id", sa.Integer(), nullable=True))
        batch.create_index("ix_response_round_id", ["round_id"])


def downgrade() -> None:
    """Drop response.round_id, follow_up and interview_round."""
    with op.batch_alter_table("response") as batch:
        batch.drop_index("ix_response_round_id")
        batch.drop_column("round_id")
    op.drop_index("ix_follow_up_status_due_at", table_name="follow_up")
    op.drop_index("ix_follow_up_response_id", table_name="follow_up")
    op.drop_index("ix_follow_up_employer_id", table_name="follow_up")
    op.drop_table("follow_up")
    op.drop_table("interview_round")
