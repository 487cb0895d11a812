"""One sync cycle (design.md §3): read → pull → plan → push → write. The thin I/O shell.

Requests per cycle: one Sheets read; the amoCRM lead pages changed since the
cursor; when something changed, one Sheets read to locate rows and one atomic
Sheets write; PATCH leads and POST notes in batches of 50 when there are ticks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sheetledger.bank.assign import plan_assignments
from sheetledger.config import Cabinet, Config
from sheetledger.errors import RetriableError, SheetledgerError
from sheetledger.ledger.sheets import HeaderProblem, LedgerSheets
from sheetledger.rebuild.guard import check_ledger, remember_ledger
from sheetledger.store import LocalState
from sheetledger.sync.cabinets import merge_edits, plan_handovers, plan_mirror
from sheetledger.sync.cash import plan_cash
from sheetledger.sync.cursor import CURSOR_KEY, next_cursor, pull_from
from sheetledger.sync.duplicates import copies_problems, hold_copies, plan_copies
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView, apply_changes
from sheetledger.sync.pull import Lookups, plan_pull
from sheetledger.sync.push import PushEvent, PushPlan, note_text, plan_push

log = logging.getLogger(__name__)

LOOKUPS_KEY = "amocrm.lookups"
LOOKUPS_MAX_AGE = 3600.0
# The tabs a cycle plans from and writes to. Expenses (50,000 rows at design.md §9's scale)
# belong to the bot and the reports: reading and parsing them every minute cost an idle
# cycle more CPU than everything else together.
SYNC_TABS = ("deals", "payments", "cash", "state")


class Crm(Protocol):  # what the cycle needs of AmoClient
    def users(self) -> list[dict[str, Any]]: ...
    def pipelines(self) -> list[dict[str, Any]]: ...
    def leads(self, *, updated_from: int | None = None) -> Any: ...
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


def _needs_refresh(leads: list[Mapping[str, Any]], lookups: Lookups) -> bool:
    for lead in leads:
        key = (int(lead.get("pipeline_id") or 0), int(lead.get("status_id") or 0))
        if key not in lookups.statuses:
            return True
        user = lead.get("responsible_user_id")
        if user and int(user) not in lookups.users:
            return True
    return False


@dataclass
class CycleMemory:
    """What a long-running daemon keeps between cycles, so an idle cycle stays cheap.

    ``settled_on`` is the day of the last cycle that left nothing for later. When, on the
    same day, the master and every cabinet are unchanged (Drive versions) and amoCRM
    brought nothing new, the previous plan still holds and this cycle plans nothing.
    (The day matters: cash dated today and the cabinets' two-week window move with it.)
    """

    settled_on: date | None = None


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
) -> CycleReport:
    report = CycleReport(dry_run=dry_run)
    started = int(now.timestamp())
    today = now.astimezone(config.tz).date()

    keys = [key for key in SYNC_TABS if key in ledger.tabs]
    view = ledger.read_if_changed(keys) if memory is not None else ledger.read(keys)
    broken = ledger.header_problems()
    for key in ("deals", "payments", "state"):
        if key in broken:
            raise HeaderProblem(ledger.tabs[key][0], broken[key])
    check_ledger(view, store, {key: title for key, (title, _) in ledger.tabs.items()})
    rooms = _read_cabinets(config, cabinets or {}, report)

    lookups = load_lookups(crm, store)
    cursor_text = view.state.get(CURSOR_KEY, "")
    cursor = None if full or not cursor_text.isdigit() else int(cursor_text)
    leads = list(crm.leads(updated_from=pull_from(cursor, config.amocrm.overlap_seconds)))
    report.leads_read = len(leads)
    if _needs_refresh(leads, lookups):
        lookups = load_lookups(crm, store, force=True)

    pull = plan_pull(view, leads, lookups, config)
    del leads  # a first import's 10,000 lead JSONs (~100 MB) need not live through the write
    report.new_rows, report.updated_rows = pull.new_rows, pull.updated_rows
    report.problems.extend(pull.problems)
    stored_cursor = _int(cursor_text)  # what _state holds, even when --full ignores it
    new_cursor = next_cursor(stored_cursor, pull.max_updated_at, started)
    if memory is not None and not full and not dry_run:
        unchanged = (
            memory.settled_on == today
            and ledger.last_read_cached
            and len(rooms) == len(cabinets or {})
            and all(room.sheets.last_read_cached for room in rooms)
            and not pull.changes
            and (new_cursor is None or cursor is None or new_cursor - cursor < CURSOR_ALONE_AFTER)
        )
        if unchanged:
            report.idle = True
            report.cursor = cursor
            return report
        # Until this cycle ends well, nothing is settled: a cycle that dies half-way (a
        # write refused after the CRM took a push) must be planned again in full.
        memory.settled_on = None
    changes = LedgerChanges()
    changes.extend(pull.changes)
    after_pull = apply_changes(view, pull.changes)
    # A pasted copy of a row: flagged on every copy, and held back until one is left.
    copies = plan_copies(after_pull, {key: title for key, (title, _) in ledger.tabs.items()})
    report.problems.extend(copies.problems)
    changes.extend(copies.changes)
    after_pull = apply_changes(after_pull, copies.changes)
    # What people did in their cabinets becomes part of the master before anything is pushed.
    for room in rooms:
        edits = merge_edits(after_pull, room.view, room.cabinet, today)
        changes.extend(edits)
        after_pull = apply_changes(after_pull, edits)
        if room.cabinet.handover:
            handovers = plan_handovers(after_pull, room.view, room.cabinet, today)
            changes.extend(handovers.master)
            after_pull = apply_changes(after_pull, handovers.master)
            room.pending.extend(handovers.cabinet)
            report.handovers.extend(handovers.results)
        if "cabinet_bank" in room.view.tabs:  # bank lines the accountant assigned (bank/assign)
            assigned = plan_assignments(after_pull, room.view, room.cabinet)
            changes.extend(assigned.master)
            after_pull = apply_changes(after_pull, assigned.master)
            room.pending.extend(assigned.cabinet)
            report.problems.extend(assigned.problems)
    push = plan_push(hold_copies(after_pull), config, lookups, today)
    report.problems.extend(push.problems)
    report.events = list(push.events)
    changes.extend(push.totals)
    if new_cursor is not None and str(new_cursor) != cursor_text:
        changes.state[CURSOR_KEY] = str(new_cursor)
    report.cursor = new_cursor

    if dry_run:
        changes.replace.update(
            _cash_replacement(apply_changes(after_pull, push.totals), view, broken, today)
        )
        report.changes = changes
        return report

    done: list[PushEvent] = []
    if push.events:
        try:
            done, patched = push_to_crm(push, crm, store, report, lookups)
        except RetriableError as exc:
            # The CRM is unreachable: write what was pulled; the ticks stay, pushed next time.
            report.problems.append(f"push postponed: {exc}")
            patched = {}
        changes.extend(push.marks_for(done))
        for deal_id, values in patched.items():
            changes.update("deals", str(deal_id), values)
        report.pushed = done

    final = apply_changes(after_pull, changes)
    changes.replace.update(_cash_replacement(final, view, broken, today))
    _hold_back_lone_cursor(changes, stored_cursor, new_cursor)
    if "cash" in broken:
        report.problems.append(f"tab '{ledger.tabs['cash'][0]}': {broken['cash']} — not rewritten")
    report.cells_written = ledger.write(changes)
    report.changes = changes
    if done:
        store.journal_remove((e.payment_id, e.seq) for e in done)
    store.trust_journal()
    final = apply_changes(view, changes)
    remember_ledger(store, final)
    for room in rooms:
        _mirror_cabinet(room, final, today, report)
    report.unsettled = (
        report.unsettled or len(done) < len(push.events) or len(rooms) < len(cabinets or {})
    )
    if memory is not None:
        memory.settled_on = None if report.unsettled else today
    return report


@dataclass
class _Room:
    """A cabinet as this cycle saw it, and the writes it still owes it."""

    cabinet: Cabinet
    sheets: LedgerSheets
    view: LedgerView
    pending: LedgerChanges = field(default_factory=LedgerChanges)


def _read_cabinets(
    config: Config, cabinets: Mapping[str, LedgerSheets], report: CycleReport
) -> list[_Room]:
    rooms = []
    for cabinet in config.google.cabinets:
        sheets = cabinets.get(cabinet.name)
        if sheets is None:
            continue
        try:
            view = sheets.read_if_changed()
        except SheetledgerError as exc:
            # One cabinet out of reach must not stop the others or the master (retried later).
            report.problems.append(f"cabinet '{cabinet.name}' skipped this cycle: {exc}")
            continue
        broken = sheets.header_problems()
        if broken:
            for key, problem in broken.items():
                report.problems.append(
                    f"cabinet '{cabinet.name}', tab '{sheets.tabs[key][0]}': {problem} — not synced"
                )
            continue
        for key, tab in view.tabs.items():
            where = f"cabinet '{cabinet.name}', tab '{sheets.tabs[key][0]}'"
            report.problems.extend(copies_problems(tab, where))
        rooms.append(_Room(cabinet, sheets, view))
    return rooms


def _mirror_cabinet(room: _Room, final: LedgerView, today: Any, report: CycleReport) -> None:
    changes = LedgerChanges()
    changes.extend(room.pending)
    after_handover = apply_changes(room.view, room.pending)
    changes.extend(plan_mirror(final, after_handover, room.cabinet, today))
    try:
        report.cells_written += room.sheets.write(changes)
    except SheetledgerError as exc:
        report.problems.append(f"cabinet '{room.cabinet.name}' not updated this cycle: {exc}")
        report.unsettled = True


CURSOR_ALONE_AFTER = 3600  # seconds a cursor may lag before it is written on its own


def _hold_back_lone_cursor(changes: LedgerChanges, old: int | None, new: int | None) -> None:
    """Keep idle cycles write-free: a cursor that moved only a little is not worth a write.

    Re-reading the few leads of that window costs nothing extra (the same one page), while
    a write every minute would; after an hour it is written anyway, alone.
    """
    only_cursor = set(changes.state) == {CURSOR_KEY} and not (
        changes.updates or changes.appends or changes.replace or changes.removes
    )
    if only_cursor and old is not None and new is not None and new - old < CURSOR_ALONE_AFTER:
        del changes.state[CURSOR_KEY]


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _cash_replacement(
    final: LedgerView, current: LedgerView, broken: Mapping[str, str], today: date
) -> dict[str, list[dict[str, Any]]]:
    if "cash" in broken or "cash" not in current.tabs:
        return {}
    wanted = plan_cash(final, today)
    have = list(current.tab("cash"))
    if _comparable(have) == _comparable(wanted) and not current.tab("cash").copies:
        return {}  # (a pasted copy of a row goes with a rewrite)
    return {"cash": wanted}


def _comparable(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            str(r.get("manager")),
            r.get("amount"),
            r.get("count"),
            r.get("oldest"),
            str(r.get("payment_ids") or ""),
        )
        for r in rows
    ]


def push_to_crm(
    plan: PushPlan, crm: Crm, store: LocalState, report: CycleReport, lookups: Lookups
) -> tuple[list[PushEvent], dict[int, dict[str, Any]]]:
    """Send the plan's PATCHes and notes exactly once; return the events now in amoCRM.

    The journal is written before anything is sent. An event found in the journal
    (a previous attempt died before the ledger recorded it), or any event when the
    journal cannot be trusted, is first looked for by its marker in the deal's notes.
    """
    from sheetledger.crm.amocrm import AmbiguousWriteError, AmoValidationError

    events = plan.events
    keys = [(e.payment_id, e.seq) for e in events]
    in_doubt = set(keys) if not store.journal_trusted else store.journaled(keys)
    store.journal_add((e.payment_id, e.seq, e.deal_id, e.marker) for e in events)

    patched: dict[int, dict[str, Any]] = {}
    patches = list(plan.lead_patches.values())
    refused: set[int] = set()
    if patches:
        try:
            results = crm.update_leads(patches)
        except AmoValidationError:
            # One bad lead refuses its whole batch: send them one by one to find it, so the
            # others go through. The refused deals' events wait (note and fields together).
            results = []
            for patch in patches:
                try:
                    results.extend(crm.update_leads([patch]))
                except AmoValidationError as exc:
                    refused.add(int(patch["id"]))
                    report.problems.append(
                        f"amoCRM refused the update of deal {patch['id']}: {exc}"
                    )
            patches = [p for p in patches if int(p["id"]) not in refused]
        updated_at = {int(r["id"]): r.get("updated_at") for r in results if "id" in r}
        for patch in patches:
            values: dict[str, Any] = {}
            stamp = updated_at.get(patch["id"])
            if stamp:
                values["crm_updated_at"] = int(stamp)
            if "status_id" in patch:
                values["status_id"] = patch["status_id"]
                key = (int(patch["pipeline_id"]), int(patch["status_id"]))
                values["status"] = lookups.statuses.get(key, str(patch["status_id"]))
            patched[int(patch["id"])] = values
        report.lead_patches = len(patches)

    if refused:
        events = [e for e in events if e.deal_id not in refused]
        report.unsettled = True
    found: set[str] = set()
    doubtful = [e for e in events if (e.payment_id, e.seq) in in_doubt]
    if doubtful:
        markers = {e.marker for e in doubtful}
        for note in crm.notes(sorted({e.deal_id for e in doubtful}), note_type="common"):
            text = str((note.get("params") or {}).get("text") or "")
            found.update(m for m in markers if m in text)
        report.notes_found = len(found)
    to_post = [e for e in events if e.marker not in found]
    if to_post:
        try:
            crm.add_notes(
                [
                    {
                        "entity_id": e.deal_id,
                        "note_type": "common",
                        "params": {"text": note_text(e)},
                    }
                    for e in to_post
                ]
            )
        except AmbiguousWriteError as exc:
            # Whether the notes landed is unknown: they stay journaled, looked for next cycle.
            report.problems.append(f"notes not confirmed by amoCRM, will check next cycle: {exc}")
            return [e for e in events if e.marker in found], patched
    return list(events), patched
