"""Report tables: the weekly summary as published cells, labelled for people.

`report_tables` is the last step before rendering. It lays every figure of the summary out
as cells of tables with Total rows and columns, hands their counts and the equations tying
them (totals, totals shared by tables, last week's figures) to `analytics.disclosure`,
which decides what is hidden, and builds from the result:

- `cells`: every published cell as (table, row, column, value, base, status), the tidy
  file (`--format csv`) and what the disclosure test attacks;
- display tables for the renderers (Markdown, XLSX, HTML, the Telegram message), built
  from those cells only, so nothing hidden can leak through a renderer;
- chart data (trend and heatmap) from the same cells.

Disclosure runs in two stages. Stage 1 protects the response counts (started and
completed, this week and to date, by sector, district and size band) week by week from the
first response, each week taking the previous week's published figures as given, so that
"to date" minus last week's "to date" never reveals a hidden weekly count. Stage 2 protects
this week's other tables with stage 1's cells fixed, and against what earlier reports
published of them (`earlier`, read from `storage.publications`; `_earlier_reports`):
these tables count employers to date, so two reports showing the same figure on bases a
few employers apart would tell what those few answered. The response counts to date are
recorded too, and this week's are kept from telling, beside earlier reports' (any week,
in any order, or this week's own made on less data), how many employers came in between
(`_earlier_counts`, `_hidden_before`). Counts to date never fall while employers only
come in, so stage 2 is also protected together with the latest earlier week's report, as
it published its figures (`before`, `_grown_from`): each count now is that report's plus
a growth that is never negative, and that report's totals tie its hidden cells.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from analytics.catalogue import PROFILE_AXES, Catalogue
from analytics.disclosure import (
    CAUTION,
    COMPLEMENT,
    DEFAULT_CAUTION_BASE,
    DEFAULT_MIN_PERCENT_BASE,
    NOT_ASKED,
    SHOWN,
    SUPPRESSED,
    AuditInfeasible,
    Key,
    Publication,
    known_anyway,
    marker,
    protect,
)
from analytics.measures import GAP_NONE, MEASURES, Measure
from analytics.rollups import ALL
from analytics.verbatims import approved_only, verbatims_note
from analytics.weekly import WeeklySummary
from analytics.weeks import IsoWeek
from conversations.sectors import ESS_SECTORS

TOTAL = "Total"
NOT_GIVEN = "Not given"
TOP_SKILLS = 10
PERCENT_HIDDEN = ".."
NOT_ASKED_TEXT = "n/a"
_TO_DATE_COLUMNS = ("Started to date", "Completed to date")
_COUNT_COLUMNS = (
    "Started this week",
    "Completed this week",
    "Started to date",
    "Completed to date",
)
_PERCENT_COMPLETED = "% completed"


@dataclass(frozen=True, slots=True)
class Cell:
    """One published cell: `value` is None unless `status` is shown or caution."""

    table: str
    row: str
    column: str
    value: float | None
    base: float | None
    status: str


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the report: `name` (sheet name), `title`, and its display frame.

    Columns in `percent_columns` hold shares (0..1) shown as percentages, as do the
    (row position, column) cells in `percent_cells`; `caution_cells` are shares on a base
    under the caution threshold ("treat with caution", default 50). Hidden cells hold a
    marker string ("<5", "..", "n/a").
    """

    name: str
    title: str
    frame: pd.DataFrame
    percent_columns: frozenset[str] = frozenset()
    decimal_columns: frozenset[str] = frozenset()
    note: str = ""
    percent_cells: frozenset[tuple[int, str]] = frozenset()
    caution_cells: frozenset[tuple[int, str]] = frozenset()
    base_definition: str = ""

    def is_percent(self, row: int, column: str) -> bool:
        """Whether the cell holds a share to be shown as a percentage."""
        return column in self.percent_columns or (row, column) in self.percent_cells

    def is_caution(self, row: int, column: str) -> bool:
        """Whether the cell is a share on a base under the caution threshold."""
        return (row, column) in self.caution_cells


@dataclass(frozen=True, slots=True)
class ReportTables:
    """Everything the renderers may show for one week, already through disclosure control.

    `trend` (sector x week, responses started) and `heatmap` (sector x skill, share) are
    chart data: hidden cells are NaN there, and `heatmap_suppressed` marks them.
    """

    week: IsoWeek
    threshold: int
    headline: Table
    tables: tuple[Table, ...]
    trend: pd.DataFrame
    heatmap: pd.DataFrame
    heatmap_suppressed: pd.DataFrame
    cells: tuple[Cell, ...] = ()
    area: str = ""
    complete: bool = True
    percent_threshold: int = DEFAULT_MIN_PERCENT_BASE
    caution_base: int = DEFAULT_CAUTION_BASE
    heatmap_bases: Mapping[str, int] = field(default_factory=dict)
    # Responses started in all sectors in each week of `trend` (NaN where hidden).
    trend_total: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    # Responses started by employers who gave no sector, likewise (never drawn as a sector).
    trend_not_given: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    # The "to date" figures as published, for later reports (`storage.publications`):
    # (table, row, column, base, shown, value).
    figures: tuple[tuple[str, str, str, float, bool, float], ...] = ()

    @property
    def marker(self) -> str:
        """What suppressed counts show."""
        return marker(self.threshold)

    @property
    def first_day(self) -> date:
        """The week's Monday."""
        return self.week.monday

    @property
    def last_day(self) -> date:
        """The week's Sunday."""
        return self.week.monday + timedelta(days=6)

    @property
    def period(self) -> str:
        """`week 2026-W47 (Monday 16 to Sunday 22 November 2026)`, and whether it is over."""
        first, last = self.first_day, self.last_day
        text = (
            f"week {self.week.label} (Monday {first.day} {first:%B %Y} to "
            f"Sunday {last.day} {last:%B %Y})"
        )
        return text if self.complete else text + ", not over yet: figures so far"

    @property
    def status_note(self) -> str:
        """For a week not yet over, what to expect of its figures; "" for a complete week."""
        return "" if self.complete else _not_over_note(self.threshold)

    @property
    def heading(self) -> str:
        """The area and the week: what every output names."""
        area = f"{self.area}: " if self.area else ""
        return f"{area}{self.period}"


def _not_over_note(threshold: int) -> str:
    return (
        "This week is not over yet: figures so far. A figure about a group that has "
        f"grown by 1 to {threshold - 1} employers since an earlier report showed it "
        f"is hidden ({COMPLEMENT}), with the figures that would give it away, so that "
        "the two reports together do not tell what those few answered; so a report "
        "made early in the week hides more than usual. Hidden figures come back once "
        f"their group has grown by {threshold} or more, as a rule in the report of "
        "the complete week."
    )


# -- the grid of cells ---------------------------------------------------------------------


@dataclass(slots=True)
class _Grid:
    """A table of counts with Total rows/columns, before disclosure control."""

    name: str
    rows: list[str]
    columns: list[str]
    counts: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    percents: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # derived figures (means, medians): value and the count cells it depends on
    derived: dict[tuple[str, str], tuple[float, float, tuple[tuple[str, str], ...]]] = field(
        default_factory=dict
    )
    internal: set[tuple[str, str]] = field(default_factory=set)
    not_asked: set[tuple[str, str]] = field(default_factory=set)
    # the column that sums the others ("Total"), and the rows for which it does
    total_column: str = TOTAL
    additive_rows: frozenset[str] | None = None
    # counts that are another table's cell (same employers, same units): (row, column) ->
    # that cell's key. They are not counted twice: the other cell's status is theirs.
    twins: dict[tuple[str, str], Key] = field(default_factory=dict)
    # derived figures hidden on a base under the threshold whatever their parts (a median
    # of three answers is one of them); a mean is not: it is its published sum over base
    small_base_rule: set[tuple[str, str]] = field(default_factory=set)
    # counts of something other than employers (vacancies, staff): their base is the
    # employers they are about, so a hidden one may be far above the threshold
    units: set[tuple[str, str]] = field(default_factory=set)
    # groups (rows of a measure grid, columns of a question's) of fewer than the threshold
    # employers: every count about them is hidden, zeros and bases of 0 too, so that
    # "all of them gave the same answer" cannot be read
    small_groups: frozenset[str] = frozenset()

    def group_of(self, cell: tuple[str, str]) -> str:
        """The group a cell is about: its column where groups are columns, else its row."""
        return cell[1] if TOTAL in self.columns else cell[0]


class _Published:
    """The statuses of every cell after disclosure control."""

    def __init__(
        self,
        period: str,
        grids: Sequence[_Grid],
        hidden: frozenset[Key],
        fixed: Mapping[Key, float | None],
        threshold: int,
        percent_threshold: int,
        primary: frozenset[Key] = frozenset(),
        caution_base: int = DEFAULT_CAUTION_BASE,
    ) -> None:
        self.primary = primary
        self.caution_base = caution_base
        self.period = period
        self.grids = {grid.name: grid for grid in grids}
        self.hidden = hidden
        self.fixed = fixed
        self.threshold = threshold
        self.percent_threshold = percent_threshold

    def count_shown(self, table: str, row: str, column: str) -> bool:
        grid = self.grids.get(table)
        twin = grid.twins.get((row, column)) if grid is not None else None
        key = twin if twin is not None else (self.period, table, row, column)
        if key in self.fixed:
            return self.fixed[key] is not None
        return key not in self.hidden

    def mark(self, grid: _Grid, row: str, column: str) -> str:
        """What a hidden cell shows, whatever its value (so the mark gives nothing away).

        `<5` only for a count of employers about fewer than the threshold (its value is
        under the threshold too); `[c]` for any other hidden count: a complement, a figure
        hidden because an earlier report showed it on a base a few employers away (its
        value may be large: `primary` leaves those out), or a count of vacancies or staff
        at fewer than the threshold employers; `..` for a percentage, mean or median not
        shown.
        """
        cell = (row, column)
        if cell not in grid.counts:
            return PERCENT_HIDDEN
        key = grid.twins.get(cell, (self.period, grid.name, row, column))
        small = 0 < grid.counts[cell][1] < self.threshold or (
            grid.group_of(cell) in grid.small_groups
        )
        if cell not in grid.units and (small or key in self.primary):
            return marker(self.threshold)
        return COMPLEMENT

    def status(self, grid: _Grid, row: str, column: str) -> str:
        cell = (row, column)
        if cell in grid.not_asked:
            return NOT_ASKED
        if cell in grid.counts:
            if not self.count_shown(grid.name, row, column):
                return SUPPRESSED
            # a count on a published base of 0 is about nobody: nobody in the group was
            # asked (sole traders about their staff's skills), n/a rather than a 0
            holder = self.base_cell(grid, cell)
            if grid.counts[cell][1] == 0 and holder and self.count_shown(grid.name, *holder):
                return NOT_ASKED
            return SHOWN
        if cell in grid.percents:
            parts = grid.percents[cell]
            base = grid.counts[parts[-1]][0]
            if base == 0:  # n/a only beside a published base of 0: else it gives it away
                return NOT_ASKED if self.count_shown(grid.name, *parts[-1]) else SUPPRESSED
            # a share's visibility follows its numerator and denominator, and a density's
            # its base too (the employers asked): a share shown on a hidden base, with its
            # caution mark or none, would tell the base's range (25 to 49, or 50 or more)
            shown = all(self.count_shown(grid.name, *p) for p in parts[:2])
            shown = shown and self.count_shown(grid.name, *parts[-1])
            if not shown or base < self.percent_threshold:
                return SUPPRESSED
            return CAUTION if base < self.caution_base else SHOWN
        value, base, needs = grid.derived[cell]
        if base == 0:
            return NOT_ASKED if self.count_shown(grid.name, *needs[-1]) else SUPPRESSED
        if cell in grid.small_base_rule and base < self.threshold:
            return SUPPRESSED
        return SHOWN if all(self.count_shown(grid.name, *n) for n in needs) else SUPPRESSED

    def cells(self, grid: _Grid) -> list[Cell]:
        out = []
        for row in grid.rows:
            for column in grid.columns:
                cell = (row, column)
                if cell in grid.internal or not (
                    cell in grid.counts or cell in grid.percents or cell in grid.derived
                ):
                    continue
                status = self.status(grid, row, column)
                value, base = self.value_and_base(grid, cell)
                shown = status in (SHOWN, CAUTION)
                # a percentage not shown keeps its base where that is published (a base
                # under the percentage threshold says why it is not shown)
                base_shown = (
                    status == NOT_ASKED
                    or (shown and self.base_shown(grid, cell))
                    or (cell in grid.percents and self.base_shown(grid, cell))
                )
                out.append(
                    Cell(
                        grid.name,
                        row,
                        column,
                        value if shown else None,
                        base if base_shown else None,
                        status,
                    )
                )
        return out

    def base_shown(self, grid: _Grid, cell: tuple[str, str]) -> bool:
        """Whether the base printed next to a shown count is itself a published figure.

        A count's base is another cell of its grid (the Base or Total row of its column,
        or the Base column of its row); where disclosure control hid that cell, printing
        the base beside a shown count would give the hidden cell away.
        """
        if cell in grid.percents:  # a density may be shown beside a hidden base
            return self.count_shown(grid.name, *grid.percents[cell][-1])
        if cell not in grid.counts:
            return True  # means are shown only when their base is
        other = self.base_cell(grid, cell)
        return other is None or self.count_shown(grid.name, *other)

    @staticmethod
    def base_cell(grid: _Grid, cell: tuple[str, str]) -> tuple[str, str] | None:
        """The cell of `grid` that holds a count's base (the Base or Total row of its
        column, or the Base column of its row), if another one does."""
        row, column = cell
        base = grid.counts[cell][1]
        for other in ((row, "Base"), ("Base", column), (TOTAL, column)):
            if other != cell and other in grid.counts and grid.counts[other][0] == base:
                return other
        return None

    @staticmethod
    def value_and_base(grid: _Grid, cell: tuple[str, str]) -> tuple[float, float]:
        if cell in grid.counts:
            return grid.counts[cell]
        if cell in grid.percents:
            numerator, denominator = grid.percents[cell][:2]
            base = grid.counts[grid.percents[cell][-1]][0]
            whole = grid.counts[denominator][0]
            return (grid.counts[numerator][0] / whole if whole else 0.0), base
        value, base, _ = grid.derived[cell]
        return value, base


