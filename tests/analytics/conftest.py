"""Data shared by the slow disclosure attacks: one set of weekly reports per seed.

Seven weeks of reports of 300 employers, made in week order and recorded (each knows what
the earlier ones published), cost minutes of CPU; two attacks read the same ones (the
differences of nested figures, `test_disclosure_attack`, and the growth of counts to date,
`test_disclosure_growth`). Both carry the same xdist groups, so one worker makes them once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.demo import seed_demo
from analytics.report import weekly_report
from analytics.weeks import IsoWeek
from storage import make_engine, upgrade

SEVEN_WEEKS_NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
SEVEN_WEEKS = tuple(IsoWeek(2026, n) for n in range(43, 50))

WeekFiles = dict[str, tuple[Path, Path]]
"""By week label: the published CSV (threshold 5, recorded) and the true one (threshold 1,
nothing read or recorded)."""


@pytest.fixture(scope="session")
def seven_weeks(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], WeekFiles]:
    """`seven_weeks(seed)`: the seed's reports of W43..W49 (300 employers), made once."""
    made: dict[int, WeekFiles] = {}

    def reports(seed: int) -> WeekFiles:
        if seed not in made:
            folder = tmp_path_factory.mktemp(f"seven-weeks-{seed}")
            engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
            upgrade(engine)
            seed_demo(engine, employers=300, weeks=8, seed=seed, now=SEVEN_WEEKS_NOW)
            files: WeekFiles = {}
            for week in SEVEN_WEEKS:
                (published,) = weekly_report(
                    engine, week, folder, ("csv",), threshold=5, now=SEVEN_WEEKS_NOW
                ).files
                (true,) = weekly_report(
                    engine,
                    week,
                    folder / "true",
                    ("csv",),
                    threshold=1,
                    now=SEVEN_WEEKS_NOW,
                    record=False,
                ).files
                files[week.label] = (published, true)
            engine.dispose()
            made[seed] = files
        return made[seed]

    return reports
