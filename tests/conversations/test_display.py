"""/myanswers and the greeting: labels, never stored codes, in the interview's order."""

from __future__ import annotations

import pytest

from conversations.definition import Interview
from conversations.display import (
    AnswerLine,
    answer_lines,
    greeting,
    profile_lines,
    size_band_label,
)
from conversations.loader import builtin_interview_path, load_interview


@pytest.fixture(scope="module")
def builtin() -> Interview:
    return load_interview(builtin_interview_path())


def test_the_profile_shows_labels_not_codes(builtin: Interview) -> None:
    profile = {
        "organisation": "Fenland Fabrication",
        "contact_name": None,
        "sector": "manufacturing",
        "district": "E07000010",
        "size_band": "10-24",
        "role": "owner",
    }
    assert profile_lines(builtin, profile) == (
        ("Organisation", "Fenland Fabrication"),
        ("Your role", "Owner, partner or managing director"),
        ("Main activity", "Manufacturing"),
        ("Site", "Fenland"),
        ("Size", "10 to 24 people"),
    )  # in the order the interview asks them, as /myanswers lists its answers


def test_the_profile_names_places_outside_the_districts(builtin: Interview) -> None:
    assert profile_lines(builtin, {"district": "outside_area"}) == (
        ("Site", "Outside Cambridgeshire and Peterborough"),
    )
    assert profile_lines(builtin, {"district": "several_sites"}) == (
        ("Site", "Several sites in the area"),
    )
    # A district of another area (an imported list) still shows its name.
    assert profile_lines(builtin, {"district": "E06000051"}) == (("Site", "Shropshire"),)
    assert profile_lines(builtin, {"sector": "other"}) == (("Main activity", "Other"),)


def test_size_bands_in_words() -> None:
    assert size_band_label("1") == "Just you (1 person)"
    assert size_band_label("250+") == "250 or more people"
    assert size_band_label("odd") == "odd"


def test_answers_follow_the_interview_order_whatever_order_they_were_saved(
    builtin: Interview,
) -> None:
    # As storage returns them: a changed answer saved last.
    saved = {
        "consent": "yes",
        "org_name": "Acme",
        "headcount": 12,
        "training_barriers": ["cost", "other"],
        "training_barriers_other": "Finding cover",
        "district": "E07000011",
        "sector": "construction",
        "retired_question": "old value",
    }
    assert answer_lines(builtin, saved) == (
        AnswerLine("consent", "Consent", "Yes"),
        AnswerLine("org_name", "Organisation", "Acme"),
        AnswerLine("sector", "Main activity", "Construction"),
        AnswerLine("district", "Site", "Huntingdonshire"),
        AnswerLine("headcount", "People at your site", "12"),
        AnswerLine(
            "training_barriers",
            "What makes training harder",
            "Cost or lack of funds; Other: Finding cover",
        ),
        AnswerLine("retired_question", "retired_question", "old value", known=False),
    )


def test_the_greeting_reads_well(builtin: Interview) -> None:
    title, text = greeting(builtin, "Cambridgeshire and Peterborough")
    assert title == "Local skills interview for employers"
    assert text == (
        "Hello, and thank you for taking part. Your answers help shape the Local Skills "
        "Improvement Plan for Cambridgeshire and Peterborough."
    )
    assert "for employers for" not in f"{title} {text}"
