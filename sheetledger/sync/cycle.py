"""One sync cycle: read → plan → push → write → mirror. The thin I/O shell.

docs/architecture.md, "The cycle", tells it in words. Every decision is ``sync.plan``'s;
amoCRM's side of a push is ``crm.pusher``'s.

Requests per cycle: one Sheets read; the amoCRM lead pages changed since the
cursor; when something changed, one Sheets read to locate rows and one atomic
Sheets write; PATCH leads and POST notes in batches of 50 when there are ticks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sheetledger.config import Config
from sheetledger.crm.lookups import Lookups
from sheetledger.crm.parse import PulledLead, pull_leads
from sheetledger.crm.pusher import CrmPusher, PushOutcome
from sheetledger.errors import SheetledgerError
from sheetledger.ledger.sheets import HeaderProblem, LedgerSheets
from sheetledger.ledger.view import LedgerChanges
from sheetledger.orders.cycle import OrdersDone, order_mirror, reminder_due, run_orders
from sheetledger.orders.model import OrderNews
from sheetledger.rebuild.guard import check_ledger, remember_ledger
from sheetledger.rebuild.recall import read_recall, remembered_states, stale_pushes, suspects
from sheetledger.store import LocalState
from sheetledger.sync.cursor import pull_from
from sheetledger.sync.duplicates import copies_problems
from sheetledger.sync.plan import (
    CURSOR_ALONE_AFTER,
    CabinetPlan,
    CabinetRead,
    CycleInput,
    CyclePlan,
    Settled,
    must_read_all,
    plan_cabinet,
    plan_cycle,
    settle,
    stored_cursor,
)
from sheetledger.sync.push import PushEvent

__all__ = ["CURSOR_ALONE_AFTER", "CycleMemory", "CycleReport", "run_cycle"]

log = logging.getLogger(__name__)

LOOKUPS_KEY = "amocrm.lookups"
LOOKUPS_MAX_AGE = 3600.0
# The tabs a cycle plans from and writes to. Expenses (50,000 rows at the scale of
# docs/architecture.md, "Targets")
# belong to the bot and the reports: reading and parsing them every minute cost an idle
# cycle more CPU than everything else together.
SYNC_TABS = ("deals", "payments", "cash", "invoices", "state")


class Crm(Protocol):  # what the cycle needs of AmoClient
    def users(self) -> list[dict[str, Any]]: ...
    def pipelines(self) -> list[dict[str, Any]]: ...
    def leads(self, *, updated_from: int | None = None, ids: Sequence[int] = ()) -> Any: ...
    def update_leads(self, patches: list[dict[str, Any]]) -> list[dict[str, Any]]: ...
    def notes(self, lead_ids: Any, *, note_type: str | None = None) -> Any: ...
    def add_notes(self, notes: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


@dataclass
class CycleReport:
    leads_read: int = 0
    new_rows: int = 0
    updated_rows: int = 0
    events: list[PushEvent] = field(default_factory=list)
    pushed: list[PushEvent] = field(default_factory=list)
    notes_found: int = 0
    lead_patches: int = 0
    cells_written: int = 0
    problems: list[str] = field(default_factory=list)
    cursor: int | None = None
    dry_run: bool = False
    changes: LedgerChanges | None = None
    handovers: list[str] = field(default_factory=list)
    unsettled: bool = False  # something is left for a later cycle (a postponed push, a cabinet)
    idle: bool = False  # nothing had changed anywhere: planning was skipped

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"{self.leads_read} leads read, {self.new_rows} new rows, "
            f"{self.updated_rows} rows updated, "
            f"{len(self.pushed)}/{len(self.events)} confirmations pushed, "
            f"{self.cells_written} cells written"
            + (f", {len(self.problems)} problems" if self.problems else "")
        )


def load_lookups(crm: Crm, store: LocalState, *, force: bool = False) -> Lookups:
    """Users, pipelines and statuses, cached in the local state for an hour."""
    cached = store.get_with_age(LOOKUPS_KEY)
    if cached is not None and not force and cached[1] < LOOKUPS_MAX_AGE:
        return Lookups.from_json(cached[0])
    lookups = Lookups.from_api(crm.users(), crm.pipelines())
    store.set(LOOKUPS_KEY, lookups.as_json())
    return lookups


def _needs_refresh(leads: Iterable[PulledLead], lookups: Lookups) -> bool:
    for lead in leads:
        deal = lead.deal
        if (deal.pipeline_id, deal.status_id) not in lookups.statuses:
            return True
        if deal.manager_id and int(deal.manager_id) not in lookups.users:
            return True
    return False


@dataclass
class CycleMemory:
    """What a long-running daemon keeps between cycles, so an idle cycle stays cheap.

    ``settled_on`` is the day of the last cycle that left nothing for later. When, on the
    same day, the master and every cabinet are unchanged (Drive versions) and amoCRM
    brought nothing new, the previous plan still holds and this cycle plans nothing.
    (The day matters: cash dated today and the cabinets' two-week window move with it.)
    Every ``schedule.full_read_minutes`` the sheets are read afresh all the same.
    """

    settled_on: date | None = None
    read_all_at: datetime | None = None  # when every sheet was last read, not taken from cache
    orders_reminded_on: date | None = None  # the day overdue orders were last reminded of


def run_cycle(
    config: Config,
    ledger: LedgerSheets,
    crm: Crm,
    store: LocalState,
    *,
    now: datetime,
    full: bool = False,
    dry_run: bool = False,
    cabinets: Mapping[str, LedgerSheets] | None = None,
    memory: CycleMemory | None = None,
    news: OrderNews | None = None,
) -> CycleReport:
    """Read → plan → push → write → mirror. Every decision is ``plan_cycle``'s."""
    today, rooms = now.astimezone(config.tz).date(), cabinets or {}
    given, problems = _read(config, ledger, crm, store, rooms, memory, full, now)
    reminding = memory is not None and reminder_due(config, now, memory.orders_reminded_on)
    given = replace(given, may_idle=memory is not None and not dry_run and not reminding)
    plan = plan_cycle(given)
    leads_read = len(given.leads)
    given = replace(given, leads=())  # (a first import's 10,000 parsed leads can go)
    problems += plan.problems
    if plan.idle:
        return CycleReport(leads_read=leads_read, problems=problems, cursor=plan.cursor, idle=True)
    if memory is not None and not dry_run:
        # Until this cycle ends well, nothing is settled: a cycle that dies half-way (a
        # write refused after the CRM took a push) must be planned again in full.
        memory.settled_on = None
    outcome = PushOutcome()
    if (plan.push.events or plan.push.lead_patches) and not dry_run:
        outcome = CrmPusher(crm, store).push(list(plan.push.lead_patches.values()), plan.notes())
    problems += outcome.problems
    done = settle(plan, outcome, given, dry_run=dry_run)
    done, orders = _orders(config, given, done, crm, store, news, now, dry_run, problems)
    cells, mirrored = 0, True
    if not dry_run:
        cells = _write(ledger, store, given, plan, done, orders, problems)
        for room in plan.cabinets:
            written, problem = _write_cabinet(config, room, rooms, done, today)
            cells += written
            problems += [problem] if problem else []
            mirrored = mirrored and not problem
    unsettled = (
        len(done.pushed) < len(plan.push.events) or not given.all_cabinets_read or not mirrored
    )
    if memory is not None and not dry_run:
        memory.settled_on = None if unsettled else today
        if orders is not None and reminding:
            memory.orders_reminded_on = today
    return CycleReport(
        leads_read=leads_read,
        new_rows=plan.new_rows,
        updated_rows=plan.updated_rows,
        events=list(plan.push.events),
        pushed=list(done.pushed),
        notes_found=len(outcome.found),
        lead_patches=outcome.lead_patches,
        cells_written=cells,
        problems=problems,
        cursor=plan.cursor,
        dry_run=dry_run,
        changes=done.changes,
        handovers=list(plan.handovers),
        unsettled=unsettled,
    )


def _write(
    ledger: LedgerSheets,
    store: LocalState,
    given: CycleInput,
    plan: CyclePlan,
    done: Settled,
    orders: OrdersDone | None,
    problems: list[str],
) -> int:
    """The master's write, then what the local state keeps of it: the rows' states, and the
    journal without the pushes the write marked. The cells written."""
    if "cash" in given.broken:
        problems.append(
            f"tab '{ledger.tabs['cash'].title}': {given.broken['cash']} — not rewritten"
        )
    cells = ledger.write(done.changes)
    remember_ledger(store, done.final)
    if done.pushed:
        store.journal_remove((e.payment_id, e.seq) for e in done.pushed)
    planned = ((e.payment_id, e.seq) for e in plan.push.events)
    store.journal_remove(stale_pushes(store.journal_keys(), given.recall, planned))
    if orders is not None and orders.delivered:
        store.journal_remove(orders.delivered)
    store.trust_journal()
    return cells


def _read(
    config: Config,
    ledger: LedgerSheets,
    crm: Crm,
    store: LocalState,
    cabinets: Mapping[str, LedgerSheets],
    memory: CycleMemory | None,
    full: bool,
    now: datetime,
) -> tuple[CycleInput, list[str]]:
    """Everything the plan needs: the master, the cabinets, the leads changed since the cursor."""
    keys = [key for key in SYNC_TABS if key in ledger.tabs]
    every = timedelta(minutes=config.schedule.full_read_minutes)
    # Without a memory (one `sync`), the master is read afresh and no cycle is skipped.
    read_all = memory is not None and must_read_all(memory.read_all_at, now, every)
    view = ledger.read(keys) if memory is None else ledger.read_if_changed(keys, force=read_all)
    master_unchanged = memory is not None and not read_all and ledger.last_read_cached
    broken = ledger.header_problems()
    for key in ("deals", "payments", "state"):
        if key in broken:
            raise HeaderProblem(ledger.tabs[key].title, broken[key])
    titles = {key: tab.title for key, tab in ledger.tabs.items()}
    check_ledger(view, store, titles)  # a deleted or emptied tab asks for a rebuild
    reads, problems = _read_cabinets(config, cabinets, force=read_all)
    if memory is not None and read_all:
        memory.read_all_at = now
    lookups = load_lookups(crm, store)
    cursor = None if full else stored_cursor(view)
    # Each lead is parsed as its page arrives: a first import's 10,000 lead JSONs never
    # stand in memory together (crm/parse.py, PulledLead).
    changed = crm.leads(updated_from=pull_from(cursor, config.amocrm.overlap_seconds))
    leads = list(pull_leads(changed, config.amocrm, config.tz))
    # A master unchanged since the last read was remembered as it is: nothing to suspect.
    remembered = None if master_unchanged else remembered_states(store)
    suspect = suspects(view.tab("payments"), remembered)
    payments = view.tab("payments").rows  # (the journal holds payment orders' pushes too)
    suspect |= {key for key, _ in store.journal_keys() if key in payments}  # PATCH, no note?
    recall, recalled_leads = read_recall(crm, suspect, config)
    # A deleted row comes back with its deal (the pull keeps the newest copy of a lead).
    leads += pull_leads(recalled_leads, config.amocrm, config.tz)
    if _needs_refresh(leads, lookups):
        lookups = load_lookups(crm, store, force=True)
    given = CycleInput(
        config=config,
        master=view,
        leads=leads,
        lookups=lookups,
        today=now.astimezone(config.tz).date(),
        started=int(now.timestamp()),
        cabinets=tuple(reads),
        all_cabinets_read=len(reads) == len(cabinets),
        full=full,
        master_unchanged=master_unchanged,
        read_all=read_all,
        settled_on=memory.settled_on if memory is not None else None,
        broken=broken,
        titles=titles,
        recall=recall,
    )
    return given, problems


def _read_cabinets(
    config: Config, cabinets: Mapping[str, LedgerSheets], *, force: bool
) -> tuple[list[CabinetRead], list[str]]:
    reads: list[CabinetRead] = []
    problems: list[str] = []
    for cabinet in config.google.cabinets:
        sheets = cabinets.get(cabinet.name)
        if sheets is None:
            if cabinet.spreadsheet_id is None:  # to be made by init (google.oauth_user)
                problems.append(
                    f"cabinet '{cabinet.name}' has no spreadsheet yet — run `sheetledger init`"
                )
            continue
        try:
            view = sheets.read_if_changed(force=force)
        except SheetledgerError as exc:
            # One cabinet out of reach must not stop the others or the master (retried later).
            problems.append(f"cabinet '{cabinet.name}' skipped this cycle: {exc}")
            continue
        broken = sheets.header_problems()
        if broken:
            for key, problem in broken.items():
                title = sheets.tabs[key].title
                problems.append(f"cabinet '{cabinet.name}', tab '{title}': {problem} — not synced")
            continue
        for key, tab in view.tabs.items():
            where = f"cabinet '{cabinet.name}', tab '{sheets.tabs[key].title}'"
            problems.extend(copies_problems(tab, where))
        reads.append(CabinetRead(cabinet, view, not force and sheets.last_read_cached))
    return reads, problems


def _orders(
    config: Config,
    given: CycleInput,
    done: Settled,
    crm: Crm,
    store: LocalState,
    news: OrderNews | None,
    now: datetime,
    dry_run: bool,
    problems: list[str],
) -> tuple[Settled, OrdersDone | None]:
    """The payment orders' step (``orders/cycle.py``): ``done`` with the orders' changes
    added, and what the step did (None when the Invoices tab cannot be used)."""
    if "invoices" in given.broken:
        title = given.titles["invoices"]
        problems.append(f"tab '{title}': {given.broken['invoices']} — payment orders not synced")
        return done, None
    if "invoices" not in done.final.tabs:
        return done, None
    rooms = [(read.cabinet, read.view) for read in given.cabinets]
    orders = run_orders(
        config, done.final, rooms, given.lookups, crm, store, news, now=now, dry_run=dry_run
    )
    problems += orders.problems
    merged = LedgerChanges()
    merged.extend(done.changes)
    merged.extend(orders.changes)
    return replace(done, changes=merged, final=orders.final), orders


def _write_cabinet(
    config: Config,
    room: CabinetPlan,
    cabinets: Mapping[str, LedgerSheets],
    done: Settled,
    today: date,
) -> tuple[int, str]:
    """The cells written into a cabinet, or the problem that kept them out (retried later)."""
    try:
        changes = plan_cabinet(room, done, today)
        changes.extend(order_mirror(config, done.final, room.cabinet, room.view, today))
        return cabinets[room.cabinet.name].write(changes), ""
    except SheetledgerError as exc:
        return 0, f"cabinet '{room.cabinet.name}' not updated this cycle: {exc}"
