"""Who may be messaged: the one audience policy every outbound path uses.

Broadcasts, reminders and round invitations all ask `left_out_reason` (one employer) or
`sort_audience` (many) whether a message that was not a reply may go to an employer, and
the weekly report asks `may_receive_report`. The rules, in the order they are checked (the
first that applies is the reason given in previews and dry runs):

- `erased`: they asked us to forget them (/forget), or their identifiers expired;
- `staff`: a staff member, analyst or admin (their own interview runs are test responses);
- `declined`: they said No to the privacy notice (until they start again themselves);
- `opted_out`: they pressed "No more messages" (until they take it back);
- `unreachable`: they blocked the bot (until they write again);
- `no_chat`: not on Telegram (a list entry who never pressed Start);
- `no_consent` (broadcasts only): they have not agreed to the privacy notice yet;
- `invitations_used` (round invitations): they never answered, and have had the configured
  maximum of invitations already;
- `completed` (reminders): they have finished, there is nothing to remind them of.

A reply to someone's own message is not outreach and is not checked here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from storage.broadcast_models import BroadcastDelivery
from storage.followup_models import FollowUp
from storage.models import Employer, Response
from storage.staff import record_audit
from storage.staff_models import StaffMember

Kind = Literal["broadcast", "reminder", "round_invite"]
KINDS: tuple[Kind, ...] = ("broadcast", "reminder", "round_invite")
# Why an employer is left out, in the order the rules are checked.
REASONS: tuple[str, ...] = (
    "erased",
    "staff",
    "declined",
    "opted_out",
    "unreachable",
    "no_chat",
    "no_consent",
    "invitations_used",
    "completed",
)
REASON_LABELS: Mapping[str, str] = {
    "erased": "erased at their request",
    "staff": "staff, analysts and admins",
    "declined": "declined the privacy notice",
    "opted_out": "opted out of messages",
    "unreachable": "unreachable (blocked the bot)",
    "no_chat": "not on Telegram",
    "no_consent": "not yet agreed to the privacy notice",
    "invitations_used": "never answered, invitations used up",
    "completed": "interview completed (nothing to remind)",
}
# Invitations someone who never answered may get (SKILLSBOT_MAX_REMINDERS by default).
DEFAULT_MAX_UNANSWERED = 2
# The follow-up statuses that count as an invitation given (or about to be).
_INVITED = ("pending", "sending", "sent", "unknown")


@dataclass(frozen=True, slots=True)
class Audience:
    """The employers a message may go to, and how many were left out for which reason."""

    recipients: list[Employer]
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def excluded(self) -> int:
        """How many were left out in all."""
        return sum(self.left_out.values())


def left_out_reason(
    employer: Employer,
    *,
    kind: Kind,
    staff: bool,
    invitations: int = 0,
    max_unanswered: int = DEFAULT_MAX_UNANSWERED,
) -> str | None:
    """Why this employer may not be sent a message of this kind (None: they may).

    `staff`: whether their Telegram user holds a role; `invitations`: round invitations
    given to them so far.
    """
    if employer.erased_at is not None:
        return "erased"
    if staff:
        return "staff"
    if employer.status == "declined":
        return "declined"
    if employer.opted_out_at is not None or employer.status == "opted_out":
        return "opted_out"
    if employer.status == "unreachable":
        return "unreachable"
    if employer.chat_id is None:
        return "no_chat"
    if kind == "broadcast" and employer.consent_at is None:
        return "no_consent"
    if kind == "round_invite" and employer.consent_at is None and invitations >= max_unanswered:
        return "invitations_used"
    if kind == "reminder" and employer.status == "completed":
        return "completed"
    return None


def staff_user_ids(session: Session) -> frozenset[int]:
    """The Telegram user ids holding a role (admin, staff, analyst)."""
    return frozenset(int(uid) for uid in session.exec(select(StaffMember.telegram_user_id)))


def not_staff() -> Any:
    """A SQL condition: the employer's Telegram user holds no staff role (for listings)."""
    return or_(
        col(Employer.telegram_user_id).is_(None),
        col(Employer.telegram_user_id).not_in(select(StaffMember.telegram_user_id)),
    )


def invitation_counts(session: Session, employer_ids: Collection[int]) -> dict[int, int]:
    """Round invitations given to each of these employers."""
    if not employer_ids:
        return {}
    rows = session.exec(
        select(FollowUp.employer_id, func.count())
        .where(
            FollowUp.kind == "round_invite",
            col(FollowUp.status).in_(_INVITED),
            col(FollowUp.employer_id).in_(list(employer_ids)),
        )
        .group_by(col(FollowUp.employer_id))
    ).all()
    return {int(employer_id): int(count) for employer_id, count in rows if employer_id}


