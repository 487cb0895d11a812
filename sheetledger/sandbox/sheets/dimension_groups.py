"""Row and column groups: addDimensionGroup, deleteDimensionGroup, updateDimensionGroup.

Google describes groups by their depth ("a group [C:D, depth 1] + [B:E] results in
groups [B:E, depth 1] and [C:D, depth 2]"; deleting D:E from [B:E, 1] and [C:D, 2]
"leaves ... [B:D, depth 1] and [C:C, depth 2]" - DeleteDimensionGroupRequest). Every
example follows from one rule: each row/column has a depth (how many groups cover
it) and the groups are the runs of depth >= 1, >= 2, ... So the groups are stored
as Google lists them and recomputed from that depth profile after every change.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sheetledger.sandbox.sheets.core import SheetsCore
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.json_shape import as_google_json
from sheetledger.sandbox.sheets.masks import apply_mask
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet

GROUPS = {"ROWS": "_rowGroups", "COLUMNS": "_columnGroups"}


def depth_profile(groups: list[dict[str, Any]]) -> dict[int, int]:
    """Index -> how many groups cover it."""
    depth: dict[int, int] = {}
    for group in groups:
        span = group["range"]
        for index in range(span["startIndex"], span["endIndex"]):
            depth[index] = depth.get(index, 0) + 1
    return depth


def _runs(indexes: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted indexes, as half-open spans."""
    runs: list[tuple[int, int]] = []
    for index in indexes:
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


def groups_of(
    depth: dict[int, int], sheet_id: int, dimension: str, old: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The groups a depth profile makes, shallow first; a surviving group stays collapsed."""
    collapsed = {
        (g["range"]["startIndex"], g["range"]["endIndex"], g["depth"])
        for g in old
        if g.get("collapsed")
    }
    groups = []
    for level in range(1, max(depth.values(), default=0) + 1):
        for start, end in _runs(sorted(i for i, d in depth.items() if d >= level)):
            group = _group(sheet_id, dimension, start, end, level)
            if (start, end, level) in collapsed:
                group["collapsed"] = True
            groups.append(group)
    return groups


def _group(sheet_id: int, dimension: str, start: int, end: int, depth: int) -> dict[str, Any]:
    span = {"sheetId": sheet_id, "dimension": dimension, "startIndex": start, "endIndex": end}
    return {"range": span, "depth": depth}


def shift_groups(
    sheet: Sheet, dimension: str, move: Callable[[int | None, bool], int | None]
) -> None:
    """Groups follow rows/columns inserted or deleted (a group whose rows all go, goes)."""
    key = GROUPS[dimension]
    old = sheet.extra_properties.get(key)
    if not old:
        return
    moved = []
    for group in old:
        span = group["range"]
        start, end = move(span["startIndex"], False), move(span["endIndex"], True)
        if start is not None and end is not None and end > start:
            moved.append({**group, "range": {**span, "startIndex": start, "endIndex": end}})
    regrouped = groups_of(depth_profile(moved), sheet.sheet_id, dimension, moved)
    if regrouped:
        sheet.extra_properties[key] = regrouped
    else:
        sheet.extra_properties.pop(key, None)


class DimensionGroupRequests(SheetsCore):
    """Grouping rows or columns (the +/- bars people use to fold detail rows)."""

    def _group_target(self, book: Spreadsheet, span: Any) -> tuple[Sheet, str, int, int]:
        if not isinstance(span, dict):
            raise InvalidRequest("range must be a DimensionRange")
        sheet = self._grid_sheet(book, span)
        dimension = span.get("dimension")
        if dimension not in GROUPS:
            raise InvalidRequest("dimension must be ROWS or COLUMNS")
        limit = sheet.row_count if dimension == "ROWS" else sheet.column_count
        start = int(span.get("startIndex") or 0)
        end = limit if span.get("endIndex") is None else min(int(span["endIndex"]), limit)
        if end <= start:
            raise InvalidRequest("The range must have a positive length (endIndex > startIndex).")
        return sheet, dimension, start, end

    def _regroup(
        self, sheet: Sheet, dimension: str, change: Callable[[dict[int, int]], None]
    ) -> list[dict[str, Any]]:
        key = GROUPS[dimension]
        old = sheet.extra_properties.get(key) or []
        depth = depth_profile(old)
        change(depth)
        groups = groups_of(depth, sheet.sheet_id, dimension, old)
        if groups:
            sheet.extra_properties[key] = groups
        else:
            sheet.extra_properties.pop(key, None)
        return [as_google_json(g) for g in groups]

    def _req_addDimensionGroup(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        sheet, dimension, start, end = self._group_target(book, p.get("range"))

        def deepen(depth: dict[int, int]) -> None:
            for index in range(start, end):
                depth[index] = depth.get(index, 0) + 1

        groups = self._regroup(sheet, dimension, deepen)
        return {"addDimensionGroup": {"dimensionGroups": groups}}

    def _req_deleteDimensionGroup(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        sheet, dimension, start, end = self._group_target(book, p.get("range"))
        depth_now = depth_profile(sheet.extra_properties.get(GROUPS[dimension]) or [])
        if not any(depth_now.get(index) for index in range(start, end)):
            raise InvalidRequest("No grouping exists over the specified range.")

        def flatten(depth: dict[int, int]) -> None:
            for index in range(start, end):
                if depth.get(index):
                    depth[index] -= 1

        groups = self._regroup(sheet, dimension, flatten)
        return {"deleteDimensionGroup": {"dimensionGroups": groups}}

    def _req_updateDimensionGroup(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        wanted = p.get("dimensionGroup") or {}
        sheet, dimension, start, end = self._group_target(book, wanted.get("range"))
        for group in sheet.extra_properties.get(GROUPS[dimension]) or []:
            span = group["range"]
            if (span["startIndex"], span["endIndex"], group["depth"]) == (
                start,
                end,
                wanted.get("depth"),
            ):
                merged = apply_mask(copy.deepcopy(group), wanted, tree)
                group["collapsed"] = bool(merged.get("collapsed"))
                if not group["collapsed"]:
                    del group["collapsed"]
                return
        raise InvalidRequest("No dimension group matches the given range and depth.")
