"""Staff roles and the audit log: who may run staff commands, and what staff did.

Plain functions with the session passed in; none of them commits (the caller's
transaction does), as in storage/repositories.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from storage.broadcast_models import BroadcastDraft
from storage.staff_models import ROLES, AuditEntry, CommandMenu, Role, StaffMember

# The `added_by` of admins seeded from the SKILLSBOT_ADMINS setting.
SEEDED_BY = "setting:SKILLSBOT_ADMINS"
# The `added_by` (and audit actor) of analysts seeded from the SKILLSBOT_ANALYSTS setting.
SEEDED_ANALYSTS_BY = "setting:SKILLSBOT_ANALYSTS"


class UnknownRole(ValueError):
    """A role name that is not admin, staff or analyst."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown role {name!r}; roles are {', '.join(ROLES)}")


def parse_role(name: str) -> Role:
    """The role with this name (case-insensitive); raises `UnknownRole`."""
    wanted = name.strip().casefold()
    for role in ROLES:
        if role == wanted:
            return role
    raise UnknownRole(name)


def role_of(session: Session, telegram_user_id: int) -> Role | None:
    """The staff role of a Telegram user, or None for everyone else (employers)."""
    member = session.get(StaffMember, telegram_user_id)
    return _known_role(member.role if member is not None else None)


_staff_member = SQLModel.metadata.tables["staff_member"]
_ROLE_BY_USER = core_select(_staff_member.c.role).where(
    _staff_member.c.telegram_user_id == bindparam("user_id")
)


class Standing(NamedTuple):
    """A sender's staff role (None: an employer) and the step their chat's broadcast draft
    waits at (None: no draft), read together."""

    role: Role | None
    draft_step: str | None


_draft = BroadcastDraft.__table__  # type: ignore[attr-defined]
_STANDING = core_select(
    _ROLE_BY_USER.scalar_subquery(),
    core_select(_draft.c.step).where(_draft.c.chat_id == bindparam("chat_id")).scalar_subquery(),
)


def read_standing(reader: Session | Connection, telegram_user_id: int, chat_id: int) -> Standing:
    """`role_of` and the chat's broadcast draft step in one prepared statement, no ORM
    (one round trip): what the bot asks of nearly every private message before it knows
    whose desk it is, on a read-only connection (`Units.read`, `storage.reading`)."""
    row = reader.execute(_STANDING, {"user_id": telegram_user_id, "chat_id": chat_id}).one()
    return Standing(_known_role(row[0]), row[1])


def _known_role(name: str | None) -> Role | None:
    return next((role for role in ROLES if role == name), None)


def set_role(
    session: Session, *, telegram_user_id: int, role: Role, added_by: str, now: datetime
) -> StaffMember:
    """Give a user a role (replacing any role they had)."""
    if role not in ROLES:
        raise UnknownRole(role)
    member = session.get(StaffMember, telegram_user_id)
    if member is None:
        member = StaffMember(
            telegram_user_id=telegram_user_id, role=role, added_by=added_by, added_at=now
        )
    else:
        member.role = role
        member.added_by = added_by
        member.added_at = now
    session.add(member)
    session.flush()
    return member


def remove_role(session: Session, *, telegram_user_id: int) -> bool:
    """Take away a user's role; False when they had none."""
    member = session.get(StaffMember, telegram_user_id)
    if member is None:
        return False
    session.delete(member)
    session.flush()
    return True


def staff_members(session: Session) -> list[StaffMember]:
    """Everyone with a role, admins first, then by user id."""
    members = session.exec(select(StaffMember).order_by(col(StaffMember.telegram_user_id))).all()
    rank: dict[str, int] = {role: index for index, role in enumerate(ROLES)}
    return sorted(members, key=lambda m: (rank.get(m.role, len(ROLES)), m.telegram_user_id))


def seed_admins(session: Session, user_ids: Iterable[int], now: datetime) -> int:
    """Make every user in SKILLSBOT_ADMINS an admin (at bot start); returns how many changed."""
    changed = 0
    for user_id in sorted(set(user_ids)):
        member = session.get(StaffMember, user_id)
        if member is not None and member.role == "admin":
            continue
        set_role(session, telegram_user_id=user_id, role="admin", added_by=SEEDED_BY, now=now)
        record_audit(session, actor=SEEDED_BY, action="role.seed", count=1, detail="admin", now=now)
        changed += 1
    return changed


def seed_analysts(session: Session, user_ids: Iterable[int], now: datetime) -> int:
    """Give every SKILLSBOT_ANALYSTS user without a role the analyst role (at bot start),
    and take it back from those the setting gave it to and no longer names; how many
    changed, each audited.

    A role is what makes someone staff everywhere: their own runs of the interview are test
    responses, and no employer audience, listing, round or report counts them
    (storage.audience). Someone named only in the setting would otherwise be taken for an
    employer. A role given by other means (an admin, `skillsbot staff add`) is left alone.
    """
    wanted = set(user_ids)
    changed = 0
    for user_id in sorted(wanted):
        if session.get(StaffMember, user_id) is not None:
            continue
        set_role(
            session, telegram_user_id=user_id, role="analyst", added_by=SEEDED_ANALYSTS_BY, now=now
        )
        record_audit(
            session,
            actor=SEEDED_ANALYSTS_BY,
            action="role.seed",
            count=1,
            detail="analyst",
            now=now,
        )
        changed += 1
    seeded = session.exec(
        select(StaffMember).where(
            StaffMember.added_by == SEEDED_ANALYSTS_BY, StaffMember.role == "analyst"
        )
    ).all()
    for member in seeded:
        if member.telegram_user_id in wanted:
            continue
        remove_role(session, telegram_user_id=member.telegram_user_id)
        record_audit(
            session,
            actor=SEEDED_ANALYSTS_BY,
            action="role.unseed",
            count=1,
            detail="analyst",
            now=now,
        )
        changed += 1
    return changed


def record_audit(
    session: Session, *, actor: str, action: str, count: int, detail: str, now: datetime
) -> AuditEntry:
    """Write one staff action to the audit log. `detail` must hold no personal data."""
    entry = AuditEntry(actor=actor, action=action, detail=detail, count=count, at=now)
    session.add(entry)
    session.flush()
    return entry


def audit_entries(
    session: Session, *, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest audit entries first (optionally of one action)."""
    query = select(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    newest_first = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return list(session.exec(newest_first.limit(limit)))


# -- the command menus set in staff members' chats (bot.runtime.menus) ---------------------------


def roster(session: Session) -> dict[int, Role]:
    """Every Telegram user holding a role, with the role."""
    rows = session.exec(select(StaffMember.telegram_user_id, StaffMember.role))
    return {int(uid): role for uid, name in rows for role in ROLES if role == name}


def menus_set(session: Session) -> dict[int, str]:
    """The command menu last set in each chat that has one of its own (user id -> digest)."""
    rows = session.exec(select(CommandMenu.telegram_user_id, CommandMenu.menu))
    return {int(uid): menu for uid, menu in rows}


def record_menu(session: Session, *, telegram_user_id: int, menu: str, now: datetime) -> None:
    """Note that the chat now shows this menu (an upsert: two writers at once are fine)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(CommandMenu).values(telegram_user_id=telegram_user_id, menu=menu, set_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["telegram_user_id"],
            set_={"menu": statement.excluded.menu, "set_at": statement.excluded.set_at},
        )
    )


def forget_menu(session: Session, *, telegram_user_id: int) -> None:
    """Note that the chat shows the default (employer) menu again."""
    mine = col(CommandMenu.telegram_user_id) == telegram_user_id
    session.execute(delete(CommandMenu).where(mine))
