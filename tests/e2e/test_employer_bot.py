"""The employer bot end to end: real polling loop, real HTTP (fake Telegram), real database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.core.callbacks import Action, button_data, parse_button
from bot.core.interview_copy import NOTHING_HELD_BUTTON
from bot.core.render import MORE, NO_SUCH_PAGE, PREVIOUS, SELECTED_MARK
from bot.devtools.fake_telegram import FakeTelegram, Message
from bot.runtime.app import EmployerBot
from conversations.state import InterviewState
from storage import Answer, Employer, Engine, Response, make_engine
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import current_library, inbox_of

pytestmark = pytest.mark.slow

STALE = "That question has moved on — please use the latest message."


def latest(engine: Engine, user_id: int) -> tuple[str, InterviewState]:
    """(status, state) of the person's newest response."""
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        response = session.exec(
            select(Response).where(Response.employer_id == employer.id).order_by(Response.id.desc())  # type: ignore[union-attr]
        ).first()
        assert response is not None
        return response.status, response.state


async def begin(person: Person) -> None:
    """/start, consent, and the organisation's name."""
    await person.send("/start ws-fenland-2026")
    await person.tap("Yes, I agree")
    await person.send("Acme Widgets Ltd")


async def test_complete_interview_by_buttons_and_typing(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    alice = Person(fake, 1001)
    await alice.send("/start ws-fenland-2026")
    assert "Privacy notice" in alice.transcript()
    assert alice.labels() == ["Yes, I agree", "No"]
    assert "Part 1 of" in alice.question().text
    await begin_rest(alice)
    await alice.answer_until_review()
    review = alice.last()
    assert "Consent\n→ Yes" in (review.text or "")
    assert "(page 1 of " in (review.text or "")
    assert "✏️ Organisation" in alice.labels(review)
    submit = review.button("Submit")
    calls = len(fake.requests)
    await alice.tap("Submit")
    assert api_calls(fake, calls) == ["answerCallbackQuery", "editMessageText"]
    # The review itself became the thanks: nothing invites a change or a Submit any more.
    assert alice.last().message_id == review.message_id
    assert "Thank you! Your answers have been submitted." in alice.last().text
    assert not any("Submit" in (m.text or "") for m in alice.messages())
    # A second tap of Submit (a double tap) says so, and sends nothing.
    count = len(alice.messages())
    await alice.press_data(submit, review)
    assert fake.callback_answers[-1].text == "Your answers are already submitted — thank you!"
    assert len(alice.messages()) == count
    status, state = latest(engine, 1001)
    assert status == "completed"
    assert state.answers["org_name"] == "Acme Widgets Ltd"
    assert state.answers["consent"] == "yes"
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == 1001)).one()
        assert employer.organisation == "Acme Widgets Ltd"
        assert employer.consent_at is not None
        response = session.exec(select(Response).where(Response.employer_id == employer.id)).one()
        assert response.source == "ws-fenland-2026"
    # Answered questions read as a transcript: buttons gone, the choice shown.
    consent = next(m for m in alice.messages() if "Do you agree" in (m.text or ""))
    assert consent.buttons() == []
    assert "→ Yes" in consent.text
    # /start after completion: thanks and a button to look at the answers.
    await alice.send("/start")
    assert "already completed" in alice.last().text
    await alice.tap("Review my answers")
    assert "The answers you submitted" in "\n".join(m.text or "" for m in alice.messages()[-2:])
    assert "→ Acme Widgets Ltd" in "\n".join(m.text or "" for m in alice.messages()[-2:])
    assert fake.my_commands
    assert fake.my_commands[0]["command"] == "start"


async def begin_rest(person: Person) -> None:
    await person.tap("Yes, I agree")
    assert "organisation called" in person.last().text
    asked = person.last()
    await person.send("Acme Widgets Ltd")
    # Typed under a question without buttons: the question stays as it was (their own
    # message shows the answer), and the next question follows.
    (question,) = [m for m in person.messages() if m.message_id == asked.message_id]
    assert not question.edited
    assert question.text == asked.text
    assert "What is your role?" in (person.last().text or "")


