"""Who may be messaged: employer.opted_out_at, and response.test for staff members' runs.

`opted_out_at` records when someone pressed "No more messages" (cleared when they take it
back); `test` marks an interview run by a staff member, analyst or admin, which counts
nowhere.

Revision ID: 0006c
Revises: 0006b
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0006c"
down_revision: str | None = "0006b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add employer.opted_out_at and response.test; opted-out rows keep their update time."""
    with op.batch_alter_table("employer") as table:
        table.add_column(sa.Column("opted_out_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("response") as table:
        table.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE employer SET opted_out_at = updated_at"
        " WHERE status = 'opted_out' AND erased_at IS NULL"
    )


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("response") as table:
        table.drop_column("test")
    with op.batch_alter_table("employer") as table:
        table.drop_column("opted_out_at")
