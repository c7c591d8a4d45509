"""The published figures table: what the weekly reports have published, cell by cell.

Migration 0010a (storage/migrations/versions/0010a_published_figures.py) creates exactly this.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


# published_figure: one row per distinct (figure, base, what was published) of an area's
# reports. Aggregates only: nothing in it is about one employer, and erasure leaves it.
class PublishedFigure(SQLModel, table=True):
    """One figure of a weekly report as it was published: shown with its value, or hidden.

    A figure is a count of a report table (`grid`, `row_label`, `column_label`) on `base`
    employers. The same figure on the same base is recorded once, with the first week
    whose report published it; a report's disclosure control reads them all
    (`analytics.tables`), so that no two publications of a figure, this week's and an
    earlier or later one, tell together what one of them hid.
    """

    __tablename__ = "published_figure"
    __table_args__ = (
        UniqueConstraint(
            "area",
            "interview_id",
            "grid",
            "row_label",
            "column_label",
            "base",
            "shown",
            "value",
            name="uq_published_figure",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    area: str
    interview_id: str
    week: str
    grid: str
    row_label: str
    column_label: str
    base: float
    shown: bool
    value: float  # 0 when hidden: what was hidden is not kept
    published_at: datetime = Field(sa_type=UTCDateTime)
