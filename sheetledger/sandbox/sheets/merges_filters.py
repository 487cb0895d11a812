"""Merges, conditional format rules and the basic filter: objects laid over a tab's cells."""

from __future__ import annotations

import copy
from typing import Any

from sheetledger.sandbox.a1 import Bounds
from sheetledger.sandbox.sheets.core import SheetsCore
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.model import Spreadsheet


class MergeAndFilterRequests(SheetsCore):
    """mergeCells, unmergeCells, addConditionalFormatRule, set/clearBasicFilter."""

    def _req_mergeCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        sheet.extra_properties.setdefault("_merges", []).append({**grid, "sheetId": sheet.sheet_id})

    def _req_unmergeCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        merges = sheet.extra_properties.get("_merges") or []
        sheet.extra_properties["_merges"] = [
            m
            for m in merges
            if not (lambda b: r0 <= b[0] and b[1] <= r1 and c0 <= b[2] and b[3] <= c1)(
                Bounds.from_grid_range(m).clip(sheet.row_count, sheet.column_count)
            )
        ]

    def _req_addConditionalFormatRule(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> None:
        rule = copy.deepcopy(p.get("rule") or {})
        ranges = rule.get("ranges") or []
        if not ranges:
            raise InvalidRequest("A conditional format rule needs at least one range.")
        sheet = self._grid_sheet(book, ranges[0])
        rules = sheet.extra_properties.setdefault("_conditionalFormats", [])
        index = p.get("index")
        rules.insert(len(rules) if index is None else int(index), rule)

    def _req_setBasicFilter(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        basic = copy.deepcopy(p.get("filter") or {})
        sheet = self._grid_sheet(book, basic.get("range") or {})
        sheet.extra_properties["_basicFilter"] = basic

    def _req_clearBasicFilter(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet = self._grid_sheet(book, {"sheetId": p.get("sheetId")})
        sheet.extra_properties.pop("_basicFilter", None)
