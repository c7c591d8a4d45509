"""`skillsbot db upgrade`, on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from bot.cli import app
from storage import current_revision, head_revision, make_engine, upgrade


def upgrade_with(url: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"DATABASE_URL": url})
    return result.exit_code, result.output


def test_db_upgrade_migrates_and_is_idempotent(database_url: str) -> None:
    for _ in range(2):
        code, output = upgrade_with(database_url)
        assert code == 0, output
        assert output.strip() == f"Database is at revision {head_revision()}."
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url", ["mysql://bot:hunter2@db/skills", "postgresql+asyncpg://bot:hunter2@db/x", "::"]
)
def test_malformed_url_is_one_line_and_exit_2(url: str) -> None:
    code, output = upgrade_with(url)
    assert code == 2
    assert len(output.strip().splitlines()) == 1
    assert "DATABASE_URL" in output
    assert "hunter2" not in output
    assert "Traceback" not in output


def test_unreachable_database_is_one_line_and_exit_1() -> None:
    code, output = upgrade_with("postgresql://bot:hunter2@127.0.0.1:1/skills?connect_timeout=2")
    assert code == 1
    assert output == "skillsbot: Could not open the PostgreSQL database named by DATABASE_URL.\n"


def test_a_revision_from_a_newer_skillsbot_is_explained(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    code, output = upgrade_with(database_url)
    assert code == 1
    assert "does not know" in output
    assert "Traceback" not in output
