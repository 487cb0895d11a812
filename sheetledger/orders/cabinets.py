"""Payment orders in the cabinets, as pure plans: the accountant's Orders tab and a
requester's Requests tab.

``merge_order_edits`` brings the Paid / Reject ticks and the payment's cells people changed in
the accountant's Orders tab into the master: a three-way merge like the payments'
(``sync/cabinets.py``), the hidden ``Synced`` cell remembering what the daemon last wrote, so
a change is the side's that made it.

``plan_order_mirror`` writes each cabinet from the master as it stands after the write: the
accountant's open orders and those decided in the last ``orders.recent_days``; a requester's
own orders only (the cabinet's ``users`` are the requesters), and a few empty form rows, each
with its Order ID ready (``form_id``: a row typed without one gets it from what it says).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sheetledger.config import Cabinet, Config
from sheetledger.ledger.view import LedgerChanges, LedgerView, RowAppend, RowKey
from sheetledger.model import RowCode, money
from sheetledger.orders.model import Order, OrderId, OrderSource, OrderState, order_id, state_text
from sheetledger.orders.rows import order_from_cells, requester_chat

__all__ = [
    "BLANK_REQUEST_ROWS",
    "SHARED",
    "form_id",
    "merge_order_edits",
    "notified_tokens",
    "plan_order_mirror",
]

TAB = "invoices"
BLANK_REQUEST_ROWS = 3  # empty form rows kept at the bottom of a Requests tab
# The payment's cells a person fills, in the master and in the accountant's Orders tab.
SHARED = ("paid", "paid_on", "paid_amount", "paid_from", "payment_ref", "reject", "reason")
_ORDER_CELLS = (
    "created",
    "requested_by",
    "supplier",
    "purpose",
    "category",
    "amount",
    "due",
    "deal",
    "bill_link",
    "state",
)
_REQUEST_CELLS = ("amount", "supplier", "purpose", "category", "due", "contract_no", "bill_link")
_OPEN_FORM = "fill in the row and tick Submit"


def form_id(cabinet: Cabinet, row: Mapping[str, Any], today: date) -> OrderId:
    """The Order ID of a Requests row typed without one: from what it says, so stable."""
    parts = []
    for key in _REQUEST_CELLS:
        value = row.get(key)
        if isinstance(value, Decimal):
            value = format(money(value), "f")
        elif isinstance(value, date):
            value = value.isoformat()
        parts.append("" if value is None else str(value))
    return order_id(f"{OrderSource.REQUESTS.value}:{cabinet.name}:" + "|".join(parts), today)


def notified_tokens(text: object) -> list[str]:
    return str(text or "").split()


def _mirror_text(values: Mapping[str, Any]) -> str:
    """The Synced cell: the shared cells as the daemon wrote them (JSON, stable)."""
    out: dict[str, Any] = {}
    for key in SHARED:
        value = _norm(key, values.get(key))
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = format(value, "f")
        out[key] = value
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _base(text: object) -> dict[str, Any] | None:
    try:
        raw = json.loads(str(text)) if text else None
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    base: dict[str, Any] = {}
    for key in SHARED:
        value = raw.get(key)
        if key == "paid_on" and value:
            value = date.fromisoformat(value)
        elif key == "paid_amount" and value:
            value = Decimal(value)
        base[key] = _norm(key, value)
    return base


def _norm(key: str, value: Any) -> Any:
    if key in ("paid", "reject"):
        return value is True
    if value in ("", None):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, Decimal):
        return money(value)
    return value


def merge_order_edits(
    master: LedgerView, view: LedgerView, cabinet: Cabinet, today: date
) -> LedgerChanges:
    """Master updates for the payment cells people changed in this cabinet's Orders tab."""
    changes = LedgerChanges()
    invoices = master.tab(TAB)
    rows = view.tab("cabinet_orders")
    for row_id, cab in rows.rows.items():
        if cab.get("mirror") == _mirror_text(cab):
            continue
        mas = invoices.get(row_id)
        if mas is None or row_id in invoices.copies or row_id in rows.copies:
            continue
        base = _base(cab.get("mirror"))
        update: dict[str, Any] = {}
        for key in SHARED:
            cab_value, mas_value = _norm(key, cab.get(key)), _norm(key, mas.get(key))
            if base is None:
                if cab_value not in (None, False) and cab_value != mas_value:
                    update[key] = cab_value
            elif cab_value != base[key] and cab_value != mas_value:
                update[key] = cab_value
        if update.get("paid") is True:
            update["paid_by"] = cabinet.title or cabinet.name
            if mas.get("paid_on") is None and "paid_on" not in update:
                update["paid_on"] = today
        if update:
            changes.update(TAB, row_id, update)
    return changes


