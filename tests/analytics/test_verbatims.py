"""Verbatims: drafted with personal data removed, shown only once staff approved them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlmodel import Session, select

from analytics.demo import seed_demo
from analytics.frames import tidy_answers
from analytics.render_markdown import render_markdown
from analytics.report import load_frames, weekly_report
from analytics.source import reviews_frame
from analytics.tables import report_tables
from analytics.verbatims import redact, review_queue, verbatims
from analytics.weekly import SurveyFrames, weekly_summary
from analytics.weeks import IsoWeek
from storage import Answer, Engine, erase_employer, get_employer, get_response, utcnow
from storage.verbatim_models import VerbatimReview
from storage.verbatim_reviews import record_review, text_hash, verbatim_source
from tests.analytics import survey

# What the adversarial review found printed as written under "names ... are removed".
LEAKS = (
    "my name is jo bloggs",
    "+1 415 555 0100",
    "jo.smith at gmail dot com",
    "jo[at]plain.co.uk",
)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_profile_names_and_contact_details_are_removed() -> None:
    text = (
        "Acme Widgets needs welders, says priya. Ring +44 1223 123 456 or 07700 900123, "
        "or write to priya.shah@acme.example."
    )
    cleaned = redact(text, organisation="Acme Widgets Ltd", contact_name="Priya Shah")
    assert cleaned == (
        "[organisation] needs welders, says [name]. Ring [phone] or [phone], or write to [email]."
    )


def test_my_name_is_patterns() -> None:
    assert redact("Hello, my name is Sam Jones and we make bread.") == (
        "Hello, my name is [name] and we make bread."
    )
    assert redact("I'm Alex from the bakery") == "I'm [name] from the bakery"
    assert redact("I am not sure. This is The problem.") == "I am not sure. This is The problem."


def _frames_with_comments(comments: dict[int, str]) -> tuple[SurveyFrames, pd.DataFrame]:
    responses = survey.responses()
    answers = survey.answers()
    for response_id, text in comments.items():
        answers.loc[len(answers)] = [response_id, "comments", text, None]
    answers["question_id"] = answers["question_id"].astype("category")
    tidy = tidy_answers(answers, responses, survey.CATALOGUE)
    return SurveyFrames(responses, tidy, survey.CATALOGUE), answers


def test_unreviewed_quotes_are_never_shown_and_the_note_claims_no_redaction() -> None:
    frames, _ = _frames_with_comments({102 + i: leak for i, leak in enumerate(LEAKS)})
    tables = report_tables(weekly_summary(frames, IsoWeek(2026, 10)), 5)
    [table] = [t for t in tables.tables if t.name == "Verbatims"]
    assert table.frame.empty
    assert "removed" not in table.note
    assert "6 further quotes await review and are not shown" in table.note
    markdown = render_markdown(tables, None)
    for leak in (*LEAKS, "Priya", "01223"):
        assert leak not in markdown


def test_a_decision_holds_for_the_text_reviewed_only() -> None:
    frames, answers = _frames_with_comments({102: "We need welders.", 103: "Ring Sam."})
    comment = dict(zip(answers["response_id"], answers["value_text"], strict=False))
    reviews = pd.DataFrame(
        [
            (102, "comments", text_hash("We need welders."), "approved", "We need welders."),
            (103, "comments", text_hash("Ring Sam."), "rejected", None),
            # Approved, but the answer has changed since (survey response 101's comment).
            (101, "comments", text_hash("an older answer"), "approved", "An older answer."),
        ],
        columns=["response_id", "question_id", "source_hash", "status", "quote"],
    )
    table = verbatims(frames.tidy, frames.responses, frames.catalogue, reviews)
    shown = table.loc[table["review"] == "approved", "text"].tolist()
    assert shown == ["We need welders."]
    unreviewed = table.loc[table["review"] == "unreviewed"]
    assert len(unreviewed) == 2  # 101 (changed) and 109; 103 was rejected
    assert set(unreviewed["text"]) == {""}
    queue = review_queue(frames.tidy, frames.responses, frames.catalogue, reviews)
    assert [(p.key, p.text) for p in queue] == [
        ("101:comments", comment[101]),
        ("109:comments", comment[109]),
    ]


def _a_comment(engine: Engine, week: IsoWeek) -> tuple[int, str]:
    """A text answer of a response completed in `week`: (response id, question id)."""
    frames = load_frames(engine)
    done = frames.responses["completed_at"].between(week.start, week.end, inclusive="left")
    ids = set(frames.responses.loc[done.fillna(False).to_numpy(), "response_id"])
    queue = review_queue(frames.tidy, frames.responses, frames.catalogue, None)
    pending = next(p for p in queue if p.response_id in ids)
    return pending.response_id, pending.question_id


def test_approval_on_the_database_reaches_the_report_and_goes_with_erasure(
    engine: Engine, tmp_path: Path
) -> None:
    week = IsoWeek(2026, 48)
    seed_demo(engine, employers=60, weeks=2, seed=9, now=NOW)
    response_id, question_id = _a_comment(engine, week)
    secret = "Ring jo.smith at gmail dot com, we need more welders"
    with Session(engine) as session, session.begin():
        answer = session.exec(
            select(Answer).where(
                Answer.response_id == response_id, Answer.question_id == question_id
            )
        ).one()
        answer.value_text = secret
        session.add(answer)
    with Session(engine) as session, session.begin():
        source = verbatim_source(session, response_id=response_id, question_id=question_id)
        assert source is not None
        assert source.text == secret
        quote = redact(source.text, organisation=source.organisation)
        assert quote == "Ring [email], we need more welders"
        record_review(
            session, source=source, status="approved", quote=quote, actor="cli:dpo", now=utcnow()
        )
    assert reviews_frame(engine)["status"].tolist() == ["approved"]

    report = weekly_report(engine, week, tmp_path, ("md",), threshold=1)
    markdown = report.files[0].read_text(encoding="utf-8")
    assert "Ring [email], we need more welders" in markdown
    assert "jo.smith" not in markdown

    with Session(engine) as session, session.begin():
        response = get_response(session, response_id=response_id)
        assert response is not None
        employer = get_employer(session, employer_id=response.employer_id)
        assert employer is not None
        erase_employer(session, employer=employer, now=utcnow())
    with Session(engine) as session:
        assert session.exec(select(VerbatimReview)).all() == []
