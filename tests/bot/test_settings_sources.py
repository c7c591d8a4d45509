"""One `Settings`, read once: nothing but `bot/settings.py` reads the environment, and a
value written only in `.env` (in the working directory) reaches every command that uses it.

Each command runs through the real CLI (typer's CliRunner on `bot.cli.app`, or the console
script as a subprocess) in a temporary directory holding the `.env`, with the variables
removed from the environment.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.cli.playground import playground_settings
from conversations.areas import districts
from storage import Session, make_engine, upgrade
from storage.roster import employer_listing
from storage.staff import audit_entries

ROOT = Path(__file__).resolve().parents[2]
OURS = ("bot", "storage", "conversations", "analytics")
# Ways of reading the process environment other than through `bot.settings`.
READS_ENVIRONMENT = re.compile(r"os\.environ|os\.getenv|getenv\(|envvar=")
# Far from London, so that a time shown in it cannot be mistaken for London's.
ZONE = "Asia/Tokyo"
AREA = "Norfolk and Suffolk"


def test_nothing_but_the_settings_reads_the_environment() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in OURS
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "bot" / "settings.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if READS_ENVIRONMENT.search(line)
    ]
    assert readers == []


def test_the_check_would_see_a_reader(tmp_path: Path) -> None:
    sample = 'area = os.environ.get("SKILLSBOT_AREA")\nport = typer.Option(8080, envvar="P")\n'
    assert len(READS_ENVIRONMENT.findall(sample)) == 2


READ_SETTINGS = """
import json, sys
from bot.settings import load_settings
settings = load_settings(needs_token=False)
print(json.dumps([settings.weekly_cron, sorted(
    name for name in ("aiogram", "pandas", "sqlalchemy") if name in sys.modules)]))
"""


def test_reading_the_settings_imports_no_telegram_library(tmp_path: Path) -> None:
    env = {
        **_clean(os.environ),
        "SKILLSBOT_WEEKLY_CRON": "0 9 * * 1",
        "SKILLSBOT_REMINDER_DELAYS": "1d,3d",
        "SKILLSBOT_QUIET_HOURS": "21:00-07:00",
    }
    run = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    cron, loaded = json.loads(run.stdout)
    assert cron == "0 9 * * mon"  # the settings were read, through the schedule parsers
    assert loaded == []


# -- a value only in .env reaches each command ------------------------------------------------


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose `.env` names a migrated database; the environment holds
    none of our variables."""
    for name in list(os.environ):
        if _ours(name):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'dotenv.db'}")
    upgrade(engine)
    engine.dispose()
    _write_env(tmp_path)
    return tmp_path


