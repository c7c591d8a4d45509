"""Reading an employer interview list from a CSV or XLSX file, and checking every row.

`read_roster(path, area=...)` returns the good rows as `RosterEntry` values (sector as its
ESS-13 slug, district as its LAD code, size as its band) and every bad row with the row
number a spreadsheet shows (the header is row 1) and the reason. A file that cannot be read
at all raises `RosterFileError`, whose message is one line for the person at the terminal.

Cells are always read as text: numbers keep their digits, and a cell that looks like a
formula (`=`, `+`, `-`, `@`) is kept as the literal string, never evaluated (XLSX files
are read through openpyxl without computing anything).

A small file can still ask for a lot (20,000 columns in 149 KB of CSV, a cell at column
XFD, a 3 MB XLSX that unpacks to 1 GB of XML), so the file is read as a stream, row by
row, keeping only the columns the list needs, within limits: `MAX_FILE_BYTES` on disk,
`MAX_UNPACKED_BYTES` unpacked (XLSX, checked before anything is parsed), `MAX_COLUMNS`
and `MAX_ROWS`. Beyond any of them the file is refused with one line saying which.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import re
import zipfile
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conversations.areas import District, area_names, districts, resolve_area
from conversations.sectors import ESS_SECTORS
from conversations.text import has_visible_text

if TYPE_CHECKING:  # storage is imported where a row becomes an entry: `--help` needs none
    from storage.roster import RosterEntry

# Other ways people write a sector (besides its name and slug, in any case or word order).
_SECTOR_ALIASES: Mapping[str, str] = {
    "primary": "primary_utilities",
    "primary sector": "primary_utilities",
    "utilities": "primary_utilities",
    "agriculture": "primary_utilities",
    "farming": "primary_utilities",
    "energy": "primary_utilities",
    "retail": "wholesale_retail",
    "wholesale": "wholesale_retail",
    "hospitality": "hotels_restaurants",
    "hotels restaurants and catering": "hotels_restaurants",
    "transport": "transport_storage",
    "logistics": "transport_storage",
    "information technology": "information_communications",
    "it": "information_communications",
    "ict": "information_communications",
    "digital": "information_communications",
    "information it and communications": "information_communications",
    "finance": "financial_services",
    "professional services": "business_services",
    "business professional and property services": "business_services",
    "public sector": "public_administration",
    "health and social care": "health_social_work",
    "health": "health_social_work",
    "social care": "health_social_work",
    "arts": "arts_other_services",
    "other services": "arts_other_services",
    "arts leisure and other services": "arts_other_services",
}
SIZE_BANDS: tuple[str, ...] = ("1", "2-4", "5-9", "10-24", "25-49", "50-99", "100-249", "250+")
_BAND_LIMITS: tuple[tuple[int, int | None, str], ...] = (
    (1, 1, "1"),
    (2, 4, "2-4"),
    (5, 9, "5-9"),
    (10, 24, "10-24"),
    (25, 49, "25-49"),
    (50, 99, "50-99"),
    (100, 249, "100-249"),
    (250, None, "250+"),
)

# Column headers, compared with everything but letters and digits removed, lower case.
# fmt: off
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "organisation": (
        "organisation", "organization", "organisationname", "organizationname", "company",
        "companyname", "business", "businessname", "employer", "employername",
    ),
    "contact_name": ("contactname", "contact", "name", "contactperson", "fullname"),
    "email": ("email", "emailaddress", "contactemail"),
    "phone": (
        "phone", "phonenumber", "telephone", "telephonenumber", "tel", "mobile",
        "mobilenumber",
    ),
    "sector": ("sector", "industry", "esssector"),
    "district": (
        "district", "localauthority", "localauthoritydistrict", "la", "lad", "council",
    ),
    "size_band": (
        "sizeband", "size", "employees", "numberofemployees", "headcount", "staff",
    ),
    "notes": ("notes", "note", "comments", "comment"),
}
# fmt: on
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_COUNCIL_WORDS = re.compile(
    r"\b(?:(?:district|city|borough|county)\s+)?council\b|\bcity of\b|\bcounty of\b"
)
XLSX_SUFFIXES = (".xlsx", ".xlsm")

# What an employer list can be: far more than any Chamber's list, far less than a machine
# can be made to choke on.
MAX_FILE_BYTES = 10 * 1024 * 1024  # on disk
# An XLSX's parts, unpacked, all together. A list of 10,000 employers is a few MB; openpyxl
# reads a sheet without a <dimension> element twice, at 2-6 MB/s on a busy machine, so
# this also bounds how long a hostile sheet can keep us.
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
MAX_ZIP_MEMBERS = 1_000  # parts of an XLSX
MAX_COLUMNS = 200
MAX_ROWS = 50_000  # rows below the header


class RosterFileError(Exception):
    """The file cannot be used at all (not a spreadsheet, empty, no organisation column)."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a row of the file cannot be imported; `row` as the spreadsheet numbers it."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A good row of the file and the employer it describes."""

    row: int
    entry: RosterEntry


@dataclass(frozen=True, slots=True)
class RosterReading:
    """Everything read from a file: good rows, bad rows, and the columns used and ignored."""

    rows: list[RosterRow]
    problems: list[RowProblem]
    columns: dict[str, str]
    ignored_columns: list[str]

    @property
    def entries(self) -> list[RosterEntry]:
        """The employers of the good rows."""
        return [row.entry for row in self.rows]


def read_roster(path: Path, *, area: str) -> RosterReading:
    """Read and check an employer list (CSV or XLSX) for the districts of an LSIP area."""
    # pandas is imported where it is used: the bot imports this module (for sector_name)
    # and must not pay for pandas in every process.
    import pandas as pd

    with contextlib.closing(_table_rows(path)) as rows:  # closes the workbook early too
        headers = next(rows, None)
        if headers is None or not any(cell.strip() for cell in headers):
            raise RosterFileError(f"{path.name} is empty; the first row must name the columns")
        columns = _match_columns(headers)
        if "organisation" not in columns:
            raise RosterFileError(
                f"{path.name} has no organisation column (the header row, row 1, must name "
                "one of: Organisation, Company, Business name, Employer)"
            )
        # Only the cells of the columns we use are kept, row by row.
        wanted = list(columns.values())
        kept = [[row[index] if index < len(row) else "" for index in wanted] for row in rows]
    frame = pd.DataFrame(kept, columns=list(columns), dtype=object)
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # the row numbers a spreadsheet shows
    fields = frame.apply(lambda column: column.str.strip())
    fields = fields[(fields != "").any(axis="columns")]  # blank rows are not employers
    if fields.empty:
        raise RosterFileError(f"{path.name} has a header row but no employers below it")

    checker = _RowChecker(area)
    good: list[RosterRow] = []
    problems: list[RowProblem] = []
    names = list(fields.columns)
    for number, values in zip(fields.index, fields.to_numpy().tolist(), strict=True):
        entry, reasons = checker.check(int(number), dict(zip(names, values, strict=True)))
        if reasons:
            problems.append(RowProblem(int(number), "; ".join(reasons)))
        elif entry is not None:
            good.append(RosterRow(int(number), entry))
    used = set(wanted)
    ignored = [h for index, h in enumerate(headers) if index not in used and h.strip()]
    return RosterReading(
        rows=good,
        problems=problems,
        columns={name: headers[index] for name, index in columns.items()},
        ignored_columns=ignored,
    )


def header_key(header: str) -> str:
    """A column header as compared: letters and digits only, lower case."""
    return re.sub(r"[^0-9a-z]", "", header.casefold())


def _match_columns(headers: Sequence[str]) -> dict[str, int]:
    wanted = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = wanted.get(header_key(header))
        if name is not None and name not in found:
            found[name] = index
    return found


# -- reading files --------------------------------------------------------------------------


def _table_rows(path: Path) -> Generator[list[str]]:
    """The rows of the file as text cells, header first, read as a stream within the limits
    (`RosterFileError` beyond them, or for a file that is not a spreadsheet)."""
    data = _read_bytes(path)
    if not data.strip():
        raise RosterFileError(f"{path.name} is empty; the first row must name the columns")
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(path, data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(
            f"{path.name} is an old Excel (.xls) file; save it as .xlsx or .csv and try again"
        )
    elif path.suffix.casefold() in XLSX_SUFFIXES:
        raise RosterFileError(f"{path.name} is not a valid Excel file")
    else:
        rows = _csv_rows(path, data)
    return _within_limits(path, rows)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; never more than `MAX_FILE_BYTES` (a device or a pipe included)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise RosterFileError(f"{path} is a folder, not a spreadsheet") from None
    except OSError as error:
        raise RosterFileError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise RosterFileError(
            f"{path.name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; an employer "
            "list is far smaller: split it, or remove what is not the list"
        )
    return data


def _within_limits(path: Path, rows: Iterator[list[str]]) -> Generator[list[str]]:
    """``rows``, refusing the file at the first row beyond `MAX_ROWS` or `MAX_COLUMNS`."""
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS + 1:
            raise RosterFileError(
                f"{path.name} has more than {MAX_ROWS:,} rows below the header; "
                "split it into smaller files"
            )
        if len(row) > MAX_COLUMNS:
            # Trailing empty cells (a row padded to a stray cell far right) do not count.
            while row and not row[-1].strip():
                row.pop()
            if len(row) > MAX_COLUMNS:
                raise RosterFileError(
                    f"{path.name} has {len(row):,} columns in row {number} (at most "
                    f"{MAX_COLUMNS} are read); delete the stray cells far to the right, or "
                    "copy the list to a new sheet"
                )
        yield row


def _csv_rows(path: Path, data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data[:8192]:
        raise RosterFileError(
            f"{path.name} is not a spreadsheet; give a CSV or XLSX file of employers"
        )
    text = _decode(data)
    header_line = text.split("\n", 1)[0]
    separator = max(",;\t", key=header_line.count) if header_line.strip() else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    width = 0
    try:
        for row in reader:
            width = width or len(row)
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                raise RosterFileError(
                    f"{path.name} is not a readable CSV file (line {reader.line_num} has "
                    f"{len(row)} cells where the header has {width}; put a value holding "
                    f"{separator!r} in quotes)"
                )
            yield row
    except csv.Error as error:
        raise RosterFileError(
            f"{path.name} is not a readable CSV file (line {reader.line_num}: {error})"
        ) from None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte order mark), else Windows-1252 as Excel writes it."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _xlsx_rows(path: Path, data: bytes) -> Iterator[list[str]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_unpacked_size(path, data)
    try:
        # read_only: the sheet is parsed as a stream, row by row. data_only=False: a formula
        # cell gives its formula text, which we keep as text; nothing is ever computed.
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise RosterFileError(f"{path.name} is not a valid Excel file") from None
    try:
        if not workbook.worksheets:
            raise RosterFileError(f"{path.name} has no worksheets")
        sheet = workbook.worksheets[0]
        # The size the sheet claims (A1:XFD1048576, say) is not believed: each row is as
        # wide as its last cell, and missing rows are empty.
        sheet.reset_dimensions()  # type: ignore[union-attr]
        try:
            for row in sheet.iter_rows(values_only=True):
                yield [_cell_text(value) for value in row]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError):
            raise RosterFileError(f"{path.name} is not a valid Excel file") from None
    finally:
        workbook.close()


def _check_unpacked_size(path: Path, data: bytes) -> None:
    """Refuse an XLSX whose parts unpack to more than `MAX_UNPACKED_BYTES` (a zip bomb),
    before anything is unpacked. The sizes are the archive's own; Python's zipfile never
    unpacks a part beyond the size it declares (it fails the part instead)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RosterFileError(f"{path.name} is not a valid Excel file") from None
    unpacked = sum(part.file_size for part in parts)
    if len(parts) > MAX_ZIP_MEMBERS or unpacked > MAX_UNPACKED_BYTES:
        raise RosterFileError(
            f"{path.name} unpacks to {unpacked / (1024 * 1024):,.0f} MB in {len(parts):,} "
            f"parts; an employer list is far smaller (at most "
            f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB): save just the list in a new workbook"
        )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# -- checking rows --------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    text = text.casefold().replace("&", " and ").replace("'", "").replace("\u2019", "")
    return re.sub(r"[^0-9a-z]+", " ", text).split()


