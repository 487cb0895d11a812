"""Dimension requests: insert, append, delete, resize and sort rows/columns.

What is anchored to the cells (ranges, metadata, charts, filters) moves with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sheetledger.sandbox.a1 import Bounds, shift_on_delete, shift_on_insert
from sheetledger.sandbox.sheets.core import DIMENSIONS, SheetsCore, flag
from sheetledger.sandbox.sheets.dimension_groups import shift_groups
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.formats import render_formatted
from sheetledger.sandbox.sheets.formulas import FormulaError
from sheetledger.sandbox.sheets.masks import apply_mask
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet, walk_grid_ranges


def fitted_pixels(text: str, text_format: dict[str, Any], dim: str) -> int:
    """The pixels a cell's text needs: its widest line across, its lines down.

    An estimate of Sheets' autofit: Arial's average advance is about 0.7 of the font
    size (7 px at the default 10 pt), bold about a tenth wider, 3 px of padding each
    side; a line is 1.7 times the font size tall, so one line at 10 pt is the default
    21-pixel row.
    """
    size = float(text_format.get("fontSize") or 10)
    lines = text.split("\n") or [""]
    if dim == "ROWS":
        return math.ceil(len(lines) * size * 1.7) + 4
    advance = size * 0.7 * (1.1 if text_format.get("bold") else 1.0)
    return math.ceil(max(len(line) for line in lines) * advance) + 6


def _sort_key(value: Any, descending: bool) -> tuple[int, Any]:
    """Sheets' order: numbers, then text (case-insensitive), then booleans; blanks always last."""
    if value is None or value == "":
        return (1, 0)
    key: Any
    if isinstance(value, bool):
        rank, key = 2, int(value)
    elif isinstance(value, int | float):
        rank, key = 0, value
    else:
        rank, key = 1, str(value).lower()
    if descending:
        return (0, _Reversed((rank, key)))
    return (0, (rank, key))


class _Reversed:
    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


