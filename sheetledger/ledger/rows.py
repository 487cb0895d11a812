"""A tab's data rows from the cells of one values read, column by column.

The cycle reads the 40,000 Deals and Payments rows of bench/bench_sync.py every time a sheet
changed: about 600,000 cells. Each column is converted at once: cells that already hold
their value (text, whole numbers, ticks) are kept as they are in one pass, and money and
dates — a price list and a year of days, repeated — are converted once per distinct
value; only the odd cell goes through ``cells.from_cell``. The results are exactly
``from_cell``'s, problems included (tests/unit/test_rows.py checks it).

Converting 30,000 rows so costs about 0.3 s, and most rows are the same from one read to
the next (a cycle's write touches a few hundred). So a tab with a typed row
(``ledger/records.py``, immutable) keeps its rows by their raw cells in a ``RowCache``
from one read to the next: a row whose cells did not change is the row read last time,
and only the others are converted.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.ledger.cells import CellProblem, Kind, from_cell
from sheetledger.ledger.records import row_type
from sheetledger.ledger.tabs import TabSchema

_MISSING = object()  # a cell the fast pass left for ``from_cell``
# A data row as read: its ID, its row (typed, or a dict), its cells' problems (None: none).
Parsed = tuple[str | None, Any, dict[str, str] | None]
_NO_ROW: Parsed = (None, None, None)  # a line with no ID, or one that does not read as one


@dataclass
class ParsedRows:
    """Rows by ID in sheet order, with their 1-based sheet rows and their cells' problems."""

    rows: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)  # id -> 1-based sheet row
    problems: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> key -> problem
    duplicates: list[str] = field(default_factory=list)
    copies: dict[str, list[Any]] = field(default_factory=dict)  # id -> later rows
    # Rows with cells but no ID (a form row a person filled in): 1-based sheet row -> values.
    unkeyed: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RowCache:
    """A typed tab's rows by their raw cells, kept from one read of it to the next.

    Holds the rows of the latest read that converted a row (a row deleted since is
    forgotten then). Belongs to one tab read at one width, in one time zone.
    """

    # raw cells -> (those raw cells as first read, the row): a row read again is kept
    # under the key of the read that converted it, whose cells the row itself holds, so
    # the cache holds one copy of a row's text, not that read's and the latest one's.
    rows: dict[tuple[Any, ...], tuple[tuple[Any, ...], Parsed]] = field(default_factory=dict)


def parse_rows(
    schema: TabSchema,
    rows: Sequence[Sequence[Any]],
    tz: ZoneInfo,
    width: int | None = None,
    cache: RowCache | None = None,
) -> ParsedRows:
    """The data rows under the header (``rows[0]``), by ID.

    A row is the tab's typed row (``ledger/records.py``; the columns past a narrower
    ``width`` are empty) or, for the other tabs, a dict of values by column key. A row
    whose ID cell is empty or unreadable is skipped (a person's note under the table);
    a repeated ID keeps its first row in ``rows`` and the later ones in ``copies`` (a
    pasted copy, see ``sync/duplicates.py``). Empty cells are None; a cell that does not
    fit its column is None too, and its problem is kept. With a ``cache`` (typed tabs
    only), rows whose raw cells are in it are taken from it and it is renewed.
    """
    out = ParsedRows()
    columns = schema.columns[:width]
    data = rows[1:]
    if not data:
        if cache is not None:
            cache.rows = {}
        return out
    with _collector_paused():
        _parse(schema, columns, data, tz, cache, out)
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while a read's rows are built.

    A read builds 40,000 rows, their IDs and their cache keys at once, none of them in a
    reference cycle; meanwhile the collector, woken every few hundred new objects, walks
    the ever larger heap again and again (bench/bench_sync.py: that cost more than the
    rows themselves). It runs as usual once the rows are built.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse(
    schema: TabSchema,
    columns: Sequence[Any],
    data: Sequence[Sequence[Any]],
    tz: ZoneInfo,
    cache: RowCache | None,
    out: ParsedRows,
) -> None:
    """``parse_rows``'s work: the rows of ``data`` into ``out``."""
    typed = row_type(schema)
    keys = [column.key for column in columns]
    build: Callable[[tuple[Any, ...]], Any]
    if typed is not None and len(columns) == len(schema.columns):
        build = typed.of
    elif typed is not None:
        blank = (None,) * (len(schema.columns) - len(columns))

        def build(values: tuple[Any, ...]) -> Any:
            return typed.of(values + blank)
    else:

        def build(values: tuple[Any, ...]) -> Any:
            return dict(zip(keys, values, strict=True))

    if cache is not None and typed is not None:
        raw_keys = list(map(_raw_key, data))
        found: list[Any]
        if cache.rows:
            found = list(map(cache.rows.get, raw_keys))
            misses = [index for index, hit in enumerate(found) if hit is None]
        else:  # (the first read: every row is new)
            found, misses = [None] * len(data), list(range(len(data)))
        if misses:  # (else the cache holds every row already: kept as it is)
            zeros: set[int] = set()
            missed = data if len(misses) == len(data) else [data[index] for index in misses]
            fresh = _convert(columns, missed, tz, build, zeros)
            for index, parsed in zip(misses, fresh, strict=True):
                found[index] = (raw_keys[index], parsed)
            cache.rows = {kept[0]: kept for kept in found}
            for index in zeros:  # 0.0 == -0.0, but their amounts differ: such rows are not kept
                cache.rows.pop(raw_keys[misses[index]], None)
        parsed_rows: list[Parsed] = [kept[1] for kept in found]
    else:
        parsed_rows = _convert(columns, data, tz, build)
    by_id, positions = out.rows, out.positions
    for index, (row_id, row, problems) in enumerate(parsed_rows, start=2):
        if row_id is None:
            if row is not None:  # cells but no ID: a form row a person filled in
                out.unkeyed[index] = row
            continue
        if row_id in by_id:
            out.duplicates.append(row_id)
            out.copies.setdefault(row_id, []).append(row)
            continue
        by_id[row_id] = row
        positions[row_id] = index
        if problems:
            out.problems[row_id] = problems


