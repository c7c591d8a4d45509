"""Repository functions: everything the bot and analytics do to the database.

Plain functions, the session passed in and keyword-only arguments, as in
full-stack-fastapi-template's crud.py. None of them commits: the caller's transaction
(`chat_transaction` or `Session.begin()`) does.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Insert,
    Table,
    TextClause,
    bindparam,
    delete,
    func,
    or_,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, col, select

from conversations.definition import RECONTACT_FIELD
from conversations.state import InterviewState
from storage import inbox
from storage.audience import audit_employer, stop_outreach
from storage.broadcast_models import BroadcastDelivery
from storage.followup_models import FollowUp
from storage.models import (
    Answer,
    Employer,
    Response,
    ResponseStatus,
    UTCDateTime,
)

# The employer's profile fields are filled from the answers the interview declares
# (`profile: sector` on a question; `conversations.definition.Interview.profile`). An
# integer answer declared as `size_band` (people working at the site) gives the ESS size
# band, with sole traders ("1") in their own band.
_SIZE_BANDS: tuple[tuple[int, str], ...] = (
    (250, "250+"),
    (100, "100-249"),
    (50, "50-99"),
    (25, "25-49"),
    (10, "10-24"),
    (5, "5-9"),
    (2, "2-4"),
    (1, "1"),
)


def size_band(headcount: float) -> str | None:
    """The ESS size band of a site with `headcount` people (None below 1)."""
    for lowest, band in _SIZE_BANDS:
        if headcount >= lowest:
            return band
    return None


# The engine's state status (`InterviewState.status`) -> (response status, employer status).
_STATUS_FROM_STATE: Mapping[str, tuple[ResponseStatus, str]] = {
    "in_progress": ("in_progress", "started"),
    "review": ("in_progress", "started"),
    "completed": ("completed", "completed"),
    "declined": ("declined", "declined"),
}
# Employer fields holding personal data, blanked by `erase_employer`.
_PERSONAL_FIELDS = (
    "telegram_user_id",
    "chat_id",
    "organisation",
    "contact_name",
    "email",
    "phone",
    "sector",
    "district",
    "size_band",
    "role",
    "notes",
    "invite_token_hash",
    "pending_invite_hash",
    "consent_at",
    "consent_version",
)
_PROFILE_FIELDS = (
    "organisation",
    "contact_name",
    "email",
    "phone",
    "sector",
    "district",
    "size_band",
    "role",
    "notes",
)


# The statements every employer answer runs are built once and executed with parameters:
# building SQLAlchemy constructs per call cost more than running them.
@functools.cache
def _insert_ignoring(dialect: str, table_name: str, conflict_columns: tuple[str, ...]) -> Insert:
    table = SQLModel.metadata.tables[table_name]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*(table.c[name] for name in conflict_columns))
    )


@functools.cache
def _upsert_answers(dialect: str) -> Insert:
    table = SQLModel.metadata.tables["answer"]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["response_id", "question_id"],
        set_={
            name: statement.excluded[name]
            for name in ("value", "value_text", "value_number", "answered_at")
        },
    )


_answer = SQLModel.metadata.tables["answer"]
_DELETE_ANSWERS = delete(_answer).where(
    _answer.c.response_id == bindparam("response_id"),
    _answer.c.question_id.in_(bindparam("question_ids", expanding=True)),
)
_EMPLOYER_BY_USER = select(Employer).where(
    col(Employer.telegram_user_id) == bindparam("telegram_user_id")
)
_ACTIVE_RESPONSE = (
    select(Response)
    .where(col(Response.employer_id) == bindparam("employer_id"), Response.status == "in_progress")
    .order_by(col(Response.started_at).desc(), col(Response.id).desc())
    .limit(1)
)
# The employer behind a Telegram user with their latest response in progress, in one query
# (a round trip fewer for every answer).
_other = aliased(Response, name="latest")
_LATEST_ACTIVE_ID = (
    select(col(_other.id))
    .where(col(_other.employer_id) == col(Employer.id), _other.status == "in_progress")
    .order_by(col(_other.started_at).desc(), col(_other.id).desc())
    .limit(1)
    .correlate(Employer)
    .scalar_subquery()
)
_EMPLOYER_AND_ACTIVE = (
    select(Employer, Response)
    .outerjoin(Response, col(Response.id) == _LATEST_ACTIVE_ID)
    .where(col(Employer.telegram_user_id) == bindparam("telegram_user_id"))
)
_response = SQLModel.metadata.tables["response"]
_SAVE_RESPONSE = (
    update(_response)
    .where(_response.c.id == bindparam("response_id"))
    .values(
        {
            name: bindparam(f"new_{name}", type_=_response.c[name].type)
            for name in ("state", "status", "updated_at", "completed_at")
        }
    )
)


@functools.cache
def _save_with_answers(count: int) -> TextClause:
    """PostgreSQL: `_SAVE_RESPONSE` and the upsert of `count` answers in one statement (a
    round trip fewer for every answer). The UPDATE is a data-modifying CTE, which PostgreSQL
    always runs to completion; the answers come as a VALUES list, cast to their columns'
    types (a VALUES column of parameters would otherwise be text)."""
    rows = ", ".join(
        f"(:question_id_{i}, CAST(:value_{i} AS JSON), :value_text_{i},"
        f" CAST(:value_number_{i} AS DOUBLE PRECISION))"
        for i in range(count)
    )
    types = [bindparam(f"value_{i}", type_=JSON) for i in range(count)]
    return text(
        "WITH saved AS (UPDATE response SET state = :new_state, status = :new_status,"
        " updated_at = :new_updated_at, completed_at = :new_completed_at"
        " WHERE id = :response_id RETURNING id) "
        "INSERT INTO answer (response_id, question_id, value, value_text, value_number,"
        " answered_at) "
        "SELECT saved.id, new.question_id, new.value, new.value_text, new.value_number,"
        " :answered_at "
        f"FROM saved, (VALUES {rows}) AS new (question_id, value, value_text, value_number) "
        "ON CONFLICT (response_id, question_id) DO UPDATE SET value = EXCLUDED.value,"
        " value_text = EXCLUDED.value_text, value_number = EXCLUDED.value_number,"
        " answered_at = EXCLUDED.answered_at"
    ).bindparams(
        bindparam("new_state", type_=_response.c.state.type),
        bindparam("new_updated_at", type_=UTCDateTime()),
        bindparam("new_completed_at", type_=UTCDateTime()),
        bindparam("answered_at", type_=UTCDateTime()),
        *types,
    )


# Core, not ORM: it runs as one executemany for a batch of responses.
_SET_PROMPT_MESSAGE = (
    update(_response)
    .where(
        _response.c.id == bindparam("response_id"),
        or_(
            _response.c.prompt_message_id.is_(None),
            _response.c.prompt_message_id < bindparam("message_id"),
        ),
    )
    .values(prompt_message_id=bindparam("message_id"))
)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _insert_ignoring_conflict(
    session: Session, table: Table, values: dict[str, Any], conflict_columns: list[str]
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if the row was inserted."""
    statement = _insert_ignoring(_dialect(session), table.name, tuple(conflict_columns))
    return session.execute(statement, values).first() is not None


