"""Sheet (tab) requests: add, update properties, delete, duplicate; spreadsheet properties."""

from __future__ import annotations

from typing import Any

from sheetledger.sandbox.sheets.dimensions import DimensionRequests
from sheetledger.sandbox.sheets.errors import InvalidRequest
from sheetledger.sandbox.sheets.json_shape import with_colors_mirrored, without_stale_twins
from sheetledger.sandbox.sheets.masks import apply_mask
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet
from sheetledger.sandbox.sheets.spreadsheets import SpreadsheetsApi


class SheetRequests(SpreadsheetsApi, DimensionRequests):
    """Tabs and their properties."""

    def _check_title(self, book: Spreadsheet, title: str, sheet: Sheet | None = None) -> None:
        if not title or not title.strip():
            raise InvalidRequest("The sheet name cannot be empty.")
        for other in book.sheets:
            if other is not sheet and other.title.lower() == title.lower():
                raise InvalidRequest(
                    f'A sheet with the name "{title}" already exists. Please enter another name.'
                )

    def _req_addSheet(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> dict[str, Any]:
        props = p.get("properties") or {}
        title = props.get("title")
        if not title:
            n = len(book.sheets) + 1
            while book.sheet_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        self._check_title(book, title)
        sheet_id = props.get("sheetId")
        if sheet_id is not None and book.sheet_by_id(int(sheet_id)):
            raise InvalidRequest(f"A sheet with the id {sheet_id} already exists.")
        grid = props.get("gridProperties") or {}
        sheet = Sheet(
            int(sheet_id) if sheet_id is not None else self._new_id(),
            title,
            int(grid.get("rowCount") or 1000),
            int(grid.get("columnCount") or 26),
        )
        self._apply_sheet_properties(book, sheet, {**props, "title": title}, adding=True)
        index = props.get("index")
        book.sheets.insert(
            len(book.sheets) if index is None else min(int(index), len(book.sheets)), sheet
        )
        self._check_cells_limit(book)
        return {"addSheet": {"properties": self._sheet_properties(book, sheet)}}

    def _apply_sheet_properties(
        self, book: Spreadsheet, sheet: Sheet, props: dict[str, Any], *, adding: bool = False
    ) -> None:
        grid = props.get("gridProperties") or {}
        if not adding:
            title = props.get("title") or sheet.title
            if title != sheet.title:
                self._check_title(book, title, sheet)
                sheet.title = title
            rows, cols = grid.get("rowCount"), grid.get("columnCount")
            # Google resizes rows before columns (gspread-dataframe#37; docs/api-notes.md,
            # "Google: A1 ranges").
            if rows is not None and int(rows) != sheet.row_count:
                self._resize(book, sheet, "ROWS", int(rows))
            if cols is not None and int(cols) != sheet.column_count:
                self._resize(book, sheet, "COLUMNS", int(cols))
            if "index" in props and props["index"] is not None:
                book.sheets.remove(sheet)
                book.sheets.insert(min(int(props["index"]), len(book.sheets)), sheet)
        sheet.frozen_rows = int(grid.get("frozenRowCount") or 0)
        sheet.frozen_cols = int(grid.get("frozenColumnCount") or 0)
        if sheet.frozen_rows >= sheet.row_count and sheet.frozen_rows:
            raise InvalidRequest("You can't freeze all visible rows on the sheet.")
        sheet.hidden = bool(props.get("hidden"))
        if sheet.hidden and not adding and all(s.hidden for s in book.sheets):
            raise InvalidRequest("You can't hide all the sheets in a document.")
        extra_grid = {
            k: v
            for k, v in grid.items()
            if k not in ("rowCount", "columnCount", "frozenRowCount", "frozenColumnCount")
            and v not in (None, False, 0)  # proto3: a field at its default is not shown
        }
        extras = {k: v for k, v in sheet.extra_properties.items() if k.startswith("_")}
        tab = {k: v for k, v in props.items() if k in ("tabColor", "tabColorStyle")}
        extras.update(with_colors_mirrored(tab))
        if props.get("rightToLeft"):
            extras["rightToLeft"] = True
        if extra_grid:
            extras["gridProperties"] = extra_grid
        sheet.extra_properties = extras

    def _resize(self, book: Spreadsheet, sheet: Sheet, dim: str, size: int) -> None:
        if size < 1:
            raise InvalidRequest(
                f"Invalid {'rowCount' if dim == 'ROWS' else 'columnCount'}: must be at least 1"
            )
        current = sheet.row_count if dim == "ROWS" else sheet.column_count
        if size > current:
            self._insert_dimension(book, sheet, dim, current, size - current, inherit_before=True)
        else:
            self._delete_dimension(book, sheet, dim, size, current)

    def _req_updateSheetProperties(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        props = p.get("properties") or {}
        sheet = book.sheet_by_id(int(props.get("sheetId") or 0))
        if sheet is None:
            raise InvalidRequest(f"No grid with id: {props.get('sheetId') or 0}")
        current = without_stale_twins(self._sheet_properties(book, sheet), tree)
        merged = apply_mask(current, props, tree)
        self._apply_sheet_properties(book, sheet, merged)
        self._check_cells_limit(book)

    def _req_updateSpreadsheetProperties(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> None:
        tree = self._mask(p)
        current = {"title": book.title, "locale": book.locale, "timeZone": book.time_zone}
        merged = apply_mask(current, p.get("properties") or {}, tree)
        book.title = merged.get("title") or book.title
        book.locale = merged.get("locale") or book.locale
        book.time_zone = merged.get("timeZone") or book.time_zone

    def _req_deleteSheet(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet = book.sheet_by_id(int(p.get("sheetId") or 0))
        if sheet is None:
            raise InvalidRequest(f"No grid with id: {p.get('sheetId') or 0}")
        if len(book.sheets) == 1 or all(s.hidden for s in book.sheets if s is not sheet):
            raise InvalidRequest("You can't remove all the sheets in a document.")
        book.sheets.remove(sheet)
        book.metadata = [m for m in book.metadata if m.sheet_id != sheet.sheet_id]
        book.named_ranges = [
            n for n in book.named_ranges if int(n["range"].get("sheetId") or 0) != sheet.sheet_id
        ]

    def _req_duplicateSheet(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        source = book.sheet_by_id(int(p.get("sourceSheetId") or 0))
        if source is None:
            raise InvalidRequest(f"No grid with id: {p.get('sourceSheetId') or 0}")
        twin = source.clone()
        twin.sheet_id = int(p["newSheetId"]) if p.get("newSheetId") is not None else self._new_id()
        if book.sheet_by_id(twin.sheet_id) is not None and twin.sheet_id != source.sheet_id:
            raise InvalidRequest(f"A sheet with the id {twin.sheet_id} already exists.")
        twin.title = p.get("newSheetName") or f"Copy of {source.title}"
        self._check_title(book, twin.title)
        for protected in twin.protected_ranges:
            protected["protectedRangeId"] = self._new_id()
            protected["range"]["sheetId"] = twin.sheet_id
        index = p.get("insertSheetIndex")
        book.sheets.insert(len(book.sheets) if index is None else int(index), twin)
        return {"duplicateSheet": {"properties": self._sheet_properties(book, twin)}}
