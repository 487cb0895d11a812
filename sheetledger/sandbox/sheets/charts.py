"""Charts (embedded objects). Pivot tables are cell fields (``pivotTable``), set by updateCells."""

from __future__ import annotations

import copy
from typing import Any

from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet, walk_grid_ranges
from sheetledger.sandbox.sheets.sheet_requests import SheetRequests


class ChartRequests(SheetRequests):
    """addChart, updateChartSpec, deleteEmbeddedObject."""

    def _req_addChart(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> dict[str, Any]:
        chart = copy.deepcopy(p.get("chart") or {})
        if not chart.get("spec"):
            raise InvalidRequest("A chart must have a spec.")
        chart["chartId"] = int(chart.get("chartId") or self._new_id())
        position = chart.get("position") or {}
        if position.get("newSheet"):
            added = self._req_addSheet(
                book, {"properties": {"title": f"Chart{len(book.sheets) + 1}"}}, caller
            )
            sheet_id = added["addSheet"]["properties"]["sheetId"]
            chart["position"] = {"sheetId": sheet_id}
        else:
            anchor = (position.get("overlayPosition") or {}).get("anchorCell") or {}
            sheet_id = int(anchor.get("sheetId") or position.get("sheetId") or 0)
        sheet = self._grid_sheet(book, {"sheetId": sheet_id})
        for grid in walk_grid_ranges(chart.get("spec")):
            self._grid_sheet(book, grid)  # every source must name an existing sheet
        sheet.charts.append(chart)
        reply = copy.deepcopy(chart)
        for source in walk_grid_ranges(reply.get("spec")):
            if not source.get("sheetId"):
                source.pop("sheetId", None)  # proto3 omits the default, as in spreadsheets.get
        return {"addChart": {"chart": reply}}

    def _find_chart(self, book: Spreadsheet, chart_id: Any) -> tuple[Sheet, dict[str, Any]]:
        for sheet in book.sheets:
            for chart in sheet.charts:
                if chart["chartId"] == int(chart_id or 0):
                    return sheet, chart
        raise InvalidRequest(f"No chart with id: {chart_id}")

    def _req_updateChartSpec(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        _, chart = self._find_chart(book, p.get("chartId"))
        chart["spec"] = copy.deepcopy(p.get("spec") or {})

    def _req_deleteEmbeddedObject(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, chart = self._find_chart(book, p.get("objectId"))
        sheet.charts.remove(chart)
