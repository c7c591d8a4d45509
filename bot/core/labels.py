"""How staff see the employers on the list: statuses in plain words, sectors by the
Employer Skills Survey's names in its order (as the analysts' reports show them).

Used by the chat's `/list` (its summary and its spreadsheet) and `skillsbot employers list`,
so that both say the same, and neither shows an internal value such as "other" or
"opted_out".
"""

from __future__ import annotations

from collections.abc import Mapping

from conversations.definition import OTHER_VALUE, Interview
from conversations.sectors import ESS_SECTORS

# Each employer status in plain words, in the order an employer moves through them.
STATUS_LABELS: Mapping[str, str] = {
    "listed": "On the list, not invited yet",
    "invited": "Invited, not started",
    "started": "Started, not finished",
    "completed": "Completed",
    "declined": "Said no to the privacy notice",
    "opted_out": "Asked for no more messages",
    "unreachable": "Blocked the bot",
    "erased": "Erased at their request",
}
NOT_GIVEN = "Not given"
OTHER_SECTOR = "Other"
# The profile question whose answer is the employer's sector (`profile: sector` in the interview).
SECTOR_QUESTION = "sector"


def status_label(status: str) -> str:
    """A status in plain words (an unknown one as it is, underscores as spaces)."""
    return STATUS_LABELS.get(status, status.replace("_", " "))


def sector_labels(interview: Interview | None = None) -> dict[str, str]:
    """Sector value -> label: the ESS's 13 groups by its names, in its order (as in the
    reports, whatever friendlier label the interview offers); then any other choice of the
    interview by its own label, and "Other" for its "Other (please specify)"."""
    labels = dict(ESS_SECTORS)
    if interview is not None and SECTOR_QUESTION in interview.by_id:
        for choice in interview.question(SECTOR_QUESTION).choices:
            labels.setdefault(choice.value, choice.label)
    labels[OTHER_VALUE] = OTHER_SECTOR
    return labels


def sector_label(labels: Mapping[str, str], sector: str | None) -> str:
    """One employer's sector as shown (`labels` from `sector_labels`)."""
    if not sector:
        return NOT_GIVEN
    return labels.get(sector, sector.replace("_", " "))


def sector_order(labels: Mapping[str, str], sector: str | None) -> tuple[int, str]:
    """A sort key putting sectors in `labels`' order, unknown ones next, "Not given" last."""
    if not sector:
        return (len(labels) + 1, "")
    position = list(labels).index(sector) if sector in labels else len(labels)
    return (position, sector)