def claim_update(
    session: Session,
    *,
    update_id: int,
    chat_id: int | None,
    now: datetime,
    lock_chat: bool = False,
) -> bool:
    """Record a Telegram update as handled, in the transaction handling it: True if new,
    False if it was handled before (then change nothing).

    The record is the update's inbox row (`storage.inbox.mark_handled`): a worker's lease on
    it is checked there (`LeaseLost` if another process has taken the update over). Safe
    under concurrency: of two transactions claiming the same update, one marks it and the
    other (once the first commits) finds it marked and gets False. With `lock_chat`, the
    claim also takes the chat's lock, as `chat_transaction` does: for a transaction begun
    without it, whose first read of the chat's data follows the claim (on SQLite the whole
    database is already locked for writing).
    """
    return inbox.mark_handled(
        session, update_id=update_id, chat_id=chat_id, now=now, lock_chat=lock_chat
    )


def employer_for_telegram(
    session: Session, *, telegram_user_id: int, chat_id: int, now: datetime
) -> Employer:
    """The employer behind a Telegram user, created on first contact (get or create)."""
    existing = session.exec(
        _EMPLOYER_BY_USER, params={"telegram_user_id": telegram_user_id}
    ).first()
    if existing is not None:  # the usual case: one query
        if existing.chat_id != chat_id:
            existing.chat_id = chat_id
            existing.updated_at = now
            session.add(existing)
        return existing
    _insert_ignoring_conflict(
        session,
        SQLModel.metadata.tables["employer"],
        {
            "telegram_user_id": telegram_user_id,
            "chat_id": chat_id,
            "status": "listed",
            "created_at": now,
            "updated_at": now,
        },
        ["telegram_user_id"],
    )
    employer = session.exec(
        select(Employer).where(Employer.telegram_user_id == telegram_user_id)
    ).one()
    if employer.chat_id != chat_id:
        employer.chat_id = chat_id
        employer.updated_at = now
        session.add(employer)
    return employer


