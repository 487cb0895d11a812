"""The daemon's tests share one fixture: a sandbox whose spreadsheets are prepared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
from sheetledger.ledger.setup import prepare
from sheetledger.sandbox.runner import Sandbox


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = Sandbox.start(tmp_path / "sandbox")
    config = sandbox.load_config()
    client = build_google(config)
    for sheets in [master_ledger(config, client), *cabinet_ledgers(config, client).values()]:
        prepare(sheets)
    yield sandbox
    sandbox.stop(save=False)
