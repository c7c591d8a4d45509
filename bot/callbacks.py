"""Callback data of the bot's inline buttons.

A button names the response it belongs to, the question's index in the interview and the
chosen option's index in the question's buttons, never a raw value, so that its data stays
well under Telegram's 64-byte limit whatever the definition says. A question's index is its
place in the definition the response runs on, which never changes under it: an Edit button
of the review names its question, not a line of the review. `parse_button` never raises:
data that does not parse is simply not ours.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData, CallbackDataException
from pydantic import ValidationError

MAX_CALLBACK_BYTES = 64
NO_INDEX = -1


class Action(StrEnum):
    """What a button does."""

    CHOOSE = "c"  # pick option `choice` of question `question`
    TOGGLE = "t"  # select/unselect option `choice` of a multi-select question
    DONE = "d"  # finish a multi-select question
    SKIP = "s"  # leave an optional question unanswered
    EDIT = "e"  # change the answer to question `question` (from the review)
    SUBMIT = "u"  # submit from the review (`choice`: the review page shown)
    PAGE = "p"  # show page `choice` of question `question`'s options
    REVIEW_PAGE = "rp"  # show page `choice` of the review
    REVIEW = "r"  # show the answers (after completion)
    RESTART = "rs"  # confirmed /restart
    KEEP = "k"  # declined /restart: carry on
    FORGET = "f"  # confirmed /forget
    KEEP_DATA = "kd"  # declined /forget
    LANGUAGE = "l"  # ask in the interview's language number `choice`


class InterviewButton(CallbackData, prefix="iv"):
    """One button of an interview message."""

    action: Action
    response: int
    question: int = NO_INDEX
    choice: int = NO_INDEX


_PREFIX = InterviewButton.__prefix__


def button_data(
    action: Action, response: int, question: int = NO_INDEX, choice: int = NO_INDEX
) -> str:
    """The packed callback data of a button (ValueError if it would exceed 64 bytes).

    Exactly what `InterviewButton(...).pack()` gives (a test holds them together), written
    out directly: a question shows up to 30 buttons, and building a model for each took
    longer than the rest of rendering it.
    """
    packed = f"{_PREFIX}:{action.value}:{int(response)}:{int(question)}:{int(choice)}"
    if len(packed.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError("callback data longer than 64 bytes")
    return packed


def parse_button(data: str | None) -> InterviewButton | None:
    """The button this callback data names, or None if it is not one of ours."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    try:
        button = InterviewButton.unpack(data)
    except (ValueError, TypeError, ValidationError, CallbackDataException):
        return None
    if button.response < 0 or button.question < NO_INDEX or button.choice < NO_INDEX:
        return None
    if button.pack() != data:  # e.g. "iv:c:007:1:2": not something we ever sent
        return None
    return button