def employer_and_active_response(
    session: Session, *, telegram_user_id: int, chat_id: int, now: datetime
) -> tuple[Employer, Response | None]:
    """`employer_for_telegram` and that employer's `active_response`, in one query when the
    employer exists (the usual case)."""
    row = session.exec(_EMPLOYER_AND_ACTIVE, params={"telegram_user_id": telegram_user_id}).first()
    if row is None:
        employer = employer_for_telegram(
            session, telegram_user_id=telegram_user_id, chat_id=chat_id, now=now
        )
        assert employer.id is not None
        return employer, active_response(session, employer_id=employer.id)
    employer, response = row
    if employer.chat_id != chat_id:
        employer.chat_id = chat_id
        employer.updated_at = now
        session.add(employer)
    return employer, response


def known_employer_and_active_response(
    session: Session, *, telegram_user_id: int, chat_id: int, now: datetime
) -> tuple[Employer | None, Response | None]:
    """`employer_and_active_response` for someone we already hold a record of; (None, None)
    for anyone else, and nothing is stored: a record is made only when they press Start."""
    row = session.exec(_EMPLOYER_AND_ACTIVE, params={"telegram_user_id": telegram_user_id}).first()
    if row is None:
        return None, None
    employer, response = row
    if employer.chat_id != chat_id:
        employer.chat_id = chat_id
        employer.updated_at = now
        session.add(employer)
    return employer, response


def get_employer(session: Session, *, employer_id: int) -> Employer | None:
    """The employer with this id, if any."""
    return session.get(Employer, employer_id)


def get_response(session: Session, *, response_id: int) -> Response | None:
    """The response with this id, if any."""
    return session.get(Response, response_id)


def abandon_response(session: Session, *, response: Response, now: datetime) -> None:
    """Mark a response abandoned (its definition changed, or its state cannot be used)."""
    response.status = "abandoned"
    response.updated_at = now
    session.add(response)
    session.flush()


def active_response(session: Session, *, employer_id: int) -> Response | None:
    """The employer's latest response still in progress."""
    return session.exec(_ACTIVE_RESPONSE, params={"employer_id": employer_id}).first()


def latest_response(session: Session, *, employer_id: int) -> Response | None:
    """The employer's newest response, whatever its status."""
    return session.exec(
        select(Response)
        .where(Response.employer_id == employer_id)
        .order_by(col(Response.started_at).desc(), col(Response.id).desc())
    ).first()