def _decided_before(row: Mapping[str, Any], since: date) -> bool:
    """Paid or rejected before ``since`` (from the cells alone: most rows of a big tab)."""
    if row.get("paid") is True and row.get("reject") is not True:
        paid_on = row.get("paid_on")
        return isinstance(paid_on, date) and _as_day(paid_on) < since
    if row.get("reject") is True and row.get("paid") is not True:
        for token in notified_tokens(row.get("notified")):
            if token.startswith("rejected:"):
                try:
                    return date.fromisoformat(token.split(":", 1)[1]) < since
                except ValueError:
                    return False
    return False


def _as_day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _shown_to_accountant(order: Order, row: Mapping[str, Any], today: date, days: int) -> bool:
    if order.state is OrderState.NEW:
        return True
    since = today - timedelta(days=days)
    if order.state is OrderState.PAID and order.payment is not None:
        return order.payment.on >= since
    for token in notified_tokens(row.get("notified")):
        if token.startswith("rejected:"):
            try:
                return date.fromisoformat(token.split(":", 1)[1]) >= since
            except ValueError:
                return True
    return True  # rejected this cycle: not yet dated


def plan_order_mirror(
    master: LedgerView,
    view: LedgerView,
    cabinet: Cabinet,
    config: Config,
    today: date,
    names: Mapping[int, str],
) -> LedgerChanges:
    """The cabinet's Orders and Requests writes that make them show what the master says."""
    changes = LedgerChanges()
    if TAB not in master.tabs:
        return changes
    if "cabinet_orders" in view.tabs:
        _mirror_orders(master, view, config.orders.recent_days, today, changes)
    if "requests" in view.tabs:
        _mirror_requests(master, view, cabinet, today, config.orders.recent_days, names, changes)
    return changes


def _mirror_orders(
    master: LedgerView, view: LedgerView, days: int, today: date, changes: LedgerChanges
) -> None:
    invoices = master.tab(TAB)
    current = view.tab("cabinet_orders")
    held = set(invoices.copies) | set(current.copies)
    deal_names = {
        row.get("id"): str(row.get("name") or "")
        for row in (master.tab("deals") if "deals" in master.tabs else ())
    }
    wanted: set[str] = set()
    since = today - timedelta(days=days)
    for row_id, row in invoices.rows.items():
        if _decided_before(row, since):
            continue
        order = order_from_cells(row, today)
        if order is None or not _shown_to_accountant(order, row, today, days):
            continue
        wanted.add(row_id)
        if row_id in held:
            continue
        deal = row.get("deal_id")
        values = {key: row.get(key) for key in _ORDER_CELLS if key != "deal"}
        values["deal"] = deal_names.get(deal) or (str(deal) if deal else row.get("contract_no"))
        shared = {key: _norm(key, row.get(key)) for key in SHARED}
        mirror = _mirror_text(shared)
        have = current.get(row_id)
        if have is None:
            changes.appends.append(
                RowAppend(
                    "cabinet_orders", row_id, {"id": row_id} | values | shared | {"mirror": mirror}
                )
            )
            continue
        diff = {k: v for k, v in values.items() if _same(have.get(k)) != _same(v)}
        base = _base(have.get("mirror"))
        for key in SHARED:
            base_value = base[key] if base else None
            if shared[key] != base_value and shared[key] != _norm(key, have.get(key)):
                diff[key] = shared[key]
        if have.get("mirror") != mirror:
            diff["mirror"] = mirror
        if diff:
            changes.update("cabinet_orders", row_id, diff)
    for row_id in current.rows:
        if row_id not in wanted and row_id not in held:
            changes.removes.append(("cabinet_orders", row_id))


def _same(value: Any) -> Any:
    return None if value in ("", None) else value


