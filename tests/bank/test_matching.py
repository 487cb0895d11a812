"""Matching incoming money to open payments, with the traps the accountant falls into."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from sheetledger.bank.matching import (
    AcquiringRules,
    CreditRules,
    MatchRules,
    OpenPayment,
    match_lines,
    payer_marks,
    subsets_within,
)
from sheetledger.bank.statement import StatementLine

D = Decimal
DAY = date(2026, 12, 1)
OURS = "40702810900000001045"


def line(
    amount: str,
    purpose: str = "Оплата",
    *,
    number: str = "1",
    on: date = DAY,
    direction: str = "in",
    payer: str = "Иванов Иван Иванович",
    inn: str = "771234567890",
    account: str = "40817810000000000001",
    own_transfer: bool = False,
) -> StatementLine:
    return StatementLine(
        account=OURS,
        date=on,
        direction=direction,
        amount=D(amount),
        number=number,
        kind="Платежное поручение",
        counterparty=payer,
        counterparty_inn=inn,
        counterparty_account=account,
        counterparty_bank="",
        purpose=purpose,
        own_transfer=own_transfer,
    )


def pay(
    pid: str,
    amount: str,
    contract: str = "",
    *,
    method: str = "bank",
    received: str = "0",
    on: date = DAY,
    name: str = "Кухня — Петров А.",
) -> OpenPayment:
    deal = int(pid.split(":")[0])
    return OpenPayment(pid, deal, contract, method, D(amount), D(received), on, name)


def only(matches: list) -> object:  # type: ignore[type-arg]
    assert len(matches) == 1, matches
    return matches[0]


# --------------------------------------------------------------------------- contract


def test_contract_and_amount_is_sure() -> None:
    m = only(
        match_lines([line("15000", "Оплата по дог. 1045 за кухню")], [pay("7:1", "15000", "1045")])
    )
    assert (m.rule, m.sure, m.payment_ids) == ("contract+amount", True, ("7:1",))
    assert "1045" in m.reason


def test_invoice_spelling_and_glued_number() -> None:
    payments = [pay("7:1", "15000", "1045"), pay("8:1", "9000", "1046")]
    lines = [
        line("15000", "Оплата по счету 1045", number="1"),
        line("9000", "Оплатаподоговору1046от12.11", number="2"),
    ]
    assert [m.payment_ids for m in match_lines(lines, payments)] == [("7:1",), ("8:1",)]


def test_a_contract_number_that_is_also_an_amount() -> None:
    """Deal 8's contract is «15000»; the purpose names contract 1045 and says 15000 roubles."""
    payments = [pay("7:1", "15000", "1045"), pay("8:1", "15000", "15000")]
    m = only(match_lines([line("15000", "Оплата по договору 1045, сумма 15000 руб")], payments))
    assert m.payment_ids == ("7:1",)


def test_the_remainder_after_a_partial_receipt_typed_by_hand() -> None:
    payments = [pay("7:2", "40000", "1045", received="25000")]
    m = only(match_lines([line("15000", "Доплата по договору 1045")], payments))
    assert (m.rule, m.sure, m.allocations[0].amount) == ("contract+amount", True, D("15000"))


def test_one_line_pays_all_that_is_open_on_a_contract() -> None:
    payments = [pay("7:1", "10000", "1045"), pay("7:2", "30000", "1045")]
    m = only(match_lines([line("40000", "дог. 1045")], payments))
    assert m.sure and m.payment_ids == ("7:1", "7:2")


def test_two_equal_payments_of_one_contract_are_paid_in_turn() -> None:
    payments = [pay("7:1", "20000", "1045"), pay("7:2", "20000", "1045", on=date(2026, 12, 20))]
    lines = [line("20000", "дог 1045", number="1"), line("20000", "дог 1045", number="2")]
    assert [m.payment_ids for m in match_lines(lines, payments)] == [("7:1",), ("7:2",)]


def test_a_contract_with_another_amount_is_a_suggestion() -> None:
    payments = [pay("7:1", "15000", "1045"), pay("7:2", "30000", "1045")]
    m = only(match_lines([line("5000", "дог 1045 частично")], payments))
    assert (m.rule, m.sure) == ("contract", False)
    assert m.candidates == ("7:1", "7:2")


def test_cash_and_confirmed_payments_are_never_matched() -> None:
    payments = [
        pay("7:1", "15000", "1045", method="cash"),
        pay("8:1", "15000", "1046", received="15000"),
    ]
    assert (
        match_lines([line("15000", "дог 1045"), line("15000", "дог 1046", number="2")], payments)
        == []
    )


