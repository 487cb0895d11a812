"""Reading and writing a ledger spreadsheet: the one module that calls gspread for it.

Per cycle (docs/architecture.md, "The cycle" and "Targets"):
* ``read``   one ``values:batchGet`` of every managed tab (UNFORMATTED, dates as serials);
* ``write``  one ``values:batchGet`` of the ID columns, to find each row where it is
  *now* (people sort, insert and delete rows while the daemon talks to amoCRM), then
  one atomic ``spreadsheets:batchUpdate``: grid growth, the changed cells (typed
  values, never parsed), formats and checkboxes of new rows.

The header row is checked on every read: a managed column renamed, moved or
deleted stops writes to that tab (``HeaderProblem``), never a write into the wrong
column. Between the ID check and the write there remains a window of milliseconds
in which a person's sort could still move a row; Sheets offers no conditional write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import gspread
import requests
from gspread.exceptions import APIError
from gspread.urls import DRIVE_FILES_API_V3_URL, SPREADSHEET_BATCH_UPDATE_URL

from sheetledger.errors import FatalError, RetriableError
from sheetledger.ledger.batch import (
    MAX_BODY_BYTES,
    ROWS_PER_REQUEST,
    EncodedBatch,
    cell_data,
    column_runs,
    new_cell_format,
    row_formats,
    update_cells,
)
from sheetledger.ledger.cells import CellProblem, Kind, from_cell
from sheetledger.ledger.records import row_type
from sheetledger.ledger.rows import RowCache, parse_rows
from sheetledger.ledger.tabs import Tab, TabSchema
from sheetledger.ledger.view import LedgerChanges, LedgerView, TabRows
from sheetledger.retry import RetryPolicy, TryAgain

log = logging.getLogger(__name__)

T = TypeVar("T")

_READ_PARAMS = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "ROWS",
}


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


@dataclass
class TabLayout:
    """Where a tab's rows were at read time, and whether its header can be trusted."""

    title: str
    schema: TabSchema
    rows_by_id: dict[str, int] = field(default_factory=dict)  # id -> 1-based sheet row
    last_row: int = 1
    header_problem: str = ""
    duplicates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Located:
    """A tab as it is right before a write: its sheetId, where each ID is, how far it goes."""

    sheet_id: int
    positions: dict[str, int]  # row ID -> 1-based sheet row
    last_row: int  # the last row holding anything in the managed columns
    grid_rows: int
    copies: dict[str, list[int]] = field(default_factory=dict)  # ID -> rows of its later copies


class HeaderProblem(FatalError):
    def __init__(self, tab: str, detail: str) -> None:
        super().__init__(
            "Google Sheets",
            f"tab '{tab}': {detail}",
            hint="writes to this tab are stopped; restore the header (or run `sheetledger init`)",
        )
        self.tab = tab


def check_header(schema: TabSchema, header: Sequence[Any], limit: int | None = None) -> str:
    """'' when the managed headers stand in order from column A, else what is wrong.

    ``limit`` checks only the first columns (a read of the leading columns only).
    """
    found = [str(h).strip() if h is not None else "" for h in header]
    for index, column in enumerate(schema.columns[:limit]):
        actual = found[index] if index < len(found) else ""
        if actual != column.header:
            letter = column_letter(index)
            if column.header in found:
                where = column_letter(found.index(column.header))
                return f"column '{column.header}' moved from {letter} to {where}"
            if actual:
                return f"column {letter} should be '{column.header}', found '{actual}' (renamed?)"
            return f"column '{column.header}' ({letter}) is missing"
    return ""


RETRIED_CODES = frozenset({408, 429, 500, 502, 503, 504})
# Google's advice (docs/api-notes.md, "Retries"): exponential backoff with jitter, capped,
# never forever. Only absolute writes go through here: repeating them is harmless.
SHEETS_RETRY = RetryPolicy(attempts=5, base=1.0, cap=32.0)


def one_attempt(call: Callable[[], T], what: str) -> Callable[[], T]:
    """``call`` as one attempt for ``RetryPolicy.run``: what may pass asks for another."""

    def attempt() -> T:
        try:
            return call()
        except APIError as exc:
            code = int(getattr(exc, "code", 0) or 0)
            if code in RETRIED_CODES:
                raise TryAgain(f"HTTP {code}") from exc
            raise _translate(exc, what) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TryAgain(type(exc).__name__) from exc

    return attempt


