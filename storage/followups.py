"""Follow-ups: interview rounds and the outbox of reminders, invitations and weekly reports.

Plain functions with the session passed in; none commits (the caller's transaction does),
`claim_due` included (its caller's transaction must be a short one of its own). Every
function takes `now` explicitly, so tests control the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from conversations.state import InterviewState
from storage import locks
from storage.audience import DEFAULT_MAX_UNANSWERED, not_staff, sort_audience
from storage.audience import opt_out as _policy_opt_out
from storage.followup_models import FollowUp, InterviewRound
from storage.models import Employer, Response
from storage.repositories import active_response, start_response

# Employers who are never sent a follow-up, whatever is planned.
NOT_CONTACTED: frozenset[str] = frozenset({"completed", "declined", "opted_out", "unreachable"})
# Why a reminder is cancelled when the employer answered after it was planned: the
# planner plans the next one from the new answer.
REPLANNED: tuple[str, ...] = ("replanned", "answered_since")
# A 'sending' row claimed longer ago than this is taken to be lost in a crash and retried.
STALE_CLAIM = timedelta(minutes=5)
# After this many attempts a follow-up is given up as failed.
MAX_ATTEMPTS = 5
# The segment filters a round may use: option name -> employer field.
SEGMENT_FIELDS: Mapping[str, str] = {
    "status": "status",
    "sector": "sector",
    "district": "district",
    "size": "size_band",
}
# A segment may also name interview rounds: the employers invited to any of them.
ROUND_FIELD = "round"


def _insert_new(session: Session, values: dict[str, Any]) -> bool:
    """INSERT a follow-up unless its key exists; True if inserted."""
    table = SQLModel.metadata.tables["follow_up"]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None


def _follow_up_values(
    *,
    key: str,
    kind: str,
    due_at: datetime,
    now: datetime,
    employer_id: int | None = None,
    chat_id: int | None = None,
    response_id: int | None = None,
    round_id: int | None = None,
    sequence: int = 0,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "kind": kind,
        "employer_id": employer_id,
        "chat_id": chat_id,
        "response_id": response_id,
        "round_id": round_id,
        "sequence": sequence,
        "detail": detail,
        "due_at": due_at,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }


# -- reminders -------------------------------------------------------------------------------


def reminders_sent(session: Session, *, response_id: int) -> int:
    """How many reminders about this response have been sent."""
    count = session.exec(
        select(func.count())
        .select_from(FollowUp)
        .where(
            FollowUp.response_id == response_id,
            FollowUp.kind == "reminder",
            FollowUp.status == "sent",
        )
    ).one()
    return int(count)


def last_reminder_sent_at(session: Session, *, response_id: int) -> datetime | None:
    """When the latest reminder about this response was sent (None: none was)."""
    sent_at = session.exec(
        select(func.max(FollowUp.sent_at)).where(
            FollowUp.response_id == response_id,
            FollowUp.kind == "reminder",
            FollowUp.status == "sent",
        )
    ).one()
    return _as_utc(sent_at) if sent_at is not None else None


def _as_utc(moment: datetime) -> datetime:
    # An aggregate's value skips the column's type on SQLite: a naive UTC datetime or text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _planned_since_last_activity() -> Any:
    """EXISTS: a reminder of the response, not sent, planned at or after its last activity
    (pending or being sent; or cancelled or failed for good, which its key keeps so; but
    not one cancelled because the employer answered, which is planned again)."""
    planned = aliased(FollowUp)
    return (
        select(planned.id)
        .where(
            planned.response_id == Response.id,
            planned.kind == "reminder",
            planned.status != "sent",
            or_(
                col(planned.status) != "cancelled",
                col(planned.last_error).is_(None),
                col(planned.last_error).not_in(REPLANNED),
            ),
            planned.created_at >= Response.updated_at,
        )
        .exists()
    )


def _reminders_sent_of_row() -> Any:
    """A scalar subquery: how many reminders about the response were sent."""
    sent = aliased(FollowUp)
    return (
        select(func.count())
        .select_from(sent)
        .where(sent.response_id == Response.id, sent.kind == "reminder", sent.status == "sent")
        .scalar_subquery()
    )


def plan_reminders(
    session: Session,
    *,
    due_time: Callable[[datetime, int], datetime],
    max_reminders: int,
    now: datetime,
    limit: int | None = None,
) -> int:
    """Schedule the next reminder for every stalled in-progress response; how many new.

    The next reminder (number n = sent + 1) is due at `due_time(last_activity, n)`. A
    pending reminder planned from an older last activity (the employer answered since) is
    cancelled and planned again from the new one. Returns the number of rows added.

    Only responses with nothing to do are skipped in SQL (a reminder other than a sent one
    planned since their last activity, or all their reminders sent), so that the planner
    can run on every dispatch cycle: most runs read no row and write nothing. `limit`
    keeps one run's write transaction short (the rest are planned by the next runs); the
    query leaves out everyone the audience policy would, so that the batch is never filled
    by employers who are then skipped (the policy is still asked, and again at send time).
    """
    rows = session.exec(
        select(Response, Employer)
        .join(Employer, col(Employer.id) == Response.employer_id)
        .where(
            Response.status == "in_progress",
            col(Response.test).is_(False),
            col(Employer.erased_at).is_(None),
            col(Employer.opted_out_at).is_(None),
            col(Employer.chat_id).is_not(None),
            col(Employer.status).not_in(NOT_CONTACTED),
            # Everyone the audience policy leaves out is left out here too, in SQL: were
            # they filtered after the LIMIT, they could fill every batch and starve the rest.
            not_staff(),
        )
        .where(~_planned_since_last_activity(), _reminders_sent_of_row() < max_reminders)
        .order_by(col(Response.updated_at), col(Response.id))
        .limit(limit)
    ).all()
    allowed = {
        id(employer)
        for employer in sort_audience(
            session, (employer for _, employer in rows), kind="reminder"
        ).recipients
    }
    added = 0
    for response, employer in rows:
        assert response.id is not None
        if id(employer) not in allowed:  # the audience policy leaves them out
            continue
        sent = reminders_sent(session, response_id=response.id)
        anchor = response.updated_at
        # The anchor to the microsecond: two answers within a second are two activities.
        key = f"reminder:{response.id}:{sent + 1}:{anchor.astimezone(UTC):%Y%m%dT%H%M%S%f}"
        session.execute(
            update(FollowUp)
            .where(
                col(FollowUp.response_id) == response.id,
                col(FollowUp.kind) == "reminder",
                col(FollowUp.status) == "pending",
                col(FollowUp.key) != key,
            )
            .values(status="cancelled", last_error=REPLANNED[0])
        )
        if sent >= max_reminders:
            continue
        added += _insert_new(
            session,
            _follow_up_values(
                key=key,
                kind="reminder",
                due_at=due_time(anchor, sent + 1),
                # Never before the activity it was planned from: `now` was read before
                # this transaction, and an answer may have come in between (the row would
                # look stale at once, be cancelled, and its key block the plan again).
                now=max(now, anchor),
                employer_id=employer.id,
                response_id=response.id,
                round_id=response.round_id,
                sequence=sent + 1,
            ),
        )
    session.flush()
    return added


def cancel_pending(session: Session, *, employer_id: int, reason: str) -> int:
    """Cancel every pending follow-up of an employer (e.g. they opted out); how many."""
    result = session.execute(
        update(FollowUp)
        .where(col(FollowUp.employer_id) == employer_id, col(FollowUp.status) == "pending")
        .values(status="cancelled", last_error=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def opt_out(session: Session, *, employer: Employer, now: datetime) -> bool:
    """The employer pressed "No more messages" (see `storage.audience.opt_out`)."""
    return _policy_opt_out(session, employer=employer, now=now)


# -- the outbox ------------------------------------------------------------------------------


def claim_due(
    session: Session, *, now: datetime, limit: int = 50, stale_after: timedelta = STALE_CLAIM
) -> list[FollowUp]:
    """Claim due follow-ups: status 'sending', claimed now. The caller's transaction must
    be a short one of its own, committed before anything is sent (a unit of work).

    Due means pending with `due_at <= now`, or 'sending' but claimed before
    `now - stale_after` (a crash between claiming and marking). PostgreSQL locks the rows
    with FOR UPDATE SKIP LOCKED, so two processes never claim the same row; SQLite's
    BEGIN IMMEDIATE lets one claimer in at a time.
    """
    query = (
        select(FollowUp)
        .where(
            or_(
                and_(col(FollowUp.status) == "pending", col(FollowUp.due_at) <= now),
                and_(
                    col(FollowUp.status) == "sending",
                    col(FollowUp.claimed_at) < now - stale_after,
                ),
            )
        )
        .order_by(col(FollowUp.due_at), col(FollowUp.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    else:
        session.connection()  # BEGIN IMMEDIATE: take the write lock before reading
    claimed = list(session.exec(query))
    for row in claimed:
        row.status = "sending"
        row.claimed_at = now
        row.attempts += 1
        session.add(row)
    session.flush()
    return claimed


def mark_sent(session: Session, *, follow_up_id: int, now: datetime) -> None:
    """The follow-up went out."""
    _finish(session, follow_up_id, status="sent", error=None, sent_at=now)


def mark_cancelled(session: Session, *, follow_up_id: int, reason: str) -> None:
    """The follow-up is no longer wanted (e.g. the employer completed); `reason` is a word."""
    _finish(session, follow_up_id, status="cancelled", error=reason, sent_at=None)


def mark_deferred(session: Session, *, follow_up_id: int, due_at: datetime) -> None:
    """Not now (a reminder claimed in quiet hours or at a weekend): pending again, due at
    `due_at`. The claim was no attempt at sending, so it does not count as one."""
    row = session.get(FollowUp, follow_up_id)
    if row is None:
        return
    row.status = "pending"
    row.due_at = due_at
    row.claimed_at = None
    row.attempts = max(row.attempts - 1, 0)
    session.add(row)
    session.flush()


def mark_failed(
    session: Session, *, follow_up_id: int, error: str, retry_at: datetime | None
) -> None:
    """Sending failed: try again at `retry_at` (pending), or give up (None or too many tries)."""
    row = session.get(FollowUp, follow_up_id)
    if row is None:
        return
    row.last_error = error[:200]
    if retry_at is not None and row.attempts < MAX_ATTEMPTS:
        row.status = "pending"
        row.due_at = retry_at
    else:
        row.status = "failed"
    session.add(row)
    session.flush()


def _finish(
    session: Session, follow_up_id: int, *, status: str, error: str | None, sent_at: datetime | None
) -> None:
    row = session.get(FollowUp, follow_up_id)
    if row is None:
        return
    row.status = status
    row.last_error = error
    row.sent_at = sent_at
    session.add(row)
    session.flush()


def follow_ups(
    session: Session,
    *,
    employer_id: int | None = None,
    kinds: Collection[str] | None = None,
    statuses: Collection[str] | None = None,
) -> list[FollowUp]:
    """Follow-ups, oldest due first (optionally of one employer, some kinds or statuses)."""
    query = select(FollowUp)
    if employer_id is not None:
        query = query.where(FollowUp.employer_id == employer_id)
    if kinds is not None:
        query = query.where(col(FollowUp.kind).in_(list(kinds)))
    if statuses is not None:
        query = query.where(col(FollowUp.status).in_(list(statuses)))
    return list(session.exec(query.order_by(col(FollowUp.due_at), col(FollowUp.id))))


# -- rounds ----------------------------------------------------------------------------------


class UnknownSegmentField(ValueError):
    """A round's segment names a field we cannot filter on."""


