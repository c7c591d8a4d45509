"""Tidy frames: one row per response and question (and per selected option), typed.

Pure `DataFrame -> DataFrame` functions. The inputs are the raw frames of
`analytics.source` (`responses_frame`, `answers_frame`); the output of
`tidy_answers` has the columns in `TIDY_COLUMNS`:

- `kind`: `choice` (one value), `multi` (one row per selected value), `number`, `text`, `date`;
- `value`: the choice value or the text; `number`: the number (scales, integers, decimals);
- the employer profile (`sector`, `district`, `size_band`) and the response's `status`,
  `started_at` and `completed_at`.
"""

from __future__ import annotations

import numpy as np
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
    question_ids = answers["question_id"]
    if not isinstance(question_ids.dtype, pd.CategoricalDtype):
        question_ids = question_ids.astype("category")
    # Work on the category codes: factorizing a million strings again is what costs.
    kind_names: list[str] = sorted(set(catalogue.kinds.values()))
    code_of_kind: dict[str, int] = {name: index for index, name in enumerate(kind_names)}
    kind_of_category = np.array(
        [
            code_of_kind.get(str(catalogue.kinds.get(str(q), "")), -1)
            for q in question_ids.cat.categories
        ]
        + [-1],  # code -1 (a missing question id) indexes this last entry
        dtype="int64",
    )
    kind_codes = kind_of_category[question_ids.cat.codes.to_numpy()]
    keep = kind_codes >= 0
    frame = pd.DataFrame(
        {
            "response_id": answers["response_id"].to_numpy()[keep],
            "question_id": pd.Categorical.from_codes(
                question_ids.cat.codes.to_numpy()[keep], categories=question_ids.cat.categories
            ),
            "kind": pd.Categorical.from_codes(
                kind_codes[keep], dtype=pd.CategoricalDtype(kind_names)
            ),
            "value": answers["value_text"].astype("object").to_numpy()[keep],
            "number": answers["value_number"].astype("float64").to_numpy()[keep],
        }
    )
    is_number = (frame["kind"] == "number").to_numpy()
    frame.loc[is_number, "value"] = None
    frame.loc[~is_number, "number"] = float("nan")

    is_multi = (frame["kind"] == "multi").to_numpy()
    if is_multi.any():
        frame = pd.concat([frame.loc[~is_multi], _exploded(frame.loc[is_multi])], ignore_index=True)

    profile = responses.loc[
        :,
        ["response_id", "employer_id", *PROFILE_COLUMNS, "status", "started_at", "completed_at"],
    ].copy()
    for name in (*PROFILE_COLUMNS, "status"):  # categorical before the merge: cheap here
        profile[name] = profile[name].astype("object").astype("category")
    tidy = frame.merge(profile, on="response_id", how="inner", validate="many_to_one")
    return tidy.loc[:, list(TIDY_COLUMNS)].reset_index(drop=True)


def _exploded(multi: pd.DataFrame) -> pd.DataFrame:
    """One row per selected value of select_multiple answers (`a;b` gives rows a and b).

    Few distinct answers recur many times: each distinct text is split once, and the rows
    are repeated with numpy, instead of splitting every answer's text in Python.
    """
    codes, uniques = pd.factorize(multi["value"].to_numpy(dtype=object))
    pieces = [[p for p in str(u).split(MULTI_SEPARATOR) if p] for u in uniques]
    lengths = np.array([len(p) for p in pieces], dtype="int64")
    flat = np.array([p for parts in pieces for p in parts], dtype=object)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype("int64")
    codes = np.where(codes < 0, len(uniques), codes)  # a missing text selects nothing
    lengths = np.append(lengths, 0)
    starts = np.append(starts, 0)
    per_row = lengths[codes]
    rows = np.repeat(np.arange(len(multi)), per_row)
    offsets = np.arange(int(per_row.sum())) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    exploded = multi.iloc[rows].copy()
    exploded["value"] = flat[starts[codes][rows] + offsets]
    return exploded


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
