"""``spreadsheets.create``, ``spreadsheets.get`` and ``getByDataFilter``: the metadata JSON."""

from __future__ import annotations

import copy
import re
from typing import Any

from sheetledger.sandbox.a1 import Bounds
from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sheets.cells import typed_value
from sheetledger.sandbox.sheets.core import flag
from sheetledger.sandbox.sheets.developer_metadata import DeveloperMetadataApi
from sheetledger.sandbox.sheets.errors import fail
from sheetledger.sandbox.sheets.formats import render_formatted
from sheetledger.sandbox.sheets.formulas import FormulaError
from sheetledger.sandbox.sheets.json_shape import (
    DEFAULT_FORMAT,
    THEME,
    as_google_json,
    color_pair_of,
)
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet, grid_json, walk_grid_ranges


def _merge_format(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """The effective format: ``top`` over ``base``, a colour replaced whole, not blended."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and color_pair_of(key) is None
        ):
            out[key] = _merge_format(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# What a sheet holds beside its properties, stored under "_<name>" in extra_properties.
SHEET_OBJECTS = (
    "merges",
    "conditionalFormats",
    "filterViews",
    "basicFilter",
    "rowGroups",
    "columnGroups",
)


class SpreadsheetsApi(DeveloperMetadataApi):
    """Creating spreadsheets and answering ``spreadsheets.get`` the way Google shapes it."""

    @route("POST", r"/v4/spreadsheets", kind="write")
    def create(self, request: Request) -> Response:
        body = self._body(request)
        props = body.get("properties") or {}
        with self.lock:
            if self.service_accounts_have_no_storage:
                raise fail(403, "The user's Drive storage quota has been exceeded.")
            book = self._new_book(
                props.get("title") or "Untitled spreadsheet",
                self._caller(request),
                locale=props.get("locale") or "en_US",
                sheets=body.get("sheets"),
                time_zone=props.get("timeZone") or "Etc/GMT",
            )
            return self._reply(request, self._metadata(book, self._caller(request)))

    def _sheet_properties(self, book: Spreadsheet, sheet: Sheet) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": sheet.row_count, "columnCount": sheet.column_count}
        if sheet.frozen_rows:
            grid["frozenRowCount"] = sheet.frozen_rows
        if sheet.frozen_cols:
            grid["frozenColumnCount"] = sheet.frozen_cols
        grid.update(sheet.extra_properties.get("gridProperties") or {})
        props: dict[str, Any] = {
            "sheetId": sheet.sheet_id,
            "title": sheet.title,
            "index": book.sheets.index(sheet),
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        if sheet.hidden:
            props["hidden"] = True
        # "_"-keys are the sheet-level objects kept beside the properties (merges, filters...).
        props.update(
            {
                k: copy.deepcopy(v)
                for k, v in sheet.extra_properties.items()
                if k != "gridProperties" and not k.startswith("_")
            }
        )
        return props

    def _protected_json(
        self, book: Spreadsheet, protected: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"protectedRangeId": protected["protectedRangeId"]}
        if protected.get("namedRangeId"):
            out["namedRangeId"] = protected["namedRangeId"]
        out["range"] = grid_json(protected["range"])
        if protected.get("description"):
            out["description"] = protected["description"]
        if protected.get("warningOnly"):
            out["warningOnly"] = True
        users = (protected.get("editors") or {}).get("users") or []
        can_edit = bool(protected.get("warningOnly")) or caller == book.owner or caller in users
        if can_edit:
            out["requestingUserCanEdit"] = True
            editors = {k: v for k, v in (protected.get("editors") or {}).items() if v}
            out["editors"] = editors
        if protected.get("unprotectedRanges"):
            out["unprotectedRanges"] = [grid_json(g) for g in protected["unprotectedRanges"]]
        return out

    def _metadata(
        self,
        book: Spreadsheet,
        caller: str,
        *,
        grid_ranges: list[tuple[Sheet, Bounds]] | None = None,
        include_grid: bool = False,
    ) -> dict[str, Any]:
        sheets_json = []
        wanted = None if grid_ranges is None else {id(s) for s, _ in grid_ranges}
        for sheet in book.sheets:
            if wanted is not None and id(sheet) not in wanted:
                continue
            item: dict[str, Any] = {"properties": self._sheet_properties(book, sheet)}
            if include_grid:
                blocks = [b for s, b in grid_ranges if s is sheet] if grid_ranges else [Bounds()]
                item["data"] = [self._grid_data(book, sheet, b) for b in blocks]
            for key in SHEET_OBJECTS:
                if sheet.extra_properties.get("_" + key):
                    item[key] = as_google_json(sheet.extra_properties["_" + key])
            if sheet.protected_ranges:
                item["protectedRanges"] = [
                    self._protected_json(book, p, caller) for p in sheet.protected_ranges
                ]
            sheet_meta = [
                m.as_json()
                for m in book.metadata
                if m.loc_type == "SHEET" and m.sheet_id == sheet.sheet_id
            ]
            if sheet_meta:
                item["developerMetadata"] = sheet_meta
            if sheet.charts:
                item["charts"] = copy.deepcopy(sheet.charts)
                for grid in walk_grid_ranges(item["charts"]):
                    if not grid.get("sheetId"):
                        grid.pop("sheetId", None)
            sheets_json.append(item)
        body: dict[str, Any] = {
            "spreadsheetId": book.id,
            "properties": {
                "title": book.title,
                "locale": book.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": book.time_zone,
                "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
                "spreadsheetTheme": copy.deepcopy(THEME),
            },
            "sheets": sheets_json,
        }
        if book.named_ranges:
            body["namedRanges"] = [
                {
                    "namedRangeId": n["namedRangeId"],
                    "name": n["name"],
                    "range": grid_json(n["range"]),
                }
                for n in book.named_ranges
            ]
        top_meta = [m.as_json() for m in book.metadata if m.loc_type == "SPREADSHEET"]
        if top_meta:
            body["developerMetadata"] = top_meta
        body["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{book.id}/edit"
        return body

    def _cell_data(self, book: Spreadsheet, sheet: Sheet, r: int, c: int) -> dict[str, Any]:
        value = sheet.value(r, c)
        extra = sheet.extra(r, c)
        out: dict[str, Any] = {}
        if value is not None:
            out["userEnteredValue"] = typed_value(value)
            try:
                shown = sheet.computed(r, c)
                if shown is not None:
                    out["effectiveValue"] = typed_value(shown)
            except FormulaError as exc:
                shown = exc.code
                if exc.code:
                    out["effectiveValue"] = {"errorValue": {"type": "ERROR", "message": exc.code}}
            number_format = (extra or {}).get("userEnteredFormat", {}).get("numberFormat")
            out["formattedValue"] = render_formatted(shown, number_format, book.locale)
        if extra:
            out.update(copy.deepcopy(extra))
        if value is not None or (extra and "userEnteredFormat" in extra):
            out["effectiveFormat"] = _merge_format(
                DEFAULT_FORMAT, (extra or {}).get("userEnteredFormat") or {}
            )
        return out

    def _grid_data(self, book: Spreadsheet, sheet: Sheet, bounds: Bounds) -> dict[str, Any]:
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        data: dict[str, Any] = {}
        if r0:
            data["startRow"] = r0
        if c0:
            data["startColumn"] = c0
        rows = []
        for r in range(r0, min(r1, len(sheet.cells))):
            values = [self._cell_data(book, sheet, r, c) for c in range(c0, c1)]
            while values and not values[-1]:
                values.pop()
            rows.append({"values": values} if values else {})
        while rows and not rows[-1]:
            rows.pop()
        if rows:
            data["rowData"] = rows
        row_meta: dict[int, list[dict[str, Any]]] = {}
        col_meta: dict[int, list[dict[str, Any]]] = {}
        for meta in book.metadata:
            if meta.sheet_id == sheet.sheet_id and meta.loc_type in ("ROW", "COLUMN"):
                target = row_meta if meta.loc_type == "ROW" else col_meta
                target.setdefault(meta.start or 0, []).append(meta.as_json())
        data["rowMetadata"] = [
            self._dimension_json(sheet.row_props.get(r), 21, row_meta.get(r)) for r in range(r0, r1)
        ]
        data["columnMetadata"] = [
            self._dimension_json(sheet.col_props.get(c), 100, col_meta.get(c))
            for c in range(c0, c1)
        ]
        return data

    @staticmethod
    def _dimension_json(
        props: dict[str, Any] | None, size: int, meta: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"pixelSize": size}
        if props:
            out.update(props)
        if meta:
            out["developerMetadata"] = meta
        return out

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)", kind="read")
    def get_spreadsheet(self, request: Request, sid: str) -> Response:
        with self.lock:
            book = self._book(request, sid)
            include = flag(request.arg("includeGridData"))
            mask = request.arg("fields") or ""
            if mask:
                # "includeGridData ... is ignored if a field mask was set in the request":
                # the mask alone decides whether grid data comes back.
                include = bool(re.search(r"\bdata\b", mask))
            ranges = request.args("ranges")
            grid_ranges = [self._resolve(book, text) for text in ranges] if ranges else None
            return self._reply(
                request,
                self._metadata(
                    book, self._caller(request), grid_ranges=grid_ranges, include_grid=include
                ),
            )

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+):getByDataFilter", kind="read")
    def get_by_data_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid)
            grid_ranges: list[tuple[Sheet, Bounds]] = []
            for data_filter in body.get("dataFilters") or []:
                grid_ranges += self._filter_ranges(book, data_filter, "dataFilters")
            return self._reply(
                request,
                self._metadata(
                    book,
                    self._caller(request),
                    grid_ranges=grid_ranges if body.get("dataFilters") else None,
                    include_grid=flag(body.get("includeGridData")),
                ),
            )
