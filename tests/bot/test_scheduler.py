"""The dispatcher and the scheduler over the fake Telegram: reminders are sent once, at send
time only to employers who still want them, and a real APScheduler job fires (also in the bot
exactly as `skillsbot run` builds it from the settings)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from sqlalchemy import text

from bot.core.followups import FollowUps, ReminderPolicy
from bot.devtools.fake_telegram import FakeTelegram
from bot.retry import RetryPolicy
from bot.runtime.app import build_employer_bot
from bot.runtime.scheduler import FollowUpScheduler, ScheduleSettings
from bot.settings import ReportSettings, load_settings
from bot.transports.aiogram.account import build_bot
from bot.transports.aiogram.delivery import Delivery
from storage import Employer, Engine, Session, Units, locks, make_engine, mark_unreachable
from storage import inbox as inbox_store
from storage.cluster import ClusterRole
from storage.followups import follow_ups, open_round
from tests.storage.test_followups import INTERVIEW, MONDAY, stalled

WEDNESDAY = MONDAY + timedelta(days=2)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    # Two tries, no wait to speak of: the tests that make sends fail stay quick.
    telegram = build_bot(fake.token, fake.base_url, RetryPolicy(attempts=2, first=0.01, cap=0.1))
    try:
        yield telegram
    finally:
        await telegram.session.close()


def dispatcher(engine: Engine, bot: Bot, policy: ReminderPolicy | None = None) -> FollowUps:
    async def unreachable(chat_id: int) -> None:
        with Session(engine) as session, session.begin():
            mark_unreachable(session, chat_id=chat_id, now=datetime.now(UTC))

    delivery = Delivery(bot, on_unreachable=unreachable)
    # The test's own units (their idle threads go with the test process).
    return FollowUps(
        database=engine,
        delivery=delivery,
        interview=INTERVIEW,
        policy=policy or ReminderPolicy(zone=LONDON),
        report=ReportSettings(zone=LONDON),
        units=Units(engine),
    )


async def test_a_due_reminder_is_sent_once_even_across_a_restart(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(2001)
    stalled(engine, 2001, MONDAY)
    first = dispatcher(engine, bot)
    assert await first.plan(now=MONDAY) == 1
    assert (await first.dispatch_due(now=WEDNESDAY - timedelta(minutes=1))).sent == []
    assert len((await first.dispatch_due(now=WEDNESDAY)).sent) == 1
    message = fake.last_bot_message(2001)
    assert message is not None
    assert message.text is not None
    assert message.text.startswith("You stopped at Part 1 of 7 (")
    assert [label for row in message.buttons() for label, _ in row] == [
        "Continue",
        "No more messages",
    ]
    restarted = dispatcher(engine, bot)  # a new process on the same database
    assert (await restarted.dispatch_due(now=WEDNESDAY + timedelta(hours=1))).sent == []
    assert len(fake.bot_messages(2001)) == 1


@pytest.mark.parametrize("status", ["completed", "opted_out", "unreachable"])
async def test_status_is_checked_again_at_send_time(
    engine: Engine, fake: FakeTelegram, bot: Bot, status: str
) -> None:
    fake.add_user(2002)
    employer_id, _ = stalled(engine, 2002, MONDAY)
    follow = dispatcher(engine, bot)
    await follow.plan(now=MONDAY)
    with Session(engine) as session, session.begin():
        employer = session.get(Employer, employer_id)
        assert employer is not None
        employer.status = status
    result = await follow.dispatch_due(now=WEDNESDAY)
    assert result.sent == []
    assert len(result.cancelled) == 1
    assert fake.bot_messages(2002) == []


async def test_a_blocked_employer_becomes_unreachable(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(2003)
    employer_id, _ = stalled(engine, 2003, MONDAY)
    fake.block(2003)
    follow = dispatcher(engine, bot)
    await follow.plan(now=MONDAY)
    result = await follow.dispatch_due(now=WEDNESDAY)
    assert len(result.failed) == 1
    with Session(engine) as session:
        employer = session.get(Employer, employer_id)
        assert employer is not None
        assert employer.status == "unreachable"
        retry = follow_ups(session, employer_id=employer_id)
    assert [row.last_error for row in retry] == ["not_delivered"]
    # The retry finds them unreachable and cancels instead of sending.
    assert len((await follow.dispatch_due(now=WEDNESDAY + timedelta(hours=1))).cancelled) == 1


async def test_the_scheduler_dispatch_job_fires_and_sends(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(2004)
    stalled(engine, 2004, datetime.now(UTC) - timedelta(days=10))
    follow = dispatcher(
        engine,
        bot,
        ReminderPolicy(weekends=True, quiet_start=time(0), quiet_end=time(0), zone=LONDON),
    )
    await follow.plan(now=datetime.now(UTC))
    scheduler = FollowUpScheduler(follow, ScheduleSettings(dispatch_seconds=0.2, zone=LONDON))
    scheduler.start()
    try:
        await fake.wait_until(lambda: bool(fake.bot_messages(2004)), timeout=10)
    finally:
        scheduler.shutdown()
    assert "You stopped at Part " in (fake.bot_messages(2004)[0].text or "")


async def test_the_daily_planner_job_also_forgets_identifiers_and_updates_past_retention(
    engine: Engine, bot: Bot
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3 * 365 + 30)
    gone, _ = stalled(engine, 2005, long_ago, organisation="Long Gone Ltd")
    here, _ = stalled(engine, 2006, datetime.now(UTC), organisation="Still Here Ltd")
    now = datetime.now(UTC)
    updates = [{"update_id": uid, "message": {"chat": {"id": uid}}} for uid in (1, 2)]
    inbox_store.accept(engine, updates, now=now - timedelta(days=9))
    for days, update_id in ((8, 1), (6, 2)):  # done 8 and 6 days ago; kept for 7
        inbox_store.claim(engine, owner="w", limit=2, now=now - timedelta(days=9))
        inbox_store.complete(engine, update_id, owner="w", now=now - timedelta(days=days))
    await FollowUpScheduler(dispatcher(engine, bot)).plan()
    assert (inbox_store.handled(engine, 1), inbox_store.handled(engine, 2)) == (False, True)
    with Session(engine) as session:
        forgotten, kept = session.get(Employer, gone), session.get(Employer, here)
        assert forgotten is not None
        assert kept is not None
        assert (forgotten.organisation, forgotten.telegram_user_id) == (None, None)
        assert forgotten.erased_at is not None
        assert (kept.organisation, kept.erased_at) == ("Still Here Ltd", None)


async def test_a_failing_job_logs_the_error_type_only(
    engine: Engine, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    stalled(engine, 2007, datetime.now(UTC) - timedelta(days=10), organisation="Secret Ltd")
    with engine.begin() as connection:  # the database turns against the job
        connection.exec_driver_sql("DROP TABLE follow_up")
    caplog.set_level(logging.INFO)
    await FollowUpScheduler(dispatcher(engine, bot)).plan()
    failed = [r for r in caplog.records if r.getMessage().startswith("event=planner_failed")]
    assert [r.levelname for r in failed] == ["ERROR"]
    assert all(r.exc_info is None for r in caplog.records if r.levelno >= logging.INFO)
    assert "follow_up" not in caplog.text  # no SQL, no message: the type only


@pytest.mark.slow  # builds the weekly report it catches up at start-up
async def test_skillsbot_run_builds_the_bot_with_its_scheduler_and_the_job_fires(
    engine: Engine, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "SKILLSBOT_DISPATCH_SECONDS": "0.2",
        "SKILLSBOT_ANALYSTS": "4101",
        "SKILLSBOT_MAX_REMINDERS": "1",
        # Whatever the hour the test runs at (reminders keep quiet hours when sent).
        "SKILLSBOT_QUIET_HOURS": "00:00-00:00",
        "SKILLSBOT_REMINDER_WEEKENDS": "true",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env_file=None)
    fake.add_user(2005)
    fake.add_user(4101)
    stalled(engine, 2005, datetime.now(UTC) - timedelta(days=10))
    employer_bot = build_employer_bot(settings, INTERVIEW, engine)
    assert employer_bot.scheduler is not None
    assert employer_bot.follow_ups.analysts == frozenset({4101})
    assert employer_bot.follow_ups.policy.limit == 1
    weekly = employer_bot.scheduler.scheduler.get_job("weekly")
    assert weekly is not None
    monday = weekly.trigger.get_next_fire_time(None, datetime(2026, 11, 25, tzinfo=UTC))
    assert monday == datetime(2026, 11, 30, 8, 0, tzinfo=LONDON)
    running = asyncio.create_task(employer_bot.run())
    try:
        # At start-up: the reminder planned and sent, and last week's report caught up.
        await fake.wait_until(
            lambda: (
                (bool(fake.bot_messages(2005)) and bool(fake.bot_messages(4101))) or running.done()
            ),
            timeout=30,
        )
    finally:
        employer_bot.stop()
        await asyncio.wait_for(running, timeout=15)
        await employer_bot.close()
    assert "You stopped at Part " in (fake.bot_messages(2005)[0].text or "")
    assert (fake.bot_messages(4101)[0].text or "").startswith("Weekly skills summary")


async def test_round_invitations_to_someone_who_never_answered_follow_max_reminders(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    # SKILLSBOT_MAX_REMINDERS=3 with two reminder delays: reminders stop at two, but the
    # round invitations of someone who never answered go up to 3, as `round open` plans.
    fake.add_user(2009)
    with Session(engine) as session, session.begin():
        session.add(
            Employer(
                telegram_user_id=2009,
                chat_id=2009,
                status="started",
                created_at=MONDAY,
                updated_at=MONDAY,
            )
        )
    policy = ReminderPolicy(
        delays=(timedelta(days=2), timedelta(days=5)), max_reminders=3, zone=LONDON
    )
    follow = dispatcher(engine, bot, policy)
    sent = 0
    for number in range(4):
        with Session(engine) as session, session.begin():
            opened = open_round(
                session,
                name=f"Stage {number}",
                interview_id=INTERVIEW.id,
                interview_version=INTERVIEW.version,
                interview_path=None,
                segment={},
                opened_by="cli:test",
                now=MONDAY,
                max_unanswered=policy.max_reminders,
            )
        result = await follow.dispatch_due(now=MONDAY)
        assert opened.invited == (1 if number < 3 else 0)
        sent += len(result.sent)
    assert sent == 3
    assert len(fake.bot_messages(2009)) == 3


def lock_holder_pid(engine: Engine, role: ClusterRole) -> int | None:
    """The server process holding `role`'s advisory lock in this test's schema, if any."""
    with engine.connect() as connection:
        return locks.holder_pid(connection, role.lock_name)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_schedulers_on_postgresql_run_each_job_once_and_one_takes_over(
    database_url: str, engine: Engine, bot: Bot
) -> None:
    """Two bot processes' schedulers (each its own engine and connections): only the
    clock's holder runs the jobs; when its lock's session dies, the other takes over."""
    settings = ScheduleSettings(dispatch_seconds=0.2, leader_check_seconds=0.2, zone=LONDON)
    engines = [make_engine(database_url) for _ in range(2)]
    schedulers = [FollowUpScheduler(dispatcher(each, bot), settings) for each in engines]
    try:
        for scheduler in schedulers:
            scheduler.start()
        await asyncio.sleep(1.5)
        first, second = sorted(schedulers, key=lambda each: -each.runs["dispatch"])
        assert first.runs["dispatch"] >= 3
        assert (first.runs["startup"], second.runs["startup"]) == (1, 0)
        assert second.runs["dispatch"] == 0
        assert (first.leading, second.leading) == (True, False)
        # The holder's session dies (a crash, a network cut): the server frees the lock.
        pid = lock_holder_pid(engine, ClusterRole.CLOCK)
        assert pid is not None
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(50):
            if second.runs["dispatch"] >= 2:
                break
            await asyncio.sleep(0.1)
        assert second.runs["startup"] == 1  # the new holder catches up as a restart does
        assert second.runs["dispatch"] >= 2
        before = first.runs["dispatch"]
        await asyncio.sleep(0.6)
        assert first.runs["dispatch"] - before <= 1  # stepped down (a run in hand may end)
        assert not first.leading
    finally:
        for scheduler in schedulers:
            scheduler.shutdown()
        for each in engines:
            each.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_dispatchers_on_postgresql_share_the_outbox_and_send_each_once(
    database_url: str, engine: Engine, fake: FakeTelegram
) -> None:
    """Two processes' dispatchers (each its own engine and Bot) at once: every invitation
    goes once, and both take part (they claim one row at a time, skipping locked ones)."""
    chats = range(2101, 2161)
    with Session(engine) as session, session.begin():
        for chat in chats:
            fake.add_user(chat)
            session.add(
                Employer(
                    telegram_user_id=chat,
                    chat_id=chat,
                    status="started",
                    created_at=MONDAY,
                    updated_at=MONDAY,
                )
            )
    with Session(engine) as session, session.begin():
        opened = open_round(
            session,
            name="Stage 2",
            interview_id=INTERVIEW.id,
            interview_version=INTERVIEW.version,
            interview_path=None,
            segment={},
            opened_by="cli:test",
            now=MONDAY,
        )
    assert opened.invited == len(chats)
    engines = [make_engine(database_url) for _ in range(2)]
    bots = [build_bot(fake.token, fake.base_url) for _ in range(2)]
    try:
        dispatchers = [dispatcher(each, bot) for each, bot in zip(engines, bots, strict=True)]
        for each in dispatchers:
            each.batch = len(chats)
        results = await asyncio.gather(*(each.dispatch_due(now=MONDAY) for each in dispatchers))
    finally:
        for bot in bots:
            await bot.session.close()
        for each in engines:
            each.dispose()
    sent = [len(result.sent) for result in results]
    assert sum(sent) == len(chats)
    assert min(sent) > 0, sent
    assert all(len(fake.bot_messages(chat)) == 1 for chat in chats)
