"""A sandbox on a hand-driven clock (10:00 in the business's time zone) and its state.db."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sheetledger.config import Config
from sheetledger.sandbox.clock import ManualClock
from sheetledger.sandbox.runner import ACCOUNTANT_ID, SUPPLY_ID, Sandbox
from sheetledger.store import LocalState

MORNING = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Yekaterinburg"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING.timestamp())


@pytest.fixture
def box(tmp_path: Path, clock: ManualClock) -> Iterator[Sandbox]:
    sandbox = Sandbox.start(tmp_path / "sandbox", clock=clock)
    for person in (ACCOUNTANT_ID, SUPPLY_ID):  # they have started the bot once
        sandbox.telegram.open_chat(person)
    try:
        yield sandbox
    finally:
        sandbox.stop(save=False)


@pytest.fixture
def config(box: Sandbox) -> Config:
    return box.load_config()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalState]:
    state = LocalState(tmp_path / "state.db")
    yield state
    state.close()
