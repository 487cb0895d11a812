"""What ``rebuild`` writes: the ledger as amoCRM says it is. Pure.

Two records make the ledger again: the deals (every deal and payment row, by the
same ``plan_pull`` the sync cycle uses) and the marker notes (every confirmation,
partial receipt and reversal, with who and when). A row whose ``Sync state`` already
knows an event as late as amoCRM's is left as it is; a row behind amoCRM gets the
daemon's cells of that event, and the people's confirmation cells too when they are
all empty (a row rebuilt from nothing, or one whose cells were pasted over). People's
cells that hold something are never written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sheetledger.config import Config
from sheetledger.rebuild.notes import NoteRecord
from sheetledger.sync.cash import plan_cash
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView, apply_changes, differing
from sheetledger.sync.pull import Lookups, plan_pull
from sheetledger.sync.push import PushEvent, plan_push
from sheetledger.sync.state import RowState, SyncStatus

# A person's record of a confirmation: rebuilt only when every one of them is empty.
CONFIRMATION_CELLS = ("confirmed", "received", "confirmed_by", "confirmed_at")
_STATUS = {"confirm": "pushed", "correct": "pushed", "partial": "partial", "reverse": "reversed"}


@dataclass(frozen=True)
class Restored:
    """A payment whose confirmation came back from amoCRM's notes."""

    payment_id: str
    status: str  # pushed | partial | reversed | cancelled
    seq: int
    amount: Decimal | None
    by: str
    on: date | None
    people_cells: bool  # the confirmation cells were written too (they were all empty)


@dataclass
class RebuildPlan:
    changes: LedgerChanges
    new_rows: int = 0
    updated_rows: int = 0
    restored: list[Restored] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # What the next sync would still push: people's ticks newer than amoCRM's record.
    pending: list[PushEvent] = field(default_factory=list)


def plan_rebuild(
    view: LedgerView,
    leads: Iterable[Mapping[str, Any]],
    records: Mapping[str, NoteRecord],
    lookups: Lookups,
    config: Config,
    *,
    today: date,
) -> RebuildPlan:
    """The writes that make ``view`` show every deal, payment and confirmation amoCRM has."""
    pull = plan_pull(view, leads, lookups, config)
    changes = LedgerChanges()
    changes.extend(pull.changes)
    plan = RebuildPlan(changes, pull.new_rows, pull.updated_rows, problems=list(pull.problems))
    after_pull = apply_changes(view, pull.changes)
    payments = after_pull.tab("payments")
    confirmations = LedgerChanges()
    for payment_id, record in sorted(records.items()):
        row = payments.get(payment_id)
        if row is None:
            plan.problems.append(
                f"{payment_id}: amoCRM has its confirmation #{record.seq}, but the deal has "
                "no such payment any more — add the row by hand if the money is real"
            )
            continue
        if not record.kind:
            plan.problems.append(
                f"{payment_id}: the note of its event #{record.seq} cannot be read "
                "(edited in amoCRM?) — check the row by hand"
            )
            continue
        cells, restored = restore_cells(row, record)
        if cells:
            confirmations.update("payments", payment_id, cells)
            plan.restored.append(restored)
    changes.extend(confirmations)
    restored_view = apply_changes(after_pull, confirmations)
    push = plan_push(restored_view, config, lookups, today)
    changes.extend(push.totals)
    plan.pending = list(push.events)
    final = apply_changes(restored_view, push.totals)
    if "cash" in view.tabs:
        cash = plan_cash(final, today)
        if _cash_key(cash) != _cash_key(view.tab("cash")):
            changes.replace["cash"] = cash
    # The pull cursor is left to the sync: a cursor lost with its tab costs one full pull.
    return plan


def _cash_key(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Cash on hand rows as comparable values (a rebuild of a sound ledger writes nothing)."""
    keys = ("manager", "amount", "count", "oldest", "payment_ids")
    return [tuple(row.get(key) or None for key in keys) for row in rows]


def restore_cells(row: Mapping[str, Any], record: NoteRecord) -> tuple[dict[str, Any], Restored]:
    """The cells that bring ``row`` up to ``record`` (none when the row knows it already)."""
    state = RowState.parse(row.get("state"))
    status = _STATUS[record.kind]
    if status == "reversed" and state.status == "cancelled":
        status = "cancelled"  # a lost deal's reversed payment: plan_pull would say the same
    amount = record.amount if record.amount is not None else row.get("amount")
    untouched = all(row.get(key) in (None, "", False) for key in CONFIRMATION_CELLS)
    restored = Restored(str(row["id"]), status, record.seq, amount, record.by, record.on, untouched)
    if state.seq >= record.seq:
        return {}, restored
    wanted: dict[str, Any] = {
        "state": RowState(SyncStatus(status), record.seq, state.problem).render(),
        "pushed_amount": amount if status in ("pushed", "partial") else None,
    }
    if untouched:
        wanted |= _confirmation(status, amount, row.get("amount"), record)
    return differing(row, wanted, list(wanted)), restored


def _confirmation(
    status: str, amount: Decimal | None, expected: Decimal | None, record: NoteRecord
) -> dict[str, Any]:
    """The people's cells that say what ``record`` says, as a person would have filled them."""
    if status == "pushed":
        # Empty "Received amount" means "the expected amount"; another sum is typed in.
        received = amount if amount != expected else None
        return {
            "confirmed": True,
            "received": received,
            "confirmed_by": record.by or None,
            "confirmed_at": record.on,
        }
    if status == "partial":
        return {
            "confirmed": False,
            "received": amount,
            "confirmed_by": record.by or None,
            "confirmed_at": record.on,
        }
    return {"confirmed": False}
