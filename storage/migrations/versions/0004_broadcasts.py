"""Broadcasts and their deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create broadcast and broadcast_delivery."""
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("media_kind", sa.String(), nullable=True),
        sa.Column("media", sa.String(), nullable=True),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcast"),
    )
    op.create_table(
        "broadcast_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcast_delivery"),
        sa.UniqueConstraint(
            "broadcast_id", "employer_id", name="uq_broadcast_delivery_broadcast_id_employer_id"
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcast.id"], name="fk_broadcast_delivery_broadcast_id_broadcast"
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employer.id"], name="fk_broadcast_delivery_employer_id_employer"
        ),
    )
    op.create_index(
        "ix_broadcast_delivery_broadcast_id_status",
        "broadcast_delivery",
        ["broadcast_id", "status"],
    )


def downgrade() -> None:
    """Drop broadcast_delivery and broadcast."""
    op.drop_index("ix_broadcast_delivery_broadcast_id_status", table_name="broadcast_delivery")
    op.drop_table("broadcast_delivery")
    op.drop_table("broadcast")
