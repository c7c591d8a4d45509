"""Broadcasts end to end over the fake Bot API: /broadcast by staff, paced sending with 429s
and blocked recipients, resuming after an abrupt stop, and the command line."""

from __future__ import annotations

import asyncio
import os
import pty
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.core.broadcaster import Broadcaster, RateLimiter
from bot.devtools.fake_telegram import FakeTelegram
from bot.retry import RetryPolicy
from bot.runtime.app import EmployerBot
from bot.transports.links import connect
from conversations.definition import Interview
from storage import Employer, Engine, Session, make_engine, upgrade
from storage.broadcast_models import Broadcast
from storage.broadcasts import create_broadcast, delivery_counts
from storage.staff import audit_entries, set_role
from tests.e2e.conftest import Employer as Person
from tests.e2e.conftest import (
    allow_inserts,
    current_library,
    library_of,
    polling_bot,
    refuse_inserts,
)
from tests.factories import add_consented_employers

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
RATE = 100.0
STAFF = 777
NEWS = "Free net zero skills workshop, Thursday 10:00, Ely"


def add_employers(engine: Engine, fake: FakeTelegram | None, chats: range, sector: str) -> None:
    """Employers with Telegram chats in a sector (and known to the fake)."""
    with Session(engine) as session, session.begin():
        add_consented_employers(session, chats, now=NOW, sector=sector)
    if fake is not None:
        for chat in chats:
            fake.add_user(chat)


