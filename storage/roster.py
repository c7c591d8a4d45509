"""The employer interview list: bulk import, invites, linking a Telegram account, listing.

Plain functions with the session passed in; none of them commits (the caller's
transaction does). Imports are bulk statements, so a 10,000-row list takes a handful of
round trips, not ten thousand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, update
from sqlmodel import Session, SQLModel, col, select

from storage.audience import not_staff
from storage.models import EMPLOYER_STATUSES, Employer

# Statuses a list entry may be in to be sent an invite by default.
INVITABLE_STATUSES: tuple[str, ...] = ("listed",)
# How far an employer has got; when two rows merge, the further one's status wins.
_STATUS_RANK = {status: rank for rank, status in enumerate(
    ("listed", "invited", "unreachable", "started", "declined", "completed", "opted_out")
)}
# Fields the employer answers in the interview: their own answer beats the list's value.
_ANSWERED_FIELDS = ("organisation", "sector", "district", "size_band", "role")
# Fields only the list knows (the interview never asks them).
_CONTACT_FIELDS = ("contact_name", "email", "phone", "notes")


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One employer of an imported list, already validated (sector slug, LAD code, band)."""

    organisation: str
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    sector: str | None = None
    district: str | None = None
    size_band: str | None = None
    notes: str | None = None

    def email_key(self) -> str | None:
        """The email address as matched (case-insensitive), or None."""
        return self.email.strip().casefold() if self.email else None

    def name_key(self) -> tuple[str, str]:
        """Organisation and district as matched when there is no email match."""
        return (" ".join(self.organisation.split()).casefold(), self.district or "")


@dataclass(frozen=True, slots=True)
class RosterImport:
    """What an import did: rows added and rows updated."""

    added: int
    updated: int


@dataclass(frozen=True, slots=True)
class Invite:
    """An employer to invite, with their personal token."""

    employer_id: int
    organisation: str | None
    contact_name: str | None
    email: str | None
    token: str


def import_roster(
    session: Session, *, entries: Sequence[RosterEntry], now: datetime
) -> RosterImport:
    """Add new employers and update known ones (matched on email, else organisation + district).

    Blank fields of an entry leave the stored value alone; statuses are never changed.
    Entries must not repeat each other (the reader reports duplicates first).
    """
    by_email: dict[str, int] = {}
    by_name: dict[tuple[str, str], int] = {}
    known = session.exec(
        select(Employer.id, Employer.email, Employer.organisation, Employer.district).where(
            col(Employer.erased_at).is_(None)
        )
    )
    for employer_id, email, organisation, district in known:
        assert employer_id is not None
        if email:
            by_email.setdefault(email.strip().casefold(), employer_id)
        if organisation:
            by_name.setdefault(
                (" ".join(organisation.split()).casefold(), district or ""), employer_id
            )

    new_rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for entry in entries:
        email_key = entry.email_key()
        employer_id = by_email.get(email_key) if email_key else None
        if employer_id is None:
            employer_id = by_name.get(entry.name_key())
        fields = asdict(entry)
        if employer_id is None:
            new_rows.append({**fields, "status": "listed", "created_at": now, "updated_at": now})
        else:
            given = {name: value for name, value in fields.items() if value is not None}
            changes.append({"id": employer_id, **given, "updated_at": now})
    if new_rows:
        session.execute(insert(Employer), new_rows)
    if changes:
        session.execute(update(Employer), changes)
    session.flush()
    return RosterImport(added=len(new_rows), updated=len(changes))


def issue_invites(
    session: Session,
    *,
    statuses: Collection[str] = INVITABLE_STATUSES,
    new_token: Callable[[], str],
    now: datetime,
) -> list[Invite]:
    """Give every listed employer in these statuses a token (keeping old ones); mark `invited`.

    Employers already linked to a Telegram account or erased are left out.
    """
    employers = session.exec(
        select(Employer)
        .where(
            col(Employer.status).in_(list(statuses)),
            col(Employer.erased_at).is_(None),
            col(Employer.telegram_user_id).is_(None),
        )
        .order_by(col(Employer.id))
    ).all()
    invites = []
    for employer in employers:
        assert employer.id is not None
        if employer.invite_token is None:
            employer.invite_token = new_token()
        if employer.status == "listed":
            employer.status = "invited"
        employer.updated_at = now
        session.add(employer)
        invites.append(
            Invite(
                employer_id=employer.id,
                organisation=employer.organisation,
                contact_name=employer.contact_name,
                email=employer.email,
                token=employer.invite_token,
            )
        )
    session.flush()
    return invites


