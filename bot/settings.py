"""The bot's settings, read from the environment and an optional `.env` file.

A missing or malformed setting becomes a `SettingsError` whose message is one line naming
the variable; `settings_or_exit` prints it and exits with code 2, never a traceback. The
bot token is a `SecretStr`: it is never logged or printed.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.retry import RetryPolicy
from conversations.areas import DEFAULT_AREA, UnknownArea

if TYPE_CHECKING:  # the types only: the loader brings lark, a tenth of a second of --help
    from conversations.definition import Interview
    from conversations.loader import DefinitionError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_WEBHOOK_URL = re.compile(r"^https?://[^\s/?#]+[^\s#]*$")
_LISTEN = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):(?P<port>\d{1,5})")
_BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")
WEAK_WEBHOOK_SECRET = (
    "SKILLSBOT_WEBHOOK_SECRET must be 32 to 256 random letters, digits, _ or - "
    "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
)
MISSING_WEBHOOK_SECRET = (
    "SKILLSBOT_WEBHOOK_SECRET is not set; webhook mode (SKILLSBOT_WEBHOOK_URL) needs it "
    "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
)
# The token of settings read with `needs_token=False` (bot id 0: Telegram has no such bot).
NO_TOKEN = "0:no-token-needed"
TOKEN_NOT_SET = "TELEGRAM_BOT_TOKEN is not set"

# What to say when a variable is present but cannot be used (one line each).
_MALFORMED = {
    "TELEGRAM_BOT_TOKEN": "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)",
    "TELEGRAM_API_URL": "TELEGRAM_API_URL must be an http:// or https:// URL",
    "DATABASE_URL": "DATABASE_URL must be a database URL such as sqlite:///./skillsbot.db",
    "SKILLSBOT_INTERVIEW": "SKILLSBOT_INTERVIEW must be the path of an interview definition",
    "SKILLSBOT_AREA": "SKILLSBOT_AREA must name an LSIP area",
    "SKILLSBOT_ADMINS": "SKILLSBOT_ADMINS must be comma-separated Telegram user ids",
    "SKILLSBOT_TIMEZONE": "SKILLSBOT_TIMEZONE must be a time zone name such as Europe/London",
    "SKILLSBOT_LOG_LEVEL": "SKILLSBOT_LOG_LEVEL must be one of " + ", ".join(LOG_LEVELS),
    "SKILLSBOT_BROADCAST_RATE": "SKILLSBOT_BROADCAST_RATE must be messages a second (e.g. 25)",
    "SKILLSBOT_TELEGRAM_LIBRARY": "SKILLSBOT_TELEGRAM_LIBRARY must be aiogram or ptb",
    "SKILLSBOT_REMINDER_DELAYS": "SKILLSBOT_REMINDER_DELAYS must be increasing delays like 2d,5d",
    "SKILLSBOT_QUIET_HOURS": "SKILLSBOT_QUIET_HOURS must be local times like 20:00-08:00",
    "SKILLSBOT_REMINDER_WEEKENDS": "SKILLSBOT_REMINDER_WEEKENDS must be true or false",
    "SKILLSBOT_MAX_REMINDERS": "SKILLSBOT_MAX_REMINDERS must be a whole number from 0 to 10",
    "SKILLSBOT_ANALYSTS": "SKILLSBOT_ANALYSTS must be comma-separated Telegram user ids",
    "SKILLSBOT_WEEKLY_CRON": "SKILLSBOT_WEEKLY_CRON must be a weekday and time like mon 08:00",
    "SKILLSBOT_DISPATCH_SECONDS": "SKILLSBOT_DISPATCH_SECONDS must be seconds (e.g. 30)",
    "SKILLSBOT_INBOX_RETENTION_DAYS": "SKILLSBOT_INBOX_RETENTION_DAYS must be days from 2 to 365",
    "SKILLSBOT_WEBHOOK_URL": "SKILLSBOT_WEBHOOK_URL must be the https:// URL Telegram posts to",
    "SKILLSBOT_WEBHOOK_LISTEN": "SKILLSBOT_WEBHOOK_LISTEN must be host:port, e.g. 127.0.0.1:8443",
    "SKILLSBOT_WEBHOOK_MAX_CONNECTIONS": (
        "SKILLSBOT_WEBHOOK_MAX_CONNECTIONS must be a whole number from 1 to 100"
    ),
    "TELEGRAM_BOT_USERNAME": "TELEGRAM_BOT_USERNAME is not a Telegram bot username",
    "SKILLSBOT_PLAYGROUND_PORT": "SKILLSBOT_PLAYGROUND_PORT must be a port number (1-65535)",
    "SKILLSBOT_TELEGRAM_ATTEMPTS": (
        "SKILLSBOT_TELEGRAM_ATTEMPTS must be a whole number of tries from 1 to 20"
    ),
    "SKILLSBOT_TELEGRAM_BACKOFF_CAP": (
        "SKILLSBOT_TELEGRAM_BACKOFF_CAP must be seconds from 1 to 600"
    ),
    "SKILLSBOT_MIN_BASE": "SKILLSBOT_MIN_BASE must be a whole number of at least 1 (e.g. 5)",
    "SKILLSBOT_MIN_PERCENT_BASE": (
        "SKILLSBOT_MIN_PERCENT_BASE must be a whole number of at least 1 (e.g. 25)"
    ),
    "SKILLSBOT_CAUTION_BASE": (
        "SKILLSBOT_CAUTION_BASE must be a whole number of at least 1 (e.g. 50)"
    ),
}


class SettingsError(Exception):
    """A setting is missing or malformed; `str()` is one line naming the variable."""


class Settings(BaseSettings):
    """Every setting of the bot and the command line, by environment variable.

    Read once per process (`load_settings`, `settings_or_exit`) and handed down: nothing
    else reads the environment or `.env` (tests/test_settings_sources.py checks)."""

    # The defaults are valid as written: not validated, so that reading the settings loads
    # no database or scheduler library unless a variable asks for one.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=False,
    )

    token: SecretStr = Field(validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN"))
    api_url: str = Field(
        default="https://api.telegram.org", validation_alias=AliasChoices("TELEGRAM_API_URL")
    )
    # For invite and campaign links; without it they ask getMe (with the token).
    bot_username: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_USERNAME")
    )
    database_url: str = Field(
        default="sqlite:///./skillsbot.db", validation_alias=AliasChoices("DATABASE_URL")
    )
    interview_path: Path | None = Field(
        default=None, validation_alias=AliasChoices("SKILLSBOT_INTERVIEW")
    )
    area: str = Field(default=DEFAULT_AREA, validation_alias=AliasChoices("SKILLSBOT_AREA"))
    admins: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), validation_alias=AliasChoices("SKILLSBOT_ADMINS")
    )
    timezone: str = Field(
        default="Europe/London", validation_alias=AliasChoices("SKILLSBOT_TIMEZONE")
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("SKILLSBOT_LOG_LEVEL"))
    # The library that parses updates and sends the employer's replies (`bot.transports`).
    telegram_library: Literal["aiogram", "ptb"] = Field(
        default="aiogram", validation_alias=AliasChoices("SKILLSBOT_TELEGRAM_LIBRARY")
    )
    broadcast_rate: float = Field(
        default=25.0, gt=0, le=1000, validation_alias=AliasChoices("SKILLSBOT_BROADCAST_RATE")
    )
    reminder_delays: Annotated[tuple[timedelta, ...], NoDecode] = Field(
        default=(timedelta(days=2), timedelta(days=5)),
        validation_alias=AliasChoices("SKILLSBOT_REMINDER_DELAYS"),
    )
    quiet_hours: Annotated[tuple[time, time], NoDecode] = Field(
        default=(time(20, 0), time(8, 0)), validation_alias=AliasChoices("SKILLSBOT_QUIET_HOURS")
    )
    reminder_weekends: bool = Field(
        default=False, validation_alias=AliasChoices("SKILLSBOT_REMINDER_WEEKENDS")
    )
    max_reminders: int = Field(
        default=2, ge=0, le=10, validation_alias=AliasChoices("SKILLSBOT_MAX_REMINDERS")
    )
    # Percentages on a smaller base are not published (read by analytics.disclosure too,
    # so that `skillsbot report` honours it without the bot's settings).
    min_percent_base: int = Field(
        default=25, ge=1, validation_alias=AliasChoices("SKILLSBOT_MIN_PERCENT_BASE")
    )
    # Percentages on a smaller base are marked "treat with caution" (*).
    caution_base: int = Field(
        default=50, ge=1, validation_alias=AliasChoices("SKILLSBOT_CAUTION_BASE")
    )
    # Counts about fewer employers are not published.
    min_base: int = Field(default=5, ge=1, validation_alias=AliasChoices("SKILLSBOT_MIN_BASE"))
    analysts: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), validation_alias=AliasChoices("SKILLSBOT_ANALYSTS")
    )
    weekly_cron: str = Field(  # a crontab line in `timezone`; `mon 08:00` is read as one
        default="0 8 * * mon", validation_alias=AliasChoices("SKILLSBOT_WEEKLY_CRON")
    )
    dispatch_seconds: float = Field(
        default=30.0, gt=0, le=3600, validation_alias=AliasChoices("SKILLSBOT_DISPATCH_SECONDS")
    )
    # How long the inbox remembers a handled update's id (Telegram re-delivers for 24 h).
    inbox_retention_days: float = Field(
        default=7.0, ge=2, le=365, validation_alias=AliasChoices("SKILLSBOT_INBOX_RETENTION_DAYS")
    )
    # Webhook mode (bot.runtime.webhook): with a URL set, Telegram posts updates to us; without,
    # we poll. The secret is required then (see `_webhook_needs_secret`).
    webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SKILLSBOT_WEBHOOK_URL")
    )
    webhook_listen: str = Field(
        default="127.0.0.1:8443", validation_alias=AliasChoices("SKILLSBOT_WEBHOOK_LISTEN")
    )
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SKILLSBOT_WEBHOOK_SECRET")
    )
    webhook_max_connections: int = Field(
        default=40,
        ge=1,
        le=100,
        validation_alias=AliasChoices("SKILLSBOT_WEBHOOK_MAX_CONNECTIONS"),
    )
    playground_port: int = Field(
        default=8080, ge=1, le=65535, validation_alias=AliasChoices("SKILLSBOT_PLAYGROUND_PORT")
    )
    # The Telegram retry policy (bot/retry.py): tries of one Bot API call in all (429s,
    # 5xx and network errors), and the longest wait between two.
    telegram_attempts: int = Field(
        default=6, ge=1, le=20, validation_alias=AliasChoices("SKILLSBOT_TELEGRAM_ATTEMPTS")
    )
    telegram_backoff_cap: float = Field(
        default=30.0,
        ge=1,
        le=600,
        validation_alias=AliasChoices("SKILLSBOT_TELEGRAM_BACKOFF_CAP"),
    )

    @field_validator("bot_username", mode="before")
    @classmethod
    def _bot_username(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lstrip("@")
            if not value:
                return None
            if not _BOT_USERNAME.match(value):
                raise ValueError("malformed")
        return value

    # Why the token is the stand-in, when read with `needs_token=False`: TOKEN_NOT_SET or
    # the line saying it is malformed.
    _token_problem: str | None = PrivateAttr(default=None)

    @property
    def has_token(self) -> bool:
        """Whether TELEGRAM_BOT_TOKEN is set (not the stand-in of `needs_token=False`)."""
        return self.token.get_secret_value() != NO_TOKEN

    @property
    def token_problem(self) -> str | None:
        """Why there is no usable token (one line), or None when there is one."""
        if self.has_token:
            return None
        return self._token_problem or TOKEN_NOT_SET

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not _WEBHOOK_URL.match(value):
                raise ValueError("malformed")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        found = _LISTEN.fullmatch(value.strip())
        if found is None or not 1 <= int(found["port"]) <= 65535:
            raise ValueError("malformed")
        return value.strip()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not (
            _WEBHOOK_SECRET.fullmatch(value) and len(set(value)) >= 10
        ):
            raise ValueError(WEAK_WEBHOOK_SECRET)
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError(MISSING_WEBHOOK_SECRET)
        return self

    @property
    def webhook_address(self) -> tuple[str, int]:
        """SKILLSBOT_WEBHOOK_LISTEN as (host, port); an IPv6 host without its brackets."""
        found = _LISTEN.fullmatch(self.webhook_listen)
        assert found is not None  # checked when read
        return found["host"].strip("[]"), int(found["port"])

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value()):
            raise ValueError("malformed")
        return value

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("malformed")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # SQLAlchemy is loaded only when DATABASE_URL is set, like the follow-up parsers below.
        from storage.db import normalise_url

        value = value.strip()
        if not re.match(r"^[a-z][a-z0-9+]*://", value):
            raise ValueError("malformed")
        normalise_url(value)  # its InvalidDatabaseURL says what is wrong (see _first_problem)
        return value

    @field_validator("interview_path", mode="before")
    @classmethod
    def _blank_path_is_builtin(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("area")
    @classmethod
    def _area(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("malformed")
        return value.strip()

    @field_validator("admins", "analysts", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"\d{1,15}", part) for part in parts):
                raise ValueError("malformed")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("malformed") from error
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError("malformed")
        return level

    # The schedule parsers (bot.core.schedule_rules) need no Telegram layer; imported only when a
    # variable is set, so that reading the settings loads neither aiogram nor APScheduler.
    @field_validator("reminder_delays", mode="before")
    @classmethod
    def _delays(cls, value: Any) -> Any:
        if isinstance(value, str):
            from bot.core.schedule_rules import parse_delays

            return parse_delays(value)
        return value

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: Any) -> Any:
        if isinstance(value, str):
            from bot.core.schedule_rules import parse_quiet_hours

            return parse_quiet_hours(value)
        return value

    @field_validator("weekly_cron")
    @classmethod
    def _weekly_cron(cls, value: str) -> str:
        from bot.core.schedule_rules import parse_weekly_cron

        return parse_weekly_cron(value)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone in which times are shown to people."""
        return ZoneInfo(self.timezone)

    @property
    def report(self) -> ReportSettings:
        """The weekly report's area, thresholds and zone, as these settings give them."""
        return ReportSettings(
            area=self.area,
            min_base=self.min_base,
            min_percent_base=self.min_percent_base,
            caution_base=self.caution_base,
            zone=self.zone,
        )


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """What a weekly report needs of the settings (`Settings.report`): the area, the three
    thresholds and the zone its weeks and times are in. Derived from the one `Settings`
    read, never read from the environment on its own."""

    area: str = DEFAULT_AREA
    min_base: int = 5
    min_percent_base: int = 25
    caution_base: int = 50
    # SKILLSBOT_TIMEZONE's: no default, so that none is missed.
    zone: ZoneInfo = field(kw_only=True)


