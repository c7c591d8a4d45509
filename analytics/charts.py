"""Charts of the weekly report, drawn with matplotlib's Agg backend into PNG bytes.

They take the suppressed chart data of `ReportTables`: suppressed cells are NaN, so they
are never plotted; the heatmap writes the marker (e.g. "<5") in their squares.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analytics.tables import ReportTables  # noqa: E402

_DPI = 100
MAX_SERIES = 8


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def trend_chart(tables: ReportTables) -> bytes:
    """Responses started by sector per week (last 8 weeks) as a PNG line chart."""
    trend = tables.trend
    if len(trend) > MAX_SERIES:  # at most 8 lines: the sectors with most responses shown
        trend = trend.loc[trend.sum(axis=1).sort_values(ascending=False).index[:MAX_SERIES]]
    figure, axes = plt.subplots(figsize=(8, 6))
    weeks = [str(c) for c in trend.columns]
    positions = np.arange(len(weeks))
    plotted = 0
    for sector, row in trend.iterrows():
        values = row.to_numpy(dtype="float64")
        if np.isnan(values).all():
            continue
        shown = int(np.nansum(values))
        axes.plot(positions, values, marker="o", label=f"{sector} (n={shown})")
        plotted += 1
    axes.set_xticks(positions, weeks, rotation=30, ha="right")
    axes.set_ylabel("Responses started")
    axes.set_title(f"Responses started by sector, to {tables.week.label}\n{tables.area}")
    axes.grid(axis="y", alpha=0.3)
    axes.set_ylim(bottom=0)
    if plotted:
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        axes.text(
            0.5,
            0.5,
            f"No sector had {tables.threshold} or more responses in a week",
            ha="center",
            va="center",
            transform=axes.transAxes,
        )
    figure.text(
        0.01,
        -0.02,
        f"Hidden figures (fewer than {tables.threshold} responses, or needed to protect one)"
        f" are not plotted; at most the {MAX_SERIES} sectors with most responses.",
        fontsize=8,
    )
    return _png(figure)


def skills_heatmap(tables: ReportTables) -> bytes:
    """Share of employers naming each top skill lacking, by sector, as a PNG heatmap."""
    heatmap = tables.heatmap
    hidden = tables.heatmap_suppressed.to_numpy()
    rows, columns = heatmap.shape
    figure, axes = plt.subplots(
        figsize=(max(6.0, 1.0 + 0.9 * columns), max(3.0, 1.0 + 0.45 * rows))
    )
    if rows and columns:
        values = np.ma.masked_invalid(heatmap.to_numpy(dtype="float64") * 100)
        top = float(values.max()) if values.count() else 100.0
        image = axes.imshow(values, cmap="viridis", vmin=0, vmax=max(10.0, top), aspect="auto")
        figure.colorbar(image, ax=axes, label="% of employers naming skills lacking")
        axes.set_facecolor("#dddddd")
        for i in range(rows):
            for j in range(columns):
                if hidden[i, j]:
                    text, colour = tables.marker, "black"
                else:
                    light = values[i, j] > 0.6 * max(10.0, top)
                    text, colour = f"{values[i, j]:.0f}", "black" if light else "white"
                axes.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
        axes.set_xticks(
            np.arange(columns),
            [str(c) for c in heatmap.columns],
            rotation=40,
            ha="right",
            fontsize=8,
        )
        axes.set_yticks(
            np.arange(rows),
            [
                f"{r} (base {tables.heatmap_bases.get(str(r), tables.marker)})"
                for r in heatmap.index
            ],
            fontsize=8,
        )
    else:
        axes.text(
            0.5,
            0.5,
            "No skills lacking reported yet",
            ha="center",
            va="center",
            transform=axes.transAxes,
        )
        axes.set_axis_off()
    axes.set_title(f"Skills staff lack (skills gaps) by sector, to {tables.week.label}")
    return _png(figure)


CHARTS = {"responses-by-sector": trend_chart, "skills-gaps-by-sector": skills_heatmap}
