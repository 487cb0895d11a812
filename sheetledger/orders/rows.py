"""An order as the cells of an Invoices row, and back. Pure: no I/O.

The Invoices tab (``ledger/tabs.py``, ``INVOICES``) is where orders live; every door and
every planner turns its rows into ``Order`` values here and nowhere else, so a person's
text typed into Amount makes an unusable row (``None``), never a string that breaks a sum.
Cells are as ``LedgerSheets.read`` gives them: column key -> value already converted by
the column's kind, ``None`` when empty.

Which state a row is in follows its ticks: Paid ticked is paid (on «Paid on», or the day
given when it is empty), Reject ticked is rejected, neither is new. Both ticked at once is
the person's mistake; ``ticks_conflict`` says so and the planners hold such a row back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from sheetledger.ledger.cells import int_of, text_of
from sheetledger.orders.model import Order, OrderDraft, OrderId, OrderState, Payment

__all__ = [
    "Cells",
    "draft_cells",
    "due_within",
    "order_cells",
    "order_from_cells",
    "orders_of",
    "ticks_conflict",
]

Cells = Mapping[str, object]

# The chat a bot order's requester writes from: tg:<chat>:<message>.
_BOT_PREFIX = "tg:"


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def requester_chat(source: str) -> int | None:
    """The Telegram chat of a bot order (``tg:<chat>:<message>``), else None."""
    if not source.startswith(_BOT_PREFIX):
        return None
    parts = source.split(":")
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return None


def ticks_conflict(cells: Cells) -> bool:
    return cells.get("paid") is True and cells.get("reject") is True


def order_from_cells(cells: Cells, today: date) -> Order | None:
    """The order of an Invoices row; None when it has no ID or no usable amount."""
    oid, amount = text_of(cells.get("id")), cells.get("amount")
    if not oid or not isinstance(amount, Decimal):
        return None
    created = cells.get("created")
    if not isinstance(created, datetime):
        day = _day(created) or today
        created = datetime(day.year, day.month, day.day)
    source = text_of(cells.get("source"))
    draft = OrderDraft(
        source=source,
        requested_by=text_of(cells.get("requested_by")),
        amount=amount,
        supplier=text_of(cells.get("supplier")),
        purpose=text_of(cells.get("purpose")),
        category=text_of(cells.get("category")),
        due=_day(cells.get("due")),
        bill_no=text_of(cells.get("bill_no")),
        contract_no=text_of(cells.get("contract_no")),
        deal_id=int_of(cells.get("deal_id")),
        salon=text_of(cells.get("salon")),
        city=text_of(cells.get("city")),
        bill_link=text_of(cells.get("bill_link")),
        requester_chat=requester_chat(source),
    )
    # Built at once, not through ``Order.paid``: a cycle reads every order of the tab.
    if cells.get("paid") is True:
        paid_amount = cells.get("paid_amount")
        payment = Payment(
            on=_day(cells.get("paid_on")) or today,
            amount=paid_amount if isinstance(paid_amount, Decimal) else amount,
            paid_from=text_of(cells.get("paid_from")),
            ref=text_of(cells.get("payment_ref")),
            by=text_of(cells.get("paid_by")),
        )
        return Order(OrderId(oid), created, draft, OrderState.PAID, payment)
    if cells.get("reject") is True:
        return Order(
            OrderId(oid), created, draft, OrderState.REJECTED, None, text_of(cells.get("reason"))
        )
    return Order(OrderId(oid), created, draft)


def draft_cells(oid: OrderId, draft: OrderDraft, created: datetime) -> dict[str, object]:
    """A new Invoices row for ``draft`` (the payment's cells empty, the ticks unticked)."""
    return {
        "id": oid,
        "created": created,
        "requested_by": draft.requested_by,
        "supplier": draft.supplier,
        "purpose": draft.purpose,
        "category": draft.category,
        "amount": draft.amount,
        "due": draft.due,
        "bill_no": draft.bill_no,
        "contract_no": draft.contract_no,
        "deal_id": draft.deal_id,
        "salon": draft.salon,
        "city": draft.city,
        "bill_link": draft.bill_link,
        "paid": False,
        "reject": False,
        "source": draft.source,
        "state": OrderState.NEW.value,
    }


def order_cells(order: Order) -> dict[str, object]:
    """The cells of the payment or the rejection of ``order`` (what Paid / Reject set)."""
    payment = order.payment
    if order.state is OrderState.PAID and payment is not None:
        return {
            "paid": True,
            "paid_on": payment.on,
            "paid_amount": payment.amount,
            "paid_from": payment.paid_from,
            "payment_ref": payment.ref,
            "paid_by": payment.by,
            "reject": False,
        }
    if order.state is OrderState.REJECTED:
        return {"paid": False, "reject": True, "reason": order.reason}
    return {"paid": False, "reject": False}


def orders_of(rows: Iterable[Cells], today: date) -> list[Order]:
    """The usable orders of Invoices rows (as ``LedgerSheets.read`` gives them), in sheet order.

    A row with both ticks is the person's mistake and is neither paid nor rejected here.
    """
    found = []
    for cells in rows:
        if ticks_conflict(cells):
            cells = {**cells, "paid": False, "reject": False}
        order = order_from_cells(cells, today)
        if order is not None:
            found.append(order)
    return found


def due_within(orders: Iterable[Order], today: date, days: int) -> list[Order]:
    """Open orders to pay by ``today + days`` (the overdue ones too), the earliest due first."""
    last = today + timedelta(days=days)
    chosen = [
        o
        for o in orders
        if o.state is OrderState.NEW and o.draft.due is not None and o.draft.due <= last
    ]
    return sorted(chosen, key=lambda o: (o.draft.due or last, o.created, o.id))
