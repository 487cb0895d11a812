"""Cabinets: a person's own spreadsheet with only the payments they confirm. Pure.

Each cycle (docs/architecture.md, "The cycle"; README, "Cabinets"):
1. ``merge_edits`` brings ticks, received amounts and comments typed in a cabinet
   into the master. It is a three-way merge: the cabinet row's hidden ``Synced``
   cell remembers what the daemon last wrote there, so a change is attributed to
   the side that made it — a tick in the cabinet flows to the master, a tick in the
   master flows to the cabinet, the same tick on both sides is one tick.
2. ``plan_handovers`` turns a cashier's "this manager gave me X" into confirmations
   of that manager's oldest cash payments, a partial receipt for a remainder, a log
   line, and a reset of the form.
3. ``plan_mirror`` writes into the cabinet exactly the unconfirmed and recently
   confirmed payments of its methods, and nothing else.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

from sheetledger.config import Cabinet
from sheetledger.ledger.records import CabinetPaymentRow, CashRow, DealRow, HandoverRow, PaymentRow
from sheetledger.ledger.view import LedgerChanges, LedgerView, RowAppend, differing
from sheetledger.model import ZERO, money
from sheetledger.sync.cash import outstanding, plan_cash, unconfirmed_cash
from sheetledger.sync.state import RowState

RECENT_DAYS = 14  # confirmed payments stay visible in the cabinet this long
SHARED = ("confirmed", "received", "comment")  # the people's cells a cabinet shares with the master
_CRM_KEYS = ("deal", "contract_no", "manager", "kind", "method", "amount", "date")


def cabinet_label(cabinet: Cabinet) -> str:
    return cabinet.title or cabinet.name


def _mirror(confirmed: Any, received: Decimal | None, comment: str | None) -> str:
    """The Synced text of a row whose shared cells are these."""
    return _mirror_text(
        bool(confirmed), format(received, "f") if received is not None else "", comment or ""
    )


def _mirror_of(row: PaymentRow | CabinetPaymentRow) -> str:
    return _mirror(row.confirmed, row.received, row.comment)


# Most rows of a cabinet share a handful of Synced texts (unticked, no amount, no comment):
# memoised, a cycle over 30,000 rows encodes and decodes a few of them, not 60,000.
@functools.lru_cache(maxsize=4096)
def _mirror_text(confirmed: bool, received: str, comment: str) -> str:
    return json.dumps(
        {"c": 1 if confirmed else 0, "r": received, "m": comment},
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class Shared:
    """The people's cells a cabinet shares with the master (``SHARED``), normalised: a tick
    is True or False, an empty amount or comment is None."""

    confirmed: bool
    received: Decimal | None
    comment: str | None

    @classmethod
    def of(cls, row: PaymentRow | CabinetPaymentRow) -> Shared:
        return cls(bool(row.confirmed), _empty(row.received), _empty(row.comment))


def _empty(value: Any) -> Any:
    return None if value in ("", None) else value


def _base(text: Any) -> Shared | None:
    """What the daemon last wrote into a cabinet row's shared cells, from its Synced text."""
    if not text:
        return None
    return _base_of(str(text))


@functools.lru_cache(maxsize=4096)
def _base_of(text: str) -> Shared | None:
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    received = raw.get("r")
    try:
        amount = money(Decimal(received)) if received else None
    except (InvalidOperation, TypeError):
        amount = None
    return Shared(bool(raw.get("c")), amount, _empty(raw.get("m") or None))


# --------------------------------------------------------------------------- 1. edits


def merge_edits(
    master: LedgerView, cabinet_view: LedgerView, cabinet: Cabinet, today: date
) -> LedgerChanges:
    """Master updates for what people changed in this cabinet since the daemon last looked."""
    changes = LedgerChanges()
    if "cabinet_payments" not in cabinet_view.tabs:
        return changes  # a cabinet of orders or requests only
    payments_tab = master.tab("payments")
    payments = payments_tab.typed(PaymentRow)
    cabinet_tab = cabinet_view.tab("cabinet_payments")
    for row_id, cab in cabinet_tab.typed(CabinetPaymentRow).items():
        if cab.mirror == _mirror_of(cab):
            continue  # the person changed nothing here since the daemon's last write
        mas = payments.get(row_id)
        if mas is None or row_id in payments_tab.copies or row_id in cabinet_tab.copies:
            continue  # a row with copies (sync/duplicates.py) waits until one is left
        base = _base(cab.mirror)
        cab_cells, mas_cells = Shared.of(cab), Shared.of(mas)
        update: dict[str, Any] = {}
        for key in SHARED:
            cab_value, mas_value = getattr(cab_cells, key), getattr(mas_cells, key)
            if base is None:
                # Never mirrored (a row the person added, or the Synced cell was cleared):
                # take what the person entered, keep the master where the cabinet is empty.
                if cab_value not in (None, False) and cab_value != mas_value:
                    update[key] = cab_value
                continue
            if cab_value != getattr(base, key) and cab_value != mas_value:
                update[key] = cab_value  # the cabinet changed it (it wins a same-cell conflict)
        if "confirmed" in update and cab_cells.confirmed:
            if not mas.confirmed_by:
                update["confirmed_by"] = cabinet_label(cabinet)
            if not mas.confirmed_at:
                update["confirmed_at"] = today
        if update:
            changes.update("payments", row_id, update)
    return changes


