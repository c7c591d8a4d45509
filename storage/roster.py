"""The employer interview list: bulk import, invites, linking a Telegram account, listing.

Plain functions with the session passed in; none of them commits (the caller's
transaction does). Imports are bulk statements, so a 10,000-row list takes a handful of
round trips, not ten thousand.

Invite links are bearer tokens: whoever holds one can open it, so the database keeps only
each token's SHA-256 (`token_hash`; a leaked database or export opens nothing), and
opening a link shows nothing from the list. The person is joined to the list entry only
once they consent to the privacy notice, and only the first person to do so: anyone else
who opens the same link later gets a start of their own.
"""

from __future__ import annotations

import hashlib
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
_STATUS_RANK = {
    status: rank
    for rank, status in enumerate(
        ("listed", "invited", "unreachable", "started", "declined", "completed", "opted_out")
    )
}
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
    """An employer to invite, with their new personal token (never stored: only its hash)."""

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
        # PostgreSQL refuses a NUL in text (a spreadsheet cell can hold one).
        fields = {
            name: value.replace("\x00", "") if isinstance(value, str) else value
            for name, value in asdict(entry).items()
        }
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


def token_hash(token: str) -> str:
    """The SHA-256 of an invite token, hex: what the database keeps instead of the token.

    Tokens are 192 random bits, so a plain hash is enough (no salt or key): nobody can
    find a token from its hash.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_invites(
    session: Session,
    *,
    statuses: Collection[str] = INVITABLE_STATUSES,
    new_token: Callable[[], str],
    now: datetime,
) -> list[Invite]:
    """Give every listed employer in these statuses a new token; mark `listed` ones `invited`.

    Only the tokens' hashes are stored, so a link can be shown once only: issuing again
    (e.g. for the `invited` status) gives new links, and the employer's older link stops
    working. Employers already linked to a Telegram account or erased are left out.
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
        token = new_token()
        employer.invite_token_hash = token_hash(token)
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
                token=token,
            )
        )
    session.flush()
    return invites


def invite_entry(session: Session, *, token: str) -> Employer | None:
    """The list entry (not erased) whose invite token this is, claimed or not."""
    return session.exec(
        select(Employer).where(
            Employer.invite_token_hash == token_hash(token), col(Employer.erased_at).is_(None)
        )
    ).first()


def open_invite(session: Session, *, employer: Employer, token: str, now: datetime) -> Employer:
    """Someone (`employer`: their own row) opened an invite link; the row to go on with.

    Nothing of the list entry is shown or copied at this point. When the person has
    consented already, their row joins the entry now (and the entry is returned);
    otherwise the link is remembered on their row and followed when they consent
    (`link_pending_invite`). An unknown token, an entry another account has claimed, or a
    person who is a list entry already changes nothing: they go on as themselves.
    """
    entry = _claimable(session, employer=employer, token_digest=token_hash(token))
    if entry is None:
        return employer
    if employer.consent_at is not None:
        return _link(session, entry=entry, own=employer, now=now)
    employer.pending_invite_hash = token_hash(token)
    employer.updated_at = now
    session.add(employer)
    session.flush()
    return employer


def link_pending_invite(session: Session, *, employer: Employer, now: datetime) -> Employer:
    """After consent: join the invite's list entry the person opened, if it is still free.

    Returns the row to go on with: the list entry when linked, else `employer`. Call it
    only once the consent is recorded.
    """
    digest = employer.pending_invite_hash
    if digest is None or employer.consent_at is None:
        return employer
    employer.pending_invite_hash = None
    session.add(employer)
    entry = _claimable(session, employer=employer, token_digest=digest)
    if entry is None:
        session.flush()
        return employer
    return _link(session, entry=entry, own=employer, now=now)


def _claimable(session: Session, *, employer: Employer, token_digest: str) -> Employer | None:
    """The entry with this token hash if this person may join it: not erased, not claimed
    by anyone, and not the person's own row; and the person is no list entry already (two
    list entries are never merged)."""
    if employer.invite_token_hash is not None or employer.erased_at is not None:
        return None
    # Locked (on PostgreSQL) until the transaction ends: of two people consenting through
    # one link at once, the second waits, then finds the entry claimed.
    entry = session.exec(
        select(Employer)
        .where(Employer.invite_token_hash == token_digest)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if entry is None or entry.erased_at is not None or entry.id == employer.id:
        return None
    if entry.telegram_user_id is not None:
        return None
    return entry


def _link(session: Session, *, entry: Employer, own: Employer, now: datetime) -> Employer:
    """Merge the person's own row into the list entry, which takes their Telegram ids."""
    telegram_user_id, chat_id = own.telegram_user_id, own.chat_id
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
