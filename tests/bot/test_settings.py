"""Settings: defaults, parsing, and one clear line (exit code 2) for what is missing or wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import (
    NO_TOKEN,
    SettingsError,
    interview_or_exit,
    load_settings,
    settings_or_exit,
)

VARIABLES = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_URL",
    "SKILLSBOT_INTERVIEW",
    "SKILLSBOT_AREA",
    "SKILLSBOT_ADMINS",
    "SKILLSBOT_TIMEZONE",
    "SKILLSBOT_LOG_LEVEL",
)
TOKEN = "123456:AAH-secret_token"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings = load_settings(env_file=None)
    assert settings.token.get_secret_value() == TOKEN
    assert settings.api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite:///./skillsbot.db"
    assert settings.interview_path is None
    assert settings.area == "Cambridgeshire and Peterborough"
    assert settings.admins == frozenset()
    assert settings.timezone == "Europe/London"
    assert settings.log_level == "INFO"
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("SKILLSBOT_ADMINS", " 11, 22 ,33,")
    monkeypatch.setenv("SKILLSBOT_INTERVIEW", str(tmp_path / "mine.yaml"))
    monkeypatch.setenv("SKILLSBOT_LOG_LEVEL", "debug")
    settings = load_settings(env_file=None)
    assert settings.api_url == "http://127.0.0.1:8081"
    assert settings.admins == frozenset({11, 22, 33})
    assert settings.interview_path == tmp_path / "mine.yaml"
    assert settings.log_level == "DEBUG"


def test_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nSKILLSBOT_ADMINS=5\n")
    settings = load_settings(env_file=env_file)
    assert settings.admins == frozenset({5})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TELEGRAM_BOT_TOKEN", None, "TELEGRAM_BOT_TOKEN is not set"),
        ("TELEGRAM_BOT_TOKEN", "", "TELEGRAM_BOT_TOKEN is not set"),
        (
            "TELEGRAM_BOT_TOKEN",
            "not a token",
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)",
        ),
        (
            "SKILLSBOT_ADMINS",
            "12,bob",
            "SKILLSBOT_ADMINS must be comma-separated Telegram user ids",
        ),
        (
            "SKILLSBOT_TIMEZONE",
            "Mars/Olympus",
            "SKILLSBOT_TIMEZONE must be a time zone name such as Europe/London",
        ),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL must be an http:// or https:// URL"),
        (
            "DATABASE_URL",
            "skillsbot.db",
            "DATABASE_URL must be a database URL such as sqlite:///./skillsbot.db",
        ),
        (
            "DATABASE_URL",
            "postgresql://u:secret@h:notaport/db",
            "DATABASE_URL names a port that is not a number from 1 to 65535",
        ),
        (
            "DATABASE_URL",
            "mysql://u:secret@h/db",
            "DATABASE_URL must start with sqlite:// or postgresql:// (got the scheme 'mysql')",
        ),
        (
            "SKILLSBOT_LOG_LEVEL",
            "loud",
            "SKILLSBOT_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
    ],
)
def test_a_bad_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, message: str
) -> None:
    if variable != "TELEGRAM_BOT_TOKEN":
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    if value is not None:
        monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert str(caught.value) == message


@pytest.mark.parametrize("token", [None, "not a token"])
def test_a_command_that_needs_no_token_reads_the_rest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token: str | None
) -> None:
    if token is not None:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    monkeypatch.setenv("SKILLSBOT_INTERVIEW", str(tmp_path / "mine.yaml"))
    settings = load_settings(env_file=None, needs_token=False)
    assert settings.interview_path == tmp_path / "mine.yaml"
    assert settings.token.get_secret_value() == NO_TOKEN
    monkeypatch.setenv("SKILLSBOT_ADMINS", "1;2")
    with pytest.raises(SettingsError, match="^SKILLSBOT_ADMINS must be"):
        load_settings(env_file=None, needs_token=False)


def test_settings_or_exit_prints_one_line_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        settings_or_exit(env_file=None)
    assert caught.value.code == 2
    assert capsys.readouterr().err == "skillsbot: TELEGRAM_BOT_TOKEN is not set\n"


def _skillsbot_run(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "run"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("SKILLSBOT_ADMINS", "1;2", "SKILLSBOT_ADMINS must be comma-separated Telegram user ids"),
        (
            "DATABASE_URL",
            "postgresql://u:secret@h:notaport/db",
            "DATABASE_URL names a port that is not a number from 1 to 65535",
        ),
    ],
)
def test_skillsbot_run_with_a_bad_setting_prints_one_line_and_exits_2(
    tmp_path: Path, variable: str, value: str, line: str
) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update({"TELEGRAM_BOT_TOKEN": TOKEN, variable: value})
    result = _skillsbot_run(env, tmp_path)
    assert (result.returncode, result.stderr) == (2, f"skillsbot: {line}\n")
    assert list(tmp_path.iterdir()) == []  # no database was made


# An interview definition with two problems, and the one line that says so.
BROKEN_INTERVIEW = """\
id: x
title: T
version: '1'
sections:
  - id: s
    title: S
    questions:
      - id: a
        type: nope
        label: A
      - id: b
        type: text
"""


def interview_line(path: Path) -> str:
    """What `skillsbot run` says of the file at `path`: the broken one, or a missing one."""
    if not path.exists():
        return f"skillsbot: SKILLSBOT_INTERVIEW: {path}: no such file\n"
    return (
        f"skillsbot: SKILLSBOT_INTERVIEW: {path} has 2 problems; the first: question 'a': "
        "unknown type 'nope' (did you mean 'note'?); types are note, consent, text, integer, "
        "decimal, select_one, select_multiple, scale, yes_no, date, acknowledge, calculate; "
        "list them all with "
        f"`skillsbot interview check {path}`\n"
    )


@pytest.mark.parametrize("name", ["missing.yaml", "broken.yaml"])
def test_a_bad_interview_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN_INTERVIEW)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SKILLSBOT_INTERVIEW", str(tmp_path / name))
    with pytest.raises(SystemExit) as caught:
        interview_or_exit(load_settings(env_file=None))
    assert caught.value.code == 2
    assert capsys.readouterr().err == interview_line(tmp_path / name)


def test_a_single_problem_is_the_whole_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("id: x\ntitle: T\nversion: '1'\nsections: []\n")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SKILLSBOT_INTERVIEW", str(path))
    with pytest.raises(SystemExit):
        interview_or_exit(load_settings(env_file=None))
    assert capsys.readouterr().err == (
        f"skillsbot: SKILLSBOT_INTERVIEW: {path}: line 4: 'sections' must be a list of sections\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["missing.yaml", "broken.yaml"])
def test_skillsbot_run_with_a_bad_interview_prints_one_line_and_exits_2(
    tmp_path: Path, name: str
) -> None:
    import os

    (tmp_path / "broken.yaml").write_text(BROKEN_INTERVIEW)
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, SKILLSBOT_INTERVIEW=str(tmp_path / name))
    result = _skillsbot_run(env, tmp_path)
    assert (result.returncode, result.stderr) == (2, interview_line(tmp_path / name))