def first_response_at(session: Session) -> datetime | None:
    """When the first response of all began (None before anyone answered): reports on
    earlier weeks would be empty."""
    first = session.exec(select(func.min(Response.started_at))).first()  # typed UTCDateTime
    return first.astimezone(UTC) if first is not None else None


def start_response(
    session: Session,
    *,
    employer_id: int,
    interview_id: str,
    interview_version: str,
    state: InterviewState,
    source: str | None,
    now: datetime,
    test: bool = False,
    profile: Mapping[str, str] | None = None,
) -> Response:
    """Begin a new response with the engine's first state (`test`: a staff member's run;
    `profile`: the interview's profile declaration, as for `save_state`)."""
    response = Response(
        test=test,
        employer_id=employer_id,
        interview_id=interview_id,
        interview_version=interview_version,
        status="in_progress",
        state=InterviewState.new(interview_id, interview_version),  # no answers: all are new
        source=source,
        started_at=now,
        updated_at=now,
    )
    session.add(response)
    session.flush()
    save_state(session, response=response, state=state, now=now, profile=profile)
    return response


def answer_text(value: Any) -> str | None:
    """The text form of an answer value: the string, numbers as written, choices joined by ';'."""
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def answer_number(value: Any) -> float | None:
    """The numeric form of an integer, decimal or scale answer (None for anything else)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def profile_from_answers(profile: Mapping[str, str], answers: Mapping[str, Any]) -> dict[str, str]:
    """The employer's profile fields these answers fill, as the interview declares them
    (`Interview.profile`): a text or choice as given, a headcount as its size band. The
    recontact answer is not one of them (see `recontact_from_answers`)."""
    fields: dict[str, str] = {}
    for question_id, field_name in profile.items():
        if field_name == RECONTACT_FIELD:
            continue
        value = answers.get(question_id)
        if isinstance(value, str) and value:
            fields[field_name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            band = size_band(value) if field_name == "size_band" else None
            if band is not None:
                fields[field_name] = band
    return fields


def recontact_from_answers(profile: Mapping[str, str], answers: Mapping[str, Any]) -> bool | None:
    """Whether the employer may be contacted again, from the answer the interview declares
    (`profile: recontact`, a yes/no question); None when it has no such answer."""
    for question_id, field_name in profile.items():
        answer = answers.get(question_id)
        if field_name == RECONTACT_FIELD and answer in {"yes", "no"}:
            return bool(answer == "yes")
    return None


def save_state(
    session: Session,
    *,
    response: Response,
    state: InterviewState,
    now: datetime,
    profile: Mapping[str, str] | None = None,
) -> None:
    """Store the engine's state: status, answer rows and the employer's profile.

    `profile` is the interview's declaration of which answers fill which profile field
    (`Interview.profile`: question id -> field, the recontact opt-in included); without
    it no profile field is written.

    Answer rows follow `state.answers`, compared with the state stored until now (the
    rows mirror it): new ones are inserted, changed ones updated (answered_at=now) and
    removed ones deleted. The employer row is written only when its profile or status
    changes.
    """
    status = state.status
    if status not in _STATUS_FROM_STATE:
        raise ValueError(f"unknown interview state status {status!r}")
    response_status, employer_status = _STATUS_FROM_STATE[status]
    answers = state.answers
    stored = response.state.answers

    if response.id is None:
        session.add(response)
        session.flush()  # a new response gets its id before its answers are written
    assert response.id is not None
    # One prepared UPDATE; the ORM's unit of work cost more than the statement itself. The
    # object is then told these are its stored values, so it has nothing left to flush.
    saved = {
        "state": state,  # frozen: the object may keep it as its stored value
        "status": response_status,
        "updated_at": now,
        "completed_at": response.completed_at or (now if response_status == "completed" else None),
    }
    response_values = {"response_id": response.id, **{f"new_{k}": v for k, v in saved.items()}}
    rows = _sync_answers(session, response_id=response.id, stored=stored, answers=answers)
    if rows and _dialect(session) == "postgresql":
        numbered = {
            f"{name}_{i}": row[name]
            for i, row in enumerate(rows)
            for name in ("question_id", "value", "value_text", "value_number")
        }
        session.execute(
            _save_with_answers(len(rows)), {**response_values, **numbered, "answered_at": now}
        )
    else:
        session.execute(_SAVE_RESPONSE, response_values)
        if rows:
            with_ids = [{**row, "response_id": response.id, "answered_at": now} for row in rows]
            session.execute(_upsert_answers(_dialect(session)), with_ids)
    for name, value in saved.items():
        set_committed_value(response, name, value)

    employer = session.get(Employer, response.employer_id)
    if employer is None:
        raise LookupError(f"response {response.id} has no employer")
    # An opt-out stays their status until they take it back (storage.audience.opt_in).
    changes: dict[str, Any] = {} if employer.opted_out_at else {"status": employer_status}
    changes.update(profile_from_answers(profile or {}, answers))
    recontact = recontact_from_answers(profile or {}, answers)
    if recontact is not None:
        changes["recontact_opt_in"] = recontact
    changed = {name: value for name, value in changes.items() if getattr(employer, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(employer, name, value)
        employer.updated_at = now
        session.add(employer)
        session.flush()


def _sync_answers(
    session: Session,
    *,
    response_id: int,
    stored: Mapping[str, Any],
    answers: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Delete the response's answer rows that `answers` no longer has (one DELETE), and
    return the rows to upsert: the new and changed answers, given the `stored` ones.

    `save_state` writes them with one INSERT ... ON CONFLICT DO UPDATE (so a row that is
    somehow there already is updated, not duplicated).
    """
    removed = [question_id for question_id in stored if question_id not in answers]
    if removed:
        session.execute(_DELETE_ANSWERS, {"response_id": response_id, "question_ids": removed})
    return [
        {
            "question_id": question_id,
            "value": copy.deepcopy(value),
            "value_text": answer_text(value),
            "value_number": answer_number(value),
        }
        for question_id, value in answers.items()
        if question_id not in stored or stored[question_id] != value
    ]


