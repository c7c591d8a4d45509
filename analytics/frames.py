"""Tidy frames: one row per response and question (and per selected option), typed.

Pure `DataFrame -> DataFrame` functions. The inputs are the raw frames of
`storage.analytics_source` (`responses_frame`, `answers_frame`); the output of
`tidy_answers` has the columns in `TIDY_COLUMNS`:

- `kind`: `choice` (one value), `multi` (one row per selected value), `number`, `text`, `date`;
- `value`: the choice value or the text; `number`: the number (scales, integers, decimals);
- the employer profile (`sector`, `district`, `size_band`) and the response's `status`,
  `started_at` and `completed_at`.
"""

from __future__ import annotations

import pandas as pd

from analytics.catalogue import Catalogue

PROFILE_COLUMNS = ("sector", "district", "size_band")
TIDY_COLUMNS = (
    "response_id",
    "employer_id",
    "question_id",
    "kind",
    "value",
    "number",
    "sector",
    "district",
    "size_band",
    "status",
    "started_at",
    "completed_at",
)
# A select_multiple answer's values are stored joined by this (storage.answer_text).
MULTI_SEPARATOR = ";"


def tidy_answers(
    answers: pd.DataFrame, responses: pd.DataFrame, catalogue: Catalogue
) -> pd.DataFrame:
    """Typed, exploded answers joined with the employer profile and response times.

    Answers to questions the catalogue does not know (other interviews, retired questions)
    are left out, as are answers of responses that are not in `responses`.
    """
    kinds = pd.Series(catalogue.kinds, dtype="object")
    frame = answers.loc[:, ["response_id", "question_id", "value_text", "value_number"]]
    question_ids = frame["question_id"].astype("object")
    kind = question_ids.map(kinds)
    keep = kind.notna().to_numpy()
    frame = pd.DataFrame(
        {
            "response_id": frame["response_id"].to_numpy()[keep],
            "question_id": question_ids.to_numpy()[keep],
            "kind": kind.to_numpy()[keep],
            "value": frame["value_text"].astype("object").to_numpy()[keep],
            "number": frame["value_number"].astype("float64").to_numpy()[keep],
        }
    )
    is_number = (frame["kind"] == "number").to_numpy()
    frame.loc[is_number, "value"] = None
    frame.loc[~is_number, "number"] = float("nan")

    is_multi = (frame["kind"] == "multi").to_numpy()
    if is_multi.any():
        multi = frame.loc[is_multi].copy()
        multi["value"] = multi["value"].str.split(MULTI_SEPARATOR)
        multi = multi.explode("value")
        multi = multi.loc[multi["value"].notna() & (multi["value"] != "")]
        frame = pd.concat([frame.loc[~is_multi], multi], ignore_index=True)

    profile = responses.loc[
        :,
        ["response_id", "employer_id", *PROFILE_COLUMNS, "status", "started_at", "completed_at"],
    ]
    tidy = frame.merge(profile, on="response_id", how="inner", validate="many_to_one")
    tidy = tidy.loc[:, list(TIDY_COLUMNS)]
    for name in ("question_id", "kind", "sector", "district", "size_band", "status"):
        tidy[name] = tidy[name].astype("category")
    return tidy.reset_index(drop=True)


def responses_until(responses: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Responses started before `end`, with the status they had then.

    A response completed at or after `end` counts as still in progress at `end`.
    """
    started = responses.loc[responses["started_at"] < end].copy()
    completed_later = (started["status"] == "completed") & ~(started["completed_at"] < end)
    started["status"] = started["status"].astype("object")
    started.loc[completed_later, "status"] = "in_progress"
    started.loc[completed_later, "completed_at"] = pd.NaT
    return started


def completed_answers_until(tidy: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """The tidy answers of responses completed before `end` (what roll-ups count)."""
    mask = (tidy["status"] == "completed") & (tidy["completed_at"] < end)
    return tidy.loc[mask.to_numpy()]


def one_response_per_employer(responses: pd.DataFrame) -> pd.DataFrame:
    """Each employer's best response: a completed one if any, else the latest started.

    Roll-ups count employers; an employer who started twice is counted once.
    """
    rank = (responses["status"] == "completed").astype("int64")
    ordered = responses.assign(_rank=rank).sort_values(
        ["employer_id", "_rank", "started_at", "response_id"], kind="stable"
    )
    best = ordered.drop_duplicates("employer_id", keep="last").drop(columns="_rank")
    return best.sort_values("response_id", kind="stable").reset_index(drop=True)
