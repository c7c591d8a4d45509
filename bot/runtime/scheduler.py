"""The clock of follow-ups: APScheduler jobs that drive `FollowUps` with `now` from one clock.

- dispatch: every `dispatch_seconds` (30 s by default), plan the reminders of employers who
  stopped answering (a cheap query: most cycles find none), then send what is due;
- planner: daily, the same planning, forgetting identifiers past retention, and deleting
  the inbox's done rows past theirs (`inbox_retention`, 7 days);
- weekly: on `weekly_cron` (Monday 08:00 by default, in the settings' zone), last week's report to
  every analyst;
- at start-up, once: plan, catch up a weekly report that was due while the bot was down,
  and send what is due.
The jobs only put rows in the outbox and send due rows; a restart loses nothing. `now`
comes from `clock` (UTC), one clock for every job, so tests drive them all.

Once per cluster: on PostgreSQL, every `skillsbot run` process has a scheduler, but only
the one holding the clock's advisory lock (storage/cluster.py) runs its jobs; the others
keep theirs paused and try the lock every `leader_check_seconds`. The new holder runs the
start-up job first (plan, catch up a missed weekly report, send what is due), as a
restarted bot does. On SQLite (one process) the jobs start at once, as before.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.schedule_rules import InvalidSchedule as InvalidSchedule
from bot.core.schedule_rules import parse_weekly_cron as parse_weekly_cron
from storage import inbox as inbox_store
from storage import utcnow
from storage.cluster import ClusterLock, ClusterRole

if TYPE_CHECKING:  # the type only: the follow-ups bring aiogram
    from bot.core.followups import FollowUps

logger = logging.getLogger("skillsbot.scheduler")
DEFAULT_WEEKLY_CRON = "0 8 * * mon"
DEFAULT_PLANNER_CRON = "0 7 * * *"
# How late a cron job may still run (a busy moment, a slow start): APScheduler's default
# of 1 s skipped a whole week's report when the loop was busy at 08:00.
CRON_MISFIRE_GRACE = timedelta(hours=12)


def previous_fire_time(crontab: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The last time at or before `now` that the crontab fired (within the last 8 days)."""
    trigger = CronTrigger.from_crontab(crontab, timezone=zone)
    moment = trigger.get_next_fire_time(None, now - timedelta(days=8))
    previous = None
    while moment is not None and moment <= now:
        previous = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return previous


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """How often the jobs run (cron expressions are in `zone`)."""

    dispatch_seconds: float = 30.0
    planner_cron: str = DEFAULT_PLANNER_CRON
    weekly_cron: str = DEFAULT_WEEKLY_CRON
    # The settings' zone (SKILLSBOT_TIMEZONE): no default, so that none is missed.
    zone: ZoneInfo = field(kw_only=True)
    # How often a process that does not hold the clock tries to take it (PostgreSQL), and
    # the holder checks it still does: a dead holder is replaced within about this long.
    leader_check_seconds: float = 2.0
    # How long the inbox keeps done rows (their update ids) before the planner deletes them.
    inbox_retention: timedelta = inbox_store.DEFAULT_RETENTION


def _stops_quietly(
    job: Callable[[], Awaitable[None]], runs: Counter[str] | None = None
) -> Callable[[], Awaitable[None]]:
    """The job, ending without a traceback when the bot stops while it runs (Ctrl+C during
    a start-up report): what it had not sent stays in the outbox for the next start.
    Each run is counted in `runs` under the job's name."""

    @functools.wraps(job)
    async def run() -> None:
        if runs is not None:
            runs[job.__name__] += 1
        try:
            await job()
        except asyncio.CancelledError:
            logger.info("event=job_stopped job=%s", job.__name__)

    return run


