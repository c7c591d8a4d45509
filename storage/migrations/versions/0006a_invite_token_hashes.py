"""Invite tokens are kept only as SHA-256 hashes; an opened invite waits for consent.

Every plain token in employer.invite_token is replaced by its SHA-256 (the column keeps
its name: renaming it would make SQLite copy the employer table, which the rows pointing
at employers do not allow inside a migration's transaction; the model calls it
`invite_token_hash`). The links already sent keep working (the bot hashes what it is
given), but the database no longer holds anything that opens them. A response whose source
is a token (an invite opened by a second person, or after the entry was erased) gets the
source `invite`, as every invite start now does. employer.pending_invite_hash remembers an
invite opened before consent.

Revision ID: 0006a
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006a"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The shape of every token `skillsbot employers invites` made: secrets.token_urlsafe(24).
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")
_CAMPAIGN_PREFIX = "c-"
_INVITE_SOURCE = "invite"


def _hash(token: str) -> str:
    """As storage.roster.token_hash (kept here so that the migration never changes)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def upgrade() -> None:
    """Hash every token, and take tokens out of response sources."""
    op.add_column("employer", sa.Column("pending_invite_hash", sa.String(), nullable=True))
    connection = op.get_bind()
    employer = sa.table(
        "employer", sa.column("id", sa.Integer()), sa.column("invite_token", sa.String())
    )
    response = sa.table("response", sa.column("id", sa.Integer()), sa.column("source", sa.String()))
    tokens = {
        row.id: row.invite_token
        for row in connection.execute(
            sa.select(employer.c.id, employer.c.invite_token).where(
                employer.c.invite_token.is_not(None)
            )
        )
    }
    for employer_id, token in tokens.items():
        connection.execute(
            sa.update(employer)
            .where(employer.c.id == employer_id)
            .values(invite_token=_hash(token))
        )
    known = set(tokens.values())
    sources = connection.execute(
        sa.select(response.c.id, response.c.source).where(response.c.source.is_not(None))
    ).all()
    for response_id, source in sources:
        if source in known or (
            _TOKEN_SHAPE.fullmatch(source) and not source.startswith(_CAMPAIGN_PREFIX)
        ):
            connection.execute(
                sa.update(response)
                .where(response.c.id == response_id)
                .values(source=_INVITE_SOURCE)
            )


def downgrade() -> None:
    """The hashes cannot be turned back into tokens, so they go (issue the invites again
    after a downgrade)."""
    op.execute("UPDATE employer SET invite_token = NULL")
    op.drop_column("employer", "pending_invite_hash")
