"""Charts of the weekly report, drawn with matplotlib's Agg backend into PNG bytes.

Made to be read on a phone (Telegram shows a photo at the width of the screen): a
portrait figure 6 inches wide at 160 dpi, text at 9 points or more, at most 8 series per
chart. They take the suppressed chart data of `ReportTables`: hidden cells are NaN and are
never plotted; "Not given" is never drawn as a sector.

- `trend_chart`: small multiples, at most 8 panels: one per sector with a published figure
  (beyond 8, the 7 with most responses, then "Other sectors" where the published figures
  give it), only weeks that had responses; a panel's n is "n hidden" where any of its
  weeks is hidden, and the note names every sector without a panel;
- `skills_heatmap`: skills (rows) by sector (columns), only sectors whose percentages may
  be published (base of at least SKILLSBOT_MIN_PERCENT_BASE), colours fitted to the data.
"""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from analytics.tables import PERCENT_HIDDEN, ReportTables

_DPI = 200
_WIDTH = 5.0  # inches: 1,000 pixels, shown at the width of a phone screen
MAX_SERIES = 8
OTHER = "Other sectors"
_COLOUR = "#1f5fa8"


def _figure(height: float) -> Figure:
    """A new figure, _WIDTH inches wide, on its own Agg canvas.

    Built with matplotlib's object API, never pyplot: pyplot keeps global state (its list
    of open figures, the current figure) that is not thread-safe, and the report is drawn
    on worker threads (`asyncio.to_thread`), two at once when two people ask for /weekly.
    A figure that nothing else references needs no closing: it is garbage collected."""
    figure = Figure(figsize=(_WIDTH, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _leave_room(figure: Figure, *, inches: float) -> None:
    """Keep the lowest `inches` of the figure free for the note under the chart."""
    engine = figure.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    bottom = inches / float(figure.get_figheight())
    engine.set(rect=(0, bottom, 1, 1 - bottom))


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=False)) or text


def _period(tables: ReportTables) -> str:
    first, last = tables.first_day, tables.last_day
    text = f"to week {tables.week.label}, {first.day} {first:%b} to {last.day} {last:%b %Y}"
    return text if tables.complete else text + " (not over yet)"


def _title(tables: ReportTables, what: str) -> str:
    lines = [_wrap(what, 45), _wrap(tables.area, 45), _period(tables)]
    return "\n".join(line for line in lines if line)


def trend_panels(tables: ReportTables) -> pd.DataFrame:
    """At most 8 panels: sectors with a published figure, the 7 with most responses shown
    and "Other sectors" beyond 8.

    "Other sectors" is the published total less the 7 drawn, only in weeks where every one
    of those is published (so it is nothing that the published figures do not give).
    A sector whose figures are all hidden has nothing to draw: it is left out (and named).
    """
    trend = tables.trend
    trend = trend.loc[~trend.isna().all(axis=1)] if not trend.empty else trend
    if len(trend) <= MAX_SERIES:
        return trend
    order = trend.sum(axis=1).sort_values(ascending=False, kind="stable").index
    top = trend.loc[[s for s in trend.index if s in set(order[: MAX_SERIES - 1])]]
    total = tables.trend_total.reindex(trend.columns)
    other = total - top.sum(axis=0, min_count=1)
    other = other.where(top.notna().all(axis=0) & total.notna())
    return pd.concat([top, other.to_frame(OTHER).T])


def panel_count(values: np.ndarray) -> str:
    """A panel's n: the responses of the weeks shown, "n hidden" if any week's is hidden."""
    if np.isnan(values).any():
        return "n hidden"
    return f"n={int(values.sum()):,}"


def trend_left_out_note(tables: ReportTables, panels: pd.DataFrame) -> str:
    """Which sectors have no panel of their own, by name, and where they are counted."""
    drawn = {str(s) for s in panels.index}
    rest = [str(s) for s in tables.trend.index if str(s) not in drawn]
    if OTHER in drawn:
        named = ", ".join(rest)
        return f"{OTHER}: {named}, and employers who gave no sector (Not given)."
    if rest:
        return (
            f"Not drawn: {', '.join(rest)} (their figures, or the total an {OTHER} panel "
            "would need, are hidden). Employers who gave no sector (Not given) are not drawn."
        )
    return "Employers who gave no sector (Not given) are not drawn."