# --------------------------------------------------------------------------- payer


def test_a_payer_seen_before_on_the_deal() -> None:
    payments = [pay("7:2", "30000", "1045"), pay("9:1", "30000", "2000", name="Шкаф — Сидоров В.")]
    paid = line("30000", "Оплата за мебель", payer="ООО Ромашка", inn="7701234567")
    seen = {7: payer_marks(paid)}
    m = only(match_lines([paid], payments, seen_payers=seen))
    assert (m.rule, m.sure, m.payment_ids) == ("payer+amount", True, ("7:2",))
    assert "paid this deal before" in m.reason


def test_the_payer_is_the_deals_client() -> None:
    payments = [
        pay("7:2", "30000", name="Кухня — Петров А."),
        pay("9:1", "30000", name="Шкаф — Сидоров В."),
    ]
    m = only(match_lines([line("30000", "Перевод", payer="ИП Сидоров Василий")], payments))
    assert (m.rule, m.payment_ids) == ("payer+amount", ("9:1",))


def test_the_client_named_in_the_purpose() -> None:
    payments = [
        pay("7:2", "30000", name="Кухня — Петров А."),
        pay("9:1", "30000", name="Шкаф — Сидоров В."),
    ]
    m = only(
        match_lines(
            [line("30000", "За кухню Петрова А. (Петров)", payer="Петрова Ольга")], payments
        )
    )
    assert m.payment_ids == ("7:2",)


def test_two_open_payments_of_the_same_amount_are_not_guessed() -> None:
    payments = [
        pay("7:1", "30000", name="Кухня — Петров А."),
        pay("9:1", "30000", name="Шкаф — Сидоров В."),
    ]
    m = only(match_lines([line("30000", "Оплата заказа", payer="Кузнецова Мария")], payments))
    assert (m.rule, m.sure) == ("amount+date", False)
    assert set(m.candidates) == {"7:1", "9:1"}
    assert m.allocations == ()
    assert "2 payments" in m.reason


def test_a_named_contract_is_not_overruled_by_the_payers_other_deal() -> None:
    payments = [
        pay("7:1", "15000", "1045", name="Кухня — Петров А."),
        pay("8:1", "5000", "1046", name="Шкаф — Петров А."),
    ]
    m = only(match_lines([line("5000", "Доплата по дог. 1045", payer="Петров Андрей")], payments))
    assert (m.rule, m.sure, m.candidates) == ("contract", False, ("7:1",))


# --------------------------------------------------------------------------- amount + date


def test_amount_within_tolerance_and_window_is_suggested() -> None:
    payments = [
        pay("7:1", "30000", on=date(2026, 12, 5)),
        pay("8:1", "30000", on=date(2026, 10, 1)),
    ]
    m = only(match_lines([line("29900", "Перевод", payer="Кузнецова Мария")], payments))
    assert (m.rule, m.sure, m.candidates) == ("amount+date", False, ("7:1",))
    assert m.payment_ids == ("7:1",)


def test_a_suggestion_never_offers_a_payment_another_line_paid() -> None:
    payments = [pay("7:1", "30000", "1045")]
    lines = [
        line("30000", "Перевод", number="1", payer="Кто-то"),
        line("30000", "дог 1045", number="2"),
    ]
    matches = match_lines(lines, payments)
    assert [(m.line_id == lines[1].id, m.sure) for m in matches] == [(True, True)]


def test_nothing_fits() -> None:
    assert match_lines([line("123.45", "Перевод")], [pay("7:1", "30000")]) == []


# ------------------------------------------------------------------ money that is not revenue


def test_a_refund_to_a_customer_confirms_nothing() -> None:
    refund = line("15000", "Возврат по договору 1045", direction="out")
    assert match_lines([refund], [pay("7:1", "15000", "1045")]) == []


def test_a_transfer_between_own_accounts_confirms_nothing() -> None:
    transfer = line("15000", "Перевод собственных средств дог 1045", own_transfer=True)
    assert match_lines([transfer], [pay("7:1", "15000", "1045")]) == []


# --------------------------------------------------------------------------- acquiring

ACQUIRER = "7707083893"
ACQ = MatchRules(acquiring=AcquiringRules(payer_inns=(ACQUIRER,), fee_percent=D("2")))


def settlement(amount: str, on: date = DAY) -> StatementLine:
    return line(
        amount, "Возмещение по операциям эквайринга", payer="ПАО Сбербанк", inn=ACQUIRER, on=on
    )


