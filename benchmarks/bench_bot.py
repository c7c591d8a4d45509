"""The employer bot under load: N employers answering the built-in interview at once.

Run: `.venv/bin/python benchmarks/bench_bot.py [--employers 200] [--db sqlite|postgres|both]
[--rate 300] [--mode paced|capacity|both|burst] [--peer] [--seconds 30] [--arrivals 20]
[--warm-up 25] [--in-process] [--library aiogram|ptb|both] [--webhook [--processes 1|2|4]]`.
Target: >= 300 answers/s with p99 <= 250 ms at 200 concurrent employers.

N employers answer all along: one who submits is replaced by a new employer, and answers
are counted over a window (`--seconds`, after `--warm-up` seconds). Counting to the last
employer's submission instead measured the ragged end of the run, when fewer and fewer
people were still answering, and no bot could have reached the offered rate that way.

The first N employers arrive at random over `--arrivals` seconds (about one interview at
the target's pace), not all at once, and the window opens once they are all in. When all
200 sent /start in the same instant they then moved through the interview in step, so the
window measured whichever questions they had reached by then (the long multi-select
lists, the review...) rather than a mix; and on a slower machine the opening burst's
queue took 7-8 s to clear, its tail counted as the steady state's p99.

Two measurements per database. *Paced*: the 200 employers think between answers (random,
exponential gaps) so that together they offer `--rate` answers per second, as people do;
the run meets the target when the bot keeps up (achieves at least 95% of the offered 300/s)
with p99 latency within 250 ms. *Capacity*: nobody thinks, each employer answers the moment
the reply shows; the rate is then the most the bot can take, and latency is just the
queue (200 people waiting on each other: by Little's law p50 is about 200 / rate).

*Burst* (`--mode burst`, issue 15): N employers (300 and 1,000 unless `--employers` says)
arrive in the same instant with no think time and answer one interview each, as in the
minutes after an invitation broadcast; answers/s over the whole burst and p50/p99 of every
answer. With `--peer`, the same burst against benchmarks/peer_inmemory.py, a plain
in-memory aiogram bot asking the same interview with the same messages, in the same run.

*Webhook* (`--webhook`, issue 15's scaling figures): the bot is `--processes` (default 1)
`skillsbot run` processes in webhook mode on PostgreSQL, all listening on one port of
127.0.0.1 (`SO_REUSEPORT`: the kernel spreads the fake's connections among them), and the
fake Bot API pushes every update to that port as Telegram does (one request in flight per
chat, up to `--max-connections`). Any process handles any chat's updates from the shared
inbox. The CPU figure is that of all the processes together, also given per answer (CPU
seconds the bot spent on each answer, which a busy shared machine does not inflate as much
as it does answers/s); the machine's load average is printed alongside.

The fake Telegram Bot API and the simulated employers run in this process; the bot is the
real `skillsbot run` in a subprocess (its own core), or with `--in-process` an `EmployerBot`
sharing this event loop (handy under a profiler). Each employer sends /start, then answers
question after question (choices picked by user id, so both branches are walked) and
submits. Latency is measured from the user's action reaching the fake to the bot's reply
appearing in the chat (the next question sent, or the buttons edited in place for a
multi-select tick). PostgreSQL runs on a fresh database created on the server at
BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.
`--library` picks the Telegram library the bot parses updates and sends replies with
(`SKILLSBOT_TELEGRAM_LIBRARY`); `both` runs each in turn on the same database kind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import resource
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from bot.core.render import MORE, PREVIOUS
from bot.devtools.fake_telegram import FakeTelegram, Message
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import make_engine, normalise_url, upgrade

TARGET_RATE = 300.0
ARRIVALS = 20.0  # seconds over which the first employers arrive
WARMUP = 25.0  # seconds before answers are counted
TARGET_P99_MS = 250.0
REPLY_TIMEOUT = 60.0
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SKILLSBOT = [sys.executable, "-c", "from bot.cli import main; main()", "run"]
WEBHOOK_SECRET = "bench-webhook-secret-0123456789-abcdefghijklmn"
WEBHOOK_PATH = "/telegram/webhook"
PEER = Path(__file__).resolve().parent / "peer_inmemory.py"


# Bot API calls that are not part of answering someone.
NOT_ANSWERING = frozenset({"getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo"})


class Finished(Exception):
    """The measured window is over: an employer stops where they are."""


@dataclass
class Tally:
    """When each answer was sent and how long its reply took (seconds), and the window
    measured: only answers sent inside it count."""

    sent: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency)
    completed: int = 0
    window: tuple[float, float] = (0.0, float("inf"))

    @property
    def seconds(self) -> float:
        """The window's length."""
        return self.window[1] - self.window[0]

    @property
    def latencies(self) -> list[float]:
        """The latencies of the answers sent inside the window."""
        start, end = self.window
        return [latency for at, latency in self.sent if start <= at < end]

    def percentile(self, share: float) -> float:
        """The latency below which `share` of the answers fall, in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
        return ordered[index] * 1000


class SimulatedEmployer:
    """One employer in a private chat: acts, waits for the bot's reply, thinks, acts again.

    `pace` is the mean time between one employer's actions (exponentially distributed, so
    that the employers together send a Poisson stream); None acts again as soon as the
    reply shows (no thinking: the most the bot can take).
    """

    def __init__(
        self,
        fake: FakeTelegram,
        user_id: int,
        tally: Tally,
        *,
        pace: float | None = None,
        until: float = float("inf"),
    ) -> None:
        self.until = until  # no action starts after this (perf_counter) time
        self.fake = fake
        self.user_id = user_id
        self.tally = tally
        self.chat = fake.world.chat_for(user_id)
        self.pace = pace
        self.random = random.Random(user_id)
        self.next_action = time.perf_counter()

    async def interview(self) -> None:
        """/start, answer until the review, submit."""
        await self.act(self.fake.send_text(self.user_id, "/start"), timed=False)
        for _ in range(100):
            message = self.fake.last_bot_message(self.user_id)
            assert message is not None
            labels = [(label, data) for row in message.buttons() for label, data in row]
            by_label = dict(labels)
            if "Submit" in by_label:  # the review becomes the thanks, in place
                await self.press(message, by_label["Submit"], in_place=True)
                self.tally.completed += 1
                return
            # The options on screen (a long list's first page), not its page buttons.
            steps = ("Skip", "Done", MORE, PREVIOUS)
            options = [(label, data) for label, data in labels if label not in steps]
            options = [(label, data) for label, data in options if "Other" not in label]
            if options:
                first = "agree" in options[0][0]  # consent: always yes
                _, data = options[0] if first else options[self.user_id % len(options)]
                await self.press(message, data, in_place="Done" in by_label)
                if "Done" in by_label:
                    edited = self.fake.last_bot_message(self.user_id)
                    assert edited is not None
                    await self.press(
                        edited,
                        dict((label, data) for row in edited.buttons() for label, data in row)[
                            "Done"
                        ],
                    )
            else:
                text = message.text or ""
                typed = (
                    str(self.user_id % 10 + 1) if "number" in text else f"Employer {self.user_id}"
                )
                await self.act(self.fake.send_text(self.user_id, typed))
        raise RuntimeError(f"employer {self.user_id} never reached the review")

    async def press(self, message: Message, data: str | None, *, in_place: bool = False) -> None:
        """Press a button and wait for the reply (an edit in place for multi-select ticks)."""
        assert data is not None
        await self.act(
            self.fake.press(self.user_id, message.message_id, data),
            edited=message.message_id if in_place else None,
        )

    async def think(self) -> None:
        """Wait until this employer's next action is due (at once when it is overdue)."""
        if self.pace is None:
            return
        self.next_action += self.random.expovariate(1 / self.pace)
        delay = self.next_action - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    async def act(
        self, posted: Coroutine[Any, Any, object], *, timed: bool = True, edited: int | None = None
    ) -> None:
        """Think, post an update and wait until the bot's reply shows in the chat.

        Only answers (`timed`) are paced: the /start that opens an interview comes on top
        of the offered rate, so that the answers themselves are offered at `--rate`.
        """
        if timed:
            await self.think()
        if time.perf_counter() >= self.until:
            posted.close()
            raise Finished
        last = self.fake.last_bot_message(self.user_id)
        after = last.message_id if last is not None else 0
        before = self.chat.get(edited) if edited is not None else None
        began = time.perf_counter()
        await posted
        deadline = began + REPLY_TIMEOUT
        while not self._replied(after, edited, before):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no reply for employer {self.user_id}")
            await self.chat.pulse.wait(remaining)
        if timed:
            self.tally.sent.append((began, time.perf_counter() - began))

    def _replied(self, after: int, edited: int | None, before: Message | None) -> bool:
        if edited is not None:
            return self.chat.get(edited) is not before
        for message in self.chat:
            if message.from_bot and message.message_id > after:
                text = message.text or ""
                if message.buttons() or "Part " in text or "submitted" in text:
                    return True
        return False


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """The URL of a new, migrated database of this kind; dropped or deleted afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-bot-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    maintenance = normalise_url(os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL)
    libpq = maintenance.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"skillsbot_bench_{secrets.token_hex(4)}"
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = maintenance.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass(frozen=True)
class Webhook:
    """Webhook mode for the bot: how many `skillsbot run` processes share the port, and the
    webhook's max_connections (setWebhook's, as Telegram takes it)."""

    processes: int = 1
    max_connections: int = 40


def free_port() -> int:
    """A port nobody listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def bot_process(
    fake: FakeTelegram,
    database_url: str,
    webhook: Webhook | None = None,
    library: str = "aiogram",
) -> AsyncIterator[list[int]]:
    """`skillsbot run` against the fake (parsing and sending with `library`), polling, or
    `webhook.processes` of them in webhook mode on one port; yields their pids once ready;
    SIGTERM at the end."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SKILLSBOT_", "TELEGRAM_"))},
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        "SKILLSBOT_LOG_LEVEL": "WARNING",
        "SKILLSBOT_TELEGRAM_LIBRARY": library,
    }
    count = 1
    if webhook is not None:
        port = free_port()
        env.update(
            SKILLSBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            SKILLSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            SKILLSBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
            SKILLSBOT_WEBHOOK_MAX_CONNECTIONS=str(webhook.max_connections),
        )
        count = webhook.processes

    def ready() -> bool:
        if webhook is None:
            return fake.polls_started > 0
        # Each process calls setWebhook once it listens.
        return sum(1 for record in fake.requests if record.method == "setWebhook") >= count

    with tempfile.TemporaryDirectory(prefix="bench-bot-run-") as folder:
        processes = []
        try:
            for _ in range(count):
                processes.append(
                    await asyncio.create_subprocess_exec(
                        *SKILLSBOT, env=env, cwd=folder, stdin=asyncio.subprocess.DEVNULL
                    )
                )
            await fake.wait_until(
                lambda: ready() or any(p.returncode is not None for p in processes), timeout=300
            )
            for process in processes:
                if process.returncode is not None:
                    raise RuntimeError(f"skillsbot run exited with {process.returncode}")
            yield [process.pid for process in processes]
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    await asyncio.wait_for(process.wait(), timeout=60)
                except TimeoutError:
                    process.kill()


@asynccontextmanager
async def bot_in_process(
    fake: FakeTelegram, database_url: str, library: str = "aiogram"
) -> AsyncIterator[list[int]]:
    """An EmployerBot polling in this event loop; yields this process's pid."""
    from bot.runtime.app import EmployerBot  # noqa: PLC0415 (only this mode builds the bot here)

    engine = make_engine(database_url)
    bot = EmployerBot(
        token=fake.token,
        api_url=fake.base_url,
        database=engine,
        interview=load_interview(builtin_interview_path(), area=DEFAULT_AREA),
        area=DEFAULT_AREA,
        zone=ZoneInfo("Europe/London"),
        polling_timeout=1,
        library=library,
    )
    task = asyncio.create_task(bot.run())
    await fake.wait_until(lambda: fake.polls_started > 0, timeout=60)
    try:
        yield [os.getpid()]
    finally:
        bot.stop()
        await asyncio.wait_for(task, timeout=60)
        await bot.close()
        engine.dispose()


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state is [0], ppid [1])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(pid: int) -> list[int]:
    """The process and its children (the bot's worker processes), alive now."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    children.append(int(entry.name))
    return [pid, *children]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its children have used so far (this process:
    all its threads)."""
    if pid == os.getpid():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = _stat_fields(member)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory (VmHWM) of a process and its children together, in MB."""
    if pid == os.getpid():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total or float("nan")


async def keep_interviewing(
    fake: FakeTelegram,
    seat: int,
    employers: int,
    tally: Tally,
    pace: float | None,
    arrival: float,
) -> None:
    """One of the N employers, the first arriving at `arrival`: when one interview is
    submitted, a new employer takes the seat (a new user), so that N people answer at once
    until the window is over."""
    end = tally.window[1]
    await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
    next_action = arrival
    for turn in range(1_000):
        person = SimulatedEmployer(
            fake, 100_000 + seat + turn * employers, tally, pace=pace, until=end
        )
        person.next_action = next_action
        try:
            await person.interview()
        except Finished:
            return
        next_action = person.next_action


def bot_cpu_seconds(pids: list[int]) -> float:
    """The CPU seconds of all the bot's processes (and their children) so far."""
    return sum(cpu_seconds(pid) for pid in pids)


