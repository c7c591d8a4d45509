"""What the weekly reports published, figure by figure (disclosure control across reports).

Revision ID: 0010a
Revises: 0009a
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0010a"
down_revision: str | None = "0009a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create published_figure."""
    op.create_table(
        "published_figure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("interview_id", sa.String(), nullable=False),
        sa.Column("week", sa.String(), nullable=False),
        sa.Column("grid", sa.String(), nullable=False),
        sa.Column("row_label", sa.String(), nullable=False),
        sa.Column("column_label", sa.String(), nullable=False),
        sa.Column("base", sa.Float(), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_published_figure"),
        sa.UniqueConstraint(
            "area",
            "interview_id",
            "grid",
            "row_label",
            "column_label",
            "base",
            "shown",
            "value",
            name="uq_published_figure",
        ),
    )


def downgrade() -> None:
    """Drop published_figure: later reports no longer know what earlier ones published."""
    op.drop_table("published_figure")