def sector_key(text: str) -> str:
    """A sector as compared: words in order, without 'and'/'the'/'of', plurals made single."""
    return " ".join(
        word[:-1] if len(word) > 3 and word.endswith("s") else word
        for word in _words(text.replace("_", " "))
        if word not in {"and", "the", "of"}
    )


@cache
def _sector_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for slug, name in ESS_SECTORS.items():
        index[sector_key(slug)] = slug
        index[sector_key(name)] = slug
    for alias, slug in _SECTOR_ALIASES.items():
        index[sector_key(alias)] = slug
    return index


@cache
def sector_slug(text: str) -> str | None:
    """The ESS-13 slug for a sector name, slug or common spelling; None if unknown."""
    key = sector_key(text)
    index = _sector_index()
    if key in index:
        return index[key]
    return index.get(" ".join(sorted(key.split()))) or next(
        (slug for known, slug in index.items() if sorted(known.split()) == sorted(key.split())),
        None,
    )


def sector_name(slug: str) -> str:
    """The ESS name of a sector slug (the slug itself if unknown)."""
    return ESS_SECTORS.get(slug, slug)


def _sector_suggestion(text: str) -> str | None:
    index = _sector_index()
    close = difflib.get_close_matches(sector_key(text), list(index), n=1, cutoff=0.6)
    return sector_name(index[close[0]]) if close else None


