"""Verbatims lose names, organisations, emails and phone numbers."""

from __future__ import annotations

import pandas as pd

from analytics.frames import tidy_answers
from analytics.verbatims import redact, verbatims
from tests.analytics import survey


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


def test_verbatims_table_is_redacted_and_labelled() -> None:
    tidy = tidy_answers(survey.answers(), survey.responses(), survey.CATALOGUE)
    table = verbatims(tidy, survey.responses(), survey.CATALOGUE)
    assert list(table.columns) == ["sector", "question_id", "question", "text"]
    texts = dict(zip(table["sector"], table["text"], strict=True))
    assert (
        texts["manufacturing"]
        == "My name is [name] and [organisation] needs welders. Call [phone]."
    )
    assert texts["construction"] == "Email [email] for details; [name] here."
    assert set(table["question"]) == {"Anything else?"}
    assert not table["text"].str.contains("Priya|Acme|Bloggs|01223", regex=True).any()
    assert isinstance(table, pd.DataFrame)