def _give_up(what: str) -> Callable[[TryAgain, int], Exception]:
    def give_up(again: TryAgain, attempts: int) -> Exception:
        cause = again.__cause__
        if isinstance(cause, APIError):
            return _translate(cause, what)
        return RetriableError("Google Sheets", f"{what}: {again.problem}")

    return give_up


def with_retries(call: Callable[[], T], *, what: str, policy: RetryPolicy = SHEETS_RETRY) -> T:
    """Run a Sheets call, retrying 429, 5xx, timeouts and dropped connections."""
    return policy.run(
        one_attempt(call, what), service="Google Sheets", what=what, give_up=_give_up(what)
    )


def _translate(exc: APIError, what: str) -> Exception:
    code = int(getattr(exc, "code", 0) or 0)
    message = str(exc.error.get("message", "")) if isinstance(exc.error, Mapping) else str(exc)
    if code in (408, 429) or code >= 500:
        return RetriableError("Google Sheets", f"{what}: HTTP {code} {message}")
    if code == 404:
        return FatalError(
            "Google Sheets", f"{what}: spreadsheet not found", hint="check spreadsheet_id"
        )
    if code == 403:
        return FatalError(
            "Google Sheets",
            f"{what}: permission denied",
            hint="share the spreadsheet with the service account's e-mail as an editor",
        )
    if code == 401:
        return FatalError(
            "Google Sheets", f"{what}: credentials rejected", hint="check the service-account key"
        )
    if code == 400 and "Unable to parse range" in message:
        return FatalError(
            "Google Sheets",
            f"{what}: {message}",
            hint="a tab is missing: run `sheetledger rebuild` (it recreates the tab and restores "
            "its rows and confirmations from amoCRM)",
        )
    return FatalError("Google Sheets", f"{what}: HTTP {code} {message}")


