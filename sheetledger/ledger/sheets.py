"""Reading and writing a ledger spreadsheet: the one module that calls gspread for it.

Per cycle (design.md §3, §9):
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
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import gspread
import requests
from gspread.exceptions import APIError

from sheetledger.errors import FatalError, RetriableError
from sheetledger.ledger.cells import CellProblem, Kind, from_cell, to_cell
from sheetledger.ledger.tabs import TabSchema
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView, TabRows

log = logging.getLogger(__name__)

T = TypeVar("T")

MONEY_FORMAT = {"type": "NUMBER", "pattern": "#,##0.00"}
DATE_FORMAT = {"type": "DATE", "pattern": "dd.mm.yyyy"}
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


def with_retries(
    call: Callable[[], T],
    *,
    what: str,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = 32.0,
) -> T:
    """Run a Sheets call, retrying 429, 5xx, timeouts and dropped connections.

    Google's advice (reference/google-sheets-api.md §4): exponential backoff with
    jitter, capped, never forever. Only absolute writes go through here: repeating
    them is harmless.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except APIError as exc:
            code = int(getattr(exc, "code", 0) or 0)
            if code not in (408, 429, 500, 502, 503, 504) or attempt == attempts:
                raise _translate(exc, what) from exc
            reason = f"HTTP {code}"
        except (requests.ConnectionError, requests.Timeout) as exc:
            if attempt == attempts:
                raise RetriableError("Google Sheets", f"{what}: {type(exc).__name__}") from exc
            reason = type(exc).__name__
        wait = min(max_wait, 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        log.warning("Google Sheets %s: %s, retry %d in %.1fs", what, reason, attempt, wait)
        sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _translate(exc: APIError, what: str) -> Exception:
    code = int(getattr(exc, "code", 0) or 0)
    message = str(exc.error.get("message", "")) if isinstance(exc.error, Mapping) else str(exc)
    if code in (408, 429) or code >= 500:
        return RetriableError("Google Sheets", f"{what}: HTTP {code} {message}")
    if code == 404:
        return FatalError("Google Sheets", f"{what}: spreadsheet not found", hint="check spreadsheet_id")
    if code == 403:
        return FatalError(
            "Google Sheets",
            f"{what}: permission denied",
            hint="share the spreadsheet with the service account's e-mail as an editor",
        )
    if code == 401:
        return FatalError("Google Sheets", f"{what}: credentials rejected", hint="check the service-account key")
    if code == 400 and "Unable to parse range" in message:
        return FatalError("Google Sheets", f"{what}: {message}", hint="a tab is missing: run `sheetledger init`")
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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = client.http_client
        self.spreadsheet_id = spreadsheet_id
        self.tabs = dict(tabs)  # schema key -> (title, schema)
        self.tz = tz
        self.sleep = sleep
        self._sheet_ids: dict[str, int] = {}
        self.layouts: dict[str, TabLayout] = {}
        self.requests = 0

    # -- reading ------------------------------------------------------------------

    def _call(self, what: str, call: Callable[[], T]) -> T:
        def counted() -> T:
            self.requests += 1
            return call()

        return with_retries(counted, what=what, sleep=self.sleep)

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
        headers = set(header_only)
        widths = dict(leading or {})
        ranges = []
        for key in keys:
            title, schema = self.tabs[key]
            width = widths.get(key, schema.width)
            last = column_letter(width - 1)
            ranges.append(f"{quote_title(title)}!A1:{last}1" if key in headers else f"{quote_title(title)}!A1:{last}")
        reply = self._call(
            "read",
            lambda: self.http.values_batch_get(self.spreadsheet_id, ranges, dict(_READ_PARAMS)),
        )
        view = LedgerView({})
        for key, value_range in zip(keys, reply.get("valueRanges", []), strict=True):
            title, schema = self.tabs[key]
            rows = value_range.get("values", [])
            tab, layout = self._parse_tab(title, schema, rows, widths.get(key))
            view.tabs[key] = tab
            self.layouts[key] = layout
        if "state" in view.tabs:
            view.state = {
                str(r["key"]): str(r.get("value") or "") for r in view.tabs["state"] if r.get("key")
            }
        return view

    def _parse_tab(
        self, title: str, schema: TabSchema, rows: list[list[Any]], width: int | None = None
    ) -> tuple[TabRows, TabLayout]:
        layout = TabLayout(title, schema, last_row=max(1, len(rows)))
        tab = TabRows(schema)
        header = rows[0] if rows else []
        layout.header_problem = check_header(schema, header, width) if rows else "the header row is empty"
        if layout.header_problem:
            return tab, layout
        id_kind = schema.id_column.kind
        for offset, raw in enumerate(rows[1:], start=2):
            if not raw or raw[0] in ("", None):
                continue
            try:
                row_id = str(from_cell(id_kind, raw[0], self.tz))
            except CellProblem:
                continue
            if row_id in tab.rows:
                layout.duplicates.append(row_id)
                continue
            values: dict[str, Any] = {}
            problems: dict[str, str] = {}
            for index, column in enumerate(schema.columns[:width]):
                cell = raw[index] if index < len(raw) else None
                try:
                    values[column.key] = from_cell(column.kind, cell, self.tz)
                except CellProblem as exc:
                    values[column.key] = None
                    problems[column.key] = str(exc)
            values[schema.id_column.key] = from_cell(id_kind, raw[0], self.tz)
            tab.rows[row_id] = values
            if problems:
                tab.problems[row_id] = problems
            layout.rows_by_id[row_id] = offset
        return tab, layout

    def header_problems(self) -> dict[str, str]:
        return {key: layout.header_problem for key, layout in self.layouts.items() if layout.header_problem}

    # -- writing ------------------------------------------------------------------

    def sheet_ids(self) -> dict[str, int]:
        """Title -> sheetId (one metadata read, then cached for the life of this object)."""
        if not self._sheet_ids:
            meta = self._call(
                "metadata",
                lambda: self.http.fetch_sheet_metadata(
                    self.spreadsheet_id, {"fields": "sheets.properties(sheetId,title)"}
                ),
            )
            self._sheet_ids = {
                s["properties"]["title"]: int(s["properties"].get("sheetId", 0)) for s in meta.get("sheets", [])
            }
        return self._sheet_ids

    def _locate(self, keys: list[str]) -> dict[str, tuple[dict[str, int], int, int]]:
        """Where each row ID is right now, the last used row and the grid's row count, per tab."""
        ranges = [f"{quote_title(self.tabs[k][0])}!A:A" for k in keys]
        reply = self._call(
            "locate rows",
            lambda: self.http.values_batch_get(self.spreadsheet_id, ranges, dict(_READ_PARAMS)),
        )
        found: dict[str, tuple[dict[str, int], int, int]] = {}
        for key, value_range in zip(keys, reply.get("valueRanges", []), strict=True):
            title, schema = self.tabs[key]
            values = value_range.get("values", [])
            positions: dict[str, int] = {}
            for offset, raw in enumerate(values[1:], start=2):
                if raw and raw[0] not in ("", None):
                    try:
                        positions.setdefault(str(from_cell(schema.id_column.kind, raw[0], self.tz)), offset)
                    except CellProblem:
                        continue
            last = max([1, *positions.values()]) if positions else max(1, _last_non_empty(values))
            last = max(last, _last_non_empty(values))
            found[key] = (positions, last, _grid_rows(str(value_range.get("range", ""))))
        return found

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
            | ({"state"} if changes.state else set())
        )
        for key in touched:
            layout = self.layouts.get(key)
            if layout is not None and layout.header_problem:
                raise HeaderProblem(layout.title, layout.header_problem)
        sheet_ids = self.sheet_ids()
        where = self._locate(touched)
        requests_: list[dict[str, Any]] = []
        cells = 0
        state_rows = self._state_rows(changes, where)
        for key in touched:
            title, schema = self.tabs[key]
            sheet_id = sheet_ids.get(title)
            if sheet_id is None:
                raise FatalError("Google Sheets", f"tab '{title}' not found", hint="run `sheetledger init`")
            positions, last_row, grid_rows = where[key]
            appends = [(a.row_id, dict(a.values)) for a in changes.appends if a.tab == key]
            if key == "state":
                appends.extend(state_rows[1])
            updates = {rid: vals for (tab, rid), vals in changes.merged_updates().items() if tab == key}
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
                requests_.append(
                    {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": needed - grid_rows + 50}}
                )
            for rid, vals in updates.items():
                row = positions.get(rid)
                if row is None:
                    log.warning("%s: row %s vanished before the write (deleted by a person?)", title, rid)
                    continue
                for start, run in _runs(schema, vals):
                    requests_.append(self._update_cells(sheet_id, row, start, [run], schema, start, fmt=False))
                    cells += len(run)
            if new_rows:
                block = [[vals.get(c.key) for c in schema.columns] for _, vals in new_rows]
                for (rid, vals), line in zip(new_rows, block, strict=True):
                    line[0] = vals.get(schema.id_column.key, rid)
                requests_.append(self._update_cells(sheet_id, last_row + 1, 0, block, schema, 0, fmt=True))
                cells += sum(len(b) for b in block)
            if replacement is not None:
                block = [[r.get(c.key) for c in schema.columns] for r in replacement]
                clear_to = max(last_row, 1 + len(block))
                block += [[None] * schema.width for _ in range(clear_to - 1 - len(block))]
                if block:
                    requests_.append(self._update_cells(sheet_id, 2, 0, block, schema, 0, fmt=True, clear=True))
                    cells += sum(len(b) for b in block)
        deletions: list[tuple[int, int]] = []
        for tab, row_id in changes.removes:
            row = where[tab][0].get(row_id)
            if row is not None:
                deletions.append((sheet_ids[self.tabs[tab][0]], row))
        # Bottom-up, after every write above: each index is still right when its turn comes.
        for sheet_id, row in sorted(set(deletions), key=lambda d: -d[1]):
            requests_.append(
                {
                    "deleteDimension": {
                        "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": row - 1, "endIndex": row}
                    }
                }
            )
        if requests_:
            self._call(
                "write",
                lambda: self.http.batch_update(self.spreadsheet_id, {"requests": requests_}),
            )
        return cells

    def _state_rows(
        self, changes: LedgerChanges, where: Mapping[str, tuple[dict[str, int], int, int]]
    ) -> tuple[dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
        if not changes.state or "state" not in where:
            return {}, []
        positions = where["state"][0]
        updates = {k: {"value": v} for k, v in changes.state.items() if k in positions}
        appends = [(k, {"key": k, "value": v}) for k, v in changes.state.items() if k not in positions]
        return updates, appends

    def _update_cells(
        self,
        sheet_id: int,
        row: int,
        column: int,
        block: list[list[Any]],
        schema: TabSchema,
        first_column: int,
        *,
        fmt: bool,
        clear: bool = False,
    ) -> dict[str, Any]:
        rows = []
        for line in block:
            cells = []
            for offset, value in enumerate(line):
                col = schema.columns[first_column + offset]
                cells.append(self._cell(col.kind, value, fmt=fmt, clear=clear))
            rows.append({"values": cells})
        fields = "userEnteredValue"
        if fmt:
            fields += ",userEnteredFormat.numberFormat,dataValidation"
        return {
            "updateCells": {
                "start": {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": column},
                "rows": rows,
                "fields": fields,
            }
        }

    def _cell(self, kind: Kind, value: Any, *, fmt: bool, clear: bool) -> dict[str, Any]:
        cell: dict[str, Any] = {}
        raw = to_cell(kind, value, self.tz)
        if kind is Kind.BOOL and fmt and not clear:
            raw = bool(raw) if raw != "" else False
        if raw == "" or raw is None:
            pass  # no userEnteredValue under the mask: the cell is cleared
        elif isinstance(raw, bool):
            cell["userEnteredValue"] = {"boolValue": raw}
        elif isinstance(raw, int | float):
            cell["userEnteredValue"] = {"numberValue": raw}
        else:
            cell["userEnteredValue"] = {"stringValue": raw}
        if fmt:
            if kind is Kind.MONEY:
                cell["userEnteredFormat"] = {"numberFormat": MONEY_FORMAT}
            elif kind is Kind.DATE:
                cell["userEnteredFormat"] = {"numberFormat": DATE_FORMAT}
            if kind is Kind.BOOL and not clear:
                cell["dataValidation"] = {"condition": {"type": "BOOLEAN"}, "strict": True}
        return cell


def _runs(schema: TabSchema, values: Mapping[str, Any]) -> list[tuple[int, list[Any]]]:
    """Contiguous runs of columns to write: [(first column index, [values...])]."""
    indexes = sorted(schema.index[k] for k in values if k in schema.index and k != schema.id_column.key)
    runs: list[tuple[int, list[Any]]] = []
    for index in indexes:
        value = values[schema.columns[index].key]
        if runs and runs[-1][0] + len(runs[-1][1]) == index:
            runs[-1][1].append(value)
        else:
            runs.append((index, [value]))
    return runs


def _last_non_empty(values: list[list[Any]]) -> int:
    for index in range(len(values), 0, -1):
        row = values[index - 1]
        if row and any(v not in ("", None) for v in row):
            return index
    return 1


def _grid_rows(a1: str) -> int:
    """The grid's row count from a grid-clipped response range such as ``Payments!A1:A1000``."""
    tail = a1.rsplit("!", 1)[-1]
    end = tail.split(":")[-1]
    digits = "".join(ch for ch in end if ch.isdigit())
    return int(digits) if digits else 1000
