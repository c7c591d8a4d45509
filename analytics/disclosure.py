"""Disclosure control: figures resting on fewer than `min_base` employers are not shown.

The one place suppression happens. Reports apply `disclose` to every table as the last
step before rendering; a suppressed cell holds the marker `"<5"` (for the default
threshold), which renderers print as it is and charts leave unplotted. Only the admin's
raw export is exempt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

MIN_BASE_VARIABLE = "SKILLSBOT_MIN_BASE"
DEFAULT_MIN_BASE = 5


class InvalidMinBase(ValueError):
    """SKILLSBOT_MIN_BASE is not a whole number of at least 1."""


def min_base(environ: Mapping[str, str] | None = None) -> int:
    """The suppression threshold from `SKILLSBOT_MIN_BASE` (default 5)."""
    env = os.environ if environ is None else environ
    raw = env.get(MIN_BASE_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MIN_BASE
    try:
        value = int(raw)
    except ValueError:
        raise InvalidMinBase(
            f"{MIN_BASE_VARIABLE} must be a whole number such as 5 (got {raw!r})"
        ) from None
    if value < 1:
        raise InvalidMinBase(f"{MIN_BASE_VARIABLE} must be at least 1 (got {value})")
    return value


def marker(threshold: int) -> str:
    """What a suppressed cell shows: `<5` for a threshold of 5."""
    return f"<{threshold}"


def is_suppressed(value: object) -> bool:
    """True for a cell that `disclose` suppressed."""
    return isinstance(value, str) and value.startswith("<") and value[1:].isdigit()


def disclose(table: pd.DataFrame, bases: Mapping[str, str], threshold: int) -> pd.DataFrame:
    """A copy of `table` with every figure whose base is below `threshold` replaced.

    `bases` maps each figure column to the column holding its base (a count may be its
    own base). Base columns are compared before anything is replaced, so a base column
    can itself be listed as a figure. Columns not in `bases` (labels) are left alone.
    """
    if threshold < 1:
        raise ValueError("the suppression threshold must be at least 1")
    small = {
        base: (pd.to_numeric(table[base], errors="coerce").fillna(0) < threshold).to_numpy()
        for base in set(bases.values())
    }
    shown = table.copy()
    hidden = marker(threshold)
    for figure, base in bases.items():
        column = shown[figure].astype("object")
        column[small[base]] = hidden
        shown[figure] = column
    return shown
