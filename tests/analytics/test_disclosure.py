"""Disclosure control: the threshold, the marker, and what is replaced."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.disclosure import InvalidMinBase, disclose, is_suppressed, min_base


def test_figures_with_a_small_base_are_replaced_and_labels_kept() -> None:
    table = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "count": [1, 2, 9],
            "share": [0.25, 0.4, 0.9],
            "base": [4, 5, 10],
        }
    )
    shown = disclose(table, {"count": "base", "share": "base", "base": "base"}, 5)
    assert list(shown["label"]) == ["a", "b", "c"]
    assert list(shown["count"]) == ["<5", 2, 9]
    assert list(shown["share"]) == ["<5", 0.4, 0.9]
    assert list(shown["base"]) == ["<5", 5, 10]
    assert list(table["base"]) == [4, 5, 10]  # the input is untouched


def test_threshold_is_a_parameter() -> None:
    table = pd.DataFrame({"count": [7, 12]})
    assert list(disclose(table, {"count": "count"}, 10)["count"]) == ["<10", 12]
    assert is_suppressed("<10")
    assert not is_suppressed("<b>")


def test_min_base_from_the_environment() -> None:
    assert min_base({}) == 5
    assert min_base({"SKILLSBOT_MIN_BASE": " 10 "}) == 10
    with pytest.raises(InvalidMinBase, match="whole number"):
        min_base({"SKILLSBOT_MIN_BASE": "five"})
    with pytest.raises(InvalidMinBase, match="at least 1"):
        min_base({"SKILLSBOT_MIN_BASE": "0"})
