"""Charts of the weekly report, drawn with matplotlib's Agg backend into PNG bytes.

Made to be read on a phone (Telegram shows a photo at the width of the screen): a
portrait figure 5 inches wide at 200 dpi (1,000 pixels; about 400 on a phone), text at 10
points or more (heatmap column labels 9), at most 8 series per chart. They take the
suppressed chart data of `ReportTables`: hidden cells are NaN and are never plotted; "Not
given" is never drawn as a sector.

- `trend_chart`: small multiples, at most 8 panels: one per sector with a published figure
  above 0 (beyond 8, the 7 largest by their published responses to date, then "Other
  sectors" where the published figures give it), only weeks that had responses; each
  panel's title gives its base (responses started to date, as the "By sector" table
  publishes it), and the note names every sector without a panel;
- `skills_heatmap`: skills (rows) by sector (columns), only sectors whose percentages may
  be published (base of at least SKILLSBOT_MIN_PERCENT_BASE), colours fitted to the data;
  column labels are wrapped, and turned upright when wrapped ones would collide.

The note under a chart gets the height its wrapped text needs (the figure grows by it),
so it never covers the lowest panels' tick labels. PNGs are stored with a 256-colour
palette (a third of the bytes; the HTML page embeds them).
"""

from __future__ import annotations

import io
import itertools
import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import MaxNLocator
from PIL import Image

from analytics.disclosure import COMPLEMENT
from analytics.tables import NOT_GIVEN, PERCENT_HIDDEN, TOTAL, ReportTables

_DPI = 200
_WIDTH = 5.0  # inches: 1,000 pixels, shown at the width of a phone screen
MAX_SERIES = 8
OTHER = "Other sectors"
_COLOUR = "#1f5fa8"
_TO_DATE = "Started to date"


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
    """The figure as a PNG with a 256-colour palette (anti-aliased text stays smooth)."""
    # The raw RGBA pixels, not a PNG to decode again: the same pixels, without compressing
    # and decompressing them once more.
    drawn = io.BytesIO()
    figure.savefig(drawn, format="rgba", dpi=_DPI)
    pixels = drawn.getvalue()
    width = round(float(figure.get_figwidth()) * _DPI)  # the height: what the rows make
    height, rest = divmod(len(pixels), 4 * width)
    assert not rest, "the canvas is as wide as the figure"
    image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
    palette = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


_NOTE_POINTS = 10
_NOTE_WIDTH = 64  # characters a line of the note holds at _NOTE_POINTS on _WIDTH inches


def _note_height(text: str) -> float:
    """Inches the wrapped note needs: its lines at matplotlib's 1.2 line spacing, plus a margin."""
    lines = text.count("\n") + 1
    return lines * _NOTE_POINTS * 1.2 / 72 + 0.12


def _add_note(figure: Figure, note: str) -> None:
    """Print the note under the chart, growing the figure by the note's own height and
    keeping that strip free of the axes (and their tick labels)."""
    text = _wrap(note, _NOTE_WIDTH)
    inches = _note_height(text)
    chart = float(figure.get_figheight())
    figure.set_figheight(chart + inches)
    engine = figure.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    bottom = inches / (chart + inches)
    engine.set(rect=(0, bottom, 1, 1 - bottom))
    figure.text(0.01, 0.04 / (chart + inches), text, fontsize=_NOTE_POINTS, va="bottom")


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=False)) or text


def _period(tables: ReportTables) -> str:
    first, last = tables.first_day, tables.last_day
    text = f"to week {tables.week.label}, {first.day} {first:%b} to {last.day} {last:%b %Y}"
    return text if tables.complete else text + " (not over yet)"


def _title(tables: ReportTables, what: str) -> str:
    lines = [_wrap(what, 45), _wrap(tables.area, 45), _period(tables)]
    return "\n".join(line for line in lines if line)


def sector_bases(tables: ReportTables) -> dict[str, object]:
    """Responses started to date per sector (and Total) as the "By sector" table publishes
    them: a number, or the hidden marker ("<5", "[c]") where it is hidden."""
    for table in tables.tables:
        frame = table.frame
        if table.name == "By sector" and {"Sector", _TO_DATE} <= set(frame.columns):
            return {str(row["Sector"]): row[_TO_DATE] for _, row in frame.iterrows()}
    return {}