def busiest_second(times: list[float]) -> int:
    """The most requests in any one-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def draft_to_sector(fake: FakeTelegram, engine: Engine, sector_button: str) -> Person:
    """A staff member who has drafted NEWS for one sector and sees the preview and Confirm."""
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=STAFF, role="staff", added_by="test", now=NOW)
    staff = Person(fake, STAFF)
    await staff.send("/broadcast")
    await staff.send(NEWS)
    await staff.tap("By sector")
    await staff.tap(sector_button)
    return staff


@pytest.fixture
async def fast_bot(
    fake: FakeTelegram, engine: Engine, interview: Interview
) -> AsyncIterator[EmployerBot]:
    """The employer bot with broadcasts paced at 100/s, polling `fake`."""
    async with polling_bot(fake, engine, interview, broadcast_rate=RATE) as bot:
        yield bot


@pytest.mark.in_process_bot
@pytest.mark.slow
async def test_staff_broadcast_to_a_sector_reaches_each_once_within_the_rate(
    fast_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    sector = range(10_001, 10_301)
    blocked = set(range(10_001, 10_301, 30))  # 10 of them blocked the bot
    add_employers(engine, fake, sector, "construction")
    add_employers(engine, fake, range(20_001, 20_021), "manufacturing")
    for chat in blocked:
        fake.block(chat)
    staff = await draft_to_sector(fake, engine, "construction (300)")
    assert staff.messages()[-2].text == NEWS  # the preview
    assert "300 employer(s)" in (staff.last().text or "")
    started = len(fake.requests)
    await staff.tap("Confirm")
    await fake.wait_until(
        lambda: "starting" in (fake.bot_messages(STAFF)[-1].text or ""), timeout=10
    )
    fake.fail_next("sendMessage", times=3, error_code=429, retry_after=1)
    await fake.wait_until(
        lambda: any("finished" in (m.text or "") for m in fake.bot_messages(STAFF)), timeout=60
    )
    for chat in sector:
        received = [m for m in fake.bot_messages(chat) if m.text == NEWS]
        assert len(received) == (0 if chat in blocked else 1), chat
    assert all(not fake.bot_messages(chat) for chat in range(20_001, 20_021))
    calls = fake.requests[started:]
    accepted = [
        r.time for r in calls if r.ok and r.method.lower() in {"sendmessage", "editmessagetext"}
    ]
    assert busiest_second(accepted) <= RATE
    assert any(r.status == 429 for r in calls)
    edits = [r for r in calls if r.ok and r.method.lower() == "editmessagetext"]
    assert len(edits) > 1, [
        (r.method, r.status, r.description) for r in calls if r.chat_id == STAFF
    ]
    report = fake.bot_messages(STAFF)[-1].text or ""
    assert "Sent: 290" in report
    assert "Failed: 0" in report
    assert "Unreachable (blocked the bot): 10" in report
    with Session(engine) as session:
        statuses = {e.chat_id: e.status for e in session.exec(select(Employer))}
        audit = audit_entries(session, action="broadcast.send")
    assert all(statuses[chat] == "unreachable" for chat in blocked)
    assert audit[0].count == 300
    assert audit[0].actor == str(STAFF)


@pytest.mark.in_process_bot
@pytest.mark.slow
async def test_a_confirm_tried_again_after_a_database_fault_still_sends_the_broadcast(
    fast_bot: EmployerBot, fake: FakeTelegram, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    add_employers(engine, fake, range(30_001, 30_004), "construction")
    staff = await draft_to_sector(fake, engine, "construction (3)")
    refuse_inserts(engine, "broadcast")  # for a moment
    confirm = staff.buttons_message()
    pressed = await fake.press(STAFF, confirm.message_id, confirm.button("Confirm"))
    failed = lambda: any("event=update_failed" in r.getMessage() for r in caplog.records)  # noqa: E731
    await fake.wait_until(failed, timeout=10)
    allow_inserts(engine, "broadcast")  # the fault passes before the next try
    await staff.wait_handled(pressed)
    await fake.wait_until(
        lambda: (
            all(m.text == NEWS for chat in range(30_001, 30_004) for m in fake.bot_messages(chat))
            and all(fake.bot_messages(chat) for chat in range(30_001, 30_004))
        ),
        timeout=20,
    )


async def test_employers_and_analysts_get_the_unknown_command_answer(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=1003, role="analyst", added_by="test", now=NOW)
    baseline, employer, analyst = Person(fake, 1001), Person(fake, 1002), Person(fake, 1003)
    await baseline.send("/frobnicate")
    await employer.send("/broadcast")
    await analyst.send("/broadcast")
    said = [m.text for m in baseline.messages()]
    assert said
    assert [m.text for m in employer.messages()] == said
    assert [m.text for m in analyst.messages()] == said
    await employer.send("Hello")  # not taken as a draft
    assert all("broadcast" not in (m.text or "").lower() for m in employer.messages())


@pytest.mark.slow
@pytest.mark.each_library
async def test_an_abruptly_stopped_broadcast_resumes_without_duplicates(
    fake: FakeTelegram, engine: Engine
) -> None:
    chats = range(30_001, 30_121)
    add_employers(engine, fake, chats, "education")
    with Session(engine) as session, session.begin():
        row = create_broadcast(session, text=NEWS, segment={}, created_by="t", now=NOW)
        broadcast_id = row.id
    assert broadcast_id is not None
    link = connect(current_library(), fake.token, fake.base_url)
    try:
        first = Broadcaster(link.calls, engine, rate=RATE, owner="first")
        task = first.start(broadcast_id)
        await fake.wait_until(
            lambda: sum(1 for r in fake.requests if r.ok and r.method == "sendMessage") >= 40,
            timeout=20,
        )
        task.cancel()  # the process dies mid-broadcast
        await asyncio.gather(task, return_exceptions=True)
        first.sender_lock.release()  # and its database sessions end with it
        with Session(engine) as session:
            assert delivery_counts(session, broadcast_id=broadcast_id).get("pending", 0) > 0
        second = Broadcaster(
            link.calls, engine, rate=RATE, owner="second", stale_after=timedelta(0)
        )
        result = await second.run(broadcast_id)
    finally:
        await link.close()
    assert result is not None
    received = {chat: sum(1 for m in fake.bot_messages(chat) if m.text == NEWS) for chat in chats}
    assert max(received.values()) == 1
    assert result.sent + result.unknown == len(chats)
    assert sum(received.values()) >= result.sent
    assert result.unknown <= 8  # at most one in flight per worker


def cli_env(tmp_path: Path, fake: FakeTelegram) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "SKILLSBOT_BROADCAST_RATE": "50",
        "SKILLSBOT_TELEGRAM_LIBRARY": current_library(),  # the command line's sender's library
    }


async def skillsbot(
    env: dict[str, str], *args: str, cwd: Path | None = None, answer: str | None = None
) -> tuple[int, str, str]:
    """Run the command line; with `answer`, on a terminal (a pty) that types it."""
    master = terminal = None
    if answer is not None:
        master, terminal = pty.openpty()
        os.write(master, (answer + "\n").encode())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        *args,
        stdin=asyncio.subprocess.DEVNULL if terminal is None else terminal,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    finally:
        for fd in (master, terminal):
            if fd is not None:
                os.close(fd)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def broadcast_count(url: str) -> int:
    database = make_engine(url)
    try:
        with Session(database) as session:
            return len(session.exec(select(Broadcast)).all())
    finally:
        database.dispose()


@pytest.mark.slow
@pytest.mark.each_library
async def test_cli_refuses_without_a_terminal_and_sends_with_yes(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, fake)
    database = make_engine(env["DATABASE_URL"])
    try:
        upgrade(database)
        add_employers(database, fake, range(40_001, 40_031), "construction")
        add_employers(database, fake, range(41_001, 41_006), "education")
    finally:
        database.dispose()
    args = ["broadcast", "send", "--text", NEWS, "--sector", "construction"]
    code, out, err = await skillsbot(env, *args)
    assert code == 1
    assert err.strip().count("\n") == 0
    assert "--yes" in err
    assert not any(fake.bot_messages(chat) for chat in range(40_001, 40_031))
    code, out, err = await skillsbot(env, *args, "--yes")
    assert code == 0, err
    assert "Sent: 30" in out
    assert all(len(fake.bot_messages(chat)) == 1 for chat in range(40_001, 40_031))
    assert not any(fake.bot_messages(chat) for chat in range(41_001, 41_006))
    # Its getMe check, as its sending, was made with the library chosen (aiogram unused on
    # PTB).
    made = {(call.method, library_of(call)) for call in fake.requests}
    assert ("getMe", current_library()) in made
    assert {library for _, library in made} == {current_library()}
    code, out, _ = await skillsbot(env, "broadcast", "list")
    assert code == 0
    assert "done" in out
    assert "sent 30" in out


@pytest.mark.slow
# Six commands on python-telegram-bot alone (aiogram costs seconds of start-up each): the
# refusals and the questions are the Telegram-free core's. On both libraries: the command's
# sending (test_cli_refuses_without_a_terminal_and_sends_with_yes) and a token Telegram
# refuses (tests/bot/test_accounts.py::test_a_token_telegram_does_not_know_is_unauthorized).
@pytest.mark.one_library("ptb")
async def test_cli_stores_nothing_it_cannot_send_and_asks_before_sending_the_same_twice(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, fake)
    database = make_engine(env["DATABASE_URL"])
    try:
        upgrade(database)
        add_employers(database, fake, range(42_001, 42_011), "construction")
    finally:
        database.dispose()
    args = ["broadcast", "send", "--text", NEWS, "--sector", "construction", "--yes"]
    chats = range(42_001, 42_011)
    # No token, then a token Telegram refuses: one line, exit 2, and nothing stored.
    no_token = {k: v for k, v in env.items() if k != "TELEGRAM_BOT_TOKEN"}
    for broken in (no_token, {**env, "TELEGRAM_BOT_TOKEN": "999:NOT-OURS"}):
        code, _, err = await skillsbot(broken, *args, cwd=tmp_path)
        assert code == 2, err
        assert err.strip().count("\n") == 0
        assert "TELEGRAM_BOT_TOKEN" in err
        assert broadcast_count(env["DATABASE_URL"]) == 0
    code, out, err = await skillsbot(env, *args, cwd=tmp_path)
    assert code == 0, err
    assert "Sent: 10" in out
    # The same command again (a retry): refused without a terminal even with --yes...
    code, out, err = await skillsbot(env, *args, cwd=tmp_path)
    assert code == 1
    assert "--again" in err
    assert "broadcast 1 with the same text and audience" in err
    # ...asked on a terminal, and "n" sends nothing...
    code, out, err = await skillsbot(env, *args, cwd=tmp_path, answer="n")
    assert code == 1, err
    assert "Create a second broadcast anyway?" in out
    assert broadcast_count(env["DATABASE_URL"]) == 1
    assert all(len(fake.bot_messages(chat)) == 1 for chat in chats)
    # ...and --again is the deliberate way past.
    code, out, err = await skillsbot(env, *args, "--again", cwd=tmp_path)
    assert code == 0, err
    assert "Sent: 10" in out
    assert all(len(fake.bot_messages(chat)) == 2 for chat in chats)


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (20 s at most) until `predicate()` holds, checking every 20 ms: for conditions
    the fake does not see change, such as database rows or parked senders."""
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("condition not met within 20 s")


