"""Sending follow-ups: reminders, round invitations and the analysts' weekly report.

The outbox lives in the database (storage/followups.py); this module decides when a
reminder may go (`ReminderPolicy`: delays, quiet hours and weekends in the settings' zone),
what each follow-up says, and sends what is due (`FollowUps.dispatch_due(now=...)`).
Claiming is a short transaction, one row at a time just before it is sent; the row is
checked again, sent, and marked sent. A crash in between leaves that one row 'sending':
its claim is a lease (storage.followups.STALE_CLAIM), after which a dispatch in any
process retries it (at least once: it may go twice, never be lost). On PostgreSQL claims
skip rows another process holds (FOR UPDATE SKIP LOCKED), so several dispatchers share
the outbox and never send the same follow-up. Every method takes `now`, so tests drive
the clock.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from analytics.weeks import IsoWeek
from bot.core.callbacks import FollowUpAction, follow_up_data
from bot.core.messages import Button, Keyboard, Messenger, Outgoing
from bot.core.render import (
    CONTINUE_LABEL,
    START_LABEL,
    no_more_messages_button,
)
from bot.core.schedule_rules import InvalidFollowUpSetting as InvalidFollowUpSetting
from bot.core.schedule_rules import parse_delays as parse_delays
from bot.core.schedule_rules import parse_quiet_hours as parse_quiet_hours
from bot.settings import ReportSettings
from conversations.definition import Interview
from conversations.engine import InterviewEngine
from conversations.loader import (
    DefinitionError,
    builtin_interview_versions,
    load_interview,
)
from storage import (
    Employer,
    Response,
    Session,
    Units,
    expired_employers,
    forget_expired_identifiers,
    utcnow,
)
from storage.analytics_source import SurveyColumns, survey_columns
from storage.audience import may_message, may_receive_report, report_audience
from storage.followup_models import FollowUp, InterviewRound
from storage.followups import (
    claim_due,
    last_reminder_sent_at,
    mark_cancelled,
    mark_deferred,
    mark_failed,
    mark_sent,
    plan_reminders,
    schedule_weekly_reports,
)
from storage.publications import RECORD_ATTEMPTS, PublishedMeanwhile

if TYPE_CHECKING:  # the types only: the database itself is storage's business
    from analytics.report import WeeklyReport
    from storage import Engine

logger = logging.getLogger("skillsbot.followups")
RETRY_DELAY = timedelta(minutes=10)
WEEKLY_FILES_MISSING = (
    "Sorry, Telegram would not take these files just now: {names}. "
    "Send /weekly again in a while to get them."
)


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """When reminders go: delays after the last answer, quiet hours, weekends, how many."""

    delays: tuple[timedelta, ...] = (timedelta(days=2), timedelta(days=5))
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)
    weekends: bool = False
    max_reminders: int = 2
    # The settings' zone (SKILLSBOT_TIMEZONE): no default, so that none is missed.
    zone: ZoneInfo = field(kw_only=True)

    def _quiet(self, clock: time) -> bool:
        if self.quiet_start == self.quiet_end:
            return False
        if self.quiet_start > self.quiet_end:  # over midnight, e.g. 20:00-08:00
            return clock >= self.quiet_start or clock < self.quiet_end
        return self.quiet_start <= clock < self.quiet_end

    def allowed(self, moment: datetime) -> bool:
        """Whether a reminder may go out at `moment` (outside quiet hours and weekends)."""
        return self.allowed_time(moment) == moment

    def allowed_time(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` outside quiet hours (and weekends)."""
        local = moment.astimezone(self.zone)
        for _ in range(10):
            weekend = not self.weekends and local.weekday() >= 5
            if not self._quiet(local.timetz().replace(tzinfo=None)) and not weekend:
                return local.astimezone(moment.tzinfo)
            day = local.date()
            if weekend or local.time() >= self.quiet_end:
                day += timedelta(days=1)
            local = datetime.combine(day, self.quiet_end, tzinfo=self.zone)
        raise AssertionError("no allowed time within ten days")  # pragma: no cover

    def due_time(self, last_activity: datetime, number: int) -> datetime:
        """When reminder `number` (1-based) is due for someone last active then."""
        return self.allowed_time(last_activity + self.delays[min(number, len(self.delays)) - 1])

    def spacing(self, number: int) -> timedelta:
        """How long after reminder `number - 1` reminder `number` may go at the earliest
        (the difference of their delays: 3 days for 2d,5d), so that two reminders
        planned late do not go out together."""
        if number < 2 or len(self.delays) < 2:
            return timedelta()
        index = min(number, len(self.delays)) - 1
        return max(self.delays[index] - self.delays[index - 1], timedelta())

    def retry_time(self, now: datetime) -> datetime:
        """When a reminder that failed `now` is tried again: after RETRY_DELAY, and then
        only at an allowed time (a failure at 19:55 is retried at 08:00, not 20:05)."""
        return self.allowed_time(now + RETRY_DELAY)

    @property
    def limit(self) -> int:
        """How many reminders at most (never more than there are delays)."""
        return min(self.max_reminders, len(self.delays))


