"""The management table across a daemon's restart, and with the tabs titled in Russian.

Through the sandbox: the real daemon's report step (``Daemon._refresh_reports``) and
``init`` on a config whose tab titles are Russian.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sheetledger.config import Config
from sheetledger.connect import build_google, master_ledger
from sheetledger.daemon import Daemon
from sheetledger.ledger.setup import prepare
from sheetledger.reports.pivots import ensure_pivots
from sheetledger.reports.refresh import FINGERPRINT_KEY, ReportMemory, refresh_reports
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerChanges, RowAppend
from tests.e2e.world import CARD, World, make_world

TODAY = date(2026, 11, 27)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path / "world")
    try:
        yield w
    finally:
        w.box.stop(save=False)
        w.store.close()


def _every_cycle(config: Config) -> Config:
    reports = config.reports.model_copy(update={"every_seconds": 0})
    return config.model_copy(update={"reports": reports})


def _expense(world: World, row_id: str, amount: str) -> None:
    values = {"id": row_id, "date": date(2026, 11, 25), "amount": Decimal(amount),
              "category": "Rent"}  # fmt: skip
    world.ledger.write(LedgerChanges(appends=[RowAppend("expenses", row_id, values)]))


def _writes(world: World) -> int:
    return int(world.box.sheets.counters.by_kind.get("write", 0))


def test_a_restarted_daemon_does_not_rewrite_figures_the_tabs_already_show(
    world: World, tmp_path: Path
) -> None:
    deal = world.deal("R-1", payments=((40_000, CARD, date(2026, 11, 20)),))
    world.sync()
    world.tick(f"{deal}:1")
    world.sync()
    config = _every_cycle(world.config)
    db = tmp_path / "daemon.db"

    first = Daemon(config, store=LocalState(db), with_bot=False)
    try:
        before = _writes(world)
        first._refresh_reports()
        assert _writes(world) == before + 1  # the three tabs, one batchUpdate
        assert first.store.get(FINGERPRINT_KEY) == first.report_memory.fingerprint
    finally:
        first.close()
    revenue = [r["Revenue"] for r in world.rows("profit")]
    assert revenue == [40000]

    restarted = Daemon(config, store=LocalState(db), with_bot=False)
    try:
        before = _writes(world)
        restarted._refresh_reports()
        assert _writes(world) == before  # same figures: nothing written after the restart
        _expense(world, "e1", "1500")
        before = _writes(world)
        restarted._refresh_reports()
        assert _writes(world) == before + 1  # a source changed: written once
    finally:
        restarted.close()
    pnl = {r["Month"]: r for r in world.rows("pnl")}
    assert pnl["2026-11"]["Net profit"] == 38500


def test_russian_tab_titles_work_the_same(world: World) -> None:
    titles = world.config.google.tabs.model_copy(
        update={
            "deals": "Сделки",
            "payments": "Платежи",
            "expenses": "Расходы",
            "profit": "Прибыль",
            "pnl": "ПиУ",
            "dimensions": "Разрезы",
            "pivots": "Сводные",
        }
    )
    google = world.config.google.model_copy(update={"tabs": titles})
    config = world.config.model_copy(update={"google": google})
    ledger = master_ledger(config, build_google(config))
    report = prepare(ledger)
    assert {"Сделки", "Платежи", "Расходы", "Прибыль", "ПиУ", "Разрезы"} <= set(report.created)
    assert ensure_pivots(ledger, "Сводные").added  # pivots and the chart over the Russian tabs
    assert not ensure_pivots(ledger, "Сводные").added  # once

    changes = LedgerChanges()
    changes.appends += [
        RowAppend("deals", "7", {"id": 7, "name": "Кухня", "manager": "Анна", "salon": "Ленина"}),
        RowAppend("payments", "7:1", {"id": "7:1", "deal_id": 7, "amount": Decimal("1000.50"),
                                      "method": "card", "confirmed": True,
                                      "confirmed_at": date(2026, 11, 3)}),
    ]  # fmt: skip
    ledger.write(changes)
    memory = ReportMemory()
    assert refresh_reports(config, ledger, TODAY, memory).written
    sheet = config.google.spreadsheet_id
    values = world.box.sheets.values(sheet, "ПиУ")
    header = [str(h) for h in values[0]]
    november = dict(zip(header, next(r for r in values[1:] if r[0] == "2026-11"), strict=False))
    assert november["Revenue"] == 1000.5
    profit = world.box.sheets.values(sheet, "Прибыль")
    assert len(profit) == 2 and "Кухня" in profit[1]
    # The English tabs of the world's own config were not touched by this one.
    assert world.rows("profit") == []
    again = refresh_reports(config, master_ledger(config, build_google(config)), TODAY, memory)
    assert not again.written
