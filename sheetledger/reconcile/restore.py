"""``sheetledger restore``: deleted rows back from a backup, by ID, touching no existing row.

Only rows whose ID the tab no longer has come back, with every cell they had
(people's ticks and comments, the daemon's Sync state and pushed amount), so a
sync afterwards sees a confirmation amoCRM already has and pushes nothing. A row
that is still there is never written, whatever the backup says about it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.ledger.cells import CellProblem, from_cell
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.ledger.tabs import TabSchema
from sheetledger.reconcile.backup import read_rows
from sheetledger.sync.ledger_view import LedgerChanges, RowAppend, TabRows


@dataclass
class RestorePlan:
    changes: LedgerChanges
    restored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # still in the tab: left as they are
    unknown: list[str] = field(default_factory=list)  # asked for, not in the backup
    problems: list[str] = field(default_factory=list)


def backup_rows(
    rows: Sequence[Sequence[Any]], schema: TabSchema, tz: ZoneInfo
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The backup's rows of a tab by ID, read by header (the backup may predate a move)."""
    if not rows:
        return {}, ["the backup has no such tab, or it was empty"]
    header = [str(h).strip() for h in rows[0]]
    where = {
        column.key: header.index(column.header)
        for column in schema.columns
        if column.header in header
    }
    if schema.id_column.key not in where:
        return {}, [f"the backup's header has no '{schema.id_column.header}' column"]
    problems = [
        f"column '{c.header}' is not in the backup" for c in schema.columns if c.key not in where
    ]
    readers = {c.key: partial(from_cell, c.kind, tz=tz) for c in schema.columns}
    found: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(rows[1:], start=2):
        values: dict[str, Any] = dict.fromkeys(readers)
        for key, index in where.items():
            cell = raw[index] if index < len(raw) else None
            if cell is None or cell == "":
                continue
            try:
                values[key] = readers[key](cell)
            except CellProblem as exc:
                problems.append(f"row {number}: {exc}")
        raw_id = values.get(schema.id_column.key)
        if raw_id is None:
            continue
        found.setdefault(str(raw_id), values)
    return found, problems


def plan_restore(
    saved: dict[str, dict[str, Any]],
    current: TabRows,
    tab: str,
    ids: Collection[str] | None = None,
) -> RestorePlan:
    """Appends for the rows of ``saved`` (or only ``ids``) that ``current`` lacks. Pure."""
    plan = RestorePlan(LedgerChanges())
    wanted = list(ids) if ids is not None else list(saved)
    for row_id in wanted:
        row = saved.get(row_id)
        if row is None:
            plan.unknown.append(row_id)
        elif row_id in current.rows or row_id in current.copies:
            plan.kept.append(row_id)
        else:
            plan.changes.appends.append(RowAppend(tab, row_id, row))
            plan.restored.append(row_id)
    return plan


def find_tab(ledger: LedgerSheets, name: str) -> tuple[str, str, TabSchema]:
    """The master tab called ``name`` (its title, or its key such as ``payments``)."""
    for key, (title, schema) in ledger.tabs.items():
        if name in (title, key) or name.casefold() == title.casefold():
            return key, title, schema
    known = ", ".join(f"'{title}'" for title, _ in ledger.tabs.values())
    raise KeyError(f"no tab '{name}' in the ledger (its tabs: {known})")


def run_restore(
    ledger: LedgerSheets,
    backup: Path,
    tab: str,
    ids: Collection[str] | None,
    *,
    dry_run: bool = False,
) -> RestorePlan:
    """Put the rows of ``tab`` the sheet lost back from ``backup``: one read, one write."""
    key, title, schema = find_tab(ledger, tab)
    saved, problems = backup_rows(read_rows(backup, "master", title), schema, ledger.tz)
    current = ledger.read([key]).tab(key)
    plan = plan_restore(saved, current, key, ids)
    plan.problems.extend(problems)
    if plan.changes and not dry_run:
        ledger.write(plan.changes)
    return plan
