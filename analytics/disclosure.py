"""Disclosure control: the one place that decides which figures of a report are published.

Two rules, applied to every figure of a report (the admin's raw export is exempt):

1. **Primary suppression.** A count whose base (the employers it is about) is above 0 and
   below the threshold (`SKILLSBOT_MIN_BASE`, default 5, passed in by the caller) is
   hidden, and so is every count about a group of fewer employers (`small`), zeros
   included (published zeros would tell that all of them gave the other answer). A
   percentage is shown only when its numerator and denominator are both published and
   its base is at least the percentage threshold (`SKILLSBOT_MIN_PERCENT_BASE`, default
   25); below the caution threshold (`SKILLSBOT_CAUTION_BASE`, default 50) it is flagged
   "treat with caution" (the Employer Skills Survey's rules).
   A base of 0 means nobody was asked: the figure is "not asked" (n/a), never 0%. A
   primary cell that is the same quantity as a count on a base of at least the threshold
   (`relieved`) is published: that count says it anyway.
2. **Secondary (complementary) suppression.** The counts of a report are tied together by
   linear equations: a Total row or column is the sum of the others; tables of one report
   that share a total (sector, district and size band all add up to the same employers)
   are tied through it; and a "to date" figure is last week's "to date" plus "this week".
   `protect` hides further cells until no hidden cell can be derived from the published
   ones and these equations, also together with the figures published the week before.

The algorithm (`protect`) is a documented greedy one checked by an exact audit, in the
spirit of tau-Argus's "hypercube" method but with a full linear check instead of a fixed
pattern (no PyPI library does linked-table secondary suppression; `acro` checks only
primary rules):

- the **audit** (`exposed`) writes every equation with the published values moved to the
  right-hand side, splits the hidden cells into connected components, and for each
  component finds the cells the equations pin down exactly: cell *i* is determined iff the
  unit vector e_i lies in the row space of the component's matrix (`_Basis`: an
  elimination in exact rational arithmetic, kept up to date as cells are hidden and shown
  again, not done afresh for each hidden set). An equation whose
  hidden cells all have the same sign and whose known side is 0 also pins them (counts
  are never negative, so they are all 0);
- while some hidden cell is determined, one more published cell of an equation holding it
  is hidden, from the equation with the fewest unknowns: a part before the total, the
  smallest positive value first (hiding a 0 next to
  a hidden 0 would give their sum away), then the smallest. Figures published the week
  before are fixed: they can be used as known values or must stay unknown, but never
  change.

Earlier reports: `analytics.tables` also passes what earlier reports published of this
report's "to date" figures (`storage.publications`): one shown on a base a few employers
away, or hidden on the same base, is primary here (`changed`: never relieved, never taken
as implied by others), and one shown as it is now is a complement of last resort
(`seen`).

Bounds: counts are never negative, and a count is at most another that a reader knows
holds its employers (`Publication.at_most`: employers with skill-shortage vacancies among
those with hard-to-fill ones, among those with vacancies); each such bound is an equation
with an unknown that is never negative (`slacks`), so the audit's linear programme
(`_Audit.bounded`) finds what bounds pin down.

Hidden groups together: in a sum across groups with a published total, the hidden
groups' sum is the total less the rest, so together they must be at least the threshold
employers (`_too_few_together` hides one more where they are not).

Counts to date never fall (`analytics.tables._grown_from`): the latest earlier week's
report is in the audit too, its figures fixed (shown, or unknown where it hid them,
`Publication.apart`) with its own equations, and each count now is its count then plus a
growth that is never negative (`at_most`). A row whose Total did not grow leaves no
hidden group room to grow: the linear programme sees it, and a complement is hidden. The
linear algebra leaves out the equations holding a slack or only the earlier report's
figures (they pin nothing on their own); `bounded` takes them all. What the two reports
pin down together and no complement can protect (a group with no new employers this
week keeps last week's published counts) is published (`known_anyway`), as implied zeros
are.

What this does not cover: other bounds (an option's count below its question's base),
reports more than one apart read together (each report is audited with the latest
earlier one only), and differences over more than two consecutive weeks of the response
counts beyond what each week's own protection (which takes the previous week's
published figures as given) already prevents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

MIN_BASE_VARIABLE = "SKILLSBOT_MIN_BASE"
DEFAULT_MIN_BASE = 5
MIN_PERCENT_BASE_VARIABLE = "SKILLSBOT_MIN_PERCENT_BASE"
DEFAULT_MIN_PERCENT_BASE = 25
CAUTION_BASE_VARIABLE = "SKILLSBOT_CAUTION_BASE"
DEFAULT_CAUTION_BASE = 50

Key = tuple[str, ...]
"""A cell of a report: (period, table, row, column)."""

SHOWN = "shown"
SUPPRESSED = "suppressed"
CAUTION = "caution"
NOT_ASKED = "not_asked"


class InvalidMinBase(ValueError):
    """A threshold (SKILLSBOT_MIN_BASE, SKILLSBOT_MIN_PERCENT_BASE, SKILLSBOT_CAUTION_BASE)
    under 1."""


class AuditInfeasible(RuntimeError):
    """The audit's equations have no non-negative solution, so the true figures break one
    of them (a count that fell since an earlier report that it is tied to)."""


def check_thresholds(
    threshold: int, percent_threshold: int, caution_base: int = DEFAULT_CAUTION_BASE
) -> None:
    """Raise `InvalidMinBase` unless every threshold is a whole number of at least 1.

    The values come from the caller (the bot's settings read them from the environment
    and `.env`): analytics never reads the environment itself.
    """
    for name, value in (
        (MIN_BASE_VARIABLE, threshold),
        (MIN_PERCENT_BASE_VARIABLE, percent_threshold),
        (CAUTION_BASE_VARIABLE, caution_base),
    ):
        if value < 1:
            raise InvalidMinBase(f"{name} must be at least 1 (got {value})")


def marker(threshold: int) -> str:
    """What a suppressed count shows: `<5` for a threshold of 5."""
    return f"<{threshold}"


COMPLEMENT = "[c]"
"""What a count hidden by secondary (complementary) suppression shows (ONS's mark): its
true value may be large, so `<5` would mislead."""


def is_suppressed(value: object) -> bool:
    """True for a displayed cell holding a suppression marker (`<5`, `[c]`) or `..`."""
    return isinstance(value, str) and (
        value in ("..", COMPLEMENT) or (value.startswith("<") and value[1:].isdigit())
    )


@dataclass(frozen=True, slots=True)
class Equation:
    """`total` equals the sum of `parts` (an equality when there is one part)."""

    total: Key
    parts: tuple[Key, ...]

    @property
    def keys(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


@dataclass(slots=True)
class Publication:
    """The counts of one report, their primary suppressions and the equations tying them.

    `fixed` holds figures published earlier (the week before): a number when it was
    shown, None when it was hidden. They take part in the equations but never change.
    """

    values: dict[Key, float] = field(default_factory=dict)
    primary: set[Key] = field(default_factory=set)
    equations: list[Equation] = field(default_factory=list)
    fixed: dict[Key, float | None] = field(default_factory=dict)
    # counts about nobody (a base of 0: not asked), published as such whatever is hidden
    not_asked: set[Key] = field(default_factory=set)
    # (source, target): a reader who sees `source` published as 0 knows `target` is 0 too
    # (no employers with skills gaps: no staff with gaps), whether or not it is hidden
    zero_when: list[tuple[Key, Key]] = field(default_factory=list)
    # area-level cells (the whole area's Total): complements only where no group cell serves
    area: set[Key] = field(default_factory=set)
    # counts on a base of at least the threshold: publishable in their own right
    large: set[Key] = field(default_factory=set)
    # figures an earlier report showed on a base a few employers away, or hid on the same
    # base: hidden whatever else publishes the same quantity, never taken as implied
    # (see `analytics.tables._earlier_reports`)
    changed: set[Key] = field(default_factory=set)
    # figures an earlier report showed as they are now: complements of last resort
    seen: set[Key] = field(default_factory=set)
    # the group each cell is about, (table, group): complements go first to groups that
    # hide a cell already, so that fewer groups lose a figure (and their rankings)
    groups: dict[Key, tuple[str, str]] = field(default_factory=dict)
    # counts about the few employers asked a routed question (those of 3 employers with
    # vacancies who find them hard to fill), whatever base they are printed on: hidden
    # whatever else publishes the same quantity
    few_asked: set[Key] = field(default_factory=set)
    # the unknowns that stand for the room left by an inequality (`at_most`): never cells
    slacks: set[Key] = field(default_factory=set)
    # an earlier report's figures (`analytics.tables._grown_from`): its equations among
    # them alone were audited when it was published; tied to this report's by inequalities
    apart: set[Key] = field(default_factory=set)
    # each count's base (the employers it is about), and the threshold it was added with
    bases: dict[Key, float] = field(default_factory=dict)
    threshold: int = 0

    def add(
        self, key: Key, value: float, base: float, threshold: int, *, small: bool = False
    ) -> None:
        """A count with its base; hidden at once when 0 < base < threshold, or when it is
        about a group of fewer than the threshold employers (`small`), even a 0."""
        self.values[key] = float(value)
        self.bases[key] = float(base)
        self.threshold = max(self.threshold, threshold)
        if small or 0 < base < threshold:
            self.primary.add(key)
        elif base >= threshold:
            self.large.add(key)

    def sum_of(self, total: Key, parts: Iterable[Key]) -> None:
        """Record that `total` is the sum of `parts`."""
        self.equations.append(Equation(total, tuple(parts)))

    def same(self, one: Key, other: Key) -> None:
        """Record that two cells (of different tables) hold the same quantity."""
        self.equations.append(Equation(one, (other,)))

    def at_most(self, small: Key, large: Key) -> None:
        """Record that `small` is never more than `large` (employers with skill-shortage
        vacancies are among those with hard-to-fill ones): `large` = `small` + an unknown
        that is never negative, so the audit's linear programme knows the bound."""
        slack = ("slack", *small, "<=", *large)
        self.slacks.add(slack)
        self.fixed[slack] = None  # never published: an unknown in every equation
        self.sum_of(large, [small, slack])

    def zero_if_zero(self, source: Key, target: Key) -> None:
        """Record that `target` is 0 whenever `source` is (not the other way round)."""
        self.zero_when.append((source, target))


def protect(publication: Publication, *, max_rounds: int = 10_000) -> frozenset[Key]:
    """The cells of `publication.values` to hide: primary ones and complements.

    Deterministic: the same publication always gives the same hidden cells. Cells that a
    published total of 0 shows to be 0 (`implied_zeros`) are published, not hidden: hiding
    them protects nothing and would cost complements all along their row.

    Two greedy searches for complements run (see `_complement`): by the cell value alone,
    and, where there are at most `LOOK_AHEAD_LIMIT` primary cells, with a one-step
    look-ahead on the further complements a choice forces. Each is checked by the exact
    audit; the one hiding fewer area-level cells (the headline figures), then fewer cells,
    then fewer employers wins.
    """
    implied = implied_zeros(publication)
    publishable = relieved(publication)
    start = set(publication.primary) - implied - publishable
    involved = _equations_by_key(publication.equations)
    audit = _Audit(publication)
    # Area-level cells (the headline figures) are kept from the complements' candidates;
    # where the groups' cells cannot protect every hidden cell (the audit still finds one
    # exposed), the search goes on from there with them.
    kept = implied | publication.area
    found = []
    # The look-ahead search too where there are few primary cells (a large area's report,
    # where both take milliseconds); on small data, where a thousand cells are hidden and
    # each audit is a system of hundreds of equations, the plain search alone: it hid as
    # few or fewer cells on the demo data sets of 60 and 150 employers, in half the time.
    searches = (False, True) if len(start) <= LOOK_AHEAD_LIMIT else (False,)
    for look_ahead in searches:
        hidden = _search(audit, start, kept, involved, look_ahead=look_ahead, max_rounds=max_rounds)
        for _ in range(max_rounds):  # hidden groups together of fewer than the threshold
            more = _too_few_together(publication, hidden, implied)
            if not more:
                break
            hidden = _search(
                audit,
                set(hidden) | more,
                kept,
                involved,
                look_ahead=look_ahead,
                max_rounds=max_rounds,
            )
        if kept != implied and audit.leaks(hidden):  # go on from there, area cells too
            hidden = _search(
                audit, set(hidden), implied, involved, look_ahead=look_ahead, max_rounds=max_rounds
            )
        found.append(hidden)
    return min(
        found,
        key=lambda hidden: (
            len(hidden & publication.area),
            len(hidden),
            _hidden_value(publication, hidden),
        ),
    )


def known_anyway(publication: Publication, hidden: frozenset[Key]) -> frozenset[Key]:
    """The cells of `hidden` (this report's) that the audit still finds pinned down, and
    those a published 0 among them implies (`zero_when`): what no complement protected."""
    audit = _Audit(publication)
    fixed, values = publication.fixed, publication.values
    left = hidden
    for _ in range(len(hidden) + 1):
        known = (audit.exposed(left) | audit.bounded(left)) & left - fixed.keys()
        known |= {
            target
            for source, target in publication.zero_when
            if target in left
            and (fixed[source] == 0 if source in fixed else values.get(source) == 0)
            and source not in left
        }
        if not known:
            break
        left = left - known
    return hidden - left


def _too_few_together(
    publication: Publication, hidden: frozenset[Key], implied: AbstractSet[Key]
) -> set[Key]:
    """One more cell to hide for each sum across groups whose hidden groups together are
    fewer than the threshold employers: their sum is the published total less the rest,
    a figure about those few (the 4 largest employers' staff, as the total less the
    bands shown). The part chosen is the group's smallest positive count shown."""
    threshold = publication.threshold
    groups, bases, fixed = publication.groups, publication.bases, publication.fixed
    more: set[Key] = set()
    for equation in publication.equations:
        if len(equation.parts) < 2 or equation.total in hidden:
            continue
        if equation.total in fixed and fixed[equation.total] is None:
            continue
        if equation.total not in publication.values and equation.total not in fixed:
            continue
        parts = [
            p for p in equation.parts if p in publication.values and p not in publication.not_asked
        ]
        owners = [groups.get(p) for p in parts]
        if len(parts) < 2 or None in owners or len(set(owners)) != len(owners):
            continue  # not a sum across groups (the options of one group, say)
        few = sum(bases.get(p, 0.0) for p in parts if p in hidden)
        if not 0 < few < threshold:
            continue
        candidates = sorted(
            (publication.values[p] <= 0, publication.values[p], p)
            for p in parts
            if p not in hidden and p not in fixed and p not in implied and bases.get(p, 0.0) > 0
        )
        if candidates:
            more.add(candidates[0][-1])
    return more


def _hidden_value(publication: Publication, hidden: frozenset[Key]) -> float:
    return sum(publication.values.get(key, 0.0) for key in hidden)


def _search(
    audit: _Audit,
    start: set[Key],
    implied: set[Key],
    involved: Mapping[Key, list[Equation]],
    *,
    look_ahead: bool,
    max_rounds: int,
) -> frozenset[Key]:
    """Primary cells plus complements, added until the audit finds nothing exposed: first
    by the equations alone, then with non-negativity (`_Audit.bounded`).

    A cell no complement can unpin (`stuck`: the equations tie it to published figures
    alone, such as a count of 0 between two ties of equal counts) is left as it is, and
    the search goes on for the others.
    """
    hidden = set(start)
    groups = audit.publication.groups
    hit = {groups[key] for key in hidden if key in groups}
    stuck: set[Key] = set()
    for _ in range(max_rounds):
        found = audit.exposed(hidden) - stuck
        bounded = not found
        if bounded:  # nothing pinned by the equations alone: with non-negativity?
            found = audit.bounded(hidden) - stuck
            if not found:
                break
        added = False
        settled: set[Key] = set()
        for cell in sorted(found):
            if cell in settled:  # a complement chosen this round may already cover it
                continue
            choice = (
                _bounded_complement(audit, hidden, involved, cell, implied, hit)
                if bounded
                else _complement(audit, hidden, involved, cell, implied, look_ahead, hit)
            )
            if choice is None:
                stuck.add(cell)
                continue
            hidden.add(choice)
            if choice in groups:
                hit.add(groups[choice])
            added = True
            for equation in involved.get(choice, []):
                settled.update(equation.keys)
        if not added and bounded:  # nothing left that may be hidden
            break
    return frozenset(hidden)


def relieved(publication: Publication) -> set[Key]:
    """Primary cells that are the same quantity as a count publishable in its own right.

    A routed question's base of 3 (the employers who said their vacancies are hard to
    fill) is the count "3 of 28 employers have hard-to-fill vacancies": tied by an
    equation, hiding the first would hide the second, a headline figure, for nothing.
    Cells tied by equalities (`Publication.same`) to a count on a base of at least the
    threshold are published, unless one of them was hidden the week before, changed by a
    few employers since an earlier report showed it (`changed`), or they are 0.
    """
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for equation in publication.equations:
        if len(equation.parts) == 1:
            parent[root(equation.parts[0])] = root(equation.total)
    classes: dict[Key, list[Key]] = {}
    for key in parent:
        classes.setdefault(root(key), []).append(key)
    fixed = publication.fixed
    out: set[Key] = set()
    for members in classes.values():
        if any(
            (k in fixed and fixed[k] is None)
            or k in publication.changed
            or k in publication.few_asked
            for k in members
        ):
            continue
        # A 0 stays hidden: "0 of 6 have hard-to-fill vacancies" would tell that the one
        # employer asked whether their vacancies are hard to fill said no.
        if all(publication.values.get(k, fixed.get(k)) == 0 for k in members):
            continue
        if any(k in publication.large or fixed.get(k) is not None for k in members):
            out.update(k for k in members if k in publication.primary)
    return out


def implied_zeros(publication: Publication) -> set[Key]:
    """Cells of this report that published figures pin down, so hiding them is void.

    A count whose base is 0 (`not_asked`: nobody was asked) is published as such, 0.
    Counts are never negative: the parts of a total published as 0 are all 0, and so is a
    cell equal to a published 0, or one that a published 0 implies (`zero_when`: no
    employers with vacancies, so no vacancies). A cell that is the only unknown of an
    equation whose other cells were published before (last week's figures) or are pinned
    down themselves is known too. Anyone reading those figures knows it; such a cell is
    published and never chosen as a complement (it would protect nothing).
    """

    def published_zero(key: Key) -> bool:
        if key in publication.fixed:
            return publication.fixed[key] == 0
        return (
            key in publication.values
            and publication.values[key] == 0
            and (key not in publication.primary or key in implied)
        )

    def settled(key: Key) -> bool:  # known whatever this report hides
        return key in implied or (key in publication.fixed and publication.fixed[key] is not None)

    # A count about nobody (its base is 0: not asked) is published as 0 / n/a: known.
    implied: set[Key] = {
        key
        for key in publication.not_asked
        if key in publication.values and key not in publication.fixed
    }
    changed = True
    while changed:
        changed = False
        for equation in publication.equations:
            if published_zero(equation.total):
                zeros = [*equation.parts, equation.total]
            elif len(equation.parts) == 1 and published_zero(equation.parts[0]):
                zeros = [equation.total]
            else:
                # One cell left beside figures published before and cells they pin down:
                # it is pinned down too, so hiding it would protect nothing.
                open_keys = [key for key in equation.keys if not settled(key)]
                zeros = open_keys if len(open_keys) == 1 else []
            for key in zeros:
                published = key in publication.values and key not in publication.fixed
                if published and key not in implied:
                    implied.add(key)
                    changed = True
        for source, target in publication.zero_when:
            if target in implied or target not in publication.values:
                continue
            if target not in publication.fixed and published_zero(source):
                implied.add(target)
                changed = True
    return implied


def _equations_by_key(equations: Sequence[Equation]) -> dict[Key, list[Equation]]:
    index: dict[Key, list[Equation]] = {}
    for equation in equations:
        for key in equation.keys:
            index.setdefault(key, []).append(equation)
    return index


_FAR_TRIES = 20
_NEAR = 4  # equations away from a cell that `_Audit.bound_pins` looks at
LOOK_AHEAD_LIMIT = 400


def _complement(
    audit: _Audit,
    hidden: set[Key],
    involved: Mapping[Key, list[Equation]],
    cell: Key,
    implied: set[Key],
    look_ahead: bool,
    hit: AbstractSet[tuple[str, str]] = frozenset(),
) -> Key | None:
    """The published cell to hide so that `cell` is no longer pinned down, at least cost.

    Candidates are the published cells of the equations holding `cell`, the tightest
    equation (fewest unknowns) first. An area-level cell (`Publication.area`: the whole
    area's figure, its headline) is taken only when no group cell of any equation holding
    `cell` unpins it (checked by the audit). Their cost, smallest first: a part before a
    total (a cell that is the sum of others anywhere in the report); a positive count before a
    zero (a hidden 0 beside hidden 0s gives their sum away); a cell of a group that hides
    one already (`hit`: its table and group, `Publication.groups`) before one of a group
    that shows all its figures, so that fewer groups lose one (a group's skills ranking is
    printed only when all its figures are); then how many further cells
    hiding it would force, with `look_ahead` (equations in which it would be the only
    unknown: each needs a complement of its own; this keeps one small cell from cascading
    through every table tied to it); then the count itself (the employers it hides:
    tau-Argus's "cell value" cost).
    """
    publication = audit.publication

    def unknown(key: Key) -> bool:
        return key in hidden or (key in publication.fixed and publication.fixed[key] is None)

    def forced(key: Key) -> int:
        return sum(
            1
            for equation in involved.get(key, [])
            if not any(unknown(k) for k in equation.keys if k != key)
        )

    def a_total(key: Key) -> bool:  # the sum of others somewhere (not merely equal to one)
        return any(e.total == key and len(e.parts) > 1 for e in involved.get(key, []))

    # The equations holding `cell` first; where none has a cell that may be hidden (all
    # their other cells are hidden already), those of the hidden cells they hold, and so
    # on outwards: the cell is pinned through them (E = o1 + o2 with o1 + o2 published as
    # a difference elsewhere), so a complement there unpins it.
    # Beyond the first layer a candidate is taken only if the audit shows that it unpins
    # the cell (a far cell may not), at most `_FAR_TRIES` of them.
    seen_cells: set[Key] = {cell}
    seen_equations: set[Equation] = set()
    layer = [cell]
    tries = 0
    fallback: Key | None = None  # an area-level cell, if nothing else serves
    while layer:
        equations = sorted(
            {e for key in layer for e in involved.get(key, []) if e not in seen_equations},
            key=lambda e: (sum(unknown(k) for k in e.keys), e.keys),
        )
        far = bool(seen_equations)
        seen_equations.update(equations)
        for equation in equations:  # the tightest equation first
            candidates = sorted(
                (
                    key in publication.area,
                    key in publication.seen,
                    a_total(key),
                    publication.values[key] <= 0,
                    publication.groups.get(key, ("", "")) not in hit,
                    forced(key) if look_ahead else 0,
                    publication.values[key],
                    key,
                )
                for key in equation.keys
                if key in publication.values
                and key not in hidden
                and key not in publication.fixed
                and key not in implied
            )
            if candidates and not far and equation is equations[0]:
                if not candidates[0][0]:  # the tightest equation: no audit needed
                    return candidates[0][-1]
                if sum(unknown(k) for k in equation.keys) == 1:  # only an area cell unpins it
                    return candidates[0][-1]
            for area, *_, key in candidates:
                if area:
                    if fallback is None and (
                        not far or not audit.pins(cell, {*hidden, key}, tried=key)
                    ):
                        fallback = key
                    continue
                tries += 1
                if tries > _FAR_TRIES:
                    return fallback
                if not audit.pins(cell, {*hidden, key}, tried=key):
                    return key
        layer = []
        for equation in equations:
            for key in equation.keys:
                if unknown(key) and key not in seen_cells:
                    seen_cells.add(key)
                    layer.append(key)
    return fallback


def _bounded_complement(
    audit: _Audit,
    hidden: set[Key],
    involved: Mapping[Key, list[Equation]],
    cell: Key,
    implied: set[Key],
    hit: AbstractSet[tuple[str, str]],
) -> Key | None:
    """The published cell to hide so that `cell`, pinned by the equations together with
    non-negativity (`_Audit.bounded`), is no longer: the candidates of the equations
    holding `cell`, then of those holding their hidden cells, in `_complement`'s order of
    cost, each tried with the audit of the cell's component (`_Audit.bound_pins`); the
    cheapest if none alone serves (the next round goes on from there)."""
    publication = audit.publication
    fixed = publication.fixed

    def unknown(key: Key) -> bool:
        return key in hidden or (key in fixed and fixed[key] is None)

    def a_total(key: Key) -> bool:
        return any(e.total == key and len(e.parts) > 1 for e in involved.get(key, []))

    near = {k for e in involved.get(cell, []) for k in e.keys}
    far = {k for u in near if unknown(u) for e in involved.get(u, []) for k in e.keys}
    candidates = sorted(
        (
            key not in near,
            key in publication.area,
            key in publication.seen,
            a_total(key),
            publication.values[key] <= 0,
            publication.groups.get(key, ("", "")) not in hit,
            publication.values[key],
            key,
        )
        for key in near | far
        if key in publication.values
        and key not in hidden
        and key not in fixed
        and key not in implied
    )
    for *_, key in candidates[:_FAR_TRIES]:
        if not audit.bound_pins(cell, {*hidden, key}):
            return key
    return candidates[0][-1] if candidates else None


def exposed(publication: Publication, hidden: set[Key] | frozenset[Key]) -> set[Key]:
    """Hidden cells (this report's or earlier hidden ones) that the equations pin down,
    with or without the knowledge that counts are never negative (`_Audit.leaks`)."""
    return _Audit(publication).leaks(hidden)


class _Audit:
    """The equations of one publication indexed by cell, so that an audit writes only the
    equations holding an unknown (the others are all published: nothing to find there).

    `protect` audits hundreds of hidden sets against the same equations, built once.
    """

    __slots__ = (
        "_all_by_key",
        "_basis",
        "_by_key",
        "_core",
        "_zeros",
        "_equations",
        "_fixed_unknown",
        "_terms",
        "_values",
        "publication",
    )

    def __init__(self, publication: Publication) -> None:
        values, fixed = publication.values, publication.fixed
        self.publication = publication
        # Equations whose every cell is a figure of this report or of the week before.
        self._equations = [
            equation
            for equation in publication.equations
            if all(k in values or k in fixed for k in equation.keys)
        ]
        self._by_key: dict[Key, list[int]] = {}
        # Each equation as (cell, coefficient) terms, a cell named twice merged (the total
        # +1, each part -1), terms that cancel out dropped.
        self._terms: list[tuple[tuple[Key, float], ...]] = []
        for number, equation in enumerate(self._equations):
            merged: dict[Key, float] = {}
            sign = 1.0
            for key in equation.keys:
                merged[key] = merged.get(key, 0.0) + sign
                sign = -1.0
                numbers = self._by_key.setdefault(key, [])
                if not numbers or numbers[-1] != number:
                    numbers.append(number)
            self._terms.append(tuple((k, c) for k, c in merged.items() if c != 0))
        self._fixed_unknown = frozenset(k for k, v in fixed.items() if v is None)
        # every known figure's value: this report's, or published the week before
        self._values: dict[Key, float] = {k: float(v) for k, v in values.items()}
        self._values.update({k: float(v) for k, v in fixed.items() if v is not None})
        # The equations the linear algebra works on (`_by_key`, `_basis`): not those holding
        # a slack (each slack is in one equation only, which therefore pins nothing but it)
        # nor those of an earlier report alone (`Publication.apart`: protected when it was
        # published, and tied to this report's only by inequalities). Both take part in
        # `bounded`, where non-negativity may turn them into equalities.
        slacks, apart = publication.slacks, publication.apart
        self._core: list[bool] = [
            not any(k in slacks for k, _ in terms) and not all(k in apart for k, _ in terms)
            for terms in self._terms
        ]
        self._all_by_key = self._by_key
        self._by_key = {
            key: core
            for key, numbers in self._all_by_key.items()
            if (core := [n for n in numbers if self._core[n]])
        }
        # Each cell's column: its coefficient in every equation holding it (whole numbers).
        columns: dict[Key, dict[int, int]] = {}
        for number, terms in enumerate(self._terms):
            if self._core[number]:
                for key, coefficient in terms:
                    columns.setdefault(key, {})[number] = int(coefficient)
        self._basis = _Basis(columns)
        self._zeros: dict[object, frozenset[Key]] = {}

    def exposed(self, hidden: set[Key] | frozenset[Key]) -> set[Key]:
        unknowns = self._fixed_unknown | hidden
        numbers = {n for key in unknowns for n in self._by_key.get(key, ())}
        rows = self._rows(sorted(numbers), unknowns)
        pinned = _pinned(rows, _components(rows), self._basis.synced(unknowns))
        return pinned - self.publication.slacks

    def leaks(self, hidden: set[Key] | frozenset[Key]) -> set[Key]:
        """`exposed`, and where it finds nothing, what the equations pin down together
        with counts being never negative (`bounded`)."""
        return self.exposed(hidden) or self.bounded(hidden)

    def bounded(self, hidden: set[Key] | frozenset[Key]) -> set[Key]:
        """The hidden cells that the equations and non-negativity pin down together.

        A reader who knows that counts are never negative can combine equations as he
        likes: two rows whose hidden cells add up to 1 each, and a column that says two of
        those cells add up to 2, leave the others 0, although no one equation does (and a
        group of one then shows its answer). The cells 0 in every non-negative solution
        are found by linear programming (`_forced_zeros`); the solutions' affine hull is
        the equations plus those zeros, so the cells they pin down are those zeros and
        what the equations then pin down linearly (a count bounded to one value, say 6
        from "at least 6" and "at most 6", is among them).
        """
        unknowns = self._fixed_unknown | hidden
        numbers = sorted({n for key in unknowns for n in self._all_by_key.get(key, ())})
        zeros = self._forced_zeros(self._rows(numbers, unknowns))
        if not zeros:
            return set()
        rest = unknowns - zeros
        values = self._values
        saved = {key: values.get(key) for key in zeros}
        for key in zeros:  # taken as published, at 0 (which they are, in every solution)
            values[key] = 0.0
        try:
            pinned = self._pinned_with(numbers, rest)
        finally:
            for key, value in saved.items():
                if value is None:
                    del values[key]
                else:
                    values[key] = value
        return (zeros | pinned) - self.publication.slacks

    def _forced_zeros(self, rows: list[tuple[dict[Key, float], float]]) -> set[Key]:
        """`_forced_zeros` of `rows`, component by component, each remembered: `protect`
        audits hidden sets that differ by a cell or two, so most components are met again.
        A row whose unknowns are all slacks (each in one row only) bounds nothing else and
        is left out."""
        slacks = self.publication.slacks
        rows = [row for row in rows if not all(k in slacks for k in row[0])]
        zeros: set[Key] = set()
        todo: list[tuple[object, list[tuple[dict[Key, float], float]]]] = []
        for component in _row_components(rows):
            signature: object = frozenset(
                (tuple(sorted(c.items())), round(r, 9)) for c, r in component
            )
            known = self._zeros.get(signature)
            if known is None:
                todo.append((signature, component))
            else:
                zeros |= known
        if todo:  # the components not met before, in one programme
            found = _forced_zeros([row for _, component in todo for row in component])
            zeros |= found
            for signature, component in todo:
                self._zeros[signature] = frozenset(
                    k for row, _ in component for k in row if k in found
                )
        return zeros

    def _pinned_with(self, numbers: list[int], rest: frozenset[Key] | set[Key]) -> set[Key]:
        """What the equations `numbers` pin down among the unknowns `rest`, the others known
        (`bounded`'s zeros among them). An equation still holding a slack pins nothing but
        it and is left out; one whose slacks are 0 is an equality, as is one of an earlier
        report alone. Components of this report's equations only are settled by the kept
        basis; the others (where an earlier report's figures tie in) by one of their own."""
        slacks, core = self.publication.slacks, self._core
        rows: list[tuple[dict[Key, float], float]] = []
        extra: list[bool] = []
        for number, row in self._numbered_rows(numbers, rest):
            if not any(k in slacks for k in row[0]):
                rows.append(row)
                extra.append(not core[number])
        parent: dict[Key, Key] = {}

        def root(key: Key) -> Key:
            while parent.setdefault(key, key) != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for coefficients, _ in rows:
            first, *others = coefficients
            for other in others:
                parent[root(other)] = root(first)
        tied = {root(next(iter(row))) for (row, _), other in zip(rows, extra, strict=True) if other}
        plain = [row for row in rows if root(next(iter(row[0]))) not in tied]
        found = _pinned(plain, _components(plain), self._basis.synced(rest - slacks))
        by_component: dict[Key, list[tuple[dict[Key, float], float]]] = {}
        for row in rows:
            top = root(next(iter(row[0])))
            if top in tied:
                by_component.setdefault(top, []).append(row)
        for component in by_component.values():
            columns: dict[Key, dict[int, int]] = {}
            for index, (coefficients, right) in enumerate(component):
                if len({c > 0 for c in coefficients.values()}) == 1 and abs(right) < 1e-9:
                    found.update(coefficients)  # non-negative unknowns summing to 0
                for key, coefficient in coefficients.items():
                    columns.setdefault(key, {})[index] = int(coefficient)
            own = _Basis(columns).synced(set(columns))
            found.update(key for key in columns if own.determined(key))
        return found

    def bound_pins(self, cell: Key, hidden: set[Key] | frozenset[Key]) -> bool:
        """Whether the equations near `cell` (`_NEAR` steps through unknowns) and
        non-negativity pin `cell` down (`bounded`, for those equations).

        Nearer than its whole component, which an earlier report's figures can make
        thousands of equations: a cell pinned by equations farther away is found pinned
        again by the next `bounded`, and another complement is chosen then."""
        unknowns = self._fixed_unknown | hidden
        terms, by_key = self._terms, self._all_by_key
        numbers: set[int] = set()
        reached = {cell}
        layer = [cell]
        for _ in range(_NEAR):
            following = []
            for key in layer:
                for number in by_key.get(key, ()):
                    if number in numbers:
                        continue
                    numbers.add(number)
                    for other, _ in terms[number]:
                        if other in unknowns and other not in reached:
                            reached.add(other)
                            following.append(other)
            layer = following
        rows = self._rows(sorted(numbers), reached)
        slacks = self.publication.slacks
        zeros = _forced_zeros([row for row in rows if not all(k in slacks for k in row[0])])
        if cell in zeros:
            return True
        rest = reached - zeros
        columns: dict[Key, dict[int, int]] = {}
        for index, (coefficients, _) in enumerate(rows):
            for key, coefficient in coefficients.items():
                if key in rest:
                    columns.setdefault(key, {})[index] = int(coefficient)
        return _Basis(columns).synced(rest).determined(cell)

    def pins(
        self, cell: Key, hidden: set[Key] | frozenset[Key], *, tried: Key | None = None
    ) -> bool:
        """Whether the equations pin `cell` down: `cell in self.exposed(hidden)`, found from
        the equations connected to `cell` through unknowns only (its component). `tried`
        is the cell of `hidden` whose hiding is being tried (the next call will likely
        try another instead).

        As `_pinned` does for the component: `cell` is pinned when an equation holds it as
        its only unknown, or with unknowns of one sign and a known side of 0; else, when
        some other equation of the component has one unknown, it is not (that one is fixed
        first); else the linear algebra decides. The walk through the component stops at
        the first such equation. The linear algebra is `_Basis`'s, kept up to date as the
        hidden set changes, so it comes first (no elimination of the component on each
        call), and the walk is needed only when it pins `cell` and some equation has one
        unknown.
        """
        fixed_unknown = self._fixed_unknown
        if cell not in hidden and cell not in fixed_unknown:
            return False
        terms, values = self._terms, self._values
        for number in self._by_key.get(cell, ()):
            unknown = [c for k, c in terms[number] if k in hidden or k in fixed_unknown]
            if len(unknown) == 1:
                return True
            if len({c > 0 for c in unknown}) == 1:
                known = sum(
                    c * values[k]
                    for k, c in terms[number]
                    if k not in hidden and k not in fixed_unknown
                )
                if abs(known) < 1e-9:
                    return True
        basis = self._basis.synced(fixed_unknown | hidden, last=tried)
        if not basis.determined(cell):
            return False
        if not basis.singles:  # no equation anywhere has one unknown: nor has the component
            return True
        numbers: set[int] = set()
        reached = {cell}
        todo = [cell]
        by_key = self._by_key
        while todo:
            for number in by_key.get(todo.pop(), ()):
                if number in numbers:
                    continue
                numbers.add(number)
                count = 0
                for key, _ in terms[number]:
                    if key in hidden or key in fixed_unknown:
                        count += 1
                        if key not in reached:
                            reached.add(key)
                            todo.append(key)
                if count == 1:  # another cell is pinned: fixed first, `cell` is not yet
                    return False
        return True

    def _rows(
        self, numbers: list[int], unknowns: frozenset[Key] | set[Key]
    ) -> list[tuple[dict[Key, float], float]]:
        """The equations `numbers` with the published values moved to the right-hand side."""
        return [row for _, row in self._numbered_rows(numbers, unknowns)]

    def _numbered_rows(
        self, numbers: list[int], unknowns: frozenset[Key] | set[Key]
    ) -> list[tuple[int, tuple[dict[Key, float], float]]]:
        """`_rows`, each with its equation's number (those with no unknown left out)."""
        terms, values = self._terms, self._values
        rows: list[tuple[int, tuple[dict[Key, float], float]]] = []
        for number in numbers:
            coefficients: dict[Key, float] = {}
            known = 0.0
            for key, coefficient in terms[number]:
                if key in unknowns:
                    coefficients[key] = coefficient
                else:
                    known += coefficient * values[key]
            if coefficients:
                rows.append((number, (coefficients, -known)))
        return rows


_Number = int | Fraction


class _Basis:
    """The equations over a set of unknowns that grows and shrinks by one cell at a time,
    eliminated once: which unknowns they pin down, in exact arithmetic.

    Row operations (`_steps`, kept in order) turn the matrix of the equations (a row per
    equation, a column per unknown) into R, where each unknown of a basis of the column
    space (`_pivot_of`) is a unit column with its 1 in a row of its own, and every other
    unknown (`_free`) has entries in those rows only. R has the same row space, so e_i lies
    in it iff unknown i is a basis column whose row holds no free unknown (`_blockers`):
    the rows of R that are not 0 are those rows, each e_j plus free unknowns' entries.

    Adding a cell applies the steps to its column. If that leaves an entry outside the
    basis rows, the cell joins the basis on such a row and one more step clears the rest
    of its column; the other columns are 0 in that row, so no column computed before
    changes. Otherwise it is free. Cells are taken off in the reverse order (a stack):
    `protect` tries one complement after another on top of the same hidden cells.
    Whole numbers stay whole numbers (a pivot of 1 or -1 is chosen where there is one);
    any other pivot gives fractions, exact too. It also counts the equations with exactly
    one unknown (`singles`): where there are none, no component has one.
    """

    __slots__ = (
        "_blockers",
        "_columns",
        "_counts",
        "_free",
        "_members",
        "_pivot_of",
        "_stack",
        "_steps",
        "singles",
    )

    def __init__(self, columns: Mapping[Key, dict[int, int]]) -> None:
        self._columns = columns
        self._steps: list[tuple[int, _Number, list[tuple[int, _Number]]]] = []
        self._pivot_of: dict[Key, int] = {}  # a basis unknown -> its row
        self._free: dict[Key, dict[int, _Number]] = {}  # a free unknown -> its column of R
        self._blockers: dict[int, int] = {}  # a basis row -> how many free unknowns hold it
        self._stack: list[Key] = []
        self._members: set[Key] = set()
        self._counts: dict[int, int] = {}  # an equation -> how many of its cells are unknown
        self.singles = 0  # how many equations have exactly one unknown

    def synced(self, unknowns: set[Key] | frozenset[Key], *, last: Key | None = None) -> _Basis:
        """This basis over exactly `unknowns`: cells taken off the top, then added, `last`
        (a cell of `unknowns`) on top, the first to be taken off again."""
        stale = self._members - unknowns
        while stale:
            stale.discard(self._pop())
        columns = self._columns
        for key in sorted(k for k in unknowns - self._members - {last} if k in columns):
            self._push(key)
        if last is not None and last not in self._members and last in columns:
            self._push(last)
        return self

    def determined(self, key: Key) -> bool:
        """Whether the equations pin `key` down (e_key in their row space)."""
        row = self._pivot_of.get(key)
        return row is not None and not self._blockers.get(row)

    def _reduce(self, key: Key) -> dict[int, _Number]:
        column: dict[int, _Number] = dict(self._columns.get(key, {}))
        for row, pivot, others in self._steps:
            value = column.get(row)
            if value is None:
                continue
            scaled = _divide(value, pivot)
            column[row] = scaled
            for other, factor in others:
                updated = column.get(other, 0) - factor * scaled
                if updated:
                    column[other] = updated
                else:
                    del column[other]
        return column

    def _push(self, key: Key) -> None:
        column = self._reduce(key)
        used = self._blockers
        open_rows = [row for row in column if row not in used]
        if open_rows:
            row = min(open_rows, key=lambda r: (abs(column[r]) != 1, r))
            self._steps.append((row, column[row], [(r, v) for r, v in column.items() if r != row]))
            self._pivot_of[key] = row
            used[row] = 0
        else:
            self._free[key] = column
            for row in column:
                used[row] += 1
        self._stack.append(key)
        self._members.add(key)
        counts = self._counts
        for number in self._columns.get(key, ()):
            count = counts.get(number, 0) + 1
            counts[number] = count
            self.singles += 1 if count == 1 else -1 if count == 2 else 0

    def _pop(self) -> Key:
        key = self._stack.pop()
        self._members.discard(key)
        counts = self._counts
        for number in self._columns.get(key, ()):
            count = counts[number] - 1
            counts[number] = count
            self.singles += 1 if count == 1 else -1 if count == 0 else 0
        row = self._pivot_of.pop(key, None)
        if row is not None:
            self._steps.pop()
            del self._blockers[row]
        else:
            for row in self._free.pop(key):
                self._blockers[row] -= 1
        return key


def _divide(value: _Number, pivot: _Number) -> _Number:
    if pivot == 1:
        return value
    if pivot == -1:
        return -value
    return Fraction(value) / pivot


def _forced_zeros(rows: list[tuple[dict[Key, float], float]]) -> set[Key]:
    """The unknowns of `rows` (each: coefficients, right-hand side) that are 0 in every
    non-negative solution.

    A linear programme per pass (HiGHS, through SciPy): for each unknown still suspected,
    y <= x and 0 <= y <= 1/m; the sum of the y is maximised. Those the optimum makes positive
    can be positive, and leave the suspects; when it is 0, the suspects left are 0 in
    every solution (else the mean of solutions making each positive would do better).
    """
    keys = sorted({key for coefficients, _ in rows for key in coefficients})
    if not keys:
        return set()
    index = {key: i for i, key in enumerate(keys)}
    n = len(keys)
    entries = [
        (r, index[key], coefficient)
        for r, (coefficients, _) in enumerate(rows)
        for key, coefficient in coefficients.items()
    ]
    at_row = np.array([e[0] for e in entries], dtype=np.int64)
    at_column = np.array([e[1] for e in entries], dtype=np.int64)
    data = np.array([e[2] for e in entries], dtype=float)
    right = np.array([value for _, value in rows], dtype=float)
    suspects = np.arange(n)
    zeros: set[Key] = set()
    while len(suspects):
        m = len(suspects)
        # variables: x (n), then y (m, one per suspect); the equations hold x only
        a_eq = sparse.csr_array((data, (at_row, at_column)), shape=(len(rows), n + m))
        link = sparse.csr_array(  # y_i - x_suspect(i) <= 0
            (
                np.concatenate([-np.ones(m), np.ones(m)]),
                (np.tile(np.arange(m), 2), np.concatenate([suspects, n + np.arange(m)])),
            ),
            shape=(m, n + m),
        )
        bounds = np.zeros((n + m, 2))
        bounds[:n, 1] = np.inf
        # each y at most 1/m: a mean of solutions that each make one suspect at least 1
        # positive makes them all at least 1/m, so one pass mostly settles them all
        bounds[n:, 1] = 1 / m
        result = linprog(
            np.concatenate([np.zeros(n), -np.ones(m)]),
            A_ub=link,
            b_ub=np.zeros(m),
            A_eq=a_eq,
            b_eq=right,
            bounds=bounds,
            method="highs",
        )
        if result.status == 2:  # infeasible: the true values break an equation
            raise AuditInfeasible(f"disclosure audit: no solution: {result.message}")
        if result.status != 0:
            raise RuntimeError(f"disclosure audit: linear programme failed: {result.message}")
        positive = result.x[n:] > 1e-7
        if not positive.any():
            zeros.update(keys[i] for i in suspects)
            break
        suspects = suspects[~positive]
    return zeros


def _pinned(
    rows: list[tuple[dict[Key, float], float]],
    components: list[list[dict[Key, float]]],
    basis: _Basis,
) -> set[Key]:
    """The unknowns of `rows` they pin down; `basis` is over the same unknowns.

    An equation with one unknown pins it at once (no algebra needed: that is the common
    case, and what the next round of `protect` fixes first): a component that has one
    reports those alone. Otherwise the linear algebra decides.
    """
    found: set[Key] = set()
    for coefficients, right in rows:  # non-negative unknowns summing to 0 are all 0
        signs = {c > 0 for c in coefficients.values()}
        if len(signs) == 1 and abs(right) < 1e-9:
            found.update(coefficients)
    for component in components:
        singles = {next(iter(row)) for row in component if len(row) == 1}
        if singles:
            found.update(singles)
        else:
            found.update(key for row in component for key in row if basis.determined(key))
    return found


def _row_components(
    rows: list[tuple[dict[Key, float], float]],
) -> list[list[tuple[dict[Key, float], float]]]:
    """`rows` split into groups that share no unknown (through other rows)."""
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for coefficients, _ in rows:
        first, *others = coefficients
        for other in others:
            parent[root(other)] = root(first)
    groups: dict[Key, list[tuple[dict[Key, float], float]]] = {}
    for row in rows:
        groups.setdefault(root(next(iter(row[0]))), []).append(row)
    return list(groups.values())


def _components(
    rows: list[tuple[dict[Key, float], float]],
) -> list[list[dict[Key, float]]]:
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for coefficients, _ in rows:
        keys = list(coefficients)
        for other in keys[1:]:
            parent[root(other)] = root(keys[0])
        root(keys[0])
    groups: dict[Key, list[dict[Key, float]]] = {}
    for coefficients, _ in rows:
        groups.setdefault(root(next(iter(coefficients))), []).append(coefficients)
    return list(groups.values())
