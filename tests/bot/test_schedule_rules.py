"""Follow-ups keep to their rules after restarts, retries and busy moments (issue 20).

One clock (`tests.clock.Clock`) gives the scheduler's jobs and the dispatcher their `now`;
each case drives the real `FollowUpScheduler` jobs with it, over the fake Telegram, on
SQLite and PostgreSQL: quiet hours and weekends are kept at send time (an overdue
reminder at a restart, a retry, a reminder planned late), reminders are planned on the
dispatch cycle and at start-up, the weekly report survives a late run and a restart, and
crontab day numbers mean what they mean in cron.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from apscheduler.triggers.cron import CronTrigger

from bot.core.followups import ReminderPolicy, parse_delays
from bot.devtools.fake_telegram import FakeTelegram
from bot.retry import RetryPolicy
from bot.runtime.scheduler import (
    FollowUpScheduler,
    InvalidSchedule,
    ScheduleSettings,
    parse_weekly_cron,
)
from bot.settings import load_settings
from bot.transports.aiogram.account import build_bot
from storage import Engine, Session
from storage.followups import follow_ups, open_round, schedule_weekly_reports
from tests.bot.test_scheduler import dispatcher
from tests.clock import Clock, eventually
from tests.storage.test_followups import INTERVIEW, stalled

LONDON = ZoneInfo("Europe/London")
# November 2026 is GMT: London time is UTC.
WEDNESDAY_15 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SATURDAY_22 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
MONDAY_08 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    # Two tries, no wait to speak of (as tests.bot.test_scheduler's).
    telegram = build_bot(fake.token, fake.base_url, RetryPolicy(attempts=2, first=0.01, cap=0.1))
    try:
        yield telegram
    finally:
        await telegram.session.close()


def reminders(engine: Engine, employer_id: int) -> list[tuple[str, datetime]]:
    with Session(engine) as session:
        rows = follow_ups(session, employer_id=employer_id, kinds=["reminder"])
    return [(row.status, row.due_at) for row in rows]


def texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [message.text or "" for message in fake.bot_messages(chat_id)]


# -- 1. quiet hours and weekends at send time ---------------------------------------------------


async def test_a_restart_at_saturday_night_sends_nothing_until_monday_0800(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    for user_id in (6001, 6002):
        fake.add_user(user_id)
    overdue, _ = stalled(engine, 6001, WEDNESDAY_15 - timedelta(days=2))
    # Before going down, the bot planned 6001's reminder: due Wednesday 15:00; it was down
    # from then on. 6002 stopped on Thursday, while it was down: nothing is planned.
    await dispatcher(engine, bot).plan(now=WEDNESDAY_15 - timedelta(days=2))
    unplanned, _ = stalled(engine, 6002, WEDNESDAY_15 + timedelta(days=1))
    assert reminders(engine, overdue) == [("pending", WEDNESDAY_15)]
    assert reminders(engine, unplanned) == []
    clock = Clock(SATURDAY_22)  # the bot comes back on Saturday at 22:00
    scheduler = FollowUpScheduler(dispatcher(engine, bot), clock=clock)
    await scheduler.startup()  # what start() runs first
    assert texts(fake, 6001) == texts(fake, 6002) == []
    assert reminders(engine, overdue) == [("pending", MONDAY_08)]
    assert reminders(engine, unplanned) == [("pending", MONDAY_08)]
    clock.set(MONDAY_08 - timedelta(seconds=1))
    await scheduler.dispatch()
    assert texts(fake, 6001) == texts(fake, 6002) == []
    clock.set(MONDAY_08)
    await scheduler.dispatch()
    await scheduler.dispatch()
    for user_id in (6001, 6002):
        assert [text[:14] for text in texts(fake, user_id)] == ["You stopped at"]
    # The second reminder, also overdue, waits the 3 days between 2d and 5d after the first.
    thursday_08 = MONDAY_08 + timedelta(days=3)
    assert reminders(engine, overdue) == [("sent", MONDAY_08), ("pending", thursday_08)]


async def test_a_retry_after_a_failure_at_1955_waits_for_0800(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(6003)
    monday_1855 = datetime(2026, 11, 23, 18, 55, tzinfo=UTC)
    employer_id, _ = stalled(engine, 6003, monday_1855)
    clock = Clock(monday_1855 + timedelta(minutes=5))
    scheduler = FollowUpScheduler(dispatcher(engine, bot), clock=clock)
    await scheduler.dispatch()  # plans the reminder, due Wednesday 18:55
    wednesday_1955 = monday_1855 + timedelta(days=2, hours=1)
    assert reminders(engine, employer_id) == [("pending", wednesday_1955 - timedelta(hours=1))]
    fake.fail_next("sendMessage", error_code=500, times=2)  # both tries of the delivery
    clock.set(wednesday_1955)
    await scheduler.dispatch()
    assert texts(fake, 6003) == []
    thursday_08 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert reminders(engine, employer_id) == [("pending", thursday_08)]
    clock.set(wednesday_1955 + timedelta(minutes=10))  # when it was retried before
    await scheduler.dispatch()
    assert texts(fake, 6003) == []
    clock.set(thursday_08)
    await scheduler.dispatch()
    assert [text[:14] for text in texts(fake, 6003)] == ["You stopped at"]


async def test_a_reminder_planned_late_goes_at_0800_not_0700(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(6004)
    stalled(engine, 6004, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # due Wednesday 12:00
    thursday_07 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    clock = Clock(thursday_07)  # first planned on Thursday at 07:00 (the bot was down)
    scheduler = FollowUpScheduler(dispatcher(engine, bot), clock=clock)
    await scheduler.plan()  # the daily planner job
    for moment in (
        thursday_07,
        thursday_07 + timedelta(seconds=30),
        thursday_07 + timedelta(minutes=59),
    ):
        clock.set(moment)
        await scheduler.dispatch()
    assert texts(fake, 6004) == []
    clock.set(thursday_07 + timedelta(hours=1))
    await scheduler.dispatch()
    assert [text[:14] for text in texts(fake, 6004)] == ["You stopped at"]


async def test_a_round_opened_on_saturday_night_invites_on_monday_at_0800(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(6006)
    stalled(engine, 6006, WEDNESDAY_15)  # an employer with a chat, in the round's segment
    with Session(engine) as session, session.begin():
        open_round(
            session,
            name="Stage 2",
            interview_id=INTERVIEW.id,
            interview_version=INTERVIEW.version,
            interview_path=None,
            segment={},
            opened_by="cli:test",
            now=SATURDAY_22,
        )
    clock = Clock(SATURDAY_22)
    scheduler = FollowUpScheduler(dispatcher(engine, bot), clock=clock)
    await scheduler.dispatch()
    clock.set(MONDAY_08 - timedelta(seconds=1))  # e.g. a restart on Sunday night
    await scheduler.startup()
    assert texts(fake, 6006) == []
    clock.set(MONDAY_08)
    await scheduler.dispatch()
    await scheduler.dispatch()
    invitations = [text for text in texts(fake, 6006) if text.startswith("A new round")]
    assert len(invitations) == 1


async def test_a_second_invitation_counted_by_round_open_is_sent_with_a_single_delay(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    # SKILLSBOT_MAX_REMINDERS=2 with one delay: `round open` counts two invitations for one
    # who never answered; the dispatcher must not cancel the second as "used up".
    fake.add_user(6007)
    stalled(engine, 6007, WEDNESDAY_15)  # never agreed to the privacy notice
    policy = ReminderPolicy(delays=parse_delays("2d"), max_reminders=2, zone=LONDON)
    follow = dispatcher(engine, bot, policy)
    for name in ("Stage 2", "Stage 3"):
        with Session(engine) as session, session.begin():
            opened = open_round(
                session,
                name=name,
                interview_id=INTERVIEW.id,
                interview_version=INTERVIEW.version,
                interview_path=None,
                segment={},
                opened_by="cli:test",
                now=WEDNESDAY_15,
                max_unanswered=policy.max_reminders,
            )
        assert opened.invited == 1
        await follow.dispatch_due(now=WEDNESDAY_15)
    invitations = [text for text in texts(fake, 6007) if text.startswith("A new round")]
    assert len(invitations) == 2


async def test_a_follow_up_that_raises_holds_back_nothing_else_of_its_batch(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    for user_id in (6008, 6108):
        fake.add_user(user_id)
    employer_id, _ = stalled(engine, 6008, WEDNESDAY_15 - timedelta(days=2))
    follow = dispatcher(engine, bot)
    follow.analysts = frozenset({6108})
    await follow.plan(now=WEDNESDAY_15 - timedelta(days=2))  # a reminder due Wednesday 15:00
    with Session(engine) as session, session.begin():  # a report that cannot be built
        schedule_weekly_reports(
            session, week="no week", chat_ids=[6108], now=WEDNESDAY_15 - timedelta(hours=1)
        )
    scheduler = FollowUpScheduler(follow, clock=Clock(WEDNESDAY_15 + timedelta(minutes=1)))
    await scheduler.dispatch()  # the report is due first, and fails
    assert [text[:14] for text in texts(fake, 6008)] == ["You stopped at"]
    assert reminders(engine, employer_id) == [("sent", WEDNESDAY_15)]
    with Session(engine) as session:
        (report,) = follow_ups(session, kinds=["weekly_report"])
    assert (report.status, report.last_error) == ("pending", "InvalidWeek")  # tried again later


# -- 3. planning on the dispatch cycle, delays in seconds -------------------------------------


def test_delays_may_be_given_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_delays("30s,2m") == (timedelta(seconds=30), timedelta(minutes=2))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("SKILLSBOT_REMINDER_DELAYS", "30s")
    assert load_settings(env_file=None).reminder_delays == (timedelta(seconds=30),)


async def test_the_dispatch_cycle_plans_and_sends_a_reminder_30s_after_the_last_answer(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(6005)
    policy = ReminderPolicy(
        delays=parse_delays("30s"),
        quiet_start=time(0),
        quiet_end=time(0),
        weekends=True,
        zone=LONDON,
    )
    employer_id, _ = stalled(engine, 6005, WEDNESDAY_15)
    clock = Clock(WEDNESDAY_15 + timedelta(seconds=5))
    scheduler = FollowUpScheduler(
        dispatcher(engine, bot, policy),
        ScheduleSettings(dispatch_seconds=0.1, zone=LONDON),
        clock=clock,
    )
    scheduler.start()
    try:
        await eventually(lambda: bool(reminders(engine, employer_id)))
        assert texts(fake, 6005) == []
        clock.advance(timedelta(seconds=25))  # 30 s after the last answer
        await fake.wait_until(lambda: bool(fake.bot_messages(6005)), timeout=10)
    finally:
        scheduler.shutdown()
    assert [text[:14] for text in texts(fake, 6005)] == ["You stopped at"]


# -- 4. the weekly report after a restart and a busy moment -----------------------------------


@pytest.mark.slow  # builds the report (pandas, charts)
async def test_a_bot_started_at_monday_080005_sends_last_weeks_report_once(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(6101)
    clock = Clock(MONDAY_08 + timedelta(seconds=5))
    follow = dispatcher(engine, bot)
    follow.analysts = frozenset({6101})
    scheduler = FollowUpScheduler(
        follow, ScheduleSettings(dispatch_seconds=60, zone=LONDON), clock=clock
    )
    scheduler.start()
    try:
        await fake.wait_until(lambda: len(fake.bot_messages(6101)) >= 5, timeout=30)
    finally:
        scheduler.shutdown()
    restarted = FollowUpScheduler(
        follow, ScheduleSettings(dispatch_seconds=60, zone=LONDON), clock=clock
    )
    await restarted.startup()  # a restart: the report went already
    headline, *files = fake.bot_messages(6101)
    assert (headline.text or "").startswith(
        "Weekly skills summary, Cambridgeshire and Peterborough: week 2026-W48"
    )
    assert [file.kind for file in files] == ["document", "document", "photo", "photo"]  # XLSX, HTML


@pytest.mark.slow  # builds the report (pandas, charts)
async def test_two_bots_starting_at_once_catch_up_last_weeks_report_once(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(6103)
    clock = Clock(MONDAY_08 + timedelta(minutes=5))
    starting = []
    for _ in range(2):
        follow = dispatcher(engine, bot)
        follow.analysts = frozenset({6103})
        starting.append(FollowUpScheduler(follow, clock=clock).startup())
    await asyncio.gather(*starting)
    headline, *files = fake.bot_messages(6103)
    assert (headline.text or "").startswith(
        "Weekly skills summary, Cambridgeshire and Peterborough: week 2026-W48"
    )
    assert [file.kind for file in files] == ["document", "document", "photo", "photo"]  # XLSX, HTML


@pytest.mark.slow  # builds the report (pandas, charts)
async def test_the_weekly_job_still_runs_when_the_loop_was_busy_at_its_time(
    engine: Engine, fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(6102)
    follow = dispatcher(engine, bot)
    follow.analysts = frozenset({6102})
    scheduler = FollowUpScheduler(
        follow, ScheduleSettings(dispatch_seconds=60, zone=LONDON), clock=Clock()
    )
    weekly = scheduler.scheduler.get_job("weekly")
    assert weekly is not None
    # The weekly run fell due 5 s ago while the event loop was busy (APScheduler's own
    # default grace of 1 s skipped it until the next week). Started without our start-up
    # run, so that only the late job can send the report.
    weekly.modify(next_run_time=datetime.now(UTC) - timedelta(seconds=5))
    scheduler.scheduler.start()
    try:
        await fake.wait_until(lambda: bool(fake.bot_messages(6102)), timeout=30)
    finally:
        scheduler.shutdown()
    assert (fake.bot_messages(6102)[0].text or "").startswith("Weekly skills summary")


# -- 5. crontab day numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "fires"),
    [
        ("0 8 * * 1", [datetime(2026, 11, 30, 8, 0, tzinfo=LONDON)]),  # Monday
        ("0 8 * * 0", [datetime(2026, 12, 6, 8, 0, tzinfo=LONDON)]),  # Sunday
        ("0 8 * * 7", [datetime(2026, 12, 6, 8, 0, tzinfo=LONDON)]),  # Sunday too
        ("30 17 * * 5", [datetime(2026, 12, 4, 17, 30, tzinfo=LONDON)]),  # Friday
        ("0 8 * * mon", [datetime(2026, 11, 30, 8, 0, tzinfo=LONDON)]),
        (
            "0 8 * * 1-3",
            [
                datetime(2026, 11, 30, 8, 0, tzinfo=LONDON),
                datetime(2026, 12, 1, 8, 0, tzinfo=LONDON),
                datetime(2026, 12, 2, 8, 0, tzinfo=LONDON),
            ],
        ),
        (
            "0 8 * * 0,6",
            [
                datetime(2026, 12, 5, 8, 0, tzinfo=LONDON),
                datetime(2026, 12, 6, 8, 0, tzinfo=LONDON),
            ],
        ),
    ],
)
def test_crontab_day_numbers_mean_what_they_mean_in_cron(
    setting: str, fires: list[datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("SKILLSBOT_WEEKLY_CRON", setting)
    crontab = load_settings(env_file=None).weekly_cron
    trigger = CronTrigger.from_crontab(crontab, timezone=LONDON)  # as the weekly job's
    moment = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # Sunday noon
    seen = []
    for _ in fires:
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        seen.append(moment)
    assert seen == fires


@pytest.mark.parametrize("setting", ["0 8 * * mon-5", "0 8 * * 8", "0 8 * * 5-1", "0 8 * *"])
def test_unreadable_crontab_days_are_refused_with_one_line(setting: str) -> None:
    with pytest.raises(InvalidSchedule, match="^the weekly report time is written like mon 08:00$"):
        parse_weekly_cron(setting)