def retry_policy(settings: Settings) -> RetryPolicy:
    """The Telegram retry policy the settings describe (`bot.retry`)."""
    return RetryPolicy(attempts=settings.telegram_attempts, cap=settings.telegram_backoff_cap)


def load_settings(*, env_file: Path | str | None = ".env", needs_token: bool = True) -> Settings:
    """Read the settings; raise `SettingsError` naming the first bad variable.

    A command that never needs Telegram passes `needs_token=False`: TELEGRAM_BOT_TOKEN is
    then not required, and when it is missing or unusable `token` holds a stand-in that no
    bot accepts (`has_token` is False).
    """
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as error:
        token_problems = [problem for problem in error.errors() if _names_token(problem)]
        if needs_token or not token_problems:
            raise SettingsError(_first_problem(error)) from None
    try:
        settings = Settings(_env_file=env_file, TELEGRAM_BOT_TOKEN=NO_TOKEN)  # type: ignore[call-arg]
    except ValidationError as error:
        raise SettingsError(_first_problem(error)) from None
    settings._token_problem = _problem_line(token_problems[0])
    return settings


def run_settings_or_exit(*, env_file: Path | str | None = ".env") -> Settings:
    """What `skillsbot run` reads and checks first, before the Telegram layer is imported:
    the settings (a missing token means the playground; a malformed one exits 2) and, with a
    token, the interview; any problem is one line and exit 2."""
    settings = settings_or_exit(env_file=env_file, needs_token=False)
    if settings.token_problem not in (None, TOKEN_NOT_SET):
        exit_with(str(settings.token_problem), code=2)
    if settings.has_token:
        interview_or_exit(settings)
    return settings


