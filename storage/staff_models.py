"""The staff tables: who holds a staff role, and the audit log of staff actions.

Migration 0002 (storage/migrations/versions/0002_staff_roster.py) creates exactly these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime

Role = Literal["admin", "staff", "analyst"]
ROLES: tuple[Role, ...] = ("admin", "staff", "analyst")


# staff_member: a Telegram user with a role; employers have no row here.
class StaffMember(SQLModel, table=True):
    """A Telegram user holding a staff role, and who gave it to them when."""

    __tablename__ = "staff_member"

    telegram_user_id: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False)
    )
    role: str
    added_by: str
    added_at: datetime = Field(sa_type=UTCDateTime)


# audit_log: one staff action (import, invites, broadcast, export, role change); no personal data.
class AuditEntry(SQLModel, table=True):
    """A staff action: who (telegram id or "cli:<os user>"), what, how many, when."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor: str
    action: str = Field(index=True)
    detail: str = ""
    count: int = 0
    at: datetime = Field(sa_type=UTCDateTime, index=True)


# command_menu: the command menu the bot has set in a person's chat (issue 18); see
# bot.runtime.menus.
class CommandMenu(SQLModel, table=True):
    """The per-chat command menu last set for a Telegram user: a digest of its commands.

    Compared with the roster (`staff_member`) to find the menus to set or take away, so
    that a role given or removed anywhere (the chat, the command line, the settings)
    reaches the person's menu; a row whose user holds no role any more is a menu to remove.
    """

    __tablename__ = "command_menu"

    telegram_user_id: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False)
    )
    menu: str
    set_at: datetime = Field(sa_type=UTCDateTime)
