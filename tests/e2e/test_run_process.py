"""`skillsbot run` as a real process: SIGKILL mid-interview, SIGTERM, a second poller, bad settings.

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

from bot.commands.run import CONFLICT
from bot.fake_telegram import FakeTelegram
from conversations.definition import Interview
from conversations.engine import InterviewEngine
from storage import Answer, Employer, Engine, Response, Session, chat_transaction, make_engine
from tests.e2e.conftest import Employer as Person
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
    """Settings for a bot talking to `fake` with this database."""
    return bot_env(
        TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url, DATABASE_URL=database_url
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
        """Wait (long enough for a restart) until the bot has finished with an update."""
        await self.fake.wait_until(
            lambda: self.fake.acknowledged_offset > update_id, timeout=2 * STARTUP_TIMEOUT
        )

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


async def test_sigkill_mid_interview_loses_no_acknowledged_answer_and_resumes(
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
    people = [PatientInterviewee(fake, 7000 + number, interview) for number in range(6)]
    interviews = [asyncio.create_task(person.complete()) for person in people]
    # Kill it mid-flight: a good way in, with updates fetched or queued but not confirmed.
    await fake.wait_until(
        lambda: sum(len(p.given) for p in people) >= 30 and fake.pending_updates > 0,
        timeout=120,
    )
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
            assert response.state["answers"] == answers
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
    assert "Traceback" not in first.log() + second.log()


async def test_sigterm_finishes_the_update_in_hand_confirms_it_and_exits_0(
    fake: FakeTelegram, interview: Interview, tmp_path: Path, processes: list[BotProcess]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'term.db'}"
    bot = await BotProcess.start(fake_env(fake, database_url), tmp_path, "bot")
    processes.append(bot)
    await bot.polling(fake, after=0)
    fay = Person(fake, 7101)
    await fay.send("/start")
    await fay.tap("Yes, I agree")
    engine = make_engine(database_url)
    try:
        with ExitStack() as held:
            # Hold the chat's lock (on SQLite: the write lock), so the bot's transaction
            # for the next update waits in hand.
            held.enter_context(chat_transaction(engine, fay.user_id))
            polls = fake.polls_started
            answer = await fake.send_text(fay.user_id, "Terminus Ltd")
            # The poll that returned the update, then at least one more: it is in hand.
            await fake.wait_until(lambda: fake.polls_started >= polls + 2, timeout=30)
            bot.process.send_signal(signal.SIGTERM)
            exited = asyncio.ensure_future(bot.process.wait())
            done, _ = await asyncio.wait([exited], timeout=1.0)
            assert not done, "exited with an update in hand"
            assert fake.acknowledged_offset <= answer
        assert await bot.exit_code(60) == 0, bot.log()
        assert fake.acknowledged_offset > answer  # confirmed before exiting
        assert fake.pending_updates == 0
        response = newest(engine, fay.user_id)
        assert response.state["answers"]["org_name"] == "Terminus Ltd"
        assert stored_answers(engine, response.id)["org_name"] == "Terminus Ltd"
        assert "What is your role?" in (fay.last().text or "")
    finally:
        engine.dispose()
    assert "Traceback" not in bot.log()


async def test_a_second_process_on_the_same_token_exits_1_and_the_first_keeps_serving(
    fake: FakeTelegram, tmp_path: Path, processes: list[BotProcess]
) -> None:
    env = fake_env(fake, f"sqlite:///{tmp_path / 'two.db'}")
    first = await BotProcess.start(env, tmp_path, "first")
    processes.append(first)
    await first.polling(fake, after=0)
    second = await BotProcess.start(env, tmp_path, "second")
    processes.append(second)
    # One of them stops; it must be the second (at once, not after its start-up timeout).
    exits = [asyncio.ensure_future(bot.process.wait()) for bot in (first, second)]
    await asyncio.wait(exits, timeout=STARTUP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    exits[0].cancel()
    assert first.process.returncode is None, first.log()
    assert await second.exit_code() == 1
    said = [line for line in second.log().splitlines() if not line.startswith("time=")]
    assert said == [CONFLICT]  # one line for people; the rest are log records
    assert first.process.returncode is None
    gil = Person(fake, 7201)
    await gil.send("/start")
    assert gil.labels() == ["Yes, I agree", "No"]
    first.process.send_signal(signal.SIGTERM)
    assert await first.exit_code(60) == 0, first.log()
    assert "Traceback" not in first.log() + second.log()


def worker_pids(parent: int) -> list[int]:
    """The worker processes of a `skillsbot run` (its children running bot.commands.worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"bot.commands.worker" in command:
            found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_with_two_workers_a_killed_worker_is_replaced_and_no_answer_is_lost(
    fake: FakeTelegram,
    database_url: str,
    interview: Interview,
    tmp_path: Path,
    processes: list[BotProcess],
) -> None:
    env = {**fake_env(fake, database_url), "SKILLSBOT_WORKERS": "2"}
    bot = await BotProcess.start(env, tmp_path, "pool")
    processes.append(bot)
    await bot.polling(fake, after=0)
    workers = worker_pids(bot.process.pid)
    assert len(workers) == 2, bot.log()
    people = [PatientInterviewee(fake, 7300 + number, interview) for number in range(6)]
    interviews = [asyncio.create_task(person.complete()) for person in people]
    await fake.wait_until(lambda: sum(len(p.given) for p in people) >= 24, timeout=120)
    os.kill(workers[0], signal.SIGKILL)
    await asyncio.wait_for(asyncio.gather(*interviews), timeout=2 * STARTUP_TIMEOUT)
    engine = make_engine(database_url)
    try:
        for person in people:
            response = newest(engine, person.user_id)
            assert response.status == "completed", person.transcript()
            assert stored_answers(engine, response.id) == person.given
    finally:
        engine.dispose()
    replaced = worker_pids(bot.process.pid)
    assert len(replaced) == 2, bot.log()
    assert workers[0] not in replaced
    assert "event=worker_restarted" in bot.log()
    bot.process.send_signal(signal.SIGTERM)
    assert await bot.exit_code(60) == 0, bot.log()
    assert not any(alive(pid) for pid in replaced)  # the workers left with the poller
    assert fake.pending_updates == 0
    assert "Traceback" not in bot.log()


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("SKILLSBOT_ADMINS", "12345,not-a-user-id", "SKILLSBOT_ADMINS"),
        ("DATABASE_URL", "not a database url", "DATABASE_URL"),
        ("DATABASE_URL", "mysql://user@localhost/skills", "DATABASE_URL"),
        ("SKILLSBOT_WORKERS", "many", "SKILLSBOT_WORKERS"),
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