def _publication(
    period: str, grids: Sequence[_Grid], threshold: int, pub: Publication | None = None
) -> Publication:
    """The counts of `grids` with their Total equations added to `pub`."""
    pub = pub if pub is not None else Publication()
    for grid in grids:

        def key(cell: tuple[str, str], grid: _Grid = grid) -> Key:
            return grid.twins.get(cell, (period, grid.name, *cell))

        def twinned(cells: list[tuple[str, str]], grid: _Grid = grid) -> bool:
            # every cell is another table's, whose own equations already tie them
            return all(cell in grid.twins for cell in cells)

        for (row, column), (value, base) in grid.counts.items():
            if (row, column) in grid.not_asked:
                # about nobody, so known to be 0: a twin (another table's cell) too
                known = key((row, column))
                if (row, column) not in grid.twins:
                    pub.values[known] = 0.0
                pub.not_asked.add(known)
                continue
            if (row, column) in grid.twins:
                # counted once, as the other table's cell; a sum of vacancies or staff at
                # fewer than the threshold employers is hidden there too (it and the
                # employers would give a hidden mean away)
                if 0 < base < threshold and (row, column) in grid.internal:
                    pub.primary.add(grid.twins[(row, column)])
                continue
            small = grid.group_of((row, column)) in grid.small_groups
            pub.add((period, grid.name, row, column), value, base, threshold, small=small)
            pub.groups[(period, grid.name, row, column)] = (grid.name, grid.group_of((row, column)))
            # the whole area's figure (groups are columns where the grid has a Total one)
            if (column if TOTAL in grid.columns else row) == TOTAL:
                pub.area.add((period, grid.name, row, column))
        counted = {(r, c) for (r, c) in grid.counts}
        if TOTAL in grid.rows:
            for column in grid.columns:
                parts = [(r, column) for r in grid.rows if r != TOTAL and (r, column) in counted]
                if (TOTAL, column) in counted and parts and not twinned([(TOTAL, column), *parts]):
                    pub.sum_of(key((TOTAL, column)), [key(p) for p in parts])
        total = grid.total_column
        if total in grid.columns:
            for row in grid.rows:
                if grid.additive_rows is not None and row not in grid.additive_rows:
                    continue
                parts = [(row, c) for c in grid.columns if c != total and (row, c) in counted]
                if (row, total) in counted and parts and not twinned([(row, total), *parts]):
                    pub.sum_of(key((row, total)), [key(p) for p in parts])
    return pub


# -- stage 1: responses by profile, week after week ------------------------------------------


# ESS size bands (people at the site), sole traders apart: the order when the interview
# asks headcount and has no size band question of its own.
SIZE_BANDS: Mapping[str, str] = {
    "1": "1 (just me)",
    "2-4": "2 to 4",
    "5-9": "5 to 9",
    "10-24": "10 to 24",
    "25-49": "25 to 49",
    "50-99": "50 to 99",
    "100-249": "100 to 249",
    "250+": "250 or more",
}


def _group_order(catalogue: Catalogue, axis: str, groups: Iterable[str]) -> list[str]:
    """Every group of `axis`, whether or not anyone is in it, then any other in `groups`.

    Every sector (ESS order), size band and district of the area the interview offers is
    listed in every table by group, with its zeros: a group left out where nobody in it
    answered would tell a reader, who knows the interview's groups, that its figures are
    0, and a Total minus the listed groups would give hidden ones away.
    """
    present = set(groups)
    order = catalogue.axis_order(axis) or (list(SIZE_BANDS) if axis == "size_band" else [])
    if axis == "sector":
        order = list(dict.fromkeys([*ESS_SECTORS, *order]))
    ordered = list(order)
    ordered += sorted(present - set(ordered) - {"unknown"})
    if "unknown" in present:
        ordered.append("unknown")
    return ordered


def _label(catalogue: Catalogue, axis: str, group: str) -> str:
    if group == "unknown":
        return NOT_GIVEN
    if axis == "sector" and group in ESS_SECTORS:
        return ESS_SECTORS[group]
    if axis == "size_band" and not catalogue.axis_order(axis):
        return SIZE_BANDS.get(group, group)
    return catalogue.axis_label(axis, group)


def _profile_grid_name(axis: str) -> str:
    return f"Responses by {PROFILE_AXES[axis].lower()}"


def _profile_grids(week_rows: pd.DataFrame, catalogue: Catalogue) -> list[_Grid]:
    grids = []
    for axis in PROFILE_AXES:
        rows = week_rows.loc[week_rows["axis"] == axis]
        order = _group_order(catalogue, axis, rows["group"])
        sources = ["started_week", "completed_week", "started", "completed"]
        by_group = rows.set_index("group")[sources].reindex(order, fill_value=0)
        labels = [_label(catalogue, axis, g) for g in order]
        grid = _Grid(
            _profile_grid_name(axis), [*labels, TOTAL], [*_COUNT_COLUMNS, _PERCENT_COMPLETED]
        )
        for column, source in zip(_COUNT_COLUMNS, sources, strict=True):
            values = [float(v) for v in by_group.loc[order, source].to_numpy()]
            for label, value in zip(labels, values, strict=True):
                grid.counts[(label, column)] = (value, value)
            grid.counts[(TOTAL, column)] = (sum(values), sum(values))
        for label in grid.rows:
            grid.percents[(label, _PERCENT_COMPLETED)] = (
                (label, "Completed to date"),
                (label, "Started to date"),
            )
        grids.append(grid)
    return grids


def _stage_one(
    history: pd.DataFrame,
    catalogue: Catalogue,
    threshold: int,
    percent_threshold: int,
    caution_base: int = DEFAULT_CAUTION_BASE,
    *,
    earlier: Mapping[tuple[str, str, str], Sequence[tuple[float, bool, float]]] | None = None,
    withheld: frozenset[Key] = frozenset(),
) -> tuple[dict[str, _Published], dict[Key, float | None]]:
    """Each week's published response counts, oldest first; and this week's fixed cells.

    Every week before the last is made again as made alone (its own report may have hidden
    more: last week's counts that a report hid are taken as unknown, `_hidden_last_week`).
    The last week, this report's, is then kept from telling,
    beside what earlier reports published (`earlier`), how many employers completed in
    between (`_earlier_counts`), and hides `withheld` too: counts that an earlier report
    hid as another figure (`_hidden_before`). Those hide more than the week made alone:
    it is made again with its hidden cells kept hidden, so that the weeks after it, which
    take it as made alone, never assume a cell hidden that this report shows. (A reader
    who knows less is no risk to them.)
    """
    published: dict[str, _Published] = {}
    previous: tuple[str, list[_Grid], dict[Key, float | None], Publication] | None = None
    fixed_now: dict[Key, float | None] = {}
    weeks = list(dict.fromkeys(history["week"]))
    last = weeks[-1] if weeks else None
    for label in weeks:
        grids = _profile_grids(history.loc[history["week"] == label], catalogue)
        pub = _publication(label, grids, threshold)
        first = grids[0]
        for other in grids[1:]:
            for column in _COUNT_COLUMNS:
                pub.same((label, first.name, TOTAL, column), (label, other.name, TOTAL, column))
        for grid in grids:
            for row in grid.rows:
                for to_date, this_week in (
                    ("Started to date", "Started this week"),
                    ("Completed to date", "Completed this week"),
                ):
                    now = (label, grid.name, row, to_date)
                    added = (label, grid.name, row, this_week)
                    if previous is None:
                        pub.same(now, added)
                        continue
                    before = (previous[0], grid.name, row, to_date)
                    if before in previous[2]:
                        pub.sum_of(now, [before, added])
                    else:  # a group new this week had nothing to date before
                        pub.same(now, added)
        if previous is not None:
            pub.fixed.update(previous[2])
            pub.equations.extend(previous[3].equations)
            if label == last:
                _hidden_last_week(pub, previous[0], earlier or {}, previous[1])
        hidden = protect(pub)
        if label == last:
            forced = withheld | _earlier_counts(pub, label, grids, earlier or {}, threshold)
            if not forced <= hidden:
                for key in (forced | hidden) & pub.values.keys():
                    pub.primary.add(key)
                    pub.changed.add(key)
                    pub.large.discard(key)
                # Hiding more never exposes a hidden cell (fewer knowns, more solutions);
                # the union only makes sure, should the search drop one it started from.
                hidden = protect(pub) | hidden
        cells: dict[Key, float | None] = {
            key: (None if key in hidden else value)
            for key, value in pub.values.items()
            if key[0] == label
        }
        published[label] = _Published(
            label,
            grids,
            hidden,
            pub.fixed,
            threshold,
            percent_threshold,
            frozenset(pub.primary - pub.changed),
            caution_base,
        )
        own = Publication(values={k: v for k, v in pub.values.items() if k[0] == label})
        own.equations = [e for e in pub.equations if all(k[0] == label for k in e.keys)]
        previous = (label, grids, cells, own)
        fixed_now = cells
    return published, fixed_now


def _earlier_counts(
    pub: Publication,
    label: str,
    grids: Sequence[_Grid],
    published: Mapping[tuple[str, str, str], Sequence[tuple[float, bool, float]]],
    threshold: int,
) -> set[Key]:
    """The week's response counts to date that earlier reports make telling.

    A count to date shown by an earlier report (any week, or this one's made on less
    data) and shown now, 1 to `threshold - 1` apart, tells how many employers of the group
    started or completed in between, as a weekly count would: a mid-week and an end-of-week
    report of the same week, or the weeks before and after a hidden one. Such a count is
    hidden now, and so is one an earlier report hid at the same value. One shown as it is
    now is known already: a complement of last resort (`Publication.seen`). The weekly
    counts need nothing of their own: within one week they move with the counts to date,
    and last week is in this one's equations (made again as made alone, with the counts
    to date its report may have hidden taken as unknown: `_hidden_last_week`).

    A count pinned by this report's own published figures (a 0 beside a total of 0) is
    published whatever this asks; and one an earlier week's report hid because a later
    week's, made before it, showed a nearby count may be public already through that
    later report (hidden for nothing: the cost is figures, not a leak).
    """
    forced: set[Key] = set()
    for grid in grids:
        for row in grid.rows:
            for column in _TO_DATE_COLUMNS:
                key = (label, grid.name, row, column)
                if key not in pub.values:
                    continue
                value = pub.values[key]
                for before_base, shown, before_value in published.get((grid.name, row, column), ()):
                    if (shown and 0 < abs(value - before_value) < threshold) or (
                        not shown and before_base == value
                    ):
                        forced.add(key)
                    elif shown and before_value == value:
                        pub.seen.add(key)
    return forced


def _hidden_last_week(
    pub: Publication,
    week: str,
    published: Mapping[tuple[str, str, str], Sequence[tuple[float, bool, float]]],
    grids: Sequence[_Grid] = (),
) -> None:
    """Last week's counts to date as a reader may know them, not as made alone.

    Last week is made again as made alone, which may differ from what the reports showed:
    - it may show a count its report hid for the record (`_earlier_counts`): this week's
      "to date" and "this week" would then give it away. A count of last week that a
      report hid at its value, and none showed at it, is taken as unknown.
    - it may hide a count that a report showed (its own, made knowing earlier reports, or
      one of a week when the count was the same): a reader knows it, and this week's "to
      date" less it gives "this week". A count hidden here that some report showed at its
      true value (`grids`: last week's) is taken as known.
    """
    true: dict[Key, float] = {
        (week, grid.name, row, column): value
        for grid in grids
        for (row, column), (value, _) in grid.counts.items()
    }
    for key, value in list(pub.fixed.items()):
        if key[0] != week or key[3] not in _TO_DATE_COLUMNS:
            continue
        before = published.get((key[1], key[2], key[3]), ())
        if value is None:
            actual = true.get(key)
            if actual is not None and any(shown and v == actual for _, shown, v in before):
                pub.fixed[key] = actual
            continue
        hid = any(not shown and base == value for base, shown, _ in before)
        if hid and not any(shown and before_value == value for _, shown, before_value in before):
            pub.fixed[key] = None