def reminder_message(interview: Interview, response: Response, employer_id: int) -> Outgoing:
    """ "You stopped at Part 3 of 7 (Recruitment) ...", with Continue and No more messages.

    The part, not "question 7 of 24": the count of questions moves as answers open or
    close questions, the parts never do."""
    assert response.id is not None
    part = InterviewEngine(interview).part(response.state)
    where = (
        f"Part {part.number} of {part.total} ({escape(part.title)})"
        if part is not None
        else "the check of your answers"
    )
    text = (
        f"You stopped at {where} of the {escape(interview.title)}. "
        "Your answers so far are saved — would you like to carry on?"
    )
    keyboard = Keyboard.of(
        [
            [
                Button(CONTINUE_LABEL, follow_up_data(FollowUpAction.CONTINUE, response.id)),
                no_more_messages_button(employer_id),
            ]
        ]
    )
    return Outgoing(text, keyboard)


def round_invite_message(interview_round: InterviewRound, employer_id: int) -> Outgoing:
    """The invitation to a new round, with Start and No more messages."""
    assert interview_round.id is not None
    text = (
        f"A new round of our skills interview is open: <b>{escape(interview_round.name)}</b>. "
        "It takes a few minutes and helps local colleges plan their courses."
    )
    keyboard = Keyboard.of(
        [
            [
                Button(START_LABEL, follow_up_data(FollowUpAction.START_ROUND, interview_round.id)),
                no_more_messages_button(employer_id),
            ]
        ]
    )
    return Outgoing(text, keyboard)


@dataclass(slots=True)
class DispatchResult:
    """What one dispatch did, by follow-up id."""

    sent: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Plan:
    follow_up_id: int
    chat_id: int | None = None
    message: Outgoing | None = None
    week: str | None = None
    cancel: str | None = None
    defer_to: datetime | None = None  # not now (quiet hours or a weekend): due again then
    reminder: bool = False


def identifying_answers(interview: Interview) -> frozenset[str]:
    """The questions whose answers name an employer, in this interview and in the built-in
    interview's earlier versions (which older responses may be on), as each declares them."""
    found = set(interview.identifying)
    for path in builtin_interview_versions():
        try:
            found.update(load_interview(path).identifying)
        except DefinitionError:  # a newer loader may refuse an old file: nothing to add
            continue
    return frozenset(found)