def district_key(text: str) -> str:
    """A district as compared: words only, without 'council'/'city of' and the like."""
    return " ".join(_words(_COUNCIL_WORDS.sub(" ", text.casefold())))


@cache
def _district_index(area: str) -> dict[str, District]:
    index: dict[str, District] = {}
    for district in districts(area):
        index[district.code.casefold()] = district
        index[district_key(district.name)] = district
        index[district_key(district.name.split(",")[0])] = district
    return index


@cache
def _other_districts(area: str) -> dict[str, str]:
    """Every district outside the area: its comparison keys -> its area."""
    index: dict[str, str] = {}
    for other in area_names():
        if other == area:
            continue
        for key in _district_index(other):
            index[key] = other
    return index


@cache
def size_band(text: str) -> str | None:
    """The size band for a headcount ('12' -> '10-24') or a band ('250+'); None if neither."""
    value = text.strip().casefold().replace("\u2013", "-").replace("\u2014", "-")
    value = re.sub(r"\s*(?:to|-)\s*", "-", value)
    value = re.sub(r"\s*(?:\+|or more|and over|plus)$", "+", value).replace(",", "")
    if value in {"just me", "sole trader", "self-employed", "1 just me"}:
        return "1"
    if value in SIZE_BANDS:
        return value
    if re.fullmatch(r"\d+(?:\.0+)?\+?", value):
        number = int(float(value.rstrip("+")))
        if value.endswith("+") and number != 250:
            return None
        return _band_for(number)
    match = re.fullmatch(r"(\d+)-(\d+)", value)
    if match:
        low, high = _band_for(int(match[1])), _band_for(int(match[2]))
        return low if low is not None and low == high else None
    return None


