"""`skillsbot run` collects garbage less often than CPython's default (bot.cli.run)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.cli.run import YOUNG_COLLECTION_THRESHOLD, collect_garbage_less_often


@pytest.fixture
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("thresholds")
def test_only_the_young_generations_threshold_is_raised() -> None:
    collect_garbage_less_often()
    assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, 10, 10)
    assert YOUNG_COLLECTION_THRESHOLD > 700