class ParkingSleep:
    """The rate limiter's sleep; once `closed`, every sender that waits for its turn stays
    parked there: the moment a process dies with all its senders between two sends."""

    def __init__(self) -> None:
        self.closed = False
        self.parked = 0

    async def __call__(self, seconds: float) -> None:
        if self.closed:
            self.parked += 1
            await asyncio.Event().wait()
        await asyncio.sleep(seconds)


@pytest.mark.slow
@pytest.mark.each_library
async def test_a_sender_stopped_while_waiting_for_its_turn_leaves_nobody_unknown(
    fake: FakeTelegram, engine: Engine
) -> None:
    chats = range(31_001, 31_021)
    add_employers(engine, fake, chats, "education")
    with Session(engine) as session, session.begin():
        row = create_broadcast(session, text=NEWS, segment={}, created_by="t", now=NOW)
        broadcast_id = row.id
    assert broadcast_id is not None
    sent = lambda: sum(1 for r in fake.requests if r.ok and r.method == "sendMessage")  # noqa: E731
    link = connect(current_library(), fake.token, fake.base_url)
    try:
        gate = ParkingSleep()
        first = Broadcaster(
            link.calls, engine, rate=4, owner="first", limiter=RateLimiter(4, sleep=gate)
        )
        task = first.start(broadcast_id)
        await fake.wait_until(lambda: sent() >= 3, timeout=20)
        gate.closed = True
        await eventually(lambda: gate.parked == first.workers)
        with Session(engine) as session:
            counts = delivery_counts(session, broadcast_id=broadcast_id)
        task.cancel()  # the process dies with every sender waiting for its turn
        await asyncio.gather(task, return_exceptions=True)
        first.sender_lock.release()
        assert counts.get("sending", 0) == 0, counts  # nothing claimed while waiting
        second = Broadcaster(
            link.calls, engine, rate=RATE, owner="second", stale_after=timedelta(0)
        )
        result = await second.run(broadcast_id)
    finally:
        await link.close()
    assert result is not None
    assert (result.sent, result.unknown) == (len(chats), 0)
    assert all(len(fake.bot_messages(chat)) == 1 for chat in chats)


