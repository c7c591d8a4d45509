"""Reading employer lists: CSV and XLSX, aliases, encodings, every bad row, hostile files."""

from __future__ import annotations

import time
import tracemalloc
import zipfile
from collections.abc import Iterable
from pathlib import Path

import openpyxl
import pandas  # noqa: F401  (imported before memory is traced: read_roster imports it)
import pytest

from bot.core.roster_import import (
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    RosterFileError,
    read_roster,
    sector_slug,
    size_band,
)
from conversations.loader import builtin_interview_path, load_interview
from conversations.sectors import ESS_SECTORS

AREA = "Cambridgeshire and Peterborough"
HEADER = "Organisation,Contact name,Email,Phone,Sector,District,Size band,Notes\n"


def _csv(tmp_path: Path, text: str, *, name: str = "list.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_good_csv_gives_checked_entries(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER
        + "Fen Bakery,Anna Smith,anna@fenbakery.example,01354 000000,Manufacturing,Fenland,12,\n"
        + "Ely Builders,,,,construction,E07000009,250+,call after 2pm\n",
    )
    reading = read_roster(path, area=AREA)
    assert reading.problems == []
    assert [row.row for row in reading.rows] == [2, 3]
    bakery, builders = reading.entries
    assert (bakery.sector, bakery.district, bakery.size_band) == (
        "manufacturing",
        "E07000010",
        "10-24",
    )
    assert bakery.phone == "01354 000000"  # kept as text: the leading zero stays
    assert (builders.district, builders.size_band, builders.notes) == (
        "E07000009",
        "250+",
        "call after 2pm",
    )


def test_aliases_bom_and_spacing_in_headers(tmp_path: Path) -> None:
    text = (
        "Business name;E-mail;Telephone;Industry;Local Authority;Headcount;CONTACT;Other\n"
        "Café Nero (Ely);caf@nero.example;07700 900000;Health & Social Care;"
        "East Cambridgeshire District Council;3;Zoë;x\n"
    )
    path = _csv(tmp_path, "\ufeff" + text)
    reading = read_roster(path, area=AREA)
    assert reading.problems == []
    (entry,) = reading.entries
    assert entry.organisation == "Café Nero (Ely)"
    assert entry.contact_name == "Zoë"
    assert entry.sector == "health_social_work"
    assert entry.district == "E07000009"
    assert entry.size_band == "2-4"
    assert reading.ignored_columns == ["Other"]


