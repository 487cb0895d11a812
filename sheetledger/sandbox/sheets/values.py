"""The values API: get, batchGet, update, append, clear, batchUpdate, and ``...ByDataFilter``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sheetledger.sandbox.a1 import Bounds, format_range
from sheetledger.sandbox.server import HTTPError, Request, Response, route
from sheetledger.sandbox.sheets.core import (
    DATETIME_RENDER,
    DIMENSIONS,
    VALUE_INPUT,
    VALUE_RENDER,
    flag,
)
from sheetledger.sandbox.sheets.developer_metadata import DeveloperMetadataApi
from sheetledger.sandbox.sheets.dimensions import DimensionRequests
from sheetledger.sandbox.sheets.errors import fail
from sheetledger.sandbox.sheets.model import Sheet, Spreadsheet


def covered(spans: list[tuple[int, int]]) -> int:
    """How many indexes the half-open ``spans`` cover together (overlaps counted once)."""
    total, reach = 0, None
    for start, end in sorted(spans):
        if reach is None or start >= reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


class ValuesApi(DeveloperMetadataApi, DimensionRequests):
    """``/values`` routes: ValueRanges in and out, append's table detection."""

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+)", kind="read")
    def values_get(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request)
        render, dt_render, major = self._read_options(request.arg)
        with self.lock:
            book = self._book(request, sid)
            sheet, bounds = self._resolve(book, text)
            self._check_read_bounds(sheet, bounds, text)
            return self._reply(
                request,
                self._value_range(
                    book, sheet, bounds, render=render, dt_render=dt_render, major=major
                ),
            )

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchGet", kind="read")
    def values_batch_get(self, request: Request, sid: str) -> Response:
        render, dt_render, major = self._read_options(request.arg)
        with self.lock:
            book = self._book(request, sid)
            out: dict[str, Any] = {"spreadsheetId": book.id}
            ranges = []
            for text in request.args("ranges"):
                sheet, bounds = self._resolve(book, text)
                self._check_read_bounds(sheet, bounds, text)
                ranges.append(
                    self._value_range(
                        book, sheet, bounds, render=render, dt_render=dt_render, major=major
                    )
                )
            if ranges:
                out["valueRanges"] = ranges
            return self._reply(request, out)

    def _write_options(self, get: Callable[[str], Any], *, required: bool = True) -> str:
        option = get("valueInputOption")
        if option in (None, "") and required:
            raise fail(400, "'valueInputOption' is required but not specified")
        return self._enum(option, VALUE_INPUT, "value_input_option", "TYPE_ENUM", "RAW")

    def _response_options(self, get: Callable[[str], Any]) -> tuple[bool, str, str]:
        include = flag(get("includeValuesInResponse"))
        render = self._enum(
            get("responseValueRenderOption"),
            VALUE_RENDER,
            "response_value_render_option",
            "TYPE_ENUM",
            "FORMATTED_VALUE",
        )
        dt_render = self._enum(
            get("responseDateTimeRenderOption"),
            DATETIME_RENDER,
            "response_date_time_render_option",
            "TYPE_ENUM",
            "SERIAL_NUMBER",
        )
        return include, render, dt_render

    @route("PUT", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+)", kind="write")
    def values_update(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request)
        body = self._body(request)
        major = self._enum(
            body.get("majorDimension"), DIMENSIONS, "data.major_dimension", "TYPE_ENUM", "ROWS"
        )
        rows = self._cells_of(body.get("values"), major, "data.values")
        option = self._write_options(request.arg)
        include, render, dt_render = self._response_options(request.arg)
        with self.lock:
            book = self._book(request, sid, write=True)
            sheet, bounds = self._resolve(book, text)
            block = self._plan_write(book, sheet, bounds, rows, text, caller=self._caller(request))
            written = self._store(book, sheet, block[0], block[2], rows, option)
            self._touch(book)
            return self._reply(
                request,
                self._update_response(
                    book,
                    sheet,
                    block,
                    written,
                    include=include,
                    render=render,
                    dt_render=dt_render,
                    requested=bounds,
                ),
            )

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+):append", kind="write")
    def values_append(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request, "append")
        body = self._body(request)
        major = self._enum(
            body.get("majorDimension"), DIMENSIONS, "data.major_dimension", "TYPE_ENUM", "ROWS"
        )
        rows = self._cells_of(body.get("values"), major, "data.values")
        option = self._write_options(request.arg)
        insert = self._enum(
            request.arg("insertDataOption"),
            ("OVERWRITE", "INSERT_ROWS"),
            "insert_data_option",
            "TYPE_ENUM",
            "OVERWRITE",
        )
        include, render, dt_render = self._response_options(request.arg)
        with self.lock:
            book = self._book(request, sid, write=True)
            sheet, bounds = self._resolve(book, text)
            self._check_read_bounds(sheet, bounds, text)
            out = self._append(
                book,
                sheet,
                bounds,
                rows,
                option,
                insert,
                self._caller(request),
                include=include,
                render=render,
                dt_render=dt_render,
            )
            self._touch(book)
            return self._reply(request, out)

    def _append(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        bounds: Bounds,
        rows: list[list[Any]],
        option: str,
        insert: str,
        caller: str | None,
        *,
        include: bool = False,
        render: str = "FORMATTED_VALUE",
        dt_render: str = "SERIAL_NUMBER",
    ) -> dict[str, Any]:
        """values.append: find the table in the range, write below it (growing the grid)."""
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        table = self._find_table(sheet, r0, r1, c0, c1)
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if table is not None:
            out["tableRange"] = format_range(sheet.title, *table)
            start_row, start_col = table[1], table[2]
        else:
            start_row, start_col = r0, c0
        height = len(rows)
        width = max((len(row) for row in rows), default=0)
        if height and width:
            if insert == "INSERT_ROWS":
                self._insert_dimension(
                    book, sheet, "ROWS", start_row, height, inherit_before=start_row > 0
                )
            elif start_row + height > sheet.row_count:
                # "adding data to the end of the sheet will still insert new rows or columns"
                self._insert_dimension(
                    book,
                    sheet,
                    "ROWS",
                    sheet.row_count,
                    start_row + height - sheet.row_count,
                    inherit_before=True,
                )
            if start_col + width > sheet.column_count:
                self._insert_dimension(
                    book,
                    sheet,
                    "COLUMNS",
                    sheet.column_count,
                    start_col + width - sheet.column_count,
                    inherit_before=True,
                )
            if caller is not None:
                self._check_protection(
                    book, sheet, start_row, start_row + height, start_col, start_col + width, caller
                )
        written = self._store(book, sheet, start_row, start_col, rows, option)
        block = (start_row, start_row + height, start_col, start_col + width)
        updates = self._update_response(
            book, sheet, block, written, include=include, render=render, dt_render=dt_render
        )
        if "updatedRange" not in updates:
            updates["updatedRange"] = format_range(
                sheet.title, start_row, start_row + 1, start_col, start_col + 1
            )
        out["updates"] = updates
        return out

    @staticmethod
    def _find_table(
        sheet: Sheet, r0: int, r1: int, c0: int, c1: int
    ) -> tuple[int, int, int, int] | None:
        """The "table" values.append finds: the block of data around the range's first value.

        Like a spreadsheet's "current region": start at the first non-empty cell of
        the range, grow the box while any cell touching it (diagonals included) holds
        a value. Only the start is looked for inside the range; the table grows past
        it, so its rows may begin with empty cells and run below a one-row range
        (Google's sample: range A1:E1 over data in A1:D2 -> tableRange A1:D2, rows
        appended at A3). Fixture: A1="x", B1="", C1="y" -> table A1.
        """
        cells = sheet.cells
        start = None
        for r in range(r0, min(r1, len(cells))):
            row = cells[r]
            for c in range(c0, min(c1, len(row))):
                if row[c] is not None:
                    start = (r, c)
                    break
            if start:
                break
        if start is None:
            return None
        top, bottom, left, right = start[0], start[0] + 1, start[1], start[1] + 1
        limit, width = len(cells), sheet.column_count

        def row_has(r: int, lo: int, hi: int) -> bool:
            return any(v is not None for v in cells[r][max(lo, 0) : hi])

        def col_has(c: int, lo: int, hi: int) -> bool:
            return any(c < len(row) and row[c] is not None for row in cells[max(lo, 0) : hi])

        changed = True
        while changed:
            changed = False
            while bottom < limit and row_has(bottom, left - 1, right + 1):
                bottom += 1
                changed = True
            while top > 0 and row_has(top - 1, left - 1, right + 1):
                top -= 1
                changed = True
            while right < width and col_has(right, top - 1, bottom + 1):
                right += 1
                changed = True
            while left > 0 and col_has(left - 1, top - 1, bottom + 1):
                left -= 1
                changed = True
        return top, bottom, left, right

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+):clear", kind="write")
    def values_clear(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request, "clear")
        with self.lock:
            book = self._book(request, sid, write=True)
            sheet, bounds = self._resolve(book, text)
            cleared = self._clear(book, sheet, bounds, text, self._caller(request))
            self._touch(book)
            return self._reply(request, {"spreadsheetId": book.id, "clearedRange": cleared})

    def _clear(
        self, book: Spreadsheet, sheet: Sheet, bounds: Bounds, text: str, caller: str | None
    ) -> str:
        self._check_read_bounds(sheet, bounds, text)
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        if caller is not None:
            self._check_protection(book, sheet, r0, r1, c0, c1, caller)
        for r in range(r0, min(r1, len(sheet.cells))):
            end = min(c1, len(sheet.cells[r]))
            if end > c0:
                sheet.row_to_write(r)[c0:end] = [None] * (end - c0)
        return format_range(sheet.title, r0, r1, c0, c1)

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchClear", kind="write")
    def values_batch_clear(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid, write=True)
            targets = []
            for text in body.get("ranges") or []:
                sheet, bounds = self._resolve(book, text)
                self._check_read_bounds(sheet, bounds, text)
                targets.append((sheet, bounds, text))
            cleared = [self._clear(book, s, b, t, self._caller(request)) for s, b, t in targets]
            self._touch(book)
            out: dict[str, Any] = {"spreadsheetId": book.id}
            if cleared:
                out["clearedRanges"] = cleared
            return self._reply(request, out)

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchUpdate", kind="write")
    def values_batch_update(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        option = self._write_options(body.get)
        include, render, dt_render = self._response_options(body.get)
        data = body.get("data") or []
        with self.lock:
            book = self._book(request, sid, write=True)
            caller = self._caller(request)
            plans = []
            for i, item in enumerate(data):
                major = self._enum(
                    item.get("majorDimension"),
                    DIMENSIONS,
                    f"data[{i}].major_dimension",
                    "TYPE_ENUM",
                    "ROWS",
                )
                rows = self._cells_of(item.get("values"), major, f"data[{i}].values")
                text = item.get("range")
                try:
                    sheet, bounds = self._resolve(book, text)
                    block = self._plan_write(book, sheet, bounds, rows, text, caller=caller)
                except HTTPError as exc:
                    raise self._prefixed(exc, f"Invalid data[{i}]: ") from None
                plans.append((sheet, bounds, block, rows))
            return self._reply(
                request, self._apply_value_writes(book, plans, option, include, render, dt_render)
            )

    def _apply_value_writes(
        self,
        book: Spreadsheet,
        plans: list[tuple[Sheet, Bounds, tuple[int, int, int, int], list[list[Any]]]],
        option: str,
        include: bool,
        render: str,
        dt_render: str,
        filters: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        responses = []
        row_spans: dict[int, list[tuple[int, int]]] = {}
        column_spans: dict[int, list[tuple[int, int]]] = {}
        cells = 0
        touched: set[int] = set()
        for index, (sheet, bounds, block, rows) in enumerate(plans):
            written = self._store(book, sheet, block[0], block[2], rows, option)
            response = self._update_response(
                book,
                sheet,
                block,
                written,
                include=include,
                render=render,
                dt_render=dt_render,
                requested=bounds,
            )
            response.pop("spreadsheetId", None)
            response = {"spreadsheetId": book.id, **response}
            if filters is not None:
                response["dataFilter"] = filters[index]
            responses.append(response)
            if "updatedRows" in response:
                row_spans.setdefault(sheet.sheet_id, []).append((block[0], block[1]))
                column_spans.setdefault(sheet.sheet_id, []).append((block[2], block[3]))
            cells += response.get("updatedCells", 0)
            if written:
                touched.add(sheet.sheet_id)
        self._touch(book)
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if row_spans:
            # "The total number of rows/columns where at least one cell ... was updated":
            # A1:D1 and A4:D4 make 2 rows and 4 columns, not 8 (gspread's recording
            # WorksheetTest.test_batch_update; tests/sandbox/test_sheets_values_google.py).
            out.update(
                {
                    "totalUpdatedRows": sum(map(covered, row_spans.values())),
                    "totalUpdatedColumns": sum(map(covered, column_spans.values())),
                    "totalUpdatedCells": cells,
                    "totalUpdatedSheets": len(touched),
                }
            )
        if responses:
            out["responses"] = responses
        return out

    @staticmethod
    def _prefixed(exc: HTTPError, prefix: str) -> HTTPError:
        body = json.loads(exc.response.body)
        body["error"]["message"] = prefix + body["error"]["message"]
        return HTTPError(Response.json(body, exc.response.status))

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchGetByDataFilter", kind="read")
    def values_batch_get_by_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        render, dt_render, major = self._read_options(body.get)
        with self.lock:
            book = self._book(request, sid)
            index = self._metadata_index(book)
            matched = []
            for i, data_filter in enumerate(body.get("dataFilters") or []):
                for sheet, bounds in self._filter_ranges(
                    book, data_filter, f"dataFilters[{i}]", index
                ):
                    value_range = self._value_range(
                        book, sheet, bounds, render=render, dt_render=dt_render, major=major
                    )
                    matched.append({"valueRange": value_range, "dataFilters": [data_filter]})
            out: dict[str, Any] = {"spreadsheetId": book.id}
            if matched:
                out["valueRanges"] = matched
            return self._reply(request, out)

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchUpdateByDataFilter", kind="write")
    def values_batch_update_by_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        option = self._write_options(body.get)
        include, render, dt_render = self._response_options(body.get)
        with self.lock:
            book = self._book(request, sid, write=True)
            caller = self._caller(request)
            index = self._metadata_index(book)
            plans, filters = [], []
            for i, item in enumerate(body.get("data") or []):
                major = self._enum(
                    item.get("majorDimension"),
                    DIMENSIONS,
                    f"data[{i}].major_dimension",
                    "TYPE_ENUM",
                    "ROWS",
                )
                rows = self._cells_of(item.get("values"), major, f"data[{i}].values")
                # "If the provided values exceed any of the ranges matched by the data
                # filter then the request fails" (DataFilterValueRange); a filter that
                # matches nothing writes nothing.
                for sheet, bounds in self._filter_ranges(
                    book, item.get("dataFilter"), f"data[{i}].dataFilter", index
                ):
                    text = format_range(
                        sheet.title, *bounds.clip(sheet.row_count, sheet.column_count)
                    )
                    try:
                        block = self._plan_write(book, sheet, bounds, rows, text, caller=caller)
                    except HTTPError as exc:
                        raise self._prefixed(exc, f"Invalid data[{i}]: ") from None
                    plans.append((sheet, bounds, block, rows))
                    filters.append(item.get("dataFilter"))
            return self._reply(
                request,
                self._apply_value_writes(book, plans, option, include, render, dt_render, filters),
            )

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchClearByDataFilter", kind="write")
    def values_batch_clear_by_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid, write=True)
            index = self._metadata_index(book)
            targets = []
            for i, data_filter in enumerate(body.get("dataFilters") or []):
                targets += self._filter_ranges(book, data_filter, f"dataFilters[{i}]", index)
            cleared = [
                self._clear(book, sheet, bounds, sheet.title, self._caller(request))
                for sheet, bounds in targets
            ]
            self._touch(book)
            out: dict[str, Any] = {"spreadsheetId": book.id}
            if cleared:
                out["clearedRanges"] = cleared
            return self._reply(request, out)
