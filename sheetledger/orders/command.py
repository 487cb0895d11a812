"""``sheetledger orders [--overdue] [--json]``: the payment orders as the Invoices tab has them.

One read of the master's Invoices tab; nothing is written. The open orders first (by due
day), then the paid and rejected ones of the last ``orders.recent_days``; ``--overdue``
keeps only the orders unpaid after their due day (``E_OVERDUE``). ``--json`` prints a list
of objects with amounts as strings, for scripts.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetledger.config import Config
from sheetledger.connect import build_google, master_ledger, open_state, register_config_secrets
from sheetledger.model import RowCode
from sheetledger.money import rub
from sheetledger.orders.book import OrderBook
from sheetledger.orders.model import Order, OrderState, state_text

__all__ = ["list_orders", "order_record", "select_orders"]


def select_orders(
    orders: list[Order], today: date, *, overdue: bool, recent_days: int
) -> list[Order]:
    """The orders to list, open ones first by due day. Pure."""
    if overdue:
        chosen = [o for o in orders if o.overdue(today)]
    else:
        since = today - timedelta(days=recent_days)
        chosen = [
            o
            for o in orders
            if o.state is OrderState.NEW
            or (o.payment is not None and o.payment.on >= since)
            or (o.state is OrderState.REJECTED and o.created.date() >= since)
        ]
    return sorted(
        chosen,
        key=lambda o: (o.state is not OrderState.NEW, o.draft.due or date.max, o.created),
    )


def order_record(order: Order, today: date) -> dict[str, Any]:
    """One order as JSON: amounts as strings, days as ISO dates."""
    draft, payment = order.draft, order.payment
    return {
        "id": order.id,
        "created": order.created.isoformat(),
        "requested_by": draft.requested_by,
        "supplier": draft.supplier,
        "purpose": draft.purpose,
        "category": draft.category,
        "amount": format(order.amount, "f"),
        "due": draft.due.isoformat() if draft.due else None,
        "deal_id": draft.deal_id,
        "contract_no": draft.contract_no or None,
        "bill_link": draft.bill_link or None,
        "state": order.state.value,
        "overdue": order.overdue(today),
        "paid_on": payment.on.isoformat() if payment else None,
        "paid_amount": format(payment.amount, "f") if payment else None,
        "paid_from": payment.paid_from if payment else None,
        "reason": order.reason or None,
    }


def list_orders(config: Config, console: Console, *, overdue: bool, as_json: bool) -> int:
    register_config_secrets(config)
    today = datetime.now(config.tz).date()
    store = open_state(config)
    try:
        book = OrderBook(master_ledger(config, build_google(config)), store, today=lambda: today)
        orders = book.orders()
    finally:
        store.close()
    chosen = select_orders(orders, today, overdue=overdue, recent_days=config.orders.recent_days)
    if as_json:
        console.out(
            json.dumps([order_record(o, today) for o in chosen], ensure_ascii=False, indent=2)
        )
        return 0
    title = "Overdue payment orders" if overdue else "Payment orders"
    table = Table(title=f"{title} ({today:%d.%m.%Y})")
    for column in ("ID", "requested by", "supplier", "purpose", "amount", "due", "deal", "state"):
        table.add_column(column, overflow="fold")
    for order in chosen:
        state = state_text(order)
        if order.overdue(today):
            state = f"{RowCode.E_OVERDUE.value} · {state}"
        draft = order.draft
        cells = (
            order.id,
            draft.requested_by,
            draft.supplier,
            draft.purpose,
            rub(order.amount, kopeks=True),
            f"{draft.due:%d.%m.%Y}" if draft.due else "",
            str(draft.deal_id or draft.contract_no or ""),
            state,
        )
        table.add_row(*(Text(cell) for cell in cells))  # people's text, never markup
    if chosen:
        console.print(table)
    else:
        console.print("No overdue orders." if overdue else "No orders to show.")
    return 0
