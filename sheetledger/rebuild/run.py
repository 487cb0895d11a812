"""``sheetledger rebuild``: read amoCRM, plan, write the ledger once. The thin shell.

Requests: one Sheets metadata read, ``init``'s own unless a dry run (two reads, and a
write only when a tab or a header row is missing), one Sheets read, every lead page,
the notes of every deal (50 deals a request), then one atomic Sheets write. Nothing
is sent to amoCRM: it is only read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheetledger.config import Config
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.sheets import HeaderProblem, LedgerSheets
from sheetledger.rebuild.guard import GUARDED, remember_ledger
from sheetledger.rebuild.notes import latest_records
from sheetledger.rebuild.plan import RebuildPlan, plan_rebuild
from sheetledger.store import LocalState
from sheetledger.sync.cycle import Crm, load_lookups
from sheetledger.sync.ledger_view import LedgerView, TabRows, apply_changes

REBUILT_TABS = ("deals", "payments", "cash", "state")


@dataclass
class RebuildReport:
    plan: RebuildPlan
    dry_run: bool
    missing: list[str] = field(default_factory=list)  # tab titles that were not there
    leads_read: int = 0
    notes_read: int = 0
    cells_written: int = 0

    @property
    def ok(self) -> bool:
        return not self.plan.problems

    def summary(self) -> str:
        verb = "would restore" if self.dry_run else "restored"
        return (
            f"{self.leads_read} leads and {self.notes_read} notes read; {verb} "
            f"{self.plan.new_rows} rows and {len(self.plan.restored)} confirmations, "
            f"{self.plan.updated_rows} rows updated from amoCRM, {self.cells_written} cells written"
            + (f", {len(self.plan.problems)} problems" if self.plan.problems else "")
        )


def run_rebuild(
    config: Config,
    ledger: LedgerSheets,
    crm: Crm,
    store: LocalState,
    *,
    now: datetime,
    dry_run: bool = False,
) -> RebuildReport:
    """Restore the ledger from amoCRM; with ``dry_run``, only say what that would write."""
    keys = [key for key in REBUILT_TABS if key in ledger.tabs]
    titles = {key: ledger.tabs[key][0] for key in keys}
    present = _tab_titles(ledger)
    missing = [titles[key] for key in keys if titles[key] not in present]
    if not dry_run:
        # Deleted tabs again, empty, with their headers and checkboxes; a header row cleared
        # with the rest of its tab is written again too. Nothing is sent when all is there.
        prepare(ledger)
    view = _read(ledger, keys if not dry_run else [k for k in keys if titles[k] in present])
    broken = ledger.header_problems()
    for key, problem in broken.items():
        if key in GUARDED:
            raise HeaderProblem(titles[key], problem)

    lookups = load_lookups(crm, store, force=True)
    leads = list(crm.leads())
    pipelines = set(config.amocrm.pipelines)
    deal_ids = {int(lead["id"]) for lead in leads if lead.get("pipeline_id") in pipelines}
    deal_ids |= _ledger_deals(view)
    notes = list(crm.notes(sorted(deal_ids), note_type="common"))
    records = latest_records(notes)
    plan = plan_rebuild(
        view,
        leads,
        records,
        lookups,
        config,
        today=now.astimezone(config.tz).date(),
    )
    for key in broken:  # e.g. a renamed Cash on hand column: that tab waits for its header
        plan.changes.replace.pop(key, None)
        plan.problems.append(f"tab '{titles[key]}': {broken[key]} — not rewritten")
    report = RebuildReport(plan, dry_run, missing, len(leads), len(notes))
    if dry_run:
        return report
    report.cells_written = ledger.write(plan.changes)
    remember_ledger(store, apply_changes(view, plan.changes))
    return report


def _tab_titles(ledger: LedgerSheets) -> set[str]:
    """The titles of the spreadsheet's tabs as they are now (not a cached list)."""
    meta = ledger.metadata("sheets.properties(sheetId,title)")
    return {str(sheet["properties"]["title"]) for sheet in meta.get("sheets", [])}


def _read(ledger: LedgerSheets, keys: Iterable[str]) -> LedgerView:
    """The tabs in ``keys``; the other rebuilt tabs as empty (a dry run on a deleted tab)."""
    wanted = list(keys)
    view = ledger.read(wanted) if wanted else LedgerView({})
    for key in REBUILT_TABS:
        if key in ledger.tabs and key not in view.tabs and key != "cash":
            view.tabs[key] = TabRows(ledger.tabs[key][1])
    return view


def _ledger_deals(view: LedgerView) -> set[int]:
    found: set[int] = set()
    for key, column in (("deals", "id"), ("payments", "deal_id")):
        if key in view.tabs:
            found |= {int(row[column]) for row in view.tab(key) if row.get(column) is not None}
    return found


def restored_lines(report: RebuildReport) -> list[tuple[str, ...]]:
    """One line per restored confirmation, for the command's table."""
    lines: list[tuple[str, ...]] = []
    for item in report.plan.restored:
        amount: Any = item.amount if item.amount is not None else "—"
        lines.append(
            (
                item.payment_id,
                f"{item.status} #{item.seq}",
                str(amount),
                item.by or "—",
                item.on.isoformat() if item.on else "—",
                "yes" if item.people_cells else "kept as they are",
            )
        )
    return lines
