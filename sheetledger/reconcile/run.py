"""The shell of ``sheetledger reconcile``: read once, plan, write the tab once, remember.

amoCRM is read in bulk through its list endpoints, never one request per deal:
the leads of the synced pipelines (250 a page), the ledger's deals found in no
synced pipeline by id (50 ids a request: usually none), and every common note of
the account (250 a page), of which only sheetledger's markers are kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sheetledger.config import Config
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.rebuild.notes import latest_records
from sheetledger.reconcile.findings import Snapshot, find_discrepancies
from sheetledger.reconcile.track import TrackPlan, tab_rows, track
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView

MEMORY_KEY = "reconcile.findings"
RESOLVED_KEY = "reconcile.resolved"
UNPUSHED_KEY = "reconcile.unpushed"
READ_TABS = ("deals", "payments", "expenses", "bank", "invoices", "reconciliation")


class BulkCrm(Protocol):  # what reconciliation needs of AmoClient
    def leads(
        self, *, pipeline_ids: Sequence[int] = (), ids: Sequence[int] = ()
    ) -> Iterator[dict[str, Any]]: ...
    def all_lead_notes(self, *, note_type: str | None = None) -> Iterator[dict[str, Any]]: ...


@dataclass
class ReconcileReport:
    plan: TrackPlan
    leads_read: int
    notes_read: int
    written: bool


def read_crm(
    crm: BulkCrm, config: Config, view: LedgerView
) -> tuple[list[dict[str, Any]], int, Any]:
    """Every lead reconciliation looks at, the number of notes read, and the latest records."""
    leads = list(crm.leads(pipeline_ids=config.amocrm.pipelines))
    seen = {int(lead["id"]) for lead in leads}
    in_ledger = {int(key) for key in view.tab("deals").rows}
    in_ledger |= {
        int(row["deal_id"]) for row in view.tab("payments") if row.get("deal_id") is not None
    }
    elsewhere = sorted(in_ledger - seen)  # moved to another pipeline, or deleted
    if elsewhere:
        leads += list(crm.leads(ids=elsewhere))
    notes = list(crm.all_lead_notes(note_type="common"))
    return leads, len(notes), latest_records(notes)


def run_reconcile(
    config: Config, ledger: LedgerSheets, crm: BulkCrm, store: LocalState, *, today: date
) -> ReconcileReport:
    keys = [key for key in READ_TABS if key in ledger.tabs]
    view = ledger.read(keys)
    leads, notes_read, records = read_crm(crm, config, view)
    found = find_discrepancies(
        Snapshot(view, leads, records, today, _int_map(store.get(UNPUSHED_KEY, {}))), config
    )
    current = view.tabs["reconciliation"].rows if "reconciliation" in view.tabs else {}
    plan = track(
        found.findings,
        _memory(store.get(MEMORY_KEY, {})),
        current,
        today,
        int(store.get(RESOLVED_KEY, 0) or 0),
    )
    rows = tab_rows(plan)
    written = False
    if "reconciliation" in view.tabs and not same_tab(current, rows):
        changes = LedgerChanges()
        changes.replace["reconciliation"] = rows
        ledger.write(changes)
        written = True
    # Remembered only after the tab is written: a failed write leaves the last run's memory.
    store.set(MEMORY_KEY, plan.memory)
    store.set(RESOLVED_KEY, plan.resolved_total)
    store.set(UNPUSHED_KEY, found.unpushed_runs)
    return ReconcileReport(plan, len(leads), notes_read, written)


def same_tab(current: Mapping[str, Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the tab already shows ``rows`` (then a run writes nothing)."""
    if list(current) != [str(row["id"]) for row in rows]:
        return False
    for row in rows:
        have = current[str(row["id"])]
        for key, value in row.items():
            old = have.get(key)
            if (old in (None, "", False)) and (value in (None, "", False)):
                continue
            if old != value:
                return False
    return True


def _memory(raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): {str(a): str(b) for a, b in v.items()}
        for k, v in raw.items()
        if isinstance(v, dict)
    }


def _int_map(raw: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