def test_windows_1252_files_are_read(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Employer,Notes\nSmith & Sons,£5k training budget\n", encoding="cp1252")
    (entry,) = read_roster(path, area=AREA).entries
    assert entry.notes == "£5k training budget"


def test_every_bad_row_is_listed_with_its_spreadsheet_row_and_reason(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER
        + "Fen Bakery,,anna@fen.example,,,,,\n"  # row 2: fine
        + ",Bob,,,,,,\n"  # row 3
        + "Acme,,,,Constrution,,,\n"  # row 4
        + "Norfolk Firm,,,,,Norwich,,\n"  # row 5
        + "Bad Mail,,bob@,,,,,\n"  # row 6
        + "Fen Bakery Ltd,,ANNA@fen.example,,,,,\n"  # row 7
        + ",,,,,,,\n"  # row 8: blank, ignored
        + "Big Co,,,,,,lots,\n",  # row 9
    )
    reading = read_roster(path, area=AREA)
    assert [str(problem) for problem in reading.problems] == [
        "row 3: missing organisation",
        "row 4: unknown sector 'Constrution' (did you mean Construction?)",
        "row 5: district 'Norwich' is not in Cambridgeshire and Peterborough "
        "(it is in Norfolk and Suffolk)",
        "row 6: bad email 'bob@'",
        "row 7: duplicate of row 2",
        "row 9: size 'lots' is not a number of people or one of "
        "1, 2-4, 5-9, 10-24, 25-49, 50-99, 100-249, 250+",
    ]
    assert [row.row for row in reading.rows] == [2]


def test_an_organisation_of_invisible_characters_only_is_missing(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "\u200b\u200b,Bob,,,,,,\n" + "\u3164\u200d,,,,,,,\n")
    reading = read_roster(path, area=AREA)
    assert [str(problem) for problem in reading.problems] == [
        "row 2: missing organisation",
        "row 3: missing organisation",
    ]


def test_duplicates_without_email_match_on_organisation_and_district(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Company,District\nAcme,Fenland\nACME ,fenland\nAcme,Peterborough\n")
    reading = read_roster(path, area=AREA)
    assert [str(p) for p in reading.problems] == ["row 3: duplicate of row 2"]
    assert len(reading.rows) == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("Name,Email\nAnna,anna@x.example\n", "has no organisation column"),
        ("Organisation,Email\n", "has a header row but no employers"),
        ("Organisation\n\n\n", "has a header row but no employers"),
    ],
)
def test_unusable_files_give_one_clear_line(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(RosterFileError, match=problem) as caught:
        read_roster(_csv(tmp_path, text), area=AREA)
    assert "\n" not in str(caught.value)


def test_files_that_are_not_spreadsheets_are_refused_clearly(tmp_path: Path) -> None:
    png = tmp_path / "logo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(RosterFileError, match="not a spreadsheet"):
        read_roster(png, area=AREA)
    fake_xlsx = tmp_path / "list.xlsx"
    fake_xlsx.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(RosterFileError, match="not a valid Excel file"):
        read_roster(fake_xlsx, area=AREA)
    text_xlsx = tmp_path / "notes.xlsx"
    text_xlsx.write_text("Organisation\nAcme\n")
    with pytest.raises(RosterFileError, match="not a valid Excel file"):
        read_roster(text_xlsx, area=AREA)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(RosterFileError, match=r"old Excel \(\.xls\)"):
        read_roster(old, area=AREA)
    with pytest.raises(RosterFileError, match="cannot read"):
        read_roster(tmp_path / "missing.csv", area=AREA)


def test_xlsx_is_read_with_formulas_kept_as_literal_text(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Organisation Name", "Employees", "Phone", "Notes", "Sector"])
    sheet.append(
        ["Fen Bakery", 12, 1354000000, '=HYPERLINK("http://evil.example","x")', "Construction"]
    )
    sheet.append(["=1+2", 250, None, "@SUM(A1:A2)", None])
    sheet.append(["+44 Ltd", 3.0, "-1", None, None])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    reading = read_roster(path, area=AREA)
    assert reading.problems == []
    first, second, third = reading.entries
    assert first.notes == '=HYPERLINK("http://evil.example","x")'
    assert first.size_band == "10-24"
    assert first.phone == "1354000000"
    assert second.organisation == "=1+2"  # a formula cell: its text, never 3
    assert second.notes == "@SUM(A1:A2)"
    assert second.size_band == "250+"
    assert third.organisation == "+44 Ltd"
    assert third.phone == "-1"
    assert third.size_band == "2-4"


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Construction", "construction"),
        ("construction", "construction"),
        ("Health and Social Work", "health_social_work"),
        ("health & social care", "health_social_work"),
        ("Information & Communication", "information_communications"),
        ("RETAIL", "wholesale_retail"),
        ("Retail and Wholesale", "wholesale_retail"),
        ("hotels_restaurants", "hotels_restaurants"),
        ("Hospitality", "hotels_restaurants"),
        ("Constrution", None),
        ("Widgets", None),
    ],
)
def test_sector_names_slugs_and_spellings(text: str, slug: str | None) -> None:
    assert sector_slug(text) == slug


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("1", "1"),
        ("Just me", "1"),
        ("4", "2-4"),
        ("12", "10-24"),
        ("12.0", "10-24"),
        ("24", "10-24"),
        ("25", "25-49"),
        ("249", "100-249"),
        ("250", "250+"),
        ("1,200", "250+"),
        ("10-24", "10-24"),
        ("10 to 24", "10-24"),
        ("10 – 20", "10-24"),
        ("250+", "250+"),
        ("250 or more", "250+"),
        ("0", None),
        ("10-30", None),
        ("lots", None),
        ("-5", None),
    ],
)
def test_size_bands_from_numbers_and_bands(text: str, band: str | None) -> None:
    assert size_band(text) == band


def test_sector_slugs_are_the_built_in_interviews_choices() -> None:
    interview = load_interview(builtin_interview_path())
    sector = interview.by_id["sector"]
    assert [choice.value for choice in sector.choices] == list(ESS_SECTORS)


def test_ten_thousand_rows_are_read_in_a_few_seconds(tmp_path: Path) -> None:
    lines = [HEADER]
    districts = ["Fenland", "Cambridge", "E07000011", "Peterborough"]
    sectors = ["Construction", "manufacturing", "Health and social work", "Education"]
    for n in range(10_000):
        lines.append(
            f"Firm {n},Person {n},p{n}@firm{n}.example,01234 {n:06d},{sectors[n % 4]},"
            f"{districts[n % 4]},{n % 300 + 1},\n"
        )
    path = _csv(tmp_path, "".join(lines))
    started = time.perf_counter()
    reading = read_roster(path, area=AREA)
    # A guard against a runaway (a per-row cost), not a speed figure: that is the
    # benchmarks' job, and a loaded machine must not fail it.
    assert time.perf_counter() - started < 30
    assert len(reading.rows) == 10_000
    assert reading.problems == []