def link_invite(
    session: Session, *, token: str, telegram_user_id: int, chat_id: int, now: datetime
) -> Employer | None:
    """Link the Telegram user who pressed Start with an invite token to their list entry.

    Returns None when no entry has this token or another account already claimed it (the
    caller then treats the token as a plain source). If the user already has an employer
    row of their own (an earlier /start without a token), the two merge into the list entry:
    responses move over, the employer's own answers and consent are kept, and the further
    status wins.
    """
    entry = session.exec(select(Employer).where(Employer.invite_token == token)).first()
    if entry is None or entry.erased_at is not None:
        return None
    if entry.telegram_user_id is not None and entry.telegram_user_id != telegram_user_id:
        return None
    own = session.exec(
        select(Employer).where(Employer.telegram_user_id == telegram_user_id)
    ).first()
    if own is not None and own.id != entry.id:
        _merge_into(session, entry=entry, other=own)
    entry.telegram_user_id = telegram_user_id
    entry.chat_id = chat_id
    entry.updated_at = now
    session.add(entry)
    session.flush()
    return entry


def _merge_into(session: Session, *, entry: Employer, other: Employer) -> None:
    for name in _ANSWERED_FIELDS:
        if getattr(other, name) is not None:
            setattr(entry, name, getattr(other, name))
    for name in _CONTACT_FIELDS:
        if getattr(entry, name) is None:
            setattr(entry, name, getattr(other, name))
    if entry.consent_at is None and other.consent_at is not None:
        entry.consent_at = other.consent_at
        entry.consent_version = other.consent_version
    if other.recontact_opt_in is not None:
        entry.recontact_opt_in = other.recontact_opt_in
    if _STATUS_RANK.get(other.status, 0) > _STATUS_RANK.get(entry.status, 0):
        entry.status = other.status
    session.add(entry)
    session.flush()  # the entry's merged fields are written before anything is expired
    # Responses and every other row pointing at the merged employer (follow-ups, ...) move.
    for table in SQLModel.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name == Employer.__tablename__ and key.column.name == "id":
                column = key.parent
                session.execute(
                    update(table).where(column == other.id).values({column.name: entry.id})
                )
    session.expire_all()  # moved rows must be re-read
    session.delete(other)
    session.flush()  # frees the Telegram user id before the entry takes it


def employer_listing(
    session: Session,
    *,
    status: str | None = None,
    sector: str | None = None,
    district: str | None = None,
) -> list[Employer]:
    """The employers on the list (not erased, not staff members who tried the interview),
    by organisation, optionally filtered."""
    query = select(Employer).where(col(Employer.erased_at).is_(None), not_staff())
    if status is not None:
        query = query.where(Employer.status == status)
    if sector is not None:
        query = query.where(Employer.sector == sector)
    if district is not None:
        query = query.where(Employer.district == district)
    return list(
        session.exec(
            query.order_by(func.lower(func.coalesce(Employer.organisation, "")), col(Employer.id))
        )
    )


def status_counts(session: Session) -> dict[str, int]:
    """How many employers are in each status (every status listed, zeros included), and
    how many were erased; staff members who tried the interview are not employers."""
    counts = Counter(
        {
            status: number
            for status, number in session.exec(
                select(Employer.status, func.count())
                .where(col(Employer.erased_at).is_(None), not_staff())
                .group_by(col(Employer.status))
            )
        }
    )
    erased = session.exec(
        select(func.count()).select_from(Employer).where(col(Employer.erased_at).is_not(None))
    ).one()
    return (
        {status: counts.get(status, 0) for status in EMPLOYER_STATUSES}
        | {status: number for status, number in counts.items() if status not in EMPLOYER_STATUSES}
        | {"erased": int(erased)}
    )


def sector_counts(session: Session) -> dict[str | None, int]:
    """How many employers (not erased) are in each sector, largest first; None is unknown."""
    rows = session.exec(
        select(Employer.sector, func.count())
        .where(col(Employer.erased_at).is_(None), not_staff())
        .group_by(col(Employer.sector))
    ).all()
    return dict(sorted(rows, key=lambda row: (-row[1], row[0] or "~")))
