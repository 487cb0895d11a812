"""``spreadsheets:batchUpdate``: all or nothing, each request dispatched to its ``_req_<kind>``."""

from __future__ import annotations

from typing import Any

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sheets.core import flag
from sheetledger.sandbox.sheets.errors import InvalidRequest, bad_field, fail
from sheetledger.sandbox.sheets.model import Spreadsheet
from sheetledger.sandbox.sheets.spreadsheets import SpreadsheetsApi

# Every request kind of the v4 schema (a name outside this set is an unknown JSON field).
REQUEST_KINDS = frozenset(
    {
        "updateSpreadsheetProperties",
        "updateSheetProperties",
        "updateDimensionProperties",
        "updateNamedRange",
        "repeatCell",
        "addNamedRange",
        "deleteNamedRange",
        "addSheet",
        "deleteSheet",
        "autoFill",
        "cutPaste",
        "copyPaste",
        "mergeCells",
        "unmergeCells",
        "updateBorders",
        "updateCells",
        "addFilterView",
        "appendCells",
        "clearBasicFilter",
        "deleteDimension",
        "deleteEmbeddedObject",
        "deleteFilterView",
        "duplicateFilterView",
        "duplicateSheet",
        "findReplace",
        "insertDimension",
        "insertRange",
        "moveDimension",
        "updateEmbeddedObjectPosition",
        "pasteData",
        "textToColumns",
        "updateFilterView",
        "deleteRange",
        "appendDimension",
        "addConditionalFormatRule",
        "updateConditionalFormatRule",
        "deleteConditionalFormatRule",
        "sortRange",
        "setDataValidation",
        "setBasicFilter",
        "addProtectedRange",
        "updateProtectedRange",
        "deleteProtectedRange",
        "autoResizeDimensions",
        "addChart",
        "updateChartSpec",
        "updateBanding",
        "addBanding",
        "deleteBanding",
        "createDeveloperMetadata",
        "updateDeveloperMetadata",
        "deleteDeveloperMetadata",
        "randomizeRange",
        "addDimensionGroup",
        "deleteDimensionGroup",
        "updateDimensionGroup",
        "trimWhitespace",
        "deleteDuplicates",
        "updateEmbeddedObjectBorder",
        "addSlicer",
        "updateSlicerSpec",
        "addDataSource",
        "updateDataSource",
        "deleteDataSource",
        "refreshDataSource",
        "cancelDataSourceRefresh",
        "addTable",
        "updateTable",
        "deleteTable",
        "insertComment",
        "updateComment",
        "deleteComment",
    }
)
# Formatting-only requests accepted without effect on values (nothing the ledger reads back).
NO_OP_REQUESTS = frozenset(
    {
        "updateBorders",
        "addBanding",
        "updateBanding",
        "deleteBanding",
        "updateEmbeddedObjectPosition",
    }
)


class BatchUpdateApi(SpreadsheetsApi):
    """The batchUpdate route; the request handlers live in the modules named after them."""

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+):batchUpdate", kind="write")
    def batch_update(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        raw = body.get("requests")
        if not raw:
            raise fail(400, "Must specify at least one request.")
        # gspread-formatting's batch_updater sends a list of lists of requests;
        # that library works against the real API, so nested lists are flattened.
        flat: list[Any] = []
        for item in raw:
            flat.extend(item if isinstance(item, list) else [item])
        with self.lock:
            book = self._book(request, sid, write=True)
            caller = self._caller(request)
            # All or nothing: apply on a fork (its tabs copy a row only when they change
            # it), which replaces the file when every request succeeded.
            work = book.fork()
            replies = []
            for i, req in enumerate(flat):
                replies.append(self._apply_request(work, req, i, caller))
            work.settle()
            self.spreadsheets[sid] = work
            self._touch(work)
            out: dict[str, Any] = {"spreadsheetId": sid, "replies": replies}
            if flag(body.get("includeSpreadsheetInResponse")):
                ranges = body.get("responseRanges") or []
                grid = [self._resolve(work, t) for t in ranges] if ranges else None
                out["updatedSpreadsheet"] = self._metadata(
                    work,
                    caller,
                    grid_ranges=grid,
                    include_grid=flag(body.get("responseIncludeGridData")),
                )
            return self._reply(request, out)

    def _apply_request(self, book: Spreadsheet, req: Any, i: int, caller: str) -> dict[str, Any]:
        if not isinstance(req, dict) or not any(v is not None for v in req.values()):
            raise fail(400, f"Invalid requests[{i}]: No request set.")
        kinds = [k for k, v in req.items() if v is not None]
        for kind in kinds:
            if kind not in REQUEST_KINDS:
                raise bad_field(
                    f"requests[{i}]",
                    f"Invalid JSON payload received. Unknown name "
                    f"\"{kind}\" at 'requests[{i}]': Cannot find field.",
                )
        if len(kinds) > 1:
            raise fail(
                400,
                f"Invalid requests[{i}]: Only one kind of request may be set, "
                f"got {', '.join(kinds)}.",
            )
        kind = kinds[0]
        payload = req[kind]
        handler = getattr(self, f"_req_{kind}", None)
        try:
            if not isinstance(payload, dict):
                raise InvalidRequest("expected an object")
            if handler is None:
                if kind in NO_OP_REQUESTS:
                    return {}
                raise InvalidRequest("this request kind is not emulated by the sheetledger sandbox")
            return handler(book, payload, caller) or {}
        except InvalidRequest as exc:
            raise fail(400, f"Invalid requests[{i}].{kind}: {exc}") from None
        except ValueError as exc:  # a malformed field mask or A1 range inside the request
            raise fail(400, f"Invalid requests[{i}].{kind}: {exc}") from None
