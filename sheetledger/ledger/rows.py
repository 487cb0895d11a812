"""A tab's data rows from the cells of one values read, column by column.

The cycle reads the 40,000 Deals and Payments rows of bench/bench_sync.py every time a sheet
changed: about 600,000 cells. Each column is converted at once: cells that already hold
their value (text, whole numbers, ticks) are kept as they are in one pass, and money and
dates — a price list and a year of days, repeated — are converted once per distinct
value; only the odd cell goes through ``cells.from_cell``. The results are exactly
``from_cell``'s, problems included (tests/unit/test_rows.py checks it). At 30,000 rows
this costs about 0.3 s, as the per-cell readers did: building the rows' dicts is most of
it, so a cheaper read must reuse the rows a sheet still holds unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.ledger.cells import CellProblem, Kind, from_cell
from sheetledger.ledger.tabs import TabSchema

_MISSING = object()  # a cell the fast pass left for ``from_cell``


@dataclass
class ParsedRows:
    """Rows by ID in sheet order, with their 1-based sheet rows and their cells' problems."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)  # id -> 1-based sheet row
    problems: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> key -> problem
    duplicates: list[str] = field(default_factory=list)
    copies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # id -> later rows
    # Rows with cells but no ID (a form row a person filled in): 1-based sheet row -> values.
    unkeyed: dict[int, dict[str, Any]] = field(default_factory=dict)


def parse_rows(
    schema: TabSchema, rows: Sequence[Sequence[Any]], tz: ZoneInfo, width: int | None = None
) -> ParsedRows:
    """The data rows under the header (``rows[0]``) as values by column key.

    A row whose ID cell is empty or unreadable is skipped (a person's note under the table);
    a repeated ID keeps its first row in ``rows`` and the later ones in ``copies`` (a pasted
    copy, see ``sync/duplicates.py``). Empty cells are None; a cell that does not fit its
    column is None too, and its problem is kept.
    """
    out = ParsedRows()
    columns = schema.columns[:width]
    keys = [column.key for column in columns]
    data = rows[1:]
    if not data:
        return out
    cells = list(zip_longest(*data))[: len(keys)]
    cells += [(None,) * len(data)] * (len(keys) - len(cells))
    problems: dict[int, dict[str, str]] = {}
    values = [
        _column(column.kind, column.key, list(col), tz, problems)
        for column, col in zip(columns, cells, strict=True)
    ]
    for index, row in enumerate(zip(*values, strict=True)):
        if row[0] is None:  # no ID, or one that does not read as an ID
            if any(value not in (None, "", False) for value in row[1:]):
                out.unkeyed[index + 2] = dict(zip(keys, row, strict=True))
            continue
        row_id = str(row[0])
        if row_id in out.rows:
            out.duplicates.append(row_id)
            out.copies.setdefault(row_id, []).append(dict(zip(keys, row, strict=True)))
            continue
        out.rows[row_id] = dict(zip(keys, row, strict=True))
        out.positions[row_id] = index + 2
        if index in problems:
            out.problems[row_id] = problems[index]
    return out


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