def record_consent(session: Session, *, employer: Employer, version: str, now: datetime) -> None:
    """Note that the employer consented to the privacy notice of this version, now."""
    employer.consent_at = now
    employer.consent_version = version
    employer.updated_at = now
    session.add(employer)
    session.flush()


def record_refusal(
    session: Session, *, employer: Employer, response: Response, now: datetime
) -> None:
    """The employer declined: keep only the refusal, with no answers and no consent."""
    session.execute(delete(Answer).where(col(Answer.response_id) == response.id))
    # The engine's own declined state, so the engine reads it back (conversations.engine).
    response.state = InterviewState.declined(response.interview_id, response.interview_version)
    response.status = "declined"
    response.completed_at = None
    response.updated_at = now
    employer.status = "declined"
    employer.consent_at = None
    employer.consent_version = None
    employer.recontact_opt_in = None
    employer.updated_at = now
    session.add(response)
    session.add(employer)
    if employer.id is not None:  # nothing more goes to them (storage.audience)
        stop_outreach(session, employer_id=employer.id, reason="declined")
    session.flush()


def erase_employer(session: Session, *, employer: Employer, now: datetime) -> None:
    """Forget the employer (/forget): delete responses and answers, blank personal data.

    What remains is an `opted_out` row with `erased_at`, so the employer is never contacted
    again from old lists. Processed updates keep their ids but lose the chat id. Follow-ups
    and broadcast deliveries keep their rows (a round's or a broadcast's figures stay true)
    but lose the chat id and the response; the pending ones are cancelled.
    """
    response_ids = select(Response.id).where(Response.employer_id == employer.id)
    _forget_chat(session, employer)
    # A follow-up names its response (the response goes) and, for some, not the employer.
    about_them = col(FollowUp.response_id).in_(response_ids)
    session.execute(
        update(FollowUp)
        .where(about_them, col(FollowUp.status) == "pending")
        .values(status="cancelled", last_error="erased")
    )
    session.execute(update(FollowUp).where(about_them).values(chat_id=None, response_id=None))
    session.execute(delete(Answer).where(col(Answer.response_id).in_(response_ids)))
    session.execute(delete(Response).where(col(Response.employer_id) == employer.id))
    for field_name in _PERSONAL_FIELDS:
        setattr(employer, field_name, None)
    employer.recontact_opt_in = False
    employer.status = "opted_out"
    employer.erased_at = now
    employer.updated_at = now
    session.add(employer)
    assert employer.id is not None
    audit_employer(session, action="employer.erase", employer_id=employer.id, now=now)
    session.flush()
    session.expire_all()  # the deleted responses and answers must not linger in the session


