"""The employer bot's commands end to end: /restart, /skip, /review, /forget, /back, unknown
commands, and buttons of another employer's response. Real polling loop, real HTTP (fake
Telegram), real database."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.devtools.fake_telegram import FakeTelegram, Message
from bot.runtime.app import EmployerBot
from conversations.state import InterviewState
from storage import Answer, Employer, Engine, Response
from tests.e2e.conftest import Employer as Person

pytestmark = pytest.mark.slow

KEPT = "OK, nothing has been changed."
NOT_OURS = "Sorry, that button is not one I can use."
RESTART_QUESTION = "This throws your answers away and starts the interview again. Are you sure?"
FORGET_QUESTION = (
    "This erases your personal data and all your answers, and cannot be undone. Are you sure?"
)
SECTOR = "What is your organisation's main activity?"
CONSENT = "Do you agree to take part?"
# The answers stored once `begin` has run.
BEGUN = {"consent": "yes", "org_name": "Acme Widgets Ltd", "role": "owner"}


def stored(engine: Engine, user_id: int) -> dict[str, Any]:
    """Everything stored about the person: employer row, responses and answer rows.

    A response's `prompt_message_id` is left out: it only says which message shows the
    question, and changes whenever the question is shown again.
    """
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        responses = session.exec(
            select(Response).where(Response.employer_id == employer.id).order_by(col(Response.id))
        ).all()
        answers = session.exec(
            select(Answer)
            .where(col(Answer.response_id).in_([response.id for response in responses]))
            .order_by(col(Answer.response_id), col(Answer.question_id))
        ).all()
        return {
            "employer": employer.model_dump(),
            "responses": [r.model_dump(exclude={"prompt_message_id"}) for r in responses],
            "answers": [answer.model_dump() for answer in answers],
        }


def answer_rows(engine: Engine, user_id: int) -> dict[str, Any]:
    """question id -> stored value, from the answer rows of the person's only response."""
    rows = stored(engine, user_id)
    (response,) = rows["responses"]
    assert all(row["response_id"] == response["id"] for row in rows["answers"])
    return {row["question_id"]: row["value"] for row in rows["answers"]}


def response_state(engine: Engine, user_id: int) -> tuple[str, InterviewState]:
    """(status, engine state) of the person's only response."""
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        (response,) = session.exec(select(Response).where(Response.employer_id == employer.id))
        return response.status, response.state


def shown(message: Message) -> str:
    """The text of a message ("" for none)."""
    return message.text or ""


async def begin(person: Person, organisation: str = "Acme Widgets Ltd") -> None:
    """/start, consent, the organisation's name and the role (Owner): the sector is next."""
    await person.send("/start")
    await person.tap("Yes, I agree")
    await person.send(organisation)
    await person.tap("Owner")
    assert SECTOR in shown(person.question())


def texts_after(person: Person, count: int) -> list[str]:
    """The texts of the bot's messages after its first `count`."""
    return [shown(message) for message in person.messages()[count:]]


def message_with(person: Person, text: str) -> Message:
    """The bot's latest message containing `text`."""
    for message in reversed(person.messages()):
        if text in shown(message):
            return message
    raise AssertionError(f"no message with {text!r}:\n{person.transcript()}")


# -- /restart --------------------------------------------------------------------------------


