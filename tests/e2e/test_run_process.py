"""`skillsbot run` as a real process: SIGKILL mid-interview and between the inbox and
handling, SIGTERM, a second process (SQLite: refused; another bot: 409), several processes
on PostgreSQL and the polling leader's death, bad settings.

The fake Telegram and the simulated employers live in the test process; the bot is a
subprocess with TELEGRAM_API_URL pointing at the fake. Starting one takes seconds (aiogram
is a large import), so each test starts as few as it can and waits on conditions, never on
fixed sleeps.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.cli.run import ANOTHER_PROCESS, CONFLICT
from bot.devtools.fake_telegram import FakeTelegram
from conversations.definition import Interview
from conversations.engine import InterviewEngine
from storage import Answer, Employer, Engine, Response, Session, make_engine
from storage import inbox as inbox_store
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import (
    allow_updates,
    current_library,
    inbox_of,
    refuse_updates,
    wait_handled,
)
from tests.e2e.test_concurrency import Interviewee

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT = 180.0  # a cold `skillsbot run` on a busy 2-core machine
SKILLSBOT = [sys.executable, "-c", "from bot.cli import main; main()", "run"]
QUESTION = re.compile(r"Part (\d+) of \d+")


class BotProcess:
    """One `skillsbot run` subprocess; its stderr goes to a file (never a full pipe)."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Path) -> None:
        self.process = process
        self.stderr = stderr

    @classmethod
    async def start(cls, env: dict[str, str], workdir: Path, name: str) -> BotProcess:
        """Start `skillsbot run` in `workdir` (no stray .env) with exactly these settings."""
        stderr = workdir / f"{name}.stderr"
        with stderr.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *SKILLSBOT,
                env=env,
                cwd=workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=sink,
            )
        return cls(process, stderr)

    async def polling(self, fake: FakeTelegram, *, after: int) -> None:
        """Wait until this process polls (a getUpdates beyond the `after` seen so far)."""
        await fake.wait_until(
            lambda: fake.polls_started > after or self.process.returncode is not None,
            timeout=STARTUP_TIMEOUT,
        )
        assert self.process.returncode is None, self.log()

    async def exit_code(self, timeout: float = STARTUP_TIMEOUT) -> int:  # noqa: ASYNC109
        """Wait for the process to end; its exit code."""
        return await asyncio.wait_for(self.process.wait(), timeout=timeout)

    def log(self) -> str:
        """Everything the process wrote to stderr."""
        return self.stderr.read_text(errors="replace")

    async def stop(self) -> None:
        """Kill the process if it still runs, and reap it (test clean-up)."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


def bot_env(**settings: str) -> dict[str, str]:
    """The environment without any skillsbot or Telegram setting of ours, plus `settings`."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SKILLSBOT_", "TELEGRAM_")) and name != "DATABASE_URL"
    }
    return {**clean, **settings}


def fake_env(fake: FakeTelegram, database_url: str) -> dict[str, str]:
    """Settings for a bot talking to `fake` with this database, on the test's Telegram
    library (`e2e_library`)."""
    return bot_env(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.base_url,
        DATABASE_URL=database_url,
        SKILLSBOT_TELEGRAM_LIBRARY=current_library(),
    )


@pytest.fixture
async def processes() -> AsyncIterator[list[BotProcess]]:
    """Bot processes a test started; any still running are killed and reaped afterwards
    (an unreaped one would warn in whichever test runs when it is collected)."""
    started: list[BotProcess] = []
    yield started
    for process in started:
        await process.stop()


class PatientInterviewee(Interviewee):
    """An Interviewee who waits for the bot across a restart."""

    async def wait_handled(self, update_id: int) -> None:
        """Wait (long enough for a restart) until the bot has finished with an update (in
        the database of the enclosing `inbox_of`)."""
        await wait_handled(self.fake, update_id, timeout=2 * STARTUP_TIMEOUT)

    def positions(self, start: int = 0) -> list[int]:
        """The "Part N of M" numbers of the bot's messages from index `start` on."""
        found = [QUESTION.search(message.text or "") for message in self.messages()[start:]]
        return [int(match.group(1)) for match in found if match]


