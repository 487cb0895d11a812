"""Developer metadata and data filters: lookups, ``developerMetadata`` routes and requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sheetledger.sandbox.a1 import Bounds
from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sheets.core import DIMENSIONS, SheetsCore
from sheetledger.sandbox.sheets.errors import InvalidRequest, fail
from sheetledger.sandbox.sheets.masks import apply_mask
from sheetledger.sandbox.sheets.model import DevMeta, Sheet, Spreadsheet


class DeveloperMetadataApi(SheetsCore):
    """Developer metadata lookups, DataFilters, and the requests that tag rows."""

    def _lookup_metadata(
        self,
        book: Spreadsheet,
        lookup: dict[str, Any],
        index: dict[tuple[str, Any], list[DevMeta]] | None = None,
    ) -> list[DevMeta]:
        """Developer metadata matching a DeveloperMetadataLookup (every given field must match)."""
        if not isinstance(lookup, dict) or not lookup:
            raise fail(
                400, "Invalid dataFilter: developerMetadataLookup must specify at least one field"
            )
        candidates: Iterable[DevMeta] = book.metadata
        if index is not None:
            if "metadataId" in lookup:
                candidates = index.get(("id", lookup["metadataId"]), [])
            elif "metadataKey" in lookup and "metadataValue" in lookup:
                candidates = index.get(("kv", (lookup["metadataKey"], lookup["metadataValue"])), [])
            elif "metadataKey" in lookup:
                candidates = index.get(("k", lookup["metadataKey"]), [])
        location = lookup.get("metadataLocation") or {}
        strategy = lookup.get("locationMatchingStrategy") or "INTERSECTING"
        found = []
        for meta in candidates:
            if "metadataId" in lookup and meta.id != lookup["metadataId"]:
                continue
            if "metadataKey" in lookup and meta.key != lookup["metadataKey"]:
                continue
            if "metadataValue" in lookup and meta.value != lookup["metadataValue"]:
                continue
            if lookup.get("visibility") and meta.visibility != lookup["visibility"]:
                continue
            if lookup.get("locationType") and meta.loc_type != lookup["locationType"]:
                continue
            if location and not self._location_matches(meta, location, strategy):
                continue
            found.append(meta)
        return found

    @staticmethod
    def _location_matches(meta: DevMeta, location: dict[str, Any], strategy: str) -> bool:
        if location.get("spreadsheet"):
            return meta.loc_type == "SPREADSHEET" or strategy == "INTERSECTING"
        if "sheetId" in location and "dimensionRange" not in location:
            return meta.sheet_id == location["sheetId"] and (
                meta.loc_type == "SHEET" or strategy == "INTERSECTING"
            )
        dim = location.get("dimensionRange") or {}
        if meta.sheet_id != int(dim.get("sheetId") or 0) or meta.loc_type not in ("ROW", "COLUMN"):
            return False
        start, end = dim.get("startIndex", 0), dim.get("endIndex", 10**9)
        if strategy == "EXACT_LOCATION":
            return bool(
                meta.dimension == dim.get("dimension") and meta.start == start and meta.end == end
            )
        if meta.dimension == dim.get("dimension"):
            return bool((meta.start or 0) < end and start < (meta.end or 0))
        return True  # a row and a column always intersect

    @staticmethod
    def _metadata_index(book: Spreadsheet) -> dict[tuple[str, Any], list[DevMeta]]:
        index: dict[tuple[str, Any], list[DevMeta]] = {}
        for meta in book.metadata:
            index.setdefault(("id", meta.id), []).append(meta)
            index.setdefault(("k", meta.key), []).append(meta)
            index.setdefault(("kv", (meta.key, meta.value)), []).append(meta)
        return index

    def _filter_ranges(
        self,
        book: Spreadsheet,
        data_filter: Any,
        field: str,
        index: dict[tuple[str, Any], list[DevMeta]] | None = None,
    ) -> list[tuple[Sheet, Bounds]]:
        """The grid ranges a DataFilter selects (a1Range, gridRange or developerMetadataLookup)."""
        if (
            not isinstance(data_filter, dict)
            or len([k for k in data_filter if data_filter[k] is not None]) != 1
        ):
            raise fail(
                400,
                f"Invalid {field}: a DataFilter must set exactly one of a1Range, gridRange, "
                "developerMetadataLookup",
            )
        if data_filter.get("a1Range") is not None:
            return [self._resolve(book, data_filter["a1Range"])]
        if data_filter.get("gridRange") is not None:
            grid = data_filter["gridRange"]
            sheet = book.sheet_by_id(int(grid.get("sheetId") or 0))
            if sheet is None:
                raise fail(400, f"Invalid {field}: No grid with id: {grid.get('sheetId') or 0}")
            return [(sheet, Bounds.from_grid_range(grid))]
        if data_filter.get("developerMetadataLookup") is not None:
            out = []
            for meta in self._lookup_metadata(book, data_filter["developerMetadataLookup"], index):
                sheet = book.sheet_by_id(meta.sheet_id or 0) if meta.sheet_id is not None else None
                if sheet is None:
                    continue
                if meta.loc_type == "ROW":
                    out.append((sheet, Bounds(meta.start, meta.end, None, None)))
                elif meta.loc_type == "COLUMN":
                    out.append((sheet, Bounds(None, None, meta.start, meta.end)))
                elif meta.loc_type == "SHEET":
                    out.append((sheet, Bounds()))
            return out
        raise fail(400, f"Invalid {field}: unsupported DataFilter")

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/developerMetadata:search", kind="read")
    def developer_metadata_search(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid)
            index = self._metadata_index(book)
            matched: dict[int, dict[str, Any]] = {}
            for i, data_filter in enumerate(body.get("dataFilters") or []):
                for meta in self._metadata_for_filter(
                    book, data_filter, f"dataFilters[{i}]", index
                ):
                    entry = matched.setdefault(
                        meta.id, {"developerMetadata": meta.as_json(), "dataFilters": []}
                    )
                    entry["dataFilters"].append(data_filter)
            out = {"matchedDeveloperMetadata": list(matched.values())} if matched else {}
            return self._reply(request, out)

    def _metadata_for_filter(
        self,
        book: Spreadsheet,
        data_filter: Any,
        field: str,
        index: dict[tuple[str, Any], list[DevMeta]] | None = None,
    ) -> list[DevMeta]:
        if isinstance(data_filter, dict) and data_filter.get("developerMetadataLookup") is not None:
            return self._lookup_metadata(book, data_filter["developerMetadataLookup"], index)
        found = []
        for sheet, bounds in self._filter_ranges(book, data_filter, field):
            r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
            for meta in book.metadata:
                if meta.sheet_id != sheet.sheet_id:
                    continue
                if (meta.loc_type == "ROW" and (meta.start or 0) < r1 and r0 < (meta.end or 0)) or (
                    meta.loc_type == "COLUMN" and (meta.start or 0) < c1 and c0 < (meta.end or 0)
                ):
                    found.append(meta)
        return found

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)/developerMetadata/(?P<mid>-?\d+)", kind="read")
    def developer_metadata_get(self, request: Request, sid: str, mid: str) -> Response:
        with self.lock:
            book = self._book(request, sid)
            for meta in book.metadata:
                if meta.id == int(mid):
                    return self._reply(request, meta.as_json())
            raise fail(404, f"No developer metadata with ID: {mid}")

    def _metadata_from_json(self, book: Spreadsheet, data: dict[str, Any], mid: int) -> DevMeta:
        key = data.get("metadataKey")
        if not key:
            raise InvalidRequest("Developer metadata must always have a key specified.")
        visibility = data.get("visibility")
        if visibility not in ("DOCUMENT", "PROJECT"):
            raise InvalidRequest("Developer metadata must always have a visibility specified.")
        location = data.get("location") or {}
        value = data.get("metadataValue")
        if location.get("spreadsheet"):
            return DevMeta(mid, key, value, visibility, "SPREADSHEET")
        if location.get("sheetId") is not None:
            sheet = self._grid_sheet(book, {"sheetId": location["sheetId"]})
            return DevMeta(mid, key, value, visibility, "SHEET", sheet.sheet_id)
        dim = location.get("dimensionRange")
        if dim:
            sheet = self._grid_sheet(book, dim)
            dimension = dim.get("dimension")
            start, end = dim.get("startIndex"), dim.get("endIndex")
            if dimension not in DIMENSIONS or start is None or end is None or end - start != 1:
                raise InvalidRequest(
                    "The specified DimensionRange must represent a single row or column; "
                    "it cannot be unbounded or span multiple rows or columns."
                )
            limit = sheet.row_count if dimension == "ROWS" else sheet.column_count
            if end > limit or start < 0:
                raise InvalidRequest(f"Range ('{sheet.title}') exceeds grid limits.")
            return DevMeta(
                mid,
                key,
                value,
                visibility,
                "ROW" if dimension == "ROWS" else "COLUMN",
                sheet.sheet_id,
                dimension,
                int(start),
                int(end),
            )
        raise InvalidRequest("Developer metadata must always have a location specified.")

    def _req_createDeveloperMetadata(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        data = p.get("developerMetadata") or {}
        mid = data.get("metadataId")
        # The set of ids taken is built once per batch (a first import tags ~30,000 rows).
        taken = book.metadata_ids
        if taken is None or len(taken) != len(book.metadata):
            taken = {m.id for m in book.metadata}
        if mid is not None:
            if int(mid) <= 0:
                raise InvalidRequest("metadataId must be positive.")
            if int(mid) in taken:
                raise InvalidRequest(f"Developer metadata with ID {mid} already exists.")
        else:
            mid = self._new_id()
            while mid in taken:
                mid = self._new_id()
        meta = self._metadata_from_json(book, data, int(mid))
        book.metadata.append(meta)
        taken.add(meta.id)
        book.metadata_ids = taken
        return {"createDeveloperMetadata": {"developerMetadata": meta.as_json()}}

    def _req_updateDeveloperMetadata(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        tree = self._mask(p)
        changes = p.get("developerMetadata") or {}
        updated = []
        for data_filter in p.get("dataFilters") or []:
            for meta in self._metadata_for_filter(book, data_filter, "dataFilters"):
                merged = apply_mask(meta.as_json(), changes, tree)
                fresh = self._metadata_from_json(book, merged, meta.id)
                book.metadata[book.metadata.index(meta)] = fresh
                updated.append(fresh.as_json())
        return {"updateDeveloperMetadata": {"developerMetadata": updated}}

    def _req_deleteDeveloperMetadata(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        doomed = self._metadata_for_filter(book, p.get("dataFilter"), "dataFilter")
        gone = {id(m) for m in doomed}
        book.metadata = [m for m in book.metadata if id(m) not in gone]
        deleted = [m.as_json() for m in doomed]
        return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": deleted} if deleted else {}}
