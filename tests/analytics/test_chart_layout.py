"""The charts' layout on a phone: the note clear of the week labels, heatmap column labels
apart, trend panels for the largest published sectors with their bases (audit of issue 14,
item 6). Drawn figures are measured, not looked at: every text's box on the canvas."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from analytics.charts import (
    MAX_SERIES,
    OTHER,
    heatmap_figure,
    panel_base,
    trend_figure,
    trend_left_out_note,
    trend_panels,
)
from analytics.tables import ReportTables, Table
from tests.analytics.test_render import tables_with_comments

SECTORS = [
    "Primary Sector and Utilities",
    "Manufacturing",
    "Construction",
    "Wholesale and Retail",
    "Hotels and Restaurants",
    "Transport and Storage",
    "Information and Communications",
    "Financial Services",
    "Business Services",
    "Public Administration",
    "Education",
    "Health and Social Work",
    "Arts and Other Services",
]
WEEKS = [f"2026-W{week}" for week in range(41, 49)]


@pytest.fixture(scope="module")
def tables() -> ReportTables:
    return tables_with_comments({})


def _by_sector(started: dict[str, object]) -> Table:
    """A "By sector" table publishing these responses started to date."""
    frame = pd.DataFrame({"Sector": list(started), "Started to date": list(started.values())})
    return Table("By sector", "Responses by sector", frame)


def _boxes(figure: Figure, texts: list[Text]) -> list[Bbox]:
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def _drawn(figure: Figure) -> Figure:
    figure.canvas.draw()
    return figure


def test_the_trend_note_does_not_cover_the_lowest_panels_week_labels(
    tables: ReportTables,
) -> None:
    """A long note (every sector but two named as not drawn) gets the height it needs."""
    trend = pd.DataFrame(np.nan, index=SECTORS, columns=WEEKS)
    trend.loc["Business Services"] = [8, 8, np.nan, np.nan, 9, 8, 8, 8]
    trend.loc["Health and Social Work"] = [np.nan, np.nan, np.nan, 6, np.nan, 5, 5, 5]
    trend.loc["Wholesale and Retail"] = [5, np.nan, np.nan, 5, 5, 6, 7, 5]
    trend.loc[["Primary Sector and Utilities", "Financial Services"]] = 0.0
    figure = _drawn(trend_figure(replace(tables, trend=trend, trend_total=trend.sum())))
    notes = [t for t in figure.texts if t.get_text().startswith("Weeks of")]
    assert len(notes) == 1
    (note,) = _boxes(figure, notes)
    assert note.y0 >= 0  # inside the picture
    ticks = [
        box
        for axes in figure.axes
        if axes.get_visible() and axes.axison
        for box in _boxes(figure, [*axes.get_xticklabels(), *axes.get_yticklabels()])
    ]
    assert ticks
    assert not [box for box in ticks if box.overlaps(note)]
    assert note.y1 < min(box.y0 for box in ticks)


def test_the_trend_note_names_both_years_across_a_year_end(tables: ReportTables) -> None:
    """An outside check: a report for 2026-W02 said "Weeks of 2026" under weeks 47 to 52
    of 2025."""
    weeks = ["2025-W51", "2025-W52", "2026-W01", "2026-W02"]
    trend = pd.DataFrame(np.nan, index=SECTORS, columns=weeks)
    trend.loc["Business Services"] = [8, 8, 6, 9]
    figure = trend_figure(replace(tables, trend=trend, trend_total=trend.sum()))
    notes = [t.get_text() for t in figure.texts if t.get_text().startswith("Weeks of")]
    assert notes == [notes[0]]
    assert notes[0].startswith("Weeks of 2025–2026 with responses")
    one = trend_figure(replace(tables, trend=trend[weeks[2:]], trend_total=trend.sum()))
    assert any(t.get_text().startswith("Weeks of 2026 with") for t in one.texts)


def test_heatmap_column_labels_do_not_collide(tables: ReportTables) -> None:
    """Eight sectors, long names ("Manufacturing" beside "Construction"): no two column
    labels touch and each stays inside the picture, a 5-inch wide phone photo."""
    sectors = SECTORS[1:9]
    skills = ["Sales", "Team working", "Making presentations"]
    heatmap = pd.DataFrame(0.2, index=sectors, columns=skills)
    figure = _drawn(
        heatmap_figure(
            replace(
                tables,
                heatmap=heatmap,
                heatmap_suppressed=pd.DataFrame(False, index=sectors, columns=skills),
                heatmap_bases={s: 30 + i for i, s in enumerate(sectors)},
                percent_threshold=25,
            )
        )
    )
    (axes,) = figure.axes
    boxes = _boxes(figure, list(axes.get_xticklabels()))
    assert len(boxes) == len(sectors)
    assert all("(base 3" in t.get_text() for t in axes.get_xticklabels())  # bases in labels
    for left, right in itertools.pairwise(boxes):
        assert not left.overlaps(right)
        assert left.x1 <= right.x0
    width, height = figure.canvas.get_width_height()
    assert all(box.x0 >= 0 and box.x1 <= width and box.y1 <= height for box in boxes)


def test_trend_panels_are_the_largest_published_sectors_not_all_zero_ones(
    tables: ReportTables,
) -> None:
    """mid W48 of the audit: sectors published as 0 every week they show drew empty panels
    while large ones (most weeks hidden, hundreds to date) were left out."""
    trend = pd.DataFrame(0.0, index=SECTORS, columns=WEEKS[-3:])
    trend.loc[["Primary Sector and Utilities", "Public Administration"]] = [0.0, np.nan, 0.0]
    trend.loc["Financial Services"] = [np.nan, 0.0, np.nan]
    big = ["Manufacturing", "Construction", "Wholesale and Retail", "Business Services"]
    trend.loc[big] = [[np.nan, np.nan, 6.0], [7.0, np.nan, np.nan], [5, 6, np.nan], [9, 8, 8]]
    small = [
        "Hotels and Restaurants",
        "Education",
        "Arts and Other Services",
        "Transport and Storage",
    ]
    trend.loc[small] = [[10, 10, 10], [9, 9, 9], [8, 8, 8], [np.nan, 5, np.nan]]
    trend.loc["Health and Social Work"] = [12, 12, 12]
    started: dict[str, object] = dict.fromkeys(SECTORS, "<5")
    started.update({"Manufacturing": 260, "Construction": 286, "Wholesale and Retail": 406})
    started.update({"Business Services": 550, "Health and Social Work": 200})
    started.update({"Hotels and Restaurants": 60, "Education": 50, "Transport and Storage": 40})
    started.update({"Arts and Other Services": "[c]", "Total": 2000})
    with_bases = replace(
        tables, trend=trend, trend_total=trend.sum(min_count=1), tables=(_by_sector(started),)
    )
    panels = trend_panels(with_bases)
    assert len(panels) == MAX_SERIES
    assert panels.index[-1] == OTHER
    largest = {*big, "Health and Social Work", "Hotels and Restaurants", "Education"}
    assert set(panels.index[:-1]) == largest  # by responses to date, as published
    assert list(panels.index[:-1]) == [s for s in SECTORS if s in largest]  # ESS order
    assert panel_base(with_bases, panels, "Manufacturing") == "n=260 to date"
    assert panel_base(with_bases, panels, OTHER) == f"n={2000 - 1812:,} to date"
    # "Not given" is no sector: the Other panel's base leaves its employers out
    given = replace(with_bases, tables=(_by_sector({**started, "Not given": 12}),))
    assert panel_base(given, panels, OTHER) == f"n={2000 - 12 - 1812:,} to date"
    hidden = replace(with_bases, tables=(_by_sector({**started, "Not given": "<5"}),))
    assert panel_base(hidden, panels, OTHER) == "n=[c] to date"
    note = trend_left_out_note(with_bases, panels)
    for sector in set(SECTORS) - largest:
        assert sector in note

    # Up to 8 drawable sectors: every one, and none whose published weeks are all 0.
    few = trend.loc[[*big, "Primary Sector and Utilities", "Financial Services", "Education"]]
    panels = trend_panels(replace(with_bases, trend=few))
    assert list(panels.index) == [s for s in SECTORS if s in {*big, "Education"}]
    assert panel_base(with_bases, panels, "Arts and Other Services") == "n=[c] to date"
    missing = replace(with_bases, tables=(_by_sector({"Total": 2000}),))
    assert panel_base(missing, panels, "Manufacturing") == "n hidden"  # never "n=None"
