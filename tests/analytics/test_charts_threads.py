"""The weekly report's charts drawn on several threads at once, and pyplot never loaded.

The bot builds the report on worker threads (`asyncio.to_thread`): two /weekly requests,
or one and the Monday job, draw at the same time. pyplot's global state (its open figures,
the current figure) is not thread-safe, so the charts use matplotlib's object API only;
these tests check that concurrent drawing gives the very PNG drawn alone, and that nothing
of ours imports pyplot, directly or through another library.
"""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.image
import pytest

from analytics.charts import CHARTS
from analytics.tables import ReportTables, report_tables
from tests.analytics import survey

THREADS = 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reports() -> list[ReportTables]:
    """Three reports whose charts differ: the survey's week 10 with figures hidden below
    1, 3 and 5 responses (percentages below 1, 3 and 5 employers)."""
    summary = survey.week_summary()
    return [report_tables(summary, n, percent_threshold=n) for n in (1, 3, 5)]


def draw_all(reports: list[ReportTables]) -> dict[tuple[int, str], bytes]:
    """Every chart of every report: (report's number, chart's name) -> PNG bytes."""
    return {
        (number, name): draw(tables)
        for number, tables in enumerate(reports)
        for name, draw in CHARTS.items()
    }


@pytest.fixture(scope="module")
def alone(reports: list[ReportTables]) -> dict[tuple[int, str], bytes]:
    """The charts drawn one at a time, on this thread."""
    return draw_all(reports)


def test_the_three_reports_have_different_charts(alone: dict[tuple[int, str], bytes]) -> None:
    """Else the concurrent test below could not tell one report's chart from another's."""
    for name in CHARTS:
        assert len({alone[(number, name)] for number in range(3)}) == 3, name


def test_charts_drawn_on_threads_at_once_are_those_drawn_alone(
    reports: list[ReportTables], alone: dict[tuple[int, str], bytes]
) -> None:
    start = threading.Barrier(THREADS)

    def one_thread(_: int) -> dict[tuple[int, str], bytes]:
        start.wait(timeout=30)  # every thread starts drawing at the same time
        return draw_all(reports)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        drawn = list(pool.map(one_thread, range(THREADS)))

    for charts in drawn:
        assert charts.keys() == alone.keys()
        for key, png in charts.items():
            assert png.startswith(PNG_SIGNATURE), key
            image = matplotlib.image.imread(io.BytesIO(png), format="png")
            assert image.shape[1] == 1000, key  # 5 inches at 200 dpi
            assert png == alone[key], key


def pyplot_imports(path: Path) -> list[int]:
    """The lines of a Python file that import matplotlib.pyplot (in any spelling)."""
    text = path.read_text(encoding="utf-8")
    if "pyplot" not in text:
        return []  # parsing every file would take seconds
    lines = []
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(
            name == "matplotlib.pyplot" or name.startswith("matplotlib.pyplot.") for name in names
        ):
            lines.append(node.lineno)
    return lines


def test_no_module_of_ours_imports_pyplot() -> None:
    folders = ("analytics", "benchmarks", "bot", "conversations", "scripts", "storage", "tests")
    files = [path for folder in folders for path in (REPO / folder).rglob("*.py")]
    assert len(files) > 100  # the folders were found
    found = {str(path.relative_to(REPO)): pyplot_imports(path) for path in files}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_pyplot_imports_are_recognised(tmp_path: Path) -> None:
    """The scan above finds each way of writing the import (else it could never fail)."""
    source = tmp_path / "example.py"
    source.write_text(
        "import matplotlib.pyplot as plt\n"
        "from matplotlib import pyplot\n"
        "from matplotlib.pyplot import subplots\n"
        "import matplotlib.figure\n"
    )
    assert pyplot_imports(source) == [1, 2, 3]


# Drawing the report in a fresh interpreter: does anything load pyplot on the way
# (pandas' plotting, say), which the scan of our own files would not see?
DRAW_THE_REPORT = """
import sys, tempfile
from pathlib import Path
from analytics.report import render_report
from tests.analytics.test_render import tables_with_comments
with tempfile.TemporaryDirectory() as folder:
    render_report(tables_with_comments({}), Path(folder))  # the XLSX, HTML and PNGs
print("matplotlib.figure" in sys.modules, "matplotlib.pyplot" in sys.modules)
"""


def test_drawing_the_report_never_loads_pyplot() -> None:
    run = subprocess.run(
        [sys.executable, "-c", DRAW_THE_REPORT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "False"]
