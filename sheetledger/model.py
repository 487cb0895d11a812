"""What the ledger is about: deals and their payments. Pure values, no I/O.

Money is ``Decimal`` with two places; dates are ``date``; instants are aware ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import NewType

from sheetledger.config import Method

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | int | str) -> Decimal:
    """``value`` as a two-place Decimal (half-up, as accountants round)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


PaymentId = NewType("PaymentId", str)  # ``<deal id>:<slot number>``, a Payments row's ID


class RowCode(StrEnum):
    """Why a row is flagged: the code that starts the problem in its Sync state or Flag cell.

    Codes are stable (people filter on them); the reason after the code is for people.
    """

    E_AMOUNT = "E_AMOUNT"  # no amount, not a number, or not positive
    E_METHOD = "E_METHOD"  # no payment type, or one the config does not map
    E_CHANGED = "E_CHANGED"  # amoCRM changed an amount after it was confirmed
    E_GONE = "E_GONE"  # the payment slot was emptied in amoCRM
    E_DEAL = "E_DEAL"  # a payment row without a deal id
    E_OVERDUE = "E_OVERDUE"  # a payment order unpaid after its due day
    E_TICKS = "E_TICKS"  # a payment order ticked both Paid and Reject

    def because(self, reason: str) -> str:
        """The problem text: ``E_METHOD unknown payment type 'Бартер'``."""
        return f"{self.value} {reason}"


WON, LOST = 142, 143  # amoCRM's closed statuses, the same ids in every pipeline


@dataclass(frozen=True)
class Deal:
    """An amoCRM lead as the ledger sees it."""

    id: int
    name: str
    pipeline_id: int
    status_id: int
    manager_id: int | None
    budget: Decimal
    updated_at: int  # amoCRM's unix seconds
    contract_no: str = ""
    contract_date: date | None = None
    product: str = ""
    salon: str = ""
    city: str = ""

    @property
    def lost(self) -> bool:
        return self.status_id == LOST

    @property
    def won(self) -> bool:
        return self.status_id == WON


@dataclass(frozen=True)
class Payment:
    """One filled payment slot of a deal. ``id`` is ``<deal id>:<slot number>``."""

    deal_id: int
    slot: int  # 1-based, in the order of ``amocrm.payment_slots``
    kind: str  # the slot's name (Предоплата, Остаток...)
    method: Method | None  # None when the CRM option is unknown (then ``problem`` says so)
    amount: Decimal | None  # None when the CRM value is not a number
    date: date | None
    problem: str = ""  # a row error code and reason, e.g. "E_METHOD unknown payment type 'X'"

    @property
    def id(self) -> PaymentId:
        return payment_id(self.deal_id, self.slot)


def payment_id(deal_id: int, slot: int) -> PaymentId:
    return PaymentId(f"{deal_id}:{slot}")
