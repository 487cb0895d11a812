"""What the ledger is about: deals and their payments. Pure values, no I/O.

Money is ``Decimal`` with two places; dates are ``date``; instants are aware ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sheetledger.config import Method

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | int | str) -> Decimal:
    """``value`` as a two-place Decimal (half-up, as accountants round)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


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
    def id(self) -> str:
        return payment_id(self.deal_id, self.slot)


def payment_id(deal_id: int, slot: int) -> str:
    return f"{deal_id}:{slot}"
