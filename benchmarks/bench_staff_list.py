"""How long the chat's /list takes to prepare for a large employer list: the summary and the
XLSX of every employer (the work /list does on a thread, after its update's commit, before
sending).

Run: `.venv/bin/python benchmarks/bench_staff_list.py [--employers 10000]`. Prints the
seconds and the size of the spreadsheet; a fresh SQLite database in a temporary folder.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.staff import list_progress
from conversations.loader import builtin_interview_path, load_interview
from storage import EMPLOYER_STATUSES, Employer, Session, make_engine, upgrade, utcnow

SECTORS = [
    "manufacturing",
    "construction",
    "wholesale_retail",
    "business_services",
    "education",
    "primary_utilities",
    "other",
    None,
]


def main() -> None:
    """Seed the list, then time `/list`'s preparation three times; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employers", type=int, default=10_000)
    employers = parser.parse_args().employers
    interview = load_interview(builtin_interview_path())
    randomness = random.Random(18)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        now = utcnow()
        with Session(engine) as session, session.begin():
            session.add_all(
                Employer(
                    organisation=f"Employer {number} Ltd",
                    sector=randomness.choice(SECTORS),
                    status=randomness.choice(EMPLOYER_STATUSES),
                    size_band=randomness.choice(["1", "2-4", "10-24", "250+"]),
                    created_at=now,
                    updated_at=now,
                )
                for number in range(employers)
            )
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            summary, workbook = list_progress(engine, interview, ZoneInfo("Europe/London"))
            timings.append(time.perf_counter() - began)
        engine.dispose()
    lines = summary.splitlines()
    print(f"employers: {employers:,}")
    print(f"/list prepared in: best {min(timings):.2f} s, worst {max(timings):.2f} s")
    print(f"summary: {len(lines)} lines, longest {max(len(line) for line in lines)} characters")
    print(f"spreadsheet: {len(workbook or b'') / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
