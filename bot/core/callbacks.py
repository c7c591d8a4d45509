"""Callback data of the bot's inline buttons.

A button names the response it belongs to, the question's index in the interview and the
chosen option's index in the question's buttons, never a raw value, so that its data stays
well under Telegram's 64-byte limit whatever the definition says. A question's index is its
place in the definition the response runs on, which never changes under it: an Edit button
of the review names its question, not a line of the review. `parse_button` never raises:
data that does not parse is simply not ours. Plain string work: no Telegram library.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_CALLBACK_BYTES = 64
NO_INDEX = -1
PREFIX = "iv"
# A follow-up message's buttons (reminders, round invitations, "No more messages").
FOLLOW_UP_PREFIX = "fu"


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


@dataclass(frozen=True, slots=True)
class InterviewButton:
    """One button of an interview message."""

    action: Action
    response: int
    question: int = NO_INDEX
    choice: int = NO_INDEX

    def pack(self) -> str:
        """Its callback data."""
        return button_data(self.action, self.response, self.question, self.choice)


class FollowUpAction(StrEnum):
    """What a follow-up's button does."""

    CONTINUE = "c"  # resume the interview (ref: the response)
    STOP = "s"  # no more messages (ref: the employer)
    START_ROUND = "r"  # begin a round's interview (ref: the round)
    RESUME = "m"  # messages again, after "No more messages" (ref: the employer)


def button_data(
    action: Action, response: int, question: int = NO_INDEX, choice: int = NO_INDEX
) -> str:
    """The packed callback data of a button (ValueError if it would exceed 64 bytes).

    `prefix:action:response:question:choice`, as aiogram's `CallbackData` packed it when
    the bot used that (a test holds them together): buttons sent then still work.
    """
    packed = f"{PREFIX}:{action.value}:{int(response)}:{int(question)}:{int(choice)}"
    if len(packed.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError("callback data longer than 64 bytes")
    return packed


def follow_up_data(action: FollowUpAction, ref: int) -> str:
    """The callback data of a follow-up message's button."""
    return f"{FOLLOW_UP_PREFIX}:{action.value}:{int(ref)}"


_ACTIONS = {action.value: action for action in Action}
_FOLLOW_UP_ACTIONS = {action.value: action for action in FollowUpAction}


def _number(text: str) -> int | None:
    """A whole number as we pack them (ASCII digits, an optional minus, no leading zero)."""
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit():
        return None
    value = int(text)
    return value if str(value) == text else None


def parse_button(data: str | None) -> InterviewButton | None:
    """The button this callback data names, or None if it is not one of ours."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":")
    if len(parts) != 5 or parts[0] != PREFIX or parts[1] not in _ACTIONS:
        return None
    numbers = [_number(part) for part in parts[2:]]
    response, question, choice = numbers
    if response is None or question is None or choice is None:
        return None
    if response < 0 or question < NO_INDEX or choice < NO_INDEX:
        return None
    return InterviewButton(_ACTIONS[parts[1]], response, question, choice)


def parse_follow_up(data: str | None) -> tuple[FollowUpAction, int] | None:
    """A follow-up button's action and reference, or None if the data is not one."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != FOLLOW_UP_PREFIX or parts[1] not in _FOLLOW_UP_ACTIONS:
        return None
    ref = _number(parts[2])
    if ref is None or ref < 0:
        return None
    return _FOLLOW_UP_ACTIONS[parts[1]], ref
