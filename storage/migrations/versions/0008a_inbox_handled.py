"""The inbox records which updates were handled; processed_update goes.

`inbox_update.handled_at` is set by the transaction that handles an update (fenced on the
worker's lease, see storage.inbox), which is what `processed_update` recorded. What that
table held is carried over: the inbox rows it names are marked handled, and the ids it held
that the inbox never saw (handled before the inbox existed) become done rows, so that a
late re-delivery of one still changes nothing (until pruned with the other done rows).

Revision ID: 0008a
Revises: 0007c
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0008a"
down_revision: str | None = "0007c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add inbox_update.handled_at, fill it from processed_update, drop processed_update."""
    op.add_column("inbox_update", sa.Column("handled_at", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE inbox_update SET handled_at = (SELECT processed_at FROM processed_update"
        " WHERE processed_update.update_id = inbox_update.update_id)"
    )
    op.execute(
        "INSERT INTO inbox_update (update_id, received_at, status, attempts, handled_at,"
        " finished_at) SELECT update_id, processed_at, 'done', 1, processed_at, processed_at"
        " FROM processed_update WHERE update_id NOT IN (SELECT update_id FROM inbox_update)"
    )
    op.drop_table("processed_update")


def downgrade() -> None:
    """Bring processed_update back, filled from the inbox's handled rows; drop handled_at."""
    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name="pk_processed_update"),
    )
    op.execute(
        "INSERT INTO processed_update (update_id, chat_id, processed_at)"
        " SELECT update_id, chat_key, handled_at FROM inbox_update"
        " WHERE handled_at IS NOT NULL"
    )
    op.drop_column("inbox_update", "handled_at")