def _count_figures(
    stage_one: _Published,
) -> tuple[tuple[str, str, str, float, bool, float], ...]:
    """This week's response counts to date as published, for the reports after it, each
    on itself as its base (`_earlier_counts`)."""
    figures = []
    for grid in stage_one.grids.values():
        for row in grid.rows:
            for column in _TO_DATE_COLUMNS:
                if (row, column) not in grid.counts:
                    continue
                value = grid.counts[(row, column)][0]
                shown = stage_one.count_shown(grid.name, row, column)
                figures.append((grid.name, row, column, value, shown, value if shown else 0.0))
    return tuple(figures)


# -- stage 2: this week's other tables ------------------------------------------------------


def _question_grid_name(catalogue: Catalogue, question_id: str, axis: str) -> str:
    return f"{catalogue.question_label(question_id)} (by {PROFILE_AXES[axis].lower()})"


def _choice_grids(
    summary: WeeklySummary,
    labels: Mapping[str, str],
    order: Sequence[str],
    axis: str = "sector",
    by_sector: Mapping[str, _Grid] | None = None,
    period: str = "",
) -> list[_Grid]:
    """One grid per choice question: options (and the base) by the groups of `axis`.

    By sector every choice question; by district and by size band the skills-lacking
    questions only (their rankings). Those grids' Total column is the sector grid's
    (`by_sector`, by grid name): the same figures, twinned, so counted once.
    """
    catalogue = summary.catalogue
    grids = []
    overall = summary.choices
    by_group = summary.choices_by_sector if axis == "sector" else summary.skills_by[axis]
    # (question, group) -> (counts by option, base): one pass, not a filter per cell
    answered: dict[tuple[object, object], tuple[dict[object, float], float]] = {}
    for (question_id, group), rows in by_group.groupby(["question_id", "group"], sort=False):
        counts = {o: float(c) for o, c in zip(rows["option"], rows["count"], strict=True)}
        answered[(question_id, group)] = (counts, float(rows["base"].iloc[0]))
    for question_id in dict.fromkeys(overall["question_id"]):
        if question_id in catalogue.profile_questions:
            continue
        if axis != "sector" and question_id not in catalogue.key.skills_lists:
            continue
        single = catalogue.kinds.get(str(question_id)) == "choice"
        options = list(catalogue.choice_labels.get(str(question_id), {}))
        everyone = overall.loc[overall["question_id"] == question_id]
        extra = [o for o in dict.fromkeys(everyone["option"]) if o not in options]
        options += extra
        option_labels = [catalogue.option_label(str(question_id), str(o)) for o in options]
        base_row = TOTAL if single else "Base"
        groups = list(order)
        columns = [labels[g] for g in groups] + [TOTAL]
        grid = _Grid(
            _question_grid_name(catalogue, str(question_id), axis),
            [*option_labels, base_row],
            columns,
        )
        all_counts = {
            o: float(c) for o, c in zip(everyone["option"], everyone["count"], strict=True)
        }
        all_base = float(everyone["base"].iloc[0]) if len(everyone) else 0.0
        for group, column in [*zip(groups, columns, strict=False), (ALL, TOTAL)]:
            counts, base = (
                (all_counts, all_base)
                if group == ALL
                else answered.get((question_id, group), ({}, 0.0))
            )
            for option, label in zip(options, option_labels, strict=True):
                grid.counts[(label, column)] = (float(counts.get(option, 0)), base)
            grid.counts[(base_row, column)] = (base, base)
        if by_sector is not None:
            sector = by_sector[_question_grid_name(catalogue, str(question_id), "sector")]
            for row in grid.rows:
                grid.twins[(row, TOTAL)] = (period, sector.name, row, TOTAL)
        grids.append(grid)
    return grids


def _number_grids(
    summary: WeeklySummary, labels: Mapping[str, str], order: Sequence[str]
) -> list[_Grid]:
    catalogue = summary.catalogue
    grids = []
    for question_id in dict.fromkeys(summary.numbers["question_id"]):
        if question_id in catalogue.profile_questions:
            continue
        here = summary.numbers_by_sector.loc[
            summary.numbers_by_sector["question_id"] == question_id
        ]
        everyone = summary.numbers.loc[summary.numbers["question_id"] == question_id]
        groups = list(order)
        columns = [labels[g] for g in groups] + [TOTAL]
        grid = _Grid(
            _question_grid_name(catalogue, str(question_id), "sector"),
            ["Mean", "Median", "Sum", "Base"],
            columns,
            total_column=TOTAL,
            additive_rows=frozenset({"Sum", "Base"}),
        )
        for group, column in [*zip(groups, columns, strict=False), (ALL, TOTAL)]:
            source = everyone if group == ALL else here.loc[here["group"] == group]
            if source.empty:  # nobody in the group answered: a base of 0, n/a
                source = pd.DataFrame({"base": [0.0], "mean": [0.0], "median": [0.0]})
                grid.not_asked.update({("Sum", column), ("Base", column)})
            row = source.iloc[0]
            base = float(row["base"])
            grid.counts[("Sum", column)] = (float(row["mean"]) * base if base else 0.0, base)
            grid.counts[("Base", column)] = (base, base)
            grid.internal.add(("Sum", column))
            grid.derived[("Mean", column)] = (
                float(row["mean"]),
                base,
                (("Sum", column), ("Base", column)),
            )
            grid.derived[("Median", column)] = (float(row["median"]), base, (("Base", column),))
            # a mean or median of fewer answers than the count threshold is hidden
            grid.small_base_rule.add(("Median", column))
            grid.small_base_rule.add(("Mean", column))
        grids.append(grid)
    return grids


# A number question's base and sum that an ESS measure (by sector) publishes too, counting
# the same employers and the same units: (question, its row, measure, the measure's column).
_NUMBER_TWINS = (
    ("vacancy_count", "Base", "Employers with vacancies", "Employers"),
    ("vacancy_count", "Sum", "SSV density", "Vacancies"),
    ("htf_count", "Base", "Employers with hard-to-fill vacancies", "Employers"),
    ("gap_count", "Base", "Employers with skills gaps", "Employers"),
    ("gap_count", "Sum", "Skills-gap density", "Staff not fully proficient"),
)


def _twin_numbers(
    period: str,
    numbers: Mapping[str, _Grid],
    measures: Sequence[tuple[Measure, str, _Grid]],
) -> None:
    """Make a number question's base and sum the measure cells that hold the same figure.

    "How many vacancies do you have now?" has as base the employers with vacancies and as
    sum the vacancies, which "Employers with vacancies" and "SSV density" publish by sector
    on their own (larger) bases: a sector's mean is that sum over that base. Counted twice,
    one could be hidden and the other shown, giving a hidden mean away (and tying them as
    equations hid headline totals in cascade). Counted once, one decision governs both:
    the mean is shown exactly when its sum and base are published in the measures.
    Twinned only where the figures are equal (they are unless some answers are missing,
    as with responses to version 1 of the interview).
    """
    by_name = {measure.name: grid for measure, axis, grid in measures if axis == "sector"}
    for question_id, row, measure_name, column in _NUMBER_TWINS:
        number = numbers.get(question_id)
        measure = by_name.get(measure_name)
        if number is None or measure is None:
            continue
        for label in number.columns:
            mine = number.counts.get((row, label))
            theirs = measure.counts.get((label, column))
            if mine is None or theirs is None or (label, column) in measure.not_asked:
                continue
            if abs(mine[0] - theirs[0]) <= 1e-6 * max(1.0, abs(theirs[0])):
                number.twins[(row, label)] = (period, measure.name, label, column)


def _mark_small_groups(
    stage_one: _Published, tagged: Iterable[tuple[_Grid, str]], threshold: int
) -> None:
    """Mark the groups of 1 to threshold - 1 employers (completed to date) in every grid
    (`tagged`: each grid with the axis of its groups).

    Their counts are all hidden, zeros and "not asked" (a base of 0) included: a 0 beside
    a hidden base would tell that every employer of the group gave the other answer.
    """

    def small(axis: str) -> frozenset[str]:
        grid = stage_one.grids[_profile_grid_name(axis)]
        return frozenset(
            row
            for row in grid.rows
            if row != TOTAL and 0 < grid.counts[(row, "Completed to date")][0] < threshold
        )

    by_axis = {axis: small(axis) for axis in PROFILE_AXES}
    for grid, axis in tagged:
        grid.small_groups = by_axis[axis]
        grid.not_asked = {c for c in grid.not_asked if grid.group_of(c) not in grid.small_groups}


def _link_bases(
    pub: Publication,
    period: str,
    grids: Sequence[_Grid],
    completed: Mapping[str, float],
    links: dict[Key, Key],
    axis: str = "sector",
) -> None:
    """Tie a question's base to the employers who completed, where the two are equal
    (`completed`: by the groups of `axis`, the grids' columns).

    A question asked of everyone has as base the group's completed responses (published in
    the responses table); an attacker knows that, so the two are the same quantity: where
    the count is published, so is the base (it is fixed, not a candidate to hide);
    where it is hidden, the base must stay hidden too. `links` notes each base fixed so.
    """
    table = _profile_grid_name(axis)
    for grid in grids:
        base_row = next((r for r in ("Base", TOTAL) if (r, grid.total_column) in grid.counts), None)
        if base_row is None:
            continue
        # only a question that every group's employers answered all or none of (asked of
        # everyone, or of everyone but some groups: the skills-gap question of every size
        # band but sole traders'): elsewhere a base equal to a group's completers is a
        # coincidence a reader cannot know of, and tying the two would make the audit think
        # he does (a "Don't know" of 0 between them pinned, complements spent on it in vain)
        bases = {
            c: grid.counts[(base_row, c)][0] for c in grid.columns if (base_row, c) in grid.counts
        }
        if not _all_or_none(bases, completed):
            continue
        for column in grid.columns:
            row = TOTAL if column == grid.total_column else column
            if (base_row, column) not in grid.counts or row not in completed:
                continue
            if grid.counts[(base_row, column)][0] != completed[row]:
                continue
            if (base_row, column) in grid.twins:  # a measure's count: tied as the measure is
                continue
            base = (period, grid.name, base_row, column)
            same = (period, table, row, "Completed to date")
            if pub.fixed.get(same) is not None:  # published already: so is this base
                pub.fixed[base] = pub.fixed[same]
                pub.primary.discard(base)
                links[base] = same
            else:
                pub.same(base, same)


def _all_or_none(bases: Mapping[str, float], completed: Mapping[str, float]) -> bool:
    """Whether each group's base (Total aside) is all its completers or none of them."""
    return all(
        value in (0.0, completed.get(group)) for group, value in bases.items() if group != TOTAL
    )


def _measure_grid_name(measure: Measure, axis: str) -> str:
    return f"{measure.name} (by {PROFILE_AXES[axis].lower()})"


def _measure_grids(
    summary: WeeklySummary, history_rows: pd.DataFrame
) -> list[tuple[Measure, str, _Grid]]:
    """One grid per ESS measure and profile axis: groups and Total by base, parts, %."""
    frame = summary.measures
    if frame.empty:
        return []
    catalogue = summary.catalogue
    out = []
    for axis in PROFILE_AXES:
        groups = history_rows.loc[history_rows["axis"] == axis, "group"]
        order = _group_order(catalogue, axis, groups)
        labels = [_label(catalogue, axis, g) for g in order]
        for measure in MEASURES:
            columns = ["Base", measure.numerator_label]
            if measure.denominator is not None:
                columns.insert(1, measure.denominator_label)
            percent = "% " + ("density" if measure.kind == "density" else "of employers")
            grid = _Grid(_measure_grid_name(measure, axis), [*labels, TOTAL], [*columns, percent])
            asked = frame[measure.asked].to_numpy()
            sums = [measure.asked, measure.numerator] + (
                [measure.denominator] if measure.denominator else []
            )
            grouped = (
                frame.loc[asked, [axis, *sums[1:]]]
                .assign(**{measure.asked: 1})
                .groupby(axis)[sums]
                .sum()
            )
            table = grouped.astype("float64")
            by_label = dict(zip(table.index, table.to_numpy(), strict=True))
            everyone = table.sum().to_numpy()
            nobody = np.zeros(len(sums))
            for group, label in [*zip(order, labels, strict=True), (None, TOTAL)]:
                values = everyone if group is None else by_label.get(group, nobody)
                row = {name: float(v) for name, v in zip(sums, values, strict=True)}
                base = row[measure.asked]
                grid.counts[(label, "Base")] = (base, base)
                grid.counts[(label, measure.numerator_label)] = (
                    row[measure.numerator],
                    base,
                )
                if measure.kind == "density":
                    grid.units.add((label, measure.numerator_label))
                    grid.units.add((label, measure.denominator_label))
                if measure.denominator is not None:
                    grid.counts[(label, measure.denominator_label)] = (
                        row[measure.denominator],
                        base,
                    )
                    grid.percents[(label, percent)] = (
                        (label, measure.numerator_label),
                        (label, measure.denominator_label),
                        (label, "Base"),
                    )
                else:
                    grid.percents[(label, percent)] = (
                        (label, measure.numerator_label),
                        (label, "Base"),
                    )
                if base == 0:  # nobody asked: the Base is 0 and the rest n/a, never hidden
                    for column in columns:
                        grid.not_asked.add((label, column))
            out.append((measure, axis, grid))
    return out


