"""Broadcasts: the audience, the delivery rows, claiming them one by one, and cancelling.

Crash safety. Every recipient has a `broadcast_delivery` row, made when the broadcast starts.
A sender claims a row (status 'sending', `claimed_at`) in its own short transaction just
before calling Telegram, and marks it 'sent' in another right after Telegram accepts it.
One sender owns a broadcast at a time (`owner`, `heartbeat_at`). When a sender dies, the
next one takes over only once the heartbeat is stale, and then turns the dead sender's
'sending' rows into 'unknown': the message may or may not have gone out, and the safe
choice is never to send anyone the same news twice. A sender claims a row only once its
rate-limit turn has come, and only a row whose chat may have a message now (`busy_chats`:
the chats that had one within the last second, say from another broadcast going out at
the same time, are skipped until their turn), so the window is one Telegram call per
sender: no row is ever 'sending' while it merely waits. Staff can still
choose to send the 'unknown' rows again (`requeue_unknown`, `skillsbot broadcast
resend-unknown ID`), knowing that some of those employers may then get the news twice.

Several processes (PostgreSQL). One process at a time sends broadcasts: the holder of the
cluster's sender lock (storage/cluster.py, `sole_sender=True` below). It takes a broadcast
over from any other owner at once, without waiting for the heartbeat to go stale: whoever
owned it is dead, or lost the lock and is fenced off (a claim checks the owner under a
share lock on the broadcast row, which the take-over's FOR UPDATE waits for). Claims still
use FOR UPDATE SKIP LOCKED, so that even two senders (SQLite's command line beside the bot)
never claim the same row.

Every function takes the caller's session and never commits: the caller's unit of work
(`storage.Units`) is the transaction. The sender's steps (`take_over`, `claim_next`,
`finish_delivery`, ...) must each be a unit of its own, committed before the next step:
a claim is committed before its message is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, true, update
from sqlmodel import Session, col, select

from storage.audience import Audience, may_message, sort_audience
from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastDraft
from storage.followup_models import InterviewRound
from storage.followups import ROUND_FIELD, SEGMENT_FIELDS, segment_candidates
from storage.models import Employer
from storage.staff import record_audit

# A sender refreshes its heartbeat every few seconds; one silent for longer is taken as dead.
STALE_OWNER = timedelta(seconds=30)
ACTIVE_STATUSES = ("scheduled", "ready", "sending")
AUDIENCE_FIELDS: Mapping[str, str] = {**SEGMENT_FIELDS, ROUND_FIELD: ROUND_FIELD}


@dataclass(frozen=True, slots=True)
class ChatsBusy:
    """`claim_next` found pending deliveries, but only to chats it was asked to skip."""


CHATS_BUSY = ChatsBusy()


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery claimed for sending: which row, to which chat."""

    delivery_id: int
    employer_id: int
    chat_id: int
    attempts: int


