"""Verbatims: what employers wrote, shown only once a staff member approved the quote.

`redact` drafts a quote (personal data found by `analytics.pii` replaced by placeholders);
staff read the draft and approve or reject it (`skillsbot verbatims review`, stored by
`storage.verbatim_reviews`). The weekly report shows approved quotes only, and says how
many more await review: software misses some personal data, so no text leaves unread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.catalogue import Catalogue
from storage.verbatim_reviews import text_hash

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


REVIEW_APPROVED = "approved"
REVIEW_PENDING = "unreviewed"
VERBATIM_COLUMNS = ["sector", "question_id", "question", "text", "review"]


@dataclass(frozen=True, slots=True)
class PendingVerbatim:
    """A text answer no staff member has decided on (or that changed since)."""

    response_id: int
    question_id: str
    question: str
    sector: str
    text: str
    organisation: str | None
    contact_name: str | None

    @property
    def key(self) -> str:
        """How staff name it on the command line: `RESPONSE:QUESTION`."""
        return f"{self.response_id}:{self.question_id}"


def verbatims(
    tidy: pd.DataFrame,
    responses: pd.DataFrame,
    catalogue: Catalogue,
    reviews: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Text answers with the sector and question they answer, and whether they were reviewed.

    Columns: `sector`, `question_id`, `question`, `text`, `review`; sorted by sector then
    question. `review` is `approved` (a staff member approved this very text; `text` is the
    quote they approved, redacted) or `unreviewed` (`text` is empty: what the employer
    wrote never leaves here unreviewed). Rejected answers are left out. `reviews` is
    `analytics.source.reviews_frame`; without it every answer is unreviewed.
    """
    joined = _decided(_text_answers(tidy, responses), reviews)
    joined = joined.loc[joined["decision"] != "rejected"]
    approved = (joined["decision"] == REVIEW_APPROVED).to_numpy()
    table = pd.DataFrame(
        {
            "sector": joined["sector"].astype("object").fillna("unknown").to_numpy(),
            "question_id": joined["question_id"].to_numpy(),
            "question": [catalogue.question_label(q) for q in joined["question_id"]],
            "text": [
                str(quote) if ok else ""
                for quote, ok in zip(joined["quote"], approved, strict=True)
            ],
            "review": [REVIEW_APPROVED if ok else REVIEW_PENDING for ok in approved],
        },
        columns=VERBATIM_COLUMNS,
    )
    table["_position"] = table["question_id"].map(catalogue.positions)
    table = table.sort_values(["sector", "_position"], kind="stable").drop(columns="_position")
    return table.reset_index(drop=True)


def review_queue(
    tidy: pd.DataFrame,
    responses: pd.DataFrame,
    catalogue: Catalogue,
    reviews: pd.DataFrame | None = None,
) -> list[PendingVerbatim]:
    """Text answers awaiting a decision, oldest response first (staff review them)."""
    joined = _decided(_text_answers(tidy, responses), reviews)
    pending = joined.loc[joined["decision"] == REVIEW_PENDING].sort_values(
        ["response_id", "question_id"], kind="stable"
    )
    return [
        PendingVerbatim(
            response_id=int(response_id),
            question_id=str(question_id),
            question=catalogue.question_label(str(question_id)),
            sector=sector if isinstance(sector, str) else "unknown",
            text=str(value),
            organisation=organisation if isinstance(organisation, str) else None,
            contact_name=contact if isinstance(contact, str) else None,
        )
        for response_id, question_id, sector, value, organisation, contact in zip(
            pending["response_id"].to_numpy(dtype="int64"),
            pending["question_id"],
            pending["sector"],
            pending["value"],
            pending["organisation"],
            pending["contact_name"],
            strict=True,
        )
    ]


def approved_only(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a `verbatims` table that may be shown: approved quotes."""
    return table.loc[(table["review"] == REVIEW_APPROVED).to_numpy()].reset_index(drop=True)


def verbatims_note(table: pd.DataFrame, threshold: int) -> str:
    """The note under the quotes: what was done to them, and how many await review."""
    waiting = int((table["review"] != REVIEW_APPROVED).sum())
    note = (
        "Each quote was checked by software for names, contact details and addresses, then "
        "read and approved by a staff member before it is shown here. Quotes are given only "
        f"for sectors with {threshold} or more responses completed this week, whose figures "
        "are published."
    )
    if waiting:
        quotes = "quote awaits" if waiting == 1 else "quotes await"
        note += (
            f" {waiting} further {quotes} review and {'is' if waiting == 1 else 'are'} not shown."
        )
    return note


def _text_answers(tidy: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    texts = tidy.loc[(tidy["kind"] == "text").to_numpy(), ["response_id", "question_id", "value"]]
    texts = texts.loc[texts["value"].notna() & (texts["value"].astype("object") != "")]
    profile = responses.loc[:, ["response_id", "organisation", "contact_name", "sector"]]
    joined = texts.merge(profile, on="response_id", how="left")
    joined["question_id"] = joined["question_id"].astype("object")
    return joined


def _decided(joined: pd.DataFrame, reviews: pd.DataFrame | None) -> pd.DataFrame:
    """`joined` with `decision` (approved, rejected or unreviewed) and `quote` columns.

    A decision counts only for the text it was made on (same hash)."""
    if reviews is None or reviews.empty or joined.empty:
        return joined.assign(decision=REVIEW_PENDING, quote=None)
    decisions = reviews.loc[:, ["response_id", "question_id", "source_hash", "status", "quote"]]
    merged = joined.merge(
        decisions.astype({"question_id": "object"}), on=["response_id", "question_id"], how="left"
    )
    reviewed = merged["status"].notna().to_numpy()
    same_text = np.zeros(len(merged), dtype=bool)
    same_text[reviewed] = [
        text_hash(str(value)) == digest
        for value, digest in zip(
            merged["value"].to_numpy()[reviewed],
            merged["source_hash"].to_numpy()[reviewed],
            strict=True,
        )
    ]
    decision = np.where(same_text, merged["status"].astype("object"), REVIEW_PENDING)
    return merged.assign(decision=decision).drop(columns=["source_hash", "status"])
