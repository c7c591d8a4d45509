"""Follow-ups end to end over the fake Telegram: a reminder's Continue and No more messages;
/weekly for an analyst (headline, workbook, charts) and for an employer (the unknown-command
answer); the weekly cron job to every analyst; a round's invitations to exactly its segment,
whose Start begins a response of the round."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from typer.testing import CliRunner, Result

from analytics.demo import seed_demo
from analytics.weeks import IsoWeek
from bot.cli import app
from bot.core.interview_copy import NOT_INVITED, UNKNOWN_COMMAND
from bot.core.staff import WEEKLY_USAGE, WEEKLY_WORKING
from bot.devtools.fake_telegram import FakeTelegram, Message
from bot.runtime.app import EmployerBot, build_employer_bot
from bot.runtime.scheduler import ScheduleSettings
from bot.settings import load_settings
from conversations.definition import Interview
from storage import (
    Employer as EmployerRow,
)
from storage import (
    Engine,
    Session,
    chat_transaction,
    employer_for_telegram,
    latest_response,
    utcnow,
)
from storage.followups import follow_ups, interview_rounds
from storage.publications import published_columns
from storage.roster import employer_listing
from storage.staff import set_role
from storage.staff_models import Role
from tests.clock import RunningClock, eventually
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import current_library, inbox_of, library_of, polling_bot

pytestmark = pytest.mark.slow

LONDON = ZoneInfo("Europe/London")
PNG = b"\x89PNG\r\n\x1a\n"
XLSX = b"PK\x03\x04"  # a zip archive


def grant(engine: Engine, user_id: int, role: Role) -> None:
    with chat_transaction(engine, user_id) as session:
        set_role(session, telegram_user_id=user_id, role=role, added_by="test", now=utcnow())


def listed(engine: Engine, user_id: int, **profile: str) -> None:
    """An employer with a Telegram chat and this profile (e.g. sector, status)."""
    with chat_transaction(engine, user_id) as session:
        employer = employer_for_telegram(
            session, telegram_user_id=user_id, chat_id=user_id, now=utcnow()
        )
        for name, value in profile.items():
            setattr(employer, name, value)
        session.add(employer)


def check_weekly_report(messages: list[Message], fake: FakeTelegram, week: str) -> None:
    """The messages are the headline, the workbook, the web page and the two charts."""
    headline, workbook, page, *charts = messages
    first_line = (headline.text or "").split("\n", 1)[0]
    assert first_line.startswith("Weekly skills summary, Cambridgeshire and Peterborough: ")
    assert f"week {week} (" in first_line
    assert workbook.kind == "document"
    assert workbook.document == f"weekly-{week}.xlsx"
    assert fake.file_bytes(workbook).startswith(XLSX)
    assert (page.kind, page.document) == ("document", f"weekly-{week}.html")
    html = fake.file_bytes(page).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Cambridgeshire and Peterborough" in html
    assert f"week {week} (" in html
    assert [chart.kind for chart in charts] == ["photo", "photo"]
    assert all(fake.file_bytes(chart).startswith(PNG) for chart in charts)


async def test_reminder_continue_then_stop(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    alice = Person(fake, 3001)
    await alice.send("/start")
    for _ in range(3):
        await alice.answer_current()
    question = (alice.question().text or "").split("Question ", 1)[-1]
    policy = running_bot.follow_ups.policy  # quiet hours and weekends: 9 days on, allowed
    later = policy.allowed_time(utcnow() + timedelta(days=9))
    await running_bot.follow_ups.plan(now=utcnow())
    await running_bot.follow_ups.dispatch_due(now=later)
    part = (alice.question().text or "").split("\n", 1)[0]  # "Part 1 of 7: About you"
    number, title = part.split(": ", 1)
    assert (alice.last().text or "").startswith(f"You stopped at {number} ({title}) of the ")
    await alice.tap("Continue")
    assert (alice.question().text or "").endswith(question.split("\n", 1)[-1])  # as /start
    await running_bot.follow_ups.plan(now=later)
    await running_bot.follow_ups.dispatch_due(now=policy.allowed_time(later + timedelta(days=9)))
    await alice.tap("No more messages", alice.buttons_message())
    assert "won't get any more messages" in (alice.last().text or "")
    with Session(engine) as session:
        opted_out = [e.telegram_user_id for e in employer_listing(session, status="opted_out")]
    assert opted_out == [3001]
    count = len(alice.messages())
    await running_bot.follow_ups.plan(now=later + timedelta(days=20))
    await running_bot.follow_ups.dispatch_due(now=policy.allowed_time(later + timedelta(days=30)))
    assert len(alice.messages()) == count


async def test_an_employers_weekly_is_an_unknown_command(
    running_bot: EmployerBot, fake: FakeTelegram
) -> None:
    bob = Person(fake, 3002)
    await bob.send("/weekly")
    assert UNKNOWN_COMMAND in (bob.messages()[0].text or "")


async def test_an_analysts_weekly_brings_the_headline_the_workbook_and_the_charts(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    seed_demo(engine, employers=20, weeks=2, seed=7, now=utcnow(), interview=interview)
    grant(engine, 3201, "analyst")
    week = IsoWeek.last_complete(utcnow()).label
    carol = Person(fake, 3201)
    await carol.send("/weekly 2026-W99")
    assert carol.last().text == WEEKLY_USAGE
    await carol.send(f"/weekly {week}")
    usage, working, *report = carol.messages()
    assert (usage.text, working.text) == (WEEKLY_USAGE, WEEKLY_WORKING)
    check_weekly_report(report, fake, week)
    # What it published is recorded, for the next report's disclosure control.
    recorded = published_columns(engine, interview_id=interview.id)
    assert len(recorded["grid"]) > 100
    assert any(recorded["shown"])
    before = len(carol.messages())
    await carol.send("/weekly")  # no week: the last complete one, and it says which
    working, *report = carol.messages()[before:]
    assert working.text == WEEKLY_WORKING
    assert (report[0].text or "").startswith(f"No week given: the last complete week, {week}.")


async def test_a_failed_upload_is_retried_alone_and_nothing_is_sent_twice(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    seed_demo(engine, employers=20, weeks=2, seed=7, now=utcnow(), interview=interview)
    grant(engine, 3202, "analyst")
    week = IsoWeek.last_complete(utcnow()).label
    dan = Person(fake, 3202)
    fake.fail_next("sendDocument", error_code=500)
    fake.fail_next("sendPhoto", error_code=502)
    await dan.send(f"/weekly {week}")
    working, *report = dan.messages()
    assert working.text == WEEKLY_WORKING
    check_weekly_report(report, fake, week)  # one headline, one workbook, two charts
    failed = [r.method.lower() for r in fake.requests if r.status >= 500]
    assert failed == ["senddocument", "sendphoto"]


async def test_a_week_outside_the_data_gets_one_line(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    seed_demo(engine, employers=20, weeks=2, seed=7, now=utcnow(), interview=interview)
    grant(engine, 3203, "analyst")
    erin = Person(fake, 3203)
    for week in ("0001-W01", "9999-W52", IsoWeek.containing(utcnow()).next().label):
        await erin.send(f"/weekly {week}")
    said = [m.text or "" for m in erin.messages()]
    assert len(said) == 3, said
    assert "There are no responses before " in said[0]
    assert "9999-W52 has not started yet" in said[1]
    assert all("give a week from" in line for line in said)
    uploads = [r for r in fake.requests if r.method.lower() in ("senddocument", "sendphoto")]
    assert uploads == []


@pytest.mark.each_library
async def test_the_weekly_job_sends_the_report_to_every_analyst_once(
    fake: FakeTelegram,
    engine: Engine,
    interview: Interview,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_demo(engine, employers=20, weeks=2, seed=7, now=utcnow(), interview=interview)
    grant(engine, 3301, "analyst")
    grant(engine, 3302, "admin")
    grant(engine, 3303, "staff")
    for user_id in (3301, 3302, 3303, 3304):
        fake.add_user(user_id)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    monkeypatch.setenv("TELEGRAM_API_URL", fake.base_url)
    monkeypatch.setenv("SKILLSBOT_ANALYSTS", "3304")
    monkeypatch.setenv("SKILLSBOT_TELEGRAM_LIBRARY", current_library())
    employer_bot = build_employer_bot(load_settings(env_file=None), interview, engine)
    assert employer_bot.scheduler is not None
    week = IsoWeek.last_complete(utcnow()).label
    try:
        await employer_bot.scheduler.weekly()  # the cron job: plan_weekly, then dispatch
        for analyst in (3301, 3302, 3304):
            check_weekly_report(fake.bot_messages(analyst), fake, week)
        assert fake.bot_messages(3303) == []  # staff, not an analyst
        await employer_bot.scheduler.weekly()  # run again (a second process): nothing new
    finally:
        await employer_bot.close()
    assert [len(fake.bot_messages(chat)) for chat in (3301, 3302, 3303, 3304)] == [5, 5, 0, 5]
    assert {library_of(call) for call in fake.requests} == {current_library()}


@pytest.mark.each_library
async def test_weekly_and_the_weekly_job_use_the_report_settings_of_a_dotenv_file(
    fake: FakeTelegram,
    engine: Engine,
    interview: Interview,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SKILLSBOT_MIN_BASE, SKILLSBOT_MIN_PERCENT_BASE and SKILLSBOT_AREA in `.env` reach
    /weekly and the Monday job: the bot as `skillsbot run` builds it, settings read once."""
    seed_demo(engine, employers=20, weeks=2, seed=7, now=utcnow(), interview=interview)
    grant(engine, 3401, "analyst")
    fake.add_user(3401)
    for name in (
        "SKILLSBOT_MIN_BASE",
        "SKILLSBOT_MIN_PERCENT_BASE",
        "SKILLSBOT_AREA",
        "SKILLSBOT_ANALYSTS",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_URL",
        "SKILLSBOT_TELEGRAM_LIBRARY",
    ):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={fake.token}\nTELEGRAM_API_URL={fake.base_url}\n"
        "SKILLSBOT_MIN_BASE=7\nSKILLSBOT_MIN_PERCENT_BASE=30\nSKILLSBOT_AREA=The Marches\n"
        f"SKILLSBOT_TELEGRAM_LIBRARY={current_library()}\n",
        encoding="utf-8",
    )
    settings = load_settings(env_file=tmp_path / ".env")
    employer_bot = build_employer_bot(settings, interview, engine)
    employer_bot.polling_timeout = 1
    week = IsoWeek.last_complete(utcnow()).label
    wanted = ("Weekly skills summary, The Marches: ", "show as <7,", "base under 30")
    polls = fake.polls_started

    def headlines() -> list[str]:
        # Last complete week's: between Monday 00:00 and the job's hour, start-up also
        # catches up the week before's report, missed while no bot ran (rightly).
        texts = [m.text or "" for m in fake.bot_messages(3401)]
        return [t for t in texts if "Weekly skills summary, " in t and f"week {week} " in t]

    task = asyncio.create_task(employer_bot.run(polling=True))
    try:
        await fake.wait_until(lambda: fake.polls_started > polls or task.done(), timeout=15)
        assert not task.done(), task.exception()
        with inbox_of(fake, engine):  # wait for the bot's inbox to settle each update
            await Person(fake, 3401).send(f"/weekly {week}")
        # The Monday job: at start-up it catches up on the run it missed, or runs now; its
        # key per week and analyst sends it once either way.
        assert employer_bot.scheduler is not None
        await employer_bot.scheduler.weekly()
        await fake.wait_until(lambda: len(headlines()) >= 2, timeout=90)
        assert len(headlines()) == 2
        for text in headlines():
            assert all(part in text for part in wanted), text
    finally:
        employer_bot.stop()
        try:
            await asyncio.wait_for(task, timeout=15)
        finally:
            await employer_bot.close()


