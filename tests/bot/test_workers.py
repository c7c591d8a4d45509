"""Worker processes: the pool's routing, failures, restarts and shutdown, with real processes.

The workers here run `serve_updates` (the real worker side of the wire) around a small
handler that writes what it handled to a file, so the pool is tested without aiogram or a
database; `tests/e2e/test_run_process.py` runs the real bot with workers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import orjson
import pytest

from bot.polling import RawUpdate, TryLater, update_chat_id
from bot.workers import WorkerFailed, WorkerPool, serve_updates

WORKER = """
import asyncio, os, socket
from bot.polling import TryLater
from bot.workers import FD_VARIABLE, INDEX_VARIABLE, serve_updates

async def handle(raw):
    text = raw["message"]["text"]
    if text == "die":
        os._exit(3)
    if text == "fail":
        raise RuntimeError("handling failed")
    if text == "later":
        raise TryLater from ConnectionError("the database is away")
    if text == "slow":
        await asyncio.sleep(0.3)
    with open(os.environ["HANDLED_LOG"], "a") as log:
        log.write(f"{os.environ[INDEX_VARIABLE]} {os.getpid()} {raw['update_id']}\\n")

async def main():
    connection = socket.socket(fileno=int(os.environ[FD_VARIABLE]))
    reader, writer = await asyncio.open_connection(sock=connection)
    await serve_updates(handle, reader, writer)

asyncio.run(main())
"""


def message(update_id: int, chat: int, text: str = "hello") -> RawUpdate:
    """A text message update as Telegram sends it (only the fields used here)."""
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "chat": {"id": chat}, "text": text},
    }


def handled(log: Path) -> list[tuple[int, int, int]]:
    """(worker index, pid, update id) for every update the workers handled."""
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(int(index), int(pid), int(update)) for index, pid, update in rows]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """Where the workers write what they handled."""
    return tmp_path / "handled.log"


def pool_of(count: int, log: Path, command: tuple[str, ...] | None = None) -> WorkerPool:
    """A pool of real processes running WORKER (or `command`)."""
    env = {**os.environ, "HANDLED_LOG": str(log)}
    return WorkerPool(count, command=command or (sys.executable, "-c", WORKER), env=env)


@pytest.mark.slow  # starts processes
async def test_a_chat_always_goes_to_the_same_worker(log: Path) -> None:
    pool = pool_of(2, log)
    await pool.start()
    try:
        updates = [message(100 + n, chat=n % 4) for n in range(12)]
        for update in updates:
            await pool.handle(update)
    finally:
        await pool.close()
    rows = handled(log)
    assert sorted(update for _, _, update in rows) == [u["update_id"] for u in updates]
    by_update = {update: index for index, _, update in rows}
    for update in updates:
        assert by_update[update["update_id"]] == update["message"]["chat"]["id"] % 2
    assert {index for index, _, _ in rows} == {0, 1}
    assert all(worker.process and worker.process.returncode == 0 for worker in pool.workers)


@pytest.mark.slow  # starts processes
async def test_a_failed_update_raises_and_the_worker_carries_on(log: Path) -> None:
    pool = pool_of(1, log)
    await pool.start()
    try:
        with pytest.raises(WorkerFailed):
            await pool.handle(message(1, chat=5, text="fail"))
        # The database away in the worker: the poller is told to try again, not to give up.
        with pytest.raises(TryLater):
            await pool.handle(message(2, chat=5, text="later"))
        await pool.handle(message(3, chat=5))
    finally:
        await pool.close()
    assert [update for _, _, update in handled(log)] == [3]


@pytest.mark.slow  # starts processes
async def test_a_dead_worker_fails_its_update_and_is_replaced(log: Path) -> None:
    pool = pool_of(2, log)
    await pool.start()
    try:
        await pool.handle(message(1, chat=1))
        first_pid = handled(log)[0][1]
        with pytest.raises(WorkerFailed):
            await pool.handle(message(2, chat=1, text="die"))
        await pool.handle(message(2, chat=1))  # the polling loop's retry
        await pool.handle(message(3, chat=0))  # the other worker never noticed
    finally:
        await pool.close()
    rows = handled(log)
    assert [update for _, _, update in rows] == [1, 2, 3]
    assert rows[1][1] != first_pid  # a new process for worker 1
    assert rows[1][0] == 1


@pytest.mark.slow  # starts processes
async def test_the_updates_in_hand_are_finished_when_the_pool_closes(log: Path) -> None:
    pool = pool_of(1, log)
    await pool.start()
    slow = asyncio.create_task(pool.handle(message(7, chat=3, text="slow")))
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(pool.close())
    await slow  # answered before the worker exits
    await closing
    assert [update for _, _, update in handled(log)] == [7]


@pytest.mark.slow  # starts processes
async def test_a_worker_that_cannot_start_is_reported(log: Path) -> None:
    pool = pool_of(2, log, command=(sys.executable, "-c", "raise SystemExit(2)"))
    with pytest.raises(WorkerFailed, match="did not start"):
        await pool.start()


async def test_serve_updates_answers_each_line_and_finishes_at_end_of_input() -> None:
    ours, theirs = socket.socketpair()
    seen: list[int] = []

    async def handle(raw: RawUpdate) -> None:
        if raw["update_id"] == 2:
            raise ValueError("no")
        await asyncio.sleep(0.05)
        seen.append(raw["update_id"])

    worker_reader, worker_writer = await asyncio.open_connection(sock=theirs)
    serving = asyncio.create_task(serve_updates(handle, worker_reader, worker_writer))
    reader, writer = await asyncio.open_connection(sock=ours)
    assert orjson.loads(await reader.readline()) == {"ready": True}
    for update_id in (1, 2, 3):
        writer.write(orjson.dumps(message(update_id, chat=1)) + b"\n")
    writer.write(b"not json\n")
    await writer.drain()
    writer.write_eof()  # end of input: the updates in hand still finish
    answers = [orjson.loads(await reader.readline()) for _ in range(3)]
    await asyncio.wait_for(serving, timeout=5)
    assert sorted((a["update_id"], a["ok"]) for a in answers) == [
        (1, True),
        (2, False),
        (3, True),
    ]
    assert sorted(seen) == [1, 3]
    writer.close()


@pytest.mark.parametrize(
    ("update", "chat"),
    [
        (message(1, chat=42), 42),
        ({"update_id": 2, "edited_message": {"chat": {"id": -7}}}, -7),
        (
            {"update_id": 3, "callback_query": {"from": {"id": 9}, "message": {"chat": {"id": 8}}}},
            8,
        ),
        ({"update_id": 4, "callback_query": {"from": {"id": 9}}}, 9),  # an inline message
        ({"update_id": 5, "my_chat_member": {"chat": {"id": 11}}}, 11),
        ({"update_id": 6, "poll": {"id": "x"}}, None),
        ({"update_id": 7, "message": {"chat": "not an object"}}, None),
    ],
)
def test_update_chat_id_reads_telegram_json(update: RawUpdate, chat: int | None) -> None:
    assert update_chat_id(update) == chat
