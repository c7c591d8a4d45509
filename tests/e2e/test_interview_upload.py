"""An admin loads an interview from the chat: real polling, fake Telegram, real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.core.interview_files import ADMINS_ONLY, USE_BUTTON
from bot.core.staff import seed_admin_roles
from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.app import EmployerBot
from storage import Engine, Response
from storage.staff import audit_entries
from tests.e2e.conftest import Employer as Person

pytestmark = pytest.mark.slow

ADMIN, STAFF, ALICE, BOB = 9101, 9102, 9103, 9104
FORMS = Path(__file__).parents[1] / "conversations" / "forms"


def send_file(path: Path):  # type: ignore[no-untyped-def]
    return lambda fake, uid: fake.send_document(uid, path.name, data=path.read_bytes())


async def test_an_admin_uploads_and_activates_a_form_and_an_employer_completes_it(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    seed_admin_roles(engine, [ADMIN])
    admin, alice, bob = Person(fake, ADMIN), Person(fake, ALICE), Person(fake, BOB)
    # Alice starts the built-in interview before the change.
    await alice.send("/start")
    await alice.tap(alice.labels()[0])  # consent: yes
    asked_before = alice.question().text

    await admin.do(send_file(FORMS / "faulty.md"))
    problems = admin.last().text or ""
    assert problems.startswith("faulty.md cannot be used; every problem:")
    assert "faulty.md: sheet 'survey' row 2: question 'where': type 'geopoint'" in problems
    assert problems.count("sheet 'survey' row") == 7

    await admin.do(send_file(FORMS / "simple.csv"))
    offer = admin.buttons_message()
    assert (offer.text or "").startswith("simple.csv: ok, 3 questions in 1 section, 2 conditional")
    await admin.tap(USE_BUTTON, offer)
    assert "new responses now use 'hiring' version 1" in (admin.last().text or "")
    (entry,) = _audit(engine, "interview.activate")
    assert (entry.actor, entry.detail) == (str(ADMIN), "hiring version 1")

    # Bob, new, gets the uploaded interview and completes it.
    await bob.send("/start")
    assert "Are you hiring?" in (bob.question().text or "")
    await bob.tap("Yes")
    assert "How many vacancies?" in (bob.question().text or "")
    await bob.send("0")
    assert "At least one please" in [m.text for m in bob.messages()[-2:]]
    await bob.send("3")
    await bob.tap("Submit")
    # /myanswers shows Bob his answers in the words of the interview he answered.
    await bob.send("/myanswers")
    held = "\n".join(m.text or "" for m in bob.messages()[-2:])
    assert "Are you hiring?\n→ Yes" in held
    assert "How many vacancies?\n→ 3" in held
    # Alice finishes on the version she started: the same question is still hers.
    await alice.answer_current()
    assert "updated since you started" not in "".join(m.text or "" for m in alice.messages())
    assert alice.question().text != asked_before
    with Session(engine) as session:
        rows = {
            r.interview_id: r
            for r in session.exec(select(Response).order_by(Response.id))  # type: ignore[arg-type]
        }
    assert rows["hiring"].status == "completed"
    assert rows["hiring"].interview_version == "1"
    assert rows["hiring"].state.answers == {"hire": "yes", "vacancies": 3}
    assert rows["lsip_employer"].status == "in_progress"


async def test_only_admins_load_interviews(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    seed_admin_roles(engine, [ADMIN])
    admin = Person(fake, ADMIN)
    await admin.send(f"/staff add {STAFF} staff")
    staff = Person(fake, STAFF)
    await staff.do(send_file(FORMS / "simple.csv"))
    assert staff.last().text == ADMINS_ONLY
    assert _audit(engine, "interview.upload") == []


def _audit(engine: Engine, action: str) -> list:  # type: ignore[type-arg]
    with Session(engine) as session:
        return audit_entries(session, action=action)


async def _activate(admin: Person, form: Path) -> None:
    await admin.do(send_file(form))
    await admin.tap(USE_BUTTON, admin.buttons_message())


async def test_a_form_in_two_languages_asks_which_or_takes_telegrams(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    seed_admin_roles(engine, [ADMIN])
    await _activate(Person(fake, ADMIN), FORMS / "two_languages.md")
    # Telegram says Carys reads Welsh: she is asked in Welsh at once.
    fake.world.chat_for(ALICE).user.language_code = "cy"
    carys = Person(fake, ALICE)
    await carys.send("/start")
    assert "Ydych chi'n recriwtio?" in (carys.question().text or "")
    await carys.tap("Ydw")
    await carys.send("Weldiwr")
    await carys.tap("Submit")
    # What we hold about her shows her answers in the wording she answered in.
    await carys.send("/myanswers")
    held = "\n".join(message.text or "" for message in carys.messages()[-2:])
    assert "→ Ydw" in held
    # Telegram's language is not the form's: Frank is asked which, then can change it.
    fake.world.chat_for(BOB).user.language_code = "fr"
    frank = Person(fake, BOB)
    await frank.send("/start")
    assert frank.last().text == "Which language would you like to answer in?"
    assert frank.labels() == ["English (en)", "Cymraeg (cy)"]
    await frank.tap("Cymraeg (cy)")
    assert "Ydych chi'n recriwtio?" in (frank.question().text or "")
    await frank.send("/language")
    await frank.tap("English (en)")
    assert "Are you hiring?" in (frank.question().text or "")
    await frank.tap("Yes")
    await frank.send("Welder")
    await frank.tap("Submit")
    with Session(engine) as session:
        answers = [
            r.state.answers
            for r in session.exec(select(Response).order_by(Response.id))  # type: ignore[arg-type]
        ]
    # Stored as choice values, whatever the language.
    assert answers == [{"hire": "yes", "role": "Weldiwr"}, {"hire": "yes", "role": "Welder"}]


async def test_restart_after_an_activation_starts_on_the_new_interview(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    """Responses in progress finish on their version, but a confirmed /restart throws the
    answers away and begins on the interview new responses use now."""
    seed_admin_roles(engine, [ADMIN])
    alice = Person(fake, ALICE)
    await alice.send("/start")
    await alice.tap(alice.labels()[0])  # consent: yes
    await _activate(Person(fake, ADMIN), FORMS / "simple.csv")
    await alice.send("/restart")
    await alice.tap("Start again", alice.buttons_message())
    assert "Are you hiring?" in (alice.question().text or "")
    await alice.tap("No")
    await alice.send("Not now")
    await alice.tap("Submit")
    with Session(engine) as session:
        rows = list(session.exec(select(Response).order_by(Response.id)))  # type: ignore[arg-type]
    assert [(r.interview_id, r.status) for r in rows] == [
        ("lsip_employer", "abandoned"),
        ("hiring", "completed"),
    ]
    assert rows[0].state.answers == {}
    assert rows[1].state.answers == {"hire": "no", "why": "Not now"}