def trend_chart(tables: ReportTables) -> bytes:
    """Responses started by sector per week (weeks with responses, up to 8) as a PNG."""
    panels = trend_panels(tables)
    panels = panels.loc[~panels.isna().all(axis=1)] if not panels.empty else panels
    weeks = [str(c) for c in panels.columns]
    columns = 2
    rows = max(1, math.ceil(len(panels) / columns))
    figure = _figure(1.9 + 1.5 * rows)
    grid = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    axes_list = list(grid.flat)
    positions = np.arange(len(weeks))
    for axes, (sector, row) in zip(axes_list, panels.iterrows(), strict=False):
        values = row.to_numpy(dtype="float64")
        axes.plot(positions, values, marker="o", color=_COLOUR, linewidth=2, markersize=4)
        axes.set_title(_wrap(f"{sector} ({panel_count(values)})", 24), fontsize=10, loc="left")
        axes.grid(axis="y", alpha=0.3)
        axes.tick_params(labelsize=9)
    highest = float(np.nanmax(panels.to_numpy(dtype="float64"))) if len(panels) else 1.0
    axes_list[0].set_ylim(0, highest * 1.12)  # shared by every panel
    for axes in axes_list[len(panels) :]:
        axes.set_axis_off()
    if len(panels):
        labels = [w.split("-W")[-1] for w in weeks]  # the week number: the year is above
        for axes in grid[-1]:
            axes.set_xticks(positions, labels)
        for axes in axes_list[len(panels) - columns : len(panels)]:
            axes.xaxis.set_tick_params(labelbottom=True)
        figure.supylabel("Responses started in the week", fontsize=10)
    else:
        axes_list[0].set_axis_off()
        axes_list[0].text(
            0.5,
            0.5,
            _wrap(f"No sector had {tables.threshold} or more responses in a week", 30),
            ha="center",
            va="center",
            fontsize=11,
            transform=axes_list[0].transAxes,
        )
    figure.suptitle(_title(tables, "Responses started by sector, week by week"), fontsize=12)
    note = (
        f"Weeks of {tables.week.year} with responses. Gaps: figures hidden (fewer than "
        f"{tables.threshold} responses, or needed to protect one). n: responses in the "
        f"weeks shown (hidden where a week's figure is). " + trend_left_out_note(tables, panels)
    )
    figure.text(0.01, 0.0, _wrap(note, 80), fontsize=8, va="bottom")
    _leave_room(figure, inches=0.55)
    return _png(figure)


def heatmap_sectors(tables: ReportTables) -> tuple[list[str], list[str]]:
    """Sectors drawn (percentages publishable; the 8 largest) and those left out."""
    bases = tables.heatmap_bases
    sectors = [str(s) for s in tables.heatmap.index]
    fit = [s for s in sectors if bases.get(s, 0) >= tables.percent_threshold]
    fit = sorted(fit, key=lambda s: -bases[s])[:MAX_SERIES]
    drawn = [s for s in sectors if s in fit]
    return drawn, [s for s in sectors if s not in fit]


def skills_heatmap(tables: ReportTables) -> bytes:
    """Share of employers naming each top skill staff lack, by sector, as a PNG heatmap."""
    drawn, left_out = heatmap_sectors(tables)
    heatmap = tables.heatmap.loc[drawn].T if drawn else pd.DataFrame()
    hidden = tables.heatmap_suppressed.loc[drawn].T.to_numpy() if drawn else np.zeros((0, 0))
    rows, columns = heatmap.shape
    figure = _figure(2.8 + 0.5 * max(rows, 3))
    axes = figure.subplots()
    if rows and columns:
        values = np.ma.masked_invalid(heatmap.to_numpy(dtype="float64") * 100)
        top = float(values.max()) if values.count() else 10.0
        ceiling = max(5.0, 5.0 * math.ceil(top / 5.0))  # fitted to the data, in steps of 5%
        # Each square prints its share; the colour (darkest at the highest share shown,
        # rounded up to 5%) only helps the eye, so no colour bar takes the width.
        axes.imshow(values, cmap="Blues", vmin=0, vmax=ceiling, aspect="auto")
        axes.set_facecolor("#eeeeee")
        for i in range(rows):
            for j in range(columns):
                if hidden[i, j]:
                    text, colour = PERCENT_HIDDEN, "black"
                else:
                    dark = values[i, j] > 0.55 * ceiling
                    text, colour = f"{values[i, j]:.0f}%", "white" if dark else "black"
                axes.text(j, i, text, ha="center", va="center", fontsize=9, color=colour)
        axes.set_xticks(
            np.arange(columns),
            [
                _wrap(s, 10) + f"\n(base {tables.heatmap_bases[s]})"
                for s in heatmap.columns.astype(str)
            ],
            fontsize=8,
        )
        axes.xaxis.tick_top()
        axes.set_yticks(np.arange(rows), [_wrap(str(r), 22) for r in heatmap.index], fontsize=9)
    else:
        axes.set_axis_off()
        axes.text(
            0.5,
            0.5,
            _wrap(
                f"No sector had {tables.percent_threshold} or more employers asked which "
                "skills their staff lack",
                40,
            ),
            ha="center",
            va="center",
            fontsize=11,
            transform=axes.transAxes,
        )
    figure.suptitle(_title(tables, "Skills staff lack (skills gaps), by sector"), fontsize=12)
    note = (
        "% of employers with skills gaps naming the skill (darker: higher). "
        f"Base: employers with skills gaps asked which skills. Sectors with fewer than "
        f"{tables.percent_threshold} are not shown"
        + (f" ({', '.join(left_out)})" if left_out else "")
        + f"; {PERCENT_HIDDEN}: hidden to protect a small figure."
    )
    _leave_room(figure, inches=0.8)
    figure.text(0.01, 0.0, _wrap(note, 80), fontsize=8, va="bottom")
    return _png(figure)


CHARTS = {"responses-by-sector": trend_chart, "skills-gaps-by-sector": skills_heatmap}