async def test_a_round_invites_exactly_its_segment_and_start_begins_its_response(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, database_url: str
) -> None:
    listed(engine, 3401, sector="manufacturing", status="completed")
    listed(engine, 3402, sector="manufacturing", status="completed", size_band="10-24")
    listed(engine, 3403, sector="construction", status="completed")
    listed(engine, 3404, sector="manufacturing", status="started")
    listed(engine, 3405, sector="manufacturing", status="opted_out")
    for user_id in range(3401, 3406):
        fake.add_user(user_id)
    opened = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["round", "open", "Stage 2", "--sector", "manufacturing", "--status", "completed"],
        env={"DATABASE_URL": database_url},
    )
    assert opened.exit_code == 0, opened.output
    assert "2 invitation(s)" in opened.output
    await running_bot.follow_ups.dispatch_due(now=allowed_now(running_bot))
    invited = [
        user_id
        for user_id in range(3401, 3406)
        if any("Stage 2" in (m.text or "") for m in fake.bot_messages(user_id))
    ]
    assert invited == [3401, 3402]
    assert [fake.bot_messages(user_id) for user_id in (3403, 3404, 3405)] == [[], [], []]
    dana = Person(fake, 3401)
    await dana.tap("Start")
    assert "Part 1 of " in (dana.last().text or "")
    with Session(engine) as session:
        (round_,) = interview_rounds(session)
        employers = {e.telegram_user_id: e for e in employer_listing(session)}
        started = latest_response(session, employer_id=employers[3401].id or 0)
        untouched = latest_response(session, employer_id=employers[3402].id or 0)
    assert started is not None
    assert started.round_id == round_.id
    assert started.status == "in_progress"
    assert untouched is None