def load_average() -> str:
    """The machine's load averages over 1, 5 and 15 minutes (it may be shared)."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


async def cpu_at(moment: float, pids: list[int]) -> tuple[float, float]:
    """The bot's (all its processes') and this process's CPU seconds at a perf_counter
    moment."""
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))
    return bot_cpu_seconds(pids), cpu_seconds(os.getpid())


async def calls_at(moment: float, fake: FakeTelegram) -> int:
    """How many Bot API calls other than getUpdates the bot had made at a moment."""
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))
    return sum(1 for record in fake.requests if record.method not in NOT_ANSWERING)


async def run_once(
    kind: str,
    employers: int,
    in_process: bool,
    rate: float | None,
    seconds: float = 30.0,
    warm_up: float = WARMUP,
    arrivals: float = ARRIVALS,
    webhook: Webhook | None = None,
    library: str = "aiogram",
) -> None:
    """One run on one database, the bot on one Telegram library; prints a line of figures.

    `rate`: the answers per second the employers offer together (each thinks between
    answers); None: no thinking, so the figure is the most the bot can take. Answers are
    counted over `seconds` after `warm_up` seconds; the first N employers arrive at random
    over `arrivals` seconds, and N are answering from then on (one who submits is replaced
    by a new one). `webhook`: the bot's processes serve a webhook instead of polling.
    """
    pace = employers / rate if rate else None
    with fresh_database(kind) as url:
        async with FakeTelegram() as fake:
            bot = (
                bot_in_process(fake, url, library)
                if in_process
                else bot_process(fake, url, webhook, library)
            )
            async with bot as pids:
                # One employer first, untimed: the bot builds its response models on first use.
                await SimulatedEmployer(fake, 99_999, Tally()).interview()
                # The harness's own collections (its heap holds every chat, and grows)
                # paused it for up to 60 ms, delaying the replies it times: none while it
                # measures.
                gc.collect()
                gc.freeze()
                gc.disable()
                began = time.perf_counter()
                arrive = random.Random(employers)
                tally = Tally(window=(began + warm_up, began + warm_up + seconds))
                first = asyncio.create_task(cpu_at(tally.window[0], pids))
                last = asyncio.create_task(cpu_at(tally.window[1], pids))
                calls_first = asyncio.create_task(calls_at(tally.window[0], fake))
                calls_last = asyncio.create_task(calls_at(tally.window[1], fake))
                await asyncio.gather(
                    *(
                        keep_interviewing(
                            fake, seat, employers, tally, pace, began + arrive.uniform(0, arrivals)
                        )
                        for seat in range(employers)
                    )
                )
                (cpu, harness_cpu), (cpu_end, harness_end) = await first, await last
                calls = await calls_last - await calls_first
                gc.enable()
                busy = (cpu_end - cpu) / tally.seconds
                harness = (harness_end - harness_cpu) / tally.seconds
                memory = sum(peak_rss_mb(pid) for pid in pids)
                peak_pushes = fake.webhook.peak_in_flight
    achieved = len(tally.latencies) / tally.seconds
    p50, p99 = tally.percentile(0.50), tally.percentile(0.99)
    where = "in-process" if in_process else "subprocess"
    if webhook is not None:
        where = (
            f"webhook, {webhook.processes} process{'es' if webhook.processes > 1 else ''} "
            f"(peak {peak_pushes} pushes in flight)"
        )
    load = f"offered {rate:.0f}/s" if rate else "no think time"
    answers = len(tally.latencies)
    figures = (
        f"{kind:8} {library:7} {where}, {load}: {employers} employers at once, "
        f"{tally.completed} interviews completed, "
        f"{answers} answers in {tally.seconds:.0f} s = {achieved:.0f} answers/s "
        f"({calls / max(1, answers):.2f} Bot API calls each); "
        f"latency p50 {p50:.0f} ms, p99 {p99:.0f} ms; bot CPU {busy:.0%} of a core "
        f"({busy * seconds * 1000 / max(1, answers):.2f} ms per answer) "
        f"({busy * tally.seconds / max(1, answers) * 1000:.1f} ms CPU per answer; "
        f"fake Telegram and employers {harness:.0%}), "
        f"peak RSS {memory:.0f} MB; load average {load_average()}"
    )
    if rate:
        meets = rate >= TARGET_RATE and achieved >= 0.95 * rate and p99 <= TARGET_P99_MS
        verdict = "meets" if meets else "MISSES"
        figures += (
            f" ({verdict} the target: >= {TARGET_RATE:.0f}/s with p99 <= {TARGET_P99_MS:.0f} ms)"
        )
    else:
        figures += " (the bot's capacity: latency here is queueing, not the target's)"
    print(figures, flush=True)


@asynccontextmanager
async def peer_process(fake: FakeTelegram) -> AsyncIterator[list[int]]:
    """benchmarks/peer_inmemory.py (a plain in-memory aiogram bot) against the fake; yields
    its pid; SIGTERM at the end."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SKILLSBOT_", "TELEGRAM_"))},
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(PEER), env=env, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        await fake.wait_until(
            lambda: fake.polls_started > 0 or process.returncode is not None, timeout=300
        )
        if process.returncode is not None:
            raise RuntimeError(f"the peer exited with {process.returncode}")
        yield [process.pid]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=60)
            except TimeoutError:
                process.kill()


