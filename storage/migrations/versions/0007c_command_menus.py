"""The per-chat command menus the bot has set (staff, analysts and admins).

Revision ID: 0007c
Revises: 0007a
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0007c"
down_revision: str | None = "0007a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create command_menu."""
    op.create_table(
        "command_menu",
        sa.Column("telegram_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("menu", sa.String(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_user_id", name="pk_command_menu"),
    )


def downgrade() -> None:
    """Drop command_menu."""
    op.drop_table("command_menu")