class DimensionRequests(SheetsCore):
    """Rows and columns: every anchored object (ranges, metadata, charts) follows its cells."""

    def _dimension_target(
        self, book: Spreadsheet, dim_range: Any
    ) -> tuple[Sheet, str, int, int | None]:
        if not isinstance(dim_range, dict):
            raise InvalidRequest("range must be a DimensionRange")
        sheet = self._grid_sheet(book, dim_range)
        dimension = dim_range.get("dimension")
        if dimension not in DIMENSIONS:
            raise InvalidRequest("dimension must be ROWS or COLUMNS")
        start = int(dim_range.get("startIndex") or 0)
        end = dim_range.get("endIndex")
        return sheet, dimension, start, None if end is None else int(end)

    def _req_insertDimension(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, dim, start, end = self._dimension_target(book, p.get("range"))
        limit = sheet.row_count if dim == "ROWS" else sheet.column_count
        if end is None or end <= start:
            raise InvalidRequest("The range must have a positive length (endIndex > startIndex).")
        if start > limit:
            raise InvalidRequest(
                f"Cannot insert at index {start}: the sheet has only {limit} "
                f"{'rows' if dim == 'ROWS' else 'columns'}."
            )
        inherit = flag(p.get("inheritFromBefore"))
        if inherit and start == 0:
            raise InvalidRequest("Cannot inherit properties from before when inserting at index 0.")
        self._insert_dimension(book, sheet, dim, start, end - start, inherit_before=inherit)
        self._check_cells_limit(book)

    def _req_appendDimension(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet = self._grid_sheet(book, {"sheetId": p.get("sheetId")})
        dim = p.get("dimension")
        length = int(p.get("length") or 0)
        if dim not in DIMENSIONS or length < 1:
            raise InvalidRequest("appendDimension needs a dimension and a positive length.")
        at = sheet.row_count if dim == "ROWS" else sheet.column_count
        self._insert_dimension(book, sheet, dim, at, length, inherit_before=True)
        self._check_cells_limit(book)

    def _req_deleteDimension(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, dim, start, end = self._dimension_target(book, p.get("range"))
        limit = sheet.row_count if dim == "ROWS" else sheet.column_count
        end = limit if end is None else min(end, limit)
        if end <= start:
            raise InvalidRequest("The range must have a positive length (endIndex > startIndex).")
        if start == 0 and end >= limit:
            noun = "rows" if dim == "ROWS" else "columns"
            raise InvalidRequest(f"You can't delete all the {noun} on the sheet.")
        self._delete_dimension(book, sheet, dim, start, end)

    def _req_updateDimensionProperties(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> None:
        tree = self._mask(p)
        sheet, dim, start, end = self._dimension_target(book, p.get("range"))
        limit = sheet.row_count if dim == "ROWS" else sheet.column_count
        end = limit if end is None else min(end, limit)
        wanted = {
            k: v
            for k, v in (p.get("properties") or {}).items()
            if k in ("pixelSize", "hiddenByUser")
        }
        store = sheet.row_props if dim == "ROWS" else sheet.col_props
        for index in range(start, end):
            merged = apply_mask(store.get(index, {}), wanted, tree)
            merged = {k: v for k, v in merged.items() if k in ("pixelSize", "hiddenByUser") and v}
            if merged:
                store[index] = merged
            else:
                store.pop(index, None)

    def _insert_dimension(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        dim: str,
        at: int,
        count: int,
        *,
        inherit_before: bool,
    ) -> None:
        """Insert rows/columns and move everything anchored below/right of them, like Google."""
        if dim == "ROWS":
            source = at - 1 if inherit_before else (at if at < sheet.row_count else None)
            sheet.insert_rows(at, count, source)
            if sheet.frozen_rows > at:
                sheet.frozen_rows += count
        else:
            source = at - 1 if inherit_before else (at if at < sheet.column_count else None)
            sheet.insert_cols(at, count, source)
            if sheet.frozen_cols > at:
                sheet.frozen_cols += count
        self._shift_objects(
            book, sheet, dim, lambda v, is_end: shift_on_insert(v, at, count, is_end=is_end)
        )

    def _delete_dimension(
        self, book: Spreadsheet, sheet: Sheet, dim: str, start: int, end: int
    ) -> None:
        if dim == "ROWS":
            sheet.delete_rows(start, end)
            sheet.frozen_rows = shift_on_delete(sheet.frozen_rows, start, end) or 0
        else:
            sheet.delete_cols(start, end)
            sheet.frozen_cols = shift_on_delete(sheet.frozen_cols, start, end) or 0
        self._shift_objects(book, sheet, dim, lambda v, is_end: shift_on_delete(v, start, end))

    def _shift_objects(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        dim: str,
        move: Callable[[int | None, bool], int | None],
    ) -> None:
        """Protected/named ranges, charts, filters and row/column metadata follow the cells."""
        keys = (
            ("startRowIndex", "endRowIndex")
            if dim == "ROWS"
            else ("startColumnIndex", "endColumnIndex")
        )

        def shift(grid: dict[str, Any]) -> bool:
            """Move one GridRange; False when it vanished (all its rows/columns deleted)."""
            if int(grid.get("sheetId") or 0) != sheet.sheet_id:
                return True
            start, end = grid.get(keys[0]), grid.get(keys[1])
            new_start, new_end = move(start, False), move(end, True)
            if new_start is not None:
                grid[keys[0]] = new_start
            if new_end is not None:
                grid[keys[1]] = new_end
            return not (new_start is not None and new_end is not None and new_end <= new_start)

        kept = []
        for protected in sheet.protected_ranges:
            protected["range"].setdefault("sheetId", sheet.sheet_id)
            if shift(protected["range"]):
                for hole in protected.get("unprotectedRanges") or []:
                    hole.setdefault("sheetId", sheet.sheet_id)
                    shift(hole)
                kept.append(protected)
        sheet.protected_ranges = kept
        book.named_ranges = [n for n in book.named_ranges if shift(n["range"])]
        for other in book.sheets:
            for grid in walk_grid_ranges(
                [
                    other.charts,
                    {k: v for k, v in other.extra_properties.items() if k.startswith("_")},
                ]
            ):
                shift(grid)
        loc = "ROW" if dim == "ROWS" else "COLUMN"
        kept_meta = []
        for meta in book.metadata:
            if meta.loc_type == loc and meta.sheet_id == sheet.sheet_id:
                meta.start, meta.end = move(meta.start, False), move(meta.end, True)
                if meta.start is not None and meta.end is not None and meta.end <= meta.start:
                    continue  # "If the associated object is deleted its metadata is deleted too."
            kept_meta.append(meta)
        book.metadata = kept_meta
        shift_groups(sheet, dim, move)

    def _req_sortRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        specs = p.get("sortSpecs") or []
        if not specs:
            raise InvalidRequest("At least one sort spec is required.")
        self._sort(book, sheet, Bounds.from_grid_range(grid), specs)

    def _sort(
        self, book: Spreadsheet, sheet: Sheet, bounds: Bounds, specs: list[dict[str, Any]]
    ) -> None:
        """Reorder rows by the specs; whole-width sorts carry formats and row metadata along.

        Whether Google moves ROW developer metadata on a sort is undocumented
        (docs/api-notes.md, "Google: people editing"); the emulator moves it with the row
        when the sort spans the whole width (a person's "sort sheet"), which is what the
        design relies on.
        """
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        r1 = min(r1, len(sheet.cells))
        if r1 - r0 < 2:
            return

        def value(r: int, c: int) -> Any:
            try:
                return sheet.computed(r, c)
            except FormulaError as exc:
                return exc.code

        columns = []
        for spec in specs:
            index = spec.get("dimensionIndex")
            if index is None or not c0 <= int(index) < c1:
                raise InvalidRequest("The sort column must be within the sort range.")
            columns.append((int(index), spec.get("sortOrder") == "DESCENDING"))
        order = sorted(
            range(r0, r1), key=lambda r: tuple(_sort_key(value(r, c), d) for c, d in columns)
        )
        whole = c0 == 0 and c1 >= sheet.column_count
        if whole:
            sheet.cells[r0:r1] = [sheet.cells[r] for r in order]
            sheet.extras[r0:r1] = [sheet.extras[r] for r in order]
            new_index = {old: r0 + pos for pos, old in enumerate(order)}
            for meta in book.metadata:
                if (
                    meta.loc_type == "ROW"
                    and meta.sheet_id == sheet.sheet_id
                    and meta.start is not None
                    and meta.end == meta.start + 1
                    and meta.start in new_index
                ):
                    meta.start = new_index[meta.start]
                    meta.end = meta.start + 1
            return
        segments = [[sheet.value(r, c) for c in range(c0, c1)] for r in order]
        formats = [[sheet.extra(r, c) for c in range(c0, c1)] for r in order]
        for pos, r in enumerate(range(r0, r1)):
            for offset, c in enumerate(range(c0, c1)):
                sheet.set_value(r, c, segments[pos][offset])
                sheet.set_extra(r, c, formats[pos][offset])

    # -- fitting to content -----------------------------------------------------------

    def _req_autoResizeDimensions(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        """Columns as wide, rows as tall as what they show; empty ones keep their size."""
        if p.get("dimensions") is None:
            raise InvalidRequest("Only 'dimensions' (not data source sheets) is emulated.")
        sheet, dim, start, end = self._dimension_target(book, p.get("dimensions"))
        limit = sheet.row_count if dim == "ROWS" else sheet.column_count
        end = limit if end is None else min(end, limit)
        store = sheet.row_props if dim == "ROWS" else sheet.col_props
        for index in range(start, end):
            size = self._fitted_size(book, sheet, dim, index)
            if size is not None:
                store[index] = {**store.get(index, {}), "pixelSize": size}

    def _fitted_size(self, book: Spreadsheet, sheet: Sheet, dim: str, index: int) -> int | None:
        if dim == "ROWS":
            row = sheet.cells[index] if index < len(sheet.cells) else []
            places = [(index, c) for c in range(min(len(row), sheet.column_count))]
        else:
            places = [(r, index) for r in range(len(sheet.cells)) if index < len(sheet.cells[r])]
        sizes = []
        for r, c in places:
            if sheet.value(r, c) is None:
                continue
            try:
                shown = sheet.computed(r, c)
            except FormulaError as exc:
                shown = exc.code
            fmt = (sheet.extra(r, c) or {}).get("userEnteredFormat") or {}
            text = render_formatted(shown, fmt.get("numberFormat"), book.locale)
            sizes.append(fitted_pixels(text, fmt.get("textFormat") or {}, dim))
        return max(sizes) if sizes else None
