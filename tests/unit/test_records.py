"""The sync's typed rows: one field per declared column, frozen, cells in and out."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import date
from decimal import Decimal

import pytest

from sheetledger.ledger.records import (
    CabinetPaymentRow,
    CashRow,
    DealRow,
    HandoverRow,
    PaymentRow,
    row_type,
)
from sheetledger.ledger.tabs import (
    CABINET_PAYMENTS,
    CASH,
    DEALS,
    EXPENSES,
    HANDOVER,
    PAYMENTS,
)
from sheetledger.ledger.view import LedgerChanges, LedgerView, TabRows, apply_changes

ROW = PaymentRow.from_cells(
    {
        "id": "1001:1",
        "deal_id": 1001,
        "method": "cash",
        "amount": Decimal("30000.00"),
        "date": date(2026, 11, 27),
        "confirmed": True,
        "state": "pushed #1",
    }
)


@pytest.mark.parametrize(
    ("cls", "schema"),
    [
        (DealRow, DEALS),
        (PaymentRow, PAYMENTS),
        (CashRow, CASH),
        (CabinetPaymentRow, CABINET_PAYMENTS),
        (HandoverRow, HANDOVER),
    ],
)
def test_one_field_per_declared_column_in_order(cls: type, schema: object) -> None:
    assert [f.name for f in fields(cls)] == [c.key for c in schema.columns]  # type: ignore[attr-defined]
    assert row_type(schema) is cls  # type: ignore[arg-type]


def test_the_other_tabs_keep_plain_rows() -> None:
    assert row_type(EXPENSES) is None


def test_cells_round_trip_and_the_row_is_frozen() -> None:
    assert PaymentRow.from_cells(ROW.to_cells()) == ROW
    assert list(ROW.to_cells()) == [c.key for c in PAYMENTS.columns]
    assert ROW.received is None and ROW.comment is None  # a missing column is an empty cell
    with pytest.raises(FrozenInstanceError):
        ROW.amount = Decimal(0)  # type: ignore[misc]
    with pytest.raises(KeyError, match="no column"):
        PaymentRow.from_cells({"id": "1:1", "amout": Decimal(1)})


def test_a_changed_copy_leaves_the_row_as_it_was() -> None:
    ticked = ROW | {"confirmed": False, "received": Decimal("100.00")}
    assert (ticked.confirmed, ticked.received) == (False, Decimal("100.00"))
    assert (ROW.confirmed, ROW.received) == (True, None)
    assert ticked.replace({}) is ticked
    with pytest.raises(KeyError, match="no column"):
        ROW.replace({"nope": 1})


def test_a_row_reads_as_a_mapping_by_column_key() -> None:
    assert ROW["amount"] == ROW.get("amount") == Decimal("30000.00")
    assert ROW.get("nope", "-") == "-" and "nope" not in ROW and "state" in ROW
    assert dict(ROW) == ROW.to_cells() == {**ROW}
    assert ROW.to_cells() == ROW  # equal to the same cells as a dict
    with pytest.raises(KeyError):
        ROW["to_cells"]


def test_views_hold_typed_rows_whatever_they_are_given() -> None:
    tab = TabRows(PAYMENTS, {"1001:1": ROW.to_cells()}, copies={"1001:1": [ROW.to_cells()]})
    assert type(tab.rows["1001:1"]) is PaymentRow and type(tab.copies["1001:1"][0]) is PaymentRow
    view = LedgerView({"payments": tab})
    changes = LedgerChanges()
    changes.update("payments", "1001:1", {"comment": "ok"})
    after = apply_changes(view, changes)
    assert after.tab("payments").rows["1001:1"].comment == "ok"
    assert view.tab("payments").rows["1001:1"].comment is None  # the view given is unchanged
    assert after.tab("payments").typed(PaymentRow) is after.tab("payments").rows
    with pytest.raises(AssertionError):
        after.tab("payments").typed(DealRow)