def _band_for(number: int) -> str | None:
    for low, high, band in _BAND_LIMITS:
        if number >= low and (high is None or number <= high):
            return band
    return None


class _RowChecker:
    """Checks rows one by one, remembering earlier rows to spot duplicates."""

    def __init__(self, area: str) -> None:
        self.area = resolve_area(area)
        self.districts = _district_index(self.area)
        self.seen_emails: dict[str, int] = {}
        self.seen_names: dict[tuple[str, str], int] = {}

    def check(self, row: int, cells: Mapping[str, str]) -> tuple[RosterEntry | None, list[str]]:
        reasons: list[str] = []
        organisation = " ".join(cells.get("organisation", "").split())
        if not has_visible_text(organisation):  # blank, or zero-width spaces only
            reasons.append("missing organisation")
        email = cells.get("email") or None
        if email is not None and not _EMAIL.match(email):
            reasons.append(f"bad email {email!r}")
        sector = self._sector(cells.get("sector", ""), reasons)
        district = self._district(cells.get("district", ""), reasons)
        band = None
        if cells.get("size_band"):
            band = size_band(cells["size_band"])
            if band is None:
                reasons.append(
                    f"size {cells['size_band']!r} is not a number of people or one of "
                    + ", ".join(SIZE_BANDS)
                )
        if reasons:
            return None, reasons
        from storage.roster import RosterEntry

        entry = RosterEntry(
            organisation=organisation,
            contact_name=cells.get("contact_name") or None,
            email=email,
            phone=cells.get("phone") or None,
            sector=sector,
            district=district,
            size_band=band,
            notes=cells.get("notes") or None,
        )
        duplicate = self._duplicate_of(row, entry)
        if duplicate is not None:
            return None, [f"duplicate of row {duplicate}"]
        return entry, []

    def _sector(self, text: str, reasons: list[str]) -> str | None:
        if not text:
            return None
        slug = sector_slug(text)
        if slug is None:
            hint = _sector_suggestion(text)
            reasons.append(
                f"unknown sector {text!r}"
                + (f" (did you mean {hint}?)" if hint else " (use one of the 13 ESS sectors)")
            )
        return slug

    def _district(self, text: str, reasons: list[str]) -> str | None:
        if not text:
            return None
        key = text.casefold() if re.fullmatch(r"[A-Za-z]\d{8}", text) else district_key(text)
        district = self.districts.get(key)
        if district is not None:
            return district.code
        elsewhere = _other_districts(self.area).get(key)
        if elsewhere is not None:
            reasons.append(f"district {text!r} is not in {self.area} (it is in {elsewhere})")
            return None
        names = [d.name for d in districts(self.area)]
        close = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "districts: " + ", ".join(names)
        reasons.append(f"district {text!r} is not in {self.area} ({hint})")
        return None

    def _duplicate_of(self, row: int, entry: RosterEntry) -> int | None:
        # With an email, the email decides (two contacts at one firm are two rows);
        # without one, the organisation and district do, as on import.
        email_key, name_key = entry.email_key(), entry.name_key()
        earlier = (
            self.seen_emails.get(email_key)
            if email_key is not None
            else self.seen_names.get(name_key)
        )
        if earlier is None:
            if email_key is not None:
                self.seen_emails[email_key] = row
            self.seen_names.setdefault(name_key, row)
        return earlier