async def test_restart_answered_no_keeps_every_answer_and_asks_the_question_again(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    ann = Person(fake, 2001)
    await begin(ann)
    before = stored(engine, 2001)
    await ann.send("/restart")
    assert ann.last().text == RESTART_QUESTION
    assert ann.labels(ann.last()) == ["Start again", "Keep my answers"]
    assert stored(engine, 2001) == before  # asking changes nothing
    confirmation = ann.last()
    count = len(ann.messages())
    await ann.tap("Keep my answers")
    # The confirmation says so in place (no buttons left), then the question again.
    assert (ann.now(confirmation).text, ann.now(confirmation).buttons()) == (KEPT, [])
    (new,) = texts_after(ann, count)
    assert SECTOR in new
    assert "Manufacturing" in ann.labels(ann.last())
    assert stored(engine, 2001) == before
    assert answer_rows(engine, 2001) == BEGUN
    # And the interview goes on from there.
    await ann.tap("Manufacturing")
    assert answer_rows(engine, 2001) == {**BEGUN, "sector": "manufacturing"}


async def test_restart_answered_yes_clears_the_answers_and_starts_at_the_first_question(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    bea = Person(fake, 2002)
    await begin(bea)
    await bea.tap("Manufacturing")
    (response_before,) = stored(engine, 2002)["responses"]
    assert answer_rows(engine, 2002) == {**BEGUN, "sector": "manufacturing"}
    await bea.send("/restart")
    count = len(bea.messages())
    await bea.tap("Start again")
    new = texts_after(bea, count)
    assert "Privacy notice" in new[0]
    assert "Part 1 of" in new[-1]
    assert CONSENT in new[-1]
    assert bea.labels(bea.last()) == ["Yes, I agree", "No"]
    # The same response, back at the consent question, with no answers at all.
    status, state = response_state(engine, 2002)
    assert (status, state.status, state.current) == ("in_progress", "in_progress", "consent")
    assert state.answers == {}
    assert answer_rows(engine, 2002) == {}
    (response_after,) = stored(engine, 2002)["responses"]
    assert response_after["id"] == response_before["id"]
    # Answered again from the start, the new answers are the ones stored.
    await bea.tap("Yes, I agree")
    assert "organisation called" in shown(bea.last())
    await bea.send("Fenland Foods")
    assert answer_rows(engine, 2002) == {"consent": "yes", "org_name": "Fenland Foods"}
    assert response_state(engine, 2002)[1].current == "role"


async def test_a_used_restart_confirmation_cannot_wipe_the_answers_given_since(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    cat = Person(fake, 2003)
    await begin(cat)
    await cat.send("/restart")
    confirmation = cat.last()
    await cat.tap("Start again", confirmation)
    (settled,) = [m for m in cat.messages() if m.message_id == confirmation.message_id]
    assert settled.buttons() == []  # answered, so its buttons are gone
    await cat.tap("Yes, I agree")
    await cat.send("Fenland Foods")
    answered = stored(engine, 2003)
    # Later, the person scrolls up and taps the old confirmation's Yes again.
    await cat.press_data(confirmation.button("Start again"), confirmation)
    assert answer_rows(engine, 2003) == {"consent": "yes", "org_name": "Fenland Foods"}
    assert stored(engine, 2003) == answered
    assert fake.callback_answers[-1].text  # a notice, as for any out-of-date button


# -- /skip -----------------------------------------------------------------------------------


async def test_skip_leaves_an_optional_question_unanswered_and_moves_on(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    dee = Person(fake, 2004)
    await begin(dee)
    for _ in range(40):
        if "How well does local training meet your needs?" in shown(dee.question()):
            break
        await dee.answer_current()
    else:
        raise AssertionError(f"the optional question never came:\n{dee.transcript()}")
    assert "Skip" in dee.labels(dee.question())
    before = answer_rows(engine, 2004)
    assert "provision_fit" not in before
    count = len(dee.messages())
    await dee.send("/skip")
    (asked,) = texts_after(dee, count)
    assert "Which best describes apprenticeships at your site?" in asked
    assert response_state(engine, 2004)[1].current == "apprenticeships"
    # Nothing stored for the skipped question, and every other answer is kept.
    assert answer_rows(engine, 2004) == before
    assert "provision_fit" not in response_state(engine, 2004)[1].answers
    # The skipped question's message reads as a transcript: no buttons left on it.
    skipped = message_with(dee, "How well does local training meet your needs?")
    assert skipped.buttons() == []


async def test_skip_on_a_required_question_is_refused_and_changes_nothing(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    eve = Person(fake, 2005)
    await begin(eve)
    before = stored(engine, 2005)
    count = len(eve.messages())
    await eve.send("/skip")
    new = texts_after(eve, count)
    assert new[0] == "This question can't be skipped."
    assert SECTOR in new[1]
    assert "Manufacturing" in eve.labels(eve.last())
    assert stored(engine, 2005) == before
    assert response_state(engine, 2005)[1].current == "sector"


# -- /review ---------------------------------------------------------------------------------


async def test_review_mid_interview_shows_the_answers_so_far_then_go_on_or_edit(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    fin = Person(fake, 2006)
    await begin(fin)
    before = stored(engine, 2006)
    count = len(fin.messages())
    await fin.send("/review")
    review, question = fin.messages()[count:]
    assert "Your answers so far" in shown(review)
    assert "Consent\n→ Yes" in shown(review)
    assert "Organisation\n→ Acme Widgets Ltd" in shown(review)
    assert "Your role\n→ Owner, partner or managing director" in shown(review)
    # Mid-interview there is nothing to submit: an Edit button per answer but consent
    # (/forget withdraws it), each named by its question; then the question.
    assert fin.labels(review) == [
        "✏️ Organisation",
        "✏️ Your role",
    ]
    assert SECTOR in shown(question)
    assert "Manufacturing" in fin.labels(question)
    assert stored(engine, 2006) == before
    # Go on: the current question, answered as usual.
    await fin.tap("Manufacturing", question)
    assert answer_rows(engine, 2006) == {**BEGUN, "sector": "manufacturing"}
    assert "Where is your site based?" in shown(fin.question())
    # Or edit: Edit 2 of a new review asks for the organisation's name again.
    await fin.send("/review")
    review = message_with(fin, "Your answers so far")
    assert "Main activity\n→ Manufacturing" in shown(review)
    await fin.tap("Organisation", review)
    assert "What is your organisation called?" in shown(fin.question())
    assert "Current answer: Acme Widgets Ltd" in shown(fin.question())
    await fin.send("Fenland Foods")
    assert answer_rows(engine, 2006) == {
        **BEGUN,
        "org_name": "Fenland Foods",
        "sector": "manufacturing",
    }
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == 2006)).one()
        assert employer.organisation == "Fenland Foods"


# -- /forget ---------------------------------------------------------------------------------


async def test_forget_answered_no_keeps_everything_and_says_so(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    gil = Person(fake, 2007)
    await begin(gil)
    before = stored(engine, 2007)
    assert before["employer"]["organisation"] == "Acme Widgets Ltd"
    assert before["employer"]["consent_at"] is not None
    await gil.send("/forget")
    assert gil.last().text == FORGET_QUESTION
    # Buttons that say what they do: erasing cannot be undone.
    assert gil.labels(gil.last()) == ["Erase my answers", "Keep them"]
    confirmation = gil.last()
    count = len(gil.messages())
    await gil.tap("Keep them")
    assert (gil.now(confirmation).text, gil.now(confirmation).buttons()) == (KEPT, [])
    (new,) = texts_after(gil, count)
    assert SECTOR in new
    assert stored(engine, 2007) == before
    assert answer_rows(engine, 2007) == BEGUN
    await gil.send("/myanswers")
    assert "Acme Widgets Ltd" in shown(gil.last())


# -- another employer's buttons --------------------------------------------------------------


async def test_buttons_of_another_employers_response_are_refused_and_logged_without_personal_data(
    running_bot: EmployerBot,
    fake: FakeTelegram,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mallory_id, victim_id = 7_340_551_987, 6_218_804_443
    mallory, victim = Person(fake, mallory_id), Person(fake, victim_id)
    await begin(victim, "Quillfeather Bakery")
    await begin(mallory, "Zebedee Joinery")
    # Buttons from each of the victim's keyboards: a question, the review, the confirmations.
    theirs = [victim.question().button("Manufacturing")]
    await victim.send("/review")
    theirs.append(message_with(victim, "Your answers so far").button("Organisation"))
    await victim.send("/restart")
    theirs.append(victim.last().button("Start again"))
    await victim.send("/forget")
    theirs.append(victim.last().button("Erase my answers"))
    # The victim's response, not a made-up one: the buttons name its id (or its employer's).
    ids = {int(data.split(":")[2]) for data in theirs}
    victim_rows = stored(engine, victim_id)
    assert ids == {victim_rows["responses"][0]["id"], victim_rows["employer"]["id"]}
    mallory_rows = stored(engine, mallory_id)
    assert not ids & {mallory_rows["responses"][0]["id"], mallory_rows["employer"]["id"]}
    fake.add_user(mallory_id, first_name="Mallory", username="mallory_mcguffin")
    fake.add_user(victim_id, first_name="Victoria", username="victoria_v")
    seen = (len(mallory.messages()), len(victim.messages()))
    caplog.set_level(logging.DEBUG, logger="skillsbot")
    own = mallory.question()
    for data in theirs:
        caplog.clear()
        answered = len(fake.callback_answers)
        await mallory.press_data(data, own)
        # Refused with a notice...
        assert [(a.user_id, a.text) for a in fake.callback_answers[answered:]] == [
            (mallory_id, NOT_OURS)
        ], data
        # ...logged as a warning...
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert any("foreign_button" in r.getMessage() for r in warnings), data
        # ...without anything personal about either of them.
        personal = (
            str(mallory_id),
            str(victim_id),
            "Mallory",
            "mallory_mcguffin",
            "Victoria",
            "victoria_v",
            "Zebedee",
            "Quillfeather",
        )
        for record in caplog.records:
            line = record.getMessage()
            assert not [p for p in personal if p in line], line
    # Nothing changed, for either of them: no messages, and the same rows.
    assert (len(mallory.messages()), len(victim.messages())) == seen
    assert mallory.question().message_id == own.message_id
    assert stored(engine, mallory_id) == mallory_rows
    assert stored(engine, victim_id) == victim_rows
    # And both can carry on with their own interviews.
    await mallory.tap("Construction", own)
    assert answer_rows(engine, mallory_id)["sector"] == "construction"
    assert answer_rows(engine, victim_id) == {**BEGUN, "org_name": "Quillfeather Bakery"}


# -- commands out of place -------------------------------------------------------------------


async def at_consent(person: Person) -> None:
    """/start: the consent question (the first) is asked."""
    await person.send("/start")
    assert CONSENT in shown(person.question())


@pytest.mark.parametrize(
    ("setup", "command", "answer", "question"),
    [
        pytest.param(at_consent, "/back", "This is the first question.", CONSENT, id="back-first"),
        pytest.param(
            at_consent, "/skip", "This question can't be skipped.", CONSENT, id="skip-consent"
        ),
        pytest.param(
            begin,
            "/frobnicate",
            "Sorry, I don't know that command. Send /help to see what I can do.",
            SECTOR,
            id="unknown-mid-interview",
        ),
    ],
)
async def test_a_command_out_of_place_gets_a_polite_answer_and_the_question_again(
    running_bot: EmployerBot,
    fake: FakeTelegram,
    engine: Engine,
    setup: Callable[[Person], Awaitable[None]],
    command: str,
    answer: str,
    question: str,
) -> None:
    hal = Person(fake, 2008)
    await setup(hal)
    before = stored(engine, 2008)
    count = len(hal.messages())
    await hal.send(command)
    new = hal.messages()[count:]
    assert [m.text for m in new[:1]] == [answer], hal.transcript()
    assert len(new) == 2
    assert question in shown(new[1])
    assert new[1].buttons(), "the question again, with its buttons"
    assert stored(engine, 2008) == before
    # The question asked again is the one that works.
    await hal.answer_current()
    assert stored(engine, 2008) != before


@pytest.mark.parametrize("command", ["/back", "/skip"])
async def test_back_or_skip_before_start_says_how_to_begin(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, command: str
) -> None:
    ivy = Person(fake, 2009)
    await ivy.send(command)
    assert [m.text for m in ivy.messages()] == [
        "You haven't started the interview yet. Send /start to begin."
    ]
    with Session(engine) as session:  # nothing is stored about them before Start
        assert session.exec(select(Employer).where(Employer.telegram_user_id == 2009)).all() == []
    await ivy.send("/start")
    assert CONSENT in shown(ivy.question())
    assert response_state(engine, 2009)[1].current == "consent"
