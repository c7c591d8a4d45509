"""Employers, responses, answers and processed updates.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the four tables of the first release."""
    op.create_table(
        "employer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation", sa.String(), nullable=True),
        sa.Column("contact_name", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("sector", sa.String(), nullable=True),
        sa.Column("district", sa.String(), nullable=True),
        sa.Column("size_band", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("consent_at", UTCDateTime(), nullable=True),
        sa.Column("consent_version", sa.String(), nullable=True),
        sa.Column("recontact_opt_in", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("invite_token", sa.String(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_employer"),
        sa.UniqueConstraint("telegram_user_id", name="uq_employer_telegram_user_id"),
        sa.UniqueConstraint("invite_token", name="uq_employer_invite_token"),
    )
    op.create_index("ix_employer_chat_id", "employer", ["chat_id"])

    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.String(), nullable=False),
        sa.Column("interview_version", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("prompt_message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_response"),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employer.id"], name="fk_response_employer_id_employer"
        ),
    )
    op.create_index("ix_response_employer_id", "response", ["employer_id"])
    op.create_index("ix_response_employer_id_status", "response", ["employer_id", "status"])

    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("value_text", sa.String(), nullable=True),
        sa.Column("value_number", sa.Float(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answer"),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name="fk_answer_response_id_response",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("response_id", "question_id", name="uq_answer_response_id_question_id"),
    )
    op.create_index("ix_answer_response_id", "answer", ["response_id"])

    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name="pk_processed_update"),
    )


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_table("processed_update")
    op.drop_index("ix_answer_response_id", table_name="answer")
    op.drop_table("answer")
    op.drop_index("ix_response_employer_id_status", table_name="response")
    op.drop_index("ix_response_employer_id", table_name="response")
    op.drop_table("response")
    op.drop_index("ix_employer_chat_id", table_name="employer")
    op.drop_table("employer")