def _number(value: object) -> float | None:
    """A published count, or None where it is hidden (a marker) or missing."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    return None if math.isnan(float(value)) else float(value)


def trend_panels(tables: ReportTables) -> pd.DataFrame:
    """At most 8 panels: sectors with a published figure above 0, the 7 largest groups
    shown and "Other sectors" beyond 8.

    Largest: most responses started to date as published in the "By sector" table (where
    that is hidden, after every published one, by the sum of their published weeks). A
    sector whose published figures are all 0 or hidden has nothing to draw: it is left out
    (and named). "Other sectors" is the other sectors' responses, "Not given" (employers
    who gave no sector) never among them: the sum of the others where all are published,
    else the published total less the 7 drawn and "Not given" where all of those are (so
    it is nothing the published figures do not give). Panels keep the report's (ESS)
    sector order, "Other sectors" last.
    """
    trend = tables.trend
    if trend.empty:
        return trend
    trend = trend.loc[(trend.fillna(0) > 0).any(axis=1)]
    if len(trend) <= MAX_SERIES:
        return trend
    bases = sector_bases(tables)

    sums = {str(s): float(v) for s, v in trend.sum(axis=1).items()}

    def size(sector: str) -> tuple[float, float]:
        base = _number(bases.get(sector))
        return (-1.0 if base is None else base, sums[sector])

    largest = sorted(sums, key=size, reverse=True)[: MAX_SERIES - 1]
    top = trend.loc[[s for s in trend.index if str(s) in set(largest)]]
    rest = tables.trend.loc[[s for s in tables.trend.index if str(s) not in set(largest)]]
    rest = rest.reindex(columns=trend.columns)
    summed = rest.sum(axis=0).where(rest.notna().all(axis=0))
    total = tables.trend_total.reindex(trend.columns)
    not_given = tables.trend_not_given.reindex(trend.columns)
    if tables.trend_not_given.empty:  # not known: the total tells nothing of the others
        not_given = pd.Series(np.nan, index=trend.columns)
    known = top.notna().all(axis=0) & total.notna() & not_given.notna()
    other = summed.fillna((total - top.sum(axis=0) - not_given).where(known))
    return pd.concat([top, other.to_frame(OTHER).T])


def panel_count(values: np.ndarray) -> str:
    """A panel's n: the responses of the weeks shown, "n hidden" if any week's is hidden."""
    if np.isnan(values).any():
        return "n hidden"
    return f"n={int(values.sum()):,}"


def panel_base(tables: ReportTables, panels: pd.DataFrame, sector: str) -> str:
    """A panel's base: responses started to date as published ("<5" or "[c]" if hidden);
    for "Other sectors", the published total less the sectors drawn, where all are
    published. Without a "By sector" table, the n of the weeks shown (`panel_count`)."""
    bases = sector_bases(tables)
    if not bases:
        return panel_count(panels.loc[sector].to_numpy(dtype="float64"))
    if sector == OTHER:  # the other sectors, "Not given" never among them
        drawn = {str(s) for s in panels.index if s != OTHER}
        rest = [_number(v) for s, v in bases.items() if s not in {*drawn, TOTAL, NOT_GIVEN}]
        if all(part is not None for part in rest):
            return f"n={int(sum(p for p in rest if p is not None)):,} to date"
        parts = [
            _number(bases.get(s, 0 if s == NOT_GIVEN else None)) for s in (TOTAL, NOT_GIVEN, *drawn)
        ]
        if any(part is None for part in parts):
            return f"n={COMPLEMENT} to date"
        total, not_given, *shown = (p or 0.0 for p in parts)
        return f"n={int(total - not_given - sum(shown)):,} to date"
    value = bases.get(sector)
    number = _number(value)
    if number is not None:
        return f"n={int(number):,} to date"
    if isinstance(value, str) and value:
        return f"n={value} to date"  # its marker, as the table shows it
    return panel_count(panels.loc[sector].to_numpy(dtype="float64"))  # not in the table


def trend_left_out_note(tables: ReportTables, panels: pd.DataFrame) -> str:
    """Which sectors have no panel of their own, by name, and where they are counted."""
    drawn = {str(s) for s in panels.index}
    rest = [str(s) for s in tables.trend.index if str(s) not in drawn]
    if OTHER in drawn:
        named = ", ".join(s for s in rest)
        return f"{OTHER}: {named}. Employers who gave no sector (Not given) are not drawn."
    if rest:
        return (
            f"Not drawn: {', '.join(rest)} (no published week above 0, or the total an "
            f"{OTHER} panel would need is hidden). Employers who gave no sector (Not given) "
            "are not drawn."
        )
    return "Employers who gave no sector (Not given) are not drawn."


def trend_figure(tables: ReportTables) -> Figure:
    """Responses started by sector per week (weeks with responses, up to 8)."""
    panels = trend_panels(tables)
    panels = panels.loc[~panels.isna().all(axis=1)] if not panels.empty else panels
    weeks = [str(c) for c in panels.columns]
    columns = 2 if len(panels) > 1 else 1  # one panel (or the message) takes the width
    rows = max(1, math.ceil(len(panels) / columns))
    figure = _figure(1.5 + 1.6 * rows)
    grid = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    axes_list = list(grid.flat)
    positions = np.arange(len(weeks))
    for axes, (sector, row) in zip(axes_list, panels.iterrows(), strict=False):
        values = row.to_numpy(dtype="float64")
        axes.plot(positions, values, marker="o", color=_COLOUR, linewidth=2, markersize=4)
        base = panel_base(tables, panels, str(sector))
        axes.set_title(f"{_wrap(str(sector), 24)}\n{base}", fontsize=11, loc="left")
        axes.grid(axis="y", alpha=0.3)
        axes.tick_params(labelsize=10)
    highest = float(np.nanmax(panels.to_numpy(dtype="float64"))) if len(panels) else 1.0
    axes_list[0].set_ylim(0, highest * 1.12)  # shared by every panel
    axes_list[0].yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))  # counts
    for axes in axes_list[len(panels) :]:
        axes.set_axis_off()
    if len(panels):
        labels = [w.split("-W")[-1] for w in weeks]  # the week number: the year is above
        for axes in grid[-1]:
            axes.set_xticks(positions, labels)
        for axes in axes_list[len(panels) - columns : len(panels)]:
            axes.xaxis.set_tick_params(labelbottom=True)
        figure.supylabel("Responses started in the week", fontsize=11)
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
    years = sorted({str(label)[:4] for label in tables.trend.columns} or {str(tables.week.year)})
    note = (
        f"Weeks of {'–'.join(dict.fromkeys([years[0], years[-1]]))} with responses. Gaps: "
        "figures hidden (fewer than "
        f"{tables.threshold} responses, or needed to protect one). n: the panel's base, "
        f"responses started to date ({tables.marker} or {COMPLEMENT}: hidden). "
        + trend_left_out_note(tables, panels)
    )
    _add_note(figure, note)
    return figure


def trend_chart(tables: ReportTables) -> bytes:
    """Responses started by sector per week (weeks with responses, up to 8) as a PNG."""
    return _png(trend_figure(tables))


def heatmap_sectors(tables: ReportTables) -> tuple[list[str], list[str]]:
    """Sectors drawn (percentages publishable; the 8 largest) and those left out."""
    bases = tables.heatmap_bases
    sectors = [str(s) for s in tables.heatmap.index]
    fit = [s for s in sectors if bases.get(s, 0) >= tables.percent_threshold]
    fit = sorted(fit, key=lambda s: -bases[s])[:MAX_SERIES]
    drawn = [s for s in sectors if s in fit]
    return drawn, [s for s in sectors if s not in fit]


def _column_label(sector: str, base: int, width: int) -> str:
    return _wrap(sector, width) + f"\n(base {base})"


def _fit_column_labels(figure: Figure, axes: Axes, sectors: list[str], bases: list[int]) -> None:
    """Column labels wrapped to the width of a column; turned upright (one line for the
    name) if a wrapped word is still wider than its column or two labels would touch."""
    columns = len(sectors)
    axes.set_xticks(
        np.arange(columns),
        [_column_label(s, b, 10) for s, b in zip(sectors, bases, strict=True)],
        fontsize=9,
    )
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    figure.canvas.draw()
    column = axes.get_window_extent(renderer).width / max(columns, 1)
    boxes = [label.get_window_extent(renderer) for label in axes.get_xticklabels()]
    too_wide = any(box.width > column * 0.96 for box in boxes)
    if too_wide or any(a.x1 > b.x0 for a, b in itertools.pairwise(boxes)):
        axes.set_xticks(
            np.arange(columns),
            [_column_label(s, b, 24) for s, b in zip(sectors, bases, strict=True)],
            fontsize=9,
            rotation=90,
        )


def heatmap_figure(tables: ReportTables) -> Figure:
    """Share of employers naming each top skill staff lack, by sector, as a heatmap."""
    drawn, left_out = heatmap_sectors(tables)
    heatmap = tables.heatmap.loc[drawn].T if drawn else pd.DataFrame()
    hidden = tables.heatmap_suppressed.loc[drawn].T.to_numpy() if drawn else np.zeros((0, 0))
    rows, columns = heatmap.shape
    figure = _figure(2.6 + 0.5 * max(rows, 3))
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
                    if tables.heatmap_bases.get(str(heatmap.columns[j]), 0) < tables.caution_base:
                        text += "*"  # a base under the caution threshold
                axes.text(j, i, text, ha="center", va="center", fontsize=10, color=colour)
        axes.xaxis.tick_top()
        axes.set_yticks(np.arange(rows), [_wrap(str(r), 20) for r in heatmap.index], fontsize=10)
        sectors = [str(s) for s in heatmap.columns]
        _fit_column_labels(figure, axes, sectors, [tables.heatmap_bases[s] for s in sectors])
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
        + f"; {PERCENT_HIDDEN}: hidden to protect a small figure; * base under "
        f"{tables.caution_base}, treat with caution."
    )
    _add_note(figure, note)
    return figure


def skills_heatmap(tables: ReportTables) -> bytes:
    """Share of employers naming each top skill staff lack, by sector, as a PNG heatmap."""
    return _png(heatmap_figure(tables))


CHARTS = {"responses-by-sector": trend_chart, "skills-gaps-by-sector": skills_heatmap}