def newest(engine: Engine, user_id: int) -> Response:
    """The person's newest response, read through storage's session."""
    with Session(engine) as session:
        employer = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        response = session.exec(
            select(Response).where(Response.employer_id == employer.id).order_by(Response.id.desc())  # type: ignore[union-attr]
        ).first()
        assert response is not None
        return response


def stored_answers(engine: Engine, response_id: int | None) -> dict[str, Any]:
    """The answer rows of a response."""
    with Session(engine) as session:
        rows = session.exec(select(Answer).where(Answer.response_id == response_id))
        return {row.question_id: row.value for row in rows}


@pytest.mark.each_library
async def test_sigkill_mid_interview_loses_no_acknowledged_answer_and_resumes(
    fake: FakeTelegram,
    database_url: str,
    interview: Interview,
    tmp_path: Path,
    processes: list[BotProcess],
) -> None:
    # On PostgreSQL the killed process's updates in hand are taken over once another finds
    # its owner lock free (within a second or two).
    env = fake_env(fake, database_url)
    first = await BotProcess.start(env, tmp_path, "first")
    processes.append(first)
    await first.polling(fake, after=0)
    watching = ExitStack()
    watching.enter_context(inbox_of(fake, database_url))
    people = [PatientInterviewee(fake, 7000 + number, interview) for number in range(6)]
    interviews = [asyncio.create_task(person.complete()) for person in people]
    # Kill it mid-flight: a good way in, with updates queued, in the inbox or in hand.
    await fake.wait_until(lambda: sum(len(p.given) for p in people) >= 30, timeout=120)
    first.process.send_signal(signal.SIGKILL)
    assert await first.exit_code() == -signal.SIGKILL
    # What each employer had been told was received: their acknowledged answers and the
    # latest question they were shown.
    acknowledged = {person.user_id: dict(person.given) for person in people}
    shown = {person.user_id: max(person.positions(), default=0) for person in people}
    seen = {person.user_id: len(person.messages()) for person in people}
    assert not any(task.done() for task in interviews)
    engine = make_engine(database_url)
    try:
        questions = InterviewEngine(interview)
        for person in people:
            response = newest(engine, person.user_id)
            answers = stored_answers(engine, response.id)
            for question_id, value in acknowledged[person.user_id].items():
                assert answers.get(question_id) == value, (question_id, person.transcript())
            assert response.state.answers == answers
            position, _ = questions.progress(response.state)
            assert position >= shown[person.user_id], person.transcript()
        second = await BotProcess.start(env, tmp_path, "second")
        processes.append(second)
        await asyncio.wait_for(asyncio.gather(*interviews), timeout=2 * STARTUP_TIMEOUT)
        for person in people:
            # Carried on where they were: no question before the last one shown is asked.
            later = person.positions(seen[person.user_id])
            assert later, person.transcript()
            assert min(later) >= shown[person.user_id], person.transcript()
            response = newest(engine, person.user_id)
            assert response.status == "completed"
            assert stored_answers(engine, response.id) == person.given
        second.process.send_signal(signal.SIGTERM)
        assert await second.exit_code() == 0, second.log()
    finally:
        engine.dispose()
        watching.close()
    assert "Traceback" not in first.log() + second.log()


