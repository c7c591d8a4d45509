"""The weekly summary: headline figures, roll-ups by sector, district and size, skills gaps.

`weekly_summary(frames, week)` is pure: it takes the loaded `SurveyFrames` and returns raw
figures with their bases (nothing suppressed, nothing labelled). `analytics.tables`
labels and suppresses them for rendering.

"To date" means responses started (or completed) before the end of the week, so a
report for a past week gives the same figures whenever it is run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from analytics.catalogue import PROFILE_AXES, Catalogue
from analytics.frames import completed_answers_until, one_response_per_employer, responses_until
from analytics.measures import employer_measures
from analytics.rollups import (
    choice_shares,
    incidence,
    number_summaries,
    response_counts,
    skills_ranking,
)
from analytics.verbatims import verbatims
from analytics.weeks import IsoWeek
from conversations.definition import Interview

TOP_SKILLS = 10
TREND_WEEKS = 8


@dataclass(frozen=True, slots=True)
class SurveyFrames:
    """Everything a summary is computed from: raw responses, tidy answers, the catalogue."""

    responses: pd.DataFrame
    tidy: pd.DataFrame
    catalogue: Catalogue
    # Staff decisions on text answers (analytics.source.reviews_frame); None: none.
    reviews: pd.DataFrame | None = None
    # The raw answers and the interview's definitions by version, for the ESS measures
    # (whose bases come from each version's `relevant` logic); without them, no measures.
    answers: pd.DataFrame | None = None
    definitions: Mapping[str, Interview] = field(default_factory=dict)
    interview: Interview | None = None


@dataclass(frozen=True, slots=True)
class _Sources:
    """What the summary was computed from, for the figures worked out on first use."""

    responses: pd.DataFrame  # one per employer
    to_date: pd.DataFrame
    tidy: pd.DataFrame
    answered: pd.DataFrame


@dataclass(frozen=True)
class WeeklySummary:
    """Raw figures for one week, each with its base. See `analytics.tables` to show them.

    - `choices`, `choices_by_sector`: group, question_id, option, count, base, share
    - `skills_by`: the same for the skills-lacking questions only, by district and by size
      band (keyed by axis): what their rankings by district and size band need
    - `numbers`, `numbers_by_sector`: group, question_id, mean, median, base
    - `verbatims`: sector, question_id, question, text, review, sector_base (text answers of
      responses completed this week; `text` only for quotes staff approved, see
      `analytics.verbatims`)
    - `history`: week, axis, group, started_week, completed_week, started, completed for
      every week from the first response to `week` (what disclosure control needs to keep
      consecutive weeks' figures from revealing each other; the report's response counts)
    - `measures`: each completed employer's ESS measure parts (`analytics.measures`)

    Worked out on first use (the published report takes these figures from `history` and
    `measures` instead, so it never pays for them):

    - `headline`: measure, kind (count/share), value, base, previous, previous_base, change
    - `by_sector`/`by_district`/`by_size_band`: group, started, completed, completion_rate,
      hard_to_fill, skills_gaps (shares of completed), started_week, completed_week
    - `top_skills`: the ranking overall; `skills_by_sector`: within each sector
    - `trend`: week, sector, started (responses started per sector, last 8 weeks)
    """

    week: IsoWeek
    catalogue: Catalogue
    choices: pd.DataFrame
    choices_by_sector: pd.DataFrame
    skills_by: Mapping[str, pd.DataFrame]
    numbers: pd.DataFrame
    numbers_by_sector: pd.DataFrame
    verbatims: pd.DataFrame
    history: pd.DataFrame
    measures: pd.DataFrame
    sources: _Sources = field(repr=False)

    @cached_property
    def headline(self) -> pd.DataFrame:
        """This week's and last week's headline figures (see the class docstring)."""
        return _headline(self.sources.responses, self.sources.tidy, self.catalogue, self.week)

    def _rollup(self, axis: str) -> pd.DataFrame:
        sources = self.sources
        return _profile_rollup(sources.to_date, sources.answered, self.catalogue, self.week, axis)

    @cached_property
    def by_sector(self) -> pd.DataFrame:
        """Responses and rates by sector."""
        return self._rollup("sector")

    @cached_property
    def by_district(self) -> pd.DataFrame:
        """Responses and rates by district."""
        return self._rollup("district")

    @cached_property
    def by_size_band(self) -> pd.DataFrame:
        """Responses and rates by size band."""
        return self._rollup("size_band")

    @cached_property
    def top_skills(self) -> pd.DataFrame:
        """The skills ranking over all employers (top 10)."""
        lists = self.catalogue.key.skills_lists
        return skills_ranking(self.sources.answered, lists, None).head(TOP_SKILLS)

    @cached_property
    def skills_by_sector(self) -> pd.DataFrame:
        """The skills ranking within each sector."""
        return skills_ranking(self.sources.answered, self.catalogue.key.skills_lists, "sector")

    @cached_property
    def trend(self) -> pd.DataFrame:
        """Responses started per sector in the last 8 weeks."""
        return _trend(self.sources.responses, self.week)


def weekly_summary(frames: SurveyFrames, week: IsoWeek) -> WeeklySummary:
    """All figures of the weekly report for `week` (to date = up to the week's end)."""
    catalogue = frames.catalogue
    end = pd.Timestamp(week.end)
    responses = one_response_per_employer(frames.responses)
    to_date = responses_until(responses, end)
    answered = completed_answers_until(frames.tidy, end)
    answered = answered.loc[answered["response_id"].isin(to_date["response_id"]).to_numpy()]
    questions = answered.loc[
        ~answered["question_id"].isin(list(catalogue.profile_questions)).to_numpy()
    ]
    lists = list(catalogue.key.skills_lists)
    skills = questions.loc[questions["question_id"].isin(lists).to_numpy()]
    return WeeklySummary(
        week=week,
        catalogue=catalogue,
        choices=choice_shares(questions, None, catalogue),
        choices_by_sector=choice_shares(questions, "sector", catalogue),
        skills_by={
            axis: choice_shares(skills, axis, catalogue) for axis in ("district", "size_band")
        },
        numbers=number_summaries(questions, None),
        numbers_by_sector=number_summaries(questions, "sector"),
        verbatims=_week_verbatims(frames, to_date, week),
        history=profile_history(responses, week),
        measures=_measures(frames, to_date),
        sources=_Sources(responses=responses, to_date=to_date, tidy=frames.tidy, answered=answered),
    )


def _measures(frames: SurveyFrames, to_date: pd.DataFrame) -> pd.DataFrame:
    """Each employer's ESS measure parts (completed responses to date); empty without answers."""
    if frames.answers is None or frames.interview is None:
        return pd.DataFrame()
    completed = to_date.loc[(to_date["status"] == "completed").to_numpy()]
    return employer_measures(completed, frames.answers, frames.definitions, frames.interview)


def profile_history(responses: pd.DataFrame, week: IsoWeek) -> pd.DataFrame:
    """Responses started and completed per week and to date, by every profile axis.

    One row per (week, axis, group), from the week of the first response to `week`, with
    every group that has a response by the end of `week` in every week (zeros included).
    """
    columns = ["week", "axis", "group", "started_week", "completed_week", "started", "completed"]
    end = pd.Timestamp(week.end)
    known = responses.loc[responses["started_at"] < end]
    if known.empty:
        return pd.DataFrame({name: pd.Series([], dtype="object") for name in columns})
    first = IsoWeek.containing(known["started_at"].min().to_pydatetime(), week.zone)
    weeks: list[IsoWeek] = [first]
    while weeks[-1] < week:
        weeks.append(weeks[-1].next())
    bounds = pd.DatetimeIndex([pd.Timestamp(w.end) for w in weeks])
    started_index = bounds.searchsorted(known["started_at"], side="right")
    completed = known["completed_at"].where(known["status"] == "completed")
    done = completed.notna() & (completed < end)
    completed_index = bounds.searchsorted(completed.fillna(end), side="right")
    frames = []
    count = len(weeks)
    finished_rows = done.to_numpy()
    for axis in PROFILE_AXES:
        codes, names = pd.factorize(known[axis].astype("object").fillna("unknown"), sort=True)
        started = _week_counts(codes, started_index, len(names), count)
        finished = _week_counts(
            codes[finished_rows], completed_index[finished_rows], len(names), count
        )
        started_to_date, finished_to_date = started.cumsum(axis=1), finished.cumsum(axis=1)
        groups = np.asarray(names, dtype=object)
        for position, each in enumerate(weeks):
            frames.append(
                pd.DataFrame(
                    {
                        "week": each.label,
                        "axis": axis,
                        "group": groups,
                        "started_week": started[:, position],
                        "completed_week": finished[:, position],
                        "started": started_to_date[:, position],
                        "completed": finished_to_date[:, position],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True).loc[:, columns]


def _week_counts(groups: np.ndarray, weeks: np.ndarray, width: int, count: int) -> np.ndarray:
    """A (group x week) table of how many rows fall in each; weeks past `count` dropped."""
    keep = weeks < count
    flat = np.bincount(groups[keep] * count + weeks[keep], minlength=width * count)
    return flat.reshape(width, count).astype("int64")


def _window(times: pd.Series, week: IsoWeek) -> pd.Series:
    return (times >= pd.Timestamp(week.start)) & (times < pd.Timestamp(week.end))


def _headline_figures(
    responses: pd.DataFrame, tidy: pd.DataFrame, catalogue: Catalogue, week: IsoWeek
) -> list[tuple[str, str, float, int]]:
    """(measure, kind, value, base) for one week."""
    end = pd.Timestamp(week.end)
    to_date = responses_until(responses, end)
    started_week = int(_window(responses["started_at"], week).sum())
    completed_week = int(_window(responses["completed_at"], week).sum())
    started = len(to_date)
    completed = int((to_date["status"] == "completed").sum())
    answered = completed_answers_until(tidy, end)
    answered = answered.loc[answered["response_id"].isin(to_date["response_id"]).to_numpy()]
    figures: list[tuple[str, str, float, int]] = [
        ("Responses started this week", "count", started_week, started_week),
        ("Responses completed this week", "count", completed_week, completed_week),
        ("Responses completed to date", "count", completed, completed),
        ("Completion rate to date", "share", completed / started if started else 0.0, started),
    ]
    key = catalogue.key
    for measure, question_id, yes_values in (
        ("Employers with hard-to-fill vacancies", key.hard_to_fill, key.hard_to_fill_yes),
        ("Employers reporting skills gaps", key.skills_gap, key.skills_gap_yes),
    ):
        if question_id is None:
            continue
        yes = int(incidence(answered, question_id, yes_values)["count"].iloc[0])
        figures.append((measure, "share", yes / completed if completed else 0.0, completed))
    return figures


def _headline(
    responses: pd.DataFrame, tidy: pd.DataFrame, catalogue: Catalogue, week: IsoWeek
) -> pd.DataFrame:
    now = _headline_figures(responses, tidy, catalogue, week)
    before = _headline_figures(responses, tidy, catalogue, week.previous())
    rows = [
        {
            "measure": measure,
            "kind": kind,
            "value": value,
            "base": base,
            "previous": previous,
            "previous_base": previous_base,
            "change": value - previous,
            "change_base": min(base, previous_base),
        }
        for (measure, kind, value, base), (_, _, previous, previous_base) in zip(
            now, before, strict=True
        )
    ]
    return pd.DataFrame(rows)


def _profile_rollup(
    to_date: pd.DataFrame,
    answered: pd.DataFrame,
    catalogue: Catalogue,
    week: IsoWeek,
    axis: str,
) -> pd.DataFrame:
    counts = response_counts(to_date, axis)
    this_week = to_date.assign(
        started_week=_window(to_date["started_at"], week).astype("int64"),
        completed_week=_window(to_date["completed_at"], week).astype("int64"),
    )
    this_week[axis] = this_week[axis].astype("object").fillna("unknown")
    weekly = this_week.groupby(axis)[["started_week", "completed_week"]].sum()
    table = counts.merge(weekly, left_on="group", right_index=True, how="left")
    key = catalogue.key
    for column, question_id, yes_values in (
        ("hard_to_fill", key.hard_to_fill, key.hard_to_fill_yes),
        ("skills_gaps", key.skills_gap, key.skills_gap_yes),
    ):
        yes = incidence(answered, question_id, yes_values, axis).set_index("group")["count"]
        table[column] = table["group"].map(yes).fillna(0) / table["completed"].where(
            table["completed"] > 0
        )
    order = {value: position for position, value in enumerate(catalogue.axis_order(axis))}
    table = table.assign(_order=table["group"].map(order).fillna(len(order)))
    return table.sort_values(["_order", "group"]).drop(columns="_order").reset_index(drop=True)


def _trend(responses: pd.DataFrame, week: IsoWeek) -> pd.DataFrame:
    rows = []
    sectors = responses["sector"].astype("object").fillna("unknown")
    for each in week.last(TREND_WEEKS):
        in_week = _window(responses["started_at"], each)
        counts = sectors[in_week.to_numpy()].value_counts()
        for sector in sorted(sectors.unique()):
            rows.append(
                {"week": each.label, "sector": sector, "started": int(counts.get(sector, 0))}
            )
    return pd.DataFrame(rows, columns=["week", "sector", "started"])


def _week_verbatims(frames: SurveyFrames, to_date: pd.DataFrame, week: IsoWeek) -> pd.DataFrame:
    done = to_date.loc[_window(to_date["completed_at"], week).to_numpy()]
    tidy = frames.tidy.loc[frames.tidy["response_id"].isin(done["response_id"]).to_numpy()]
    table = verbatims(tidy, frames.responses, frames.catalogue, frames.reviews)
    completed = to_date.loc[to_date["status"] == "completed", "sector"].astype("object")
    sector_base = completed.fillna("unknown").value_counts()
    table["sector_base"] = table["sector"].map(sector_base).fillna(0).astype("int64")
    return table
