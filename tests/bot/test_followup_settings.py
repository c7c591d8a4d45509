"""Follow-up settings: reminder delays, quiet hours, weekends, how many, analysts, the weekly
cron and the dispatch interval; defaults, parsing, and one clear line (exit 2) when wrong."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from bot.settings import SettingsError, load_settings, settings_or_exit

VARIABLES = (
    "SKILLSBOT_REMINDER_DELAYS",
    "SKILLSBOT_QUIET_HOURS",
    "SKILLSBOT_REMINDER_WEEKENDS",
    "SKILLSBOT_MAX_REMINDERS",
    "SKILLSBOT_ANALYSTS",
    "SKILLSBOT_WEEKLY_CRON",
    "SKILLSBOT_DISPATCH_SECONDS",
)
TOKEN = "123456:AAH-secret_token"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)


def test_defaults() -> None:
    settings = load_settings(env_file=None)
    assert settings.reminder_delays == (timedelta(days=2), timedelta(days=5))
    assert settings.quiet_hours == (time(20, 0), time(8, 0))
    assert settings.reminder_weekends is False
    assert settings.max_reminders == 2
    assert settings.analysts == frozenset()
    assert settings.weekly_cron == "0 8 * * mon"
    assert settings.dispatch_seconds == 30.0


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLSBOT_REMINDER_DELAYS", "12h, 3d,7d")
    monkeypatch.setenv("SKILLSBOT_QUIET_HOURS", "21:30-07:00")
    monkeypatch.setenv("SKILLSBOT_REMINDER_WEEKENDS", "true")
    monkeypatch.setenv("SKILLSBOT_MAX_REMINDERS", "3")
    monkeypatch.setenv("SKILLSBOT_ANALYSTS", " 41, 42,")
    monkeypatch.setenv("SKILLSBOT_WEEKLY_CRON", "Friday 17:30")
    monkeypatch.setenv("SKILLSBOT_DISPATCH_SECONDS", "5")
    settings = load_settings(env_file=None)
    assert settings.reminder_delays == (timedelta(hours=12), timedelta(days=3), timedelta(days=7))
    assert settings.quiet_hours == (time(21, 30), time(7, 0))
    assert settings.reminder_weekends is True
    assert settings.max_reminders == 3
    assert settings.analysts == frozenset({41, 42})
    assert settings.weekly_cron == "30 17 * * fri"
    assert settings.dispatch_seconds == 5.0


@pytest.mark.parametrize(
    ("text", "crontab"),
    [
        ("mon 08:00", "0 8 * * mon"),
        ("wednesday 9:05", "5 9 * * wed"),
        ("0 8 * * 1", "0 8 * * mon"),  # cron's day 1 is Monday (APScheduler's is Tuesday)
    ],
)
def test_the_weekly_cron_is_a_day_and_time_or_a_crontab_line(
    monkeypatch: pytest.MonkeyPatch, text: str, crontab: str
) -> None:
    monkeypatch.setenv("SKILLSBOT_WEEKLY_CRON", text)
    assert load_settings(env_file=None).weekly_cron == crontab


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "SKILLSBOT_REMINDER_DELAYS",
            "5d,2d",
            "SKILLSBOT_REMINDER_DELAYS must be increasing delays like 2d,5d",
        ),
        (
            "SKILLSBOT_REMINDER_DELAYS",
            "two days",
            "SKILLSBOT_REMINDER_DELAYS must be increasing delays like 2d,5d",
        ),
        (
            "SKILLSBOT_QUIET_HOURS",
            "25:00-08:00",
            "SKILLSBOT_QUIET_HOURS must be local times like 20:00-08:00",
        ),
        (
            "SKILLSBOT_REMINDER_WEEKENDS",
            "sometimes",
            "SKILLSBOT_REMINDER_WEEKENDS must be true or false",
        ),
        (
            "SKILLSBOT_MAX_REMINDERS",
            "-1",
            "SKILLSBOT_MAX_REMINDERS must be a whole number from 0 to 10",
        ),
        (
            "SKILLSBOT_MAX_REMINDERS",
            "two",
            "SKILLSBOT_MAX_REMINDERS must be a whole number from 0 to 10",
        ),
        (
            "SKILLSBOT_ANALYSTS",
            "41,carol",
            "SKILLSBOT_ANALYSTS must be comma-separated Telegram user ids",
        ),
        (
            "SKILLSBOT_WEEKLY_CRON",
            "mon 8am",
            "SKILLSBOT_WEEKLY_CRON must be a weekday and time like mon 08:00",
        ),
        (
            "SKILLSBOT_WEEKLY_CRON",
            "0 25 * * mon",
            "SKILLSBOT_WEEKLY_CRON must be a weekday and time like mon 08:00",
        ),
        ("SKILLSBOT_DISPATCH_SECONDS", "0", "SKILLSBOT_DISPATCH_SECONDS must be seconds (e.g. 30)"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert str(caught.value) == message


def test_settings_or_exit_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKILLSBOT_QUIET_HOURS", "evenings")
    with pytest.raises(SystemExit) as caught:
        settings_or_exit(env_file=None)
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "skillsbot: SKILLSBOT_QUIET_HOURS must be local times like 20:00-08:00\n"
    )
