"""Report tables: the weekly summary labelled for people and with small bases suppressed.

`report_tables` is the last step before rendering and the only place `disclose` is
applied to the weekly report: every renderer (Markdown, XLSX, HTML, charts, the Telegram
message) takes a `ReportTables` and nothing else, so nothing unsuppressed can leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.catalogue import PROFILE_AXES, Catalogue
from analytics.disclosure import disclose, is_suppressed, marker
from analytics.verbatims import approved_only, verbatims_note
from analytics.weekly import WeeklySummary
from analytics.weeks import IsoWeek


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the report: `name` (sheet name), `title`, and its display frame.

    Columns in `percent_columns` hold shares (0..1) to be shown as percentages;
    suppressed cells hold the marker string (e.g. "<5") in any column.
    """

    name: str
    title: str
    frame: pd.DataFrame
    percent_columns: frozenset[str] = frozenset()
    decimal_columns: frozenset[str] = frozenset()
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReportTables:
    """Everything the renderers may show for one week, already suppressed.

    `trend` (sector x week, responses started) and `heatmap` (sector x skill, share) are
    chart data: suppressed cells are NaN there, and `heatmap_suppressed` marks them.
    """

    week: IsoWeek
    threshold: int
    headline: Table
    tables: tuple[Table, ...]
    trend: pd.DataFrame
    heatmap: pd.DataFrame
    heatmap_suppressed: pd.DataFrame

    @property
    def marker(self) -> str:
        """What suppressed cells show."""
        return marker(self.threshold)


def report_tables(summary: WeeklySummary, threshold: int) -> ReportTables:
    """Label the summary's figures and suppress those with a base below `threshold`."""
    catalogue = summary.catalogue
    note = f"Figures based on fewer than {threshold} employers are shown as {marker(threshold)}."
    headline = Table(
        "Headline",
        f"Headline figures, week {summary.week.label}",
        _headline(summary.headline, threshold),
        note=note,
    )
    tables = [headline]
    for axis, frame in (
        ("sector", summary.by_sector),
        ("district", summary.by_district),
        ("size_band", summary.by_size_band),
    ):
        tables.append(_profile_table(frame, catalogue, axis, threshold, note))
    tables.append(_skills_table(summary.top_skills, catalogue, threshold, note))
    tables.append(
        _choices_table(
            "Choices",
            "Answers to choice questions, all employers",
            summary.choices,
            catalogue,
            None,
            threshold,
            note,
        )
    )
    tables.append(
        _choices_table(
            "Choices by sector",
            "Answers to choice questions by sector",
            summary.choices_by_sector,
            catalogue,
            "sector",
            threshold,
            note,
        )
    )
    tables.append(
        _numbers_table(
            "Scales and numbers",
            "Scales and numbers, all employers",
            summary.numbers,
            catalogue,
            None,
            threshold,
            note,
        )
    )
    tables.append(
        _numbers_table(
            "Scales by sector",
            "Scales and numbers by sector",
            summary.numbers_by_sector,
            catalogue,
            "sector",
            threshold,
            note,
        )
    )
    tables.append(_skills_by_sector_table(summary.skills_by_sector, catalogue, threshold, note))
    tables.append(_verbatims_table(summary.verbatims, catalogue, threshold))
    trend = _trend(summary.trend, catalogue, threshold)
    heatmap, hidden = _heatmap(summary, catalogue, threshold)
    return ReportTables(
        week=summary.week,
        threshold=threshold,
        headline=headline,
        tables=tuple(tables),
        trend=trend,
        heatmap=heatmap,
        heatmap_suppressed=hidden,
    )


def _headline(frame: pd.DataFrame, threshold: int) -> pd.DataFrame:
    shown = disclose(
        frame,
        {"value": "base", "base": "base", "previous": "previous_base", "change": "change_base"},
        threshold,
    )
    rows = []
    for row in shown.itertuples(index=False):
        share = bool(row.kind == "share")
        rows.append(
            {
                "Measure": row.measure,
                "This week": _figure(row.value, share),
                "Base": _figure(row.base, False),
                "Previous week": _figure(row.previous, share),
                "Change": _change(row.change, share),
            }
        )
    return pd.DataFrame(rows, columns=["Measure", "This week", "Base", "Previous week", "Change"])


def _figure(value: object, share: bool) -> str:
    if is_suppressed(value):
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    return f"{number:.0%}" if share else f"{number:,.0f}"


