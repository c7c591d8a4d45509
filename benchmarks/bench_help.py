"""How long `skillsbot --help` and every `skillsbot X --help` take, as a person runs them.

Run: `.venv/bin/python benchmarks/bench_help.py [--runs 5]`. Target: under 1 s each
(issue 16). Each command is started as a new process (the installed `skillsbot` script beside
this Python), its wall time taken from start to exit; the table gives the median and the
slowest of the runs, and the load average, since a busy machine slows every start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 1.0
SKILLSBOT = str(Path(sys.executable).with_name("skillsbot"))


def commands() -> list[list[str]]:
    """`--help` of the whole command line, and of each command and sub-app in it."""
    from bot.cli import COMMANDS, SUB_APPS

    return [[], *([name] for name in sorted({*SUB_APPS, *COMMANDS}))]


def timed(arguments: list[str]) -> float:
    """Seconds from starting `skillsbot <arguments> --help` to its exit (which must be 0)."""
    started = time.perf_counter()
    subprocess.run(
        [SKILLSBOT, *arguments, "--help"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    options = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {options.runs} runs each")
    print(f"{'command':<32} {'median':>8} {'slowest':>8}")
    slowest_median = 0.0
    for arguments in commands():
        seconds = [timed(arguments) for _ in range(options.runs)]
        median = statistics.median(seconds)
        slowest_median = max(slowest_median, median)
        name = " ".join(["skillsbot", *arguments, "--help"])
        print(f"{name:<32} {median:>7.2f}s {max(seconds):>7.2f}s")
    verdict = "meets" if slowest_median < TARGET_SECONDS else "MISSES"
    print(f"slowest median {slowest_median:.2f} s: {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