def _write_env(folder: Path, **more: str) -> None:
    values = {
        "DATABASE_URL": f"sqlite:///{folder / 'dotenv.db'}",
        "SKILLSBOT_TIMEZONE": ZONE,
        "SKILLSBOT_AREA": AREA,
        "TELEGRAM_BOT_USERNAME": "lsip_dotenv_bot",
        **more,
    }
    lines = [f"{name}={value}" for name, value in values.items()]
    (folder / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@contextmanager
def _session(folder: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{folder / 'dotenv.db'}")
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _shown(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")


def test_database_url_from_dotenv_reaches_db_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if _ours(name):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    _write_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'named-in-dotenv.db'}")
    result = _cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "named-in-dotenv.db").exists()
    assert not (tmp_path / "skillsbot.db").exists()


def test_timezone_from_dotenv_reaches_staff_list_and_audit(here: Path) -> None:
    assert _cli("staff", "add", "1001", "analyst").exit_code == 0
    with _session(here) as session:
        entry = audit_entries(session, limit=1)[0]
    listing = _cli("staff", "list")
    audit = _cli("staff", "audit")
    assert listing.exit_code == 0, listing.output
    assert _shown(entry.at) in audit.stdout
    assert _shown(entry.at)[:10] in listing.stdout


def test_area_and_timezone_from_dotenv_reach_employers_list(here: Path) -> None:
    district = districts(AREA)[0]
    (here / "list.csv").write_text(
        f"organisation,district\nBroads Boatyard,{district.name}\n", encoding="utf-8"
    )
    imported = _cli("employers", "import", "list.csv")
    assert imported.exit_code == 0, imported.output  # a Norfolk district is known
    listed = _cli("employers", "list", "--district", district.name)
    assert listed.exit_code == 0, listed.output
    assert "Broads Boatyard" in listed.stdout
    with _session(here) as session:
        [employer] = employer_listing(session)
    assert _shown(employer.updated_at) in listed.stdout


def test_bot_username_from_dotenv_reaches_invites_and_campaign_links(here: Path) -> None:
    (here / "list.csv").write_text("organisation\nBroads Boatyard\n", encoding="utf-8")
    assert _cli("employers", "import", "list.csv").exit_code == 0
    invites = _cli("employers", "invites", "--out", "invites.csv")
    assert invites.exit_code == 0, invites.output
    with (here / "invites.csv").open(encoding="utf-8") as file:
        [row] = list(csv.DictReader(file))
    assert row["link"].startswith("https://t.me/lsip_dotenv_bot?start=")
    link = _cli("campaign", "link", "Spring fair")
    assert link.exit_code == 0, link.output
    assert link.stdout.startswith("https://t.me/lsip_dotenv_bot?start=c-")


def test_area_from_dotenv_reaches_demo_seed_and_interview_export(here: Path) -> None:
    seeded = _cli("demo", "seed", "--employers", "3", "--weeks", "1")
    assert seeded.exit_code == 0, seeded.output
    assert f"({AREA}," in seeded.stdout
    exported = _cli("interview", "export", "--format", "yaml", "--out", "lsip.yaml")
    assert exported.exit_code == 0, exported.output
    text = (here / "lsip.yaml").read_text(encoding="utf-8")
    assert districts(AREA)[0].name in text
    assert "Cambridge" not in text.split("district", 1)[1][:2000]


def test_timezone_from_dotenv_reaches_broadcast_send_times(here: Path) -> None:
    result = _cli("broadcast", "send", "--text", "News", "--at", "2000-01-01 09:00", "--yes")
    assert result.exit_code == 2
    assert result.output.strip().endswith("(Asia/Tokyo time).")


def test_playground_port_from_dotenv(here: Path) -> None:
    _write_env(here, SKILLSBOT_PLAYGROUND_PORT="8123")
    assert playground_settings().playground_port == 8123


RUN = [
    sys.executable,
    "-c",
    "import sys; from bot.cli import main; sys.argv = ['skillsbot', *sys.argv[1:]]; main()",
]


def test_the_console_script_reads_dotenv_for_run(here: Path) -> None:
    # A token only in .env: `run` checks the other settings, and names the bad one.
    _write_env(here, TELEGRAM_BOT_TOKEN="123:abc", SKILLSBOT_WEEKLY_CRON="someday")
    env = _clean(os.environ)
    bad = subprocess.run(
        [*RUN, "run"], capture_output=True, text=True, timeout=120, env=env, cwd=here, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "skillsbot: SKILLSBOT_WEEKLY_CRON must be a weekday and time like mon 08:00"
    )
    # No token, and .env's DATABASE_URL holds a real bot's data: refused, not the playground.
    _write_env(here)
    assert _cli("staff", "add", "1001", "admin").exit_code == 0
    refused = subprocess.run(
        [*RUN, "run"], capture_output=True, text=True, timeout=120, env=env, cwd=here, check=False
    )
    assert refused.returncode == 2, refused.stderr
    assert "holds real data" in refused.stderr


def _ours(name: str) -> bool:
    return name.startswith(("SKILLSBOT_", "TELEGRAM_")) or name == "DATABASE_URL"


def _clean(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if not _ours(name)}