@pytest.mark.each_library
async def test_sigterm_finishes_the_update_in_hand_and_exits_0(
    fake: FakeTelegram, interview: Interview, tmp_path: Path, processes: list[BotProcess]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'term.db'}"
    bot = await BotProcess.start(fake_env(fake, database_url), tmp_path, "bot")
    processes.append(bot)
    await bot.polling(fake, after=0)
    fay = Person(fake, 7101)
    with inbox_of(fake, database_url) as engine:
        await fay.send("/start")
        await fay.tap("Yes, I agree")
        # Telegram fails the reply a few times: the update stays in hand while it is retried.
        fake.fail_next("sendMessage", error_code=502, times=3)
        answer = await fake.send_text(fay.user_id, "Terminus Ltd")
        await fake.wait_until(lambda: any(r.status == 502 for r in fake.requests), timeout=30)
        bot.process.send_signal(signal.SIGTERM)
        exited = asyncio.ensure_future(bot.process.wait())
        done, _ = await asyncio.wait([exited], timeout=0.5)
        assert not done, "exited with an update in hand"
        assert await bot.exit_code(60) == 0, bot.log()
        assert inbox_store.handled(engine, answer)  # finished before exiting
        assert fake.acknowledged_offset > answer
        assert fake.pending_updates == 0
        response = newest(engine, fay.user_id)
        assert stored_answers(engine, response.id)["org_name"] == "Terminus Ltd"
        assert "What is your role?" in (fay.last().text or "")
    assert "Traceback" not in bot.log()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL: below
# On python-telegram-bot alone: the inbox row that outlives the process is the core's;
# each library's process killed mid-interview is the first test of this file.
@pytest.mark.one_library("ptb")
async def test_sigkill_after_the_inbox_write_loses_nothing_and_handles_the_answer_once(
    fake: FakeTelegram,
    database_url: str,
    interview: Interview,
    tmp_path: Path,
    processes: list[BotProcess],
) -> None:
    env = fake_env(fake, database_url)
    first = await BotProcess.start(env, tmp_path, "first")
    processes.append(first)
    await first.polling(fake, after=0)
    gus = Person(fake, 7150)
    with inbox_of(fake, database_url) as engine:
        await gus.send("/start")
        await gus.tap("Yes, I agree")
        seen = len(gus.messages())
        # The workers cannot take anything from the inbox (a fault standing in for a process
        # that dies at just that moment); writing to it still works.
        refuse_updates(engine, "inbox_update")
        answer = await fake.send_text(gus.user_id, "Written Then Killed Ltd")
        await fake.wait_until(lambda: fake.acknowledged_offset > answer, timeout=30)
        assert not inbox_store.handled(engine, answer)  # Telegram's no more; ours, not done
        first.process.send_signal(signal.SIGKILL)
        assert await first.exit_code() == -signal.SIGKILL
        allow_updates(engine, "inbox_update")
        assert fake.pending_updates == 0  # Telegram will not send it again: only we have it
        second = await BotProcess.start(env, tmp_path, "second")
        processes.append(second)
        await wait_handled(fake, answer, timeout=STARTUP_TIMEOUT)
        response = newest(engine, gus.user_id)
        assert stored_answers(engine, response.id)["org_name"] == "Written Then Killed Ltd"
        assert response.state.answers["org_name"] == "Written Then Killed Ltd"
        new = [message.text or "" for message in gus.messages()[seen:]]
        assert sum("What is your role?" in text for text in new) == 1, gus.transcript()
        second.process.send_signal(signal.SIGTERM)
        assert await second.exit_code(60) == 0, second.log()
    assert "Traceback" not in first.log() + second.log()