def test_acquiring_settlement_of_a_day() -> None:
    payments = [
        pay("1:1", "10000", method="terminal", on=date(2026, 11, 30)),
        pay("2:1", "5000", method="terminal", on=date(2026, 11, 30)),
        pay("3:1", "7000", method="terminal", on=date(2026, 11, 30)),
        pay("4:1", "5000", method="bank", on=date(2026, 11, 30)),  # not a terminal payment
    ]
    # 10000 + 5000 + 7000 = 22000, minus 2 % = 21560
    m = only(match_lines([settlement("21560")], payments, ACQ))
    assert (m.rule, m.sure) == ("acquiring", True)
    assert set(m.payment_ids) == {"1:1", "2:1", "3:1"}
    assert (m.fee, m.fee_category) == (D("440.00"), "Эквайринг")


def test_acquiring_credit_two_subsets_could_explain_is_suggested() -> None:
    payments = [
        pay("1:1", "3000", method="terminal"),
        pay("2:1", "2000", method="terminal"),
        pay("3:1", "5000", method="terminal"),
    ]
    m = only(match_lines([settlement("4900")], payments, ACQ))  # 5000 or 3000 + 2000
    assert (m.rule, m.sure) == ("acquiring", False)
    assert set(m.candidates) == {"1:1", "2:1", "3:1"}


def test_acquiring_ignores_terminal_payments_after_the_credit() -> None:
    payments = [pay("1:1", "5000", method="terminal", on=date(2026, 12, 3))]
    assert match_lines([settlement("4900")], payments, ACQ) == []


def test_acquiring_tolerance_covers_the_banks_rounding() -> None:
    payments = [pay("1:1", "3333.33", method="terminal"), pay("2:1", "1111.11", method="terminal")]
    m = only(match_lines([settlement("4355.10")], payments, ACQ))  # 4444.44 * 0.98 = 4355.55
    assert m.sure and m.fee == D("89.34")


# --------------------------------------------------------------------------- credit

LENDER = "7744000912"
CREDIT = MatchRules(credit=CreditRules(lender_inns=(LENDER,), discount_percent=D("5")))


def test_credit_from_a_lender_minus_the_discount() -> None:
    payments = [
        pay("7:1", "100000", "1045", method="credit", name="Кухня — Петров А."),
        pay("8:1", "100000", "1046", method="credit", name="Шкаф — Сидоров В."),
    ]
    money = line(
        "95000", "Перечисление кредита по договору 1045 Петров", payer="ООО ХКФ Банк", inn=LENDER
    )
    m = only(match_lines([money], payments, CREDIT))
    assert (m.rule, m.sure, m.payment_ids) == ("credit", True, ("7:1",))
    assert (m.fee, m.fee_category) == (D("5000.00"), "Кредит: скидка банка")


def test_credit_by_the_clients_name() -> None:
    payments = [pay("8:1", "100000", "1046", method="credit", name="Шкаф — Сидоров В.")]
    money = line("95000", "Кредит Сидоров Василий, заявка 77", payer="Банк", inn=LENDER)
    m = only(match_lines([money], payments, CREDIT))
    assert m.payment_ids == ("8:1",)


# --------------------------------------------------------------------------- the search


def test_subsets_within_finds_every_set_up_to_the_limit() -> None:
    found, complete = subsets_within([300, 200, 500], 500, 500, limit=5)
    assert complete and sorted(found) == [(0, 1), (2,)]


def test_subsets_within_stops_at_its_budget() -> None:
    # Even amounts never make an odd sum, and no cut sees it: the budget ends the search.
    found, complete = subsets_within([2] * 40, 21, 21, max_steps=1000)
    assert found == [] and not complete


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=50), min_size=0, max_size=9),
    st.integers(min_value=1, max_value=200),
    st.integers(min_value=0, max_value=5),
)
def test_subsets_within_agrees_with_brute_force(amounts: list[int], low: int, width: int) -> None:
    high = low + width
    truth = {
        combo
        for size in range(1, len(amounts) + 1)
        for combo in combinations(range(len(amounts)), size)
        if low <= sum(amounts[k] for k in combo) <= high
    }
    found, complete = subsets_within(amounts, low, high, limit=10_000)
    assert complete
    assert set(found) == truth
    assert len(found) == len(truth)


def test_payments_are_read_not_changed() -> None:
    payment = pay("7:1", "15000", "1045")
    before = replace(payment)
    match_lines([line("15000", "дог 1045")], [payment])
    assert payment == before
