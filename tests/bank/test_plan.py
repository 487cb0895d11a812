"""From statement lines to ledger changes: Bank rows, ticks, expenses; twice is once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sheetledger.bank.plan import plan_import
from sheetledger.bank.statement import StatementLine, parse_statement
from sheetledger.config import BankConfig
from sheetledger.ledger.tabs import BANK, DEALS, EXPENSES, PAYMENTS
from sheetledger.sync.ledger_view import LedgerView, TabRows, apply_changes
from tests.bank.builders import OURS, Doc, statement_bytes_for

D = Decimal
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)
BANK_CONFIG = BankConfig(
    accounts=(OURS,),
    expense_rules=({"category": "Банк", "words": ("комиссия",)},),  # type: ignore[arg-type]
)


def _rows(schema: Any, rows: list[dict[str, Any]]) -> TabRows:
    tab = TabRows(schema)
    for row in rows:
        tab.rows[str(row["id"])] = {c.key: None for c in schema.columns} | row
    return tab


def view(
    payments: list[dict[str, Any]],
    *,
    deals: list[dict[str, Any]] | None = None,
    expenses: list[dict[str, Any]] | None = None,
    bank: list[dict[str, Any]] | None = None,
) -> LedgerView:
    return LedgerView(
        {
            "deals": _rows(DEALS, deals or []),
            "payments": _rows(PAYMENTS, payments),
            "expenses": _rows(EXPENSES, expenses or []),
            "bank": _rows(BANK, bank or []),
        }
    )


def payment(
    pid: str, amount: str, contract: str, method: str = "bank", **extra: Any
) -> dict[str, Any]:
    deal = int(pid.split(":")[0])
    return {
        "id": pid,
        "deal_id": deal,
        "contract_no": contract,
        "method": method,
        "amount": D(amount),
        "date": DAY,
        "kind": "Предоплата",
    } | extra


def lines(*docs: Doc, **period: Any) -> tuple[StatementLine, ...]:
    return parse_statement(statement_bytes_for(docs, **period), own_accounts={OURS}).lines


def test_a_sure_match_ticks_the_payment_with_the_rule_in_confirmed_by() -> None:
    ledger = view([payment("7:1", "15000", "1045")])
    plan = plan_import(
        ledger,
        lines(Doc(D("15000"), purpose="Оплата по дог. 1045", number="77")),
        BANK_CONFIG,
        now=NOW,
    )
    assert plan.confirmed == ["7:1"]
    (update,) = plan.changes.updates
    assert update.values["confirmed"] is True
    assert update.values["received"] == D("15000.00")
    assert (
        update.values["confirmed_by"] == "выписка 01.12.2026 № 77, правило «номер договора и сумма»"
    )
    assert update.values["confirmed_at"] == DAY
    (append,) = plan.changes.appends
    assert append.tab == "bank"
    assert append.values["state"] == "confirmed"
    assert append.values["matched_to"] == "7:1"
    assert append.values["rule"] == "contract+amount"


def test_importing_twice_writes_nothing_the_second_time() -> None:
    ledger = view([payment("7:1", "15000", "1045"), payment("8:1", "500", "1046")])
    statement = lines(Doc(D("15000"), purpose="дог. 1045"), Doc(D("999"), number="2"))
    first = plan_import(ledger, statement, BANK_CONFIG, now=NOW)
    after = apply_changes(ledger, first.changes)
    second = plan_import(after, statement, BANK_CONFIG, now=NOW)
    assert not second.changes
    assert second.known == 2


def test_the_same_line_in_two_overlapping_statements_is_one_row() -> None:
    ledger = view([payment("7:1", "15000", "1045")])
    shared = Doc(D("15000"), purpose="дог. 1045", number="5")
    monday = lines(shared, Doc(D("300"), number="6"))
    week = lines(Doc(D("100"), number="1", on=date(2026, 11, 30)), shared, start=date(2026, 11, 30))
    plan = plan_import(ledger, [*monday, *week], BANK_CONFIG, now=NOW)
    ids = [a.row_id for a in plan.changes.appends if a.tab == "bank"]
    assert len(ids) == len(set(ids)) == 3
    assert plan.confirmed == ["7:1"]


def test_a_partial_receipt_typed_before_is_added_to() -> None:
    ledger = view([payment("7:2", "40000", "1045", received=D("25000"))])
    plan = plan_import(ledger, lines(Doc(D("15000"), purpose="дог 1045")), BANK_CONFIG, now=NOW)
    (update,) = plan.changes.updates
    assert update.values["received"] == D("40000.00")
    assert update.values["confirmed"] is True


def test_auto_confirm_off_makes_sure_matches_suggestions() -> None:
    config = BANK_CONFIG.model_copy(update={"auto_confirm": False})
    plan = plan_import(
        view([payment("7:1", "15000", "1045")]),
        lines(Doc(D("15000"), purpose="дог 1045")),
        config,
        now=NOW,
    )
    assert not plan.changes.updates
    (append,) = plan.changes.appends
    assert (append.values["state"], append.values["candidates"]) == ("suggested", "7:1")


def test_unassigned_and_suggested_lines() -> None:
    ledger = view([payment("7:1", "30000", "1045"), payment("8:1", "30000", "1046")])
    plan = plan_import(
        ledger,
        lines(Doc(D("30000"), purpose="Оплата", number="1"), Doc(D("5"), number="2")),
        BANK_CONFIG,
        now=NOW,
    )
    states = {a.values["state"]: a.values for a in plan.changes.appends}
    assert states["suggested"]["candidates"] == "7:1, 8:1"
    assert states["unassigned"]["amount"] == D("5.00")
    assert not plan.changes.updates


def test_acquiring_fee_becomes_an_expense() -> None:
    config = BANK_CONFIG.model_copy(
        update={
            "acquiring": BANK_CONFIG.acquiring.model_copy(
                update={"payer_inns": ("7707083893",), "fee_percent": D("2")}
            )
        }
    )
    ledger = view([payment("1:1", "10000", "", "terminal"), payment("2:1", "5000", "", "terminal")])
    doc = Doc(D("14700"), purpose="Возмещение по операциям эквайринга", party_inn="7707083893")
    plan = plan_import(ledger, lines(doc), config, now=NOW)
    assert sorted(plan.confirmed) == ["1:1", "2:1"]
    (expense,) = [a for a in plan.changes.appends if a.tab == "expenses"]
    assert (expense.values["amount"], expense.values["category"]) == (D("300.00"), "Эквайринг")
    assert expense.row_id.endswith(":fee")


def test_outgoing_money_the_bot_recorded_is_linked_not_doubled() -> None:
    typed = {
        "id": "tg:1:2:0",
        "date": DAY,
        "amount": D("3500.00"),
        "category": "Реклама",
        "source": "bot",
    }
    ledger = view([], expenses=[typed])
    plan = plan_import(
        ledger,
        lines(Doc(D("3500"), incoming=False, purpose="Реклама Яндекс")),
        BANK_CONFIG,
        now=NOW,
    )
    (append,) = plan.changes.appends
    assert (append.values["state"], append.values["matched_to"]) == ("expense", "tg:1:2:0")
    assert not plan.expenses
    # Linked once: a second line of the same amount is not explained by the same expense.
    after = apply_changes(ledger, plan.changes)
    again = plan_import(
        after,
        lines(Doc(D("3500"), incoming=False, number="9", purpose="Реклама")),
        BANK_CONFIG,
        now=NOW,
    )
    assert again.outcomes[0].state == "outgoing"


def test_outgoing_money_by_an_expense_rule_and_unexplained() -> None:
    plan = plan_import(
        view([]),
        lines(
            Doc(D("49"), incoming=False, number="1", purpose="Комиссия за ведение счета"),
            Doc(D("7000"), incoming=False, number="2", purpose="Возврат по договору 1045"),
        ),
        BANK_CONFIG,
        now=NOW,
    )
    assert [o.state for o in plan.outcomes] == ["expense", "outgoing"]
    (expense,) = [a for a in plan.changes.appends if a.tab == "expenses"]
    assert (expense.values["category"], expense.values["amount"], expense.values["source"]) == (
        "Банк",
        D("49.00"),
        "bank",
    )


def test_a_refund_never_touches_the_payment() -> None:
    plan = plan_import(
        view([payment("7:1", "15000", "1045")]),
        lines(Doc(D("15000"), incoming=False, purpose="Возврат по дог. 1045")),
        BANK_CONFIG,
        now=NOW,
    )
    assert not plan.changes.updates


def test_an_earlier_payer_identifies_the_next_payment() -> None:
    earlier = {
        "id": "old-line",
        "direction": "in",
        "amount": D("10000"),
        "counterparty": "ООО Ромашка",
        "inn": "7701234567",
        "matched_to": "7:1",
        "state": "confirmed",
    }
    ledger = view(
        [
            payment("7:1", "10000", "1045", confirmed=True),
            payment("7:2", "20000", "1045"),
            payment("9:1", "20000", "2000"),
        ],
        bank=[earlier],
    )
    doc = Doc(D("20000"), purpose="Оплата за мебель", party="ООО Ромашка", party_inn="7701234567")
    plan = plan_import(ledger, lines(doc), BANK_CONFIG, now=NOW)
    assert plan.confirmed == ["7:2"]
    assert plan.outcomes[0].rule == "payer+amount"


def test_the_cabinet_gets_the_incoming_lines_left_to_assign_once() -> None:
    from sheetledger.bank.plan import plan_cabinet
    from sheetledger.ledger.tabs import CABINET_BANK

    ledger = view([payment("7:1", "15000", "1045"), payment("8:1", "30000", "1046")])
    statement = lines(
        Doc(D("15000"), purpose="дог 1045", number="1"),  # confirmed: not hers
        Doc(D("30000"), purpose="Оплата", number="2", party="Кузнецова Мария"),  # suggested
        Doc(D("77"), purpose="Перевод", number="3"),  # unassigned
        Doc(D("49"), incoming=False, number="4", purpose="Комиссия"),  # money out: not hers
    )
    plan = plan_import(ledger, statement, BANK_CONFIG, now=NOW)
    cabinet = LedgerView({"cabinet_bank": TabRows(CABINET_BANK)})
    changes = plan_cabinet(plan, cabinet)
    assert [a.values["state"] for a in changes.appends] == ["suggested", "unassigned"]
    assert all("account" not in a.values for a in changes.appends)
    again = plan_cabinet(plan, apply_changes(cabinet, changes))
    assert not again


def test_a_line_assigned_in_the_cabinet_is_settled_in_the_master_once() -> None:
    waiting = {
        "id": "L1",
        "direction": "in",
        "amount": D("30000"),
        "state": "suggested",
        "counterparty": "Кузнецова Мария",
        "inn": "771111111111",
    }
    ledger = view(
        [
            payment("7:1", "30000", "1045", confirmed=True, bank_ref="L1"),
            payment("7:2", "5000", "1045"),
        ],
        bank=[waiting],
    )
    plan = plan_import(ledger, [], BANK_CONFIG, now=NOW)
    (update,) = plan.changes.updates
    assert (update.row_id, update.values["state"], update.values["matched_to"]) == (
        "L1",
        "confirmed",
        "7:1",
    )
    after = apply_changes(ledger, plan.changes)
    assert not plan_import(after, [], BANK_CONFIG, now=NOW).changes
    # and the payer is known for the deal from then on
    doc = Doc(D("5000"), purpose="Доплата", party="Кузнецова Мария", party_inn="771111111111")
    again = plan_import(after, lines(doc), BANK_CONFIG, now=NOW)
    assert again.confirmed == ["7:2"] and again.outcomes[0].rule == "payer+amount"
