"""`skillsbot interview try`: run an interview in the terminal."""

from __future__ import annotations


def try_interview() -> None:
    """Run an interview in the terminal, one answer per line."""
    raise SystemExit("not built yet")