def _mirror_requests(
    master: LedgerView,
    view: LedgerView,
    cabinet: Cabinet,
    today: date,
    recent_days: int,
    names: Mapping[int, str],
    changes: LedgerChanges,
) -> None:
    """A requester's own orders with their state (open, or decided in the last
    ``recent_days``), and empty form rows with IDs ready."""
    invoices = master.tab(TAB)
    current = view.tab("requests")
    mine_prefix = f"{OrderSource.REQUESTS.value}:{cabinet.name}:"
    people = {names[u] for u in cabinet.users if u in names}
    chats = set(cabinet.users)
    since = today - timedelta(days=recent_days)
    shown: set[str] = set()
    # Typed rows whose order exists get its ID written into them (below), not a second row.
    keyed = {
        form_id(cabinet, row, today)
        for row in current.unkeyed.values()
        if row.get("submit") and form_id(cabinet, row, today) in invoices.rows
    }
    for row_id, row in invoices.rows.items():
        if row_id in keyed:
            continue
        source = str(row.get("source") or "")
        chat = requester_chat(source)
        mine = (
            source.startswith(mine_prefix)
            or (chat is not None and chat in chats)
            or (
                not source.startswith(OrderSource.REQUESTS.value + ":")
                and str(row.get("requested_by") or "") in people
            )
        )
        if not mine or _decided_before(row, since):
            continue  # another person's, or decided long ago (the master keeps it)
        order = order_from_cells(row, today)
        state = str(row.get("state") or "") if order is None else _request_state(order, today)
        shown.add(row_id)
        have = current.get(row_id)
        if have is None:
            values = {key: row.get(key) for key in _REQUEST_CELLS}
            changes.appends.append(
                RowAppend(
                    "requests", row_id, {"id": row_id, **values, "submit": True, "state": state}
                )
            )
        elif have.get("state") != state:
            changes.update("requests", row_id, {"state": state})
    for row_id in current.rows:
        if row_id in invoices.rows and row_id not in shown and row_id not in current.copies:
            changes.removes.append(("requests", row_id))  # decided long ago, or not theirs
    # Rows not (yet) orders: say what is missing, and keep a few empty ones ready.
    taken = set(invoices.rows) | set(current.rows)
    blank = 0
    k = 0
    for sheet_row, row in sorted(current.unkeyed.items()):
        oid = form_id(cabinet, row, today)
        order_row = invoices.get(oid)
        order = order_from_cells(order_row, today) if order_row is not None else None
        if order is not None and row.get("submit"):
            state = _request_state(order, today)
        else:  # not submitted (or not valid): a ready row of its own, as the empty ones
            oid, k = _free_id(mine_prefix, today, taken, k)
            blank += 0 if row.get("submit") else 1
            amount = row.get("amount")
            state = (
                RowCode.E_AMOUNT.because("type the bill's amount, then tick Submit again")
                if row.get("submit") and not (isinstance(amount, Decimal) and amount > 0)
                else _OPEN_FORM
            )
        taken.add(oid)
        changes.keys.append(RowKey("requests", sheet_row, oid, {"state": state}))
    for row_id, row in current.rows.items():
        if invoices.get(row_id) is not None or row_id in current.copies:
            continue
        amount = row.get("amount")
        if not row.get("submit"):
            blank += 1
            state = _OPEN_FORM
        elif not isinstance(amount, Decimal) or amount <= 0:
            state = RowCode.E_AMOUNT.because("type the bill's amount, then tick Submit again")
        else:
            continue  # submitted this cycle: the next read shows it as an order
        if row.get("state") != state:
            changes.update("requests", row_id, {"state": state})
    while blank < BLANK_REQUEST_ROWS:
        oid, k = _free_id(mine_prefix, today, taken, k)
        taken.add(oid)
        changes.appends.append(
            RowAppend("requests", oid, {"id": oid, "submit": False, "state": _OPEN_FORM})
        )
        blank += 1


def _free_id(prefix: str, today: date, taken: set[str], k: int) -> tuple[OrderId, int]:
    """A ready row's Order ID no order and no row has; and the next ``k`` to try."""
    while True:
        oid = order_id(f"{prefix}{today.isoformat()}:{k}", today)
        k += 1
        if oid not in taken:
            return oid, k


def _request_state(order: Order, today: date) -> str:
    text = state_text(order)
    if order.overdue(today):
        text += " · " + RowCode.E_OVERDUE.value
    return text