# How long identifiers are kept after an employer's last activity (the privacy notice: "we
# keep your name and contact details for up to 3 years, then delete them").
RETENTION = timedelta(days=3 * 365)
# What identifies an employer, blanked when the retention period ends; their sector,
# district, size band, role and consent record stay with the anonymous answers.
_IDENTIFIERS = (
    "telegram_user_id",
    "chat_id",
    "organisation",
    "contact_name",
    "email",
    "phone",
    "notes",
    "invite_token_hash",
    "pending_invite_hash",
)


def expired_employers(
    session: Session, *, now: datetime, retention: timedelta = RETENTION
) -> list[tuple[int, int | None]]:
    """(employer id, chat id) of the employers `forget_expired_identifiers` would forget."""
    expired = _expired(session, now=now, retention=retention)
    return [(employer.id, employer.chat_id) for employer in expired if employer.id is not None]


def forget_expired_identifiers(
    session: Session,
    *,
    now: datetime,
    identifying_answers: Collection[str],
    retention: timedelta = RETENTION,
    employer_ids: Collection[int] | None = None,
) -> int:
    """Blank the identifiers of every employer last active more than `retention` ago (of
    `employer_ids` only, when given), and delete the answers that name them, keeping their
    anonymous answers for the plan; how many employers. Last active: the latest change to
    the employer or any of their responses. Such an employer gets `erased_at`, so they are
    never contacted or listed again, but keeps their status, so the plan's figures stay
    true. Run it under the employer's chat lock (`chat_transaction`), so that one who comes
    back meanwhile is seen as active.

    `identifying_answers` are the questions whose answers name an employer, as the
    interview definitions declare them (`Interview.identifying` of every version their
    responses may be on); storage keeps no list of its own."""
    identifying = sorted(identifying_answers)
    expired = _expired(session, now=now, retention=retention, employer_ids=employer_ids)
    for employer in expired:
        responses = session.exec(select(Response).where(Response.employer_id == employer.id))
        for response in responses:
            if any(question_id in response.state.answers for question_id in identifying):
                response.state = response.state.without_answers(identifying)
                session.add(response)
        session.execute(
            delete(Answer).where(
                col(Answer.response_id).in_(
                    select(Response.id).where(Response.employer_id == employer.id)
                ),
                col(Answer.question_id).in_(identifying),
            )
        )
        _forget_chat(session, employer)
        for field_name in _IDENTIFIERS:
            setattr(employer, field_name, None)
        employer.erased_at = now
        session.add(employer)
        assert employer.id is not None
        audit_employer(session, action="employer.erase_expired", employer_id=employer.id, now=now)
    session.flush()
    return len(expired)


def _expired(
    session: Session,
    *,
    now: datetime,
    retention: timedelta,
    employer_ids: Collection[int] | None = None,
) -> list[Employer]:
    cutoff = now - retention
    latest_change = (
        select(func.max(Response.updated_at))
        .where(col(Response.employer_id) == col(Employer.id))
        .scalar_subquery()
    )
    query = select(Employer).where(
        col(Employer.erased_at).is_(None),
        col(Employer.updated_at) < cutoff,
        or_(latest_change.is_(None), latest_change < cutoff),
    )
    if employer_ids is not None:
        query = query.where(col(Employer.id).in_(list(employer_ids)))
    return list(session.exec(query.order_by(col(Employer.id))))


