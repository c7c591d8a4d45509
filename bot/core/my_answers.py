"""/myanswers: everything stored about an employer, as HTML messages.

Read inside the update's unit of work (`storage.employer_data`). Each response is worded as
the interview it answered (uploaded ones too, in its language); the profile shows only
the fields the person gave in an answer, never what a chamber's contact list says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.definitions import Definitions
from bot.core.interview_copy import LIST_DETAILS
from bot.core.render import split_text
from conversations.definition import Interview
from conversations.display import answer_lines, profile_lines
from storage import Employer, Session, employer_data


def my_answers(
    session: Session,
    employer: Employer,
    *,
    definitions: Definitions,
    interview: Interview,
    zone: ZoneInfo,
) -> list[str]:
    """The messages of /myanswers (`interview`: the wording of a response whose interview
    is known no more; `zone`: where times are read)."""
    data = employer_data(session, employer=employer)

    def worded(response: dict[str, Any]) -> Interview:
        """The interview a response (of `employer_data`) answered, in its language."""
        known = definitions.for_response(
            session, response["interview_id"], response["interview_version"]
        )
        if known is None:
            return interview
        return known.worded(response["language"])

    def profile_of(interview_id: str, version: str) -> Mapping[str, str]:
        """The profile declaration of an interview version (empty: it is known no more)."""
        known = definitions.for_response(session, interview_id, version)
        return known.interview.profile if known else {}

    def when(moment: datetime) -> str:
        """A stored (UTC) time as people here read it."""
        return moment.astimezone(zone).strftime("%d %B %Y at %H:%M %Z")

    lines = ["<b>What we hold about you</b>"]
    lines.append(f"Telegram user id: {data['telegram_user_id']}")
    latest = data["responses"][-1] if data["responses"] else None
    shown_as = worded(latest) if latest is not None else interview
    for name, shown in profile_lines(shown_as, own_profile(data, profile_of)):
        lines.append(f"{escape(name)}: {escape(shown)}")
    lines.append(f"Status: {escape(str(data['status']).replace('_', ' '))}")
    consent = data["consent"]
    if consent["at"] is not None:
        version = f" (consent text version {escape(str(consent['version']))})"
        lines.append(f"Consent given: {when(consent['at'])}{version}")
    else:
        lines.append("Consent given: not yet")
    recontact = data["recontact_opt_in"]
    if recontact is not None:
        lines.append(f"Happy to be contacted again: {'yes' if recontact else 'no'}")
    lines.append(f"On our list since: {when(data['created_at'])}")
    lines.append(LIST_DETAILS)
    blocks = ["\n".join(lines)]
    for number, response in enumerate(data["responses"], start=1):
        answers = response["answers"]
        # Worded as the interview this response answered (uploaded ones too).
        answered = worded(response)
        status = escape(str(response["status"]).replace("_", " "))
        entries = [f"<b>Interview {number}</b> ({status})"]
        times = [f"started {when(response['started_at'])}"]
        if response["completed_at"] is not None:
            times.append(f"submitted {when(response['completed_at'])}")
        else:
            times.append(f"last change {when(response['updated_at'])}")
        if response["source"]:
            times.append(f"via {escape(response['source'])}")
        said = ", ".join(times)
        entries.append(said[0].upper() + said[1:])
        entries.extend(
            f"{escape(line.name)}\n→ {escape(line.text)}"
            for line in answer_lines(answered, answers)
        )
        if len(entries) == 2:
            entries.append("No answers yet.")
        blocks.append("\n".join(entries))
    if not data["responses"]:
        blocks.append("No answers.")
    return split_text(blocks)


def own_profile(
    data: dict[str, Any], profile_of: Callable[[str, str], Mapping[str, str]]
) -> dict[str, Any]:
    """The profile fields (of `employer_data`) holding a value the person gave in an
    answer: a list's contact name, email, phone, notes or organisation never show.
    `profile_of(interview_id, version)` is that interview's profile declaration."""
    given: dict[str, set[str]] = {}
    for response in data["responses"]:
        declared = profile_of(response["interview_id"], response["interview_version"])
        for question_id, field_name in declared.items():
            value = response["answers"].get(question_id)
            if value is not None:
                given.setdefault(field_name, set()).add(str(value))
    return {
        name: value
        for name, value in data["profile"].items()
        if value is not None and str(value) in given.get(name, set())
    }
