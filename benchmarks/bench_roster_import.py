"""How long `skillsbot employers import` takes for a large employer list (a CSV file), the
first time (every row added) and again (every row updated).

Run: `.venv/bin/python benchmarks/bench_roster_import.py [--rows 10000]`. Prints seconds and
rows per second for each run; a fresh SQLite database in a temporary folder. The command
runs in this process (Typer's runner), as the tests run it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import build_app
from storage import make_engine, upgrade

HEADER = "Organisation,Contact name,Email,Phone,Sector,District,Size band,Notes\n"


def main() -> None:
    """Write the list, import it twice; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "list.csv"
        csv.write_text(
            HEADER
            + "".join(
                f"Firm {n},,owner{n}@firm{n}.example,,Construction,Fenland,{n % 400 + 1},\n"
                for n in range(rows)
            ),
            encoding="utf-8",
        )
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        env = {
            "DATABASE_URL": url,
            "SKILLSBOT_AREA": "Cambridgeshire and Peterborough",
            "TELEGRAM_BOT_TOKEN": "",
        }
        app = build_app("employers")
        for label in ("first import (adds)", "second import (updates)"):
            started = time.perf_counter()
            result = CliRunner().invoke(app, ["employers", "import", str(csv)], env=env)
            seconds = time.perf_counter() - started
            if result.exit_code != 0:
                raise SystemExit(result.output)
            print(
                f"{label}: {rows} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s);"
                f" {result.stdout.strip()}"
            )


if __name__ == "__main__":
    main()