class LedgerSheets:
    """One spreadsheet (the master ledger or a cabinet) seen as managed tabs."""

    def __init__(
        self,
        client: gspread.Client,
        spreadsheet_id: str,
        tabs: Mapping[str, tuple[str, TabSchema]],
        tz: ZoneInfo,
        *,
        retry: RetryPolicy = SHEETS_RETRY,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._http = client.http_client
        self.spreadsheet_id = spreadsheet_id
        self.tabs = {key: Tab(*tab) for key, tab in tabs.items()}  # schema key -> Tab
        self.tz = tz
        self.retry = retry if sleep is None else replace(retry, sleep=sleep)
        self._sheet_ids: dict[str, int] = {}  # title -> sheetId, as the reads brought them
        self._every_sheet_id = False  # whether _sheet_ids holds every tab (sheet_ids() read)
        self.layouts: dict[str, TabLayout] = {}
        self.requests = 0
        self._seen_version: str | None = None
        self._cached: LedgerView | None = None
        self._cached_keys: tuple[str, ...] = ()
        self.reads_skipped = 0
        self.last_read_cached = False
        self.last_view: LedgerView | None = None  # what the last read found (kept, not copied)
        # The typed rows of the last read of each tab (and width), by their raw cells: the
        # next read converts only the rows whose cells changed (ledger/rows.py).
        self._row_caches: dict[tuple[str, int], RowCache] = {}

    @property
    def sleep(self) -> Callable[[float], None]:
        """How the retries wait (tests and ``check`` set it: they do not wait)."""
        return self.retry.sleep

    @sleep.setter
    def sleep(self, value: Callable[[float], None]) -> None:
        self.retry = replace(self.retry, sleep=value)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        def counted() -> T:
            self.requests += 1
            return call()

        return with_retries(counted, what=what, policy=self.retry)

    # -- for `init` and `check` ---------------------------------------------------

    def metadata(self, fields: str, ranges: Sequence[str] = ()) -> dict[str, Any]:
        """``spreadsheets.get`` with the field mask ``fields`` (cell data only of ``ranges``)."""
        params: dict[str, Any] = {"fields": fields}
        if ranges:
            params["ranges"] = list(ranges)
        reply = self._call(
            "metadata", lambda: self._http.fetch_sheet_metadata(self.spreadsheet_id, params)
        )
        return dict(reply)

    def header_rows(self, titles: Sequence[str]) -> dict[str, list[Any]]:
        """The first row of each tab in ``titles`` (formatted values), in one request."""
        if not titles:
            return {}
        ranges = [f"{quote_title(title)}!1:1" for title in titles]
        reply = self._call(
            "read headers",
            lambda: self._http.values_batch_get(self.spreadsheet_id, ranges, None),
        )
        headers = {}
        for title, value_range in zip(titles, reply.get("valueRanges", []), strict=True):
            values = value_range.get("values", [])
            headers[title] = values[0] if values else []
        return headers

    def batch_update(self, requests_: Sequence[Mapping[str, Any]], *, what: str) -> None:
        """One atomic ``spreadsheets:batchUpdate`` of ``requests_`` (structure and formats)."""
        body = {"requests": list(requests_)}
        self._call(what, lambda: self._http.batch_update(self.spreadsheet_id, body))

    # -- reading ------------------------------------------------------------------

    def read(
        self,
        keys: Iterable[str] | None = None,
        *,
        header_only: Iterable[str] = (),
        leading: Mapping[str, int] | None = None,
    ) -> LedgerView:
        """All managed tabs (or ``keys``) in one request, parsed into a ``LedgerView``.

        ``header_only`` tabs are read as their header row alone (enough to know a write
        is safe: rows are located by ID at write time); ``leading`` reads only the first
        N columns of a tab. Both keep a frequent small write from reading a large tab.
        """
        keys = list(keys or self.tabs)
        self.last_read_cached = False
        headers = set(header_only)
        widths = dict(leading or {})
        ranges = []
        for key in keys:
            title, schema = self.tabs[key]
            width = widths.get(key, schema.width)
            last = column_letter(width - 1)
            ranges.append(
                f"{quote_title(title)}!A1:{last}1"
                if key in headers
                else f"{quote_title(title)}!A1:{last}"
            )
        reply = self._call(
            "read",
            lambda: self._http.values_batch_get(self.spreadsheet_id, ranges, dict(_READ_PARAMS)),
        )
        view = LedgerView({})
        for key, value_range in zip(keys, reply.get("valueRanges", []), strict=True):
            title, schema = self.tabs[key]
            rows = value_range.get("values", [])
            cache = (
                None
                if key in headers
                else self._row_caches.setdefault((key, widths.get(key, 0)), RowCache())
            )
            tab, layout = self._parse_tab(title, schema, rows, widths.get(key), cache)
            view.tabs[key] = tab
            self.layouts[key] = layout
        if "state" in view.tabs:
            view.state = {
                str(r["key"]): str(r.get("value") or "") for r in view.tabs["state"] if r.get("key")
            }
        self.last_view = view
        return view

    def _parse_tab(
        self,
        title: str,
        schema: TabSchema,
        rows: list[list[Any]],
        width: int | None = None,
        cache: RowCache | None = None,
    ) -> tuple[TabRows, TabLayout]:
        layout = TabLayout(title, schema, last_row=max(1, len(rows)))
        tab = TabRows(schema)
        header = rows[0] if rows else []
        layout.header_problem = (
            check_header(schema, header, width) if rows else "the header row is empty"
        )
        if layout.header_problem:
            return tab, layout
        parsed = parse_rows(schema, rows, self.tz, width, cache if row_type(schema) else None)
        tab.rows, tab.problems, tab.copies = parsed.rows, parsed.problems, parsed.copies
        tab.unkeyed = parsed.unkeyed
        layout.rows_by_id, layout.duplicates = parsed.positions, parsed.duplicates
        return tab, layout

    def read_columns(self, key: str, columns: Sequence[str]) -> dict[str, list[Any]]:
        """The header of tab ``key`` and the whole ``columns`` (column keys), in one request.

        A write path that must know which keys a large tab holds (the orders' IDs and
        sources) reads two narrow columns, not 50,000 rows of every column (one
        ``values:batchGet``; ``spreadsheets.get`` of the same cells is far heavier). The
        header is checked as ``read`` checks it (``append_rows`` may follow); a broken
        one gives empty columns. Values are the cells as read (unformatted), from row 2.
        """
        title, schema = self.tabs[key]
        last = column_letter(schema.width - 1)
        ranges = [f"{quote_title(title)}!A1:{last}1"]
        for column in columns:
            letter = column_letter(schema.index[column])
            ranges.append(f"{quote_title(title)}!{letter}2:{letter}")
        reply = self._call(
            "read columns",
            lambda: self._http.values_batch_get(self.spreadsheet_id, ranges, dict(_READ_PARAMS)),
        )
        value_ranges = reply.get("valueRanges", [])
        header_rows = value_ranges[0].get("values", []) if value_ranges else []
        layout = TabLayout(title, schema)
        layout.header_problem = (
            check_header(schema, header_rows[0]) if header_rows else "the header row is empty"
        )
        found: dict[str, list[Any]] = {}
        for column, value_range in zip(columns, value_ranges[1:], strict=True):
            values = value_range.get("values", []) if not layout.header_problem else []
            found[column] = [row[0] if row else None for row in values]
            layout.last_row = max(layout.last_row, 1 + len(values))
        self.layouts[key] = layout
        return found

    def read_row(self, key: str, row_id: str) -> tuple[dict[str, Any], int] | None:
        """The cells of the row with ID ``row_id`` and its sheet row, or None: two small reads.

        One ``read_columns`` of the ID column finds the row (and checks the header), one
        ``values:batchGet`` reads that row alone — never the whole tab. A broken header
        raises ``HeaderProblem``. ``write_row`` may follow.
        """
        title, schema = self.tabs[key]
        ids = self.read_columns(key, [schema.id_column.key])[schema.id_column.key]
        problem = self.layouts[key].header_problem
        if problem:
            raise HeaderProblem(title, problem)
        try:
            found_at = [str(i) if i is not None else "" for i in ids].index(row_id)
        except ValueError:
            return None
        row = found_at + 2
        last = column_letter(schema.width - 1)
        ranges = [f"{quote_title(title)}!A{row}:{last}{row}"]
        reply = self._call(
            "read row",
            lambda: self._http.values_batch_get(self.spreadsheet_id, ranges, dict(_READ_PARAMS)),
        )
        parts = [vr.get("values", []) for vr in reply.get("valueRanges", [])]
        cells = parts[0] if parts else []
        parsed = parse_rows(schema, [schema.headers, *cells], self.tz)
        got = parsed.rows.get(row_id)
        return None if got is None else (got, row)

    def write_row(self, key: str, row: int, values: Mapping[str, Any]) -> int:
        """Write ``values`` (column key -> value) into sheet row ``row`` of tab ``key``.

        One ``batchUpdate``; the row is the one ``read_row`` just found (the ID column is
        not written). Returns the number of cells written.
        """
        title, schema = self.tabs[key]
        sheet_id = self._sheet_ids.get(title)
        if sheet_id is None:
            sheet_id = self.sheet_ids()[title]
        batch = EncodedBatch()
        cells = 0
        for start, run in column_runs(schema, values):
            batch.add(update_cells(self.tz, sheet_id, row, start, [run], schema, start, fmt=False))
            cells += len(run)
        if cells:
            body = batch.body()
            self._call("write row", lambda: self._send_batch_update(body))
        return cells

    def read_if_changed(
        self, keys: Iterable[str] | None = None, *, force: bool = False
    ) -> LedgerView:
        """``read(keys)``, unless Drive says the file has not changed since the last one.

        Drive's ``version`` "reflects every change made to the file" and costs a Drive
        request, not one of the Sheets read quota (docs/api-notes.md, "Google: quotas"): a
        spreadsheet nobody touched is not read again every minute. Our own writes change
        the version too, so the cycle after a write reads it afresh. The version is taken
        before the read, so an edit racing the read can only cause one read too many.
        ``last_read_cached`` tells the caller which it was. ``force`` reads whatever the
        version says (a lagging version must not hide an edit for ever).
        """
        wanted = tuple(keys or self.tabs)
        version = self._drive_version()
        if (
            not force
            and version is not None
            and version == self._seen_version
            and self._cached is not None
            and self._cached_keys == wanted
        ):
            self.reads_skipped += 1
            self.last_read_cached = True
            return self._cached
        view = self.read(wanted)
        self._cached, self._seen_version, self._cached_keys = view, version, wanted
        return view

    def _drive_version(self) -> str | None:
        try:
            reply = self._http.request(
                "get",
                f"{DRIVE_FILES_API_V3_URL}/{self.spreadsheet_id}",
                params={"fields": "version", "supportsAllDrives": True},
            )
            return str(reply.json().get("version") or "") or None
        except (APIError, requests.RequestException, ValueError) as exc:
            # No Drive API (not enabled for the project) only costs the saving.
            log.debug("Drive version of %s unavailable: %s", self.spreadsheet_id, exc)
            return None

    def header_problems(self) -> dict[str, str]:
        return {
            key: layout.header_problem
            for key, layout in self.layouts.items()
            if layout.header_problem
        }

    # -- writing ------------------------------------------------------------------

    def sheet_ids(self) -> dict[str, int]:
        """Title -> sheetId (one metadata read, then cached for the life of this object).

        ``_locate`` caches the ids of the tabs it reads; that is not every tab, so a tab
        found in neither is looked up here once (an expense first, then an order).
        """
        if not self._every_sheet_id or not self._sheet_ids:
            meta = self._call(
                "metadata",
                lambda: self._http.fetch_sheet_metadata(
                    self.spreadsheet_id, {"fields": "sheets.properties(sheetId,title)"}
                ),
            )
            self._sheet_ids = {
                s["properties"]["title"]: int(s["properties"].get("sheetId", 0))
                for s in meta.get("sheets", [])
            }
            self._every_sheet_id = True
        return self._sheet_ids

    def _locate(self, keys: list[str]) -> dict[str, Located]:
        """Where each row ID is right now, the last used row and the grid's row count, per tab.

        One ``spreadsheets.get`` of the ID columns with a field mask: it also brings each
        tab's sheetId and grid size, so a write needs no separate metadata read.
        """
        ranges = [f"{quote_title(self.tabs[k].title)}!A:A" for k in keys]
        params: dict[str, Any] = {
            "ranges": ranges,
            "fields": "sheets(properties(sheetId,title,gridProperties(rowCount)),"
            "data(startRow,rowData(values(effectiveValue))))",
        }
        reply = self._call(
            "locate rows", lambda: self._http.fetch_sheet_metadata(self.spreadsheet_id, params)
        )
        sheets = {s["properties"]["title"]: s for s in reply.get("sheets", [])}
        self._sheet_ids.update(
            {title: int(s["properties"].get("sheetId", 0)) for title, s in sheets.items()}
        )
        found: dict[str, Located] = {}
        for key in keys:
            title, schema = self.tabs[key]
            sheet = sheets.get(title)
            if sheet is None:
                raise FatalError(
                    "Google Sheets", f"tab '{title}' not found", hint="run `sheetledger init`"
                )
            grid_rows = int(sheet["properties"].get("gridProperties", {}).get("rowCount", 1000))
            positions: dict[str, int] = {}
            copies: dict[str, list[int]] = {}
            last_id = 1
            kind = schema.id_column.kind
            for block in sheet.get("data", []):
                first = int(block.get("startRow", 0)) + 1
                for offset, row in enumerate(block.get("rowData", []), start=first):
                    raw = _effective((row.get("values") or [{}])[0])
                    if offset == 1 or raw is None or raw == "":
                        continue
                    if offset > last_id:
                        last_id = offset
                    # (an ID as Sheets holds it, most of them, is taken as it is: a write
                    # locates the rows of 40,000 IDs)
                    if kind is Kind.TEXT and type(raw) is str and raw[0] != "'":
                        row_id = raw
                    elif kind is Kind.INT and type(raw) is int:
                        row_id = str(raw)
                    else:
                        try:
                            row_id = str(from_cell(kind, raw, self.tz))
                        except CellProblem:
                            continue
                    if positions.setdefault(row_id, offset) != offset:
                        copies.setdefault(row_id, []).append(offset)
            sheet_id = int(sheet["properties"].get("sheetId", 0))
            last_row = self._last_row(key, positions, last_id)
            found[key] = Located(sheet_id, positions, last_row, grid_rows, copies)
        return found

    def _last_row(self, key: str, positions: Mapping[str, int], last_id: int) -> int:
        """The last row holding anything in the managed columns, as it is now.

        The ID column alone would miss a row a person typed at the bottom without an ID;
        the read of the cycle saw every managed column, so its last row is carried over,
        moved by as many rows as people inserted or deleted above it since.
        """
        layout = self.layouts.get(key)
        if layout is None or not layout.rows_by_id:
            return max(last_id, layout.last_row if layout is not None else 1)
        then_id, then_row = max(layout.rows_by_id.items(), key=lambda item: item[1])
        now_row = positions.get(then_id)
        shift = (now_row - then_row) if now_row is not None else 0
        return max(last_id, layout.last_row + shift)

    def write(self, changes: LedgerChanges) -> int:
        """Apply ``changes`` in one atomic batchUpdate; returns the number of cells written.

        Changes for a tab whose header is broken raise ``HeaderProblem`` before anything
        is sent.
        """
        if not changes:
            return 0
        touched = sorted(
            {u.tab for u in changes.updates}
            | {a.tab for a in changes.appends}
            | set(changes.replace)
            | {tab for tab, _ in changes.removes}
            | {k.tab for k in changes.keys}
            | ({"state"} if changes.state else set())
        )
        for key in touched:
            layout = self.layouts.get(key)
            if layout is not None and layout.header_problem:
                raise HeaderProblem(layout.title, layout.header_problem)
        where = self._locate(touched)  # raises when a tab is missing
        requests_ = EncodedBatch()
        cells = 0
        state_rows = self._state_rows(changes, where)
        merged = changes.merged_updates()
        for key in touched:
            title, schema = self.tabs[key]
            located = where[key]
            sheet_id, positions = located.sheet_id, located.positions
            last_row, grid_rows = located.last_row, located.grid_rows
            appends = [(a.row_id, dict(a.values)) for a in changes.appends if a.tab == key]
            if key == "state":
                appends.extend(state_rows[1])
            updates = {rid: vals for (tab, rid), vals in merged.items() if tab == key}
            if key == "state":
                updates.update(state_rows[0])
            new_rows: list[tuple[str, dict[str, Any]]] = []
            for rid, vals in appends:
                if rid in positions:  # appended by an earlier, interrupted write: update instead
                    updates.setdefault(rid, {}).update(vals)
                else:  # a row planned new and changed again in the same cycle: one row
                    new_rows.append((rid, vals | updates.pop(rid, {})))
            replacement = changes.replace.get(key)
            needed = last_row + len(new_rows)
            if replacement is not None:
                needed = max(needed, 1 + len(replacement))
            if needed > grid_rows:
                requests_.add(
                    {
                        "appendDimension": {
                            "sheetId": sheet_id,
                            "dimension": "ROWS",
                            "length": needed - grid_rows + 50,
                        }
                    }
                )
            for rid, vals in updates.items():
                row = positions.get(rid)
                if row is None:
                    log.warning(
                        "%s: row %s vanished before the write (deleted by a person?)", title, rid
                    )
                    continue
                # Every copy of a pasted row gets the same cells (its E_DUPLICATE flag).
                for at in (row, *located.copies.get(rid, ())):
                    for start, run in column_runs(schema, vals):
                        requests_.add(
                            update_cells(
                                self.tz, sheet_id, at, start, [run], schema, start, fmt=False
                            )
                        )
                        cells += len(run)
            if new_rows:
                block = [[vals.get(c.key) for c in schema.columns] for _, vals in new_rows]
                for (rid, vals), line in zip(new_rows, block, strict=True):
                    line[0] = vals.get(schema.id_column.key, rid)
                for first in range(0, len(block), ROWS_PER_REQUEST):
                    part = block[first : first + ROWS_PER_REQUEST]
                    at = last_row + 1 + first
                    requests_.add(update_cells(self.tz, sheet_id, at, 0, part, schema, 0, fmt=True))
                for request in row_formats(sheet_id, last_row + 1, len(block), schema, clear=False):
                    requests_.add(request)
                cells += sum(len(b) for b in block)
            if replacement is not None:
                block = [[r.get(c.key) for c in schema.columns] for r in replacement]
                clear_to = max(last_row, 1 + len(block))
                block += [[None] * schema.width for _ in range(clear_to - 1 - len(block))]
                if block:
                    for first in range(0, len(block), ROWS_PER_REQUEST):
                        part = block[first : first + ROWS_PER_REQUEST]
                        cleared = update_cells(
                            self.tz, sheet_id, 2 + first, 0, part, schema, 0, fmt=True, clear=True
                        )
                        requests_.add(cleared)
                    for request in row_formats(sheet_id, 2, len(block), schema, clear=True):
                        requests_.add(request)
                    cells += sum(len(b) for b in block)
        for row_key in changes.keys:
            located = where[row_key.tab]
            schema = self.tabs[row_key.tab].schema
            taken = set(located.positions.values()) | {
                row for rows in located.copies.values() for row in rows
            }
            if row_key.row in taken or row_key.row > located.last_row:
                # Someone typed an ID there, or sorted the tab, since the read: next cycle.
                log.info("%s: row %d changed before its ID was written", row_key.tab, row_key.row)
                continue
            values = {**row_key.values, schema.id_column.key: row_key.row_id}
            line = [values.get(c.key) for c in schema.columns]
            written = [(i, v) for i, v in enumerate(line) if schema.columns[i].key in values]
            for index, value in written:
                requests_.add(
                    update_cells(
                        self.tz,
                        located.sheet_id,
                        row_key.row,
                        index,
                        [[value]],
                        schema,
                        index,
                        fmt=False,
                    )
                )
                cells += 1
        deletions: list[tuple[int, int]] = []
        for tab, row_id in changes.removes:
            row = where[tab].positions.get(row_id)
            if row is not None:
                deletions.append((where[tab].sheet_id, row))
        # Bottom-up, after every write above: each index is still right when its turn comes.
        for sheet_id, row in sorted(set(deletions), key=lambda d: -d[1]):
            requests_.add(
                {
                    "deleteDimension": {
                        "range": {
                            "sheetId": sheet_id,
                            "dimension": "ROWS",
                            "startIndex": row - 1,
                            "endIndex": row,
                        }
                    }
                }
            )
        for payload in requests_.bodies(MAX_BODY_BYTES):
            self._call("write", lambda body=payload: self._send_batch_update(body))  # type: ignore[misc]
        return cells

    def row_ids(self, key: str) -> set[str]:
        """The row IDs of tab ``key`` as they are now (one read of the ID column)."""
        return set(self._locate([key])[key].positions)

    def append_rows(self, key: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append ``rows`` (column key -> value) at the end of tab ``key``: one batchUpdate.

        ``appendCells`` finds the end itself, inside the request ("after the last row
        with data in a sheet, inserting new rows if necessary"), so no read of the tab
        comes before it. It does not look for the IDs: the caller must know they are
        not in the tab yet (``write`` turns such an append into an update instead).
        The tab's header must have been read (``read``) just before; a broken one
        raises ``HeaderProblem``. The sheetId is the cached one (``sheet_ids``). Sent
        once, never retried here (see below): on ``RetriableError`` the rows may or
        may not be there.
        """
        if not rows:
            return 0
        title, schema = self.tabs[key]
        layout = self.layouts.get(key)
        if layout is None:
            raise HeaderProblem(title, "the header was not read before appending")
        if layout.header_problem:
            raise HeaderProblem(title, layout.header_problem)
        sheet_id = self._sheet_ids.get(title)
        if sheet_id is None:
            sheet_id = self.sheet_ids().get(title)
        if sheet_id is None:
            raise FatalError(
                "Google Sheets", f"tab '{title}' not found", hint="run `sheetledger init`"
            )
        formats = [new_cell_format(column.kind) for column in schema.columns]
        data = []
        for values in rows:
            cells = []
            for column, fmt in zip(schema.columns, formats, strict=True):
                cell = cell_data(
                    column.kind, values.get(column.key), self.tz, fmt=True, clear=False
                )
                cells.append(cell | fmt)
            data.append({"values": cells})
        request = {
            "appendCells": {
                "sheetId": sheet_id,
                "rows": data,
                "fields": "userEnteredValue,userEnteredFormat.numberFormat,dataValidation",
            }
        }
        batch = EncodedBatch()
        batch.add(request)
        body = batch.body()

        def send() -> Any:
            self.requests += 1
            return self._send_batch_update(body)

        # Tried once: an append is not absolute, and a dropped connection or a 5xx may
        # come after Google applied it. The caller finds its rows by ID before trying again.
        with_retries(send, what="append", policy=replace(self.retry, attempts=1))
        return sum(len(row["values"]) for row in data)

    def _send_batch_update(self, payload: bytes) -> Any:
        """``spreadsheets:batchUpdate`` with a body already encoded (gspread's encodes a dict)."""
        url = SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id
        headers = {"Content-Type": "application/json"}
        return self._http.request("post", url, data=payload, headers=headers).json()

    def _state_rows(
        self, changes: LedgerChanges, where: Mapping[str, Located]
    ) -> tuple[dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
        if not changes.state or "state" not in where:
            return {}, []
        positions = where["state"].positions
        updates = {k: {"value": v} for k, v in changes.state.items() if k in positions}
        appends = [
            (k, {"key": k, "value": v}) for k, v in changes.state.items() if k not in positions
        ]
        return updates, appends


def _effective(cell: Mapping[str, Any]) -> Any:
    """The value of a ``CellData`` as UNFORMATTED_VALUE would give it."""
    value = cell.get("effectiveValue") or {}
    for kind in ("stringValue", "numberValue", "boolValue"):
        if kind in value:
            return value[kind]
    return None