# -- hostile files (issue 19, item 6): refused at once, in one line, in little memory ----------


def _refused_quickly(path: Path, match: str) -> str:
    """Read ``path``; it must be refused in a few tens of MB, and in well under the minutes
    the hostile files once took (a runaway guard, generous for a loaded machine)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(RosterFileError, match=match) as caught:
            read_roster(path, area=AREA)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1024 / 1024:.0f} MB"
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_a_csv_with_twenty_thousand_columns(tmp_path: Path) -> None:
    header = "Organisation," + ",".join(f"c{n}" for n in range(19_999))
    rows = ["Fen Bakery" + "," * 19_999 for _ in range(3)]
    path = _csv(tmp_path, "\n".join([header, *rows]) + "\n")
    assert 140_000 < path.stat().st_size < 200_000
    message = _refused_quickly(path, "20,000 columns in row 1")
    assert f"at most {MAX_COLUMNS}" in message


def test_an_xlsx_with_cells_at_a1_and_xfd1(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = "Organisation"
    sheet["XFD1"] = "x"
    sheet["A2"] = "Fen Bakery"
    path = tmp_path / "wide.xlsx"
    workbook.save(path)
    _refused_quickly(path, "16,384 columns in row 1")


def test_a_stray_empty_cell_far_right_does_not_count(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Organisation", "Sector"])
    sheet.append(["Fen Bakery", "Construction"])
    sheet["XFD3"] = "  "  # a blank that a spreadsheet keeps
    path = tmp_path / "stray.xlsx"
    workbook.save(path)
    assert [entry.organisation for entry in read_roster(path, area=AREA).entries] == ["Fen Bakery"]


def _xlsx_with_sheet_xml(tmp_path: Path, rows: Iterable[bytes]) -> Path:
    """A real workbook (openpyxl's) whose first sheet is "Organisation" in A1, then ``rows``
    (from row 2)."""
    workbook = openpyxl.Workbook()
    plain = tmp_path / "plain.xlsx"
    workbook.save(plain)
    path = tmp_path / "big.xlsx"
    sheet_name = "xl/worksheets/sheet1.xml"
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            if item.filename != sheet_name:
                target.writestr(item, source.read(item.filename))
        with target.open(sheet_name, "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
                b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
                b"Organisation</t></is></c></row>"
            )
            for chunk in rows:
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return path


def _inline_rows(first: int, count: int) -> bytes:
    return b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>Firm</t></is></c></row>' % (n, n)
        for n in range(first, first + count)
    )


def test_a_zip_bomb_like_xlsx_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    block = _inline_rows(2, 10_000)  # about 0.7 MB of sheet XML, repeated
    repeats = MAX_UNPACKED_BYTES // len(block) + 2
    path = _xlsx_with_sheet_xml(tmp_path, (block for _ in range(repeats)))
    assert path.stat().st_size < 5 * 1024 * 1024  # small on disk, large unpacked
    message = _refused_quickly(path, "unpacks to")
    assert f"at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB" in message


def test_an_xlsx_with_too_many_rows_stops_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.core.roster_import.MAX_ROWS", 1_000)  # a smaller limit, for speed
    path = _xlsx_with_sheet_xml(tmp_path, [_inline_rows(2, 5_000)])
    _refused_quickly(path, "more than 1,000 rows")  # parsed up to the limit, no further


def test_a_csv_with_too_many_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_ROWS == 50_000
    monkeypatch.setattr("bot.core.roster_import.MAX_ROWS", 100)  # a smaller limit, for speed
    path = _csv(tmp_path, "Organisation\n" + "".join(f"Firm {n}\n" for n in range(5_000)))
    _refused_quickly(path, "more than 100 rows")
    at_the_limit = _csv(
        tmp_path, "Organisation\n" + "".join(f"Firm {n}\n" for n in range(100)), name="limit.csv"
    )  # the limit itself is allowed
    assert len(read_roster(at_the_limit, area=AREA).rows) == 100


def test_a_file_too_large_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as file:
        file.write(b"Organisation\n")
        file.truncate(MAX_FILE_BYTES + 1)
    _refused_quickly(big, "larger than 10 MB")
    _refused_quickly(Path("/dev/zero"), "larger than 10 MB")  # endless: read only so far


def test_a_csv_row_with_more_cells_than_the_header_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Organisation,Sector\nSmith, Jones Ltd,Construction\n")
    with pytest.raises(RosterFileError, match="line 2 has 3 cells where the header has 2"):
        read_roster(path, area=AREA)