def segment_employers(
    session: Session,
    *,
    segment: Mapping[str, Sequence[str]],
    max_unanswered: int = DEFAULT_MAX_UNANSWERED,
) -> list[Employer]:
    """Employers of the segment whom the audience policy lets us invite to a round."""
    candidates = segment_candidates(session, segment=segment)
    return sort_audience(
        session, candidates, kind="round_invite", max_unanswered=max_unanswered
    ).recipients


def segment_candidates(session: Session, *, segment: Mapping[str, Sequence[str]]) -> list[Employer]:
    """Every employer of the segment (each field: any of its values), before the audience
    policy (storage.audience) says who of them may be messaged."""
    query = select(Employer)
    for name, values in segment.items():
        if name == ROUND_FIELD:
            if values:
                query = query.where(col(Employer.id).in_(round_invitees(list(values))))
            continue
        if name not in SEGMENT_FIELDS:
            fields = ", ".join([*SEGMENT_FIELDS, ROUND_FIELD])
            raise UnknownSegmentField(f"cannot filter on {name!r}; use {fields}")
        if values:
            query = query.where(col(getattr(Employer, SEGMENT_FIELDS[name])).in_(list(values)))
    return list(session.exec(query.order_by(col(Employer.id))))


def round_invitees(round_names: Sequence[str]) -> Any:
    """A subquery: ids of the employers invited to any of the rounds with these names."""
    return (
        select(FollowUp.employer_id)
        .join(InterviewRound, col(InterviewRound.id) == col(FollowUp.round_id))
        .where(FollowUp.kind == "round_invite", col(InterviewRound.name).in_(round_names))
    )


