"""Outgoing bank money matched to payment orders: the pure matcher and the import's plan."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sheetledger.bank.order_match import (
    PAID_ORDER,
    TO_PAY,
    OrderToMatch,
    match_outgoing,
    supplier_key,
)
from sheetledger.bank.plan import plan_import
from sheetledger.config import BankConfig
from sheetledger.ledger.tabs import INVOICES
from sheetledger.sync.ledger_view import LedgerChanges, apply_changes
from tests.bank.builders import OURS, Doc
from tests.bank.test_plan import BANK_CONFIG, DAY, NOW, _rows, lines, view

D = Decimal


def _order(oid: str, amount: str, **extra: Any) -> OrderToMatch:
    return OrderToMatch(id=oid, amount=D(amount), **extra)


def _out(amount: str, purpose: str, party: str = 'ООО "Фасады Плюс"', **extra: Any) -> Doc:
    return Doc(D(amount), incoming=False, purpose=purpose, party=party, **extra)


# --------------------------------------------------------------------------- pure matcher


def test_a_paid_orders_bill_number_and_amount_explain_the_line_for_sure() -> None:
    (match,) = match_outgoing(
        lines(_out("12000", "Оплата по счету № 1045 от 28.11.2026, без НДС")),
        [_order("O-1", "12000.00", bill_no="1045", paid=True, day=DAY)],
    )
    assert (match.rule, match.sure, match.payment_ids) == (PAID_ORDER, True, ("O-1",))
    assert match.reason == (
        "bill 1045 in the purpose, 12 000,00 ₽ equal to the paid amount of order O-1"
    )


def test_a_bill_number_inside_another_number_or_another_amount_is_no_match() -> None:
    orders = [_order("O-1", "12000", bill_no="104", paid=True, day=DAY, supplier="Кто-то")]
    assert match_outgoing(lines(_out("12000", "Оплата по счету 1045")), orders) == []
    assert match_outgoing(lines(_out("12000", "Оплата по счету 21045")), orders) == []
    assert match_outgoing(lines(_out("12500", "Оплата по счету 104")), orders) == []
    # a refund to a customer and a transfer between own accounts never pay an order
    assert match_outgoing(lines(Doc(D("12000"), purpose="Оплата по счету 104")), orders) == []


def test_supplier_name_contract_reference_and_a_known_inn_are_evidence() -> None:
    orders = [
        _order("O-1", "5000", supplier="Фасады Плюс", paid=True, day=DAY),
        _order("O-2", "7000", contract_no="1046", paid=True, day=DAY, supplier="Другой"),
        _order("O-3", "9000", supplier="Стекло", paid=True, day=DAY),
    ]
    found = match_outgoing(
        lines(
            _out("5000", "Оплата за фасады", number="1"),
            _out("7000", "Оплата по дог.1046 от 12.11", party="ИП Сидоров", number="2"),
            _out("9000", "Оплата", party="ИП Стекольщик", party_inn="500100732259", number="3"),
        ),
        orders,
        {supplier_key("Стекло"): frozenset({"500100732259"})},
    )
    assert {m.payment_ids: m.reason.split(",")[0] for m in found} == {
        ("O-1",): "the payee is the supplier",
        ("O-2",): "contract 1046 in the purpose",
        ("O-3",): "the payee's INN paid this supplier before",
    }
    assert all(m.sure for m in found)


def test_an_open_order_is_only_suggested_and_two_equal_orders_are_not_chosen_between() -> None:
    (suggested,) = match_outgoing(
        lines(_out("3000", "Оплата по счету 77")),
        [_order("O-9", "3000", bill_no="77", day=DAY + timedelta(days=3))],
    )
    assert (suggested.rule, suggested.sure, suggested.candidates) == (TO_PAY, False, ("O-9",))
    (both,) = match_outgoing(
        lines(_out("3000", "Оплата", party="ООО Фасады Плюс")),
        [
            _order("O-1", "3000", supplier="Фасады Плюс", paid=True, day=DAY),
            _order("O-2", "3000", supplier="ООО «Фасады плюс»", paid=True, day=DAY),
        ],
    )
    assert (both.sure, both.candidates, both.allocations) == (False, ("O-1", "O-2"), ())


def test_an_order_explains_one_line_and_a_linked_order_none() -> None:
    order = _order("O-1", "12000", bill_no="1045", paid=True, day=DAY)
    two = lines(
        _out("12000", "Оплата по счету 1045", number="1"),
        _out("12000", "Оплата по счету 1045 (повтор)", number="2"),
    )
    found = match_outgoing(two, [order])
    assert [(m.line_id, m.sure) for m in found] == [(two[0].id, True)]
    assert match_outgoing(two, [order], taken={"O-1"}) == []


# --------------------------------------------------------------------------- the import's plan


def _invoices(*rows: dict[str, Any]) -> Any:
    return _rows(INVOICES, list(rows))


def _order_row(oid: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {"id": oid, "amount": D(amount), "supplier": "Фасады Плюс"} | extra


def _with_orders(*rows: dict[str, Any]) -> Any:
    ledger = view([])
    ledger.tabs["invoices"] = _invoices(*rows)
    return ledger


def test_the_import_links_a_line_to_the_paid_order_and_then_not_again() -> None:
    ledger = _with_orders(
        _order_row("O-1", "12000", bill_no="1045", paid=True, paid_on=DAY, paid_amount=D(11500)),
        _order_row("O-2", "800", reject=True, reason="дубль", bill_no="5"),
    )
    statement = lines(
        _out("11500", "Оплата по счету 1045", number="1"),
        _out("800", "Оплата по счету 5", number="2"),
    )
    plan = plan_import(ledger, statement, BANK_CONFIG, now=NOW)
    assert [(o.state, o.rule, o.matched_to) for o in plan.outcomes] == [
        ("order", PAID_ORDER, ("O-1",)),
        ("outgoing", "", ()),  # a rejected order pays nothing
    ]
    row = next(a for a in plan.changes.appends if a.row_id == statement[0].id)
    assert (row.values["state"], row.values["matched_to"]) == ("order", "O-1")
    assert "invoices" not in {a.tab for a in plan.changes.appends}
    # Another statement with the same payment again (a different line): not the same order.
    after = apply_changes(ledger, plan.changes)
    again = plan_import(
        after, lines(_out("11500", "Оплата по счету 1045", number="3")), BANK_CONFIG, now=NOW
    )
    assert again.outcomes[0].state == "outgoing"


def test_an_open_order_is_suggested_then_linked_once_the_accountant_paid_it() -> None:
    ledger = _with_orders(_order_row("O-7", "3000", bill_no="77", due=DAY))
    (line,) = lines(_out("3000", "Оплата по счету 77"))
    plan = plan_import(ledger, [line], BANK_CONFIG, now=NOW)
    (outcome,) = plan.outcomes
    assert (outcome.state, outcome.rule, outcome.candidates) == ("suggested", TO_PAY, ("O-7",))
    assert not [u for u in plan.changes.updates if u.tab == "invoices"]  # not paid by it
    after = apply_changes(ledger, plan.changes)
    # Not paid yet: the next import leaves the line as it is.
    assert not plan_import(after, [], BANK_CONFIG, now=NOW).changes
    # She ticks Paid: the next import links the line to the order.
    paid = apply_changes(after, _tick("O-7"))
    settle = plan_import(paid, [], BANK_CONFIG, now=NOW).changes
    assert settle.merged_updates()[("bank", line.id)] == {
        "state": "order",
        "rule": PAID_ORDER,
        "matched_to": "O-7",
        "reason": "order O-7 was paid since",
    }


def _tick(oid: str) -> LedgerChanges:
    changes = LedgerChanges()
    changes.update("invoices", oid, {"paid": True, "paid_on": DAY})
    return changes


def test_auto_pay_orders_ticks_the_open_order_paid_from_the_statement() -> None:
    ledger = _with_orders(_order_row("O-7", "3000", bill_no="77", due=DAY))
    config = BankConfig(accounts=(OURS,), auto_pay_orders=True)
    (line,) = lines(_out("3000", "Оплата по счету 77", number="31"))
    plan = plan_import(ledger, [line], config, now=NOW)
    assert [(o.state, o.matched_to) for o in plan.outcomes] == [("order", ("O-7",))]
    assert plan.orders_paid == ["O-7"]
    assert plan.changes.merged_updates()[("invoices", "O-7")] == {
        "paid": True,
        "paid_on": DAY,
        "paid_amount": D("3000.00"),
        "payment_ref": "п/п № 31 от 01.12.2026",
        "paid_by": "statement",
    }


def test_a_paid_order_wins_over_an_expense_typed_to_the_bot_of_the_same_amount() -> None:
    ledger = _with_orders(_order_row("O-1", "3500", bill_no="88", paid=True, paid_on=DAY))
    ledger.tabs["expenses"] = _rows(
        ledger.tabs["expenses"].schema,
        [{"id": "tg:1:2:0", "date": DAY, "amount": D("3500"), "category": "Реклама"}],
    )
    plan = plan_import(ledger, lines(_out("3500", "Оплата по сч. 88")), BANK_CONFIG, now=NOW)
    assert [(o.state, o.matched_to) for o in plan.outcomes] == [("order", ("O-1",))]
