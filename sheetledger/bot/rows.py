"""The bot's rows of the ledger, typed: the Expenses tab, and what it needs of Deals.

One frozen dataclass per tab, one field per column declared in ``ledger/tabs.py``
(same keys, same order; a test holds them together), in the style of beangulp's
typed importers: ``from_cells`` takes the cells as the ledger adapter read them
(column key -> value already converted by the column's kind, ``None`` when
empty) and checks their types, so a person's text typed into Amount is an
unusable row, not a string that breaks a sum later; ``to_cells`` gives the cells
to write. Outside ``from_cells`` nothing in ``bot/`` reads a row by a string key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sheetledger.ledger.cells import int_of, text_of
from sheetledger.ledger.tabs import DEALS

__all__ = ["Cells", "DealContract", "ExpenseRow"]

Cells = Mapping[str, object]  # column key -> typed cell value, as ``LedgerSheets.read`` gives


def _optional_text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class ExpenseRow:
    """A row of the Expenses tab (``tabs.EXPENSES``); ``date``/``amount`` None: unusable."""

    id: str
    date: date | None
    amount: Decimal | None
    category: str
    comment: str
    contract_no: str | None
    deal_id: int | None
    entered_by: str
    source: str
    recorded_at: datetime | None
    void: bool
    salon: str = ""  # the salon and city it is tagged with (bot/places.py), "" untagged
    city: str = ""

    @classmethod
    def from_cells(cls, cells: Cells) -> ExpenseRow:
        day, amount, recorded = cells.get("date"), cells.get("amount"), cells.get("recorded_at")
        return cls(
            id=text_of(cells.get("id")),
            # A datetime is a date too: the column is DATE, so only a plain date is one.
            date=day if isinstance(day, date) and not isinstance(day, datetime) else None,
            amount=amount if isinstance(amount, Decimal) else None,
            category=text_of(cells.get("category")),
            comment=text_of(cells.get("comment")),
            contract_no=_optional_text(cells.get("contract_no")),
            deal_id=int_of(cells.get("deal_id")),
            entered_by=text_of(cells.get("entered_by")),
            source=text_of(cells.get("source")),
            recorded_at=recorded if isinstance(recorded, datetime) else None,
            void=cells.get("void") is True,
            salon=text_of(cells.get("salon")),
            city=text_of(cells.get("city")),
        )

    def to_cells(self) -> dict[str, object]:
        """Column key -> value, every declared column, for a ledger write."""
        return {
            "id": self.id,
            "date": self.date,
            "amount": self.amount,
            "category": self.category,
            "comment": self.comment,
            "contract_no": self.contract_no,
            "deal_id": self.deal_id,
            "entered_by": self.entered_by,
            "source": self.source,
            "recorded_at": self.recorded_at,
            "void": self.void,
            "salon": self.salon,
            "city": self.city,
        }

    @property
    def usable(self) -> bool:
        return self.date is not None and self.amount is not None


@dataclass(frozen=True)
class DealContract:
    """What the bot reads of a Deals row (its leading columns, ``tabs.DEALS``): the deal
    and its contract number, to link ``#1045`` to a deal."""

    id: int | None
    contract_no: str | None
    name: str = ""

    # The columns read: from the ID up to the contract number (a narrow read of Deals).
    WIDTH = DEALS.index["contract_no"] + 1

    @classmethod
    def from_cells(cls, cells: Cells) -> DealContract:
        return cls(
            int_of(cells.get("id")),
            _optional_text(cells.get("contract_no")),
            text_of(cells.get("name")),
        )
