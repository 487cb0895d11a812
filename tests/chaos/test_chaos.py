"""A short seeded chaos run is part of every test run; ``make chaos`` plays the long one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.run import ChaosRun


@pytest.mark.timeout(900)  # real processes killed and restarted: minutes on a slow machine
def test_a_short_seeded_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    run = ChaosRun(tmp_path, seed=20261202, steps=30, settle_every=15, deals=6)
    tally = run.play()
    assert tally.steps == 30 and tally.settles == 3
    assert tally.fault_total > 0, tally.summary()
    assert tally.violations == [], tally.summary()