def _names_token(problem: Any) -> bool:
    return bool(problem["loc"]) and str(problem["loc"][0]).upper() == "TELEGRAM_BOT_TOKEN"


def settings_or_exit(*, env_file: Path | str | None = ".env", needs_token: bool = True) -> Settings:
    """Read the settings, or print one line naming the bad variable and exit with code 2."""
    try:
        return load_settings(env_file=env_file, needs_token=needs_token)
    except SettingsError as error:
        print(f"skillsbot: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _first_problem(error: ValidationError) -> str:
    for problem in error.errors():
        line = _problem_line(problem)
        if line is not None:
            return line
    return "the settings could not be read"


def _problem_line(problem: Any) -> str | None:
    variable = str(problem["loc"][0]).upper() if problem["loc"] else ""
    if problem["type"] == "missing":
        return f"{variable} is not set"
    if variable == "TELEGRAM_BOT_TOKEN" and not str(problem.get("input") or "").strip():
        return TOKEN_NOT_SET
    detail = str((problem.get("ctx") or {}).get("error", ""))
    if detail.startswith(f"{variable} "):  # the validator's own line, naming the variable
        return detail
    if not variable and detail.startswith("SKILLSBOT_"):  # a rule across variables
        return detail
    return _MALFORMED.get(variable)


def exit_with(message: str, *, code: int) -> NoReturn:
    """Print `skillsbot: <message>` on standard error and exit with `code`, no traceback."""
    print(f"skillsbot: {message}", file=sys.stderr)
    raise SystemExit(code)


def interview_or_exit(settings: Settings) -> Interview:
    """The interview the settings name (area included), or one line on its problems naming
    SKILLSBOT_INTERVIEW (or SKILLSBOT_AREA) and exit 2."""
    # Imported here: the loader (and lark, its grammar's parser) is for the commands that
    # read an interview, not for every `skillsbot X --help` that imports the settings.
    from conversations.loader import DefinitionError, builtin_interview_path, load_interview

    path = settings.interview_path or builtin_interview_path()
    try:
        return load_interview(path, area=settings.area)
    except DefinitionError as error:
        named = "SKILLSBOT_INTERVIEW" if settings.interview_path else "the built-in interview"
        exit_with(f"{named}: {_definition_problems(path, error)}", code=2)
    except UnknownArea as error:
        exit_with(f"SKILLSBOT_AREA: {error}", code=2)


def _definition_problems(path: Path, error: DefinitionError) -> str:
    """One line on an interview definition's problems: the problem when there is one, else
    how many, the first, and the command that lists them all."""
    problems = error.problems
    if len(problems) == 1:
        return str(problems[0])
    first = str(problems[0]).removeprefix(f"{problems[0].path}: ")
    return (
        f"{path} has {len(problems)} problems; the first: {first}; list them all with "
        f"`skillsbot interview check {shlex.quote(str(path))}`"
    )
