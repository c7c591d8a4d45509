"""Worker processes: one process polls Telegram, several handle the updates.

One Python process gets one core, and under load the bot is CPU-bound. With
`SKILLSBOT_WORKERS=N` (N > 1) `skillsbot run` polls in one process and hands each update to
one of N worker processes, which parse it, run it through the dispatcher (one database
transaction, then the replies) and say when they have finished. What holds without workers
holds with them:

- An update is confirmed to Telegram only once a worker says it has finished; the poller's
  `PollingLoop` is unchanged, only its handler forwards the update.
- A chat always goes to the same worker (chat id modulo N), and the poller sends a chat's
  next update only when its previous one has finished, so one chat is handled in order.
  The per-chat database lock still holds across processes (several machines, say).
- A worker that dies fails the updates it had in hand; the poller starts a new worker and
  tries them again (each is one idempotent transaction), as after any failed handling.
- On SIGTERM the poller stops fetching, waits for the updates in hand, then closes the
  workers' connections; a worker exits when its connection closes (also when the poller
  was killed), after finishing what it had in hand. Workers ignore SIGINT and SIGTERM
  themselves, since a service manager signals the whole process group at once.

The wire between them is a socket pair (not stdout, which a stray print could corrupt): a
line of JSON per update from the poller, and a line `{"update_id": N, "ok": true}` back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from bot.polling import RawUpdate, TryLater, update_chat_id

logger = logging.getLogger("skillsbot.workers")

# The environment variable through which a worker learns its end of the socket pair.
FD_VARIABLE = "SKILLSBOT_WORKER_FD"
INDEX_VARIABLE = "SKILLSBOT_WORKER_INDEX"
WORKER_COMMAND = (sys.executable, "-m", "bot.commands.worker")
# A line carries one update: Telegram caps a message at 4,096 characters, so 16 MiB is slack.
LINE_LIMIT = 16 * 1024 * 1024
READY = b'{"ready":true}\n'


class WorkerFailed(RuntimeError):
    """A worker did not finish an update: its handling failed, or the worker is gone."""


class _Worker:
    """One worker process and our end of its socket; `handle` waits for its answer."""

    def __init__(self, index: int, command: tuple[str, ...], env: Mapping[str, str]) -> None:
        self.index = index
        self.command = command
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listener: asyncio.Task[None] | None = None
        self._waiting: dict[int, asyncio.Future[None]] = {}

    @property
    def alive(self) -> bool:
        """Whether the worker is up and its answers are being read."""
        return self._listener is not None and not self._listener.done()

    async def start(self, ready_timeout: float) -> None:
        """Start the process and wait until it says it is ready (raises `WorkerFailed`)."""
        ours, theirs = socket.socketpair()
        try:
            env = {**self.env, FD_VARIABLE: str(theirs.fileno()), INDEX_VARIABLE: str(self.index)}
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                env=env,
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_connection(sock=ours, limit=LINE_LIMIT)
        try:
            first = await asyncio.wait_for(reader.readline(), ready_timeout)
        except TimeoutError:
            first = b""
        if first != READY:
            await self.close(grace=5.0)
            raise WorkerFailed(f"worker {self.index} did not start (see its log lines above)")
        self._listener = asyncio.create_task(self._listen(reader), name=f"worker-{self.index}")

    async def handle(self, raw: RawUpdate) -> None:
        """Send the update to the worker and wait until it has finished with it."""
        if not self.alive or self._writer is None:
            raise WorkerFailed(f"worker {self.index} is not running")
        update_id = raw.get("update_id")
        if not isinstance(update_id, int):
            return  # nothing a worker could confirm: the poller never sends such a thing
        finished = asyncio.get_running_loop().create_future()
        self._waiting[update_id] = finished
        try:
            self._writer.write(orjson.dumps(raw) + b"\n")
            await self._writer.drain()
            await finished
        finally:
            self._waiting.pop(update_id, None)

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                answer = orjson.loads(line)
                finished = self._waiting.get(answer.get("update_id"))
                if finished is None or finished.done():
                    continue
                if answer.get("ok") is True:
                    finished.set_result(None)
                elif answer.get("retry") is True:
                    finished.set_exception(TryLater(f"worker {self.index}: try again later"))
                else:
                    finished.set_exception(WorkerFailed(f"worker {self.index} failed an update"))
        except (OSError, ValueError, asyncio.IncompleteReadError) as error:
            logger.error(
                "event=worker_unreadable worker=%s error=%s", self.index, type(error).__name__
            )
        finally:
            gone = WorkerFailed(f"worker {self.index} stopped")
            for finished in self._waiting.values():
                if not finished.done():
                    finished.set_exception(gone)

    async def close(self, grace: float) -> None:
        """End our side of the connection (the worker then finishes what it has in hand,
        answers, and exits); kill it if it lingers past `grace` seconds."""
        if self._writer is not None and not self._writer.is_closing():
            with contextlib.suppress(OSError):
                self._writer.write_eof()
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                logger.warning("event=worker_killed worker=%s", self.index)
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self._listener is not None:
            await self._listener  # reads the last answers, up to the worker's end
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()


class WorkerPool:
    """N worker processes; `handle` is the polling loop's handler (see the module docstring)."""

    def __init__(
        self,
        count: int,
        *,
        command: tuple[str, ...] = WORKER_COMMAND,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 120.0,
    ) -> None:
        if count < 1:
            raise ValueError("a pool needs at least one worker")
        self.command = command
        self.env = dict(os.environ if env is None else env)
        self.ready_timeout = ready_timeout
        self.workers = [_Worker(index, command, self.env) for index in range(count)]
        self._restarting = [asyncio.Lock() for _ in range(count)]

    async def start(self) -> None:
        """Start every worker; raises `WorkerFailed` (after stopping the others) if one cannot."""
        started = await asyncio.gather(
            *(worker.start(self.ready_timeout) for worker in self.workers), return_exceptions=True
        )
        problems = [outcome for outcome in started if isinstance(outcome, BaseException)]
        if problems:
            await self.close()
            raise problems[0]
        logger.info("event=workers_started count=%s", len(self.workers))

    async def handle(self, raw: RawUpdate) -> None:
        """Hand the update to its chat's worker; return when it has finished (else raise)."""
        chat = update_chat_id(raw)
        key = chat if chat is not None else raw.get("update_id", 0)
        index = key % len(self.workers) if isinstance(key, int) else 0
        worker = self.workers[index]
        if not worker.alive:
            worker = await self._restart(index)
        await worker.handle(raw)

    async def _restart(self, index: int) -> _Worker:
        async with self._restarting[index]:
            worker = self.workers[index]
            if worker.alive:  # another update of this worker restarted it meanwhile
                return worker
            code = worker.process.returncode if worker.process is not None else None
            logger.warning("event=worker_restarted worker=%s exit_code=%s", index, code)
            await worker.close(grace=5.0)
            fresh = _Worker(index, self.command, self.env)
            self.workers[index] = fresh
            await fresh.start(self.ready_timeout)
            return fresh

    async def close(self, grace: float = 30.0) -> None:
        """Close every worker's connection and wait for them to exit (`grace` seconds each)."""
        await asyncio.gather(*(worker.close(grace) for worker in self.workers))


