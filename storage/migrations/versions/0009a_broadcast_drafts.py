"""Broadcast drafts in the database (they were in aiogram's memory).

Revision ID: 0009a
Revises: 0008a
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0009a"
down_revision: str | None = "0008a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create broadcast_draft."""
    op.create_table(
        "broadcast_draft",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name="pk_broadcast_draft"),
    )


def downgrade() -> None:
    """Drop broadcast_draft (drafts in progress are lost, as a restart lost them before)."""
    op.drop_table("broadcast_draft")
