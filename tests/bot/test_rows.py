"""The bot's typed rows: one field per declared column, cells checked on the way in."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sheetledger.bot.expenses import Expense
from sheetledger.bot.rows import DealContract, ExpenseRow
from sheetledger.ledger.tabs import DEALS, EXPENSES

ROW = ExpenseRow(
    id="tg:1:2:0",
    date=date(2026, 11, 27),
    amount=Decimal("1200.50"),
    category="Транспорт",
    comment="такси",
    contract_no="1045",
    deal_id=31_000_777,
    entered_by="Ольга",
    source="telegram",
    recorded_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
    void=False,
)


def test_the_expense_row_has_one_field_per_declared_column_in_order() -> None:
    assert [f.name for f in fields(ExpenseRow)] == [c.key for c in EXPENSES.columns]
    assert list(ROW.to_cells()) == [c.key for c in EXPENSES.columns]


def test_cells_round_trip_and_the_row_is_frozen() -> None:
    assert ExpenseRow.from_cells(ROW.to_cells()) == ROW
    with pytest.raises(FrozenInstanceError):
        ROW.amount = Decimal(0)  # type: ignore[misc]


def test_text_typed_into_amount_or_date_makes_an_unusable_row_not_a_string() -> None:
    cells = ROW.to_cells() | {"amount": "тысяча", "date": "вчера", "void": "да", "deal_id": "x"}
    row = ExpenseRow.from_cells(cells)
    assert row.amount is None and row.date is None and not row.usable
    assert row.void is False and row.deal_id is None
    assert Expense.from_row(row) is None


def test_empty_cells_read_as_empty() -> None:
    row = ExpenseRow.from_cells({"id": "tg:1:2:0"})
    assert (row.category, row.comment, row.contract_no, row.recorded_at) == ("", "", None, None)


def test_an_expense_goes_to_its_row_and_back() -> None:
    expense = Expense.from_row(ROW)
    assert expense is not None and expense.to_row() == ROW


def test_a_deal_contract_is_read_from_the_leading_deals_columns() -> None:
    assert DEALS.columns[DealContract.WIDTH - 1].key == "contract_no"
    deal = DealContract.from_cells({"id": 31_000_777, "name": "x", "contract_no": 1045})
    assert deal == DealContract(31_000_777, "1045", "x")
    assert DealContract.from_cells({"id": True, "contract_no": ""}) == DealContract(None, None)
