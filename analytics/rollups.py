"""Roll-ups of tidy answers by sector, district or size band, each figure with its base.

Pure `DataFrame -> DataFrame` functions. They count employers, and expect at most one
response per employer (see `frames.one_response_per_employer`). A figure's `base` is the
number of employers it is a share or an average of: for a question, those who answered
it, so that branching (a question asked only of some) gives each question its own base.
Nothing here suppresses small bases: `disclosure.disclose` does that, last, before
anything is rendered.

Every roll-up returns a `group` column: the value of the `by` axis (a sector slug, a
district code, a size band), or `ALL` when `by` is None.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pandas as pd

from analytics.catalogue import NOT_A_SKILL, Catalogue

ALL = "All employers"


def _keys(by: str | None) -> list[str]:
    return [by] if by is not None else []


def _with_group(frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Rename the `by` column to `group` (or add `group` = ALL), first."""
    frame = frame.rename(columns={by: "group"}) if by is not None else frame.assign(group=ALL)
    frame["group"] = frame["group"].astype("object")
    return frame.loc[:, ["group", *[c for c in frame.columns if c != "group"]]]


def response_counts(responses: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Responses started and completed, and the completion rate (completed / started)."""
    frame = responses.assign(
        completed=(responses["status"] == "completed").astype("int64"),
        started=1,
    )
    if by is None:
        counts = pd.DataFrame(
            {"started": [int(frame["started"].sum())], "completed": [int(frame["completed"].sum())]}
        )
    else:
        grouped = frame.assign(**{by: frame[by].astype("object").fillna("unknown")})
        counts = grouped.groupby(by, sort=True)[["started", "completed"]].sum().reset_index()
    counts["completion_rate"] = counts["completed"] / counts["started"].where(counts["started"] > 0)
    return _with_group(counts, by).reset_index(drop=True)


def choice_shares(
    tidy: pd.DataFrame, by: str | None = None, catalogue: Catalogue | None = None
) -> pd.DataFrame:
    """For every choice question and option: employers choosing it, the base, the share.

    The base is the number of employers who answered the question (in the group). With a
    catalogue, options nobody chose are listed with a count of 0.
    """
    keys = _keys(by)
    chosen = tidy.loc[tidy["kind"].isin(["choice", "multi"]).to_numpy()]
    chosen = chosen.loc[:, [*keys, "question_id", "value", "response_id"]]
    # Group on the categorical keys (observed only) and on value codes: factorizing a
    # million strings once, not once per grouping, is what keeps this fast.
    codes, uniques = pd.factorize(chosen["value"])
    chosen = chosen.assign(value=codes)
    counts: pd.DataFrame = (
        chosen.groupby([*keys, "question_id", "value"], sort=False, observed=True)
        .size()
        .rename("count")
        .reset_index()
    )
    counts["value"] = uniques.take(counts["value"].to_numpy())
    bases = (
        chosen.groupby([*keys, "question_id"], sort=False, observed=True)["response_id"]
        .nunique()
        .rename("base")
        .reset_index()
    )
    for frame in (counts, bases):
        for name in [*keys, "question_id"]:
            frame[name] = frame[name].astype("object")
    if catalogue is not None and not bases.empty:
        options = pd.DataFrame(
            [
                (question_id, value)
                for question_id, labels in catalogue.choice_labels.items()
                for value in labels
            ],
            columns=["question_id", "value"],
        )
        grid = bases.loc[:, [*keys, "question_id"]].merge(options, on="question_id")
        counts = grid.merge(counts, on=[*keys, "question_id", "value"], how="outer")
        counts["count"] = counts["count"].fillna(0).astype("int64")
    table = counts.merge(bases, on=[*keys, "question_id"], how="left")
    table["share"] = table["count"] / table["base"]
    table = table.rename(columns={"value": "option"})
    if catalogue is not None:
        table = _in_question_order(table, catalogue, keys)
    return _with_group(table, by).reset_index(drop=True)


def _in_question_order(table: pd.DataFrame, catalogue: Catalogue, keys: list[str]) -> pd.DataFrame:
    position = table["question_id"].map(catalogue.positions).fillna(1e9)
    option_rank = [
        list(catalogue.choice_labels.get(q, {})).index(v)
        if v in catalogue.choice_labels.get(q, {})
        else 1e9
        for q, v in zip(table["question_id"], table["option"], strict=True)
    ]
    ordered = table.assign(_position=position, _option=option_rank)
    ordered = ordered.sort_values([*keys, "_position", "_option"], kind="stable")
    return ordered.drop(columns=["_position", "_option"])


def number_summaries(tidy: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """For every number and scale question: mean, median and base (employers answering)."""
    keys = _keys(by)
    numbers = tidy.loc[(tidy["kind"] == "number").to_numpy() & tidy["number"].notna().to_numpy()]
    numbers = numbers.loc[:, [*keys, "question_id", "number"]]
    for name in [*keys, "question_id"]:
        numbers[name] = numbers[name].astype("object")
    table = (
        numbers.groupby([*keys, "question_id"], sort=True)["number"]
        .agg(["mean", "median", "count"])
        .rename(columns={"count": "base"})
        .reset_index()
    )
    table["base"] = table["base"].astype("int64")
    return _with_group(table, by).reset_index(drop=True)


def incidence(
    tidy: pd.DataFrame, question_id: str | None, yes_values: Collection[str], by: str | None = None
) -> pd.DataFrame:
    """Employers answering one of `yes_values` to a question: count, base, share."""
    keys = _keys(by)
    answered = (
        tidy.loc[(tidy["question_id"] == question_id).to_numpy()] if question_id else tidy.iloc[:0]
    )
    answered = answered.loc[:, [*keys, "value", "response_id"]].assign(
        yes=answered["value"].isin(list(yes_values)).astype("int64")
    )
    for name in keys:
        answered[name] = answered[name].astype("object")
    if keys:
        table = answered.groupby(keys, sort=True).agg(
            count=("yes", "sum"), base=("response_id", "nunique")
        )
        table = table.reset_index()
    else:
        table = pd.DataFrame(
            {"count": [int(answered["yes"].sum())], "base": [answered["response_id"].nunique()]}
        )
    table["count"] = table["count"].astype("int64")
    table["base"] = table["base"].astype("int64")
    table["share"] = table["count"] / table["base"].where(table["base"] > 0)
    return _with_group(table, by).reset_index(drop=True)


def skills_ranking(
    tidy: pd.DataFrame, skills_lists: Sequence[str], by: str | None = None
) -> pd.DataFrame:
    """Skills lacking, ranked by the employers naming them, overall or within each group.

    An employer counts once per skill even if it names the skill in several lists; the base
    is the employers who answered any of the lists. "None"/"Don't know" are not skills.
    """
    keys = _keys(by)
    listed = tidy.loc[tidy["question_id"].isin(list(skills_lists)).to_numpy()]
    listed = listed.loc[:, [*keys, "response_id", "value"]]
    for name in keys:
        listed[name] = listed[name].astype("object")
    bases = listed.groupby(keys, sort=True)["response_id"].nunique() if keys else None
    base_all = listed["response_id"].nunique()
    named = listed.loc[~listed["value"].isin(NOT_A_SKILL)].drop_duplicates(
        [*keys, "response_id", "value"]
    )
    counts = named.groupby([*keys, "value"], sort=True).size().rename("count").reset_index()
    if bases is not None:
        counts = counts.merge(bases.rename("base").reset_index(), on=keys, how="left")
    else:
        counts["base"] = base_all
    counts["base"] = counts["base"].astype("int64")
    counts["share"] = counts["count"] / counts["base"]
    counts = counts.sort_values(
        [*keys, "count", "value"], ascending=[*[True] * len(keys), False, True]
    )
    counts["rank"] = (
        counts.groupby(keys, sort=False).cumcount() + 1 if keys else range(1, len(counts) + 1)
    )
    counts = counts.rename(columns={"value": "skill"})
    return _with_group(counts, by).reset_index(drop=True)
