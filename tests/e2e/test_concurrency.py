"""Many employers at once, and double taps: the bot's per-chat ordering, end to end.

Real polling loop, real HTTP (the fake Telegram), real database (SQLite and PostgreSQL).
`Interviewee` answers the built-in interview with choices of its own (picked by its user
id) and remembers what it gave, so the database can be checked answer by answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import select

from bot.core.callbacks import Action, InterviewButton, parse_button
from bot.devtools.fake_telegram import FakeTelegram, Message
from bot.runtime.app import EmployerBot
from conversations.definition import OTHER_VALUE, Interview, Question
from conversations.engine import choice_options
from storage import Employer, Engine, Response, Session, employer_data
from tests.e2e.conftest import Employer as Person

pytestmark = pytest.mark.slow

STALE = "That question has moved on — please use the latest message."
TYPED = ("text", "integer", "decimal", "date")


class Interviewee(Person):
    """An employer who answers every question in a way of their own and remembers it.

    Choices are picked by user id (so employers differ and both branches are walked);
    typed answers name the employer. `given` maps question id to the value the engine
    should have stored.
    """

    def __init__(self, fake: FakeTelegram, user_id: int, interview: Interview) -> None:
        super().__init__(fake, user_id)
        self.interview = interview
        self.given: dict[str, Any] = {}

    def typed_value(self, question: Question) -> str:
        """What this employer types for a question without buttons."""
        if question.type == "integer":
            return str(self.user_id % 10 + 1)  # within the sole-trader limit too
        if question.type == "decimal":
            return f"{self.user_id % 10 + 1}.5"
        if question.type == "date":
            return "31/03/2026"
        return f"{question.id} of employer {self.user_id}"

    def on_screen(self) -> tuple[Message, Question | None, list[tuple[str, InterviewButton]]]:
        """The bot's latest message, the question it asks (if known) and its buttons."""
        message = self.last()
        buttons = [
            (data, button)
            for row in message.buttons()
            for _, data in row
            if data is not None and (button := parse_button(data)) is not None
        ]
        for _, button in buttons:
            if button.action in (Action.CHOOSE, Action.TOGGLE, Action.SKIP):
                return message, self.interview.questions[button.question], buttons
        text = message.text or ""
        for question in self.interview.questions:
            if question.type in TYPED and question.label in text:
                return message, question, buttons
        return message, None, buttons

    def at_review(self) -> bool:
        """Whether the review screen (with Submit) is on screen."""
        _, _, buttons = self.on_screen()
        return any(button.action is Action.SUBMIT for _, button in buttons)

    async def answer_next(self) -> None:
        """Answer the question on screen and note the value given."""
        message, question, buttons = self.on_screen()
        assert question is not None, f"no question on screen:\n{self.transcript()}"
        if question.type in TYPED:
            typed = self.typed_value(question)
            await self.send(typed)
            self.given[question.id] = (
                int(typed)
                if question.type == "integer"
                else float(typed)
                if question.type == "decimal"
                else "2026-03-31"
                if question.type == "date"
                else typed
            )
            return
        choices = choice_options(question)
        options = [
            (data, button)
            for data, button in buttons
            if button.action in (Action.CHOOSE, Action.TOGGLE)
            and choices[button.choice].value != OTHER_VALUE
        ]
        data, button = (
            options[0] if question.type == "consent" else (options[self.user_id % len(options)])
        )
        value = choices[button.choice].value
        await self.press_data(data, message)
        if question.type == "select_multiple":
            await self.tap("Done")
            self.given[question.id] = [value]
        elif question.type == "scale":
            self.given[question.id] = int(value)
        else:
            self.given[question.id] = value

    async def complete(self, *, limit: int = 80) -> None:
        """Answer until the review, then submit."""
        if not self.messages():
            await self.send("/start")
        for _ in range(limit):
            if self.at_review():
                await self.tap("Submit")
                assert "Your answers have been submitted" in (self.last().text or "")
                return
            await self.answer_next()
        raise AssertionError(f"no review after {limit} answers:\n{self.transcript()}")


def stored(engine: Engine, user_id: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(status, state answers, answer rows) of the person's newest response, via storage."""
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        newest = employer_data(session, employer=employer)["responses"][-1]
        response = session.get(Response, newest["id"])
        assert response is not None
        return newest["status"], dict(response.state.answers), newest["answers"]


async def test_twenty_employers_at_once_each_get_exactly_their_answers(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    people = [Interviewee(fake, 5000 + number, interview) for number in range(20)]
    await asyncio.gather(*(person.complete() for person in people))
    branches = set()
    for person in people:
        status, answers, rows = stored(engine, person.user_id)
        assert status == "completed", person.transcript()
        assert answers == person.given
        assert rows == person.given
        branches.add(answers["vacancies"])
        # Nobody else's typed answers in this chat or this response.
        others = {f"employer {other.user_id}" for other in people if other is not person}
        texts = "\n".join(message.text or "" for message in person.messages())
        assert not any(other in texts for other in others)
    assert branches == {"yes", "no"}  # both branches of the interview were walked


async def test_a_double_tap_and_two_quick_answers_are_handled_one_after_the_other(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    ivy = Interviewee(fake, 6001, interview)
    await ivy.send("/start")
    await ivy.answer_next()  # consent
    # Two answers sent back to back, without waiting for the bot.
    first = await fake.send_text(ivy.user_id, "First Answer Ltd")
    second = await fake.send_text(ivy.user_id, "Second Answer Ltd")
    await ivy.wait_handled(second)
    assert first < second
    status, answers, rows = stored(engine, ivy.user_id)
    assert answers["org_name"] == "First Answer Ltd"
    assert "Second Answer Ltd" not in str(answers)
    assert rows == answers
    role = ivy.buttons_message()
    assert "What is your role?" in (role.text or "")
    # The same button pressed twice, the second press before the first was handled.
    count = len(ivy.messages())
    owner = role.button("Owner")
    presses = [await fake.press(ivy.user_id, role.message_id, owner) for _ in range(2)]
    await ivy.wait_handled(presses[1])
    status, answers, rows = stored(engine, ivy.user_id)
    assert answers["role"] == "owner"
    assert rows == answers
    assert status == "in_progress"
    new = [message.text or "" for message in ivy.messages()[count:]]
    assert len(new) == 1
    assert "main activity" in new[0]
    notices = [answer.text for answer in fake.callback_answers[-2:]]
    assert notices[0] != STALE
    assert notices[1] == STALE
    with Session(engine) as session:
        response = session.exec(select(Response)).one()
        assert response.state.current == "sector"
