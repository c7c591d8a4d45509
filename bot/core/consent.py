"""Consent, as the interview's answers give it: a refusal ends the response and is
recorded; the first "yes" to a consent question (known by its type) records when, and
which version of the interview's wording it was given on. Only then may an invite the
person opened join them to its contact-list entry (`storage.roster.link_pending_invite`).
Called by the interviewer inside the unit of work that saved the new state.
"""

from __future__ import annotations

from datetime import datetime

from conversations.definition import Interview
from conversations.state import InterviewState
from storage import Employer, Response, Session, record_consent, record_refusal
from storage.roster import link_pending_invite


def record_consent_given(
    session: Session,
    *,
    employer: Employer,
    response: Response,
    state: InterviewState,
    interview: Interview,
    now: datetime,
) -> Employer:
    """Record the consent (or refusal) `state` holds, once; the employer as it now is (an
    invite may have joined them to a list entry)."""
    if state.status == "declined":
        record_refusal(session, employer=employer, response=response, now=now)
        return employer
    answers = state.answers
    consent_ids = [q.id for q in interview.questions if q.type == "consent"]
    consented = any(answers.get(qid) == "yes" for qid in consent_ids)
    if consented and employer.consent_at is None:
        record_consent(session, employer=employer, version=interview.version, now=now)
        return link_pending_invite(session, employer=employer, now=now)
    return employer
