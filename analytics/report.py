"""The weekly report's single entry point: load, summarise, suppress, render, write.

`weekly_report(engine, week, out_dir, formats)` is what the CLI (`skillsbot report
weekly`), the `/weekly` command and the Monday job call.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from analytics.catalogue import catalogue as make_catalogue
from analytics.charts import skills_heatmap, trend_chart
from analytics.disclosure import (
    DEFAULT_CAUTION_BASE,
    DEFAULT_MIN_BASE,
    DEFAULT_MIN_PERCENT_BASE,
    check_thresholds,
)
from analytics.frames import tidy_answers
from analytics.render_csv import write_csv
from analytics.render_html import render_html
from analytics.render_markdown import render_markdown
from analytics.render_xlsx import write_xlsx
from analytics.source import answers_frame_of, responses_frame_of, reviews_frame_of
from analytics.tables import (
    ReportTables,
    headline_message,
    previous_report,
    published_history,
    report_tables,
)
from analytics.weekly import SurveyFrames, weekly_summary
from analytics.weeks import LONDON, IsoWeek
from conversations.areas import DEFAULT_AREA
from conversations.definition import Interview
from conversations.loader import (
    builtin_interview_path,
    builtin_interview_versions,
    load_interview,
)
from storage import Session
from storage.analytics_source import Database, SurveyColumns, survey_columns
from storage.db import reading
from storage.publications import RECORD_ATTEMPTS, PublishedMeanwhile, record_published

FORMATS = ("md", "xlsx", "html", "png", "csv")
DEFAULT_FORMATS = ("md", "xlsx", "html", "png")
_CHART_TITLES = {
    "responses-by-sector": "Responses started by sector, last 8 weeks with responses",
    "skills-gaps-by-sector": "Skills staff lack (skills gaps) by sector",
}


class UnknownFormat(ValueError):
    """A report format other than md, xlsx, html, png and csv."""


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    """What a weekly report run produced: the Telegram message and the files written."""

    week: IsoWeek
    message: str
    files: tuple[Path, ...]
    # The "to date" figures as published (`ReportTables.figures`): recorded here when the
    # report read the database itself, else by the caller (`record`).
    figures: tuple[tuple[str, str, str, float, bool, float], ...] = ()
    area: str = ""
    interview_id: str = ""
    # How far the record of publications went when the report read it (None: it did not).
    published_mark: int | None = None

    def record(self, session: Session, now: datetime) -> int:
        """Record the figures as published (`storage.publications`), in the caller's unit.

        Raises `PublishedMeanwhile` (nothing recorded) if another report was recorded after
        this one read what reports published: build it again, from a new read. A report
        made with `record=False` read nothing of them and cannot be recorded."""
        if self.published_mark is None:
            raise ValueError("a report that read no earlier publications is no publication")
        return record_published(
            session,
            area=self.area,
            interview_id=self.interview_id,
            week=self.week.label,
            figures=self.figures,
            now=now,
            known_mark=self.published_mark,
        )


def parse_formats(text: str) -> tuple[str, ...]:
    """Read `md,xlsx,html,png,csv` (any subset, any order); raise `UnknownFormat`."""
    wanted = [part.strip().lower().lstrip(".") for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in FORMATS]
    if unknown or not wanted:
        raise UnknownFormat(
            f"unknown report format {', '.join(unknown) or '(none)'}; choose from "
            + ",".join(FORMATS)
        )
    return tuple(f for f in FORMATS if f in wanted)


def load_frames(
    engine: Database | None,
    interview: Interview | None = None,
    *,
    completed_only: bool = False,
    columns: SurveyColumns | None = None,
) -> SurveyFrames:
    """Read responses and answers of the interview (the built-in one by default).

    With `completed_only`, only the answers of completed responses are read: all that a
    report counts or quotes (every response is still read, for the numbers started).
    """
    definition = interview or load_interview(builtin_interview_path())
    catalogue = make_catalogue(definition)
    versions = _versions(definition)
    if columns is None:
        columns = read_survey(engine, definition, completed_only=completed_only)
    responses = responses_frame_of(columns.responses)
    answers = answers_frame_of(columns.answers)
    return SurveyFrames(
        responses=responses,
        tidy=tidy_answers(answers, responses, catalogue),
        catalogue=catalogue,
        reviews=reviews_frame_of(columns.reviews),
        answers=answers,
        definitions=versions,
        interview=definition,
    )


def read_survey(
    engine: Database | None, definition: Interview, *, completed_only: bool
) -> SurveyColumns:
    """What a report reads of the interview, in one transaction (one snapshot of it all)."""
    if engine is None:
        raise ValueError("a report needs a database or the columns already read")
    with reading(engine) as connection:
        return survey_columns(connection, interview_id=definition.id, completed_only=completed_only)


def _versions(definition: Interview) -> dict[str, Interview]:
    """The interview's definitions by version: the given one and the built-in earlier ones."""
    versions = {definition.version: definition}
    for path in builtin_interview_versions():
        try:
            earlier = load_interview(path)
        except Exception:  # noqa: BLE001 - an unreadable old version is just not used
            continue
        if earlier.id == definition.id:
            versions.setdefault(earlier.version, earlier)
    return versions


