"""`skillsbot interview try`: real runs of the console script with piped standard input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.commands.interview_try import read_input
from conversations.events import Back, Edit, ReviewItem, Skip, Submit, Text

SKILLSBOT = Path(sys.executable).parent / "skillsbot"

SMALL_INTERVIEW = """\
id: small
title: Small
version: "1"
sections:
  - id: about
    title: About you
    questions:
      - id: consent
        type: consent
        label: Do you agree to take part?
      - id: org_name
        type: text
        label: What is your organisation called?
      - id: staff
        type: integer
        label: How many staff do you employ?
        min: 1
        max: 100000
      - id: vacancies
        type: yes_no
        label: Do you have vacancies now?
      - id: reasons
        type: select_multiple
        label: Why are they hard to fill?
        relevant: ${vacancies} = 'yes'
        other: true
        choices:
          - {value: pay, label: Pay}
          - {value: skills, label: Applicants lack skills}
      - id: comments
        type: text
        label: Anything else?
        required: false
"""


def run_try(stdin: str, *args: str, area: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `skillsbot interview try` with `stdin` piped in."""
    env = {k: v for k, v in os.environ.items() if k != "SKILLSBOT_AREA"}
    if area is not None:
        env["SKILLSBOT_AREA"] = area
    return subprocess.run(
        [str(SKILLSBOT), "interview", "try", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def final_answers(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON object on the last line of the output, after checking the run went well."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    last = result.stdout.rstrip("\n").splitlines()[-1]
    document = json.loads(last)
    assert list(document) == ["answers"]
    answers: dict[str, Any] = document["answers"]
    return answers


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_INTERVIEW, encoding="utf-8")
    return path


def test_walk_with_bad_lines_edit_and_submit(small_file: Path) -> None:
    lines = [
        "1",  # consent
        "",  # required text left empty
        "Acme Ltd",
        "lots",  # not a number
        "12",
        "maybe",  # not an option
        "yes",
        "1,9",  # no option 9
        "1,3",
        "Night shifts",  # the "Other" text
        "skip",
        "7",  # no such answer on the review screen
        "3",  # change staff
        "15",
        "submit",
    ]
    result = run_try("\n".join(lines) + "\n", str(small_file))
    assert final_answers(result) == {
        "consent": "yes",
        "org_name": "Acme Ltd",
        "staff": 15,
        "vacancies": "yes",
        "reasons": ["pay", "other"],
        "reasons_other": "Night shifts",
    }
    out = result.stdout
    assert "question 1 of 5" in out
    assert "question 5 of 6" in out
    assert "  1. Yes, I agree" in out
    assert "! This question needs an answer." in out
    assert "! Please send a whole number from 1 to 100000." in out
    assert "! Please choose one of the options" in out
    assert "! Please send the numbers of the options that apply (1 to 3)" in out
    assert "! Please choose an answer to change" in out
    assert "Why are they hard to fill?: Pay; Other: Night shifts" in out
    assert "Thank you! Your answers have been submitted." in out


def test_other_branch_and_back(small_file: Path) -> None:
    lines = ["yes, I agree", "Acme", "3", "back", "4", "no", "Thanks", "submit"]
    result = run_try("\n".join(lines) + "\n", str(small_file))
    assert final_answers(result) == {
        "consent": "yes",
        "org_name": "Acme",
        "staff": 4,
        "vacancies": "no",
        "comments": "Thanks",
    }
    assert "Current answer: 3" in result.stdout


def test_end_of_input_prints_answers_so_far(small_file: Path) -> None:
    result = run_try("1\nAcme", str(small_file))
    assert final_answers(result) == {"consent": "yes", "org_name": "Acme"}
    assert final_answers(run_try("", str(small_file))) == {}


def test_decline_keeps_nothing(small_file: Path) -> None:
    result = run_try("2\nAcme\n", str(small_file))
    assert final_answers(result) == {}
    assert "chose not to take part" in result.stdout


def test_broken_definition_lists_problems(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SMALL_INTERVIEW.replace("type: integer", "type: number").replace("max: 100000", ""),
        encoding="utf-8",
    )
    result = run_try("", str(broken))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    problems = result.stderr.strip().splitlines()
    assert problems
    assert all(line.startswith(f"{broken}: ") for line in problems)
    assert any(f"{broken}: question 'staff': " in line for line in problems)
    missing = run_try("", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"{tmp_path / 'missing.yaml'}: no such file"


def test_read_input_maps_words_by_screen() -> None:
    asking = {"status": "in_progress", "current": "staff"}
    reviewing = {"status": "review", "current": None}
    items = (ReviewItem("org_name", "Name", "Acme"), ReviewItem("staff", "Staff", "3"))
    assert read_input(" Back \n", asking, ()) == Back()
    assert read_input("skip", asking, ()) == Skip()
    assert read_input("2", asking, items) == Text("2")
    assert read_input("submit", asking, ()) == Text("submit")
    assert read_input("2\n", reviewing, items) == Edit("staff")
    assert read_input("3", reviewing, items) == Text("3")
    assert read_input("²", reviewing, items) == Text("²")
    assert read_input("SUBMIT", reviewing, items) == Submit()
