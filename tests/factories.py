"""Rows the tests of broadcasts and audiences start from, written once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage import Employer, Session


def add_consented_employers(
    session: Session,
    chats: Iterable[int],
    *,
    now: datetime,
    status: str = "invited",
    **profile: str | None,
) -> None:
    """Employers whose Telegram user and chat are each of `chats`, who agreed to the privacy
    notice at `now` (broadcasts reach only those), with this `status` and profile (sector,
    district, size_band)."""
    for chat in chats:
        session.add(
            Employer(
                telegram_user_id=chat,
                chat_id=chat,
                status=status,
                consent_at=now,
                created_at=now,
                updated_at=now,
                **profile,
            )
        )