class FollowUpScheduler:
    """An AsyncIOScheduler running the dispatch, planner and weekly jobs, once per cluster.

    `runs` counts the jobs this process ran, by name (dispatch, plan, weekly, startup).
    """

    def __init__(
        self,
        follow_ups: FollowUps,
        settings: ScheduleSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.follow_ups = follow_ups
        # Without settings: the defaults, in the zone the reminders keep.
        self.settings = settings or ScheduleSettings(zone=follow_ups.policy.zone)
        self.clock = clock
        self.runs: Counter[str] = Counter()
        self.lock = ClusterLock(follow_ups.database, ClusterRole.CLOCK)
        self.leading = False
        self._election: asyncio.Task[None] | None = None
        # APScheduler logs every run of every job at INFO (the dispatch job: twice a 30 s);
        # our jobs log what they did themselves.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self.scheduler = AsyncIOScheduler(timezone=self.settings.zone)
        grace = int(CRON_MISFIRE_GRACE.total_seconds())
        self.scheduler.add_job(
            _stops_quietly(self.dispatch, self.runs),
            IntervalTrigger(seconds=self.settings.dispatch_seconds),
            id="dispatch",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(int(self.settings.dispatch_seconds), 1),
        )
        self.scheduler.add_job(
            _stops_quietly(self.plan, self.runs),
            CronTrigger.from_crontab(self.settings.planner_cron, timezone=self.settings.zone),
            id="planner",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
        )
        self.scheduler.add_job(
            _stops_quietly(self.weekly, self.runs),
            CronTrigger.from_crontab(self.settings.weekly_cron, timezone=self.settings.zone),
            id="weekly",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
        )

    async def dispatch(self) -> None:
        """Plan the reminders of employers who stopped answering, then send what is due."""
        await self._plan_reminders()
        try:
            await self.follow_ups.dispatch_due(now=self.clock())
        except (
            Exception
        ) as error:  # the job runs again in a moment; never let it kill the scheduler
            # Only the type, here and below: an error's message may quote personal data.
            logger.error("event=dispatch_failed error=%s", type(error).__name__)
            logger.debug("dispatch_failed", exc_info=True)

    async def _plan_reminders(self) -> None:
        try:
            added = await self.follow_ups.plan(now=self.clock())
            if added:
                logger.info("event=reminders_planned added=%s", added)
        except Exception as error:
            logger.error("event=planner_failed error=%s", type(error).__name__)
            logger.debug("planner_failed", exc_info=True)

    async def plan(self) -> None:
        """Schedule reminders for stalled responses, forget the identifiers kept past the
        retention period that the privacy notice promises, and prune the inbox."""
        await self._plan_reminders()
        await self.prune_inbox()
        try:
            forgotten = await self.follow_ups.forget_expired(now=self.clock())
            logger.info("event=identifiers_expired employers=%s", forgotten)
        except Exception as error:
            logger.error("event=retention_failed error=%s", type(error).__name__)
            logger.debug("retention_failed", exc_info=True)

    async def prune_inbox(self) -> None:
        """Delete the inbox's done rows older than `inbox_retention` (once per cluster, as
        every job here)."""
        before = self.clock() - self.settings.inbox_retention
        try:
            # A slow unit (on a thread): a week's done rows deleted at once.
            pruned = await self.follow_ups.units.slow.call(inbox_store.prune_done, before=before)
            logger.info("event=inbox_pruned updates=%s", pruned)
        except Exception as error:
            logger.error("event=inbox_prune_failed error=%s", type(error).__name__)
            logger.debug("inbox_prune_failed", exc_info=True)

    async def weekly(self) -> None:
        """Schedule last week's report for every analyst, and send it at once."""
        try:
            await self.follow_ups.plan_weekly(now=self.clock())
            await self.follow_ups.dispatch_due(now=self.clock())
        except Exception as error:
            logger.error("event=weekly_failed error=%s", type(error).__name__)
            logger.debug("weekly_failed", exc_info=True)

    async def catch_up_weekly(self) -> bool:
        """At start-up: if the weekly job should have run while the bot was down, plan the
        report it would have sent (its key per week and analyst keeps it from going
        twice). True if a run was due; the report goes out with the next dispatch."""
        now = self.clock()
        fired = previous_fire_time(self.settings.weekly_cron, self.settings.zone, now)
        if fired is None:
            return False
        try:
            added = await self.follow_ups.plan_weekly(now=fired)
        except Exception as error:
            logger.error("event=weekly_failed error=%s", type(error).__name__)
            logger.debug("weekly_failed", exc_info=True)
            return False
        if added:
            logger.info("event=weekly_caught_up reports=%s", added)
        return True

    async def startup(self) -> None:
        """Once at start-up: plan reminders (the bot may have been down at the planner's
        hour), catch up a missed weekly report, and send what is due."""
        await self.catch_up_weekly()
        await self.dispatch()

    def start(self) -> None:
        """Start the jobs on the running event loop, and the start-up run at once; on
        PostgreSQL, only once this process holds the cluster's clock (see the module)."""
        if not self.lock.shared:
            self._add_startup()
            self.scheduler.start()
            self.leading = True
            return
        self.scheduler.start(paused=True)
        self._election = asyncio.get_running_loop().create_task(self._elect())

    def _add_startup(self) -> None:
        self.scheduler.add_job(
            _stops_quietly(self.startup, self.runs),
            id="startup",
            replace_existing=True,
            misfire_grace_time=int(CRON_MISFIRE_GRACE.total_seconds()),
        )

    async def _elect(self) -> None:
        """Take the clock when it is free and run the jobs; pause them if it is lost."""
        while True:
            # A session-level lock on a connection of its own (storage.locks), held across
            # transactions: not a unit of work. On a thread (PostgreSQL's round trip).
            held = await asyncio.to_thread(self.lock.hold)
            if held and not self.leading:
                self.leading = True
                logger.info("event=scheduler_leading")
                self._add_startup()
                self.scheduler.resume()
            elif not held and self.leading:
                # Lost (our connection to the database broke): another process may hold
                # it now. A job in progress finishes; its claims keep it from doubling up.
                self.leading = False
                logger.warning("event=scheduler_stepped_down")
                self.scheduler.pause()
            await asyncio.sleep(self.settings.leader_check_seconds)

    def shutdown(self) -> None:
        """Stop the jobs (a job in progress finishes on its own) and let the clock go."""
        if self._election is not None:
            self._election.cancel()
            self._election = None
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.leading = False
        self.lock.release()
