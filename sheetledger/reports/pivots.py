"""Native pivot tables over Profit and the marketing-versus-turnover chart, made by ``init``.

They are Sheets' own objects: they recompute themselves whenever the daemon rewrites
Profit and P&L, and people may rearrange them. So ``init`` only adds what is missing
(a pivot is found by its anchor cell, the chart by its title) and never touches one
that exists: a person's arrangement is kept, a second ``init`` adds nothing.

A ``spreadsheets.get`` of the tabs and the charts' titles, one of the pivots' anchor
row when that tab exists, then at most one ``batchUpdate``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sheetledger.ledger.sheets import LedgerSheets, column_letter, quote_title
from sheetledger.ledger.tabs import PROFIT, TabSchema

PIVOT_DIMENSIONS = ("manager", "product", "salon", "city")
PIVOT_SPACING = 5  # columns between pivots: row labels, two sums, a gap
CHART_TITLE = "Marketing spend vs turnover"


@dataclass
class PivotReport:
    added: list[str] = field(default_factory=list)
    requests_sent: int = 0


def pivot_anchor(index: int) -> int:
    """The column of the ``index``-th pivot on the pivots tab (row 1)."""
    return index * PIVOT_SPACING


def pivot_table(profit_id: int, dimension: str) -> dict[str, Any]:
    """Revenue and gross profit summed by ``dimension``, with a month filter (all shown)."""
    offset = PROFIT.index
    return {
        "source": {
            "sheetId": profit_id,
            "startRowIndex": 0,
            "startColumnIndex": 0,
            "endColumnIndex": PROFIT.width,
        },
        "rows": [
            {"sourceColumnOffset": offset[dimension], "showTotals": True, "sortOrder": "ASCENDING"}
        ],
        "values": [
            {
                "summarizeFunction": "SUM",
                "sourceColumnOffset": offset["revenue"],
                "name": "Revenue",
            },
            {
                "summarizeFunction": "SUM",
                "sourceColumnOffset": offset["gross_profit"],
                "name": "Gross profit",
            },
        ],
        "filterSpecs": [{"columnOffsetIndex": offset["month"], "filterCriteria": {}}],
        "valueLayout": "HORIZONTAL",
    }


def marketing_chart(pnl_id: int, pnl: TabSchema, anchor_sheet: int) -> dict[str, Any]:
    """A combo chart over P&L: marketing spend as columns, turnover (revenue) as a line."""

    def series(key: str) -> dict[str, Any]:
        column = pnl.index[key]
        grid = {
            "sheetId": pnl_id,
            "startRowIndex": 0,
            "startColumnIndex": column,
            "endColumnIndex": column + 1,
        }
        return {"sourceRange": {"sources": [grid]}}

    return {
        "spec": {
            "title": CHART_TITLE,
            "basicChart": {
                "chartType": "COMBO",
                "legendPosition": "BOTTOM_LEGEND",
                "headerCount": 1,
                "domains": [{"domain": series("id")}],
                "series": [
                    {"series": series("marketing"), "type": "COLUMN", "targetAxis": "LEFT_AXIS"},
                    {"series": series("revenue"), "type": "LINE", "targetAxis": "LEFT_AXIS"},
                ],
            },
        },
        "position": {
            "overlayPosition": {
                "anchorCell": {
                    "sheetId": anchor_sheet,
                    "rowIndex": 30,
                    "columnIndex": 0,
                }
            }
        },
    }


def plan_pivots(
    sheet_ids: Mapping[str, int],
    titles: Mapping[str, str],
    pnl: TabSchema,
    anchors_taken: set[int],
    chart_titles: set[str],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The requests that add what is missing, and what they add. Pure."""
    requests: list[dict[str, Any]] = []
    added: list[str] = []
    pivots_id = sheet_ids.get(titles["pivots"])
    if pivots_id is None:
        pivots_id = 100_000 + zlib.crc32(titles["pivots"].encode()) % 1_000_000_000
        requests.append(
            {"addSheet": {"properties": {"sheetId": pivots_id, "title": titles["pivots"]}}}
        )
        added.append(titles["pivots"])
    for index, dimension in enumerate(PIVOT_DIMENSIONS):
        column = pivot_anchor(index)
        if column in anchors_taken:
            continue
        requests.append(
            {
                "updateCells": {
                    "start": {"sheetId": pivots_id, "rowIndex": 0, "columnIndex": column},
                    "rows": [
                        {
                            "values": [
                                {"pivotTable": pivot_table(sheet_ids[titles["profit"]], dimension)}
                            ]
                        }
                    ],
                    "fields": "pivotTable",
                }
            }
        )
        added.append(f"pivot by {dimension}")
    if CHART_TITLE not in chart_titles:
        requests.append(
            {"addChart": {"chart": marketing_chart(sheet_ids[titles["pnl"]], pnl, pivots_id)}}
        )
        added.append("chart")
    return requests, added


def ensure_pivots(ledger: LedgerSheets, pivots_title: str) -> PivotReport:
    """Add the pivots and the chart that are missing (after ``setup.prepare``)."""
    titles = {key: ledger.tabs[key][0] for key in ("profit", "pnl")} | {"pivots": pivots_title}
    anchors = (
        f"{quote_title(pivots_title)}!A1:{column_letter(pivot_anchor(len(PIVOT_DIMENSIONS)))}1"
    )
    meta = ledger.metadata("sheets(properties(sheetId,title),charts(spec(title)))")
    sheet_ids = {
        s["properties"]["title"]: int(s["properties"]["sheetId"]) for s in meta.get("sheets", [])
    }
    chart_titles = {
        str((c.get("spec") or {}).get("title"))
        for s in meta.get("sheets", [])
        for c in s.get("charts", [])
    }
    taken: set[int] = set()
    if pivots_title in sheet_ids:
        taken = _pivot_columns(ledger, anchors)
    requests, added = plan_pivots(sheet_ids, titles, ledger.tabs["pnl"][1], taken, chart_titles)
    report = PivotReport(added)
    if requests:
        ledger.batch_update(requests, what="add pivots")
        report.requests_sent = 1
    return report


def _pivot_columns(ledger: LedgerSheets, anchors: str) -> set[int]:
    reply = ledger.metadata(
        "sheets(data(startColumn,rowData(values(pivotTable))))", ranges=[anchors]
    )
    taken = set()
    for sheet in reply.get("sheets", []):
        for block in sheet.get("data", []):
            first = int(block.get("startColumn", 0))
            for row in block.get("rowData", [])[:1]:
                for offset, cell in enumerate(row.get("values", [])):
                    if cell.get("pivotTable"):
                        taken.add(first + offset)
    return taken
