"""`skillsbot interview try`: runs with piped standard input.

Walks of the built-in interview and a broken file go through the real console script in a
subprocess; the rest run the same Typer command in-process, which is much quicker than
starting the whole CLI each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.interview import app
from bot.cli.interview_try import read_input
from conversations.events import Back, Edit, ReviewItem, Skip, Submit, Text
from conversations.state import InterviewState

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


@dataclass(frozen=True)
class Run:
    """What a run of `interview try` gave."""

    returncode: int
    stdout: str
    stderr: str


def invoke_try(stdin: str, *args: str) -> Run:
    """Run the `interview try` command in-process with `stdin` as standard input."""
    result = CliRunner(env={"SKILLSBOT_AREA": None}).invoke(app, ["try", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def final_answers(result: Run | subprocess.CompletedProcess[str]) -> dict[str, Any]:
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
    result = invoke_try("\n".join(lines) + "\n", str(small_file))
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
    assert "! I couldn't match “maybe” to an option." in out
    assert "! I couldn't match “9” to an option." in out
    assert "! Please choose an answer to change" in out
    assert "  5. Why are they hard to fill?\n     Pay; Other: Night shifts\n" in out
    assert "Thank you! Your answers have been submitted." in out


def test_other_branch_and_back(small_file: Path) -> None:
    lines = ["yes, I agree", "Acme", "3", "back", "4", "no", "Thanks", "submit"]
    result = invoke_try("\n".join(lines) + "\n", str(small_file))
    assert final_answers(result) == {
        "consent": "yes",
        "org_name": "Acme",
        "staff": 4,
        "vacancies": "no",
        "comments": "Thanks",
    }
    assert "Current answer: 3" in result.stdout


def test_end_of_input_prints_answers_so_far(small_file: Path) -> None:
    result = invoke_try("1\nAcme", str(small_file))
    assert final_answers(result) == {"consent": "yes", "org_name": "Acme"}
    assert final_answers(invoke_try("", str(small_file))) == {}


def test_decline_keeps_nothing(small_file: Path) -> None:
    result = invoke_try("2\nAcme\n", str(small_file))
    assert final_answers(result) == {}
    assert "chose not to take part" in result.stdout


def test_an_unknown_area_is_one_line_and_exit_2(small_file: Path) -> None:
    result = CliRunner(env={"SKILLSBOT_AREA": "Marches"}).invoke(
        app, ["try", str(small_file)], input="1\n"
    )
    assert result.exit_code == 2
    assert result.stderr == "unknown LSIP area 'Marches'; did you mean 'The Marches'?\n"
    assert result.stdout == ""


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
    missing = invoke_try("", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"{tmp_path / 'missing.yaml'}: no such file"


def test_read_input_maps_words_by_screen() -> None:
    asking = InterviewState("lsip_employer", "1", "in_progress", current="staff")
    reviewing = InterviewState("lsip_employer", "1", "review")
    items = (ReviewItem("org_name", "Name", "Acme"), ReviewItem("staff", "Staff", "3"))
    assert read_input(" Back \n", asking, ()) == Back()
    assert read_input("skip", asking, ()) == Skip()
    assert read_input("2", asking, items) == Text("2")
    assert read_input("submit", asking, ()) == Text("submit")
    assert read_input("2\n", reviewing, items) == Edit("staff")
    assert read_input("3", reviewing, items) == Text("3")
    assert read_input("²", reviewing, items) == Text("²")
    assert read_input("SUBMIT", reviewing, items) == Submit()


# --- the built-in interview ---------------------------------------------------------------

HARD_TO_FILL_LINES = [
    "1",  # consent
    "Fenland Fabrication Ltd",
    "2",  # role
    "Manufacturing",  # sector, by label
    "1",  # district: the area's first
    "15",  # headcount (size band 10-24)
    "1",  # staff outlook
    "yes",  # vacancies
    "none",  # not a number
    "3",
    "yes",  # hard to fill
    "2",  # how many of them
    "5,8",  # occupations
    "1,12",  # too few skilled applicants + Other
    "Night shifts",
    "1,2",  # skills applicants lack
    "3",  # share not proficient 10-24%
    "2",  # how many staff
    "1",  # skills gaps
    "2",  # impact
    "no",  # upskilling needed
    "1,2,3,4",  # more than 3
    "1,3",
    "4",  # AI
    "2",  # net zero
    "3",  # training done
    "1",  # barriers
    "1",  # delivery
    "skip",  # provision fit
    "1",  # apprenticeships
    "2",  # T Levels
    "3",  # bootcamps
    "no",  # follow-up interview
    "",  # comments: optional, left empty
    "submit",
]


def test_builtin_interview_with_hard_to_fill_vacancies() -> None:
    result = run_try("\n".join(HARD_TO_FILL_LINES) + "\n", area="Kent and Medway")
    answers = final_answers(result)
    assert answers["district"] == "E07000105"  # Ashford, the first district of Kent
    assert answers["sector"] == "manufacturing"
    assert answers["vacancy_count"] == 3
    assert answers["htf_occupations"] == ["soc5", "soc8"]
    assert answers["htf_reasons"] == ["few_skilled", "other"]
    assert answers["htf_reasons_other"] == "Night shifts"
    assert answers["future_skills"] == ["basic_digital", "ai_automation"]
    assert answers["digital_ai_need"] == 4
    assert "provision_fit" not in answers
    assert "comments" not in answers
    assert "Privacy notice" in result.stdout
    assert "! Please send a whole number from 0 to 10000." in result.stdout
    assert "! Please choose no more than 3 options." in result.stdout
    assert "Thank you! Your answers have been submitted." in result.stdout


def test_builtin_interview_without_vacancies_edits_from_review() -> None:
    # A sole trader ("Just me"): no questions about the skills of their staff.
    lines = ["1", "Ely Tearooms", "1", "5", "2", "1", "2", "no", "no"]
    lines += ["1", "1", "4", "4", "1", "1", "5", "3", "1", "1", "yes", "More chefs, please"]
    # On the review screen: change vacancies (item 8) to yes, answer the new questions.
    lines += ["8", "yes", "2", "no", "submit"]
    result = run_try("\n".join(lines) + "\n")
    answers = final_answers(result)
    assert answers["district"] == "E07000009"  # East Cambridgeshire, the default area
    assert answers["sector"] == "hotels_restaurants"
    assert answers["headcount"] == 1
    assert "staff_not_proficient" not in answers
    assert "staff_skills_gaps" not in answers
    assert answers["vacancies"] == "yes"
    assert answers["vacancy_count"] == 2
    assert answers["hard_to_fill"] == "no"
    assert answers["comments"] == "More chefs, please"
    assert result.stdout.count("Your answers:") == 2