def _forget_chat(session: Session, employer: Employer) -> None:
    """Cancel what was still to be sent to the employer, and blank their chat id wherever it
    was kept besides their row: the inbox (with what they sent), follow-ups and broadcast
    deliveries."""
    if employer.chat_id is not None:
        inbox.forget_chat(session, chat_id=employer.chat_id)  # what they sent, as received
    theirs = col(FollowUp.employer_id) == employer.id
    session.execute(
        update(FollowUp)
        .where(theirs, col(FollowUp.status) == "pending")
        .values(status="cancelled", last_error="erased")
    )
    session.execute(update(FollowUp).where(theirs).values(chat_id=None))
    deliveries = col(BroadcastDelivery.employer_id) == employer.id
    session.execute(
        update(BroadcastDelivery)
        .where(deliveries, col(BroadcastDelivery.status) == "pending")
        .values(status="cancelled")
    )
    session.execute(update(BroadcastDelivery).where(deliveries).values(chat_id=None))


def employer_data(session: Session, *, employer: Employer) -> dict[str, Any]:
    """Everything stored about an employer (for /myanswers): profile, consent, responses."""
    responses = session.exec(
        select(Response)
        .where(Response.employer_id == employer.id)
        .order_by(col(Response.started_at), col(Response.id))
    ).all()
    return {
        "profile": {name: getattr(employer, name) for name in _PROFILE_FIELDS},
        "telegram_user_id": employer.telegram_user_id,
        "status": employer.status,
        "consent": {"at": employer.consent_at, "version": employer.consent_version},
        "recontact_opt_in": employer.recontact_opt_in,
        "created_at": employer.created_at,
        "responses": [
            {
                "id": response.id,
                "interview_id": response.interview_id,
                "interview_version": response.interview_version,
                "status": response.status,
                "source": response.source,
                "started_at": response.started_at,
                "updated_at": response.updated_at,
                "completed_at": response.completed_at,
                "language": response.state.language,  # the wording it was answered in
                "answers": _answers_of(session, response_id=response.id),
            }
            for response in responses
        ],
    }


def _answers_of(session: Session, *, response_id: int | None) -> dict[str, Any]:
    rows = session.exec(
        select(Answer).where(Answer.response_id == response_id).order_by(col(Answer.id))
    )
    return {answer.question_id: answer.value for answer in rows}


def set_prompt_message(session: Session, *, response_id: int, message_id: int) -> None:
    """Remember the Telegram message showing the current question.

    One UPDATE that only moves forward (message ids grow within a chat), so it needs no
    lock on the chat: a late write can never replace a newer message with an older one.
    """
    set_prompt_messages(session, {response_id: message_id})


def set_prompt_messages(session: Session, messages: Mapping[int, int]) -> None:
    """`set_prompt_message` for many responses at once (response id -> message id)."""
    if messages:
        session.execute(
            _SET_PROMPT_MESSAGE,
            [{"response_id": rid, "message_id": mid} for rid, mid in messages.items()],
        )


def mark_unreachable(session: Session, *, chat_id: int, now: datetime) -> None:
    """The chat blocked the bot or is gone: mark its employers unreachable."""
    session.execute(
        update(Employer)
        .where(col(Employer.chat_id) == chat_id, col(Employer.status) != "opted_out")
        .values(status="unreachable", updated_at=now)
        .execution_options(synchronize_session="fetch")
    )


# A response's status -> its employer's status, once they are reachable again.
_STATUS_FROM_RESPONSE: Mapping[str, str] = {
    "in_progress": "started",
    "abandoned": "started",
    "completed": "completed",
    "declined": "declined",
}


