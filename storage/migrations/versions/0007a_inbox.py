"""The inbox: every Telegram update written before it is confirmed, then handled from here.

Revision ID: 0007a
Revises: 0006e
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0007a"
down_revision: str | None = "0006e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    """Create inbox_update and its two partial indexes on pending rows."""
    op.create_table(
        "inbox_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_key", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_inbox_update"),
    )
    op.create_index(
        "ix_inbox_update_pending",
        "inbox_update",
        ["update_id"],
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_inbox_update_chat_pending",
        "inbox_update",
        ["chat_key", "update_id"],
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )


def downgrade() -> None:
    """Drop inbox_update."""
    op.drop_index("ix_inbox_update_chat_pending", table_name="inbox_update")
    op.drop_index("ix_inbox_update_pending", table_name="inbox_update")
    op.drop_table("inbox_update")