def sent(engine: Engine, broadcast_id: int) -> int:
    """Deliveries of the broadcast recorded as sent."""
    with Session(engine) as session:
        return delivery_counts(session, broadcast_id=broadcast_id).get("sent", 0)


@pytest.mark.slow
# On python-telegram-bot alone, as the test above (what is in doubt is the core's record;
# its sending is the command's, test_cli_refuses_without_a_terminal_and_sends_with_yes's,
# and a dropped connection each library's, tests/bot/test_telegram_retry.py and
# test_ptb_retry.py).
@pytest.mark.one_library("ptb")
async def test_resend_unknown_asks_then_sends_only_the_deliveries_in_doubt(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, fake)
    engine = make_engine(env["DATABASE_URL"])
    chats = range(43_001, 43_009)
    try:
        upgrade(engine)
        add_employers(engine, fake, chats, "education")
        with Session(engine) as session, session.begin():
            row = create_broadcast(session, text=NEWS, segment={}, created_by="t", now=NOW)
            broadcast_id = row.id
        assert broadcast_id is not None
        # The retry policy backs off a minute after the first failure.
        link = connect(current_library(), fake.token, fake.base_url, RetryPolicy(first=60, cap=60))
        try:
            # The first call's connection drops: its sender backs off holding the row (the
            # call is in doubt) and dies there, while the other sender sends the rest.
            fake.drop_next("sendMessage")
            first = Broadcaster(link.calls, engine, rate=RATE, workers=2, owner="first")
            task = first.start(broadcast_id)
            await eventually(lambda: sent(engine, broadcast_id) == len(chats) - 1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            second = Broadcaster(
                link.calls, engine, rate=RATE, owner="second", stale_after=timedelta(0)
            )
            result = await second.run(broadcast_id)
        finally:
            await link.close()
    finally:
        engine.dispose()
    assert result is not None
    assert (result.sent, result.unknown) == (len(chats) - 1, 1)
    missed = [chat for chat in chats if not fake.bot_messages(chat)]
    assert len(missed) == 1
    command = ["broadcast", "resend-unknown", str(broadcast_id)]
    code, out, err = await skillsbot(env, *command, cwd=tmp_path)  # no terminal, no --yes
    assert code == 1
    assert "1 employer(s)" in err
    assert "--yes" in err
    code, out, err = await skillsbot(env, *command, cwd=tmp_path, answer="n")
    assert code == 1, err
    assert "Resend to 1 employer(s)" in out
    assert not fake.bot_messages(missed[0])
    code, out, err = await skillsbot(env, *command, "--yes", cwd=tmp_path)
    assert code == 0, err
    assert "Unknown" not in out
    assert all(len(fake.bot_messages(chat)) == 1 for chat in chats)
    code, out, err = await skillsbot(env, *command, "--yes", cwd=tmp_path)
    assert code == 0, err
    assert "no unknown delivery" in out


@pytest.mark.in_process_bot
@pytest.mark.slow
async def test_a_photo_with_a_caption_is_previewed_and_sent_as_drafted(
    fast_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    add_employers(engine, fake, range(40_001, 40_003), "construction")
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=STAFF, role="staff", added_by="test", now=NOW)
    staff = Person(fake, STAFF)
    await staff.send("/broadcast")
    caption = "Open day <Ely> & more"
    await staff.do(lambda f, uid: f.send_photo(uid, caption=caption))
    await staff.tap("Everyone reachable")
    preview = staff.messages()[-2]
    assert (preview.kind, preview.caption) == ("photo", caption)
    await staff.tap("Confirm")
    await fake.wait_until(
        lambda: all(fake.bot_messages(chat) for chat in range(40_001, 40_003)), timeout=20
    )
    for chat in range(40_001, 40_003):
        (received,) = fake.bot_messages(chat)
        assert (received.kind, received.caption) == ("photo", caption)