# --------------------------------------------------------------------------- 2. handovers


@dataclass
class HandoverPlan:
    master: LedgerChanges = field(default_factory=LedgerChanges)
    cabinet: LedgerChanges = field(default_factory=LedgerChanges)
    results: list[str] = field(default_factory=list)


def handover_ref(manager: str, number: int) -> str:
    return f"сдача №{number} · {manager}"


def plan_handovers(
    master: LedgerView, cabinet_view: LedgerView, cabinet: Cabinet, today: date
) -> HandoverPlan:
    """Apply every accepted handover of the form: the oldest cash of that manager first.

    A handover is recognised by its reference (``сдача №N · manager``), written into
    the ``Confirmed by`` cell of every payment it touched: a cycle that dies after the
    master write and before the cabinet reset finds it there and does not apply it twice.
    """
    plan = HandoverPlan()
    if "handover" not in cabinet_view.tabs:
        return plan
    label = cabinet_label(cabinet)
    payments = master.tab("payments").typed(PaymentRow)
    held = master.tab("payments").copies
    forms = cabinet_view.tab("handover").typed(HandoverRow)
    if not any(form.accept and form.received is not None for form in forms.values()):
        return plan  # (most cycles: no handover accepted, no cash looked at)
    cash_rows = [r for r in unconfirmed_cash(master, today) if str(r.id) not in held]
    for manager, form in forms.items():
        amount = form.received
        if not form.accept or amount is None:
            continue
        number = int(form.done or 0) + 1
        ref = handover_ref(manager, number)
        stamp = f"{label}: {ref}"
        touched = [r for r in payments.values() if stamp in str(r.confirmed_by or "")]
        confirmed_ids: list[str] = []
        partial = ""
        if touched:  # applied by a cycle that died before it could reset the form
            confirmed_ids = [str(r.id) for r in touched if r.confirmed]
            partial = ", ".join(f"{r.id}: {r.received}" for r in touched if not r.confirmed)
            left = ZERO
        elif amount <= 0:
            plan.cabinet.update(
                "handover", manager, {"accept": False, "result": "✘ the amount must be positive"}
            )
            plan.results.append(f"{manager}: handover of {amount} refused (not positive)")
            continue
        else:
            left = money(amount)
            for row in (r for r in cash_rows if str(r.manager or "") == manager):
                if left <= 0:
                    break
                due = outstanding(row)
                before = row.received or ZERO
                if left >= due:
                    # All of it is in now: a plain confirmation of the expected amount.
                    values: dict[str, Any] = {"confirmed": True, "received": None}
                    left -= due
                    confirmed_ids.append(str(row.id))
                else:
                    values = {"received": money(before + left)}
                    partial = f"{row.id}: {money(before + left)} of {row.amount}"
                    left = ZERO
                values |= {"confirmed_by": stamp, "confirmed_at": today}
                plan.master.update("payments", str(row.id), values)
        result = f"✔ {ref}: {money(amount)} — {len(confirmed_ids)} payment(s) confirmed"
        if partial:
            result += f"; partial {partial}"
        if left > 0:
            result += f"; {left} more than the manager held — check it"
        plan.results.append(result)
        plan.cabinet.update(
            "handover",
            manager,
            {"received": None, "accept": False, "done": number, "result": result},
        )
        plan.cabinet.appends.append(
            RowAppend(
                "handover_log",
                ref,
                {
                    "id": ref,
                    "date": today,
                    "manager": manager,
                    "amount": money(amount),
                    "confirmed": ", ".join(confirmed_ids),
                    "partial": partial,
                    "by": label,
                },
            )
        )
    return plan


# --------------------------------------------------------------------------- 3. mirror


def belongs(
    row: PaymentRow, cabinet: Cabinet, today: date, methods: frozenset[str] | None = None
) -> bool:
    """Whether a master payment row is shown in this cabinet."""
    if methods is None:
        methods = frozenset(m.value for m in cabinet.methods)
    if str(row.method or "") not in methods:
        return False
    if RowState.parse(row.state).status == "cancelled" and not row.confirmed:
        return False
    if not row.confirmed:
        return True
    when = row.confirmed_at
    return when is None or when >= today - timedelta(days=RECENT_DAYS)