def _change(value: object, share: bool) -> str:
    if is_suppressed(value):
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    if share:
        return f"{round(number * 100):+d} pts"
    return f"{round(number):+,d}"


def _axis_labels(values: pd.Series, catalogue: Catalogue, axis: str | None) -> list[str]:
    if axis is None:
        return [str(v) for v in values]
    return ["Not given" if v == "unknown" else catalogue.axis_label(axis, str(v)) for v in values]


def _profile_table(
    frame: pd.DataFrame, catalogue: Catalogue, axis: str, threshold: int, note: str
) -> Table:
    shown = disclose(
        frame,
        {
            "started": "started",
            "completed": "completed",
            "completion_rate": "started",
            "hard_to_fill": "completed",
            "skills_gaps": "completed",
            "started_week": "started_week",
            "completed_week": "completed_week",
        },
        threshold,
    )
    axis_name = PROFILE_AXES[axis]
    display = pd.DataFrame(
        {
            axis_name: _axis_labels(shown["group"], catalogue, axis),
            "Started this week": shown["started_week"],
            "Completed this week": shown["completed_week"],
            "Started to date": shown["started"],
            "Completed to date": shown["completed"],
            "Completion rate": shown["completion_rate"],
            "With hard-to-fill vacancies": shown["hard_to_fill"],
            "Reporting skills gaps": shown["skills_gaps"],
        }
    )
    return Table(
        f"By {axis_name.lower()}",
        f"Responses by {axis_name.lower()}",
        display,
        percent_columns=frozenset(
            {"Completion rate", "With hard-to-fill vacancies", "Reporting skills gaps"}
        ),
        note=note + " Shares of vacancies and gaps are of employers who completed.",
    )


def _skill_label(catalogue: Catalogue, skill: str) -> str:
    for question_id in catalogue.key.skills_lists:
        labels = catalogue.choice_labels.get(question_id, {})
        if skill in labels:
            return labels[skill]
    return skill


def _skills_table(frame: pd.DataFrame, catalogue: Catalogue, threshold: int, note: str) -> Table:
    shown = disclose(frame, {"count": "base", "share": "base", "base": "base"}, threshold)
    display = pd.DataFrame(
        {
            "Rank": shown["rank"],
            "Skill lacking": [_skill_label(catalogue, s) for s in shown["skill"]],
            "Employers": shown["count"],
            "Share": shown["share"],
            "Base": shown["base"],
        }
    )
    return Table(
        "Top skills gaps",
        "Top skills lacking (applicants and staff)",
        display,
        percent_columns=frozenset({"Share"}),
        note=note + " Base: employers who named skills lacking.",
    )


def _choices_table(
    name: str,
    title: str,
    frame: pd.DataFrame,
    catalogue: Catalogue,
    axis: str | None,
    threshold: int,
    note: str,
) -> Table:
    shown = disclose(frame, {"count": "base", "share": "base", "base": "base"}, threshold)
    columns: dict[str, object] = {}
    if axis is not None:
        columns[PROFILE_AXES[axis]] = _axis_labels(shown["group"], catalogue, axis)
    columns["Question"] = [catalogue.question_label(q) for q in shown["question_id"]]
    columns["Answer"] = [
        catalogue.option_label(q, str(o))
        for q, o in zip(shown["question_id"], shown["option"], strict=True)
    ]
    columns["Employers"] = shown["count"]
    columns["Share"] = shown["share"]
    columns["Base"] = shown["base"]
    return Table(
        name,
        title,
        pd.DataFrame(columns),
        percent_columns=frozenset({"Share"}),
        note=note + " Base: employers who answered the question.",
    )


def _numbers_table(
    name: str,
    title: str,
    frame: pd.DataFrame,
    catalogue: Catalogue,
    axis: str | None,
    threshold: int,
    note: str,
) -> Table:
    shown = disclose(frame, {"mean": "base", "median": "base", "base": "base"}, threshold)
    columns: dict[str, object] = {}
    if axis is not None:
        columns[PROFILE_AXES[axis]] = _axis_labels(shown["group"], catalogue, axis)
    columns["Question"] = [catalogue.question_label(q) for q in shown["question_id"]]
    columns["Mean"] = shown["mean"]
    columns["Median"] = shown["median"]
    columns["Base"] = shown["base"]
    return Table(
        name,
        title,
        pd.DataFrame(columns),
        decimal_columns=frozenset({"Mean", "Median"}),
        note=note + " Base: employers who answered the question.",
    )