# Zeros a reader knows: a measure's employers published as 0 make these cells 0 as well
# (measure, its column, the measure then 0 too, that measure's column).
_KNOWN_ZEROS = (
    ("Employers with skills gaps", "Employers", "Skills-gap density", "Staff not fully proficient"),
    ("Employers with vacancies", "Employers", "SSV density", "Vacancies"),
    ("Employers with skill-shortage vacancies", "Employers", "SSV density",
     "Skill-shortage vacancies"),
    ("Employers with hard-to-fill vacancies", "Employers",
     "Employers with skill-shortage vacancies", "Employers"),
    ("Employers with hard-to-fill vacancies", "Employers", "SSV density",
     "Skill-shortage vacancies"),
)  # fmt: skip
# A density's base of 0 (nobody in the group asked how many vacancies, or how many staff
# lack skills: "n/a") tells a reader who knows the interview that nobody in it has
# vacancies (or skills gaps) either, where everyone was asked the counts (version 2): the
# employers of these measures are among the density's base. Tied only where the figures
# agree (a group of version 1 responses may have vacancies and no density base).
_BASE_ZEROS = (
    ("SSV density", "Base", "Employers with vacancies", "Employers"),
    ("SSV density", "Base", "Employers with hard-to-fill vacancies", "Employers"),
    ("SSV density", "Base", "Employers with skill-shortage vacancies", "Employers"),
    ("Skills-gap density", "Base", "Employers with skills gaps", "Employers"),
)


# ESS's nesting: employers with skill-shortage vacancies are among those with hard-to-fill
# ones, who are among those with vacancies, who are among those asked how many vacancies
# they have (SSV density's base: each question asked of the employers of the one before).
# The notes define them so: a reader knows it. (inner measure and column, outer ones, and
# whether the inner is a count of the same employers, so at most the outer: a density's
# skill-shortage vacancies, or staff not fully proficient, are the answer of the employers
# with skill-shortage vacancies, or skills gaps, but counted in vacancies or staff)
_NESTED = (
    ("Employers with vacancies", "Employers", "SSV density", "Base", True),
    (
        "Employers with hard-to-fill vacancies",
        "Employers",
        "Employers with vacancies",
        "Employers",
        True,
    ),
    (
        "Employers with skill-shortage vacancies",
        "Employers",
        "Employers with hard-to-fill vacancies",
        "Employers",
        True,
    ),
    (
        "SSV density",
        "Skill-shortage vacancies",
        "Employers with skill-shortage vacancies",
        "Employers",
        False,
    ),
    (
        "Skills-gap density",
        "Staff not fully proficient",
        "Employers with skills gaps",
        "Employers",
        False,
    ),
)


def _nested_measures(
    pub: Publication, period: str, measures: Sequence[tuple[Measure, str, _Grid]], threshold: int
) -> None:
    """Tell disclosure control what the nesting of the measures (`_NESTED`) tells a reader.

    - Each inner count is at most its outer one, in every group (`Publication.at_most`):
      with 1 employer with vacancies and 1 with a skill-shortage vacancy shown, a hidden
      count of those with hard-to-fill vacancies can only be 1.
    - An inner count is about the employers of the outer one, whatever base it is printed
      on: where they are 1 to `threshold` - 1, it is hidden (`Publication.few_asked`, never
      published through a count of the same employers on a larger base), as the answer of
      those few to the question that selects it would be ("1 of the 1 employer with
      vacancies finds them hard to fill").
    """
    grids = {(measure.name, axis): grid for measure, axis, grid in measures}
    for inner_name, inner_column, outer_name, outer_column, bounded in _NESTED:
        for axis in PROFILE_AXES:
            inner, outer = grids.get((inner_name, axis)), grids.get((outer_name, axis))
            if inner is None or outer is None:
                continue
            for row in inner.rows:
                mine, theirs = (row, inner_column), (row, outer_column)
                if mine not in inner.counts or theirs not in outer.counts:
                    continue
                if mine in inner.not_asked:
                    continue
                count, within = inner.counts[mine][0], outer.counts[theirs][0]
                # Version 1 asked no vacancy counts: its employers with vacancies are in no
                # density base. Only a nesting the figures keep is known (and true).
                if bounded and count > within:
                    continue
                small = inner.twins.get(mine, (period, inner.name, *mine))
                large = outer.twins.get(theirs, (period, outer.name, *theirs))
                if small not in pub.values:
                    continue
                if bounded and (large in pub.values or large in pub.fixed):
                    pub.at_most(small, large)
                if 0 < within < threshold:
                    pub.few_asked.add(small)
    # What counts the same employers as such a count is about them too: the base of the
    # question they were asked ("Which skills do applicants lack?", 0 of the 2 with
    # hard-to-fill vacancies), hidden with it, and never a published 0 that pins it.
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    for equation in pub.equations:
        if len(equation.parts) == 1:
            one, other = root(equation.total), root(equation.parts[0])
            if one != other:
                parent[one] = other
    few = {root(key) for key in pub.few_asked}
    for key in [*pub.values, *pub.few_asked]:
        if root(key) in few and key in pub.values and key not in pub.fixed:
            pub.few_asked.add(key)
            pub.primary.add(key)
            pub.large.discard(key)


# Sums of a number question over its employers that a density's column sums over some of
# them: (question, density, its column, the measure and column counting those employers).
# The rest is the answer of the others, never published but the difference of the two:
# where they are few, it must stay unknown.
_NESTED_SUMS = (
    ("headcount", "Skills-gap density", "Staff", "Skills-gap density", "Base"),
    (
        "htf_count",
        "SSV density",
        "Skill-shortage vacancies",
        "Employers with skill-shortage vacancies",
        "Employers",
    ),
)


def _nested_sums(
    pub: Publication,
    period: str,
    numbers: Mapping[str, _Grid],
    measures: Sequence[tuple[Measure, str, _Grid]],
    threshold: int,
    published: Mapping[tuple[str, str, str], Sequence[tuple[float, bool, float]]],
) -> dict[Key, tuple[str, str, str, float, float, Key, Key]]:
    """Keep the difference of two published sums over nested employers from telling what a
    few employers answered.

    "How many people work at your site?" has a mean (so a sum) over a sector's employers;
    the skills-gap density's staff are the same sum over those of them asked about gaps
    (sole traders and "Don't know" left out). The difference is the headcount of the
    employers left out: where they are 1 to `threshold` - 1 (an audit read one employer's
    22), or a few more or fewer than in a report that showed it (an audit read, from one
    week to the next, the 5 staff of the one employer left out since), or as many as in a
    report that hid it, it becomes a cell of its own, never published and to be kept
    unknown (`Publication.fixed` None: protected like a hidden cell), in an equation with
    the two sums, so protection hides one of them.

    Returns each difference as a figure for the reports after this one (`_figures`): its
    name (grid, row, column), the employers left out, its value, and the two sums.
    """
    by_name = {measure.name: grid for measure, axis, grid in measures if axis == "sector"}
    differences: dict[Key, tuple[str, str, str, float, float, Key, Key]] = {}
    for question_id, measure_name, column, counted_in, counted_as in _NESTED_SUMS:
        number, measure = numbers.get(question_id), by_name.get(measure_name)
        counter = by_name.get(counted_in)
        if number is None or measure is None or counter is None:
            continue
        for label in number.columns:
            if ("Sum", label) not in number.counts or (label, column) not in measure.counts:
                continue
            if ("Sum", label) in number.not_asked or (label, column) in measure.not_asked:
                continue
            if (label, counted_as) not in counter.counts:
                continue
            whole, employers = number.counts[("Sum", label)][0], number.counts[("Base", label)][0]
            part = measure.counts[(label, column)][0]
            rest = employers - counter.counts[(label, counted_as)][0]
            total = number.twins.get(("Sum", label), (period, number.name, "Sum", label))
            inside = measure.twins.get((label, column), (period, measure.name, label, column))
            if part > whole or total not in pub.values or inside not in pub.values:
                continue
            name = (f"{number.name} less {measure.name}", label, column)
            others = ("others", question_id, measure_name, label)
            differences[others] = (*name, rest, whole - part, total, inside)
            before = published.get(name, ())
            if 0 < rest < threshold or any(
                (shown and 0 < abs(rest - base) < threshold) or (not shown and rest == base)
                for base, shown, _ in before
            ):
                pub.fixed[others] = None  # never published: kept unknown by protection
                pub.sum_of(total, [inside, others])
    return differences


def _known_zeros(
    pub: Publication, period: str, measures: Sequence[tuple[Measure, str, _Grid]]
) -> None:
    """Give the audit the zeros a reader infers (no employers with skills gaps, so no staff
    with gaps), so that it counts them as known and protects the cells around them."""
    names = {(measure.name, axis): grid.name for measure, axis, grid in measures}
    for axis in PROFILE_AXES:
        for pairs, always in ((_KNOWN_ZEROS, True), (_BASE_ZEROS, False)):
            for source, column, target, their_column in pairs:
                if (source, axis) not in names or (target, axis) not in names:
                    continue
                grid = next(g for _, a, g in measures if g.name == names[(source, axis)])
                for label in grid.rows:
                    zero = (period, names[(source, axis)], label, column)
                    then = (period, names[(target, axis)], label, their_column)
                    if always or pub.values.get(zero) != 0 or pub.values.get(then) == 0:
                        pub.zero_if_zero(zero, then)


def _tie(pub: Publication, key: Key, other: Key, links: dict[Key, Key]) -> None:
    """`key` holds the same quantity as `other`: published with it, hidden with it.

    Where `other` is published already (a response count), `key` is fixed to it, and
    `links` notes the response count it is fixed to (see `_hidden_before`).
    """
    if other in pub.fixed and pub.fixed[other] is not None and key in pub.values:
        if pub.values[key] == pub.fixed[other]:
            pub.fixed[key] = pub.fixed[other]
            pub.primary.discard(key)
            links[key] = links.get(other, other)
        return
    pub.same(key, other)


def _link_measures(
    pub: Publication,
    period: str,
    measures: Sequence[tuple[Measure, str, _Grid]],
    choices: Mapping[str, _Grid],
    catalogue: Catalogue,
    profiles: Mapping[str, _Grid],
    links: dict[Key, Key],
) -> None:
    """Tie each measure grid to the tables that publish the same quantities.

    A measure that each group's employers are asked all or none of (see `_link_bases`) has
    as base the group's completed responses: compared with the true count of `profiles`
    (stage one's grids), not with what stage one published
    (None where it hid the count, which is exactly when the tie matters).
    """
    first: dict[str, _Grid] = {}
    for measure, axis, grid in measures:
        profile = profiles[_profile_grid_name(axis)]
        bases = {label: grid.counts[(label, "Base")][0] for label in grid.rows}
        completers = {
            label: profile.counts[(label, "Completed to date")][0]
            for label in grid.rows
            if (label, "Completed to date") in profile.counts
        }
        everyone = _all_or_none(bases, completers)  # see `_link_bases`
        for label in grid.rows if everyone else ():
            base = (period, grid.name, label, "Base")
            completed = (period, profile.name, label, "Completed to date")
            true_count = profile.counts.get((label, "Completed to date"), (None, None))[0]
            if base in pub.values and pub.values[base] == true_count:
                _tie(pub, base, completed, links)
        if measure.name in first:  # the Total rows of the three axes are the same figures
            for column in grid.columns:
                if (TOTAL, column) in grid.counts:
                    pub.same(
                        (period, grid.name, TOTAL, column),
                        (period, first[measure.name].name, TOTAL, column),
                    )
        else:
            first[measure.name] = grid
        if axis != "sector":
            continue
        for question_id, option, column in (
            ("vacancies", "yes", "Employers with vacancies"),
            ("hard_to_fill", "yes", "Employers with hard-to-fill vacancies"),
        ):
            if measure.name != column:
                continue
            choice = choices.get(question_id)
            if choice is None:
                continue
            answer = catalogue.option_label(question_id, option)
            for label in grid.rows:
                mine = (period, grid.name, label, measure.numerator_label)
                theirs = (period, choice.name, answer, label)
                if theirs in pub.values and pub.values[theirs] == pub.values.get(mine):
                    pub.same(mine, theirs)
        if measure.name == "Employers with vacancies" and "vacancies" in choices:
            choice = choices["vacancies"]
            for label in grid.rows:
                mine = (period, grid.name, label, "Base")
                theirs = (period, choice.name, choice.rows[-1], label)
                if theirs in pub.values and pub.values[theirs] == pub.values.get(mine):
                    pub.same(mine, theirs)
        if measure.name == "Employers with skills gaps" and "staff_not_proficient" in choices:
            choice = choices["staff_not_proficient"]
            gap_rows = [
                catalogue.option_label("staff_not_proficient", v)
                for v in catalogue.choice_labels.get("staff_not_proficient", {})
                if v not in GAP_NONE
            ]
            for label in grid.rows:
                parts = [(period, choice.name, r, label) for r in gap_rows]
                if all(p in pub.values for p in parts):
                    pub.sum_of((period, grid.name, label, measure.numerator_label), parts)
                base = (period, choice.name, choice.rows[-1], label)
                mine = (period, grid.name, label, "Base")
                if base in pub.values and pub.values[base] == pub.values.get(mine):
                    pub.same(mine, base)


