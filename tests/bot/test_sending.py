"""The core's one send policy (`bot.core.sending`), on a transport that records its calls.

The two real transports run it over HTTP against the fake Bot API in test_telegram_retry.py
(aiogram) and test_ptb_retry.py (python-telegram-bot); this checks the policy's own
decisions whatever the library."""

from __future__ import annotations

import pytest

from bot.core.limits import MAX_CALLBACK_ANSWER, MAX_MESSAGE_CHARS
from bot.core.messages import Button, Keyboard, Outgoing
from bot.core.sending import Refusal, Sender


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.kind = refusal


class Calls:
    """A transport whose Bot API answers are scripted: `fail` raises for a method."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Keyboard | None]] = []
        self.answers: list[str | None] = []
        self.fail: dict[str, Exception] = {}

    async def send_message(self, chat_id: int, text: str, keyboard: Keyboard | None) -> int:
        if "sendMessage" in self.fail:
            raise self.fail["sendMessage"]
        self.sent.append((text, keyboard))
        return len(self.sent)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None
    ) -> None:
        if "editMessageText" in self.fail:
            raise self.fail["editMessageText"]

    async def edit_keyboard(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> None:
        raise NotImplementedError

    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None:
        self.answers.append(text)

    async def send_file(self, chat_id: int, name: str, data: bytes, photo: bool) -> int:
        raise TimeoutError

    def refusal(self, error: Exception) -> tuple[Refusal, str] | None:
        return (error.kind, "why") if isinstance(error, Refused) else None


@pytest.fixture
def calls() -> Calls:
    return Calls()


async def test_a_long_text_goes_in_parts_with_the_buttons_on_the_last(calls: Calls) -> None:
    keyboard = Keyboard.of([[Button("Submit", "s")]])
    message_id = await Sender(calls, on_unreachable=_never).send(
        1, Outgoing("word " * (MAX_MESSAGE_CHARS // 2), keyboard)
    )
    assert len(calls.sent) >= 2
    assert all(len(text) <= MAX_MESSAGE_CHARS for text, _ in calls.sent)
    assert [k for _, k in calls.sent] == [None] * (len(calls.sent) - 1) + [keyboard]
    assert message_id == len(calls.sent)  # the id of the message with the buttons


async def test_a_notice_is_clipped_to_what_telegram_shows(calls: Calls) -> None:
    await Sender(calls, on_unreachable=_never).answer_callback("c", "x" * 500)
    assert [len(a or "") for a in calls.answers] == [MAX_CALLBACK_ANSWER]


async def test_refusals_are_reported_and_never_raised(calls: Calls) -> None:
    unreachable: list[int] = []

    async def note(chat_id: int) -> None:
        unreachable.append(chat_id)

    sender = Sender(calls, on_unreachable=note)
    calls.fail["sendMessage"] = Refused(Refusal.UNREACHABLE)
    assert await sender.send(7, Outgoing("hi")) is None
    assert unreachable == [7]
    calls.fail["editMessageText"] = Refused(Refusal.NOT_APPLIED)
    assert await sender.edit_text(7, 1, "hi") is False
    calls.fail["sendMessage"] = Refused(Refusal.GAVE_UP)
    assert await sender.send(8, Outgoing("hi")) is None
    assert await sender.send_file(8, "a.xlsx", b"x") is None  # timed out: given up
    assert unreachable == [7]  # only the 403 marks a chat unreachable


async def test_an_error_that_is_not_telegrams_is_raised(calls: Calls) -> None:
    calls.fail["sendMessage"] = KeyError("a bug")
    with pytest.raises(KeyError):
        await Sender(calls, on_unreachable=_never).send(1, Outgoing("hi"))


async def _never(chat_id: int) -> None:
    raise AssertionError(f"chat {chat_id} should not be unreachable")