def sort_audience(
    session: Session,
    employers: Iterable[Employer],
    *,
    kind: Kind,
    max_unanswered: int = DEFAULT_MAX_UNANSWERED,
) -> Audience:
    """Split employers (already filtered by segment) into recipients and counted reasons."""
    candidates = list(employers)
    staff = staff_user_ids(session)
    invitations: dict[int, int] = {}
    if kind == "round_invite":
        invitations = invitation_counts(session, [e.id for e in candidates if e.id is not None])
    recipients: list[Employer] = []
    left_out: dict[str, int] = {}
    for employer in candidates:
        reason = left_out_reason(
            employer,
            kind=kind,
            staff=employer.telegram_user_id in staff,
            invitations=invitations.get(employer.id or 0, 0),
            max_unanswered=max_unanswered,
        )
        if reason is None:
            recipients.append(employer)
        else:
            left_out[reason] = left_out.get(reason, 0) + 1
    ordered = {reason: left_out[reason] for reason in REASONS if reason in left_out}
    return Audience(recipients=recipients, left_out=ordered)


def may_message(
    session: Session,
    employer: Employer,
    *,
    kind: Kind,
    max_unanswered: int = DEFAULT_MAX_UNANSWERED,
) -> str | None:
    """`left_out_reason` for one employer, read now (the check at send time)."""
    staff = employer.telegram_user_id is not None and (
        session.get(StaffMember, employer.telegram_user_id) is not None
    )
    invitations = 0
    if kind == "round_invite" and employer.id is not None:
        # The invitation being sent is one of those counted: it may go if it is within.
        invitations = max(0, invitation_counts(session, [employer.id]).get(employer.id, 0) - 1)
    return left_out_reason(
        employer, kind=kind, staff=staff, invitations=invitations, max_unanswered=max_unanswered
    )


def describe_left_out(left_out: Mapping[str, int]) -> str:
    """`left out: 2 declined the privacy notice, 1 opted out of messages`, or `nobody left out`."""
    parts = [f"{count} {REASON_LABELS.get(reason, reason)}" for reason, count in left_out.items()]
    return "left out: " + ", ".join(parts) if parts else "nobody left out"


# -- what changes who may be messaged ----------------------------------------------------


def stop_outreach(session: Session, *, employer_id: int, reason: str) -> None:
    """Cancel everything still to be sent to the employer: pending follow-ups and pending
    broadcast deliveries (a broadcast already running claims no more for them)."""
    session.execute(
        update(FollowUp)
        .where(col(FollowUp.employer_id) == employer_id, col(FollowUp.status) == "pending")
        .values(status="cancelled", last_error=reason)
    )
    session.execute(
        update(BroadcastDelivery)
        .where(
            col(BroadcastDelivery.employer_id) == employer_id,
            col(BroadcastDelivery.status) == "pending",
        )
        .values(status="cancelled", error=reason)
    )


def opt_out(session: Session, *, employer: Employer, now: datetime) -> bool:
    """They pressed "No more messages": recorded with the time, everything pending
    cancelled, and an audit row (the employer's internal id only). False if they already
    had."""
    assert employer.id is not None
    if employer.opted_out_at is not None:
        return False
    employer.opted_out_at = now
    employer.status = "opted_out"
    employer.updated_at = now
    session.add(employer)
    stop_outreach(session, employer_id=employer.id, reason="opted_out")
    audit_employer(session, action="employer.opt_out", employer_id=employer.id, now=now)
    session.flush()
    return True


def audit_employer(session: Session, *, action: str, employer_id: int, now: datetime) -> None:
    """An audit row of something an employer did about their data (no personal data)."""
    record_audit(
        session, actor="employer", action=action, count=1, detail=f"employer {employer_id}", now=now
    )


# A response's status -> its employer's status, when an opt-out is taken back.
_STATUS_FROM_RESPONSE: Mapping[str, str] = {
    "in_progress": "started",
    "abandoned": "started",
    "completed": "completed",
    "declined": "declined",
}


def opt_in(session: Session, *, employer: Employer, now: datetime) -> bool:
    """They took their opt-out back (/start again, or the setting in /help): messages may
    reach them again; their status is what their newest response says. False if they had
    not opted out."""
    assert employer.id is not None
    if employer.opted_out_at is None and employer.status != "opted_out":
        return False
    latest = session.exec(
        select(Response.status)
        .where(Response.employer_id == employer.id)
        .order_by(col(Response.started_at).desc(), col(Response.id).desc())
    ).first()
    employer.opted_out_at = None
    employer.status = _STATUS_FROM_RESPONSE.get(str(latest), "started") if latest else "invited"
    employer.updated_at = now
    session.add(employer)
    audit_employer(session, action="employer.opt_in", employer_id=employer.id, now=now)
    session.flush()
    return True


# Roles that receive the analysts' weekly report.
REPORT_ROLES = ("analyst", "admin")


def report_audience(session: Session, *, analysts: Collection[int] = ()) -> frozenset[int]:
    """The chats the weekly report goes to: analysts and admins by role, and the ids of the
    SKILLSBOT_ANALYSTS setting (`analysts`). Employers never receive it."""
    holders = session.exec(
        select(StaffMember.telegram_user_id).where(col(StaffMember.role).in_(REPORT_ROLES))
    )
    return frozenset(analysts) | {int(uid) for uid in holders}


def may_receive_report(session: Session, *, chat_id: int, analysts: Collection[int] = ()) -> bool:
    """Whether the weekly report may still go to this chat (checked at send time: someone
    whose role was taken away after it was planned gets nothing)."""
    return chat_id in report_audience(session, analysts=analysts)
