"""The ledger's rows as three frames in whole kopecks: deals, receipts and costs. Pure.

pandas sums integers exactly, so money enters as kopecks (``Decimal`` × 100) and
leaves as ``Decimal`` again (``figures.rub``); no float ever holds an amount.

Costs come from two sources with one shape (``COST_COLUMNS``): the Expenses tab and
the paid payment orders of the Invoices tab (``order_costs``). A cost linked to a deal
is a deal cost; any other is an operating cost, by its category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pandas as pd

from sheetledger.model import WON

DEAL_COLUMNS = (
    "deal_id",
    "name",
    "contract_no",
    "manager",
    "product",
    "salon",
    "city",
    "pipeline",
    "status",
    "won",
    "contract_date",
    "budget",
)
RECEIPT_COLUMNS = ("payment_id", "deal_id", "day", "amount")
COST_COLUMNS = ("cost_id", "source", "day", "amount", "category", "deal_id", "salon", "city")


class RevenueDay(StrEnum):
    """Which day a receipt counts on: when it was confirmed, or the payment's own date."""

    CONFIRMED = "confirmed"
    PAYMENT = "payment"


def kopecks(amount: Decimal | int | None) -> int:
    """``amount`` in whole kopecks (the ledger's money has two places)."""
    if amount is None:
        return 0
    return int((Decimal(amount) * 100).to_integral_value())


def received_amount(row: Mapping[str, Any]) -> Decimal | None:
    """What the ledger says arrived for a payment row: all of it when ticked (the received
    amount, or the expected one when that is empty), else a partial receipt, else nothing.

    The same rule as the Deals tab's confirmed total, so the two always agree.
    """
    received = row.get("received")
    if row.get("confirmed"):
        return received if received is not None else row.get("amount")
    return received if received is not None and received > 0 else None


@dataclass(frozen=True)
class ReportInputs:
    """Everything the reports are computed from; each frame has its ``*_COLUMNS``."""

    deals: pd.DataFrame
    receipts: pd.DataFrame
    costs: pd.DataFrame


def deals_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    records = [
        (
            int(row["id"]),
            _text(row.get("name")),
            _text(row.get("contract_no")),
            _text(row.get("manager")),
            _text(row.get("product")),
            _text(row.get("salon")),
            _text(row.get("city")),
            _text(row.get("pipeline")),
            _text(row.get("status")),
            row.get("status_id") == WON,
            row.get("contract_date"),
            kopecks(row.get("budget")),
        )
        for row in rows
        if row.get("id") is not None
    ]
    return _frame(records, DEAL_COLUMNS, {"deal_id": "int64", "budget": "int64", "won": "bool"})


def receipts_frame(rows: Iterable[Mapping[str, Any]], day: RevenueDay) -> pd.DataFrame:
    """One line per payment that brought money. A receipt with no day (neither a
    confirmation date nor a payment date) keeps ``day`` None: it counts for its deal, and
    in no month."""
    records = []
    for row in rows:
        amount = received_amount(row)
        if amount is None or amount == 0 or row.get("deal_id") is None:
            continue
        first, second = (
            ("confirmed_at", "date") if day is RevenueDay.CONFIRMED else ("date", "confirmed_at")
        )
        when = row.get(first) or row.get(second)
        records.append((str(row["id"]), int(row["deal_id"]), when, kopecks(amount)))
    return _frame(records, RECEIPT_COLUMNS, {"deal_id": "int64", "amount": "int64"})


def expense_costs(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The Expenses tab's rows that count: not void, with an amount."""
    return [
        (
            f"expense:{row['id']}",
            "expense",
            row.get("date"),
            kopecks(row["amount"]),
            _text(row.get("category")),
            None if row.get("deal_id") is None else int(row["deal_id"]),
            _text(row.get("salon")),
            _text(row.get("city")),
        )
        for row in rows
        if not row.get("void") and row.get("amount") is not None and row.get("id") is not None
    ]


def order_costs(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The Invoices tab's paid orders as costs, on the day paid, at the amount paid.

    A rejected or unpaid order costs nothing; nor does a row with both Paid and Reject
    ticked (the person's mistake, held back by the orders' cycle too). «Paid amount»
    empty means the order's amount, as for the orders' cycle.
    """
    found = []
    for row in rows:
        if row.get("paid") is not True or row.get("reject") is True or row.get("id") is None:
            continue
        paid, amount = row.get("paid_amount"), row.get("amount")
        money = paid if isinstance(paid, Decimal) else amount
        if not isinstance(money, Decimal):
            continue
        found.append(
            (
                f"order:{row['id']}",
                "order",
                row.get("paid_on"),
                kopecks(money),
                _text(row.get("category")),
                _deal(row.get("deal_id")),
                _text(row.get("salon")),
                _text(row.get("city")),
            )
        )
    return found


def _deal(value: Any) -> int | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError, ArithmeticError):
        return None


def gather(
    deals: Iterable[Mapping[str, Any]],
    payments: Iterable[Mapping[str, Any]],
    expenses: Iterable[Mapping[str, Any]],
    orders: Iterable[Mapping[str, Any]] = (),
    *,
    day: RevenueDay = RevenueDay.CONFIRMED,
) -> ReportInputs:
    """The report inputs from the ledger's tab rows (as ``LedgerSheets.read`` parses them)."""
    costs = _frame(
        expense_costs(expenses) + order_costs(orders),
        COST_COLUMNS,
        {"amount": "int64", "deal_id": "Int64"},
    )
    return ReportInputs(deals_frame(deals), receipts_frame(payments, day), costs)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _frame(
    records: list[tuple[Any, ...]], columns: tuple[str, ...], dtypes: Mapping[str, str]
) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(columns))
    return frame.astype(dict(dtypes))


def month_of(day: date | None) -> str:
    return "" if day is None else f"{day.year:04d}-{day.month:02d}"