def plan_mirror(
    master: LedgerView,
    cabinet_view: LedgerView,
    cabinet: Cabinet,
    today: date,
    cash: list[CashRow] | None = None,
) -> LedgerChanges:
    """The cabinet writes that make it show what the master says, for its methods only.

    ``cash`` is ``plan_cash(master, today)`` when the caller has it already.
    """
    changes = LedgerChanges()
    if "cabinet_payments" not in cabinet_view.tabs:
        return changes  # a cabinet of orders or requests only
    deal_names = {row.id: row.name or "" for row in master.tab("deals").typed(DealRow).values()}
    current = cabinet_view.tab("cabinet_payments")
    have_rows = current.typed(CabinetPaymentRow)
    wanted_ids: set[str] = set()
    methods = frozenset(m.value for m in cabinet.methods)
    # A row with copies in either sheet is neither written nor removed until one is left.
    held = set(master.tab("payments").copies) | set(current.copies)
    for row in master.tab("payments").typed(PaymentRow).values():
        # (the method first: most rows are another cabinet's, told by one set lookup)
        if row.method not in methods or not belongs(row, cabinet, today, methods):
            continue
        row_id = str(row.id)
        wanted_ids.add(row_id)
        if row_id in held:
            continue
        deal_name = deal_names.get(row.deal_id, "")
        have = have_rows.get(row_id)
        # Most rows are as the last cycle left them: one tuple comparison tells (the
        # cabinets' merge and mirror touch only the rows that changed).
        if (
            have is not None
            and have.deal == deal_name
            and _crm_cells(have) == _crm_cells(row)
            and have.mirror == _mirror_of(row)
            and _shared_cells(have) == _shared_cells(row)
        ):
            continue
        values: dict[str, Any] = {
            "id": row_id,
            "deal": deal_name,
            "contract_no": row.contract_no,
            "manager": row.manager,
            "kind": row.kind,
            "method": row.method,
            "amount": row.amount,
            "date": row.date,
        }
        shared = Shared.of(row)
        mirror = _mirror(shared.confirmed, shared.received, shared.comment)
        if have is None:
            cells = {key: getattr(shared, key) for key in SHARED}
            changes.appends.append(
                RowAppend("cabinet_payments", row_id, values | cells | {"mirror": mirror})
            )
            continue
        diff = differing(have, values, _CRM_KEYS)
        base = _base(have.mirror)
        now = Shared.of(have)
        for key in SHARED:
            # Write a shared cell only when the master moved it: a tick the person made in
            # the cabinet since its read is never overwritten by a stale value.
            wanted = getattr(shared, key)
            base_value = getattr(base, key) if base else None
            if wanted != base_value and wanted != getattr(now, key):
                diff[key] = wanted
        if have.mirror != mirror:
            diff["mirror"] = mirror
        if diff:
            changes.update("cabinet_payments", row_id, diff)
    for row_id in have_rows:
        if row_id not in wanted_ids and row_id not in held:
            changes.removes.append(("cabinet_payments", row_id))
    if cabinet.handover and "handover" in cabinet_view.tabs:
        on_hand = plan_cash(master, today) if cash is None else cash
        _plan_handover_form(on_hand, cabinet_view, changes)
    return changes


# The CRM's cells a cabinet row shows as they are in the master (the deal's name aside).
_crm_cells = attrgetter(*_CRM_KEYS[1:])


def _shared_cells(row: PaymentRow | CabinetPaymentRow) -> tuple[bool, Any, Any]:
    return bool(row.confirmed), row.received, row.comment or None


def _plan_handover_form(
    cash: list[CashRow], cabinet_view: LedgerView, changes: LedgerChanges
) -> None:
    """One form row per manager holding cash (the cabinet's view of Cash on hand)."""
    form = cabinet_view.tab("handover").typed(HandoverRow)
    held = {str(r.manager): r for r in cash}
    for manager, on_hand in held.items():
        values = {
            "manager": manager,
            "held": on_hand.amount,
            "count": on_hand.count,
            "oldest": on_hand.oldest,
        }
        have = form.get(manager)
        if have is None:
            changes.appends.append(
                RowAppend("handover", manager, values | {"accept": False, "done": 0})
            )
        else:
            diff = differing(have, values, ("held", "count", "oldest"))
            if diff:
                changes.update("handover", manager, diff)
    for manager, have in form.items():
        if manager not in held and (have.held or ZERO) != ZERO:
            changes.update("handover", manager, {"held": ZERO, "count": 0, "oldest": None})
