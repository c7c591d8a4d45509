"""Every command that opens the database reads DATABASE_URL as the bot does (the environment,
else `.env` in the working directory) and says the same one line when it is malformed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import InvalidDatabaseURL, normalise_url

# Each command that opens the database, with arguments that get it as far as that.
COMMANDS = {
    "db upgrade": ["db", "upgrade"],
    "export responses": ["export", "responses", "--out", "responses.csv"],
    "report weekly": ["report", "weekly", "--out", "."],
    "demo seed": ["demo", "seed", "--employers", "2", "--weeks", "1"],
    "staff add": ["staff", "add", "1001", "admin"],
    "staff remove": ["staff", "remove", "1001"],
    "staff list": ["staff", "list"],
    "staff audit": ["staff", "audit"],
    "employers import": ["employers", "import", "list.csv"],
    "employers invites": ["employers", "invites", "--out", "invites.csv"],
    "employers list": ["employers", "list"],
    "round open": ["round", "open", "Stage 2"],
    "round list": ["round", "list"],
    "broadcast send": ["broadcast", "send", "--text", "News", "--yes"],
    "broadcast list": ["broadcast", "list"],
    "broadcast cancel": ["broadcast", "cancel", "1"],
    "run": ["run"],
}  # `skillsbot playground` never reads DATABASE_URL: it has a database of its own
MALFORMED = ["postgresql://u:secret@h:notaport/db", "mysql://x@y/z"]


@pytest.mark.parametrize("source", ["environment", ".env"])
@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_database_url_is_the_same_one_line_and_exit_2(
    command: str, url: str, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "list.csv").write_text("organisation,contact_name\nFen Bakery,Anna\n")
    if source == ".env":
        (tmp_path / ".env").write_text(f"DATABASE_URL={url}\n", encoding="utf-8")
    env = {
        "DATABASE_URL": url if source == "environment" else None,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "TELEGRAM_BOT_USERNAME": "skillsbot_test_bot",
        "SKILLSBOT_INTERVIEW": None,
    }
    with pytest.raises(InvalidDatabaseURL) as problem:
        normalise_url(url)

    result = CliRunner().invoke(app, COMMANDS[command], env=env)

    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert result.output == f"skillsbot: {problem.value}\n"
    assert "secret" not in result.output
    assert url.split("://")[1] not in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["list.csv", *([".env"] if source == ".env" else [])]
    )  # nothing written, no database created