def _raw_key(cells: Sequence[Any]) -> tuple[Any, ...]:
    """A row's raw cells as a ``RowCache`` key: the values, then their types (``True == 1``,
    but a tick is no number). Cells past the columns read only make a row miss."""
    return (*cells, *map(type, cells))


def _convert(
    columns: Sequence[Any],
    data: Sequence[Sequence[Any]],
    tz: ZoneInfo,
    build: Callable[[tuple[Any, ...]], Any],
    zeros: set[int] | None = None,
) -> list[Parsed]:
    """Each data row as (its ID, its row, its cells' problems or None); ``_NO_ROW`` when
    the row has no ID. ``zeros`` gets the rows with a float zero in a column read."""
    cells = list(zip_longest(*data))[: len(columns)]
    cells += [(None,) * len(data)] * (len(columns) - len(cells))
    if zeros is not None:
        for col in cells:
            if 0.0 in col:  # (so are False and 0: told apart here)
                zeros.update(i for i, cell in enumerate(col) if cell == 0 and type(cell) is float)
    problems: dict[int, dict[str, str]] = {}
    values = [
        _column(column.kind, column.key, list(col), tz, problems)
        for column, col in zip(columns, cells, strict=True)
    ]
    keys = [column.key for column in columns]
    return [
        (str(row[0]), build(row), problems.get(index))
        if row[0] is not None
        else (None, dict(zip(keys, row, strict=True)), None)
        if any(value not in (None, "", False) for value in row[1:])
        else _NO_ROW
        for index, row in enumerate(zip(*values, strict=True))
    ]


def _column(
    kind: Kind, key: str, col: list[Any], tz: ZoneInfo, problems: dict[int, dict[str, str]]
) -> list[Any]:
    """One column's values; problems go to ``problems[row index][key]``."""
    if kind is Kind.MONEY or kind is Kind.DATE:
        values = _by_distinct_value(kind, col, tz)
    elif kind is Kind.TEXT:
        values = [
            None if v is None or v == "" else (v if type(v) is str and v[0] != "'" else _MISSING)
            for v in col
        ]
    elif kind is Kind.INT:
        values = [
            None if v is None or v == "" else (v if type(v) is int else _MISSING) for v in col
        ]
    elif kind is Kind.BOOL:
        values = [
            None if v is None or v == "" else (v if type(v) is bool else _MISSING) for v in col
        ]
    else:
        values = [None if v is None or v == "" else _MISSING for v in col]
    if _MISSING in values:  # the few cells that need a closer look (or are wrong)
        for index, value in enumerate(values):
            if value is _MISSING:
                try:
                    values[index] = from_cell(kind, col[index], tz)
                except CellProblem as exc:
                    values[index] = None
                    problems.setdefault(index, {})[key] = str(exc)
    return values


def _by_distinct_value(kind: Kind, col: list[Any], tz: ZoneInfo) -> list[Any]:
    """Money or dates: each distinct cell converted once (Decimal and date are immutable).

    Cells are told apart by type and value (``True == 1`` but a tick is no amount); a
    float zero is left to ``from_cell`` (``0.0 == -0.0`` but their amounts differ).
    """
    keyed = list(zip(map(type, col), col, strict=True))
    converted: dict[tuple[type, Any], Any] = {}
    for typed in set(keyed):
        cell_type, cell = typed
        if cell is None or cell == "":
            converted[typed] = None
        elif cell_type is float and cell == 0:
            converted[typed] = _MISSING
        else:
            try:
                converted[typed] = from_cell(kind, cell, tz)
            except CellProblem:
                converted[typed] = _MISSING  # its problem is recorded with its row
    return list(map(converted.__getitem__, keyed))
