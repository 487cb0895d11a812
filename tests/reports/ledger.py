"""A small ledger written out by hand: two deals, four payments, six expenses.

The figures the tests expect were computed by hand from these rows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

CATEGORIES = ("Materials", "Advertising", "Rent")
MARKETING = ("Advertising",)

DEALS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Kitchen Ivanov",
        "contract_no": "K-1",
        "manager": "Anna",
        "product": "Kitchen",
        "salon": "Lenina",
        "city": "Moscow",
        "pipeline": "Sales",
        "status": "Won",
        "status_id": 142,
        "contract_date": date(2026, 1, 10),
        "budget": D("100000.00"),
    },
    {
        "id": 2,
        "name": "Wardrobe Petrov",
        "contract_no": "K-2",
        "manager": "Boris",
        "product": "Wardrobe",
        "salon": "Mira",
        "city": "Kazan",
        "pipeline": "Sales",
        "status": "Measuring",
        "status_id": 5,
        "contract_date": date(2026, 2, 3),
        "budget": D("50000.00"),
    },
]


def _payment(pid: str, deal: int, amount: str, **rest: Any) -> dict[str, Any]:
    row = {"id": pid, "deal_id": deal, "amount": D(amount), "confirmed": False, "received": None}
    row.update(rest)
    row.setdefault("confirmed_at", None)
    return row


PAYMENTS = [
    # ticked, the expected amount arrived: 40,000.00 on 11 Jan (paid 10 Jan)
    _payment(
        "1:1", 1, "40000", confirmed=True, date=date(2026, 1, 10), confirmed_at=date(2026, 1, 11)
    ),
    # ticked with a smaller received amount: 59,500.50 on 2 Feb (paid 31 Jan)
    _payment(
        "1:2",
        1,
        "60000",
        confirmed=True,
        received=D("59500.50"),
        date=date(2026, 1, 31),
        confirmed_at=date(2026, 2, 2),
    ),
    # not ticked, a partial receipt of 5,000.00: no confirmation day, so its payment date
    _payment("2:1", 2, "20000", received=D("5000.00"), date=date(2026, 2, 3)),
    # nothing arrived yet
    _payment("2:2", 2, "30000", date=date(2026, 3, 1)),
]


def _expense(eid: str, day: date, amount: str, category: str, **rest: Any) -> dict[str, Any]:
    row = {"id": eid, "date": day, "amount": D(amount), "category": category, "deal_id": None}
    return row | rest


EXPENSES = [
    _expense("e1", date(2026, 1, 15), "10000.00", "Materials", deal_id=1),
    _expense("e2", date(2026, 1, 20), "3000.00", "Advertising"),
    _expense("e3", date(2026, 2, 5), "2000.25", "Rent", salon="Lenina"),
    _expense("e4", date(2026, 2, 6), "999.99", "Advertising", deal_id=2),
    _expense("e5", date(2026, 2, 7), "500.00", "Rent", void=True),
    _expense("e6", date(2026, 2, 8), "100.00", "Snacks"),
]
