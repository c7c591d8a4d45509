"""Answers as people read them outside the interview: /myanswers, the greeting.

Pure functions of an interview definition and stored values; a transport escapes and
lays out the text. Values show as their labels (district names, sector and role labels,
size bands in words), never as stored codes, and answers come in the interview's order
whatever order they were saved in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from conversations.areas import district_name
from conversations.definition import Interview, other_key
from conversations.engine import display_value

__all__ = [
    "PROFILE_NAMES",
    "SIZE_BAND_LABELS",
    "AnswerLine",
    "answer_lines",
    "greeting",
    "profile_lines",
    "size_band_label",
]

# The ESS size bands (people working at the site) in words; "1" is a sole trader.
SIZE_BAND_LABELS: Final[Mapping[str, str]] = {
    "1": "Just you (1 person)",
    "2-4": "2 to 4 people",
    "5-9": "5 to 9 people",
    "10-24": "10 to 24 people",
    "25-49": "25 to 49 people",
    "50-99": "50 to 99 people",
    "100-249": "100 to 249 people",
    "250+": "250 or more people",
}
# Employer profile fields (storage's names) -> the question that fills each, and the name
# shown when the interview has no such question. The size band comes from the headcount.
PROFILE_NAMES: Final[Mapping[str, tuple[str, str]]] = {
    "organisation": ("org_name", "Organisation"),
    "sector": ("sector", "Sector"),
    "district": ("district", "District"),
    "size_band": ("size_band", "Size"),
    "role": ("role", "Role"),
}


@dataclass(frozen=True, slots=True)
class AnswerLine:
    """One answer as listed for the person who gave it: the question's short name and
    the answer in words. `known` is False for an answer to a question this version of the
    interview does not have (its id and stored value are shown as they are)."""

    question_id: str
    name: str
    text: str
    known: bool = True


def size_band_label(band: str) -> str:
    """ "10-24" -> "10 to 24 people" (an unknown band as it is)."""
    return SIZE_BAND_LABELS.get(band, band)


def answer_lines(interview: Interview, answers: Mapping[str, Any]) -> tuple[AnswerLine, ...]:
    """A response's answers in the interview's order, as labels; answers to questions the
    interview does not have follow, by id. An "Other" text shows within its question."""
    known = sorted(
        (qid for qid in answers if qid in interview.by_id), key=interview.position.__getitem__
    )
    lines = []
    for qid in known:
        question = interview.by_id[qid]
        if not question.answerable and question.type != "calculate":
            continue
        text = display_value(question, answers[qid], answers)
        lines.append(AnswerLine(qid, question.short, text))
    others = {other_key(qid) for qid, q in interview.by_id.items() if q.other}
    for qid, value in answers.items():
        if qid not in interview.by_id and qid not in others:
            lines.append(AnswerLine(qid, qid, _plain(value), known=False))
    return tuple(lines)


def profile_lines(interview: Interview, profile: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Profile fields with a value, in the order the interview asks them (fields it does
    not ask last, in `PROFILE_NAMES` order), as (name, label): "Main activity",
    "Manufacturing"; "Site", "Huntingdonshire"; "Size", "10 to 24 people"."""
    asked = {qid: place for place, qid in enumerate(interview.by_id)}
    fields = sorted(PROFILE_NAMES.items(), key=lambda item: asked.get(item[1][0], len(asked)))
    lines = []
    for field, (qid, fallback) in fields:
        value = profile.get(field)
        if value is None or value == "":
            continue
        question = interview.by_id.get(qid)
        name = question.short if question is not None else fallback
        if field == "size_band":
            text = size_band_label(str(value))
        elif question is not None and question.choices:
            text = display_value(question, value)
            if text == str(value) and field == "district":
                text = district_name(str(value)) or text
        elif field == "district":
            text = district_name(str(value)) or str(value)
        else:
            text = str(value)
        lines.append((name, text))
    return tuple(lines)


def greeting(interview: Interview, area: str) -> tuple[str, str]:
    """The first message of an interview: a heading (the interview's title) and a line
    that reads well whatever the title is."""
    return (
        interview.title,
        "Hello, and thank you for taking part. Your answers help shape the Local Skills "
        f"Improvement Plan for {area}.",
    )


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)
