"""Verbatims: what employers wrote, with names, organisations and contact details removed."""

from __future__ import annotations

import re

import pandas as pd

from analytics.catalogue import Catalogue

NAME = "[name]"
ORGANISATION = "[organisation]"
EMAIL = "[email]"
PHONE = "[phone]"

# Suffixes that people drop when they write their organisation's name.
_LEGAL_SUFFIX = re.compile(r"\s+(ltd\.?|limited|plc|llp|inc\.?|cic|& co\.?)$", re.IGNORECASE)


def redact(text: str, *, organisation: str | None = None, contact_name: str | None = None) -> str:
    """The text with personal data replaced by placeholders such as `[name]`.

    The employer's own organisation and contact name go wherever they occur; the rest is
    found by `analytics.pii` (Presidio and our recognisers), imported here on first use
    because it costs seconds. No detector finds everything: a person approves each quote
    before it is shown (`storage.verbatim_reviews`)."""
    from analytics.pii import find_personal_data, replace_findings

    findings = find_personal_data(
        text,
        organisation=_organisation_variants(organisation),
        names=_name_parts(contact_name),
    )
    return replace_findings(text, findings)


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