async def serve_updates(
    handle: Callable[[RawUpdate], Awaitable[Any]],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """A worker's side: handle each update read, answer when done; return at end of input.

    Updates are handled concurrently (the poller sends one chat's updates one at a time).
    At the end of input (the poller closed the connection or died), the updates in hand
    are finished before returning.
    """
    in_hand: set[asyncio.Task[None]] = set()

    async def one(raw: RawUpdate) -> None:
        answer = {"update_id": raw.get("update_id"), "ok": True}
        try:
            await handle(raw)
        except Exception as error:
            # The poller decides whether to try again: at once when it should pass.
            answer.update(ok=False, retry=isinstance(error, TryLater))
            cause = error.__cause__ if isinstance(error, TryLater) else error
            # Only the exception's type: its text may quote what a person sent.
            logger.error(
                "event=update_failed update_id=%s error=%s",
                raw.get("update_id"),
                type(cause or error).__name__,
            )
        with contextlib.suppress(OSError, RuntimeError):  # the poller may be gone
            writer.write(orjson.dumps(answer) + b"\n")

    writer.write(READY)
    await writer.drain()
    while line := await reader.readline():
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError:
            logger.error("event=worker_bad_line")
            continue
        task = asyncio.create_task(one(raw))
        in_hand.add(task)
        task.add_done_callback(in_hand.discard)
    if in_hand:
        await asyncio.gather(*in_hand)
    with contextlib.suppress(OSError, RuntimeError):
        writer.close()
        await writer.wait_closed()
