"""Broadcast senders once per cluster, as real processes on PostgreSQL against the fake Telegram.

Two bot processes' broadcast senders (`tests/e2e/broadcast_sender.py`: what `skillsbot run`
runs for broadcasts) watch one database with two broadcasts due. Only one sends (the
holder of the cluster's sender lock), so the two broadcasts share its rate; it gets SIGKILL
mid-broadcast; the other takes both over at once and finishes them. The fake answers 429
to any send beyond the broadcast rate or one a second per chat: it counts none, nobody
gets a broadcast twice, and the message in flight at the kill is left 'unknown', never
sent again: each row left 'unknown' is a call the fake received, never a row that only
waited for its turn.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from storage import Engine, Session
from storage.broadcasts import create_broadcast, deliveries, delivery_counts, get_broadcast
from tests.e2e.test_broadcast import NOW, add_employers, busiest_second
from tests.e2e.test_run_process import STARTUP_TIMEOUT, fake_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RATE = 10  # SKILLSBOT_BROADCAST_RATE, and the fake's overall limit
FIRST = "Apprenticeship levy briefing, Tuesday 09:00, Cambridge"
SECOND = "Net zero skills workshop, Thursday 10:00, Ely"
# From the kill to the next accepted send, at most: the survivor tries the lock every
# 0.5 s; waiting for the dead sender's heartbeat to go stale would take 30 s.
TAKEOVER_SECONDS = 10.0
# A row claimed this long before the kill at most was in flight (its call about to leave
# the killed process on a busy machine), not waiting for a turn with nothing sent.
IN_FLIGHT_SECONDS = 1.0
SENDER = [sys.executable, "-m", "tests.e2e.broadcast_sender"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def senders() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Sender processes a test started; killed and reaped afterwards."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for process in started:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def start_sender(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            *SENDER, env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stderr=sink
        )


def counts(engine: Engine, broadcast_id: int) -> dict[str, int]:
    with Session(engine) as session:
        return delivery_counts(session, broadcast_id=broadcast_id)


def status_and_owner(engine: Engine, broadcast_id: int) -> tuple[str, str | None]:
    with Session(engine) as session:
        row = get_broadcast(session, broadcast_id=broadcast_id)
        assert row is not None
        return row.status, row.owner


async def until_done(
    engine: Engine,
    broadcast_ids: tuple[int, ...],
    timeout: float,  # noqa: ASYNC109 (like fake.wait_until)
) -> None:
    """Wait, off the event loop the fake runs on, until every broadcast is done."""
    async with asyncio.timeout(timeout):
        while True:
            states = await asyncio.to_thread(
                lambda: [status_and_owner(engine, each)[0] for each in broadcast_ids]
            )
            if all(state == "done" for state in states):
                return
            await asyncio.sleep(0.5)


def received(fake: FakeTelegram, chats: range, text: str) -> dict[int, int]:
    """How many copies of `text` each chat got."""
    return {chat: sum(1 for m in fake.bot_messages(chat) if m.text == text) for chat in chats}


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
# On python-telegram-bot alone: the claims, the rate and the takeover are the Telegram-free
# core's; aiogram's sender stopped mid-broadcast is test_broadcast.py's
# test_an_abruptly_stopped_broadcast_resumes_without_duplicates and
# test_a_sender_stopped_while_waiting_for_its_turn_leaves_nobody_unknown, and
# tests/bot/test_broadcaster.py's crash tests (both libraries, in this process).
@pytest.mark.one_library("ptb")
async def test_a_killed_sender_is_finished_by_another_within_the_rate_and_nobody_twice(
    database_url: str,
    engine: Engine,
    fake: FakeTelegram,
    tmp_path: Path,
    senders: list[asyncio.subprocess.Process],
) -> None:
    everyone = range(40_001, 40_121)
    education = range(40_001, 40_041)
    add_employers(engine, fake, education, "education")
    add_employers(engine, fake, range(education.stop, everyone.stop), "construction")
    fake.rate_limit(per_second_overall=RATE, per_chat_per_second=1)
    env = {**fake_env(fake, database_url), "SKILLSBOT_BROADCAST_RATE": str(RATE)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    ids = []
    with Session(engine) as session, session.begin():
        for text, segment in ((FIRST, {}), (SECOND, {"sector": ["education"]})):
            ids.append(
                create_broadcast(session, text=text, segment=segment, created_by="t", now=NOW).id
            )
    first, second = ids
    assert first is not None
    assert second is not None
    for name in ("a", "b"):
        senders.append(await start_sender(env, tmp_path / f"{name}.log"))
    logs = lambda: "\n".join(p.read_text() for p in tmp_path.glob("*.log"))  # noqa: E731
    accepted = lambda: [r for r in fake.requests if r.ok and r.method == "sendMessage"]  # noqa: E731
    await fake.wait_until(lambda: len(accepted()) >= 40, timeout=STARTUP_TIMEOUT)
    # One process sends both: the other watches (it holds no lock, owns nothing).
    owners = {status_and_owner(engine, each)[1] for each in (first, second)}
    assert len(owners) == 1, owners
    (owner,) = owners
    assert owner is not None
    pid = int(owner.rsplit(":", 1)[1])
    (dying,) = [p for p in senders if p.pid == pid]
    assert counts(engine, first).get("pending", 0) > 0, "sent everything before the kill"
    killed_wall = datetime.now(UTC)
    dying.send_signal(signal.SIGKILL)
    await dying.wait()
    killed = len(fake.requests)
    killed_at = fake.requests[-1].time
    # Polled in a thread, never as a `wait_until` predicate: that runs on every request
    # the fake sees, on the fake's own event loop, and a blocking query there holds
    # requests back and then lets them through together, which the fake's flood control
    # (timed as it handles them) would count as a burst the senders never made.
    await until_done(engine, (first, second), timeout=120)
    after = [r.time for r in fake.requests[killed:] if r.ok and r.method == "sendMessage"]
    assert after, logs()
    assert after[0] - killed_at <= TAKEOVER_SECONDS
    # The fake is the judge: a token bucket of RATE a second (bursts up to RATE) and one
    # a second per chat. Two senders side by side would send at twice the rate.
    assert [r for r in fake.requests if r.status == 429] == [], logs()
    # Arrival times carry each request's scheduling jitter: a send a few ms late lets one
    # second hold RATE + 1; twice the rate would show as about 2 * RATE.
    assert busiest_second([r.time for r in accepted()]) <= RATE * 1.3
    for text, chats, broadcast_id in ((FIRST, everyone, first), (SECOND, education, second)):
        got = received(fake, chats, text)
        assert max(got.values()) == 1, f"{text!r} went twice to someone"
        done = counts(engine, broadcast_id)
        assert set(done) <= {"sent", "unknown"}, done
        assert done.get("sent", 0) + done.get("unknown", 0) == len(chats)
        # 'unknown': in flight at the kill, so received or not, but never sent again.
        assert done.get("sent", 0) <= sum(got.values()) <= len(chats)
        # ... and really in flight: a row that only waited for its turn (or for its chat's
        # second, the other broadcast going to the same chat) is never marked 'sending'.
        # The fake refused nothing (no 429 above), so a call that left is a message
        # received. A row unknown and never received was in flight all the same: claimed
        # just before the kill (its call had not yet left the process: two CI runs saw one
        # so, at load 9-11), or being tried again (`attempts` > 1: its call failed without
        # an answer). A row claimed long before the kill and never sent waited with a claim.
        with Session(engine) as session:
            unknown = [
                r for r in deliveries(session, broadcast_id=broadcast_id) if r.status == "unknown"
            ]
        waited = [
            (r.chat_id, r.attempts, r.claimed_at)
            for r in unknown
            if (r.chat_id is None or not got[r.chat_id])
            and r.attempts <= 1
            and (
                r.claimed_at is None
                or killed_wall - r.claimed_at > timedelta(seconds=IN_FLIGHT_SECONDS)
            )
        ]
        assert waited == [], (
            f"{text!r}: left 'unknown', never sent, claimed long before the kill "
            f"(chat, attempts, claimed at; killed at {killed_wall}) {waited}\n{logs()}"
        )
    assert counts(engine, first).get("unknown", 0) + counts(engine, second).get("unknown", 0) <= 16
