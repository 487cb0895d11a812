"""The ledger as planning sees it: tabs of typed rows keyed by ID, and the changes to them.

``LedgerView`` is what a read produced (or what planning expects after its own
changes): per tab, rows by ID with values by column key. ``LedgerChanges`` is
what a plan wants written. ``apply_changes`` is the in-memory twin of the real
write, so a plan can be checked for idempotence without any I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import copy
from dataclasses import dataclass, field
from typing import Any

from sheetledger.ledger.records import Row, RowT, row_type
from sheetledger.ledger.tabs import TabSchema


@dataclass
class TabRows:
    """One tab's data rows, by ID, in sheet order.

    The rows of a tab with a typed row (``ledger/records.py``: Deals, Payments, Cash on hand,
    a cabinet's Payments and handover form) are of that type; rows given as mappings are
    made so here. The other tabs' rows are plain dicts.
    """

    schema: TabSchema
    rows: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> column -> problem
    # Rows that repeat an ID (a person pasted a copy): id -> the later copies, in sheet order.
    # ``rows`` holds the first; planning holds the ID back until one row is left.
    copies: dict[str, list[Any]] = field(default_factory=dict)
    # Rows a person filled without an ID, by 1-based sheet row (``RowKey`` gives them one).
    unkeyed: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        typed = row_type(self.schema)
        if typed is None:
            return
        if any(type(row) is not typed for row in self.rows.values()):
            self.rows = {key: typed.from_cells(row) for key, row in self.rows.items()}
        if any(type(row) is not typed for rows in self.copies.values() for row in rows):
            self.copies = {
                key: [typed.from_cells(row) for row in rows] for key, rows in self.copies.items()
            }

    def get(self, row_id: str) -> Any:
        return self.rows.get(row_id)

    def copy(self) -> TabRows:
        """A copy whose rows and problems can be set apart (the rows themselves are shared:
        they are typed already, and never modified)."""
        twin = copy(self)  # (not through ``__init__``: its rows need no second look)
        twin.rows, twin.problems = dict(self.rows), dict(self.problems)
        twin.unkeyed = dict(self.unkeyed)
        return twin

    def typed(self, cls: type[RowT]) -> dict[str, RowT]:
        """The rows, as the tab's row type ``cls`` (``ledger/records.py``)."""
        assert row_type(self.schema) is cls, f"{self.schema.key} rows are not {cls.__name__}"
        return self.rows

    def typed_copies(self, cls: type[RowT]) -> dict[str, list[RowT]]:
        """The later copies of repeated IDs, as the tab's row type ``cls``."""
        assert row_type(self.schema) is cls, f"{self.schema.key} rows are not {cls.__name__}"
        return self.copies

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class LedgerView:
    tabs: dict[str, TabRows]
    state: dict[str, str] = field(default_factory=dict)

    def tab(self, key: str) -> TabRows:
        return self.tabs[key]


@dataclass(frozen=True)
class RowUpdate:
    """Set ``values`` (column key -> value) on the row with ID ``row_id`` of tab ``tab``."""

    tab: str
    row_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class RowAppend:
    tab: str
    row_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class RowKey:
    """Give the row at sheet row ``row`` of tab ``tab`` (read without an ID) the ID
    ``row_id`` and ``values``. Written only if that row still has no ID at write time."""

    tab: str
    row: int
    row_id: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LedgerChanges:
    updates: list[RowUpdate] = field(default_factory=list)
    appends: list[RowAppend] = field(default_factory=list)
    replace: dict[str, list[Any]] = field(default_factory=dict)  # computed tabs: rows, whole
    state: dict[str, str] = field(default_factory=dict)
    removes: list[tuple[str, str]] = field(default_factory=list)  # (tab, row id): rows to delete
    keys: list[RowKey] = field(default_factory=list)  # IDs for rows people filled without one

    def __bool__(self) -> bool:
        return bool(
            self.updates or self.appends or self.replace or self.state or self.removes or self.keys
        )

    def update(self, tab: str, row_id: str, values: Mapping[str, Any]) -> None:
        if values:
            self.updates.append(RowUpdate(tab, row_id, dict(values)))

    def extend(self, other: LedgerChanges) -> None:
        self.updates.extend(other.updates)
        self.appends.extend(other.appends)
        self.replace.update(other.replace)
        self.state.update(other.state)
        self.removes.extend(other.removes)
        self.keys.extend(other.keys)

    def merged_updates(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Updates folded per row (later values win), appends excluded."""
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for update in self.updates:
            merged.setdefault((update.tab, update.row_id), {}).update(update.values)
        return merged

    def count(self) -> int:
        return (
            len(self.updates)
            + len(self.appends)
            + len(self.replace)
            + len(self.state)
            + len(self.removes)
        )


def apply_changes(view: LedgerView, changes: LedgerChanges) -> LedgerView:
    """A new view with ``changes`` applied (the view given is not modified).

    Copy on write: the new view shares every row it does not change with the old one
    (a cycle makes several views of 40,000 rows; copying them all was most of its CPU).
    Rows are therefore never modified in place, here or by callers.
    """
    touched = (
        {a.tab for a in changes.appends}
        | {u.tab for u in changes.updates}
        | {tab for tab, _ in changes.removes}
        | set(changes.replace)
        | {k.tab for k in changes.keys}
    )
    tabs = {key: tab.copy() if key in touched else tab for key, tab in view.tabs.items()}
    for key in changes.keys:
        unkeyed = tabs[key.tab].unkeyed.pop(key.row, None)
        if unkeyed is not None and key.row_id not in tabs[key.tab].rows:
            tabs[key.tab].rows[key.row_id] = {**unkeyed, **key.values, "id": key.row_id}
    for append in changes.appends:
        rows = tabs[append.tab].rows
        if append.row_id in rows:
            rows[append.row_id] = _with(rows[append.row_id], append.values)
        else:
            schema = tabs[append.tab].schema
            typed = row_type(schema)
            if typed is not None:
                rows[append.row_id] = typed.from_cells(append.values)
            else:
                rows[append.row_id] = {c.key: None for c in schema.columns} | dict(append.values)
    for (tab, row_id), values in changes.merged_updates().items():
        rows = tabs[tab].rows
        row = rows.get(row_id)
        if row is not None:
            rows[row_id] = _with(row, values)
    for tab, row_id in changes.removes:
        tabs[tab].rows.pop(row_id, None)
    for tab, replacement in changes.replace.items():
        schema = tabs[tab].schema
        typed = row_type(schema)
        tabs[tab].rows = {
            str(r[schema.id_column.key]): typed.from_cells(r) if typed else dict(r)
            for r in replacement
        }
        tabs[tab].copies = {}  # rewritten whole: a pasted copy is gone
    state = dict(view.state)
    state.update(changes.state)
    return LedgerView(tabs, state)


def _with(row: Any, values: Mapping[str, Any]) -> Any:
    """``row`` with ``values`` set: a typed row's copy, or a new dict."""
    if isinstance(row, Row):
        return row.replace(values)
    return {**row, **values}


def differing(
    current: Mapping[str, Any], wanted: Mapping[str, Any], keys: Iterable[str]
) -> dict[str, Any]:
    """The entries of ``wanted`` (restricted to ``keys``) that differ from ``current``."""
    out = {}
    for key in keys:
        if key not in wanted:
            continue
        new = wanted[key]
        old = current.get(key)
        if _same(old, new):
            continue
        out[key] = new
    return out


def _same(old: Any, new: Any) -> bool:
    if old in (None, "") and new in (None, ""):
        return True
    return bool(old == new)