def open_round_cli(database_url: str, *arguments: str) -> Result:
    return CliRunner().invoke(
        app, ["round", "open", *arguments], env={"DATABASE_URL": database_url}
    )


def allowed_now(running_bot: EmployerBot) -> datetime:
    """Now, or the next moment outside quiet hours and weekends (invitations wait for it)."""
    return running_bot.follow_ups.policy.allowed_time(utcnow())


def invitations(fake: FakeTelegram, user_id: int) -> int:
    return sum("Stage 2" in (m.text or "") for m in fake.bot_messages(user_id))


async def test_a_round_opened_twice_invites_nobody_twice_and_add_invites_only_newcomers(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, database_url: str
) -> None:
    for user_id in (3501, 3502):
        listed(engine, user_id, sector="manufacturing", status="completed")
    for user_id in range(3501, 3505):
        fake.add_user(user_id)
    segment = ("--sector", "manufacturing", "--status", "completed")
    first = await asyncio.to_thread(open_round_cli, database_url, "Stage 2", *segment)
    assert first.exit_code == 0, first.output
    await running_bot.follow_ups.dispatch_due(now=allowed_now(running_bot))
    again = await asyncio.to_thread(open_round_cli, database_url, " stage  2", *segment)
    assert again.exit_code == 1
    assert again.output.count("\n") == 1
    assert "is open already" in again.output
    assert "--add" in again.output
    listed(engine, 3503, sector="manufacturing", status="completed")  # new on the list
    added = await asyncio.to_thread(open_round_cli, database_url, "Stage 2", "--add")
    assert added.exit_code == 0, added.output
    assert "1 invitation(s)" in added.output
    await running_bot.follow_ups.dispatch_due(now=allowed_now(running_bot))
    assert [invitations(fake, user_id) for user_id in range(3501, 3505)] == [1, 1, 1, 0]
    with Session(engine) as session:
        assert [r.name for r in interview_rounds(session)] == ["Stage 2"]


