"""The accountant assigns bank lines in her cabinet: ticks become confirmations, once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sheetledger.bank.assign import plan_assignments
from sheetledger.config import Cabinet, Method
from sheetledger.ledger.tabs import CABINET_BANK, PAYMENTS
from sheetledger.sync.ledger_view import LedgerView, TabRows, apply_changes

D = Decimal
DAY = date(2026, 12, 1)
CABINET = Cabinet(
    name="accountant", title="Бухгалтер", spreadsheet_id="x", methods=(Method.BANK,), bank=True
)


def _tab(schema: Any, rows: list[dict[str, Any]]) -> TabRows:
    tab = TabRows(schema)
    for row in rows:
        tab.rows[str(row["id"])] = {c.key: None for c in schema.columns} | row
    return tab


def master(*payments: dict[str, Any]) -> LedgerView:
    return LedgerView({"payments": _tab(PAYMENTS, list(payments))})


def cabinet(*rows: dict[str, Any]) -> LedgerView:
    return LedgerView({"cabinet_bank": _tab(CABINET_BANK, list(rows))})


def pay(pid: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "deal_id": int(pid.split(":")[0]),
        "amount": D(amount),
        "method": "bank",
    } | extra


def line(line_id: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": line_id,
        "date": DAY,
        "direction": "in",
        "amount": D(amount),
        "state": "suggested",
        "candidates": "7:1, 8:1",
    } | extra


def test_one_line_to_one_payment() -> None:
    plan = plan_assignments(
        master(pay("7:1", "30000"), pay("8:1", "30000")),
        cabinet(line("L1", "30000", assign=True, assign_to="8:1")),
        CABINET,
    )
    (update,) = plan.master.updates
    assert update.row_id == "8:1"
    assert update.values["confirmed"] is True
    assert update.values["received"] == D("30000")
    assert update.values["bank_ref"] == "L1"
    assert "разнесено в кабинете «Бухгалтер»" in update.values["confirmed_by"]
    (done,) = plan.cabinet.updates
    assert (done.values["state"], done.values["matched_to"]) == ("assigned", "8:1")
    assert plan.confirmed == ["8:1"] and not plan.problems


def test_one_line_to_several_payments_in_the_order_typed() -> None:
    plan = plan_assignments(
        master(pay("7:1", "10000"), pay("7:2", "25000")),
        cabinet(line("L1", "30000", assign=True, assign_to="7:1; 7:2")),
        CABINET,
    )
    values = {u.row_id: u.values for u in plan.master.updates}
    assert values["7:1"]["received"] == D("10000") and values["7:1"]["confirmed"] is True
    assert values["7:2"]["received"] == D("20000") and "confirmed" not in values["7:2"]


def test_several_lines_pay_one_payment() -> None:
    payments = master(pay("7:1", "30000"))
    first = plan_assignments(
        payments, cabinet(line("L1", "10000", assign=True, assign_to="7:1")), CABINET
    )
    after = apply_changes(payments, first.master)
    second = plan_assignments(
        after, cabinet(line("L2", "20000", assign=True, assign_to="7:1")), CABINET
    )
    (update,) = second.master.updates
    assert update.values["received"] == D("30000")
    assert update.values["confirmed"] is True
    assert update.values["bank_ref"] == "L1; L2"


def test_a_tick_without_ids_takes_the_only_candidate() -> None:
    plan = plan_assignments(
        master(pay("7:1", "30000")),
        cabinet(line("L1", "30000", assign=True, candidates="7:1")),
        CABINET,
    )
    assert plan.confirmed == ["7:1"]


def test_a_tick_standing_after_a_crash_confirms_nothing_twice() -> None:
    payments = master(pay("7:1", "30000"))
    rows = cabinet(line("L1", "30000", assign=True, assign_to="7:1"))
    first = plan_assignments(payments, rows, CABINET)
    # The master was written, the cabinet was not: the tick is still there.
    again = plan_assignments(apply_changes(payments, first.master), rows, CABINET)
    assert not again.master.updates
    assert again.cabinet.updates[0].values["state"] == "assigned"


def test_mistakes_are_said_in_the_row_and_change_nothing() -> None:
    plan = plan_assignments(
        master(pay("7:1", "30000", confirmed=True, bank_ref="other")),
        cabinet(
            line("L1", "30000", assign=True, assign_to="9:9"),
            line("L2", "30000", assign=True, assign_to="7:1"),
            line("L3", "30000", assign=True, assign_to="", candidates="7:1, 8:1"),
        ),
        CABINET,
    )
    assert not plan.master.updates
    reasons = {u.row_id: u.values["reason"] for u in plan.cabinet.updates}
    assert "no such payment: 9:9" in reasons["L1"]
    assert "already confirmed: 7:1" in reasons["L2"]
    assert "type the payment ID" in reasons["L3"]
    assert all(u.values["assign"] is False for u in plan.cabinet.updates)
    assert len(plan.problems) == 3


def test_untouched_and_done_rows_are_left_alone() -> None:
    plan = plan_assignments(
        master(pay("7:1", "30000")),
        cabinet(
            line("L1", "30000", assign_to="7:1"), line("L2", "5", assign=True, state="assigned")
        ),
        CABINET,
    )
    assert not plan.master and not plan.cabinet
