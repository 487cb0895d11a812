"""Fixtures the bot's tests share: a sandbox with a prepared ledger, and a local state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetledger.config import Config
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import start_sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Config]]:
    box, config = start_sandbox(tmp_path / "sandbox")
    try:
        yield box, config
    finally:
        box.stop(save=False)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[LocalState]:
    db = LocalState(tmp_path / "state.db")
    yield db
    db.close()