class _AxisGrids(NamedTuple):
    """The grids whose groups are one axis's: choice and number grids by question id."""

    choices: Mapping[str, _Grid]
    numbers: Mapping[str, _Grid]
    measures: Sequence[tuple[Measure, _Grid]]


# What a cell counts, whatever the axis: ("question", id, None) for the employers who
# answered (its Base or Total row), ("question", id, value) for those who chose an option,
# ("measure", name, column) for a measure's Base or employers.
_Source = tuple[str, str, str | None]


def _same_respondents(
    pub: Publication,
    period: str,
    summary: WeeklySummary,
    by_axis: Mapping[str, _AxisGrids],
    links: dict[Key, Key],
) -> None:
    """Make every count of the same employers one cell for disclosure control.

    A routed question's base (the employers who answered it in a group: a choice table's
    Total or Base row, a number table's Base) is, by the interview's `relevant` logic, the
    employers who gave its condition's answer: another choice table's option row ("What
    will drive that?" base = "Will any staff need new skills?" Yes), or a measure's
    employers ("Employers with vacancies" = the base of "Are any of these roles hard to
    fill?"). Such cells hold one quantity in every group, so one hidden and the other shown
    gives it away. Rather than keep a hand list of routes, the cells are matched on the
    employers they count (the same response ids overall, hence in every group too): what
    the routing makes equal is found whatever the interview, and each match becomes an
    equation, so `protect` decides the cells once and its audit checks them together.
    The employers are matched once; the equations are made in the grids of every axis
    (the skills questions and the measures are by district and by size band too).
    """
    catalogue = summary.catalogue
    answered = summary.sources.answered
    sources: dict[frozenset[object], list[_Source]] = {}

    def note(ids: Iterable[object], source: _Source) -> None:
        who = frozenset(ids)
        if who:
            sources.setdefault(who, []).append(source)

    questions = {q for grids in by_axis.values() for q in (*grids.choices, *grids.numbers)}
    chosen = {q for grids in by_axis.values() for q in grids.choices}
    if not answered.empty:
        # One grouping by question (and by answer within a choice question), rather than a
        # comparison of every answer per question and per option: the same cells, found in
        # a fraction of the time at 50,000 responses.
        by_question = answered.groupby(answered["question_id"].astype("object"), sort=False)
        for question_id, part in by_question:
            if str(question_id) not in questions:
                continue
            note(part["response_id"].to_numpy(), ("question", str(question_id), None))
            if str(question_id) in chosen:
                by_value = {
                    value: rows.to_numpy()
                    for value, rows in part["response_id"].groupby(
                        part["value"].astype("object"), sort=False
                    )
                }
                for value in catalogue.choice_labels.get(str(question_id), {}):
                    if value in by_value:
                        note(by_value[value], ("question", str(question_id), str(value)))
    frame = summary.measures
    if not frame.empty:
        ids = frame["response_id"].to_numpy()
        measures = {m.name: m for grids in by_axis.values() for m, _ in grids.measures}
        for measure in measures.values():
            note(ids[frame[measure.asked].to_numpy(dtype=bool)], ("measure", measure.name, "Base"))
            if measure.kind != "density":
                numerator = frame[measure.numerator].to_numpy(dtype=bool)
                note(ids[numerator], ("measure", measure.name, measure.numerator_label))
    # A measure's base may be two other counts' employers together (skills-gap density's
    # base: the employers with skills gaps and those answering "none"): a sum equation.
    # Found once (set inclusions of up to every completer's id), made in every axis.
    splits = []
    for whole, found in sources.items():
        if not any(kind == "measure" for kind, _, _ in found):
            continue
        for one in sources:
            if len(one) < len(whole) and one <= whole and (rest := whole - one) in sources:
                splits.append((whole, one, rest))
    for grids in by_axis.values():
        _tie_same_employers(pub, period, catalogue, sources, splits, grids, links)
    if not frame.empty and "sector" in by_axis:
        _all_but_one_group(pub, period, catalogue, frame, sources, by_axis["sector"])


def _all_but_one_group(
    pub: Publication,
    period: str,
    catalogue: Catalogue,
    frame: pd.DataFrame,
    sources: Mapping[frozenset[object], Sequence[_Source]],
    grids: _AxisGrids,
) -> None:
    """A figure of every completer but one group's: its Total is the completers' minus the
    group's, both published in the response counts ("Roughly what share of your staff..."
    is asked of everyone but sole traders: its base is the completers less the "1 (just
    me)" size band). One equation, so that a hidden base is not worked out from them."""
    everyone = frozenset(frame["response_id"].to_numpy())
    groups: dict[int, list[tuple[Key, frozenset[object]]]] = {}
    for axis in PROFILE_AXES:
        if axis not in frame:
            continue
        for group, members in frame.groupby(axis, observed=True, sort=False)["response_id"]:
            ids = frozenset(members.to_numpy())
            label = _label(catalogue, axis, str(group))
            key = (period, _profile_grid_name(axis), label, "Completed to date")
            groups.setdefault(len(ids), []).append((key, ids))
    total = (period, _profile_grid_name("sector"), TOTAL, "Completed to date")
    measure_grids = {measure.name: grid for measure, grid in grids.measures}
    for who, found in sources.items():
        candidates = groups.get(len(everyone) - len(who))
        if not candidates or not who <= everyone:
            continue
        rest = everyone - who
        for group_key, members_of in candidates:
            if members_of != rest:
                continue
            for kind, name, part in found:
                if kind == "measure":
                    grid = measure_grids.get(name)
                    cell = (TOTAL, part or "Base")
                else:
                    grid = grids.choices.get(name) or grids.numbers.get(name)
                    if grid is None or part is not None:
                        continue
                    cell = ("Base" if ("Base", TOTAL) in grid.counts else TOTAL, TOTAL)
                if grid is None or cell not in grid.counts:
                    continue
                mine = grid.twins.get(cell, (period, grid.name, *cell))
                if mine in pub.values:
                    pub.sum_of(total, [mine, group_key])


def _routed(found: Sequence[_Source]) -> list[_Source]:
    """The sources of one set of employers that the routing can make equal: every one but
    answers to different questions, unless a question's base or a measure is among them
    (the base of "What will drive that?" is the "Yes" of the question before). Two answers
    of two questions naming the same employers (the one employer who ticked "Reading" and
    the one who said "25% to 49%") is a coincidence a reader cannot know of: tied, a 0 of
    the one published beside the other would count as pinning it, and publish it."""
    if any(kind == "measure" or part is None for kind, _, part in found):
        return list(found)
    questions = {name for _, name, _ in found}
    return list(found) if len(questions) <= 1 else []


def _tie_same_employers(
    pub: Publication,
    period: str,
    catalogue: Catalogue,
    sources: Mapping[frozenset[object], Sequence[_Source]],
    splits: Sequence[tuple[frozenset[object], frozenset[object], frozenset[object]]],
    grids: _AxisGrids,
    links: dict[Key, Key],
) -> None:
    """`_same_respondents`' equations in the grids of one axis (`splits`: the employers of
    a measure as those of two other figures together)."""
    measure_grids = {measure.name: grid for measure, grid in grids.measures}

    def place(source: _Source) -> tuple[_Grid, str, bool] | None:
        """The grid and row of a source in this axis (and whether groups are its rows)."""
        kind, name, part = source
        if kind == "measure":
            grid = measure_grids.get(name)
            return None if grid is None or part is None else (grid, part, True)
        grid = grids.choices.get(name) or grids.numbers.get(name)
        if grid is None:
            return None
        if part is None:
            return grid, ("Base" if ("Base", TOTAL) in grid.counts else TOTAL), False
        label = catalogue.option_label(name, part)
        if grid is not grids.choices.get(name) or (label, TOTAL) not in grid.counts:
            return None
        return grid, label, False

    def key(grid: _Grid, row: str, measure: bool, group: str) -> Key | None:
        cell = (group, row) if measure else (row, group)
        if cell not in grid.counts:
            return None
        return grid.twins.get(cell, (period, grid.name, *cell))

    cells = {
        who: placed
        for who, found in sources.items()
        if (placed := [p for s in _routed(found) if (p := place(s)) is not None])
    }
    first = next(iter((*grids.choices.values(), *grids.numbers.values())), None)
    groups = first.columns if first is not None else next((g.rows for _, g in grids.measures), None)
    if groups is None:
        return
    for whole, one, rest in splits:
        if whole in cells and one in cells and rest in cells:
            for column in groups:
                total = key(*cells[whole][0], column)
                parts = [key(*cells[one][0], column), key(*cells[rest][0], column)]
                if total is not None and all(p is not None for p in parts):
                    pub.sum_of(total, [p for p in parts if p is not None])
    for group in cells.values():
        if len(group) < 2:
            continue
        for column in groups:
            keys = [k for placed in group if (k := key(*placed, column)) is not None]
            for other in keys[1:]:
                if other != keys[0] and other in pub.values:
                    _tie(pub, other, keys[0], links)


def _measure_tables(
    published: _Published, measures: Sequence[tuple[Measure, str, _Grid]]
) -> list[Table]:
    tables = []
    for axis in PROFILE_AXES:
        name = PROFILE_AXES[axis]
        rows: list[dict[str, object]] = []
        caution: set[tuple[int, str]] = set()
        for measure, grid_axis, grid in measures:
            if grid_axis != axis:
                continue
            percent = grid.columns[-1]
            for label in grid.rows:
                if published.status(grid, label, percent) == CAUTION:
                    caution.add((len(rows), "%"))
                base = _display(published, grid, (label, "Base"))
                rows.append(
                    {
                        name: label,
                        "Measure": measure.name,
                        "%": _display(published, grid, (label, percent)),
                        "Number": _display(published, grid, (label, measure.numerator_label)),
                        "Of": measure.denominator_label or "employers asked",
                        # what the % is of, as a number: a density's vacancies or staff, a
                        # share's employers asked (its base)
                        "Out of": (
                            _display(published, grid, (label, measure.denominator_label))
                            if measure.denominator is not None
                            else base
                        ),
                        "Base (employers asked)": base,
                    }
                )
        if not rows:
            continue
        tables.append(
            Table(
                f"Measures by {name.lower()}",
                f"Employer Skills Survey measures by {name.lower()}, to date",
                pd.DataFrame(
                    rows,
                    columns=[
                        *(name, "Measure", "%", "Number", "Of", "Out of"),
                        "Base (employers asked)",
                    ],
                ),
                percent_columns=frozenset({"%"}),
                caution_cells=frozenset(caution),
                note=_note(published) + " See the Notes sheet for definitions.",
                base_definition="Base: employers who completed the interview by the end of the "
                "week (to date) and were asked the question the measure rests on (by the "
                "interview's own routing).",
            )
        )
    return tables


def _notes_table(published: _Published, complete: bool = True) -> Table:
    rows = [
        {"Measure": m.name, "Definition (Employer Skills Survey)": m.definition, "Base": m.base}
        for m in MEASURES
    ]
    rows += [
        {
            "Measure": "Skills lacking among applicants",
            "Definition (Employer Skills Survey)": "Skills found lacking in applicants for "
            "skill-shortage vacancies, ranked by employers naming them.",
            "Base": "Employers with a skill-shortage vacancy asked which skills applicants lack.",
        },
        {
            "Measure": "Skills lacking among staff",
            "Definition (Employer Skills Survey)": "Skills staff with skills gaps need to improve,"
            " ranked by employers naming them.",
            "Base": "Employers with skills gaps asked which skills need improving.",
        },
        {
            "Measure": "Columns of the measure tables",
            "Definition (Employer Skills Survey)": "%: Number out of Out of. Number: the "
            "employers counted, or for a density the skill-shortage vacancies or staff not "
            "fully proficient. Of and Out of: what the % is of, in words and as a number "
            "(a density's vacancies or staff; a share's employers asked, its base).",
            "Base": "Base (employers asked): the employers asked the question the measure "
            "rests on.",
        },
        {
            "Measure": "Sole traders and sectors",
            "Definition (Employer Skills Survey)": "The ESS covers sites of 2 or more people; "
            'sole traders ("1 (just me)") are outside its scope. Here they are asked about '
            "vacancies, so the all-employers and sector figures of the vacancy measures "
            "include them: compare the size bands of 2 or more with the ESS. They are never "
            "asked about staff's skills (n/a). Sectors are the ESS's 13 groups, in its order.",
            "Base": "Vacancy measures: sole traders included. Skills-gap measures: not asked.",
        },
        {
            "Measure": "Publication rules",
            "Definition (Employer Skills Survey)": _note(published),
            "Base": "",
        },
    ]
    if not complete:
        rows.append(
            {
                "Measure": "A week not yet over",
                "Definition (Employer Skills Survey)": _not_over_note(published.threshold),
                "Base": "",
            }
        )
    return Table(
        "Notes",
        "Notes: definitions and publication rules",
        pd.DataFrame(rows, columns=["Measure", "Definition (Employer Skills Survey)", "Base"]),
        base_definition="Every figure's base is the employers who were asked the question.",
    )


