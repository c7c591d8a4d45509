"""Export responses to CSV or Excel: one row per response, one column per question.

Reads only through `storage.response_records`. The frame is built by pure functions
(`responses_frame`, `neutralise_formulas`); `write_export` renders it to a file. Every
string cell, headers included, is made fit for a spreadsheet by
`analytics.spreadsheet_text.neutralise`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd

from analytics.spreadsheet_text import neutralise
from conversations.definition import Interview, other_key
from storage import ResponseRecord, Session, response_records

ExportFormat = Literal["csv", "xlsx"]
# The zone times are shown in unless the caller gives the settings' (SKILLSBOT_TIMEZONE).
LONDON = ZoneInfo("Europe/London")
# Columns before the questions: the response and the employer's profile (prefixed, as the
# interview's own profile questions have the same ids). Record field -> header.
RECORD_COLUMNS = {
    "response_id": "response_id",
    "status": "status",
    "interview_id": "interview_id",
    "interview_version": "interview_version",
    "source": "source",
    "organisation": "employer_organisation",
    "sector": "employer_sector",
    "district": "employer_district",
    "size_band": "employer_size_band",
    "role": "employer_role",
}
# Record field -> header, before the zone's name: "started (Europe/London)".
TIME_COLUMNS = {
    "started_at": "started",
    "updated_at": "updated",
    "completed_at": "completed",
}
CHOICE_SEPARATOR = ";"


def builtin_interview() -> Interview | None:
    """The built-in interview, for column order; None when it cannot be loaded."""
    try:
        from conversations.loader import builtin_interview_path, load_interview
    except ImportError:
        return None
    try:
        return load_interview(builtin_interview_path())
    except ValueError:  # DefinitionError
        return None


def question_columns(records: Sequence[ResponseRecord], interview: Interview | None) -> list[str]:
    """Question ids in interview order (each "other" text after its question), then the
    ids found in the answers but not in the interview, sorted."""
    ordered: list[str] = []
    if interview is not None:
        for question in interview.questions:
            if question.answerable:
                ordered.append(question.id)
                if question.other:
                    ordered.append(other_key(question.id))
    known = set(ordered)
    extra = {qid for record in records for qid in record.answers if qid not in known}
    return ordered + sorted(extra)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return CHOICE_SEPARATOR.join(str(item) for item in value)
    return value


def _wall_clock(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    # Spreadsheets have no time zones: show the zone's wall-clock time, without a zone (the
    # column's header names it).
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None)


def time_header(field: str, zone: ZoneInfo) -> str:
    """The header of a time column: `started (Europe/London)`."""
    return f"{TIME_COLUMNS[field]} ({zone.key})"


def responses_frame(
    records: Sequence[ResponseRecord],
    *,
    interview: Interview | None = None,
    zone: ZoneInfo = LONDON,
) -> pd.DataFrame:
    """One row per response: its profile columns, its times in `zone` (the settings'
    SKILLSBOT_TIMEZONE, handed down by the caller), then one column per question."""
    questions = question_columns(records, interview)
    columns = [
        *RECORD_COLUMNS.values(),
        *(time_header(name, zone) for name in TIME_COLUMNS),
        *questions,
    ]
    rows = [
        [
            *(getattr(record, name) for name in RECORD_COLUMNS),
            *(_wall_clock(getattr(record, name), zone) for name in TIME_COLUMNS),
            *(_cell(record.answers.get(qid)) for qid in questions),
        ]
        for record in records
    ]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _neutralise_cell(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every string cell and header neutralised
    (`analytics.spreadsheet_text.neutralise`); other cells as given."""
    safe = frame.map(_neutralise_cell)
    safe.columns = pd.Index([neutralise(str(name)) for name in frame.columns], dtype=object)
    return safe


def write_export(frame: pd.DataFrame, *, out: Path, fmt: ExportFormat) -> None:
    """Write the frame, neutralised (`neutralise_formulas`), as CSV (UTF-8 with BOM, for
    Excel) or as an Excel workbook."""
    safe = neutralise_formulas(frame)
    if fmt == "csv":
        safe.to_csv(out, index=False, encoding="utf-8-sig")
        return
    safe.to_excel(out, index=False, sheet_name="responses", engine="openpyxl")


@dataclass(frozen=True, slots=True)
class ExportCounts:
    """How many responses an export wrote, and how many of other interviews it left out
    (interview id -> responses, of the statuses exported)."""

    written: int
    left_out: dict[str, int]


def export_responses(
    session: Session,
    *,
    out: Path,
    fmt: ExportFormat,
    interview_id: str,
    interview: Interview | None = None,
    include_all: bool = False,
    include_test: bool = False,
    zone: ZoneInfo = LONDON,
) -> ExportCounts:
    """Write the completed responses (every status with `include_all`) of the interview
    `interview_id` to `out`, columns in the order of `interview`'s questions when given,
    times in `zone`. Staff members' test runs only with `include_test`."""
    records = response_records(
        session, statuses=None if include_all else ("completed",), include_test=include_test
    )
    chosen = [record for record in records if record.interview_id == interview_id]
    others = Counter(r.interview_id for r in records if r.interview_id != interview_id)
    write_export(responses_frame(chosen, interview=interview, zone=zone), out=out, fmt=fmt)
    return ExportCounts(written=len(chosen), left_out=dict(sorted(others.items())))


def format_for(out: Path, requested: str | None) -> ExportFormat:
    """The export format: as requested, else from the file's suffix (.xlsx), else CSV."""
    choice = (requested or out.suffix.lstrip(".")).lower()
    return "xlsx" if choice == "xlsx" else "csv"
