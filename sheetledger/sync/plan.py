"""The whole sync cycle as one pure plan: what was read in, what to write and push out.

``plan_cycle`` takes what the shell read (the master and cabinet views, the leads amoCRM
changed, the lookups, the day) and decides everything a cycle decides: whether it is idle,
the ledger changes of the pull, what people did in their cabinets merged into the master,
the pushes, the next cursor. After amoCRM answered, ``settle`` turns the plan and the
``PushOutcome`` into the ledger write (marks, deals' new status and stamps, Cash on hand,
the cursor), and ``plan_cabinet`` into each cabinet's write. No I/O here: the shell in
``sync/cycle.py`` reads, calls these, and writes what they return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sheetledger.bank.assign import plan_assignments
from sheetledger.config import Cabinet, Config
from sheetledger.crm.lookups import Lookups
from sheetledger.crm.parse import PulledLead
from sheetledger.crm.pusher import OutgoingNote, PushOutcome
from sheetledger.ledger.records import CashRow
from sheetledger.ledger.view import LedgerChanges, LedgerView, apply_changes
from sheetledger.rebuild.recall import Recall, plan_recall, total_patches
from sheetledger.sync.cabinets import merge_edits, plan_handovers, plan_mirror
from sheetledger.sync.cash import plan_cash
from sheetledger.sync.cursor import CURSOR_KEY, next_cursor
from sheetledger.sync.duplicates import hold_copies, plan_copies
from sheetledger.sync.pull import plan_pull
from sheetledger.sync.push import PushEvent, PushPlan, note_text, plan_push

CURSOR_ALONE_AFTER = 3600  # seconds a cursor may lag before it is written on its own


@dataclass(frozen=True)
class CabinetRead:
    """A cabinet as the cycle read it."""

    cabinet: Cabinet
    view: LedgerView
    unchanged: bool = False  # Drive said the file had not changed since the previous read


@dataclass(frozen=True)
class CycleInput:
    """Everything a cycle plans from."""

    config: Config
    master: LedgerView
    leads: Sequence[Mapping[str, Any] | PulledLead]  # amoCRM's JSON, or parsed at the read
    lookups: Lookups
    today: date
    started: int  # unix seconds: the cursor never passes the cycle's start
    cabinets: Sequence[CabinetRead] = ()
    all_cabinets_read: bool = True  # False when a cabinet was out of reach or broken
    full: bool = False  # a full resync: the stored cursor is ignored
    master_unchanged: bool = False  # Drive said the master had not changed since its last read
    read_all: bool = False  # every sheet was read afresh, whatever Drive's version said
    settled_on: date | None = None  # the day a remembered cycle left nothing for later
    may_idle: bool = False  # a daemon that remembers its last cycle may skip planning
    broken: Mapping[str, str] = field(default_factory=dict)  # master tab -> header problem
    titles: Mapping[str, str] = field(default_factory=dict)  # master tab -> its title
    recall: Recall = field(default_factory=Recall)  # amoCRM's record of rows the sheet mixed up


@dataclass(frozen=True)
class CabinetPlan:
    """One cabinet's part of the plan: its view, and the handover writes it is owed."""

    cabinet: Cabinet
    view: LedgerView
    owed: LedgerChanges  # handover form resets and log lines, written whatever the push does


@dataclass(frozen=True)
class CyclePlan:
    idle: bool  # nothing changed anywhere since a settled cycle: nothing to plan or write
    cursor: int | None  # the cursor after this cycle (the one it started from when idle)
    stored_cursor: int | None = None  # what ``_state`` held
    changes: LedgerChanges = field(default_factory=LedgerChanges)  # written whatever the push
    planned: LedgerView | None = None  # the master as the push was planned against it
    push: PushPlan = field(default_factory=PushPlan)
    cabinets: tuple[CabinetPlan, ...] = ()
    handovers: tuple[str, ...] = ()
    new_rows: int = 0
    updated_rows: int = 0
    problems: tuple[str, ...] = ()

    def notes(self) -> list[OutgoingNote]:
        """The pushes as amoCRM notes, for ``CrmPusher``."""
        return [
            OutgoingNote((e.payment_id, e.seq), e.deal_id, e.marker, note_text(e))
            for e in self.push.events
        ]


