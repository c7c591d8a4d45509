"""A small, fixed survey to check roll-ups against figures worked out by hand.

Twelve employers, one response each:

|id|sector|district|size|status|vacancies|hard_to_fill|skills_lacking|fit|gaps|
|--|--|--|--|--|--|--|--|--|--|
|1|manufacturing|E07000008|10-24|completed|yes|yes|specialist;numeracy|4|yes|
|2|manufacturing|E07000008|10-24|completed|yes|yes|specialist|2|yes|
|3|manufacturing|E06000031|2-4|completed|yes|yes|team_working;specialist|3|no|
|4|manufacturing|E06000031|2-4|completed|yes|no|-|5|no|
|5|manufacturing|E07000008|50-99|completed|no|-|-|1|yes|
|6|manufacturing|E07000008|10-24|in_progress|yes|-|-|-|-|
|7|construction|E06000031|2-4|completed|yes|yes|numeracy|2|yes|
|8|construction|E06000031|2-4|completed|no|-|-|4|no|
|9|construction|E07000008|5-9|completed|yes|yes|specialist|3|yes|
|10|construction|E07000008|5-9|completed|no|-|-|5|no|
|11|health|E06000031|250+|completed|yes|yes|customer|2|yes|
|12|health|E06000031|250+|declined|-|-|-|-|-|

Employer 7 lists "numeracy" only (skills_lacking = "numeracy").
Started 12, completed 10. Hard to fill is asked only of those with vacancies: among the
10 completed, 7 have vacancies (1,2,3,4,7,9,11), 6 of them say yes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from analytics.catalogue import KeyQuestions, catalogue
from conversations.definition import Choice, Interview, Question, Section

if TYPE_CHECKING:
    from analytics.weekly import WeeklySummary

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday of 2026-W10, GMT


def _q(
    qid: str,
    qtype: str,
    label: str,
    choices: tuple[tuple[str, str], ...] = (),
    profile: str | None = None,
) -> Question:
    return Question(
        id=qid,
        type=qtype,  # type: ignore[arg-type]
        label=label,
        section_id="main",
        choices=tuple(Choice(value, text) for value, text in choices),
        profile=profile,
    )


INTERVIEW = Interview(
    id="small",
    title="Small survey",
    version="1",
    sections=(
        Section(
            id="main",
            title="Main",
            questions=(
                _q("consent", "consent", "Do you agree?"),
                _q(
                    "sector",
                    "select_one",
                    "Sector",
                    (
                        ("manufacturing", "Manufacturing"),
                        ("construction", "Construction"),
                        ("health", "Health and Social Work"),
                    ),
                    profile="sector",
                ),
                _q(
                    "district",
                    "select_one",
                    "District",
                    (("E07000008", "Cambridge"), ("E06000031", "Peterborough")),
                    profile="district",
                ),
                _q(
                    "size_band",
                    "select_one",
                    "Size",
                    (
                        ("2-4", "2-4"),
                        ("5-9", "5-9"),
                        ("10-24", "10-24"),
                        ("50-99", "50-99"),
                        ("250+", "250+"),
                    ),
                    profile="size_band",
                ),
                _q("vacancies", "yes_no", "Any vacancies?"),
                _q("hard_to_fill", "yes_no", "Any hard to fill?"),
                _q(
                    "skills_lacking",
                    "select_multiple",
                    "Skills lacking",
                    (
                        ("specialist", "Specialist skills"),
                        ("numeracy", "Basic numeracy"),
                        ("team_working", "Team working"),
                        ("customer", "Customer handling"),
                        ("none", "None of these"),
                    ),
                ),
                _q("provision_fit", "scale", "How well does local training fit?"),
                _q("skills_gaps", "yes_no", "Do staff lack skills?"),
                _q("comments", "text", "Anything else?"),
            ),
        ),
    ),
)
CATALOGUE = catalogue(
    INTERVIEW,
    KeyQuestions(
        hard_to_fill="hard_to_fill", skills_gap="skills_gaps", skills_lists=("skills_lacking",)
    ),
)

_ROWS = [
    # id, sector, district, size, status, vacancies, htf, skills, fit, gaps
    (
        1,
        "manufacturing",
        "E07000008",
        "10-24",
        "completed",
        "yes",
        "yes",
        "specialist;numeracy",
        4,
        "yes",
    ),
    (2, "manufacturing", "E07000008", "10-24", "completed", "yes", "yes", "specialist", 2, "yes"),
    (
        3,
        "manufacturing",
        "E06000031",
        "2-4",
        "completed",
        "yes",
        "yes",
        "specialist;team_working",
        3,
        "no",
    ),
    (4, "manufacturing", "E06000031", "2-4", "completed", "yes", "no", None, 5, "no"),
    (5, "manufacturing", "E07000008", "50-99", "completed", "no", None, None, 1, "yes"),
    (6, "manufacturing", "E07000008", "10-24", "in_progress", "yes", None, None, None, None),
    (7, "construction", "E06000031", "2-4", "completed", "yes", "yes", "numeracy", 2, "yes"),
    (8, "construction", "E06000031", "2-4", "completed", "no", None, None, 4, "no"),
    (9, "construction", "E07000008", "5-9", "completed", "yes", "yes", "specialist", 3, "yes"),
    (10, "construction", "E07000008", "5-9", "completed", "no", None, None, 5, "no"),
    (11, "health", "E06000031", "250+", "completed", "yes", "yes", "customer", 2, "yes"),
    (12, "health", "E06000031", "250+", "declined", None, None, None, None, None),
]
COMMENTS = {
    1: "My name is Priya Shah and Acme Widgets Ltd needs welders. Call 01223 123456.",
    9: "Email jo@build.example for details; Jo Bloggs here.",
}
ORGANISATIONS = {1: "Acme Widgets Ltd", 9: "Bloggs Build"}
CONTACTS = {1: "Priya Shah", 9: "Jo Bloggs"}


def responses() -> pd.DataFrame:
    """The raw responses frame, as `analytics.source.responses_frame` gives it."""
    rows = []
    for number, sector, district, size, status, *_ in _ROWS:
        started = START + timedelta(hours=number)
        rows.append(
            {
                "response_id": 100 + number,
                "employer_id": number,
                "interview_id": "small",
                "interview_version": "1",
                "status": status,
                "source": None,
                "started_at": pd.Timestamp(started),
                "updated_at": pd.Timestamp(started + timedelta(minutes=10)),
                "completed_at": (
                    pd.Timestamp(started + timedelta(minutes=10))
                    if status == "completed"
                    else pd.NaT
                ),
                "organisation": ORGANISATIONS.get(number, f"Employer {number} Ltd"),
                "contact_name": CONTACTS.get(number),
                "sector": sector,
                "district": district,
                "size_band": size,
            }
        )
    frame = pd.DataFrame(rows)
    for name in ("started_at", "updated_at", "completed_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def answers() -> pd.DataFrame:
    """The raw answers frame, as `analytics.source.answers_frame` gives it."""
    rows: list[tuple[int, str, str | None, float | None]] = []
    for number, sector, district, size, status, vacancies, htf, skills, fit, gaps in _ROWS:
        rid = 100 + number
        if status == "declined":
            continue
        rows += [
            (rid, "consent", "yes", None),
            (rid, "sector", sector, None),
            (rid, "district", district, None),
            (rid, "size_band", size, None),
        ]
        for qid, value in (
            ("vacancies", vacancies),
            ("hard_to_fill", htf),
            ("skills_lacking", skills),
            ("skills_gaps", gaps),
        ):
            if value is not None:
                rows.append((rid, qid, value, None))
        if fit is not None:
            rows.append((rid, "provision_fit", str(fit), float(fit)))
        if number in COMMENTS:
            rows.append((rid, "comments", COMMENTS[number], None))
    frame = pd.DataFrame(rows, columns=["response_id", "question_id", "value_text", "value_number"])
    frame["question_id"] = frame["question_id"].astype("category")
    return frame


def approved_as_written(answers: pd.DataFrame, response_ids: Collection[int]) -> pd.DataFrame:
    """A reviews frame (analytics.source.reviews_frame) approving the comments of
    these responses word for word, for tests of what the report does with approved quotes.
    Given a mapping (response id -> text), only those very texts are approved."""
    from storage.verbatim_reviews import text_hash

    comments = answers.loc[
        (answers["question_id"] == "comments") & answers["response_id"].isin(list(response_ids))
    ]
    if isinstance(response_ids, Mapping):
        wanted = {(int(key), str(text)) for key, text in response_ids.items()}
        keep = [
            (int(rid), str(text)) in wanted
            for rid, text in zip(comments["response_id"], comments["value_text"], strict=True)
        ]
        comments = comments.loc[keep]
    return pd.DataFrame(
        {
            "response_id": comments["response_id"].astype("int64").to_numpy(),
            "question_id": "comments",
            "source_hash": [text_hash(str(text)) for text in comments["value_text"]],
            "status": "approved",
            "quote": comments["value_text"].astype("object").to_numpy(),
        }
    )


def week_summary(comments: Mapping[int, str] | None = None) -> WeeklySummary:
    """The survey's week 10 (2026-W10) summarised, with these comments (response id ->
    text) added and approved as written."""
    from analytics.frames import tidy_answers
    from analytics.weekly import SurveyFrames, weekly_summary
    from analytics.weeks import IsoWeek

    comments = comments or {}
    table = answers()
    for response_id, text in comments.items():
        table.loc[len(table)] = [response_id, "comments", text, None]
    table["question_id"] = table["question_id"].astype("category")
    rows = responses()
    frames = SurveyFrames(
        rows,
        tidy_answers(table, rows, CATALOGUE),
        CATALOGUE,
        approved_as_written(table, comments),  # only approved quotes are shown
    )
    return weekly_summary(frames, IsoWeek(2026, 10))
