"""Callback data: round trips, the 64-byte limit, and forged data rejected."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData

from bot.core.callbacks import (
    MAX_CALLBACK_BYTES,
    Action,
    FollowUpAction,
    InterviewButton,
    button_data,
    follow_up_data,
    parse_button,
    parse_follow_up,
)


@pytest.mark.parametrize("action", list(Action))
def test_every_action_round_trips(action: Action) -> None:
    data = button_data(action, 42, 7, 3)
    assert parse_button(data) == InterviewButton(action=action, response=42, question=7, choice=3)


class AiogramButton(CallbackData, prefix="iv"):
    """The buttons' data as aiogram packed it when the bot used its `CallbackData`: buttons
    sent then must still be understood."""

    action: Action
    response: int
    question: int = -1
    choice: int = -1


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize(("response", "question", "choice"), [(1, -1, -1), (42, 7, 3), (0, 0, 0)])
def test_button_data_is_what_aiogram_packed(
    action: Action, response: int, question: int, choice: int
) -> None:
    model = AiogramButton(action=action, response=response, question=question, choice=choice)
    assert button_data(action, response, question, choice) == model.pack()
    assert parse_button(model.pack()) == InterviewButton(action, response, question, choice)


class FollowUpButton(CallbackData, prefix="fu"):
    """A follow-up button's data as aiogram packed it."""

    action: FollowUpAction
    ref: int


@pytest.mark.parametrize("action", list(FollowUpAction))
def test_follow_up_data_is_what_aiogram_packed(action: FollowUpAction) -> None:
    model = FollowUpButton(action=action, ref=12)
    assert follow_up_data(action, 12) == model.pack()
    assert parse_follow_up(model.pack()) == (action, 12)


def test_the_largest_ids_fit_in_64_bytes() -> None:
    data = button_data(Action.TOGGLE, 2**63 - 1, 9999, 9999)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse_button(data) is not None


def test_data_over_64_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="too long|64 bytes"):
        button_data(Action.CHOOSE, 10**60, 1, 1)


@pytest.mark.parametrize(
    "forged",
    [
        None,
        "",
        "hello",
        "iv",
        "iv:c:1:2",  # a field missing
        "iv:c:1:2:3:4",  # a field too many
        "iv:zz:1:2:3",  # no such action
        "iv:c:one:2:3",  # not a number
        "iv:c:-1:2:3",  # negative response
        "iv:c:1:-5:3",  # negative question
        "iv:c:007:2:3",  # not as we would have packed it
        "xx:c:1:2:3",  # another prefix
        "iv:c:1:2:" + "9" * 70,  # too long
    ],
)
def test_forged_data_is_not_ours(forged: str | None) -> None:
    assert parse_button(forged) is None