# -- display ------------------------------------------------------------------------------


def _display(published: _Published, grid: _Grid, cell: tuple[str, str]) -> object:
    status = published.status(grid, *cell)
    if status == NOT_ASKED:
        # a base of 0 shows as 0 (nobody asked), the figures resting on it as n/a
        return 0 if cell[1] == "Base" or cell[0] == "Base" else NOT_ASKED_TEXT
    value, _ = published.value_and_base(grid, cell)
    if status == SUPPRESSED:
        return published.mark(grid, *cell)
    if cell in grid.counts or cell in grid.percents:
        return value if cell in grid.percents else int(round(value))
    return value


def _profile_table(published: _Published, grid: _Grid, axis: str) -> Table:
    name = PROFILE_AXES[axis]
    rows = []
    caution: set[tuple[int, str]] = set()
    for index, label in enumerate(grid.rows):
        record: dict[str, object] = {name: label}
        for column in grid.columns:
            record[column] = _display(published, grid, (label, column))
            if published.status(grid, label, column) == CAUTION:
                caution.add((index, column))
        rows.append(record)
    return Table(
        f"By {name.lower()}",
        f"Responses by {name.lower()}",
        pd.DataFrame(rows, columns=[name, *grid.columns]),
        percent_columns=frozenset({_PERCENT_COMPLETED}),
        caution_cells=frozenset(caution),
        note=_note(published),
        base_definition="Base: employers who started the interview (one response each).",
    )


def _note(published: _Published) -> str:
    return (
        f"Counts out of fewer than {published.threshold} employers (every count, 0 too, "
        f"about a group of fewer than {published.threshold}) are hidden and show as "
        f"{marker(published.threshold)}; other hidden counts show as {COMPLEMENT}: counts "
        f"hidden so that no small one can be worked out (complementary suppression) or "
        f"because an earlier report published the same figure on a base a few employers "
        f"away, and counts of vacancies or staff at fewer than {published.threshold} "
        f"employers. "
        f"Percentages, means and medians not shown show as {PERCENT_HIDDEN}: on a base under "
        f"{published.percent_threshold} (for reliability; their count and base stay "
        f"published), or when a figure they rest on is hidden. Percentages on a base under "
        f"{published.caution_base} are marked * (treat with caution). n/a: not asked."
    )


def _choices_tables(
    published: _Published, grids: Sequence[_Grid], catalogue: Catalogue
) -> tuple[Table, Table]:
    overall: list[dict[str, object]] = []
    by_sector: list[dict[str, object]] = []
    caution_all: set[tuple[int, str]] = set()
    caution_sector: set[tuple[int, str]] = set()
    for grid in grids:
        if ("Mean", TOTAL) in grid.derived:
            continue
        base_row = grid.rows[-1]
        for column in grid.columns:
            target, caution = (
                (overall, caution_all) if column == TOTAL else (by_sector, caution_sector)
            )
            base_cell = (base_row, column)
            base_value = grid.counts[base_cell][0]
            base_shown = published.count_shown(grid.name, *base_cell)
            for row in grid.rows[:-1]:
                count_shown = published.count_shown(grid.name, row, column)
                share: object
                if base_value == 0 and base_shown:  # nobody in the group answered
                    share = NOT_ASKED_TEXT
                elif not (count_shown and base_shown) or base_value < published.percent_threshold:
                    share = PERCENT_HIDDEN
                else:
                    share = (
                        grid.counts[(row, column)][0] / base_value if base_value else NOT_ASKED_TEXT
                    )
                    if base_value < published.caution_base:
                        caution.add((len(target), "Share"))
                record: dict[str, object] = {}
                if column != TOTAL:
                    record["Sector"] = column
                record.update(
                    {
                        "Question": grid.name.rsplit(" (by ", 1)[0],
                        "Answer": row,
                        "Employers": _display(published, grid, (row, column)),
                        "Share": share,
                        "Base": _display(published, grid, base_cell),
                    }
                )
                target.append(record)
    note = _note(published) + " Base: employers who answered the question."
    return (
        Table(
            "Choices",
            "Answers to choice questions to date, all employers",
            pd.DataFrame(overall, columns=["Question", "Answer", "Employers", "Share", "Base"]),
            percent_columns=frozenset({"Share"}),
            caution_cells=frozenset(caution_all),
            note=note,
            base_definition="Base: employers who completed by the end of the week (to date) "
            "and answered the question.",
        ),
        Table(
            "Choices by sector",
            "Answers to choice questions to date, by sector",
            pd.DataFrame(
                by_sector, columns=["Sector", "Question", "Answer", "Employers", "Share", "Base"]
            ),
            percent_columns=frozenset({"Share"}),
            caution_cells=frozenset(caution_sector),
            note=note,
            base_definition="Base: employers who completed by the end of the week (to date) "
            "and answered the question.",
        ),
    )


def _numbers_table(published: _Published, grids: Sequence[_Grid]) -> Table:
    rows: list[dict[str, object]] = []
    for grid in grids:
        if ("Mean", TOTAL) not in grid.derived:
            continue
        for column in grid.columns:
            rows.append(
                {
                    "Sector": column,
                    "Question": grid.name.rsplit(" (by ", 1)[0],
                    "Mean": _display(published, grid, ("Mean", column)),
                    "Median": _display(published, grid, ("Median", column)),
                    "Base": _display(published, grid, ("Base", column)),
                }
            )
    return Table(
        "Scales and numbers",
        "Scales and numbers to date, all employers and by sector",
        pd.DataFrame(rows, columns=["Sector", "Question", "Mean", "Median", "Base"]),
        decimal_columns=frozenset({"Mean", "Median"}),
        note=_note(published) + " Base: employers who answered the question.",
        base_definition="Base: employers who completed by the end of the week (to date) and "
        "answered the question.",
    )


_RANKING_BASE = (
    "Base: employers who completed by the end of the week (to date) and were asked which "
    "skills are lacking."
)


def _ranking_tables(
    published: _Published, grids: Mapping[str, _Grid | None], title: str, name: str
) -> list[Table]:
    """Skills ranked overall, and within each sector, district and size band (`grids`:
    the question's grid by each axis), for the groups whose every figure is published."""
    columns = ["Rank", "Skill lacking", "Employers", "Share", "Base"]
    not_skills = {"None", "Don't know", "Other (please specify)"}

    def ranking(grid: _Grid, column: str) -> list[dict[str, object]] | None:
        base_cell = (grid.rows[-1], column)
        base = grid.counts[base_cell][0]
        skills = [r for r in grid.rows[:-1] if r not in not_skills]
        if not published.count_shown(grid.name, *base_cell) or base < published.threshold:
            return None
        if not all(published.count_shown(grid.name, r, column) for r in skills):
            return None
        ranked = sorted(skills, key=lambda r: (-grid.counts[(r, column)][0], r))
        out = []
        counts = [grid.counts[(skill, column)][0] for skill in ranked]
        for skill, count in zip(ranked, counts, strict=True):
            if count <= 0:
                break
            # skills named by as many employers share a rank (1, 2, 2, 4)
            position = 1 + sum(other > count for other in counts)
            share: object = count / base if base >= published.percent_threshold else PERCENT_HIDDEN
            out.append(
                {
                    "Rank": position,
                    "Skill lacking": skill,
                    "Employers": int(count),
                    "Share": share,
                    "Base": int(base),
                }
            )
        # the top ten, and every skill tied with the tenth: a cut never splits a tie
        return [row for row in out if int(str(row["Rank"])) <= TOP_SKILLS]

    def caution(rows: list[dict[str, object]]) -> frozenset[tuple[int, str]]:
        """The shares on a base under the caution threshold: marked *, as elsewhere."""
        return frozenset(
            (position, "Share")
            for position, row in enumerate(rows)
            if row["Share"] != PERCENT_HIDDEN and int(str(row["Base"])) < published.caution_base
        )

    note = _note(published) + " Rankings are shown only for groups whose every figure is published."
    sector = grids.get("sector")
    overall = (ranking(sector, TOTAL) or []) if sector is not None else []
    tables = [
        Table(
            name,
            f"{title} to date",
            pd.DataFrame(overall, columns=columns),
            percent_columns=frozenset({"Share"}),
            caution_cells=caution(overall),
            note=note,
            base_definition=_RANKING_BASE,
        )
    ]
    for axis, heading in PROFILE_AXES.items():
        rows: list[dict[str, object]] = []
        grid = grids.get(axis)
        if grid is not None:
            for column in grid.columns[:-1]:
                rows += [{heading: column, **row} for row in ranking(grid, column) or ()]
        tables.append(
            Table(
                f"{name} by {heading.lower()}",
                f"{title} to date, by {heading.lower()}",
                pd.DataFrame(rows, columns=[heading, *columns]),
                percent_columns=frozenset({"Share"}),
                caution_cells=caution(rows),
                note=note,
                base_definition=_RANKING_BASE,
            )
        )
    return tables


def _verbatims_table(
    summary: WeeklySummary, published: _Published, labels: Mapping[str, str]
) -> Table:
    # Unreviewed answers are counted in the note, never shown.
    frame = approved_only(summary.verbatims)
    table = _profile_grid_name("sector")
    keep = []
    for sector in frame["sector"].astype("object").fillna("unknown"):
        label = labels.get(str(sector), NOT_GIVEN)
        grid = published.grids[table]
        value = grid.counts.get((label, "Completed this week"), (0.0, 0.0))[0]
        keep.append(
            published.count_shown(table, label, "Completed this week")
            and value >= published.threshold
        )
    mask = np.array(keep, dtype=bool) if keep else np.zeros(0, dtype=bool)
    chosen = frame.loc[mask]
    display = pd.DataFrame(
        {
            "Sector": [
                labels.get(str(s), NOT_GIVEN)
                for s in chosen["sector"].astype("object").fillna("unknown")
            ],
            "Question": chosen["question"],
            "What they said": chosen["text"],
        }
    )
    return Table(
        "Verbatims",
        "In their words (responses completed this week; quotes approved by staff)",
        display.reset_index(drop=True),
        note=verbatims_note(summary.verbatims, published.threshold),
        base_definition="Base: employers who completed the interview this week, in sectors "
        f"with {published.threshold} or more of them.",
    )


def _headline(published: _Published, grid: _Grid, measures: Sequence[_Grid] = ()) -> Table:
    rows: list[dict[str, object]] = []
    percent: set[tuple[int, str]] = set()
    caution: set[tuple[int, str]] = set()
    for measure, column in (
        ("Responses started this week", "Started this week"),
        ("Responses completed this week", "Completed this week"),
        ("Responses started to date", "Started to date"),
        ("Responses completed to date", "Completed to date"),
        ("Completion rate to date", _PERCENT_COMPLETED),
    ):
        cell = (TOTAL, column)
        value = _display(published, grid, cell)
        _, base = published.value_and_base(grid, cell)
        base_cell = (TOTAL, "Started to date") if cell in grid.percents else cell
        base_shown = published.count_shown(grid.name, *base_cell)
        if cell in grid.percents:
            percent.add((len(rows), "Value"))
            if published.status(grid, *cell) == CAUTION:
                caution.add((len(rows), "Value"))
        rows.append(
            {
                "Measure": measure,
                "Value": value,
                "Base": int(base) if base_shown else published.mark(grid, *base_cell),
            }
        )
    for measure_grid in measures:
        cell = (TOTAL, measure_grid.columns[-1])
        percent.add((len(rows), "Value"))
        if published.status(measure_grid, *cell) == CAUTION:
            caution.add((len(rows), "Value"))
        rows.append(
            {
                "Measure": measure_grid.name.rsplit(" (by ", 1)[0],
                "Value": _display(published, measure_grid, cell),
                "Base": _display(published, measure_grid, (TOTAL, "Base")),
            }
        )
    return Table(
        "Headline",
        "Headline figures",
        pd.DataFrame(rows, columns=["Measure", "Value", "Base"]),
        percent_cells=frozenset(percent),
        caution_cells=frozenset(caution),
        note=_note(published),
        base_definition="Base: employers who started (counts) or the employers a share is of.",
    )