@dataclass(frozen=True, slots=True)
class OpenedRound:
    """A round just opened (or added to), and how many invitations were scheduled."""

    round_id: int
    name: str
    invited: int
    added: bool = False  # True: an open round of this name, to which `invited` were added


class RoundExists(ValueError):
    """A round of this name is open already (opening it again would invite twice)."""

    def __init__(self, existing: InterviewRound) -> None:
        super().__init__(f"a round called {existing.name!r} exists already")
        self.existing = existing


def same_round_name(first: str, second: str) -> bool:
    """Round names are the same whatever their case and spacing ("Stage 2", "stage  2")."""
    return " ".join(first.split()).casefold() == " ".join(second.split()).casefold()


def round_named(session: Session, name: str) -> InterviewRound | None:
    """The (oldest) round of this name, if any."""
    rows = [row for row in interview_rounds(session) if same_round_name(row.name, name)]
    return min(rows, key=lambda row: row.id or 0) if rows else None


def _invited_to_rounds_named(session: Session, name: str) -> set[int]:
    """Employers invited to a round of this name (two were made before names were
    checked: someone invited to either is not invited again)."""
    ids = [row.id for row in interview_rounds(session) if same_round_name(row.name, name)]
    if not ids:
        return set()
    invited = session.exec(
        select(FollowUp.employer_id).where(
            FollowUp.kind == "round_invite", col(FollowUp.round_id).in_(ids)
        )
    )
    return {employer_id for employer_id in invited if employer_id is not None}


