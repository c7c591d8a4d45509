"""Verbatims: what employers wrote, with names, organisations and contact details removed."""

from __future__ import annotations

import re

import pandas as pd

from analytics.catalogue import Catalogue

NAME = "[name]"
ORGANISATION = "[organisation]"
EMAIL = "[email]"
PHONE = "[phone]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# UK-style phone numbers: +44 or 0, then 9-10 more digits with spaces, dots or dashes.
_PHONE = re.compile(r"(?<![\w+])(?:\+\s?44\s?\(?0?\)?|0)(?:[\s.-]?\d){9,10}(?!\d)")
# "my name is Sam Jones", "I'm Sam", "this is Sam from ...", "speak to Sam", "contact Sam".
_NAME_PHRASE = re.compile(
    r"\b((?i:my name is|my name's|i am|i'm|this is|speak to|ask for|contact|call|signed))"
    r"(\s+)((?:[A-Z][a-z'’-]+)(?:\s+[A-Z][a-z'’-]+){0,2})"
)
# Suffixes that people drop when they write their organisation's name.
_LEGAL_SUFFIX = re.compile(r"\s+(ltd\.?|limited|plc|llp|inc\.?|cic|& co\.?)$", re.IGNORECASE)
_NOT_NAMES = frozenset({"I", "The", "We", "Our", "It", "This", "That", "A", "An"})


def redact(text: str, *, organisation: str | None = None, contact_name: str | None = None) -> str:
    """The text with the employer's organisation and contact name, emails, phone
    numbers and "my name is X" style names replaced by placeholders."""
    cleaned = _EMAIL.sub(EMAIL, text)
    cleaned = _PHONE.sub(PHONE, cleaned)
    for variants, placeholder in (
        (_organisation_variants(organisation), ORGANISATION),
        (_name_parts(contact_name), NAME),
    ):
        folded = cleaned.casefold()
        # Compiling a pattern per employer is what costs; most texts hold no name at all.
        present = [v for v in variants if v.casefold() in folded]
        if present:
            pattern = "|".join(re.escape(v) for v in present)
            cleaned = re.sub(rf"(?<!\w)(?:{pattern})(?!\w)", placeholder, cleaned, flags=re.I)
    cleaned = _NAME_PHRASE.sub(_name_phrase, cleaned)
    return re.sub(rf"{re.escape(NAME)}(\s+{re.escape(NAME)})+", NAME, cleaned)


def _name_phrase(match: re.Match[str]) -> str:
    words = match.group(3).split()
    if words[0] in _NOT_NAMES:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{NAME}"


def _organisation_variants(organisation: str | None) -> list[str]:
    if not organisation or not organisation.strip():
        return []
    full = " ".join(organisation.split())
    short = _LEGAL_SUFFIX.sub("", full)
    variants = {full, short} if len(short) >= 3 else {full}
    return sorted(variants, key=len, reverse=True)


def _name_parts(contact_name: str | None) -> list[str]:
    if not contact_name or not contact_name.strip():
        return []
    full = " ".join(contact_name.split())
    parts = [p for p in full.split(" ") if len(p) >= 2 and p.rstrip(".").isalpha()]
    return sorted({full, *parts}, key=len, reverse=True)


def verbatims(tidy: pd.DataFrame, responses: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Text answers, redacted, with the sector and the question they answer.

    Columns: `sector`, `question_id`, `question`, `text`; sorted by sector then question.
    """
    texts = tidy.loc[(tidy["kind"] == "text").to_numpy(), ["response_id", "question_id", "value"]]
    texts = texts.loc[texts["value"].notna() & (texts["value"].astype("object") != "")]
    profile = responses.loc[:, ["response_id", "organisation", "contact_name", "sector"]]
    joined = texts.merge(profile, on="response_id", how="left")
    joined["question_id"] = joined["question_id"].astype("object")
    cleaned = [
        redact(
            str(text),
            organisation=organisation if isinstance(organisation, str) else None,
            contact_name=contact if isinstance(contact, str) else None,
        )
        for text, organisation, contact in zip(
            joined["value"], joined["organisation"], joined["contact_name"], strict=True
        )
    ]
    table = pd.DataFrame(
        {
            "sector": joined["sector"].astype("object").fillna("unknown"),
            "question_id": joined["question_id"],
            "question": [catalogue.question_label(q) for q in joined["question_id"]],
            "text": cleaned,
        }
    )
    table["_position"] = table["question_id"].map(catalogue.positions)
    table = table.sort_values(["sector", "_position"], kind="stable").drop(columns="_position")
    return table.reset_index(drop=True)
