"""The daemon's report job: read the sources, recompute when they changed, rewrite in one write.

Requests (bench/bench_reports.py measures them): a Drive ``version`` look-up every cycle;
when the spreadsheet changed, one ``values:batchGet`` of Deals, Payments, Expenses and Invoices;
when the figures differ from the ones last written, one ``batchUpdate`` rewriting Profit, P&L and
Dimensions whole (their grids are resized to the rows, so nothing stale stays below).
An idle cycle reads nothing and computes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sheetledger.config import Config
from sheetledger.ledger.batch import MONEY_FORMAT
from sheetledger.ledger.cells import Kind, neutralise
from sheetledger.ledger.sheets import HeaderProblem, LedgerSheets
from sheetledger.ledger.tabs import PERCENT_COLUMNS, TabSchema
from sheetledger.reports.figures import (
    Allocation,
    Period,
    dimension_rows,
    pnl_rows,
    profit_rows,
)
from sheetledger.reports.inputs import RevenueDay, gather

log = logging.getLogger(__name__)

SOURCES = ("deals", "payments", "expenses")
ORDER_SOURCES = ("invoices",)  # read too when the ledger has it: paid orders are costs


def source_keys(tabs: Mapping[str, Any]) -> list[str]:
    """The report's source tabs this ledger has (Invoices is optional)."""
    return [*SOURCES, *(key for key in ORDER_SOURCES if key in tabs)]


def report_sources(view: Any, keys: Sequence[str]) -> dict[str, list[Mapping[str, Any]]]:
    """The rows ``compute_reports`` and ``period_report`` take, paid orders as ``orders``."""
    sources: dict[str, list[Mapping[str, Any]]] = {key: list(view.tab(key)) for key in SOURCES}
    sources["orders"] = list(view.tab("invoices")) if "invoices" in keys else []
    return sources


REPORTS = ("profit", "pnl", "dimensions")
PERCENT_FORMAT = {"type": "PERCENT", "pattern": "0.0%"}


@dataclass
class ReportMemory:
    """What the last refresh wrote, so equal figures are not written again.

    ``fingerprint`` (a digest of the rows written) is what the daemon keeps in its local
    state, so a restarted daemon does not rewrite figures the tabs already show.
    """

    written: dict[str, list[dict[str, Any]]] | None = None
    day: date | None = None
    ran_at: datetime | None = None  # the daemon's last call (``reports.every_seconds``)
    fingerprint: str | None = None


FINGERPRINT_KEY = "reports.fingerprint"  # in state.db: the digest of the rows last written


def fingerprint(tabs: Mapping[str, list[dict[str, Any]]], titles: Sequence[str] = ()) -> str:
    """A digest of the report rows (and the tab titles they went to), stable across runs."""
    text = json.dumps([list(titles), tabs], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Refresh:
    recomputed: bool
    written: bool


def compute_reports(
    config: Config, sources: Mapping[str, Sequence[Mapping[str, Any]]], today: date
) -> dict[str, list[dict[str, Any]]]:
    """The three report tabs' rows from the source tabs' rows. Pure."""
    inputs = gather(
        sources["deals"],
        sources["payments"],
        sources["expenses"],
        sources.get("orders", ()),
        day=RevenueDay(config.reports.revenue_day),
    )
    allocation = Allocation(config.reports.allocation)
    categories = tuple(c.name for c in config.expenses.categories)
    periods = (Period.month(today.year, today.month), Period.year_to(today))
    return {
        "profit": profit_rows(inputs),
        "pnl": pnl_rows(inputs, categories, config.reports.marketing_categories),
        "dimensions": [row for p in periods for row in dimension_rows(inputs, p, allocation)],
    }


def refresh_reports(
    config: Config, ledger: LedgerSheets, today: date, memory: ReportMemory
) -> Refresh:
    """Recompute and rewrite the report tabs when a source changed since the last call."""
    keys = source_keys(ledger.tabs)
    view = ledger.read_if_changed(keys)
    if ledger.last_read_cached and memory.day == today and memory.written is not None:
        return Refresh(recomputed=False, written=False)
    broken = ledger.header_problems()
    for key in keys:
        if key in broken:
            raise HeaderProblem(ledger.tabs[key][0], broken[key])
    rows = compute_reports(config, report_sources(view, keys), today)
    memory.day = today
    digest = fingerprint(rows, [ledger.tabs[key][0] for key in REPORTS])
    if rows == memory.written or digest == memory.fingerprint:
        memory.written = rows
        return Refresh(recomputed=True, written=False)
    write_reports(ledger, rows)
    memory.written, memory.fingerprint = rows, digest
    return Refresh(recomputed=True, written=True)


def write_reports(ledger: LedgerSheets, tabs: Mapping[str, list[dict[str, Any]]]) -> None:
    """Rewrite each tab whole (header included) in one batchUpdate."""
    ids = ledger.sheet_ids()
    if any(ledger.tabs[key][0] not in ids for key in tabs):
        # sheet_ids() keeps what earlier writes located, which may predate these tabs.
        ledger._sheet_ids.clear()
        ids = ledger.sheet_ids()
    requests: list[dict[str, Any]] = []
    for key, rows in tabs.items():
        title, schema = ledger.tabs[key]
        if title not in ids:
            raise HeaderProblem(title, "the tab is missing — run `sheetledger init`")
        requests.extend(tab_requests(ids[title], schema, rows))
    ledger.batch_update(requests, what="write reports")


def tab_requests(
    sheet_id: int, schema: TabSchema, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Resize the grid to the rows, then write the header and every row with its formats.

    One blank row stays below the last (the header is frozen, and Sheets refuses a grid
    with no unfrozen row); it is cleared, as is whatever stood in the rows cut off.
    """
    blank: dict[str, Any] = {"values": [{} for _ in schema.columns]}
    header = {"values": [{"userEnteredValue": {"stringValue": c.header}} for c in schema.columns]}
    body = [
        {"values": [_cell(schema, i, row.get(c.key)) for i, c in enumerate(schema.columns)]}
        for row in rows
    ]
    return [
        {
            "updateSheetProperties": {
                "properties": {
                    "sheetId": sheet_id,
                    "gridProperties": {
                        "rowCount": len(rows) + 2,
                        "columnCount": max(schema.width, 26),
                    },
                },
                "fields": "gridProperties.rowCount,gridProperties.columnCount",
            }
        },
        {
            "updateCells": {
                "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                "rows": [header, *body, blank],
                "fields": "userEnteredValue,userEnteredFormat.numberFormat",
            }
        },
    ]


def _cell(schema: TabSchema, index: int, value: Any) -> dict[str, Any]:
    column = schema.columns[index]
    if value is None or value == "":
        return {}
    if column.key in PERCENT_COLUMNS:
        return {
            "userEnteredValue": {"numberValue": float(value)},
            "userEnteredFormat": {"numberFormat": PERCENT_FORMAT},
        }
    if column.kind is Kind.MONEY:
        return {
            "userEnteredValue": {"numberValue": float(value)},
            "userEnteredFormat": {"numberFormat": MONEY_FORMAT},
        }
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float | Decimal):
        return {
            "userEnteredValue": {
                "numberValue": value if not isinstance(value, Decimal) else float(value)
            }
        }
    # People's text (deal names, categories): a string value, never parsed, and neutralised
    # so that pressing Enter in the cell cannot make it a formula either.
    return {"userEnteredValue": {"stringValue": neutralise(str(value))}}