def open_round(
    session: Session,
    *,
    name: str,
    interview_id: str,
    interview_version: str,
    interview_path: str | None,
    segment: Mapping[str, Sequence[str]],
    opened_by: str,
    now: datetime,
    add: bool = False,
    max_unanswered: int = DEFAULT_MAX_UNANSWERED,
) -> OpenedRound:
    """Open a round and schedule an invitation (due now) to each employer of its segment
    whom the audience policy allows (`max_unanswered`: invitations for one who never
    answered).

    A round of the same name raises `RoundExists`, unless `add`: then the employers of the
    segment (the round's own when `segment` names no value) who were not invited to it
    yet are invited, and nobody twice (an invitation's key is its round and employer).
    """
    if session.get_bind().dialect.name == "postgresql":
        # two `round open` at once take turns (SQLite's BEGIN IMMEDIATE already does)
        locks.lock_for_transaction(session, locks.ROUNDS)
    else:
        session.connection()  # BEGIN IMMEDIATE: one opener at a time
    existing = round_named(session, name)
    if existing is not None and not add:
        raise RoundExists(existing)
    if existing is not None:
        row = existing
        if not any(segment.values()):
            segment = {key: list(values) for key, values in row.segment.items()}
    else:
        row = InterviewRound(
            name=name,
            interview_path=interview_path,
            interview_id=interview_id,
            interview_version=interview_version,
            segment={key: list(values) for key, values in segment.items() if values},
            opened_at=now,
            opened_by=opened_by,
        )
        session.add(row)
        session.flush()
    assert row.id is not None
    already = _invited_to_rounds_named(session, row.name)
    invited = 0
    for employer in segment_employers(session, segment=segment, max_unanswered=max_unanswered):
        if employer.id in already:
            continue
        invited += _insert_new(
            session,
            _follow_up_values(
                key=f"round_invite:{row.id}:{employer.id}",
                kind="round_invite",
                due_at=now,
                now=now,
                employer_id=employer.id,
                round_id=row.id,
            ),
        )
    session.flush()
    return OpenedRound(round_id=row.id, name=row.name, invited=invited, added=existing is not None)


