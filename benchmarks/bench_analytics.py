"""Benchmark: the whole weekly report (load + roll-ups + every format) on a big SQLite file.

    .venv/bin/python benchmarks/bench_analytics.py [--responses 50000] [--seed 1] [--fresh]

Seeds demo responses (about 22 answers each, through the real interview engine) into a
SQLite file cached in the temp directory, so only the first run pays for seeding; then
times `weekly_report` and prints wall and CPU seconds and peak memory (max RSS). Target:
<= 10 s and <= 1.5 GB. On a shared, loaded machine the wall time grows with the load
average (printed); the CPU time is what the report costs on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from analytics.demo import seed_demo
from analytics.report import FORMATS, weekly_report
from analytics.weeks import IsoWeek
from storage import head_revision, make_engine, upgrade
from storage.demo_seed import row_counts

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # fixed, so the cached file stays valid
WEEK = IsoWeek(2026, 48)


def _database(responses: int, seed: int, fresh: bool) -> Path:
    path = Path(tempfile.gettempdir()) / f"skillsbot-bench-{responses}-{seed}-{head_revision()}.db"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    ready = path.with_suffix(".ready")
    if path.exists() and ready.exists() and not fresh:
        return path
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    started = time.perf_counter()
    counts = seed_demo(engine, employers=responses, weeks=8, seed=seed, now=NOW)
    engine.dispose()
    ready.write_text("seeded\n")
    print(
        f"seeded {counts.responses:,} responses and {counts.answers:,} answers "
        f"in {time.perf_counter() - started:.1f} s -> {path}"
    )
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 when within the targets, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="re-seed even if cached")
    parser.add_argument(
        "--after-previous",
        action="store_true",
        help="publish the week before first (not timed), as on a Monday: the report then "
        "hides against what that one published",
    )
    args = parser.parse_args(argv)
    cached = _database(args.responses, args.seed, args.fresh)
    with tempfile.TemporaryDirectory() as out:
        # A copy per run: a report records what it publishes, and the next run's report
        # would otherwise be the same week made again.
        path = Path(out) / "bench.db"
        shutil.copyfile(cached, path)
        engine = make_engine(f"sqlite:///{path}")
        counts = row_counts(engine)
        if args.after_previous:
            previous = WEEK.previous()
            weekly_report(engine, previous, Path(out) / "previous", ("csv",), threshold=5)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started, cpu_started = time.perf_counter(), time.process_time()
        report = weekly_report(engine, WEEK, Path(out), FORMATS, threshold=5)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        sizes = {p.name: p.stat().st_size for p in report.files}
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        engine.dispose()
    after = f", after {previous.label} was published" if args.after_previous else ""
    print(f"{counts.responses:,} responses, {counts.answers:,} answers{after}")
    print(
        f"weekly report ({','.join(FORMATS)}): {seconds:.2f} s wall, {cpu:.2f} s CPU, "
        f"peak RSS {peak:.0f} MB (before the report {baseline:.0f} MB)"
    )
    print(f"load average while it ran: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, size in sizes.items():
        print(f"  {name}: {size / 1024:.0f} KB")
    within = seconds <= 10 and peak <= 1536
    print("within targets (<= 10 s, <= 1.5 GB)" if within else "OUTSIDE the targets")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