def _trend(history: Mapping[str, _Published], week: IsoWeek, catalogue: Catalogue) -> pd.DataFrame:
    """Responses started per sector in the last 8 weeks that had any, as published."""
    table = _profile_grid_name("sector")
    weeks = [w.label for w in week.last(8) if w.label in history]
    data: dict[str, dict[str, float]] = {}
    kept = []
    for label in weeks:
        published = history[label]
        grid = published.grids[table]
        if grid.counts[(TOTAL, "Started this week")][0] == 0:
            continue  # no empty weeks on the axis
        kept.append(label)
        for row in grid.rows:
            if row in (TOTAL, NOT_GIVEN):
                continue
            shown = published.count_shown(table, row, "Started this week")
            value = grid.counts[(row, "Started this week")][0]
            data.setdefault(row, {})[label] = value if shown else float("nan")
    if not kept:
        return pd.DataFrame(dtype="float64")
    frame = pd.DataFrame(data, columns=list(data)).T.reindex(columns=kept).astype("float64")
    frame = frame.loc[~(frame == 0).all(axis=1)]  # the tables list them; a chart need not
    order = [_label(catalogue, "sector", s) for s in _group_order(catalogue, "sector", [])]
    order = list(dict.fromkeys([*ESS_SECTORS.values(), *order]))
    return frame.reindex(
        [s for s in order if s in frame.index] + [s for s in frame.index if s not in order]
    )


def _trend_total(
    history: Mapping[str, _Published], weeks: Sequence[str], row: str = TOTAL
) -> pd.Series:
    """Responses started in all sectors (or the sector `row`) in each of `weeks`, as
    published (NaN: hidden; 0 where the table has no such row)."""
    table = _profile_grid_name("sector")
    values = []
    for label in weeks:
        published = history[label]
        if (row, "Started this week") not in published.grids[table].counts:
            values.append(0.0)
            continue
        shown = published.count_shown(table, row, "Started this week")
        value = published.grids[table].counts[(row, "Started this week")][0]
        values.append(value if shown else float("nan"))
    return pd.Series(values, index=list(weeks), dtype="float64")