def stored_cursor(view: LedgerView) -> int | None:
    text = view.state.get(CURSOR_KEY, "")
    return int(text) if text.isdigit() else None


def plan_cycle(given: CycleInput) -> CyclePlan:
    """The cycle's decisions: idle or not, and if not, the changes and pushes."""
    config, today = given.config, given.today
    stored = stored_cursor(given.master)
    cursor = None if given.full else stored
    pull = plan_pull(given.master, given.leads, given.lookups, config)
    new_cursor = next_cursor(stored, pull.max_updated_at, given.started)
    if (
        given.may_idle
        and not given.full
        and not given.recall
        and _unchanged(given, pull.changes, cursor, new_cursor)
    ):
        return CyclePlan(
            idle=True, cursor=cursor, stored_cursor=stored, problems=tuple(pull.problems)
        )

    changes = LedgerChanges()
    changes.extend(pull.changes)
    planned = apply_changes(given.master, pull.changes)
    # Rows whose state people cleared, deleted or sorted away take it back from amoCRM.
    recalled = plan_recall(planned, given.recall)
    changes.extend(recalled)
    planned = apply_changes(planned, recalled)
    # A pasted copy of a row: flagged on every copy, and held back until one is left.
    copies = plan_copies(planned, given.titles)
    changes.extend(copies.changes)
    planned = apply_changes(planned, copies.changes)
    # What people did in their cabinets becomes part of the master before anything is pushed.
    cabinets: list[CabinetPlan] = []
    handovers: list[str] = []
    problems: list[str] = []
    for read in given.cabinets:
        edits = merge_edits(planned, read.view, read.cabinet, today)
        changes.extend(edits)
        planned = apply_changes(planned, edits)
        owed = LedgerChanges()
        if read.cabinet.handover:
            handover = plan_handovers(planned, read.view, read.cabinet, today)
            changes.extend(handover.master)
            planned = apply_changes(planned, handover.master)
            owed.extend(handover.cabinet)
            handovers.extend(handover.results)
        if "cabinet_bank" in read.view.tabs:  # bank lines the accountant assigned (bank/assign)
            assigned = plan_assignments(planned, read.view, read.cabinet)
            changes.extend(assigned.master)
            planned = apply_changes(planned, assigned.master)
            owed.extend(assigned.cabinet)
            problems.extend(assigned.problems)
        cabinets.append(CabinetPlan(read.cabinet, read.view, owed))
    held = hold_copies(planned)
    push = plan_push(held, config, given.lookups, today)
    for deal_id, patch in total_patches(held, given.recall, config).items():
        push.lead_patches.setdefault(deal_id, patch)
    changes.extend(push.totals)
    if new_cursor is not None and new_cursor != stored:
        changes.state[CURSOR_KEY] = str(new_cursor)
    return CyclePlan(
        idle=False,
        cursor=new_cursor,
        stored_cursor=stored,
        changes=changes,
        planned=planned,
        push=push,
        cabinets=tuple(cabinets),
        handovers=tuple(handovers),
        new_rows=pull.new_rows,
        updated_rows=pull.updated_rows,
        problems=(*pull.problems, *copies.problems, *problems, *push.problems),
    )


def must_read_all(last: datetime | None, now: datetime, every: timedelta) -> bool:
    """Whether this cycle reads every sheet afresh, whatever Drive's versions say.

    Drive's ``version`` is what lets a settled daemon skip reading; should it ever lag an
    edit, the edit would stay unseen until something else changed. Reading everything at
    least every ``every`` bounds that delay.
    """
    return last is None or now - last >= every


def _unchanged(
    given: CycleInput, pulled: LedgerChanges, cursor: int | None, new_cursor: int | None
) -> bool:
    """Whether the previous, settled plan still holds, so this cycle need plan nothing.

    Settled on the same day (cash dated today and the cabinets' two-week window move with
    it), every sheet unchanged by Drive's version, amoCRM bringing nothing new, and the
    cursor not lagging so far that it must be written.
    """
    return (
        given.settled_on == given.today
        and not given.read_all
        and given.master_unchanged
        and given.all_cabinets_read
        and all(read.unchanged for read in given.cabinets)
        and not pulled
        and (new_cursor is None or cursor is None or new_cursor - cursor < CURSOR_ALONE_AFTER)
    )


