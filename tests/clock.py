"""A clock the tests set and move: the one `now` of the scheduler's jobs and the dispatcher.

`FollowUpScheduler(..., clock=clock)` and `EmployerBot(..., clock=clock)` read it; tests
set it to a Saturday night, move it on, and see what the jobs do at that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """A settable UTC clock: `clock()` is the time now; `set` and `advance` move it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        """From now on it is `moment`."""
        self.now = moment.astimezone(UTC)

    def advance(self, step: timedelta) -> None:
        """Move the clock on by `step`."""
        self.now += step


class RunningClock(Clock):
    """The real time plus an offset that `advance` adds to (for tests whose employers
    answer in real time, stamped by the database, while the jobs' time jumps ahead)."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, step: timedelta) -> None:
        """Move the clock on by `step` (it keeps running)."""
        self.offset += step


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait until `predicate()` holds, for 30 s at most (for a predicate that reads the
    database, whose changes the fake Telegram's `wait_until` does not see). A ceiling: a
    loaded full run once took over 10 s to plan a reminder the clock had made due."""
    async with asyncio.timeout(30):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.05)
