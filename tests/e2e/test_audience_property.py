"""A property of the audience policy, through the real bot and the fake Bot API: after any
sequence of things people do (start, decline, answer, stop, forget, write again, opt out,
block, unblock, start again), a broadcast and a reminder run reach exactly the people a
plain model of those rules, kept here and independent of storage/audience.py, allows.

Each example has new people (new Telegram ids) on the same running bot, so earlier
examples' people may receive messages too; only this example's people are checked.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.devtools.fake_telegram import FakeTelegram, Message
from bot.runtime.app import EmployerBot
from storage import Engine, utcnow
from tests.e2e.conftest import Employer as Person
from tests.e2e.test_audience import broadcast, grant_staff, sends

pytestmark = pytest.mark.slow

ACTIONS = (
    "start",
    "decline",
    "answer",
    "stop",
    "forget",
    "write",
    "opt_out",
    "block",
    "unblock",
    "start_again",
)
# Actions that send the bot a message (writing to a bot you blocked unblocks it first).
WRITES = frozenset(ACTIONS) - {"block", "unblock"}
PEOPLE = 3  # the first of them is a staff member
_ids = itertools.count(8_000_001, 10)


@dataclass
class Model:
    """What the rules say about one person, from what they did (no database involved)."""

    staff: bool
    record: bool = False  # do we hold anything about them
    consented: bool = False
    declined: bool = False
    opted_out: bool = False
    unreachable: bool = False
    in_progress: bool = False
    at_consent: bool = False
    blocked: bool = False

    def may_broadcast(self) -> bool:
        """News: people who agreed to the notice and have not declined, opted out or
        blocked us since; never staff."""
        return self.record and not self.staff and self.consented and self.reachable()

    def may_remind(self) -> bool:
        """A reminder: anyone with an interview under way, within the rules; never staff."""
        return self.record and not self.staff and self.in_progress and self.reachable()

    def reachable(self) -> bool:
        return not (self.declined or self.opted_out or self.unreachable)

    def wrote(self) -> None:
        """Any message from someone we know makes them reachable again."""
        if self.record:
            self.unreachable = False

    def begin(self) -> None:
        self.record, self.in_progress, self.at_consent = True, True, True
        self.consented = self.declined = False


def latest_with(person: Person, label: str) -> Message | None:
    """The bot's latest message with a button labelled `label`."""
    for message in reversed(person.messages()):
        if message.buttons() and label in person.labels(message):
            return message
    return None


async def act(person: Person, model: Model, action: str, fake: FakeTelegram) -> None:
    """Do `action` as `person` through the fake Telegram, and note what the rules make of it."""
    if action in WRITES and model.blocked:
        fake.unblock(person.user_id)
        model.blocked = False
    if action in ("start", "start_again"):
        # Staff are greeted with their own commands; `/start try` is their interview.
        await person.send("/start try" if model.staff else "/start")
        if not model.record:
            model.begin()
            return
        model.wrote()
        model.opted_out = False  # /start takes "No more messages" back
        if not model.in_progress:
            model.begin()
    elif action == "decline":
        consent = latest_with(person, "Yes, I agree")
        if model.at_consent and consent is not None:
            await person.tap("No", consent)
            model.wrote()
            model.declined, model.in_progress, model.at_consent = True, False, False
            model.consented = False
    elif action == "answer":
        consent = latest_with(person, "Yes, I agree")
        if model.at_consent and consent is not None:
            await person.tap("Yes, I agree", consent)
            model.wrote()
            model.consented, model.at_consent = True, False
        elif model.in_progress:
            await person.send("Acme Widgets Ltd")
            model.wrote()
    elif action == "stop":
        await person.send("/stop")
        model.wrote()
    elif action == "forget":
        await person.send("/forget")
        if model.record:
            await person.tap("Erase my answers", person.last())
            model.record = model.consented = model.declined = model.opted_out = False
            model.unreachable = model.in_progress = model.at_consent = False
    elif action == "write":
        await person.send("hello")
        model.wrote()
    elif action == "opt_out":
        await person.send("/help")
        model.wrote()
        # Staff's /help lists their role's commands; no list sends them anything to stop.
        if model.record and not model.opted_out and not model.staff:
            await person.tap("No more messages", person.last())
            model.opted_out = True
    elif action == "block":
        update_id = fake.block(person.user_id, notify=True)
        assert update_id is not None
        # Handled, not only fetched or pushed (in webhook mode the fake pushes at once).
        await person.wait_handled(update_id)
        model.blocked = True
        if model.record:
            model.unreachable = True
    elif action == "unblock":
        fake.unblock(person.user_id)  # changes nothing until they write
        model.blocked = False


# Most people begin by starting and agreeing (the usual case); then anything may happen.
_warm_up = st.lists(st.booleans(), min_size=PEOPLE, max_size=PEOPLE).map(
    lambda warm: [(i, a) for i, w in enumerate(warm) if w for a in ("start", "answer")]
)
_steps = st.lists(
    st.tuples(st.integers(0, PEOPLE - 1), st.sampled_from(ACTIONS)), min_size=1, max_size=12
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(warm_up=_warm_up, steps=_steps)
# Each rule at least once, whatever the random draws.
@example(warm_up=[(1, "start"), (1, "answer")], steps=[(1, "opt_out"), (2, "start")])
@example(warm_up=[(0, "start"), (0, "answer")], steps=[(1, "start"), (1, "decline")])
@example(warm_up=[(1, "start"), (1, "answer")], steps=[(1, "forget"), (1, "write")])
@example(warm_up=[(2, "start"), (2, "answer")], steps=[(2, "block"), (2, "unblock")])
@example(warm_up=[(1, "start")], steps=[(1, "opt_out"), (1, "block"), (1, "start_again")])
async def test_recipients_are_exactly_those_the_rules_allow(
    running_bot: EmployerBot,
    fake: FakeTelegram,
    engine: Engine,
    warm_up: list[tuple[int, str]],
    steps: list[tuple[int, str]],
) -> None:
    people = [Person(fake, next(_ids)) for _ in range(PEOPLE)]
    models = [Model(staff=index == 0) for index in range(PEOPLE)]
    grant_staff(engine, people[0].user_id)
    steps = warm_up + steps
    for index, action in steps:
        await act(people[index], models[index], action, fake)
    users = {person.user_id for person in people}

    start = len(fake.requests)
    await broadcast(running_bot, engine)
    got = set(sends(fake, start, users))
    wanted = {p.user_id for p, m in zip(people, models, strict=True) if m.may_broadcast()}
    assert got == wanted, (steps, models)

    start = len(fake.requests)
    await running_bot.follow_ups.plan(now=utcnow())
    later = running_bot.follow_ups.policy.allowed_time(utcnow() + timedelta(days=30))
    await running_bot.follow_ups.dispatch_due(now=later)  # outside quiet hours
    got = set(sends(fake, start, users))
    wanted = {p.user_id for p, m in zip(people, models, strict=True) if m.may_remind()}
    assert got == wanted, (steps, models)
