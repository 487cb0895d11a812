"""Cash on hand: per manager, the cash payments nobody has confirmed yet. Pure.

Cash is "on the manager" from the payment's date until the cashier confirms it
(docs/architecture.md, "The cycle"). Cancelled payments (lost deals) are not cash anyone
holds, and neither is a payment dated after today (a remainder due at delivery: the
customer has not paid it yet). A payment with no date counts as held: nobody can say it is not.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sheetledger.config import Method
from sheetledger.ledger.records import CashRow, PaymentRow
from sheetledger.ledger.view import LedgerView
from sheetledger.model import ZERO, money
from sheetledger.sync.state import RowState


def outstanding(row: PaymentRow) -> Decimal:
    """Cash of this payment still on the manager: the amount less any partial receipt."""
    received = row.received or ZERO
    return money(max(ZERO, (row.amount or ZERO) - received))


def unconfirmed_cash(view: LedgerView, today: date | None = None) -> list[PaymentRow]:
    """The unconfirmed cash payment rows with cash still outstanding, oldest first.

    With ``today``, payments dated later are left out: that cash is not on anyone yet.
    """
    cash = Method.CASH.value
    rows = []
    for row in view.tab("payments").typed(PaymentRow).values():
        # Cheapest tests first: 30,000 rows, a third of them cash, most of those confirmed.
        if row.method != cash or row.confirmed or row.amount is None:
            continue
        day = row.date
        if today is not None and day is not None and day > today:
            continue
        if RowState.parse(row.state).status == "cancelled" or outstanding(row) <= 0:
            continue
        rows.append(row)
    return sorted(rows, key=lambda r: (r.date is None, r.date, str(r.id)))


def plan_cash(view: LedgerView, today: date | None = None) -> list[CashRow]:
    """The Cash on hand rows: one per manager holding cash, most cash first."""
    held: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"amount": ZERO, "count": 0, "oldest": None, "payment_ids": []}
    )
    for row in unconfirmed_cash(view, today):
        manager = str(row.manager or "(no manager)")
        entry = held[manager]
        entry["amount"] += outstanding(row)
        entry["count"] += 1
        if row.date is not None and (entry["oldest"] is None or row.date < entry["oldest"]):
            entry["oldest"] = row.date
        entry["payment_ids"].append(str(row.id))
    rows = [
        CashRow(
            manager=manager,
            amount=money(entry["amount"]),
            count=entry["count"],
            oldest=entry["oldest"],
            payment_ids=", ".join(entry["payment_ids"]),
        )
        for manager, entry in held.items()
    ]
    return sorted(rows, key=lambda r: (-(r.amount or ZERO), str(r.manager)))
