"""`skillsbot interview check`: exit codes and what it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from conversations.loader import builtin_interview_path

SKILLSBOT = Path(sys.executable).parent / "skillsbot"

GOOD = """\
id: good
title: Good
version: "1"
sections:
  - id: about
    title: About
    questions:
      - {id: consent, type: consent, label: Agree?}
      - {id: vacancies, type: yes_no, label: Vacancies?}
      - {id: how_many, type: integer, label: How many?, relevant: "${vacancies} = 'yes'"}
"""
BROKEN = """\
id: broken
title: Broken
version: "1"
sections:
  - id: about
    title: About
    questions:
      - {id: consent, type: consent, label: Agree?}
      - {id: name, type: text, label: Name?, requird: false}
      - {id: size, type: integer, label: Size?, min: 9, max: 1}
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("SKILLSBOT_AREA", raising=False)
    return CliRunner()


def test_no_path_checks_the_builtin_interview(runner: CliRunner) -> None:
    result = runner.invoke(app, ["interview", "check"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{builtin_interview_path()}: ok, 33 questions in 7 sections, 11 conditional\n"
    )


def test_a_good_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["interview", "check", str(path)])
    assert result.exit_code == 0
    assert result.output == f"{path}: ok, 3 questions in 1 section, 1 conditional\n"


def test_every_problem_is_listed_one_per_line(runner: CliRunner, tmp_path: Path) -> None:
    good, broken = tmp_path / "good.yaml", tmp_path / "broken.yaml"
    good.write_text(GOOD, encoding="utf-8")
    broken.write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(app, ["interview", "check", str(broken), str(good)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{broken}: question 'name': unknown key 'requird' (did you mean 'required'?)",
        f"{broken}: question 'size': min (9) is greater than max (1)",
        f"{good}: ok, 3 questions in 1 section, 1 conditional",
    ]


def test_unusable_paths_are_problems_not_tracebacks(runner: CliRunner, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"\xff\xfe\x00id: [\x80")
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(app, ["interview", "check", str(missing), str(tmp_path), str(garbage)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.splitlines() == [
        f"{missing}: no such file",
        f"{tmp_path}: is a directory, not a file",
        f"{garbage}: line 1: is not UTF-8 text (byte 1 cannot be read)",
    ]
    assert "Traceback" not in result.output


def test_the_area_comes_from_the_environment(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "district.yaml"
    path.write_text(
        GOOD.replace(
            "      - {id: vacancies",
            "      - {id: district, type: select_one, label: Where?,"
            " choices_from: lsip_districts}\n"
            "      - {id: vacancies",
        ),
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["interview", "check", str(path)], env={"SKILLSBOT_AREA": "the marches"}
    )
    assert result.exit_code == 0, result.output
    assert "ok, 4 questions" in result.output


def test_an_unknown_area_prints_one_line_and_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["interview", "check"], env={"SKILLSBOT_AREA": "Marches"})
    assert result.exit_code == 2
    assert result.output == "unknown LSIP area 'Marches'; did you mean 'The Marches'?\n"


@pytest.mark.slow  # a fresh interpreter imports the whole CLI, aiogram included
@pytest.mark.skipif(not SKILLSBOT.exists(), reason="the console script is not installed")
def test_the_console_script(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    run = subprocess.run(
        [str(SKILLSBOT), "interview", "check", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 1
    assert run.stdout.count("\n") == 2
    assert run.stderr == ""