@pytest.mark.each_library
async def test_a_second_process_on_sqlite_exits_2_and_another_bot_on_the_token_exits_1(
    fake: FakeTelegram, tmp_path: Path, processes: list[BotProcess]
) -> None:
    env = fake_env(fake, f"sqlite:///{tmp_path / 'two.db'}")
    first = await BotProcess.start(env, tmp_path, "first")
    processes.append(first)
    await first.polling(fake, after=0)
    # The same SQLite database: refused at once, in one line.
    second = await BotProcess.start(env, tmp_path, "second")
    processes.append(second)
    assert await second.exit_code() == 2
    assert second.log().strip().splitlines() == [f"skillsbot: {ANOTHER_PROCESS}"]
    # Another database but the same token (another machine, say): Telegram's 409.
    elsewhere = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    third = await BotProcess.start(elsewhere, tmp_path, "third")
    processes.append(third)
    # One of them stops; it must be the third (at once, not after its start-up timeout).
    exits = [asyncio.ensure_future(bot.process.wait()) for bot in (first, third)]
    await asyncio.wait(exits, timeout=STARTUP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    exits[0].cancel()
    assert first.process.returncode is None, first.log()
    assert await third.exit_code() == 1
    said = [line for line in third.log().splitlines() if not line.startswith("time=")]
    assert said == [CONFLICT]  # one line for people; the rest are log records
    assert first.process.returncode is None
    gil = Person(fake, 7201)
    with inbox_of(fake, env["DATABASE_URL"]):
        await gil.send("/start")
    assert gil.labels() == ["Yes, I agree", "No"]
    first.process.send_signal(signal.SIGTERM)
    assert await first.exit_code(60) == 0, first.log()
    assert "Traceback" not in first.log() + second.log() + third.log()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.each_library
async def test_on_postgresql_another_process_polls_when_the_leader_is_killed_and_nothing_is_lost(
    fake: FakeTelegram,
    database_url: str,
    interview: Interview,
    tmp_path: Path,
    processes: list[BotProcess],
) -> None:
    env = fake_env(fake, database_url)
    leader = await BotProcess.start(env, tmp_path, "leader")
    processes.append(leader)
    await leader.polling(fake, after=0)
    other = await BotProcess.start(env, tmp_path, "other")
    processes.append(other)
    with inbox_of(fake, database_url) as engine:
        # The other process is up (it handles from the inbox), but does not poll.
        await eventually(lambda: _ready(other), timeout=STARTUP_TIMEOUT)
        assert "event=polling_leader" in leader.log()
        assert "event=polling_leader" not in other.log()
        people = [PatientInterviewee(fake, 7400 + number, interview) for number in range(6)]
        interviews = [asyncio.create_task(person.complete()) for person in people]
        await fake.wait_until(lambda: sum(len(p.given) for p in people) >= 24, timeout=120)
        leader.process.send_signal(signal.SIGKILL)
        assert await leader.exit_code() == -signal.SIGKILL
        polls = fake.polls_started
        await eventually(lambda: "event=polling_leader" in other.log(), timeout=10)
        await fake.wait_until(lambda: fake.polls_started > polls, timeout=10)
        await asyncio.wait_for(asyncio.gather(*interviews), timeout=2 * STARTUP_TIMEOUT)
        for person in people:
            response = newest(engine, person.user_id)
            assert response.status == "completed", person.transcript()
            assert stored_answers(engine, response.id) == person.given
        assert inbox_store.pending_count(engine) == 0
        other.process.send_signal(signal.SIGTERM)
        assert await other.exit_code(60) == 0, other.log()
    assert "Traceback" not in leader.log() + other.log()


def _ready(bot: BotProcess) -> bool:
    """Whether a bot process has started serving (its start-up log line)."""
    return "event=polling interview=" in bot.log()


async def eventually(predicate: Any, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until `predicate()` holds (for what the fake does not see: a process's log)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (nothing to wait on: another process)
            await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("SKILLSBOT_ADMINS", "12345,not-a-user-id", "SKILLSBOT_ADMINS"),
        ("DATABASE_URL", "not a database url", "DATABASE_URL"),
        ("DATABASE_URL", "mysql://user@localhost/skills", "DATABASE_URL"),
        ("SKILLSBOT_INBOX_RETENTION_DAYS", "1", "SKILLSBOT_INBOX_RETENTION_DAYS"),
    ],
)
async def test_a_malformed_setting_is_named_in_one_line_and_exits_2(
    setting: str, value: str, named: str, tmp_path: Path, processes: list[BotProcess]
) -> None:
    env = bot_env(
        TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN",
        TELEGRAM_API_URL="http://127.0.0.1:9",
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.db'}",
    )
    env[setting] = value
    bot = await BotProcess.start(env, tmp_path, "bot")
    processes.append(bot)
    assert await bot.exit_code() == 2
    lines = bot.log().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("skillsbot: ")
    assert named in lines[0]
    assert "Traceback" not in bot.log()
    assert not (tmp_path / "unused.db").exists()