def _heatmap(
    published: _Published, grid: _Grid | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Share of employers naming each top staff skill gap, by sector, as published."""
    if grid is None:
        return pd.DataFrame(), pd.DataFrame(), {}
    base_row = grid.rows[-1]
    not_skills = {"None", "Don't know", "Other (please specify)"}
    skills = sorted(
        (
            r
            for r in grid.rows[:-1]
            if r not in not_skills and published.count_shown(grid.name, r, TOTAL)
        ),
        key=lambda r: -grid.counts[(r, TOTAL)][0],
    )[:TOP_SKILLS]
    sectors = [  # sectors nobody was asked in are n/a in the tables, not drawn
        c for c in grid.columns if c not in (TOTAL, NOT_GIVEN) and grid.counts[(base_row, c)][0] > 0
    ]
    values = np.full((len(sectors), len(skills)), np.nan)
    hidden = np.zeros((len(sectors), len(skills)), dtype=bool)
    bases: dict[str, int] = {}
    for i, sector in enumerate(sectors):
        base = grid.counts[(base_row, sector)][0]
        base_shown = published.count_shown(grid.name, base_row, sector)
        if base_shown:
            bases[sector] = int(base)
        for j, skill in enumerate(skills):
            shown = base_shown and published.count_shown(grid.name, skill, sector)
            if shown and base >= published.percent_threshold:
                values[i, j] = grid.counts[(skill, sector)][0] / base
            else:
                hidden[i, j] = True
    return (
        pd.DataFrame(values, index=sectors, columns=skills),
        pd.DataFrame(hidden, index=sectors, columns=skills),
        bases,
    )


def report_tables(
    summary: WeeklySummary,
    threshold: int,
    *,
    percent_threshold: int = DEFAULT_MIN_PERCENT_BASE,
    caution_base: int = DEFAULT_CAUTION_BASE,
    area: str = "",
    complete: bool = True,
    earlier: Mapping[tuple[str, str, str], Sequence[tuple[float, bool, float]]] | None = None,
    before: tuple[str, Mapping[tuple[str, str, str], float | None]] | None = None,
) -> ReportTables:
    """Lay out the summary's figures, run disclosure control, and label what is published.

    `earlier`: what earlier reports of the area published of the "to date" tables (all
    but the response counts), by (table, row, column): (base, shown, value) each time
    (`published_history`); this report keeps from giving their hidden figures, and the
    answers of the few employers who came since, away.
    `before`: the latest earlier week that has a report, and what it published, by
    (table, row, column): the value, or None where hidden (`previous_report`); this
    report's counts to date are at least those (`_grown_from`).
    """
    catalogue = summary.catalogue
    period = summary.week.label
    history_rows = summary.history
    if history_rows.empty or period not in set(history_rows["week"]):
        history_rows = _empty_history(summary, period)
    sector_order = _group_order(
        catalogue, "sector", history_rows.loc[history_rows["axis"] == "sector", "group"]
    )
    labels = {g: _label(catalogue, "sector", g) for g in sector_order}
    labels[ALL] = TOTAL
    # the skills questions by district and by size band too (their rankings)
    other_axes = {}
    for axis in ("district", "size_band"):
        order = _group_order(
            catalogue, axis, history_rows.loc[history_rows["axis"] == axis, "group"]
        )
        other_axes[axis] = (order, {g: _label(catalogue, axis, g) for g in order})
    # Stage 2 fixes the bases that are response counts to them, as stage 1 published them;
    # where an earlier report hid such a base, stage 1 is made again hiding its count.
    withheld: frozenset[Key] = frozenset()
    while True:
        history, fixed = _stage_one(
            history_rows,
            catalogue,
            threshold,
            percent_threshold,
            caution_base,
            earlier=earlier,
            withheld=withheld,
        )
        stage_one = history[period]
        choice_grids = _choice_grids(summary, labels, sector_order)
        by_name = {g.name: g for g in choice_grids}
        skill_grids = {
            axis: _choice_grids(summary, names, order, axis, by_name, period)
            for axis, (order, names) in other_axes.items()
        }
        number_grids = _number_grids(summary, labels, sector_order)
        measure_grids = _measure_grids(summary, history_rows)
        grids = [
            *choice_grids,
            *(g for axis_grids in skill_grids.values() for g in axis_grids),
            *number_grids,
            *(g for _, _, g in measure_grids),
        ]
        _mark_small_groups(
            stage_one,
            [
                *((g, "sector") for g in (*choice_grids, *number_grids)),
                *((g, axis) for axis, axis_grids in skill_grids.items() for g in axis_grids),
                *((g, axis) for _, axis, g in measure_grids),
            ],
            threshold,
        )
        by_question = {
            _question_grid_name(catalogue, q, axis): q
            for q in catalogue.labels
            for axis in PROFILE_AXES
        }
        numbers_by_id = {by_question[g.name]: g for g in number_grids if g.name in by_question}
        _twin_numbers(period, numbers_by_id, measure_grids)
        pub = _publication(period, grids, threshold)
        pub.fixed.update(fixed)
        sector_grid = stage_one.grids[_profile_grid_name("sector")]
        links: dict[Key, Key] = {}
        for axis, axis_grids in [("sector", [*choice_grids, *number_grids]), *skill_grids.items()]:
            profile = stage_one.grids[_profile_grid_name(axis)]
            completed = {row: profile.counts[(row, "Completed to date")][0] for row in profile.rows}
            _link_bases(pub, period, axis_grids, completed, links, axis)
        choices_by_id = {by_question[g.name]: g for g in choice_grids if g.name in by_question}
        _link_measures(pub, period, measure_grids, choices_by_id, catalogue, stage_one.grids, links)
        by_axis = {
            axis: _AxisGrids(
                choices_by_id
                if axis == "sector"
                else {by_question[g.name]: g for g in skill_grids[axis]},
                numbers_by_id if axis == "sector" else {},
                [(m, g) for m, a, g in measure_grids if a == axis],
            )
            for axis in PROFILE_AXES
        }
        _same_respondents(pub, period, summary, by_axis, links)
        more = _hidden_before(period, grids, links, earlier or {})
        if more <= withheld:
            break
        withheld |= more
    _known_zeros(pub, period, measure_grids)
    _nested_measures(pub, period, measure_grids, threshold)
    differences = _nested_sums(pub, period, numbers_by_id, measure_grids, threshold, earlier or {})
    judged = _judged_on(measure_grids)
    _earlier_reports(pub, period, grids, earlier or {}, threshold, judged)
    grown = copy.deepcopy(pub)
    then, figures_then = before or ("", {})
    for base, same in links.items():  # fixed to a response count here: an equation then
        grown.same(base, same)
    _grown_from(grown, period, figures_then, last_week=then == summary.week.previous().label)
    try:
        hidden = protect(grown)
        if grown.apart:
            # What the earlier report and this one's published figures pin down together,
            # and no complement protects (a group with no new employers this week keeps
            # last week's published counts), is known anyway: published, as
            # `implied_zeros` are. What this report alone pins stays hidden, as ever.
            hidden -= known_anyway(grown, hidden) - known_anyway(pub, hidden)
        pub = grown
    except AuditInfeasible:
        # The counts fell since (an employer erased, an answer changed): the earlier report
        # and this one cannot both hold with counts that only grow, so a reader learns
        # nothing from that rule here. Protected without it.
        hidden = protect(pub)
    published = _Published(
        period,
        [*stage_one.grids.values(), *grids],
        hidden | stage_one.hidden,
        dict(pub.fixed),
        threshold,
        percent_threshold,
        # `<5` only where the printed base or group says so: a count hidden as one of a
        # few employers asked (`few_asked`) on a larger base shows [c], else its mark
        # would tell that the employers it is among (hidden maybe) are fewer than 5
        frozenset((pub.primary - pub.changed - pub.few_asked) | stage_one.primary),
        caution_base,
    )
    cells: list[Cell] = []
    for grid in published.grids.values():
        cells += published.cells(grid)
    headline = _headline(published, sector_grid, [g for m, a, g in measure_grids if a == "sector"])
    tables: list[Table] = [headline]
    for axis in PROFILE_AXES:
        tables.append(_profile_table(published, published.grids[_profile_grid_name(axis)], axis))
    tables += _measure_tables(published, measure_grids)
    skills = {
        (by_question[g.name], axis): g
        for axis, axis_grids in [("sector", choice_grids), *skill_grids.items()]
        for g in axis_grids
    }
    for question_id, title, name in (
        (
            "applicant_skills_lacking",
            "Skills lacking among applicants (skill-shortage vacancies)",
            "Applicant skills",
        ),
        ("staff_skills_gaps", "Skills lacking among staff (skills gaps)", "Staff skills gaps"),
    ):
        grids_by_axis = {axis: skills.get((question_id, axis)) for axis in PROFILE_AXES}
        tables += _ranking_tables(published, grids_by_axis, title, name)
    staff = skills.get(("staff_skills_gaps", "sector"))
    tables += _choices_tables(published, choice_grids, catalogue)
    tables.append(_numbers_table(published, number_grids))
    tables.append(_verbatims_table(summary, stage_one, labels))
    tables.append(_notes_table(published, complete))
    heatmap, heatmap_hidden, bases = _heatmap(published, staff)
    trend = _trend(history, summary.week, catalogue)
    return ReportTables(
        week=summary.week,
        threshold=threshold,
        headline=headline,
        tables=tuple(tables),
        trend=trend,
        trend_total=_trend_total(history, [str(c) for c in trend.columns]),
        trend_not_given=_trend_total(history, [str(c) for c in trend.columns], NOT_GIVEN),
        heatmap=heatmap,
        heatmap_suppressed=heatmap_hidden,
        cells=tuple(cells),
        area=area,
        complete=complete,
        percent_threshold=percent_threshold,
        caution_base=caution_base,
        heatmap_bases=bases,
        figures=(
            _count_figures(stage_one)
            + _figures(pub, period, grids, hidden, judged)
            + _differences(pub, differences, hidden)
        ),
    )


# -- across reports: what earlier reports published --------------------------------------


def published_history(
    columns: Mapping[str, Sequence[object]], area: str
) -> dict[tuple[str, str, str], list[tuple[float, bool, float]]]:
    """The area's recorded figures (`storage.publications.published_columns`) by cell."""
    history: dict[tuple[str, str, str], list[tuple[float, bool, float]]] = {}
    rows = zip(
        columns.get("area", ()),
        columns.get("grid", ()),
        columns.get("row_label", ()),
        columns.get("column_label", ()),
        columns.get("base", ()),
        columns.get("shown", ()),
        columns.get("value", ()),
        strict=True,
    )
    for where, grid, row, column, base, shown, value in rows:
        if where == area:
            cell = (str(grid), str(row), str(column))
            history.setdefault(cell, []).append((float(base), bool(shown), float(value)))
    return history


# A figure about the employers of a measure is judged, across reports, on their growth too,
# not on its base alone (3 more employers with skill-shortage vacancies among 20 more asked
# how many vacancies: the difference is what those 3 said; 2 more with hard-to-fill
# vacancies and the same skill-shortage vacancies: neither of those 2 has one). A density's
# numerator is judged on its owners' count in place of its base (as recorded before).
_JUDGED_ON = {
    ("SSV density", "Skill-shortage vacancies"): (
        "Employers with skill-shortage vacancies",
        "Employers with hard-to-fill vacancies",
        "Employers with vacancies",
    ),
    ("Skills-gap density", "Staff not fully proficient"): ("Employers with skills gaps",),
    ("Employers with skill-shortage vacancies", "Employers"): (
        "",
        "Employers with hard-to-fill vacancies",
        "Employers with vacancies",
    ),
    ("Employers with hard-to-fill vacancies", "Employers"): ("", "Employers with vacancies"),
}

Judged = Mapping[tuple[str, str, str], Sequence[tuple[tuple[str, str, str], float]]]


def _judged_on(measures: Sequence[tuple[Measure, str, _Grid]]) -> Judged:
    """What each of those figures is judged on across reports, by (grid, row, column): the
    names it is recorded under, each with its base: its own name with the first owners'
    count ("" for its own base), then "<column> among <owners>" with theirs
    (`_JUDGED_ON`)."""
    grids = {(measure.name, axis): grid for measure, axis, grid in measures}
    judged: dict[tuple[str, str, str], list[tuple[tuple[str, str, str], float]]] = {}
    for (name, column), owners in _JUDGED_ON.items():
        for axis in PROFILE_AXES:
            grid = grids.get((name, axis))
            if grid is None:
                continue
            for row in grid.rows:
                if (row, column) not in grid.counts:
                    continue
                records = []
                for number, owner in enumerate(owners):
                    counter = grids.get((owner, axis))
                    if counter is not None and (row, "Employers") in counter.counts:
                        base = counter.counts[(row, "Employers")][0]
                    elif number == 0:  # its own base, or no owners' count to judge on
                        base = grid.counts[(row, column)][1]
                    else:
                        continue
                    label = column if number == 0 else f"{column} among {owner}"
                    records.append(((grid.name, row, label), base))
                judged[(grid.name, row, column)] = records
    return judged


def _earlier_reports(
    pub: Publication,
    period: str,
    grids: Sequence[_Grid],
    published: Mapping[tuple[str, str, str], Sequence[tuple[float, bool, float]]],
    threshold: int,
    judged: Judged | None = None,
) -> None:
    """Keep this report's "to date" figures from telling, beside what earlier reports
    published of them, what a few employers answered.

    A figure to date grows with the employers who completed since; two reports that show
    it on bases 1 to `threshold - 1` employers apart tell together what those employers
    answered, as a count on such a base would. So, against every earlier publication of
    the same figure (any week, before or after this one, or this week's own, made earlier
    on less data):

    - shown on a base a few employers away (0 < difference < threshold), or hidden on the
      same base: hidden now, as a primary cell (`Publication.changed`: whatever else
      publishes the same quantity; shown, the second would give the hidden one away);
    - shown on the same base with the same value: a reader may know it already, so it is
      a poor complement (`Publication.seen`: chosen last).

    Figures fixed by the response counts (`_link_bases`) are left to them. Nothing here
    is taken as known: a base printed as the same number may hide different employers.
    A density's numerator is judged on the employers whose answer it is (`judged`).
    """
    if not published:
        return
    judged = judged or {}
    for grid in grids:
        for (row, column), (value, base) in grid.counts.items():
            key = (period, grid.name, row, column)
            if key not in pub.values or key in pub.fixed or (row, column) in grid.not_asked:
                continue
            records = judged.get((grid.name, row, column), [((grid.name, row, column), base)])
            for name, judged_base in records:
                for before_base, shown, before_value in published.get(name, ()):
                    apart = abs(judged_base - before_base)
                    if (shown and 0 < apart < threshold) or (not shown and apart == 0):
                        pub.primary.add(key)
                        pub.large.discard(key)
                        pub.changed.add(key)
                    elif shown and apart == 0 and before_value == value:
                        pub.seen.add(key)


def previous_report(
    columns: Mapping[str, Sequence[object]], area: str, week: str
) -> tuple[str, dict[tuple[str, str, str], float | None]]:
    """What the area's latest report of a week before `week` published, by (table, row,
    column): the value where shown, None where hidden (from
    `storage.publications.published_columns`).

    A figure is recorded once for each base and outcome, with the first week that published
    it so; so each figure's state in that report is its latest record of that week or
    before (reports made in week order; one made for an earlier week after a later one may
    have been recorded under the later week, and is then not seen here).
    """
    rows = zip(
        columns.get("area", ()),
        columns.get("week", ()),
        columns.get("grid", ()),
        columns.get("row_label", ()),
        columns.get("column_label", ()),
        columns.get("shown", ()),
        columns.get("value", ()),
        strict=True,
    )
    earlier = [row for row in rows if row[0] == area and str(row[1]) < week]
    if not earlier:
        return "", {}
    last = max(str(row[1]) for row in earlier)
    state: dict[tuple[str, str, str], tuple[str, float | None]] = {}
    for _, when, grid, row, column, shown, value in earlier:  # oldest record first
        cell = (str(grid), str(row), str(column))
        if str(when) <= last and (cell not in state or str(when) >= state[cell][0]):
            state[cell] = (str(when), float(value) if shown else None)  # type: ignore[arg-type]
    return last, {cell: value for cell, (_, value) in state.items()}


_THIS_WEEK = {"Started to date": "Started this week", "Completed to date": "Completed this week"}


def _grown_from(
    pub: Publication,
    period: str,
    before: Mapping[tuple[str, str, str], float | None],
    *,
    last_week: bool = False,
) -> None:
    """Tie this report's counts to the earlier report's (`before`), as a reader of both can.

    Counts to date never fall while employers only come in: a count now is the count then
    plus a growth that is never negative (`Publication.at_most`). The earlier report's
    figures are fixed (its value, or unknown where it hid them) and its equations hold
    among them as among this report's: a row whose Total did not grow tells that no
    hidden group's count grew, so a hidden count whose earlier value a reader knows
    (shown, or a group nobody was in then) would be given away; `protect` now sees that.

    Where the earlier report is last week's, a response count to date grew by exactly this
    week's count (`last_week`).

    A figure the earlier report did not record is 0 where it is a count of this report
    (its group had nobody then, or nobody was asked), and unknown otherwise (a difference
    that is never published). An equation whose total was not recorded then is left out.
    """
    if not before:
        return

    def then(key: Key) -> Key | None | bool:
        """The earlier report's cell for `key` (None: 0 then; False: not known then)."""
        if key in pub.slacks:
            return ("before", *key)
        if key[0] == "others":  # a difference of sums: never published
            return ("before", *key)
        if key[0] != period:
            return False
        if _cell(key) in before:
            return ("before", *key[1:])
        return None if key in pub.values and key not in pub.fixed else ("before", *key[1:])

    new: dict[Key, float | None] = {}
    equations = []
    for equation in pub.equations:
        total = then(equation.total)
        parts = [then(key) for key in equation.parts]
        if not isinstance(total, tuple) or any(part is False for part in parts):
            continue
        kept = [part for part in parts if isinstance(part, tuple)]
        if not kept and len(equation.parts) > 1:
            continue
        for key, mapped in zip(equation.keys, [total, *parts], strict=True):
            if isinstance(mapped, tuple) and mapped not in new:
                if key in pub.slacks:
                    pub.slacks.add(mapped)
                new[mapped] = before.get(_cell(key)) if key[0] == period else None
        equations.append((total, kept))
    pub.fixed.update(new)
    pub.apart.update(key for key in new if key not in pub.slacks)
    for total, kept in equations:
        pub.sum_of(total, kept)
    # this report's counts, and the response counts to date it is tied to (fixed by stage 1)
    now = {key: pub.fixed.get(key, value) for key, value in pub.values.items()}
    now.update((key, value) for key, value in pub.fixed.items() if key not in now)
    for key, value in now.items():
        if key[0] != period or _cell(key) not in before:
            continue
        earlier = before[_cell(key)]
        if earlier is not None and value is not None and value < earlier:
            continue  # fallen (an employer erased): no bound a reader could rely on
        then_key = ("before", *key[1:])
        pub.fixed.setdefault(then_key, earlier)
        pub.apart.add(then_key)
        added = (*key[:3], _THIS_WEEK.get(key[3], ""))
        if last_week and added in pub.fixed:  # a response count: it grew by this week's
            pub.sum_of(key, [then_key, added])
        else:
            pub.at_most(then_key, key)


def _cell(key: Key) -> tuple[str, str, str]:
    """A key's (table, row, column), as reports record it."""
    return (key[1], key[2], key[3]) if len(key) == 4 else ("", "", "")


def _hidden_before(
    period: str,
    grids: Sequence[_Grid],
    links: Mapping[Key, Key],
    published: Mapping[tuple[str, str, str], Sequence[tuple[float, bool, float]]],
) -> frozenset[Key]:
    """The response counts that must be hidden, since an earlier report hid, on the same
    base, a figure that this report would fix to them (`links`).

    `_earlier_reports` hides again what an earlier report hid on the same base, but leaves
    figures fixed by the response counts to them, and stage 1 knows nothing of earlier
    reports. So a base that the week after hid as a complement (5 employers asked, of 6
    who completed) would be shown by last week's report, made later, as the 5 who had
    completed then: the same employers, the hidden figure given away.
    """
    withheld = set()
    for grid in grids:
        for (row, column), (_, base) in grid.counts.items():
            key = (period, grid.name, row, column)
            if key not in links:
                continue
            before = published.get((grid.name, row, column), ())
            if any(not shown and base == before_base for before_base, shown, _ in before):
                withheld.add(links[key])
    return frozenset(withheld)


def _figures(
    pub: Publication,
    period: str,
    grids: Sequence[_Grid],
    hidden: frozenset[Key],
    judged: Judged | None = None,
) -> tuple[tuple[str, str, str, float, bool, float], ...]:
    """This report's "to date" figures as published: (table, row, column, base, shown,
    value), for the reports after it (`published_history`). A figure fixed by the
    response counts is shown as they are; one judged on its owners' growth is recorded
    under each name it is judged on, with that base (`judged`)."""
    judged = judged or {}
    figures = []
    for grid in grids:
        for (row, column), (value, base) in grid.counts.items():
            key = (period, grid.name, row, column)
            if key in pub.values and (row, column) not in grid.not_asked:
                if key in pub.fixed:
                    fixed = pub.fixed[key]
                    shown, value = fixed is not None, fixed if fixed is not None else 0.0
                else:
                    shown = key not in hidden
                records = judged.get((grid.name, row, column), [((grid.name, row, column), base)])
                for name, judged_base in records:
                    figures.append((*name, judged_base, shown, value if shown else 0.0))
    return tuple(figures)


def _differences(
    pub: Publication,
    differences: Mapping[Key, tuple[str, str, str, float, float, Key, Key]],
    hidden: frozenset[Key],
) -> tuple[tuple[str, str, str, float, bool, float], ...]:
    """The differences of nested sums (`_nested_sums`) as this report published them: shown
    where both sums are and nothing kept it unknown."""
    figures = []
    for others, (grid, row, column, base, value, total, inside) in differences.items():
        shown = others not in pub.fixed and total not in hidden and inside not in hidden
        figures.append((grid, row, column, base, shown, value if shown else 0.0))
    return tuple(figures)


def _empty_history(summary: WeeklySummary, period: str) -> pd.DataFrame:
    rows = [
        {
            "week": period,
            "axis": axis,
            "group": "unknown",
            "started_week": 0,
            "completed_week": 0,
            "started": 0,
            "completed": 0,
        }
        for axis in PROFILE_AXES
    ]
    return pd.DataFrame(rows)


def headline_message(tables: ReportTables, *, limit: int = 4096) -> str:
    """The headline figures as a short plain-text message (for Telegram, at most `limit`)."""
    lines = [f"Weekly skills summary, {tables.heading}", ""]
    if tables.status_note:
        lines += [tables.status_note, ""]
    table = tables.headline
    for index, row in enumerate(table.frame.itertuples(index=False)):
        measure, value, base = row[0], row[1], row[2]
        shown_base = base if isinstance(base, str) else f"{float(base):,.0f}"
        lines.append(f"{measure}: {_text(table, index, 'Value', value)} (base {shown_base})")
    for name in ("Applicant skills", "Staff skills gaps"):
        top = next((t for t in tables.tables if t.name == name), None)
        if top is not None and not top.frame.empty:
            lines += ["", top.title + ":"]
            five = int((top.frame["Rank"] <= 5).sum())  # and those tied with the fifth
            for index, row in enumerate(top.frame.head(five).itertuples(index=False)):
                lines.append(f"{row[0]}. {row[1]} ({_text(top, index, 'Share', row[3])})")
    lines += [
        "",
        f"Counts out of fewer than {tables.threshold} employers show as {tables.marker}, "
        f"other hidden counts as {COMPLEMENT}; percentages not shown (base under "
        f"{tables.percent_threshold}, or a count hidden) as {PERCENT_HIDDEN}; "
        "* treat with caution.",
    ]
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(table: Table, row: int, column: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if table.is_percent(row, column):
        return f"{float(value):.0%}" + ("*" if table.is_caution(row, column) else "")  # type: ignore[arg-type]
    return f"{float(value):,.0f}"  # type: ignore[arg-type]
