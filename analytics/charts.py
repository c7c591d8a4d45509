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


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def trend_chart(tables: ReportTables) -> bytes:
    """Responses started by sector per week (last 8 weeks) as a PNG line chart."""
    trend = tables.trend
    figure, axes = plt.subplots(figsize=(10, 5.5))
    weeks = [str(c) for c in trend.columns]
    positions = np.arange(len(weeks))
    plotted = 0
    for sector, row in trend.iterrows():
        values = row.to_numpy(dtype="float64")
        if np.isnan(values).all():
            continue
        axes.plot(positions, values, marker="o", label=str(sector))
        plotted += 1
    axes.set_xticks(positions, weeks, rotation=30, ha="right")
    axes.set_ylabel("Responses started")
    axes.set_title(f"Responses started by sector, 8 weeks to {tables.week.label}")
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
        f"Weeks with fewer than {tables.threshold} responses in a sector are not plotted.",
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
        image = axes.imshow(values, cmap="viridis", vmin=0, vmax=100, aspect="auto")
        figure.colorbar(image, ax=axes, label="% of employers naming skills lacking")
        axes.set_facecolor("#dddddd")
        for i in range(rows):
            for j in range(columns):
                if hidden[i, j]:
                    text, colour = tables.marker, "black"
                else:
                    text, colour = f"{values[i, j]:.0f}", "white" if values[i, j] < 60 else "black"
                axes.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
        axes.set_xticks(
            np.arange(columns),
            [str(c) for c in heatmap.columns],
            rotation=40,
            ha="right",
            fontsize=8,
        )
        axes.set_yticks(np.arange(rows), [str(r) for r in heatmap.index], fontsize=8)
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
    axes.set_title(f"Skills lacking by sector, to {tables.week.label}")
    return _png(figure)


CHARTS = {"responses-by-sector": trend_chart, "skills-gaps-by-sector": skills_heatmap}
