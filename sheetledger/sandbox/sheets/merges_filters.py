"""Merges, conditional format rules and the basic filter: objects laid over a tab's cells."""

from __future__ import annotations

import copy
from typing import Any

from sheetledger.sandbox.a1 import Bounds
from sheetledger.sandbox.sheets.core import SheetsCore
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet

MERGE_TYPES = ("MERGE_ALL", "MERGE_COLUMNS", "MERGE_ROWS")


def merge_pieces(kind: str, box: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """The merges one mergeCells makes over ``box``; a piece of one cell is no merge."""
    r0, r1, c0, c1 = box
    if kind == "MERGE_ROWS":
        pieces = [(r, r + 1, c0, c1) for r in range(r0, r1)]
    elif kind == "MERGE_COLUMNS":
        pieces = [(r0, r1, c, c + 1) for c in range(c0, c1)]
    else:
        pieces = [box]
    return [(a, b, c, d) for a, b, c, d in pieces if (b - a) * (d - c) > 1]


def _grid(r0: int, r1: int, c0: int, c1: int) -> dict[str, int]:
    return {"startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1}


class MergeAndFilterRequests(SheetsCore):
    """mergeCells, unmergeCells, addConditionalFormatRule, set/clearBasicFilter."""

    def _req_mergeCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        """One merge per row (MERGE_ROWS) or per column (MERGE_COLUMNS), or one for all.

        MERGE_ROWS over A1:B2 gives the two merges A1:B1 and A2:B2; a MERGE_ALL over them
        then replaces both with A1:B2 (gspread's recording CellTest.test_merge_cells,
        replayed in tests/sandbox/test_sheets_shapes.py).
        """
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        kind = p.get("mergeType") or "MERGE_ALL"
        if kind not in MERGE_TYPES:
            raise InvalidRequest(f"Invalid mergeType: {kind}")
        box = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        kept = self._merges_outside(sheet, box)
        sheet.extra_properties["_merges"] = kept + [
            {"sheetId": sheet.sheet_id, **_grid(*piece)} for piece in merge_pieces(kind, box)
        ]

    def _req_unmergeCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        box = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        kept = self._merges_outside(sheet, box)
        if kept:
            sheet.extra_properties["_merges"] = kept
        else:
            sheet.extra_properties.pop("_merges", None)

    @staticmethod
    def _merges_outside(sheet: Sheet, box: tuple[int, int, int, int]) -> list[dict[str, Any]]:
        """The merges a (un)merge of ``box`` leaves alone; one it cuts through is refused."""
        r0, r1, c0, c1 = box
        kept = []
        for merge in sheet.extra_properties.get("_merges") or []:
            m0, m1, n0, n1 = Bounds.from_grid_range(merge).clip(sheet.row_count, sheet.column_count)
            if m1 <= r0 or r1 <= m0 or n1 <= c0 or c1 <= n0:
                kept.append(merge)
            elif not (r0 <= m0 and m1 <= r1 and c0 <= n0 and n1 <= c1):
                raise InvalidRequest(
                    "You must select all cells in a merged range to merge or unmerge them."
                )
        return kept

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