def clean_segment(segment: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The segment with empty filters dropped (ValueError naming an unknown field)."""
    cleaned: dict[str, list[str]] = {}
    for name, values in segment.items():
        if name not in AUDIENCE_FIELDS:
            raise ValueError(f"cannot filter on {name!r}; use {', '.join(AUDIENCE_FIELDS)}")
        if values:
            cleaned[name] = [str(value) for value in values]
    return cleaned


def describe_segment(segment: Mapping[str, Sequence[str]]) -> str:
    """The audience filter as one line, e.g. `sector=construction`, or `everyone`."""
    parts = [f"{name}={','.join(values)}" for name, values in segment.items() if values]
    return " ".join(parts) or "everyone"


def audience(session: Session, *, segment: Mapping[str, Sequence[str]]) -> list[Employer]:
    """Employers of the segment a broadcast reaches (the audience policy's recipients)."""
    return audience_report(session, segment=segment).recipients


def audience_report(session: Session, *, segment: Mapping[str, Sequence[str]]) -> Audience:
    """The employers of the segment a broadcast reaches, and how many of the segment are
    left out for which reason (storage.audience): for the preview and --dry-run."""
    candidates = segment_candidates(session, segment=clean_segment(segment))
    return sort_audience(session, candidates, kind="broadcast")


def create_broadcast(
    session: Session,
    *,
    text: str,
    segment: Mapping[str, Sequence[str]],
    created_by: str,
    now: datetime,
    media_kind: str | None = None,
    media: str | None = None,
    scheduled_at: datetime | None = None,
    progress_chat_id: int | None = None,
) -> Broadcast:
    """Record a broadcast (ready now, or scheduled) and audit-log it with its audience size."""
    if media_kind not in (None, "photo", "document"):
        raise ValueError("media_kind must be None, 'photo' or 'document'")
    cleaned = clean_segment(segment)
    count = len(audience(session, segment=cleaned))
    row = Broadcast(
        text=text,
        media_kind=media_kind,
        media=media,
        segment=cleaned,
        status="scheduled" if scheduled_at is not None else "ready",
        created_by=created_by,
        created_at=now,
        scheduled_at=scheduled_at,
        recipients=count,
        progress_chat_id=progress_chat_id,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=created_by,
        action="broadcast.schedule" if scheduled_at is not None else "broadcast.send",
        count=count,
        detail=f"broadcast {row.id} {describe_segment(cleaned)}",
        now=now,
    )
    return row


def recent_twins(
    session: Session,
    *,
    text: str,
    segment: Mapping[str, Sequence[str]],
    media_kind: str | None,
    since: datetime,
) -> list[Broadcast]:
    """Broadcasts created since `since` with this text, media kind and audience filter,
    newest first: a command tried again after an error would otherwise send the news twice."""
    wanted = clean_segment(segment)
    query = (
        select(Broadcast)
        .where(
            col(Broadcast.created_at) >= since,
            col(Broadcast.text) == text,
            col(Broadcast.media_kind).is_(None)
            if media_kind is None
            else col(Broadcast.media_kind) == media_kind,
        )
        .order_by(col(Broadcast.id).desc())
    )
    return [row for row in session.exec(query) if _filters(row.segment) == wanted]


def _filters(segment: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A stored segment's non-empty filters (no check of the field names: a stored one is
    compared, never applied)."""
    return {name: [str(value) for value in values] for name, values in segment.items() if values}


def get_broadcast(session: Session, *, broadcast_id: int) -> Broadcast | None:
    """One broadcast by id."""
    return session.get(Broadcast, broadcast_id)


def broadcasts(session: Session, *, limit: int = 50) -> list[Broadcast]:
    """The newest broadcasts first."""
    query = select(Broadcast).order_by(col(Broadcast.id).desc()).limit(limit)
    return list(session.exec(query))


def broadcasts_to_run(
    session: Session,
    *,
    now: datetime,
    stale_after: timedelta = STALE_OWNER,
    sole_sender: bool = False,
) -> list[int]:
    """Broadcasts a sender should pick up now: ready, due, or owned by a silent sender
    (with `sole_sender`, the caller holds the cluster's sender lock: every one sending)."""
    stale = (
        true()
        if sole_sender
        else or_(
            col(Broadcast.heartbeat_at).is_(None),
            col(Broadcast.heartbeat_at) < now - stale_after,
        )
    )
    query = select(Broadcast.id).where(
        or_(
            col(Broadcast.status) == "ready",
            (col(Broadcast.status) == "scheduled") & (col(Broadcast.scheduled_at) <= now),
            (col(Broadcast.status) == "sending") & stale,
        )
    )
    return [int(value) for value in session.exec(query.order_by(col(Broadcast.id))) if value]


def take_over(
    session: Session,
    *,
    broadcast_id: int,
    owner: str,
    now: datetime,
    stale_after: timedelta = STALE_OWNER,
    sole_sender: bool = False,
) -> Broadcast | None:
    """Become the broadcast's sender, or None (finished, cancelled, not due, owned by a live one).

    The first sender makes the delivery rows (one per recipient). A later one, taking over
    from a dead sender, turns its 'sending' rows into 'unknown' (see the module docstring).
    `sole_sender`: the caller holds the cluster's sender lock, so another owner is dead or
    fenced off, however fresh its heartbeat.
    """
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if _postgres(session):
        query = query.with_for_update()
    else:
        session.connection()  # BEGIN IMMEDIATE: one claimer at a time
    row = session.exec(query).first()
    if row is None or row.status not in ACTIVE_STATUSES:
        return None
    if row.status == "scheduled" and (row.scheduled_at is None or row.scheduled_at > now):
        return None
    alive = (
        not sole_sender and row.heartbeat_at is not None and row.heartbeat_at >= now - stale_after
    )
    if row.status == "sending" and row.owner != owner and alive:
        return None
    if row.started_at is None:
        _make_deliveries(session, row)
        row.started_at = now
    elif row.owner != owner:
        session.execute(
            update(BroadcastDelivery)
            .where(
                col(BroadcastDelivery.broadcast_id) == broadcast_id,
                col(BroadcastDelivery.status) == "sending",
            )
            .values(status="unknown", error="sender_died")
        )
    row.status = "sending"
    row.owner = owner
    row.heartbeat_at = now
    session.add(row)
    session.flush()
    return row


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _make_deliveries(session: Session, row: Broadcast) -> None:
    assert row.id is not None
    recipients = audience(session, segment=row.segment)
    for employer in recipients:
        assert employer.id is not None
        assert employer.chat_id is not None
        session.add(
            BroadcastDelivery(
                broadcast_id=row.id, employer_id=employer.id, chat_id=employer.chat_id
            )
        )
    row.recipients = len(recipients)
    session.flush()


def heartbeat(session: Session, *, broadcast_id: int, owner: str, now: datetime) -> str | None:
    """Keep ownership alive; the broadcast's status (e.g. 'cancelled'), None if not ours."""
    result = session.execute(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.owner) == owner)
        .values(heartbeat_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    status = session.exec(select(Broadcast.status).where(Broadcast.id == broadcast_id)).one()
    return str(status)


def claim_next(
    session: Session,
    *,
    broadcast_id: int,
    owner: str,
    now: datetime,
    busy_chats: Collection[int] = (),
) -> ClaimedDelivery | ChatsBusy | None:
    """Claim the next pending delivery of a sending broadcast ('sending', claimed now).

    `busy_chats`: chats that may not have a message yet (one a second per chat); their
    deliveries are left pending, and when nothing else is, the answer is `CHATS_BUSY`
    (wait, then try again) rather than None. A row is thus marked 'sending' only when it
    can be sent at once.

    A delivery whose employer the audience policy leaves out now (storage.audience: they
    became staff, blocked the bot, ...) is cancelled with the reason instead, and the next
    one is tried: the policy is asked when the rows are made and again at send time.

    Only the broadcast's current `owner` may claim: a sender that was taken over (it
    stalled, or its process is dying with work still in flight) claims nothing more, so no
    row can be left 'sending' behind the new owner's back.

    PostgreSQL skips rows locked by another claimer (FOR UPDATE SKIP LOCKED), so two bot
    processes can share the work; SQLite's BEGIN IMMEDIATE lets one claimer in at a time.
    None when nothing is left or the broadcast is no longer sending (e.g. cancelled).
    """
    busy = sorted(set(busy_chats))
    postgres = _postgres(session)
    if not postgres:
        session.connection()
    owner_query = select(Broadcast.status, Broadcast.owner).where(Broadcast.id == broadcast_id)
    if postgres:
        # A shared lock: claims run side by side, but a take-over (FOR UPDATE) waits
        # for them, and every claim after it sees the new owner.
        owner_query = owner_query.with_for_update(read=True)
    current = session.exec(owner_query).first()
    if current is None or tuple(current) != ("sending", owner):
        return None
    query = (
        select(BroadcastDelivery)
        .where(
            BroadcastDelivery.broadcast_id == broadcast_id,
            BroadcastDelivery.status == "pending",
        )
        .order_by(col(BroadcastDelivery.id))
        .limit(1)
    )
    pending = query
    if busy:
        query = query.where(
            or_(
                col(BroadcastDelivery.chat_id).is_(None),
                col(BroadcastDelivery.chat_id).not_in(busy),
            )
        )
    if postgres:
        query = query.with_for_update(skip_locked=True)
    while True:
        row = session.exec(query).first()
        if row is None:
            if busy and session.exec(pending).first() is not None:
                return CHATS_BUSY
            return None
        reason = _left_out_now(session, row)
        if reason is None:
            break
        # The audience policy, asked again at send time: they may have become staff,
        # or blocked the bot (seen by another message), since the rows were made.
        row.status = "cancelled"
        row.error = reason
        session.add(row)
        session.flush()
    row.status = "sending"
    row.claimed_at = now
    row.attempts += 1
    session.add(row)
    session.flush()
    assert row.id is not None
    assert row.chat_id is not None  # erasure cancels a pending delivery as it blanks it
    return ClaimedDelivery(row.id, row.employer_id, row.chat_id, row.attempts)


def _left_out_now(session: Session, row: BroadcastDelivery) -> str | None:
    """Why the delivery's employer may no longer be sent the broadcast (None: they may)."""
    employer = session.get(Employer, row.employer_id) if row.employer_id is not None else None
    if employer is None:
        return "erased"
    return may_message(session, employer, kind="broadcast")


def finish_delivery(
    session: Session,
    *,
    delivery_id: int,
    status: str,
    now: datetime,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    """Record how a claimed delivery ended: sent, failed or unreachable (which also marks
    the employer unreachable)."""
    if status not in ("sent", "failed", "unreachable"):
        raise ValueError(f"a delivery cannot end as {status!r}")
    row = session.get(BroadcastDelivery, delivery_id)
    if row is None:
        return
    row.status = status
    row.error = error[:200] if error else None
    if status == "sent":
        row.sent_at = now
        row.telegram_message_id = message_id
    session.add(row)
    if status == "unreachable":
        session.execute(
            update(Employer)
            .where(col(Employer.id) == row.employer_id, col(Employer.status) != "opted_out")
            .values(status="unreachable", updated_at=now)
        )


def release_delivery(session: Session, *, delivery_id: int) -> None:
    """Hand a claimed delivery back ('pending'): Telegram refused it unsent (429), and it
    waits for a later turn unclaimed."""
    session.execute(
        update(BroadcastDelivery)
        .where(
            col(BroadcastDelivery.id) == delivery_id,
            col(BroadcastDelivery.status) == "sending",
        )
        .values(status="pending")
    )


def note_attempt(session: Session, *, delivery_id: int, now: datetime) -> None:
    """A claimed delivery is being tried again (counts the attempt, keeps the claim fresh)."""
    session.execute(
        update(BroadcastDelivery)
        .where(col(BroadcastDelivery.id) == delivery_id)
        .values(attempts=BroadcastDelivery.attempts + 1, claimed_at=now)
    )


def delivery_counts(session: Session, *, broadcast_id: int) -> dict[str, int]:
    """How many deliveries of a broadcast are in each status."""
    rows = session.exec(
        select(BroadcastDelivery.status, func.count())
        .where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(BroadcastDelivery.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


def deliveries(session: Session, *, broadcast_id: int) -> list[BroadcastDelivery]:
    """Every delivery row of a broadcast, in claiming order."""
    query = select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == broadcast_id)
    return list(session.exec(query.order_by(col(BroadcastDelivery.id))))


def finish_broadcast(session: Session, *, broadcast_id: int, owner: str, now: datetime) -> bool:
    """Mark the broadcast done if nothing is pending or being sent; True when it is done."""
    if not _postgres(session):
        session.connection()
    row = session.get(Broadcast, broadcast_id)
    if row is None or row.owner != owner or row.status != "sending":
        return row is not None and row.status == "done"
    counts = delivery_counts(session, broadcast_id=broadcast_id)
    if counts.get("pending", 0) or counts.get("sending", 0):
        return False
    row.status = "done"
    row.finished_at = now
    session.add(row)
    return True


def update_broadcast(session: Session, /, *, broadcast_id: int, **values: Any) -> None:
    """Set fields of a broadcast (the media file id, the progress message id)."""
    allowed = {"media", "progress_chat_id", "progress_message_id"}
    if not set(values) <= allowed:
        raise ValueError(f"only {', '.join(sorted(allowed))} can be changed")
    session.execute(update(Broadcast).where(col(Broadcast.id) == broadcast_id).values(**values))


def cancel_broadcast(session: Session, *, broadcast_id: int, actor: str, now: datetime) -> bool:
    """Cancel a scheduled or running broadcast: its pending deliveries are never sent.

    A sender notices at its next claim. False when there is no such active broadcast.
    """
    row = session.get(Broadcast, broadcast_id)
    if row is None or row.status not in ACTIVE_STATUSES:
        return False
    row.status = "cancelled"
    row.finished_at = now
    session.add(row)
    session.execute(
        update(BroadcastDelivery)
        .where(
            col(BroadcastDelivery.broadcast_id) == broadcast_id,
            col(BroadcastDelivery.status) == "pending",
        )
        .values(status="cancelled")
    )
    record_audit(
        session,
        actor=actor,
        action="broadcast.cancel",
        count=0,
        detail=f"broadcast {broadcast_id}",
        now=now,
    )
    session.flush()
    return True


@dataclass(frozen=True, slots=True)
class UnknownDeliveries:
    """A broadcast's deliveries left 'unknown' by a sender that stopped mid-send.

    `resendable` are those whose employer is still in the broadcast's audience (not opted
    out, unreachable or erased since); only those can be sent again.
    """

    status: str
    unknown: int
    resendable: int


def unknown_deliveries(session: Session, *, broadcast_id: int) -> UnknownDeliveries | None:
    """How many deliveries of a broadcast are 'unknown', and how many could be resent."""
    row = session.get(Broadcast, broadcast_id)
    if row is None:
        return None
    ids = _resendable_ids(session, row)
    unknown = delivery_counts(session, broadcast_id=broadcast_id).get("unknown", 0)
    return UnknownDeliveries(status=row.status, unknown=unknown, resendable=len(ids))


def requeue_unknown(session: Session, *, broadcast_id: int, actor: str, now: datetime) -> int:
    """Make a finished broadcast's resendable 'unknown' deliveries pending again and the
    broadcast ready, so that a sender sends them (and only them); audit-logged.

    Only a finished ('done') broadcast: while one is sending, its own sender decides what
    is unknown. Returns how many deliveries were requeued (0: nothing to do).
    """
    row = session.get(Broadcast, broadcast_id, with_for_update=True)
    if row is None or row.status != "done":
        return 0
    ids = _resendable_ids(session, row)
    if not ids:
        return 0
    session.execute(
        update(BroadcastDelivery)
        .where(col(BroadcastDelivery.id).in_(ids), col(BroadcastDelivery.status) == "unknown")
        .values(status="pending", error="resent_unknown")
    )
    row.status = "ready"
    row.owner = None
    row.heartbeat_at = None
    row.finished_at = None
    session.add(row)
    record_audit(
        session,
        actor=actor,
        action="broadcast.resend_unknown",
        count=len(ids),
        detail=f"broadcast {broadcast_id}",
        now=now,
    )
    session.flush()
    return len(ids)


def _resendable_ids(session: Session, row: Broadcast) -> list[int]:
    """The 'unknown' deliveries of `row` whose employer is still in its audience."""
    assert row.id is not None
    still = {employer.id for employer in audience(session, segment=row.segment)}
    query = select(BroadcastDelivery.id, BroadcastDelivery.employer_id).where(
        col(BroadcastDelivery.broadcast_id) == row.id,
        col(BroadcastDelivery.status) == "unknown",
        col(BroadcastDelivery.chat_id).is_not(None),
    )
    return [int(d) for d, employer in session.exec(query) if d is not None and employer in still]


def segment_values(session: Session, *, field: str) -> list[tuple[str, int]]:
    """The values of one audience field among reachable employers, with counts (most first)."""
    if field not in AUDIENCE_FIELDS:
        raise ValueError(f"cannot filter on {field!r}")
    if field == ROUND_FIELD:
        return _round_sizes(session)
    name = AUDIENCE_FIELDS[field]
    counts: dict[str, int] = {}
    for employer in audience(session, segment={}):
        value = getattr(employer, name)
        if value is not None:
            counts[str(value)] = counts.get(str(value), 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _round_sizes(session: Session) -> list[tuple[str, int]]:
    """Each interview round's name with its reachable invitees (most first)."""
    names = session.exec(select(InterviewRound.name).distinct()).all()
    sizes = [(str(name), len(audience(session, segment={ROUND_FIELD: [name]}))) for name in names]
    return sorted((item for item in sizes if item[1]), key=lambda item: (-item[1], item[0]))


def draft_of(session: Session, *, chat_id: int) -> BroadcastDraft | None:
    """The broadcast being written in this chat, if any."""
    return session.get(BroadcastDraft, chat_id)


def save_draft(
    session: Session, *, chat_id: int, step: str, data: Mapping[str, Any], now: datetime
) -> None:
    """Keep the chat's draft at `step` with `data` (created or replaced; within the
    update's transaction, which holds the chat's lock)."""
    row = session.get(BroadcastDraft, chat_id)
    if row is None:
        row = BroadcastDraft(chat_id=chat_id, step=step, data=dict(data), updated_at=now)
    else:
        row.step, row.data, row.updated_at = step, dict(data), now
    session.add(row)


def drop_draft(session: Session, *, chat_id: int) -> None:
    """Forget the chat's draft (stored as a broadcast, or cancelled)."""
    row = session.get(BroadcastDraft, chat_id)
    if row is not None:
        session.delete(row)
