"""The clock of follow-ups: APScheduler jobs that drive `FollowUps` with `utcnow()`.

- dispatch: every `dispatch_seconds` (30 s by default), send what is due;
- planner: daily, schedule reminders for stalled responses;
- weekly: on `weekly_cron` (Monday 08:00 Europe/London by default), last week's report to
  every analyst.
The jobs only put rows in the outbox and send due rows; a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.followups import FollowUps
from storage import utcnow

logger = logging.getLogger("skillsbot.scheduler")
DEFAULT_WEEKLY_CRON = "0 8 * * mon"
DEFAULT_PLANNER_CRON = "0 7 * * *"
_DAY_AND_TIME = re.compile(
    r"^\s*(mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\s+(\d{1,2}):(\d{2})\s*$",
    re.IGNORECASE,
)


class InvalidSchedule(ValueError):
    """A schedule setting that cannot be read (the message says what was expected)."""


def parse_weekly_cron(text: str) -> str:
    """`mon 08:00` (a weekday and a local time) or a crontab line, as a crontab line."""
    match = _DAY_AND_TIME.match(text)
    if match is not None:
        day, hour, minute = match.group(1).lower(), int(match.group(2)), int(match.group(3))
        if hour > 23 or minute > 59:
            raise InvalidSchedule("the weekly report time is written like mon 08:00")
        return f"{minute} {hour} * * {day}"
    crontab = " ".join(text.split())
    try:
        CronTrigger.from_crontab(crontab)
    except ValueError as error:
        raise InvalidSchedule("the weekly report time is written like mon 08:00") from error
    return crontab


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """How often the jobs run (cron expressions are in `zone`)."""

    dispatch_seconds: float = 30.0
    planner_cron: str = DEFAULT_PLANNER_CRON
    weekly_cron: str = DEFAULT_WEEKLY_CRON
    zone: ZoneInfo = ZoneInfo("Europe/London")


class FollowUpScheduler:
    """An AsyncIOScheduler running the dispatch, planner and weekly jobs for one bot."""

    def __init__(self, follow_ups: FollowUps, settings: ScheduleSettings | None = None) -> None:
        self.follow_ups = follow_ups
        self.settings = settings or ScheduleSettings()
        # APScheduler logs every run of every job at INFO (the dispatch job: twice a 30 s);
        # our jobs log what they did themselves.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self.scheduler = AsyncIOScheduler(timezone=self.settings.zone)
        self.scheduler.add_job(
            self.dispatch,
            IntervalTrigger(seconds=self.settings.dispatch_seconds),
            id="dispatch",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.plan,
            CronTrigger.from_crontab(self.settings.planner_cron, timezone=self.settings.zone),
            id="planner",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.weekly,
            CronTrigger.from_crontab(self.settings.weekly_cron, timezone=self.settings.zone),
            id="weekly",
            max_instances=1,
            coalesce=True,
        )

    async def dispatch(self) -> None:
        """Send what is due now."""
        try:
            await self.follow_ups.dispatch_due(now=utcnow())
        except (
            Exception
        ) as error:  # the job runs again in a moment; never let it kill the scheduler
            # Only the type, here and below: an error's message may quote personal data.
            logger.error("event=dispatch_failed error=%s", type(error).__name__)
            logger.debug("dispatch_failed", exc_info=True)

    async def plan(self) -> None:
        """Schedule reminders for stalled responses, and forget the identifiers kept past
        the retention period that the privacy notice promises."""
        try:
            added = await asyncio.to_thread(self.follow_ups.plan, now=utcnow())
            logger.info("event=reminders_planned added=%s", added)
        except Exception as error:
            logger.error("event=planner_failed error=%s", type(error).__name__)
            logger.debug("planner_failed", exc_info=True)
        try:
            forgotten = await asyncio.to_thread(self.follow_ups.forget_expired, now=utcnow())
            logger.info("event=identifiers_expired employers=%s", forgotten)
        except Exception as error:
            logger.error("event=retention_failed error=%s", type(error).__name__)
            logger.debug("retention_failed", exc_info=True)

    async def weekly(self) -> None:
        """Schedule last week's report for every analyst, and send it at once."""
        try:
            await asyncio.to_thread(self.follow_ups.plan_weekly, now=utcnow())
            await self.follow_ups.dispatch_due(now=utcnow())
        except Exception as error:
            logger.error("event=weekly_failed error=%s", type(error).__name__)
            logger.debug("weekly_failed", exc_info=True)

    def start(self) -> None:
        """Start the jobs on the running event loop."""
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop the jobs (a job in progress finishes on its own)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