async def test_a_rounds_start_is_refused_to_an_employer_it_did_not_invite(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, database_url: str
) -> None:
    listed(engine, 3601, sector="manufacturing")
    fake.add_user(3601)
    opened = await asyncio.to_thread(
        open_round_cli, database_url, "Stage 2", "--sector", "manufacturing"
    )
    assert opened.exit_code == 0, opened.output
    with Session(engine) as session:
        (round_,) = interview_rounds(session)
    outsider = Person(fake, 3602)  # never invited: a forged or forwarded Start
    await outsider.send("/start")
    await outsider.press_data(f"fu:r:{round_.id}")
    assert fake.callback_answers[-1].text == NOT_INVITED
    with Session(engine) as session:
        employer = {e.telegram_user_id: e for e in employer_listing(session)}[3602]
        response = latest_response(session, employer_id=employer.id or 0)
    assert response is None or response.round_id is None


async def test_a_strangers_forged_start_is_refused_and_stores_nothing_about_them(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, database_url: str
) -> None:
    listed(engine, 3611, sector="manufacturing")
    opened = await asyncio.to_thread(
        open_round_cli, database_url, "Stage 2", "--sector", "manufacturing"
    )
    assert opened.exit_code == 0, opened.output
    with Session(engine) as session:
        (round_,) = interview_rounds(session)
    stranger = Person(fake, 3612)  # never pressed Start: we hold no record of them
    await stranger.send("/skip")  # a bot message to press a forged button on
    assert not known(engine, 3612)
    await stranger.press_data(f"fu:r:{round_.id}", stranger.messages()[-1])
    assert fake.callback_answers[-1].text == NOT_INVITED
    assert not known(engine, 3612)  # nothing is stored about them until they press Start


