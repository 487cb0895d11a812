"""The bodies of a ledger write's ``spreadsheets:batchUpdate``: the cells, the formats and
checkboxes of new rows, and the encoding that keeps each body under Google's size limit.

Pure (no request is sent here): ``ledger/sheets.py`` decides what to write and sends it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.ledger.cells import Kind, to_cell
from sheetledger.ledger.tabs import TabSchema

MAX_BODY_BYTES = 9 * 1024 * 1024  # one batchUpdate's body at most (see EncodedBatch.bodies)
# Every money cell sheetledger writes (ledger, cabinets, reports) shows roubles the same way.
MONEY_FORMAT = {"type": "NUMBER", "pattern": '#,##0.00 "₽"'}
DATE_FORMAT = {"type": "DATE", "pattern": "dd.mm.yyyy"}
# Shared by every request that sets them (never modified).
_MONEY_CELL_FORMAT = {"numberFormat": MONEY_FORMAT}
_DATE_CELL_FORMAT = {"numberFormat": DATE_FORMAT}
_CHECKBOX_RULE = {"condition": {"type": "BOOLEAN"}, "strict": True}
ROWS_PER_REQUEST = 500  # rows of one updateCells request within the batch (see EncodedBatch)


def update_cells(
    tz: ZoneInfo,
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
    """An ``updateCells`` request writing ``block`` (rows of values, in the columns of
    ``schema`` from ``first_column``) at 1-based ``row`` and 0-based ``column``."""
    rows = []
    # Equal values make equal cells: share them. A first import is ~660,000 cells, and a
    # dict per cell (two with its value, more with formats) was most of its peak memory.
    # Zero is not shared: 0 == -0.0, but the two are written differently.
    shared: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in block:
        cells = []
        for offset, value in enumerate(line):
            kind = schema.columns[first_column + offset].kind
            if type(value) in (Decimal, int, float) and value == 0:
                cells.append(cell_data(kind, value, tz, fmt=fmt, clear=clear))
                continue
            key = (kind, type(value), value)
            cell = shared.get(key)
            if cell is None:
                cell = shared[key] = cell_data(kind, value, tz, fmt=fmt, clear=clear)
            cells.append(cell)
        rows.append({"values": cells})
    # Values only: the formats of new rows go by column (``row_formats``), not per cell.
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": column},
            "rows": rows,
            "fields": "userEnteredValue",
        }
    }


def cell_data(kind: Kind, value: Any, tz: ZoneInfo, *, fmt: bool, clear: bool) -> dict[str, Any]:
    cell: dict[str, Any] = {}
    raw = to_cell(kind, value, tz)
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
    return cell


def new_cell_format(kind: Kind) -> dict[str, Any]:
    """The format and validation a new cell of ``kind`` gets (as ``row_formats`` gives)."""
    cell: dict[str, Any] = {}
    if kind is Kind.MONEY:
        cell["userEnteredFormat"] = _MONEY_CELL_FORMAT
    elif kind is Kind.DATE:
        cell["userEnteredFormat"] = _DATE_CELL_FORMAT
    if kind is Kind.BOOL:
        cell["dataValidation"] = _CHECKBOX_RULE
    return cell


def row_formats(
    sheet_id: int, row: int, count: int, schema: TabSchema, *, clear: bool
) -> list[dict[str, Any]]:
    """Number formats and checkboxes of ``count`` rows from ``row``: a repeatCell per run
    of alike columns. Other columns get theirs cleared, as a per-cell write would.

    Sent per cell they were 40% of a first import's request body (16 of 40 MB).
    """
    runs: list[tuple[int, int, dict[str, Any]]] = []  # (first column, end column, cell)
    for index, column in enumerate(schema.columns):
        cell = new_cell_format(column.kind)
        if clear:
            cell.pop("dataValidation", None)
        if runs and runs[-1][2] == cell:
            runs[-1] = (runs[-1][0], index + 1, cell)
        else:
            runs.append((index, index + 1, cell))
    return [
        {
            "repeatCell": {
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": row - 1,
                    "endRowIndex": row - 1 + count,
                    "startColumnIndex": first,
                    "endColumnIndex": end,
                },
                "cell": cell,
                "fields": "userEnteredFormat.numberFormat,dataValidation",
            }
        }
        for first, end, cell in runs
    ]


class EncodedBatch:
    """The requests of one ``spreadsheets:batchUpdate``, JSON-encoded as they are added.

    A first import writes ~660,000 cells. Kept as one tree of dicts, then dumped to one
    JSON string, then encoded to bytes, it was three copies of itself at the peak; added
    here ``ROWS_PER_REQUEST`` rows at a time, each part is bytes at once and its dicts go.
    The parts still make one atomic batchUpdate, applied in order.
    """

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def add(self, request: Mapping[str, Any]) -> None:
        # UTF-8, not \uXXXX escapes: Russian text is a third of the size.
        text = json.dumps(request, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        self.parts.append(text.encode())

    def __bool__(self) -> bool:
        return bool(self.parts)

    def body(self) -> bytes:
        """The request body, made in one join (so one copy of the parts, not two)."""
        return next(self.bodies(None), b'{"requests":[]}')

    def bodies(self, limit: int | None) -> Iterator[bytes]:
        """The bodies to send, in order: one, unless it would pass ``limit`` bytes.

        Google processes one batchUpdate atomically but times out after 180 s and advises
        small payloads; a first import (tens of MB) is cut into several, in order. Every
        row write is idempotent by ID and the cursor (the ``_state`` tab) comes last, so a
        failure between two of them is finished by the next cycle, never doubled.
        """
        parts, self.parts = self.parts, []
        batch: list[bytes] = []
        size = 0
        for part in parts:
            if batch and limit is not None and size + len(part) + 1 > limit:
                yield join_parts(batch)
                batch, size = [], 0
            batch.append(part)
            size += len(part) + 1
        if batch:
            yield join_parts(batch)


def join_parts(parts: list[bytes]) -> bytes:
    pieces = [b'{"requests":[']
    for index, part in enumerate(parts):
        pieces += (b",", part) if index else (part,)
    pieces.append(b"]}")
    return b"".join(pieces)


def column_runs(schema: TabSchema, values: Mapping[str, Any]) -> list[tuple[int, list[Any]]]:
    """Contiguous runs of columns to write: [(first column index, [values...])]."""
    indexes = sorted(
        schema.index[k] for k in values if k in schema.index and k != schema.id_column.key
    )
    runs: list[tuple[int, list[Any]]] = []
    for index in indexes:
        value = values[schema.columns[index].key]
        if runs and runs[-1][0] + len(runs[-1][1]) == index:
            runs[-1][1].append(value)
        else:
            runs.append((index, [value]))
    return runs
