"""`skillsbot staff`, `skillsbot employers` and `skillsbot campaign` through the real CLI."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from PIL import Image
from sqlmodel import Session
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.cli.staff import MENU_FOLLOWS, local_time
from storage import Employer, Engine, make_engine, upgrade, utcnow
from storage.roster import employer_listing, invite_entry, token_hash
from storage.staff import audit_entries, role_of, staff_members

HEADER = "Organisation,Contact name,Email,Phone,Sector,District,Size band,Notes\n"
GOOD = (
    HEADER
    + "Fen Bakery,Anna Smith,anna@fenbakery.example,01354 000000,Manufacturing,Fenland,12,\n"
    + "Ely Builders,,,,construction,East Cambridgeshire,250+,\n"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI run: a migrated SQLite database and a bot username."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TELEGRAM_BOT_USERNAME": "lsip_test_bot",
        "SKILLSBOT_AREA": "Cambridgeshire and Peterborough",
        "TELEGRAM_BOT_TOKEN": "",
    }


@pytest.fixture
def db(env: dict[str, str]) -> Iterator[Engine]:
    """The migrated database the CLI runs use."""
    engine = make_engine(env["DATABASE_URL"])
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_adds_then_updates_and_is_audited(
    tmp_path: Path, env: dict[str, str], db: Engine
) -> None:
    path = write(tmp_path, GOOD)
    first = run(env, "employers", "import", str(path))
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "added 2, updated 0, skipped 0"
    again = run(env, "employers", "import", str(path))
    assert again.stdout.strip() == "added 0, updated 2, skipped 0"
    with Session(db) as session:
        assert len(employer_listing(session)) == 2
        (latest, earlier) = audit_entries(session, action="employers.import")
    assert latest.actor.startswith("cli:")
    assert (latest.count, earlier.count) == (2, 2)
    assert "anna" not in latest.detail.casefold()


def test_a_file_with_errors_imports_nothing_unless_told_to_skip(
    tmp_path: Path, env: dict[str, str], db: Engine
) -> None:
    path = write(tmp_path, GOOD + "Acme,,bob@,,Constrution,,,\n,,,,,Fenland,,\n")
    refused = run(env, "employers", "import", str(path))
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        "row 4: bad email 'bob@'; unknown sector 'Constrution' (did you mean Construction?)",
        "row 5: missing organisation",
        "Nothing imported: 2 rows have problems. Fix them, or use --skip-bad-rows to import "
        "the other 2.",
    ]
    with Session(db) as session:
        assert employer_listing(session) == []
    skipped = run(env, "employers", "import", str(path), "--skip-bad-rows")
    assert skipped.exit_code == 0, skipped.output
    assert skipped.stdout.strip() == "added 2, updated 0, skipped 2"


def test_many_bad_rows_print_a_screenful_and_a_count(
    tmp_path: Path, env: dict[str, str], db: Engine
) -> None:
    bad = "".join(f"Firm {n},,bad-{n}@,,,,,\n" for n in range(500))
    path = write(tmp_path, GOOD + bad)
    refused = run(env, "employers", "import", str(path))
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert len(lines) == 22  # 20 problems, the count of the rest, the summary
    assert lines[0] == "row 4: bad email 'bad-0@'"
    assert lines[19] == "row 23: bad email 'bad-19@'"
    assert lines[20].startswith("... and 480 more rows with problems (500 in all)")
    assert lines[21].startswith("Nothing imported: 500 rows have problems.")


def test_a_hostile_file_is_one_clean_line(tmp_path: Path, env: dict[str, str], db: Engine) -> None:
    path = write(tmp_path, "Organisation," + ",".join(["x"] * 20_000) + "\n", "wide\x1b[2J.csv")
    refused = run(env, "employers", "import", str(path))
    assert refused.exit_code == 1
    assert len(refused.stderr.splitlines()) == 1
    assert "20,001 columns" in refused.stderr
    assert "\x1b" not in refused.stderr  # not even from the file's name


def test_dry_run_changes_nothing(tmp_path: Path, env: dict[str, str], db: Engine) -> None:
    result = run(env, "employers", "import", str(write(tmp_path, GOOD)), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would have added 2, updated 0, skipped 0" in result.stdout
    with Session(db) as session:
        assert employer_listing(session) == []
        assert audit_entries(session) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Name,Email\nAnna,a@b.example\n", "list.csv has no organisation column"),
        (b"", "list.csv is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", "list.csv is not a spreadsheet"),
    ],
)
def test_unusable_files_are_one_line_and_exit_1(
    tmp_path: Path, env: dict[str, str], db: Engine, content: bytes, message: str
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    result = run(env, "employers", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_xlsx_formulas_are_stored_as_text(tmp_path: Path, env: dict[str, str], db: Engine) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Company", "Notes"])
    sheet.append(["Fen Bakery", '=WEBSERVICE("http://evil.example")'])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    assert run(env, "employers", "import", str(path)).exit_code == 0
    with Session(db) as session:
        (employer,) = employer_listing(session)
    assert employer.notes == '=WEBSERVICE("http://evil.example")'


def test_ten_thousand_rows_import_in_one_run(
    tmp_path: Path, env: dict[str, str], db: Engine
) -> None:
    rows = "".join(
        f"Firm {n},,owner{n}@firm{n}.example,,Construction,Fenland,{n % 400 + 1},\n"
        for n in range(10_000)
    )
    path = write(tmp_path, HEADER + rows)
    # How fast: benchmarks/bench_roster_import.py (a timed assert fails on a loaded machine).
    result = run(env, "employers", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "added 10000, updated 0, skipped 0"


def test_invites_write_links_and_qr_codes_and_mark_invited(
    tmp_path: Path, env: dict[str, str], db: Engine
) -> None:
    assert run(env, "employers", "import", str(write(tmp_path, GOOD))).exit_code == 0
    out = tmp_path / "invites.csv"
    result = run(env, "employers", "invites", "--out", str(out), "--qr", str(tmp_path / "qr"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Wrote 2 invites to")
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["organisation"] for row in rows] == ["Fen Bakery", "Ely Builders"]
    assert rows[0]["email"] == "anna@fenbakery.example"
    assert all(row["link"].startswith("https://t.me/lsip_test_bot?start=") for row in rows)
    pngs = sorted(path.name for path in (tmp_path / "qr").iterdir())
    assert [name.split("-", 1)[1] for name in pngs] == ["fen-bakery.png", "ely-builders.png"]
    with Image.open(tmp_path / "qr" / pngs[0]) as image:
        assert image.format == "PNG"
    with Session(db) as session:
        assert {e.status for e in employer_listing(session)} == {"invited"}
    tokens = [row["link"].rsplit("=", 1)[1] for row in rows]
    # invited already: the default (listed) finds nobody; --status invited issues new links
    assert run(env, "employers", "invites", "--out", str(out)).stdout.startswith("Wrote 0 invites")
    resend = run(env, "employers", "invites", "--out", str(out), "--status", "invited")
    assert resend.stdout.startswith("Wrote 2 invites")
    with out.open(encoding="utf-8-sig", newline="") as file:
        new_tokens = [row["link"].rsplit("=", 1)[1] for row in csv.DictReader(file)]
    with Session(db) as session:
        stored = [e.invite_token_hash for e in employer_listing(session)]
        assert invite_entry(session, token=tokens[0]) is None  # the old link is void
        assert invite_entry(session, token=new_tokens[0]) is not None
    assert sorted(stored) == sorted(token_hash(token) for token in new_tokens)
    assert not set(tokens) & set(new_tokens)
    files = [Path(f"{db.url.database}{tail}") for tail in ("", "-wal")]
    raw = b"".join(file.read_bytes() for file in files if file.exists())
    assert not any(token.encode() in raw for token in tokens + new_tokens)  # only hashes


def test_invites_need_a_bot_username(tmp_path: Path, env: dict[str, str], db: Engine) -> None:
    env = {**env, "TELEGRAM_BOT_USERNAME": ""}
    result = run(env, "employers", "invites", "--out", str(tmp_path / "i.csv"))
    assert result.exit_code == 1
    assert "set TELEGRAM_BOT_USERNAME" in result.stderr
    assert not (tmp_path / "i.csv").exists()


def test_list_shows_a_filtered_table(tmp_path: Path, env: dict[str, str], db: Engine) -> None:
    assert run(env, "employers", "import", str(write(tmp_path, GOOD))).exit_code == 0
    result = run(env, "employers", "list", "--sector", "Construction")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "organisation",
        "sector",
        "district",
        "size",
        "status",
        "opted",
        "out",
        "updated",
    ]
    assert lines[2].startswith("Ely Builders  Construction  East Cambridgeshire  250+")
    assert lines[-1] == "1 employer, 0 opted out"
    by_district = run(env, "employers", "list", "--district", "fenland", "--status", "listed")
    assert "Fen Bakery" in by_district.stdout
    assert "Ely Builders" not in by_district.stdout
    assert run(env, "employers", "list", "--status", "started").stdout.strip() == (
        "No employers match."
    )
    bad = run(env, "employers", "list", "--district", "Norwich")
    assert bad.exit_code == 2
    assert "not in Cambridgeshire and Peterborough" in bad.stderr


def test_list_shows_statuses_in_words_and_the_ess_sector_names(
    env: dict[str, str], db: Engine
) -> None:
    now = utcnow()
    with Session(db) as session, session.begin():
        session.add(
            Employer(
                organisation="Fen Farm",
                sector="primary_utilities",
                status="opted_out",
                created_at=now,
                updated_at=now,
            )
        )
        session.add(
            Employer(
                organisation="Odd Jobs",
                sector="other",
                status="started",
                created_at=now,
                updated_at=now,
            )
        )
    result = run(env, "employers", "list")
    assert result.exit_code == 0, result.output
    farm, odd = result.stdout.splitlines()[2:4]
    assert "Primary Sector and Utilities" in farm
    assert "Asked for no more messages" in farm
    assert "Other" in odd
    assert "Started, not finished" in odd
    for internal in ("opted_out", "primary_utilities", "other", "started"):
        assert internal not in result.stdout


def test_times_are_shown_in_the_zone_given() -> None:
    london, paris = ZoneInfo("Europe/London"), ZoneInfo("Europe/Paris")
    assert local_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), london) == "2026-07-01 13:00"
    assert local_time(datetime(2026, 1, 1, 12, 0, tzinfo=UTC), london) == "2026-01-01 12:00"
    assert local_time(datetime(2026, 1, 1, 12, 0, tzinfo=UTC), paris) == "2026-01-01 13:00"


def test_staff_roles_from_the_command_line(env: dict[str, str], db: Engine) -> None:
    added = run(env, "staff", "add", "1001", "Analyst")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == f"1001 is now analyst. {MENU_FOLLOWS}"
    listing = run(env, "staff", "list")
    assert "1001" in listing.stdout
    assert "analyst" in listing.stdout
    removed = run(env, "staff", "remove", "1001").stdout.strip()
    assert removed == f"1001 no longer has a role. {MENU_FOLLOWS}"
    assert run(env, "staff", "remove", "1001").stdout.strip() == "1001 had no role."
    for given in ("99999999999999999999", "١٢٣", "²³", "0", "1_001", "+1001", " 1001", "1001 "):
        refused = run(env, "staff", "add", given, "admin")
        assert refused.exit_code == 2, given
        assert "Invalid value for 'user_id'" in refused.stderr, given
    bad = run(env, "staff", "add", "1001", "boss")
    assert bad.exit_code == 2
    assert "unknown role 'boss'" in bad.stderr
    with Session(db) as session:
        assert role_of(session, 1001) is None
        assert staff_members(session) == []
        assert [e.action for e in audit_entries(session)] == ["role.remove", "role.add"]
    audit = run(env, "staff", "audit")
    assert "role.remove" in audit.stdout


def test_an_unmigrated_database_is_one_clear_line(env: dict[str, str]) -> None:
    result = run(env, "staff", "list")
    assert result.exit_code == 1
    assert "skillsbot db upgrade" in result.stderr


def test_campaign_link(tmp_path: Path, env: dict[str, str]) -> None:
    result = run(env, "campaign", "link", "Spring Jobs Fair 2026", "--qr", str(tmp_path / "c.png"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "https://t.me/lsip_test_bot?start=c-spring-jobs-fair-2026"
    with Image.open(tmp_path / "c.png") as image:
        assert image.format == "PNG"
    bad = run(env, "campaign", "link", "???")
    assert bad.exit_code == 1
    assert "needs some letters or digits" in bad.stderr