def interview_rounds(session: Session) -> list[InterviewRound]:
    """Every round, newest first."""
    return list(
        session.exec(
            select(InterviewRound).order_by(
                col(InterviewRound.opened_at).desc(), col(InterviewRound.id).desc()
            )
        )
    )


def round_invitations(session: Session, *, round_id: int) -> dict[str, int]:
    """How many of a round's invitations are in each status."""
    rows = session.exec(
        select(FollowUp.status, func.count())
        .where(FollowUp.round_id == round_id, FollowUp.kind == "round_invite")
        .group_by(FollowUp.status)
    ).all()
    return {status: int(count) for status, count in rows}


def round_invited(session: Session, *, round_id: int, employer_id: int) -> bool:
    """Whether the round's invitation went (or is going) to this employer."""
    row = session.exec(
        select(FollowUp.id).where(
            FollowUp.kind == "round_invite",
            FollowUp.round_id == round_id,
            FollowUp.employer_id == employer_id,
            col(FollowUp.status).in_(("sent", "sending")),
        )
    ).first()
    return row is not None


def start_round_response(
    session: Session,
    *,
    employer_id: int,
    round_id: int,
    interview_id: str,
    interview_version: str,
    state: InterviewState,
    now: datetime,
) -> Response | None:
    """Begin a response of a round (its Start button); None if one is in progress already,
    or the round did not invite this employer (a forged or forwarded button)."""
    if active_response(session, employer_id=employer_id) is not None:
        return None
    if not round_invited(session, round_id=round_id, employer_id=employer_id):
        return None
    response = start_response(
        session,
        employer_id=employer_id,
        interview_id=interview_id,
        interview_version=interview_version,
        state=state,
        source=f"round-{round_id}",
        now=now,
    )
    response.round_id = round_id
    session.add(response)
    session.flush()
    return response


# -- weekly reports --------------------------------------------------------------------------


def schedule_weekly_reports(
    session: Session, *, week: str, chat_ids: Collection[int], now: datetime
) -> int:
    """One weekly-report follow-up per analyst chat for this ISO week (never twice)."""
    added = 0
    for chat_id in sorted(set(chat_ids)):
        added += _insert_new(
            session,
            _follow_up_values(
                key=f"weekly_report:{week}:{chat_id}",
                kind="weekly_report",
                due_at=now,
                now=now,
                chat_id=chat_id,
                detail=week,
            ),
        )
    session.flush()
    return added