class FollowUps:
    """Plans and sends follow-ups for one bot: the dispatcher the scheduler drives."""

    def __init__(
        self,
        *,
        database: Engine,
        delivery: Messenger,
        interview: Interview,
        policy: ReminderPolicy,
        analysts: Collection[int] = (),
        batch: int = 50,
        report: ReportSettings,
        units: Units,
    ) -> None:
        self.database = database
        # How every step reaches the database: the bot's one `Units` (its owner closes it).
        self.units = units
        self.delivery = delivery
        self.interview = interview
        self.policy = policy
        self.analysts = frozenset(analysts)
        self.batch = batch
        # The weekly report's thresholds, area and zone, read once with the bot's settings
        # (environment, then .env).
        self.report = report

    # -- planning --------------------------------------------------------------------------

    async def plan(self, *, now: datetime) -> int:
        """Schedule the next reminder of stalled responses that have none planned since
        their last answer (the planner: at start-up and on every dispatch cycle), `batch`
        of them at most, so that the write lock is held briefly; the next cycle goes on.
        A slow unit (on a thread): it reads every stalled response."""

        def due_time(last_activity: datetime, number: int) -> datetime:
            # Planned late (its time already past), a reminder is due at the next allowed
            # moment from now, not at a past one the dispatcher would take for "now".
            return self.policy.allowed_time(max(self.policy.due_time(last_activity, number), now))

        return await self.units.slow.call(
            plan_reminders,
            due_time=due_time,
            max_reminders=self.policy.limit,
            now=now,
            limit=self.batch,
        )

    async def forget_expired(self, *, now: datetime) -> int:
        """Blank the identifiers kept past the retention period (the daily planner job):
        each employer in a unit of their own under their chat's lock, so that one who
        writes meanwhile stays. Slow units (on a thread): a day's worth at once."""
        expired = await self.units.slow.read(expired_employers, now=now)
        identifying = identifying_answers(self.interview) if expired else frozenset[str]()
        forgotten = 0
        for employer_id, chat_id in expired:
            forgotten += await self.units.slow.run(
                chat_id,
                forget_expired_identifiers,
                now=now,
                identifying_answers=identifying,
                employer_ids=[employer_id],
            )
        return forgotten

    async def analyst_chats(self) -> frozenset[int]:
        """Analysts and admins by role, and the SKILLSBOT_ANALYSTS user ids."""
        return await self.units.read(report_audience, analysts=self.analysts)

    async def plan_weekly(self, *, now: datetime) -> int:
        """Schedule last week's report for every analyst (the weekly cron job)."""
        week = IsoWeek.last_complete(now, self.report.zone).label
        chats = await self.analyst_chats()
        return await self.units.call(schedule_weekly_reports, week=week, chat_ids=chats, now=now)

    # -- sending ---------------------------------------------------------------------------

    async def dispatch_due(self, *, now: datetime) -> DispatchResult:
        """Claim what is due (up to `batch`), one at a time: check each again, send it, and
        mark it sent (or not). Claiming each row just before sending it leaves only the
        one in hand 'sending' should the process die, and lets other processes take the
        rest meanwhile."""
        result = DispatchResult()
        reports: dict[str, tuple[str, list[tuple[str, bytes]]]] = {}
        claimed = 0
        while claimed < self.batch:
            # Its own unit, committed before the send (a crash leaves only this row claimed).
            rows = await self.units.call(claim_due, now=now, limit=1)
            if not rows:
                break
            claimed += 1
            row = rows[0]
            assert row.id is not None
            try:
                await self._dispatch_one(row, now, result, reports)
            except Exception as error:  # one bad row never holds back the rest of the batch
                logger.error(
                    "event=follow_up_failed kind=%s error=%s", row.kind, type(error).__name__
                )
                logger.debug("follow_up_failed", exc_info=True)
                await self.units.call(
                    self._finish, row.id, "failed", type(error).__name__, now, now + RETRY_DELAY
                )
                result.failed.append(row.id)
        if claimed:
            logger.info(
                "event=dispatched sent=%s cancelled=%s failed=%s deferred=%s",
                len(result.sent),
                len(result.cancelled),
                len(result.failed),
                len(result.deferred),
            )
        return result

    async def _dispatch_one(
        self,
        row: FollowUp,
        now: datetime,
        result: DispatchResult,
        reports: dict[str, tuple[str, list[tuple[str, bytes]]]],
    ) -> None:
        """Check one claimed follow-up again, send it, and mark it (sent, failed, ...)."""
        assert row.id is not None
        plan = await self.units.read(self._prepare, row, now)
        if plan.cancel is not None:
            await self.units.call(self._finish, plan.follow_up_id, "cancel", plan.cancel, now)
            result.cancelled.append(plan.follow_up_id)
            return
        if plan.defer_to is not None:
            await self.units.call(
                mark_deferred, follow_up_id=plan.follow_up_id, due_at=plan.defer_to
            )
            result.deferred.append(plan.follow_up_id)
            return
        assert plan.chat_id is not None
        if plan.week is not None:
            if plan.week not in reports:
                reports[plan.week] = await self._report(plan.week)
            delivered = await self.send_report(plan.chat_id, *reports[plan.week])
        else:
            assert plan.message is not None
            delivered = await self.delivery.send(plan.chat_id, plan.message) is not None
        outcome = "sent" if delivered else "failed"
        retry_at = self.policy.retry_time(now) if plan.reminder else now + RETRY_DELAY
        await self.units.call(
            self._finish, plan.follow_up_id, outcome, "not_delivered", now, retry_at
        )
        (result.sent if delivered else result.failed).append(plan.follow_up_id)

    def _prepare(self, session: Session, row: FollowUp, now: datetime) -> _Plan:
        """Check, at send time, that the follow-up is still wanted; what to send where (a
        read of its own)."""
        assert row.id is not None
        if row.kind == "weekly_report":
            if row.chat_id is None or not may_receive_report(
                session, chat_id=row.chat_id, analysts=self.analysts
            ):
                return _Plan(row.id, cancel="not_an_analyst")
            return _Plan(row.id, chat_id=row.chat_id, week=row.detail)
        employer = session.get(Employer, row.employer_id) if row.employer_id else None
        if employer is None or employer.chat_id is None or employer.erased_at is not None:
            return _Plan(row.id, cancel="no_chat")
        if row.kind == "reminder":
            return self._prepare_reminder(session, row, employer, now)
        if row.kind == "round_invite":
            # The invitations of one who never answered: SKILLSBOT_MAX_REMINDERS, as
            # `round open` counted them (not capped by the number of reminder delays).
            reason = may_message(
                session,
                employer,
                kind="round_invite",
                max_unanswered=self.policy.max_reminders,
            )
            if reason is not None:
                return _Plan(row.id, cancel=reason)
            interview_round = session.get(InterviewRound, row.round_id)
            if interview_round is None:
                return _Plan(row.id, cancel="no_round")
            if not self.policy.allowed(now):
                # Invitations keep the reminders' quiet hours and weekends: a round
                # opened on a Saturday night invites on Monday morning.
                return _Plan(row.id, defer_to=self.policy.allowed_time(now))
            assert employer.id is not None
            return _Plan(
                row.id,
                chat_id=employer.chat_id,
                message=round_invite_message(interview_round, employer.id),
            )
        return _Plan(row.id, cancel="unknown_kind")

    def _prepare_reminder(
        self, session: Session, row: FollowUp, employer: Employer, now: datetime
    ) -> _Plan:
        """A reminder still wanted goes out now only outside quiet hours and weekends:
        the policy is applied here, at send time, as well as when it was planned, so that
        one due while the bot was down, a retry, or one planned late waits its turn."""
        assert row.id is not None
        assert employer.id is not None
        assert employer.chat_id is not None
        reason = may_message(session, employer, kind="reminder")
        if reason is not None:
            return _Plan(row.id, cancel=reason)
        response = session.get(Response, row.response_id)
        if response is None or response.status != "in_progress" or response.test:
            return _Plan(row.id, cancel="not_in_progress")
        if response.updated_at > row.created_at:
            return _Plan(row.id, cancel="answered_since")  # the planner plans it again
        if row.sequence > self.policy.limit:
            return _Plan(row.id, cancel="max_reminders")
        if response.interview_id != self.interview.id:
            return _Plan(row.id, cancel="other_interview")
        earliest = now
        if row.sequence >= 2:
            previous = last_reminder_sent_at(session, response_id=response.id or 0)
            if previous is not None:
                earliest = max(now, previous + self.policy.spacing(row.sequence))
        if earliest > now or not self.policy.allowed(now):
            return _Plan(row.id, defer_to=self.policy.allowed_time(earliest))
        return _Plan(
            row.id,
            chat_id=employer.chat_id,
            message=reminder_message(self.interview, response, employer.id),
            reminder=True,
        )

    def _finish(
        self,
        session: Session,
        follow_up_id: int,
        outcome: str,
        reason: str,
        now: datetime,
        retry_at: datetime | None = None,
    ) -> None:
        if outcome == "sent":
            mark_sent(session, follow_up_id=follow_up_id, now=now)
        elif outcome == "cancel":
            mark_cancelled(session, follow_up_id=follow_up_id, reason=reason)
        else:
            mark_failed(
                session,
                follow_up_id=follow_up_id,
                error=reason,
                retry_at=retry_at or now + RETRY_DELAY,
            )

    # -- the weekly report -----------------------------------------------------------------

    async def _report(self, week: str | None) -> tuple[str, list[tuple[str, bytes]]]:
        """The weekly report: what it counts read in one read-only unit (on a thread of the
        units: a large survey's rows take a while), then built on a thread of its own:
        seconds of pandas and charts, which the event loop must not wait on."""
        interview_id = self.interview.id  # the bot's interview, loaded once at start
        for _ in range(RECORD_ATTEMPTS):
            columns = await self.units.slow.read(
                lambda session: survey_columns(
                    session.connection(), interview_id=interview_id, completed_only=True
                )
            )
            # Allowed (tests/bot/test_one_way_to_the_database.py): CPU work, not the
            # database's.
            report, files = await asyncio.to_thread(self._build_report, week, columns)
            # What it publishes is recorded before it is sent: the next report's disclosure
            # control takes it into account even if this one is only half delivered. (On a
            # thread: thousands of rows, which the event loop should not wait on.) If
            # another report was recorded while this one was built, build it again.
            try:
                await self.units.slow.call(report.record, utcnow())
            except PublishedMeanwhile:
                continue
            return report.message, files
        raise PublishedMeanwhile(
            f"other reports were published during each of {RECORD_ATTEMPTS} builds"
        )

    def _build_report(
        self, week: str | None, columns: SurveyColumns
    ) -> tuple[WeeklyReport, list[tuple[str, bytes]]]:
        """The report and its XLSX, HTML and PNG files (CPU work: in a thread)."""
        # Imported here, not at the top: the report pulls in pandas, numpy, matplotlib and
        # openpyxl (about 75 MB in every bot process and worker), for this method alone.
        from analytics.report import weekly_report

        chosen = IsoWeek.parse(week, self.report.zone) if week else None
        with tempfile.TemporaryDirectory(prefix="skillsbot-weekly-") as folder:
            report = weekly_report(
                None,  # read already, through the units: no database on this thread
                chosen,
                Path(folder),
                ("xlsx", "html", "png"),
                interview=self.interview,
                threshold=self.report.min_base,
                percent_threshold=self.report.min_percent_base,
                caution_base=self.report.caution_base,
                area=self.report.area,
                zone=self.report.zone,
                columns=columns,
            )
            files = [(path.name, path.read_bytes()) for path in report.files]
        return report, files

    async def weekly_for(self, chat_id: int, week: str | None) -> bool:
        """Build and send the weekly report to one chat (the /weekly command)."""
        message, files = await self._report(week)
        return await self.send_report(chat_id, message, files)

    async def send_report(
        self, chat_id: int, message: str, files: Sequence[tuple[str, bytes]]
    ) -> bool:
        """The headline as a message, the workbook and the page as documents, charts as photos.

        Each part is sent, and retried, on its own (`bot.core.sending`): a failed upload is tried
        again by itself and never makes the parts already sent go again. False only when
        the headline could not be delivered (nothing was sent: the caller may try it all
        again later); a file that still fails is named in a closing apology.
        """
        if await self.delivery.send(chat_id, Outgoing(escape(message))) is None:
            return False
        missing = [
            name
            for name, data in files
            if await self.delivery.send_file(chat_id, name, data, photo=name.endswith(".png"))
            is None
        ]
        if missing:
            logger.warning("event=weekly_files_not_sent count=%s", len(missing))
            await self.delivery.send(
                chat_id, Outgoing(escape(WEEKLY_FILES_MISSING.format(names=", ".join(missing))))
            )
        return True