async def run_burst(kind: str, employers: int, library: str = "aiogram") -> None:
    """N employers arriving at once, no think time, one interview each; prints a line.

    `kind`: sqlite or postgres (`skillsbot run` on a fresh database), or peer (the plain
    in-memory aiogram bot of peer_inmemory.py). Every employer sends /start in the same
    instant, as in the minutes after an invitation broadcast, and answers the moment each
    reply shows. Answers/s is all answers over the time from the first /start to the last
    submission; p50/p99 are over every answer.
    """
    with contextlib.ExitStack() as stack:
        async with FakeTelegram() as fake:
            if kind == "peer":
                target = peer_process(fake)
            else:
                url = stack.enter_context(fresh_database(kind))
                target = bot_process(fake, url, library=library)
            async with target as pids:
                pid = pids[0]
                # One employer first, untimed: the bot builds its response models on first use.
                await SimulatedEmployer(fake, 99_999, Tally()).interview()
                gc.collect()
                gc.freeze()
                gc.disable()
                tally = Tally()
                cpu, harness_cpu = cpu_seconds(pid), cpu_seconds(os.getpid())
                calls = await calls_at(0.0, fake)
                began = time.perf_counter()
                people = [SimulatedEmployer(fake, 100_000 + n, tally) for n in range(employers)]
                await asyncio.gather(*(person.interview() for person in people))
                ended = time.perf_counter()
                calls = await calls_at(0.0, fake) - calls
                busy = (cpu_seconds(pid) - cpu) / (ended - began)
                harness = (cpu_seconds(os.getpid()) - harness_cpu) / (ended - began)
                gc.enable()
                memory = peak_rss_mb(pid)
    seconds = ended - began
    answers = len(tally.sent)
    ordered = sorted(latency for _, latency in tally.sent)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)] * 1000
    name = "peer (in-memory aiogram)" if kind == "peer" else f"skillsbot, {kind}, {library}"
    print(
        f"burst {name}: {employers} employers at once, {tally.completed} interviews, "
        f"{answers} answers in {seconds:.1f} s = {answers / seconds:.0f} answers/s "
        f"({calls / max(1, answers):.2f} Bot API calls each); "
        f"latency p50 {p50:.0f} ms, p99 {p99:.0f} ms; bot CPU {busy:.0%} of a core "
        f"({busy * seconds * 1000 / max(1, answers):.2f} ms per answer) "
        f"(fake Telegram and employers {harness:.0%}), peak RSS {memory:.0f} MB",
        flush=True,
    )


