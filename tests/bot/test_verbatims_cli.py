"""`skillsbot verbatims review/approve/reject` through the real CLI and database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from analytics.demo import seed_demo
from bot.cli import app
from conversations.sectors import ESS_SECTORS
from storage import Answer, Engine, make_engine, upgrade
from storage.staff import audit_entries

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WEEK = "2026-W48"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SKILLSBOT_MIN_BASE": "1"}


@pytest.fixture
def db(env: dict[str, str]) -> Iterator[Engine]:
    engine = make_engine(env["DATABASE_URL"])
    upgrade(engine)
    seed_demo(engine, employers=40, weeks=2, seed=3, now=NOW)
    try:
        yield engine
    finally:
        engine.dispose()


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def keys(output: str) -> list[str]:
    return re.findall(r"^\[(\d+:\w+)\]", output, flags=re.MULTILINE)


def set_answer(engine: Engine, key: str, text: str) -> None:
    response_id, question_id = key.split(":")
    with Session(engine) as session, session.begin():
        answer = session.exec(
            select(Answer).where(
                Answer.response_id == int(response_id), Answer.question_id == question_id
            )
        ).one()
        answer.value_text = text
        session.add(answer)


def test_review_approve_reject_and_the_report(
    env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    listed = run(env, "verbatims", "review", "--week", WEEK)
    assert listed.exit_code == 0, listed.output
    first, second, third = keys(listed.output)[:3]
    # sectors by their ESS names, as in the reports, never an internal value
    sectors = re.findall(r"^\[\d+:\w+\] (.+?) / ", listed.output, flags=re.MULTILINE)
    assert sectors
    assert set(sectors) <= {*ESS_SECTORS.values(), "Other", "Not given"}, sectors
    set_answer(db, first, "my name is jo bloggs, call +1 415 555 0100 for welders")
    set_answer(db, second, "Email jo[at]plain.co.uk\x1b]0;PWNED\x07 about\napprentices")

    drafts = run(env, "verbatims", "review", "--week", WEEK)
    assert drafts.exit_code == 0
    assert "UNREVIEWED: my name is [name], call [phone] for welders" in drafts.output
    assert "UNREVIEWED: Email [email]?]0;PWNED? about / apprentices" in drafts.output
    assert "jo bloggs" not in drafts.output
    assert "\x1b" not in drafts.output

    declined = CliRunner().invoke(app, ["verbatims", "approve", first], env=env, input="n\n")
    assert declined.exit_code == 1
    assert declined.output.splitlines()[-1] == "Nothing approved."
    approved = CliRunner().invoke(app, ["verbatims", "approve", first], env=env, input="y\n")
    assert approved.exit_code == 0, approved.output
    assert approved.output.splitlines() == [
        "Quote: my name is [name], call [phone] for welders",
        "Approve this quote? [y/N]: y",
        f"Approved {first}: my name is [name], call [phone] for welders",
    ]
    edited = run(env, "verbatims", "approve", third, "--yes", "--text", "Welders, says Dr Okafor")
    assert edited.output.strip() == f"Approved {third}: Welders, says Dr [name]"
    rejected = run(env, "verbatims", "reject", second)
    assert rejected.exit_code == 0, rejected.output

    with Session(db) as session:
        audit = [(e.action, e.detail) for e in audit_entries(session, limit=3)]
    assert audit == [
        ("verbatim.reject", second),
        ("verbatim.approve", third),
        ("verbatim.approve", first),
    ]
    remaining = keys(run(env, "verbatims", "review", "--week", WEEK).output)
    assert not {first, second, third} & set(remaining)

    report = run(env, "report", "weekly", "--week", WEEK, "--out", str(tmp_path), "--format", "md")
    assert report.exit_code == 0, report.output
    markdown = (tmp_path / f"weekly-{WEEK}.md").read_text(encoding="utf-8")
    assert "my name is [name], call [phone] for welders" in markdown
    assert "Welders, says Dr [name]" in markdown
    assert "jo[at]plain" not in markdown
    assert "[email]" not in markdown
    assert f"{len(remaining)} further quotes await review and are not shown" in markdown

    # The employer changes the answer: the approval no longer applies.
    set_answer(db, first, "we need welders, ask Whitfield")
    again = run(env, "verbatims", "review", "--week", WEEK)
    assert first in keys(again.output)


def test_bad_keys_get_one_clear_line(env: dict[str, str], db: Engine) -> None:
    for key, code, line in (
        ("x", 2, "Error: 'x' is not a quote's key; `skillsbot verbatims review` lists them"),
        ("١٢:comments", 2, "Error: '١٢:comments' is not a quote's key;"),
        ("99999:comments", 1, "Error: no text answer 99999:comments"),
        ("1:sector", 1, "Error: no text answer 1:sector"),
    ):
        result = run(env, "verbatims", "approve", key, "--yes")
        assert result.exit_code == code, (key, result.output)
        assert result.output.strip().startswith(line), result.output
        assert "Traceback" not in result.output
    with Session(db) as session:
        assert audit_entries(session, action="verbatim.approve") == []
