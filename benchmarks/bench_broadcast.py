"""Benchmark: one broadcast through the fake Bot API with rate limiting on.

    .venv/bin/python benchmarks/bench_broadcast.py [--recipients 5000] [--rate 100]
        [--blocked 0] [--database URL] [--senders 1]

Seeds employers into a fresh SQLite file (or the empty database at --database), runs the
real `Broadcaster` against the fake Telegram (real HTTP), and prints the achieved
messages per second between the first and the last accepted send (target: >= 95% of the
configured rate), the busiest one-second window (must not exceed the rate), duplicates
(target 0) and losses (target 0). At Telegram's default 25/s, 5,000 recipients take 200 s,
hence the default of 100/s; run `--rate 25 --recipients 1000` for the default rate.

`--senders N` (PostgreSQL, `--database postgresql://...`): N senders, each with its own
engine and Bot as N bot processes would have, all watching for due broadcasts; only the
holder of the cluster's sender lock sends, so the rate is the configured one, not N times.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.core.broadcaster import Broadcaster, default_owner
from bot.devtools.fake_telegram import FakeTelegram
from bot.transports import DEFAULT_LIBRARY, LIBRARIES
from bot.transports.links import connect
from storage import Employer, Engine, Session, make_engine, upgrade
from storage.broadcasts import create_broadcast, delivery_counts, get_broadcast

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
TEXT = "Skills fair: Thursday 10:00, Peterborough"
FIRST_CHAT = 100_001


def busiest_second(times: list[float]) -> int:
    """The most sends in any one-second window."""
    times = sorted(times)
    best = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def send(
    fake: FakeTelegram,
    engine: Engine,
    url: str,
    broadcast_id: int,
    rate: float,
    senders: int,
    library: str = DEFAULT_LIBRARY,
) -> dict[str, int]:
    """Send the broadcast with `senders` senders (each its own engine and Bot when more
    than one, watching as bot processes do) with `library`'s Bot; its delivery counts at
    the end."""
    if senders == 1:
        link = connect(library, fake.token, fake.base_url)
        try:
            await Broadcaster(link.calls, engine, rate=rate).run(broadcast_id)
        finally:
            await link.close()
    else:
        engines = [make_engine(url) for _ in range(senders)]
        bots = [connect(library, fake.token, fake.base_url) for _ in range(senders)]
        group = [
            Broadcaster(bot.calls, each, rate=rate, owner=f"{default_owner()}:{n}")
            for n, (bot, each) in enumerate(zip(bots, engines, strict=True))
        ]
        stop = asyncio.Event()
        watching = [asyncio.create_task(sender.watch(stop, interval=0.5)) for sender in group]
        try:
            while True:
                await asyncio.sleep(0.5)
                with Session(engine) as session:
                    row = get_broadcast(session, broadcast_id=broadcast_id)
                    if row is not None and row.status == "done":
                        break
        finally:
            stop.set()
            await asyncio.gather(*watching)
            for sender, bot, each in zip(group, bots, engines, strict=True):
                await sender.shutdown()
                await bot.close()
                each.dispose()
    with Session(engine) as session:
        return delivery_counts(session, broadcast_id=broadcast_id)


async def bench(
    recipients: int,
    rate: float,
    blocked: int,
    url: str,
    senders: int = 1,
    library: str = DEFAULT_LIBRARY,
) -> int:
    engine = make_engine(url)
    upgrade(engine)
    chats = range(FIRST_CHAT, FIRST_CHAT + recipients)
    with Session(engine) as session, session.begin():
        for chat in chats:
            session.add(
                Employer(
                    chat_id=chat,
                    telegram_user_id=chat,
                    consent_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        row = create_broadcast(session, text=TEXT, segment={}, created_by="bench", now=NOW)
        broadcast_id = row.id
    assert broadcast_id is not None
    async with FakeTelegram() as fake:
        for chat in chats:
            fake.add_user(chat)
        blocked_chats = set(list(chats)[:blocked])
        for chat in blocked_chats:
            fake.block(chat)
        started = time.perf_counter()
        counts = await send(fake, engine, url, broadcast_id, rate, senders, library)
        wall = time.perf_counter() - started
        sends = [r.time for r in fake.requests if r.ok and r.method == "sendMessage"]
        received = {chat: len(fake.bot_messages(chat)) for chat in chats}
    engine.dispose()
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    losses = sum(1 for chat, count in received.items() if count == 0 and chat not in blocked_chats)
    span = max(sends) - min(sends) if len(sends) > 1 else 0.0
    achieved = (len(sends) - 1) / span if span else 0.0
    print(
        f"recipients {recipients}, configured rate {rate:g}/s, blocked {blocked}, "
        f"senders {senders}, library {library}"
    )
    print(
        f"sent {counts.get('sent', 0)}, unreachable {counts.get('unreachable', 0)}, "
        f"failed {counts.get('failed', 0)}"
    )
    print(f"wall time {wall:.1f} s; achieved {achieved:.1f} msg/s = {achieved / rate:.1%} of rate")
    print(f"busiest one-second window: {busiest_second(sends)} (limit {rate:g})")
    print(f"duplicates {duplicates}, losses {losses}")
    ok = achieved >= 0.95 * rate and duplicates == 0 and losses == 0
    ok = ok and busiest_second(sends) <= rate
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--blocked", type=int, default=0)
    parser.add_argument("--database", help="an empty database URL (default: a new SQLite file)")
    parser.add_argument(
        "--senders", type=int, default=1, help="senders sharing the work (PostgreSQL only)"
    )
    parser.add_argument("--library", choices=LIBRARIES, default=DEFAULT_LIBRARY)
    options = parser.parse_args()
    if options.senders > 1 and not (options.database or "").startswith("postgresql"):
        parser.error("--senders above 1 needs --database postgresql://...")
    with tempfile.TemporaryDirectory() as directory:
        url = options.database or f"sqlite:///{Path(directory) / 'bench.db'}"
        code = asyncio.run(
            bench(
                options.recipients,
                options.rate,
                options.blocked,
                url,
                options.senders,
                options.library,
            )
        )
    sys.exit(code)


if __name__ == "__main__":
    main()
