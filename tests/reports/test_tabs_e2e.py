"""The report tabs, pivots and chart on the Sheets emulator, through the real clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sheetledger import commands
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.reports.pivots import CHART_TITLE, ensure_pivots
from sheetledger.reports.refresh import ReportMemory, refresh_reports
from sheetledger.sync.ledger_view import LedgerChanges, RowAppend
from tests.e2e.world import CARD, CASH, World, make_world

TODAY = date(2026, 11, 27)
SALON = "Салон на Ленина"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    try:
        yield w
    finally:
        w.box.stop()


def add_expense(ledger: LedgerSheets, row_id: str, amount: str, category: str, **rest: Any) -> None:
    values = {
        "id": row_id,
        "date": date(2026, 11, 25),
        "amount": Decimal(amount),
        "category": category,
        **rest,
    }
    ledger.write(LedgerChanges(appends=[RowAppend("expenses", row_id, values)]))


def test_profit_pnl_and_dimensions_written_once_per_change(world: World) -> None:
    deal = world.deal(
        "D-1",
        price=100_000,
        payments=((30_000, CASH, date(2026, 11, 20)), (70_000, CARD, date(2026, 11, 21))),
    )
    world.sync()
    world.tick(f"{deal}:1", received="29999.99")
    world.sync()
    add_expense(world.ledger, "x1", "5000", "Materials", deal_id=deal)
    add_expense(world.ledger, "x2", "1000.50", "Advertising")
    config = world.config.model_copy(
        update={
            "reports": world.config.reports.model_copy(
                update={"marketing_categories": ("Advertising",)}
            )
        }
    )
    ledger = world.fresh_ledger()
    memory = ReportMemory()

    first = refresh_reports(config, ledger, TODAY, memory)
    assert (first.recomputed, first.written) == (True, True)
    (profit,) = world.rows("profit")
    assert profit["Deal ID"] == deal
    assert (profit["Revenue"], profit["Deal costs"], profit["Gross profit"]) == (
        29999.99,
        5000,
        24999.99,
    )
    assert profit["Balance due"] == 70000.01
    pnl = {r["Month"]: r for r in world.rows("pnl")}
    assert pnl["2026-11"]["Net profit"] == 23999.49  # 29,999.99 − 5,000 − 1,000.50
    assert pnl["2026-11"]["Marketing"] == 1000.5
    assert pnl["2026 total"]["Revenue"] == 29999.99
    dims = world.rows("dimensions")
    month = [r for r in dims if r["Period"] == "2026-11" and r["Dimension"] == "manager"]
    assert sum(r["Net profit"] for r in month) == pytest.approx(23999.49)

    # Our own write changed the file: the next call reads again, finds the same figures
    # and writes nothing; from then on nothing is read or computed.
    settle = refresh_reports(config, ledger, TODAY, memory)
    assert (settle.recomputed, settle.written) == (True, False)
    before = ledger.requests
    idle = refresh_reports(config, ledger, TODAY, memory)
    assert (idle.recomputed, idle.written) == (False, False)
    assert ledger.requests == before  # only the Drive version was asked

    add_expense(world.ledger, "x3", "10", "Rent")
    again = refresh_reports(config, ledger, TODAY, memory)
    assert again.written
    assert {r["Month"]: r for r in world.rows("pnl")}["2026-11"]["Net profit"] == 23989.49


def test_a_deal_named_like_a_formula_stays_text(world: World) -> None:
    world.deal("D-2", name="=IMPORTXML(1)")
    world.sync()
    refresh_reports(world.config, world.fresh_ledger(), TODAY, ReportMemory())
    (profit,) = world.rows("profit")
    assert profit["Deal"] == "'=IMPORTXML(1)"


def _pivots(ledger: LedgerSheets, title: str) -> dict[int, dict[str, Any]]:
    """The pivot tables on row 1 of ``title``, by column."""
    reply = ledger.metadata(
        "sheets(data(rowData(values(pivotTable))))", ranges=[f"'{title}'!A1:Z1"]
    )
    row = reply["sheets"][0]["data"][0]["rowData"][0]["values"]
    return {i: cell["pivotTable"] for i, cell in enumerate(row) if cell.get("pivotTable")}


def _charts(ledger: LedgerSheets) -> list[dict[str, Any]]:
    reply = ledger.metadata("sheets(charts)")
    return [c for s in reply["sheets"] for c in s.get("charts", [])]


def test_init_adds_pivots_and_the_chart_once_and_keeps_a_persons_arrangement(
    world: World,
) -> None:
    title = world.config.google.tabs.pivots
    first = ensure_pivots(world.ledger, title)
    assert first.added == [
        title,
        "pivot by manager",
        "pivot by product",
        "pivot by salon",
        "pivot by city",
        "chart",
    ]
    pivots = _pivots(world.ledger, title)
    assert sorted(pivots) == [0, 5, 10, 15]
    profit_id = world.ledger.sheet_ids()[world.ledger.tabs["profit"][0]]
    assert pivots[0]["source"]["sheetId"] == profit_id
    assert pivots[0]["rows"][0]["sourceColumnOffset"] == 3  # Manager
    assert pivots[0]["filterSpecs"][0]["columnOffsetIndex"] == 9  # Month
    (chart,) = _charts(world.ledger)
    assert chart["spec"]["title"] == CHART_TITLE
    assert chart["spec"]["basicChart"]["chartType"] == "COMBO"

    # A person sorts the manager pivot the other way and deletes the city pivot.
    sheet_id = world.ledger.sheet_ids()[title]
    mine = pivots[0] | {"rows": [{**pivots[0]["rows"][0], "sortOrder": "DESCENDING"}]}
    world.ledger.batch_update(
        [
            {
                "updateCells": {
                    "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": column},
                    "rows": [{"values": [{"pivotTable": table} if table else {}]}],
                    "fields": "pivotTable",
                }
            }
            for column, table in ((0, mine), (15, None))
        ],
        what="a person rearranges the pivots",
    )

    second = ensure_pivots(world.fresh_ledger(), title)
    assert second.added == ["pivot by city"]
    after = _pivots(world.ledger, title)
    assert after[0]["rows"][0]["sortOrder"] == "DESCENDING"
    assert sorted(after) == [0, 5, 10, 15]
    third = ensure_pivots(world.fresh_ledger(), title)
    assert (third.added, third.requests_sent) == ([], 0)
    assert len(_charts(world.ledger)) == 1


def test_the_report_command_prints_the_same_figures_as_json(world: World, tmp_path: Path) -> None:
    deal = world.deal("D-3", payments=((30_000, CASH, date(2026, 11, 20)),), salon=SALON)
    world.sync()
    world.tick(f"{deal}:1")
    world.sync()
    add_expense(world.ledger, "x1", "1200", "Materials")
    console = Console(record=True, width=200)
    png = tmp_path / "chart.png"
    code = commands.report(
        world.config, console, month="2026-11", by="salon", json_out=True, png=png
    )
    assert code == 0
    printed = json.loads(console.export_text())
    month, _total = printed["pnl"]
    assert (month["id"], month["revenue"], month["net_profit"]) == (
        "2026-11",
        "30000.00",
        "28800.00",
    )
    assert [(r["value"], r["net_profit"]) for r in printed["dimensions"]] == [(SALON, "28800.00")]
    assert png.read_bytes()[:4] == b"\x89PNG"