def render_report(
    tables: ReportTables, out_dir: Path, formats: Collection[str] = DEFAULT_FORMATS
) -> tuple[Path, ...]:
    """Write the chosen formats of already-suppressed tables into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"weekly-{tables.week.label}"
    files: list[Path] = []
    charts: dict[str, bytes] = {}
    if "png" in formats or "html" in formats:
        charts = {
            "responses-by-sector": trend_chart(tables),
            "skills-gaps-by-sector": skills_heatmap(tables),
        }
    chart_files = {name: out_dir / f"{stem}-{name}.png" for name in charts}
    if "md" in formats:
        links = (
            {_CHART_TITLES[name]: path.name for name, path in chart_files.items()}
            if "png" in formats
            else None
        )
        path = out_dir / f"{stem}.md"
        path.write_text(render_markdown(tables, links), encoding="utf-8")
        files.append(path)
    if "xlsx" in formats:
        files.append(write_xlsx(tables, out_dir / f"{stem}.xlsx"))
    if "html" in formats:
        path = out_dir / f"{stem}.html"
        titled = {_CHART_TITLES[name]: png for name, png in charts.items()}
        path.write_text(render_html(tables, titled), encoding="utf-8")
        files.append(path)
    if "png" in formats:
        for name, path in chart_files.items():
            path.write_bytes(charts[name])
            files.append(path)
    if "csv" in formats:
        files.append(write_csv(tables, out_dir / f"{stem}.csv"))
    return tuple(files)


def weekly_report(
    engine: Database | None,
    week: IsoWeek | None,
    out_dir: Path | None,
    formats: Collection[str] = DEFAULT_FORMATS,
    *,
    threshold: int = DEFAULT_MIN_BASE,
    percent_threshold: int = DEFAULT_MIN_PERCENT_BASE,
    caution_base: int = DEFAULT_CAUTION_BASE,
    interview: Interview | None = None,
    now: datetime | None = None,
    area: str = DEFAULT_AREA,
    zone: ZoneInfo = LONDON,
    columns: SurveyColumns | None = None,
    record: bool = True,
) -> WeeklyReport:
    """Build the weekly report: the headline message, and files in `out_dir` if given.

    Weeks are lived in `zone`; `week` defaults to the last complete ISO week there. The
    thresholds, the area and the zone are the caller's (the bot and the CLI pass their
    settings, which read SKILLSBOT_MIN_BASE, SKILLSBOT_MIN_PERCENT_BASE,
    SKILLSBOT_CAUTION_BASE, SKILLSBOT_AREA and SKILLSBOT_TIMEZONE from the environment and
    `.env`); nothing here reads the environment.
    `interview` defaults to the built-in one with the area's districts. `columns`: what
    to report, already read (`storage.analytics_source.survey_columns`, completed answers
    only; the bot reads them through its units, and passes no `engine`); else read here
    from `engine`.

    Every report is a publication: its disclosure control reads what the area's earlier
    reports published (`columns.published`), and what it publishes is recorded for later
    ones (`storage.publications`): here, when it read them itself from `engine` (no
    `columns`), before the files are written (if another report was recorded while this
    one was built, it is built again, knowing it; `PublishedMeanwhile` after
    `RECORD_ATTEMPTS` builds); the caller records it otherwise (`WeeklyReport.record`,
    which raises `PublishedMeanwhile` in that case). `record=False`
    makes a report that is no publication (a test's view of the true figures): it neither
    reads nor records what reports published. Raises
    `InvalidMinBase` for a threshold under 1.
    """
    check_thresholds(threshold, percent_threshold, caution_base)
    moment = now or datetime.now(UTC)
    chosen = replace(week, zone=zone) if week else IsoWeek.last_complete(moment, zone)
    definition = interview or load_interview(builtin_interview_path(), area=area)
    build = functools.partial(
        _build,
        chosen=chosen,
        definition=definition,
        week_defaulted=week is None,
        threshold=threshold,
        percent_threshold=percent_threshold,
        caution_base=caution_base,
        area=area,
        complete=moment >= chosen.end,
        record=record,
    )
    if out_dir is not None:  # a folder that cannot be made fails before anything is recorded
        out_dir.mkdir(parents=True, exist_ok=True)
    if columns is not None or engine is None or not record:
        tables, report = build(columns or read_survey(engine, definition, completed_only=True))
    else:
        for _ in range(RECORD_ATTEMPTS):
            tables, report = build(read_survey(engine, definition, completed_only=True))
            try:
                with Session(engine) as session, session.begin():
                    report.record(session, moment)
                break
            except PublishedMeanwhile:
                continue  # another report was published meanwhile: build again, knowing it
        else:
            raise PublishedMeanwhile(
                f"other reports were published during each of {RECORD_ATTEMPTS} builds"
            )
    if out_dir is None:
        return report
    return replace(report, files=render_report(tables, out_dir, formats))


def _build(
    columns: SurveyColumns,
    *,
    chosen: IsoWeek,
    definition: Interview,
    week_defaulted: bool,
    threshold: int,
    percent_threshold: int,
    caution_base: int,
    area: str,
    complete: bool,
    record: bool,
) -> tuple[ReportTables, WeeklyReport]:
    """The report's tables and its message (what `weekly_report` renders and records)."""
    frames = load_frames(None, definition, completed_only=True, columns=columns)
    tables = report_tables(
        weekly_summary(frames, chosen),
        threshold,
        percent_threshold=percent_threshold,
        caution_base=caution_base,
        area=area,
        complete=complete,
        earlier=published_history(columns.published, area) if record else None,
        before=previous_report(columns.published, area, chosen.label) if record else None,
    )
    message = headline_message(tables)
    if week_defaulted:  # say which week "the last complete week" is
        message = f"No week given: the last complete week, {chosen.label}.\n\n" + message
    return tables, WeeklyReport(
        week=chosen,
        message=message[:4096],
        files=(),
        figures=tables.figures,
        area=area,
        interview_id=definition.id,
        published_mark=columns.published_mark if record else None,
    )
