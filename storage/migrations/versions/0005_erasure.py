"""Erasure reaches the outbox and the broadcasts: broadcast_delivery.chat_id may be blank.

/forget blanks the chat id of the person's deliveries (a sent one keeps its row, so a
broadcast's figures stay true) as it blanks their follow-ups'.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """broadcast_delivery.chat_id becomes nullable."""
    with op.batch_alter_table("broadcast_delivery") as table:
        table.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    """Back to NOT NULL (erased rows get chat id 0)."""
    op.execute("UPDATE broadcast_delivery SET chat_id = 0 WHERE chat_id IS NULL")
    with op.batch_alter_table("broadcast_delivery") as table:
        table.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