def main() -> None:
    """Parse the options and run the benchmark on each database asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--employers", type=int, default=None)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--rate", type=float, default=TARGET_RATE, help="answers/s offered (default: the target)"
    )
    parser.add_argument(
        "--mode",
        choices=["paced", "capacity", "both", "burst"],
        default="both",
        help="paced: employers think between answers, offering --rate; "
        "capacity: no thinking, the most the bot can take; "
        "burst: --employers (default 300 and 1000) arrive at once, one interview each",
    )
    parser.add_argument(
        "--peer",
        action="store_true",
        help="burst: also run the plain in-memory aiogram bot (peer_inmemory.py), same run",
    )
    parser.add_argument("--in-process", action="store_true", help="the bot in this process")
    parser.add_argument(
        "--library",
        choices=["aiogram", "ptb", "both"],
        default="aiogram",
        help="the Telegram library the bot parses and sends with (both: one after the other)",
    )
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="paced/capacity on PostgreSQL: the bot serves a webhook the fake pushes to",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="--webhook: this many `skillsbot run` processes share the webhook's port",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=40,
        help="--webhook: setWebhook's max_connections (pushes in flight at once, 1-100)",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="the window measured")
    parser.add_argument(
        "--arrivals", type=float, default=ARRIVALS, help="the first employers arrive over this"
    )
    parser.add_argument(
        "--warm-up", type=float, default=WARMUP, help="seconds before the window opens"
    )
    options = parser.parse_args()
    options.employers_given = options.employers is not None
    if options.employers is None:
        options.employers = 200
    if options.warm_up < options.arrivals:
        parser.error("--warm-up must be at least --arrivals (the window opens once all are in)")
    kinds = ["sqlite", "postgres"] if options.db == "both" else [options.db]
    libraries = ["aiogram", "ptb"] if options.library == "both" else [options.library]
    webhook = None
    if options.webhook:
        if options.mode == "burst" or options.in_process:
            parser.error("--webhook measures paced or capacity runs of `skillsbot run`")
        if options.processes > 1 and "sqlite" in kinds:
            parser.error("several processes need PostgreSQL: add --db postgres")
        webhook = Webhook(options.processes, options.max_connections)
    elif options.processes != 1:
        parser.error("--processes needs --webhook")
    if options.mode == "burst":
        sizes = [options.employers] if options.employers_given else [300, 1000]
        for size in sizes:
            for kind in kinds:
                for library in libraries:
                    asyncio.run(run_burst(kind, size, library))
            if options.peer:
                asyncio.run(run_burst("peer", size))
        return
    rates = {"paced": [options.rate], "capacity": [None], "both": [options.rate, None]}
    for kind in kinds:
        for rate in rates[options.mode]:
            for library in libraries:
                asyncio.run(
                    run_once(
                        kind,
                        options.employers,
                        options.in_process,
                        rate,
                        options.seconds,
                        options.warm_up,
                        options.arrivals,
                        webhook,
                        library,
                    )
                )


if __name__ == "__main__":
    main()