async def test_stop_then_start_resumes_at_the_same_question(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    bob = Person(fake, 1002)
    await begin(bob)
    await bob.tap("Owner")
    asked = bob.question().text
    await bob.send("/stop")
    assert bob.last().text == "Paused. Send /start whenever you want to carry on."
    await bob.send("/start")
    texts = [m.text or "" for m in bob.messages()[-2:]]
    assert texts[0] == "Welcome back — Part 2 of 7: Your organisation."
    assert "What is your organisation's main activity?" in texts[1]
    assert "What is your organisation's main activity?" in asked
    status, state = latest(engine, 1002)
    assert status == "in_progress"
    assert state.current == "sector"


async def test_back_asks_the_previous_question_again(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    carol = Person(fake, 1003)
    await begin(carol)
    await carol.tap("Owner")
    await carol.send("/back")
    assert "What is your role?" in carol.question().text
    assert latest(engine, 1003)[1].current == "role"
    labels = carol.labels()
    await carol.tap(labels[1])
    assert latest(engine, 1003)[1].answers["role"] != "owner"
    assert latest(engine, 1003)[1].current == "sector"


async def test_review_edit_then_submit(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    dan = Person(fake, 1004)
    await begin(dan)
    await dan.answer_until_review()
    await dan.tap("Organisation")
    assert "organisation called" in dan.last().text
    await dan.send("Fenland Foods")
    assert "Submit" in dan.labels()
    assert "Fenland Foods" in "\n".join(m.text or "" for m in dan.messages()[-3:])
    await dan.tap("Submit")
    status, state = latest(engine, 1004)
    assert status == "completed"
    assert state.answers["org_name"] == "Fenland Foods"


async def test_forget_leaves_no_personal_data(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    erin = Person(fake, 1005)
    await begin(erin)
    await erin.tap("Owner")
    await erin.send("/myanswers")
    assert "Acme Widgets Ltd" in erin.last().text
    assert "Consent given:" in erin.last().text
    await erin.send("/forget")
    assert erin.labels() == ["Erase my answers", "Keep them"]
    confirmation = erin.last()
    calls = len(fake.requests)
    await erin.tap("Erase my answers")
    # Erasure drops the chat's updates from the inbox in the press's own transaction, so
    # the press counts as handled at its commit, before the bot has answered it.
    await fake.wait_until(lambda: len(api_calls(fake, calls)) >= 2)
    assert api_calls(fake, calls) == ["answerCallbackQuery", "editMessageText"]
    # The confirmation itself says it is done (no second message, no buttons left).
    assert erin.last().message_id == confirmation.message_id
    assert "erased your personal data" in erin.last().text
    assert erin.last().buttons() == []
    # A button of an old message, pressed now: a notice that nothing is held any more.
    await erin.press_data(erin.question().button("Manufacturing"), erin.question())
    assert fake.callback_answers[-1].text == NOTHING_HELD_BUTTON
    with Session(engine) as session:
        assert session.exec(select(Answer)).all() == []
        assert session.exec(select(Response)).all() == []
        for employer in session.exec(select(Employer)).all():
            assert employer.telegram_user_id is None
            assert employer.chat_id is None
            assert employer.organisation is None
            assert employer.role is None
            assert employer.consent_at is None


async def test_bad_input_gets_a_polite_answer_and_the_question_again(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    fay = Person(fake, 1006)
    await fay.send("/start")
    await fay.tap("Yes, I agree")
    before = latest(engine, 1006)
    for action in (
        lambda f, uid: f.send_sticker(uid),
        lambda f, uid: f.send_photo(uid),
        lambda f, uid: f.send_voice(uid),
        lambda f, uid: f.send_document(uid),
    ):
        count = len(fay.messages())
        await fay.do(action)
        new = [m.text or "" for m in fay.messages()[count:]]
        assert new[0] == "I can only read text here."
        assert "organisation called" in new[1]
    count = len(fay.messages())
    await fay.send("/frobnicate")
    new = [m.text or "" for m in fay.messages()[count:]]
    assert new[0] == "Sorry, I don't know that command. Send /help to see what I can do."
    assert "organisation called" in new[1]
    count = len(fay.messages())
    await fay.send("x" * 500)
    new = [m.text or "" for m in fay.messages()[count:]]
    assert "120" in new[0]
    assert "organisation called" in new[1]
    assert latest(engine, 1006) == before
    await fay.send("/help")
    assert "/forget" in fay.last().text


async def test_stale_and_forged_buttons_change_nothing(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    gus = Person(fake, 1007)
    await gus.send("/start")
    consent = gus.buttons_message()
    yes = consent.button("Yes, I agree")
    await gus.tap("Yes, I agree")
    await gus.send("Acme Widgets Ltd")
    role = gus.buttons_message()
    await gus.tap("Owner")
    before = latest(engine, 1007)
    # A button from an earlier question, pressed on its old message.
    await gus.press_data(yes, consent)
    # The role buttons again (a double tap after the answer went through).
    await gus.press_data(role.button("Owner"), role)
    assert fake.callback_answers[-1].text == STALE
    assert fake.callback_answers[-2].text == STALE
    # Forged: not ours at all, another employer's response, an index out of range.
    sector = gus.buttons_message()
    response_id = int(sector.button("Manufacturing").split(":")[2])
    for forged in (
        "hello",
        button_data(Action.CHOOSE, response_id + 999, 4, 0),
        button_data(Action.CHOOSE, response_id, 4, 99),
        button_data(Action.CHOOSE, response_id, 9999, 0),
        "iv:c:01:4:0",
    ):
        await gus.press_data(forged, sector)
        assert fake.callback_answers[-1].text, forged
    assert latest(engine, 1007) == before


async def test_a_press_on_a_question_whose_message_id_was_never_stored_is_accepted(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    kit = Person(fake, 1011)
    await kit.send("/start")
    consent = kit.buttons_message()
    await kit.tap("Yes, I agree")
    await kit.send("Acme Widgets Ltd")
    role = kit.buttons_message()
    # The bot stopped after sending the role question and before writing its message id
    # (that write comes after the send, in a batch): the response still names an older
    # message, and the batch is gone with the process.
    await running_bot.interviewer.prompts.write()
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == 1011)).one()
        response = session.exec(select(Response).where(Response.employer_id == employer.id)).one()
        response.prompt_message_id = consent.message_id
        session.add(response)
        session.commit()
    # A button of a message older than the one stored is still stale...
    await kit.press_data(consent.button("Yes, I agree"), consent)
    assert fake.callback_answers[-1].text == STALE
    # ...but the question's own buttons, on the newer message, are its answer.
    await kit.tap("Owner", role)
    status, state = latest(engine, 1011)
    assert (status, state.answers["role"]) == ("in_progress", "owner")
    assert "main activity" in kit.question().text
    # The new question's id is stored again, so the role buttons are now stale.
    await kit.press_data(role.button("Director or senior manager"), role)
    assert fake.callback_answers[-1].text == STALE
    assert latest(engine, 1011)[1].answers["role"] == "owner"


async def test_a_redelivered_update_changes_nothing(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    hal = Person(fake, 1008)
    await hal.send("/start")
    await hal.tap("Yes, I agree")
    update_id = await fake.send_text(1008, "Acme Widgets Ltd")
    await hal.wait_handled(update_id)
    await hal.tap("Owner")
    before = latest(engine, 1008)
    # Telegram delivers the same update (same id) again, e.g. after a crash.
    await running_bot.handle(fake.update(update_id))
    assert latest(engine, 1008) == before
    assert "main activity" in hal.question().text
    # The same button press delivered again under a new id: a stale question, ignored.
    press = await fake.press(1008, hal.buttons_message().message_id, hal.labels()[0])
    await hal.wait_handled(press)
    press_update = fake.update(press)
    again = fake.inject_update({"callback_query": press_update["callback_query"]})
    await hal.wait_handled(again)
    assert latest(engine, 1008) == before


@pytest.mark.each_library
async def test_run_exits_1_on_conflict(fake: FakeTelegram, database_url: str) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        "SKILLSBOT_TELEGRAM_LIBRARY": current_library(),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "run",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Starting a Python process that imports aiogram takes seconds on a busy machine.
    await fake.wait_until(lambda: bool(fake.my_commands), timeout=120)
    # Another poller on the same token: each of its polls supersedes the bot's.
    url = f"{fake.base_url}/bot{fake.token}/getUpdates"
    async with aiohttp.ClientSession() as http:
        while process.returncode is None:
            async with http.post(url, json={"timeout": 1}) as answer:
                await answer.read()
            try:
                await asyncio.wait_for(process.wait(), timeout=0.1)
            except TimeoutError:
                continue
    _, stderr = await process.communicate()
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 1
    assert lines[-1] == (
        "skillsbot: another bot process is polling this token (Telegram said 409 Conflict); "
        "stopping."
    )
    assert fake.token.split(":")[1] not in stderr.decode()


async def test_telegram_errors_on_sending_are_survived(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    ida = Person(fake, 1009)
    fake.fail_next("sendMessage", times=2, error_code=429, retry_after=1)
    fake.fail_next("editMessageText", times=1, error_code=500)
    await begin(ida)
    assert "organisation called" not in ida.last().text
    assert "What is your role?" in ida.question().text
    fake.block(1009)
    await ida.tap("Owner")
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == 1009)).one()
        assert employer.status == "unreachable"
    # The bot is still running for everyone else.
    jo = Person(fake, 1010)
    await jo.send("/start")
    assert jo.labels() == ["Yes, I agree", "No"]


# SIGINT is caught exactly like SIGTERM, whatever the database: one run on SQLite shows it,
# without a second process start on PostgreSQL too.
@pytest.mark.parametrize(
    ("database_url", "stop_signal"),
    [
        pytest.param("sqlite", signal.SIGTERM, id="sqlite-SIGTERM"),
        pytest.param("postgres", signal.SIGTERM, id="postgres-SIGTERM", marks=pytest.mark.postgres),
        pytest.param("sqlite", signal.SIGINT, id="sqlite-SIGINT"),
    ],
    indirect=["database_url"],
)
@pytest.mark.each_library
async def test_run_stops_cleanly_on_a_signal(
    fake: FakeTelegram, database_url: str, stop_signal: signal.Signals
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        "SKILLSBOT_TELEGRAM_LIBRARY": current_library(),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "run",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    await fake.wait_until(lambda: bool(fake.my_commands), timeout=120)
    kim = Person(fake, 1011)
    with inbox_of(fake, database_url):
        await kim.send("/start")
        await kim.tap("Yes, I agree")
    update_id = await fake.send_text(1011, "Secret Name Ltd")
    await fake.wait_for_bot_message(1011, predicate=lambda m: "role" in (m.text or ""))
    process.send_signal(stop_signal)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    log = stderr.decode()
    assert process.returncode == 0, log[-2000:]
    assert fake.acknowledged_offset > update_id
    assert "Traceback" not in log
    assert "KeyboardInterrupt" not in log
    assert log.strip().splitlines()[-1].endswith("event=stopped")
    assert f"update={update_id} kind=text employer=1 outcome=answered ms=" in log
    assert "Secret Name" not in log
    assert fake.token.split(":")[1] not in log
    # The update in hand was committed before the process exited.
    database = make_engine(database_url)
    try:
        with Session(database) as session:
            (answer,) = session.exec(select(Answer).where(Answer.question_id == "org_name")).all()
            assert answer.value == "Secret Name Ltd"
    finally:
        database.dispose()


async def test_a_nul_is_taken_out_and_invisible_text_is_no_answer(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    max_ = Person(fake, 1011)
    await max_.send("/start")
    await max_.tap("Yes, I agree")
    await max_.send("\u200b\u200b\u200b")  # zero-width spaces only
    assert [m.text for m in max_.messages()[-2:-1]] == ["This question needs an answer."]
    assert "organisation called" in (max_.last().text or "")
    await max_.send("Acme\x00 Ltd")  # PostgreSQL refuses a NUL in text
    assert "organisation called" not in (max_.last().text or "")
    status, state = latest(engine, 1011)
    assert (status, state.answers["org_name"]) == ("in_progress", "Acme Ltd")


async def test_a_long_emoji_answer_keeps_the_review_and_its_submit_button(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    lee = Person(fake, 1012)
    await begin(lee)
    for _ in range(80):
        if "Anything else about skills" in (lee.last().text or ""):
            break
        await lee.answer_current()
    else:
        raise AssertionError(lee.transcript())
    asked = lee.last()
    emoji = "\U0001f600" * 2000  # 2,000 characters, 4,000 UTF-16 code units
    await lee.send(emoji)
    assert "Submit" in lee.labels()
    answered = next(m for m in lee.messages() if m.message_id == asked.message_id)
    assert answered.edited
    assert (answered.text or "").endswith("\U0001f600…")
    # The review is one compact message a page: the answer is cut there (stored whole).
    review = await lee.page_to("Anything else", lee.last())
    assert review.message_id == lee.last().message_id
    assert "\U0001f600…" in (review.text or "")
    assert "\U0001f600" * 100 in (review.text or "")
    assert 0 < (review.text or "").count("\U0001f600") < 200
    await lee.tap("Submit")
    status, state = latest(engine, 1012)
    assert (status, state.answers["comments"]) == ("completed", emoji)


# -- long lists, pop-up notices, the review by question (issue 18) ------------------------


def option_labels(person: Person, message: Message) -> list[str]:
    """The choice buttons of a question message (not paging, Done or Skip)."""
    return [label for label in person.labels(message) if label not in (MORE, PREVIOUS, *STEPS)]


STEPS = ("Done", "Skip")


async def reach(person: Person, wanted: str, *, limit: int = 60) -> Message:
    """Answer question after question (its first option, or a typed answer that fits) until
    the question containing `wanted` is asked; that question's message."""
    for _ in range(limit):
        asked = person.question()
        if wanted in (asked.text or "") and asked.buttons():
            return asked
        await person.answer_current()
    raise AssertionError(f"{wanted!r} never asked:\n{person.transcript()}")


def api_calls(fake: FakeTelegram, since: int) -> list[str]:
    """The Bot API methods the bot called after the first `since` calls (polls left out)."""
    return sorted(r.method for r in fake.requests[since:] if r.method != "getUpdates")


async def test_a_long_list_comes_in_pages_with_the_question_and_ticks_in_view(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    pat = Person(fake, 1013)
    await begin(pat)
    asked = await reach(pat, "Which skills do applicants lack?")
    seen: list[str] = []
    message = asked
    for _ in range(10):  # every page, turned with More…
        assert len(option_labels(pat, message)) <= 10, message.describe()
        assert "Which skills do applicants lack?" in (message.text or "")
        seen.extend(option_labels(pat, message))
        if MORE not in pat.labels(message):
            break
        calls = len(fake.requests)
        await pat.tap(MORE, message)
        # One edit of the same message (its text says which options it shows), one answer.
        assert api_calls(fake, calls) == ["answerCallbackQuery", "editMessageText"]
        message = pat.now(message)
    assert len(seen) == len(set(seen)) == 27  # 26 skills and "Other", each on one page
    # Ticks on the first and last pages, in the same message, counted in its text.
    count = len(pat.messages())
    for label in ("Specialist skills", "Sales", "Net zero and green"):
        shown = await pat.page_to(label, asked)
        calls = len(fake.requests)
        await pat.tap(label, shown)
        assert api_calls(fake, calls) == ["answerCallbackQuery", "editMessageText"]
    assert len(pat.messages()) == count
    message = pat.now(asked)
    assert "3 ticked:" in (message.text or "")
    assert "Specialist skills or knowledge for the role; Sales; Net zero" in (message.text or "")
    # The ticks are kept across pages: back on the first page, its tick still shows.
    first = await pat.page_to("Specialist skills", message)
    assert SELECTED_MARK + "Specialist skills or knowledge for the role" in pat.labels(first)
    await pat.tap("Done", first)
    answers = latest(engine, 1013)[1].answers
    assert answers["applicant_skills_lacking"] == ["specialist", "sales", "net_zero"]
    answered = pat.now(asked).text or ""
    assert "→ Specialist skills or knowledge for the role; Sales; Net zero" in answered


async def test_a_tick_past_the_most_allowed_is_refused_at_once_with_a_pop_up(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    rae = Person(fake, 1014)
    await begin(rae)
    asked = await reach(rae, "Which skills will matter most")
    for label in ("Basic digital", "AI and automation", "Leadership"):
        await rae.tap(label, rae.now(asked))
    assert "3 of 3 ticked:" in (rae.now(asked).text or "")
    before = latest(engine, 1014)
    count = len(rae.messages())
    await rae.tap("English and maths", rae.now(asked))  # a fourth, on the second page
    answer = fake.callback_answers[-1]
    assert answer.text == "You can pick up to 3. Untick one first to choose another."
    assert answer.show_alert
    assert latest(engine, 1014) == before
    assert len(rae.messages()) == count
    assert "3 of 3 ticked:" in (rae.now(asked).text or "")
    assert SELECTED_MARK + "English and maths" not in rae.labels(rae.now(asked))


async def test_out_of_date_and_forged_page_buttons_get_a_notice(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    sid = Person(fake, 1015)
    await begin(sid)
    await sid.tap("Owner")
    sector = sid.question()
    more = sector.button(MORE)
    parsed = parse_button(more)
    assert parsed is not None
    forged = button_data(Action.PAGE, parsed.response, parsed.question, 7)
    await sid.press_data(forged, sector)
    assert fake.callback_answers[-1].text == NO_SUCH_PAGE
    await sid.tap("Manufacturing", sector)
    before = latest(engine, 1015)
    count = len(sid.messages())
    await sid.press_data(more, sector)  # the answered question's old page button
    assert fake.callback_answers[-1].text == STALE
    assert latest(engine, 1015) == before
    assert len(sid.messages()) == count
    assert sid.now(sector).buttons() == []


async def test_consent_refused_reads_no_not_skipped(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    una = Person(fake, 1016)
    await una.send("/start")
    consent = una.question()
    await una.tap("No")
    assert (una.now(consent).text or "").endswith("→ No")


async def test_an_edit_names_its_question_even_after_an_edit_changed_which_apply(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    vic = Person(fake, 1017)
    await begin(vic)
    for _ in range(80):  # no vacancies: the recruitment questions after it do not apply
        if "Do you have vacancies now" in (vic.last().text or ""):
            await vic.tap("No")
        last = vic.last()
        if last.buttons() and "Submit" in vic.labels(last):
            break
        await vic.answer_current()
    review = vic.last()
    comments = (await vic.page_to("Anything else", review)).button("Anything else")
    await vic.tap("Recruiting", review)
    await vic.tap("Yes")
    # Changing it opened questions, which are asked now (the review follows).
    await vic.answer_until_review()
    review = vic.last()
    opened = await vic.page_to("Vacancies now", review)
    assert "Vacancies now\n→ 1" in (opened.text or "")
    # The last question's Edit button is the same as before, though more answers precede it.
    after = await vic.page_to("Anything else", review)
    assert after.button("Anything else") == comments
    await vic.tap("Anything else", after)
    assert "Anything else about skills" in (vic.question().text or "")
    assert latest(engine, 1017)[1].current == "comments"


async def test_an_exclusive_tick_clears_the_others_with_a_notice_in_the_same_message(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    wyn = Person(fake, 1018)
    await begin(wyn)
    asked = await reach(wyn, "What makes training harder for you?")
    await wyn.tap("Cost or lack of funds", asked)
    await wyn.tap("No barriers", wyn.now(asked))  # on the second page
    assert fake.callback_answers[-1].text  # says what was cleared
    assert not fake.callback_answers[-1].show_alert
    message = wyn.now(asked)
    assert "1 ticked: No barriers, or no need" in (message.text or "")
    assert SELECTED_MARK + "No barriers, or no need" in wyn.labels(message)
    first = await wyn.page_to("Cost or lack of funds", message)
    assert SELECTED_MARK + "Cost or lack of funds" not in wyn.labels(first)
    await wyn.tap("Done", first)
    assert latest(engine, 1018)[1].answers["training_barriers"] == ["no_need"]