def mark_reachable(session: Session, *, employer: Employer, now: datetime) -> None:
    """The person wrote to the bot again after blocking it: an `unreachable` employer takes
    the status their newest response gives (`invited` without one), so that reminders and
    broadcasts reach them again. Any other status is left as it is."""
    if employer.status != "unreachable" or employer.id is None:
        return
    latest = latest_response(session, employer_id=employer.id)
    employer.status = _STATUS_FROM_RESPONSE[latest.status] if latest else "invited"
    employer.updated_at = now
    session.add(employer)
    session.flush()


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One response with its employer's profile and its answers, for exports."""

    response_id: int
    employer_id: int
    status: str
    interview_id: str
    interview_version: str
    source: str | None
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    organisation: str | None
    sector: str | None
    district: str | None
    size_band: str | None
    role: str | None
    answers: dict[str, Any] = field(default_factory=dict)


def response_records(
    session: Session,
    *,
    statuses: Collection[str] | None = ("completed",),
    interview_id: str | None = None,
    include_test: bool = False,
) -> list[ResponseRecord]:
    """Responses (completed only by default; every status with `statuses=None`), oldest
    first; staff members' test runs only with `include_test`."""
    query = select(Response, Employer).join(Employer, col(Employer.id) == Response.employer_id)
    if not include_test:
        query = query.where(col(Response.test).is_(False))
    if statuses is not None:
        query = query.where(col(Response.status).in_(list(statuses)))
    if interview_id is not None:
        query = query.where(Response.interview_id == interview_id)
    rows = session.exec(query.order_by(col(Response.started_at), col(Response.id))).all()
    answers: dict[int, dict[str, Any]] = {}
    if rows:
        ids = [response.id for response, _ in rows]
        for answer in session.exec(
            select(Answer).where(col(Answer.response_id).in_(ids)).order_by(col(Answer.id))
        ):
            answers.setdefault(answer.response_id, {})[answer.question_id] = answer.value
    records = []
    for response, employer in rows:
        assert response.id is not None
        assert employer.id is not None
        records.append(
            ResponseRecord(
                response_id=response.id,
                employer_id=employer.id,
                status=response.status,
                interview_id=response.interview_id,
                interview_version=response.interview_version,
                source=response.source,
                started_at=response.started_at,
                updated_at=response.updated_at,
                completed_at=response.completed_at,
                organisation=employer.organisation,
                sector=employer.sector,
                district=employer.district,
                size_band=employer.size_band,
                role=employer.role,
                answers=answers.get(response.id, {}),
            )
        )
    return records


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One answer of a completed response, with the employer's profile (long format)."""

    response_id: int
    question_id: str
    value: Any
    value_text: str | None
    value_number: float | None
    completed_at: datetime | None
    sector: str | None
    district: str | None
    size_band: str | None


def completed_answers(
    session: Session, *, interview_id: str | None = None, include_test: bool = False
) -> list[AnswerRecord]:
    """Every answer of every completed response, one record per answer (for analytics);
    staff members' test runs only with `include_test`."""
    query = (
        select(Answer, Response, Employer)
        .join(Response, col(Response.id) == Answer.response_id)
        .join(Employer, col(Employer.id) == Response.employer_id)
        .where(Response.status == "completed")
    )
    if not include_test:
        query = query.where(col(Response.test).is_(False))
    if interview_id is not None:
        query = query.where(Response.interview_id == interview_id)
    return [
        AnswerRecord(
            response_id=answer.response_id,
            question_id=answer.question_id,
            value=answer.value,
            value_text=answer.value_text,
            value_number=answer.value_number,
            completed_at=response.completed_at,
            sector=employer.sector,
            district=employer.district,
            size_band=employer.size_band,
        )
        for answer, response, employer in session.exec(
            query.order_by(col(Answer.response_id), col(Answer.id))
        )
    ]