def known(engine: Engine, user_id: int) -> bool:
    """Whether we hold an employer record of this Telegram user."""
    with Session(engine) as session:
        return any(e.telegram_user_id == user_id for e in session.exec(select(EmployerRow)))


def next_saturday_night(moment: datetime) -> datetime:
    """The first Saturday 22:00 (London) at or after `moment`."""
    local = moment.astimezone(LONDON)
    saturday = local.date() + timedelta(days=(5 - local.weekday()) % 7)
    night = datetime.combine(saturday, time(22, 0), tzinfo=LONDON)
    return night if night >= moment else night + timedelta(days=7)


@pytest.mark.in_process_bot
async def test_the_running_bot_plans_a_reminder_when_an_employer_stops_and_waits_for_monday(
    fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    clock = RunningClock()
    schedule = ScheduleSettings(dispatch_seconds=0.2, zone=LONDON)
    async with polling_bot(fake, engine, interview, schedule=schedule, clock=clock):
        eve = Person(fake, 3701)
        await eve.send("/start")
        for _ in range(3):
            await eve.answer_current()
        question = eve.question().text or ""
        # Eve stops. Two days on (the first delay) it is Saturday night, then Monday.
        saturday = next_saturday_night(utcnow() + timedelta(days=2))
        monday = datetime.combine(
            saturday.date() + timedelta(days=2), time(8, 0), tzinfo=LONDON
        ).astimezone(UTC)
        clock.advance(saturday - clock())
        try:
            await eventually(lambda: reminder_rows(engine) == [("pending", monday)])
        except TimeoutError:  # twice in loaded full runs, never alone: say what was there
            rows = reminder_rows(engine)
            pytest.fail(f"reminders {rows}, not [pending at {monday}]; the clock at {clock()}")
        assert not any("You stopped" in (m.text or "") for m in eve.messages())
        clock.advance(monday - clock())
        await fake.wait_until(lambda: "You stopped at" in (eve.last().text or ""))
        await eve.tap("Continue")
        assert (eve.question().text or "").endswith(question.split("\n", 1)[-1])  # as /start


def reminder_rows(engine: Engine) -> list[tuple[str, datetime]]:
    """The reminders planned, but those replanned after a later answer."""
    with Session(engine) as session:
        rows = follow_ups(session, kinds=["reminder"])
    return [(row.status, row.due_at) for row in rows if row.last_error != "replanned"]