# --------------------------------------------------------------------------- after the push


@dataclass(frozen=True)
class Settled:
    """The master's write after the push, and what it records."""

    changes: LedgerChanges
    final: LedgerView  # the master once the write landed (what the cabinets mirror)
    pushed: tuple[PushEvent, ...]
    cash: list[CashRow]  # Cash on hand as ``final`` has it (the cashbox's form too)


def settle(
    plan: CyclePlan, outcome: PushOutcome, given: CycleInput, *, dry_run: bool = False
) -> Settled:
    """The ledger write for ``plan`` once amoCRM said ``outcome``: marks and all."""
    assert plan.planned is not None, "an idle plan has nothing to settle"
    pushed = tuple(e for e in plan.push.events if (e.payment_id, e.seq) in outcome.delivered)
    marks = plan.push.marks_for(list(pushed))
    for deal_id, values in lead_marks(plan.push, outcome, given.lookups).items():
        marks.update("deals", str(deal_id), values)
    # ``planned`` holds the pull and the cabinets' edits already: only the rest is applied.
    rest = LedgerChanges()
    rest.extend(plan.push.totals)
    rest.extend(marks)
    final = apply_changes(plan.planned, rest)
    changes = LedgerChanges()
    changes.extend(plan.changes)
    changes.extend(marks)
    cash = plan_cash(final, given.today)
    changes.replace.update(cash_replacement(cash, given.master, given.broken))
    if not dry_run:
        hold_back_lone_cursor(changes, plan.stored_cursor, plan.cursor)
    return Settled(changes, final, pushed, cash)


def lead_marks(push: PushPlan, outcome: PushOutcome, lookups: Lookups) -> dict[int, dict[str, Any]]:
    """Deals cells that follow a PATCH amoCRM took: its new ``updated_at`` and status."""
    marks: dict[int, dict[str, Any]] = {}
    for deal_id in sorted(outcome.patched):
        patch = push.lead_patches.get(deal_id)
        if patch is None:
            continue
        values: dict[str, Any] = {}
        stamp = outcome.updated_at.get(deal_id)
        if stamp:
            values["crm_updated_at"] = int(stamp)
        if "status_id" in patch:
            values["status_id"] = patch["status_id"]
            key = (int(patch["pipeline_id"]), int(patch["status_id"]))
            values["status"] = lookups.statuses.get(key, str(patch["status_id"]))
        marks[deal_id] = values
    return marks


def plan_cabinet(room: CabinetPlan, done: Settled, today: date) -> LedgerChanges:
    """A cabinet's write: the handover writes it is owed, then the mirror of the master."""
    changes = LedgerChanges()
    changes.extend(room.owed)
    after_handover = apply_changes(room.view, room.owed) if room.owed else room.view
    changes.extend(plan_mirror(done.final, after_handover, room.cabinet, today, done.cash))
    return changes


def hold_back_lone_cursor(changes: LedgerChanges, old: int | None, new: int | None) -> None:
    """Keep idle cycles write-free: a cursor that moved only a little is not worth a write.

    Re-reading the few leads of that window costs nothing extra (the same one page), while
    a write every minute would; after an hour it is written anyway, alone.
    """
    only_cursor = set(changes.state) == {CURSOR_KEY} and not (
        changes.updates or changes.appends or changes.replace or changes.removes
    )
    if only_cursor and old is not None and new is not None and new - old < CURSOR_ALONE_AFTER:
        del changes.state[CURSOR_KEY]


def cash_replacement(
    wanted: list[CashRow], current: LedgerView, broken: Mapping[str, str]
) -> dict[str, list[Any]]:
    """Cash on hand rewritten when what it should show differs from what it shows."""
    if "cash" in broken or "cash" not in current.tabs:
        return {}
    have = list(current.tab("cash").typed(CashRow).values())
    if _comparable(have) == _comparable(wanted) and not current.tab("cash").copies:
        return {}  # (a pasted copy of a row goes with a rewrite)
    return {"cash": wanted}


def _comparable(rows: Sequence[CashRow]) -> list[tuple[Any, ...]]:
    return [(str(r.manager), r.amount, r.count, r.oldest, str(r.payment_ids or "")) for r in rows]
