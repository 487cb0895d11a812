"""The daemon's heap settling (lifecycle.settle_heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sheetledger.lifecycle import COLLECTOR_THRESHOLDS, settle_heap


@pytest.fixture
def collector() -> Iterator[None]:
    """Whatever a test does to the collector is undone (the rest of the suite runs as usual)."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settling_freezes_what_is_alive_and_collects_less_often(collector: None) -> None:
    made_before = [{"kept": n} for n in range(100)]  # alive when the process settles
    settle_heap()
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS
    assert gc.get_freeze_count() >= len(made_before)
    # Reference cycles made afterwards are still found, at an explicit collection too.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