def _skills_by_sector_table(
    frame: pd.DataFrame, catalogue: Catalogue, threshold: int, note: str
) -> Table:
    shown = disclose(frame, {"count": "base", "share": "base", "base": "base"}, threshold)
    display = pd.DataFrame(
        {
            "Sector": _axis_labels(shown["group"], catalogue, "sector"),
            "Rank": shown["rank"],
            "Skill lacking": [_skill_label(catalogue, s) for s in shown["skill"]],
            "Employers": shown["count"],
            "Share": shown["share"],
            "Base": shown["base"],
        }
    )
    return Table(
        "Skills gaps by sector",
        "Skills lacking, ranked within each sector",
        display,
        percent_columns=frozenset({"Share"}),
        note=note,
    )


def _verbatims_table(table: pd.DataFrame, catalogue: Catalogue, threshold: int) -> Table:
    frame = approved_only(table)  # unreviewed answers are counted in the note, never shown
    small = (frame["sector_base"] < threshold).to_numpy()
    sectors = _axis_labels(frame["sector"], catalogue, "sector")
    display = pd.DataFrame(
        {
            "Sector": [
                f"Sector with {marker(threshold)} responses" if hide else label
                for hide, label in zip(small, sectors, strict=True)
            ],
            "Question": frame["question"],
            "What they said": frame["text"],
        }
    )
    return Table(
        "Verbatims",
        "In their words (responses completed this week; quotes approved by staff)",
        display,
        note=verbatims_note(table, threshold),
    )


def _trend(frame: pd.DataFrame, catalogue: Catalogue, threshold: int) -> pd.DataFrame:
    shown = disclose(frame, {"started": "started"}, threshold)
    values = pd.to_numeric(
        shown["started"].where(~shown["started"].map(is_suppressed)), errors="coerce"
    )
    # pivot, not pivot_table: summing would turn suppressed (NaN) cells into zeros.
    labelled = shown.assign(
        started=values, sector=_axis_labels(shown["sector"], catalogue, "sector")
    )
    if labelled.empty:
        return pd.DataFrame(dtype="float64")
    return labelled.pivot(index="sector", columns="week", values="started").astype("float64")


def _heatmap(
    summary: WeeklySummary, catalogue: Catalogue, threshold: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    skills = list(summary.top_skills["skill"])
    by_sector = summary.skills_by_sector
    sectors = [s for s in catalogue.axis_order("sector") if s in set(by_sector["group"])]
    sectors += sorted(set(by_sector["group"]) - set(sectors))
    bases = {str(k): int(v) for k, v in by_sector.groupby("group")["base"].first().items()}
    share = by_sector.set_index(["group", "skill"])["share"]
    values = np.full((len(sectors), len(skills)), np.nan)
    hidden = np.zeros((len(sectors), len(skills)), dtype=bool)
    for i, sector in enumerate(sectors):
        small = bases.get(sector, 0) < threshold
        for j, skill in enumerate(skills):
            if small:
                hidden[i, j] = True
            else:
                values[i, j] = float(share.get((sector, skill), 0.0))
    index = _axis_labels(pd.Series(sectors, dtype="object"), catalogue, "sector")
    columns = [_skill_label(catalogue, s) for s in skills]
    return (
        pd.DataFrame(values, index=index, columns=columns),
        pd.DataFrame(hidden, index=index, columns=columns),
    )


def headline_message(tables: ReportTables, *, limit: int = 4096) -> str:
    """The headline figures as a short plain-text message (for Telegram, at most `limit`)."""
    lines = [f"Weekly skills summary, week {tables.week.label}", ""]
    for row in tables.headline.frame.itertuples(index=False):
        measure, value, base, _previous, change = row
        lines.append(f"{measure}: {value} (base {base}; change on last week {change})")
    top = next((t for t in tables.tables if t.name == "Top skills gaps"), None)
    if top is not None and not top.frame.empty:
        lines += ["", "Top skills lacking:"]
        for row in top.frame.head(5).itertuples(index=False):
            rank, skill, _count, share, _base = row
            shown = share if is_suppressed(share) else f"{float(share):.0%}"
            lines.append(f"{rank}. {skill} ({shown})")
    lines += [
        "",
        f"Figures based on fewer than {tables.threshold} employers show as {tables.marker}.",
    ]
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"
