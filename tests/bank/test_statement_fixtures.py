"""The six real statements of tests/fixtures/bank parse, with their balance self-checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sheetledger.bank.statement import StatementError, parse_statement
from tests.bank.conftest import statement_bytes

D = Decimal


def test_vtb24_one_day_crlf_anonymised_payer() -> None:
    statement = parse_statement(statement_bytes("vtb24_one_day_1.02.txt"))
    assert statement.version == "1.02"
    assert statement.encoding == "cp1251"
    assert statement.accounts == ("40702810200000000001",)
    assert len(statement.lines) == statement.documents == 13
    incoming = [line for line in statement.lines if line.incoming]
    outgoing = [line for line in statement.lines if not line.incoming]
    # The payer's account is anonymised: the outgoing side comes from ДатаСписано alone.
    assert sum(line.amount for line in incoming) == D("40000.00")
    assert sum(line.amount for line in outgoing) == D("41184.00")
    assert {line.date for line in statement.lines} == {date(2016, 1, 11)}
    assert statement.problems == ()
    (section,) = statement.sections
    assert section.opening + section.incoming - section.outgoing == section.closing


def test_sber_one_balance_section_per_day() -> None:
    statement = parse_statement(statement_bytes("sber-business-online_daily-balances_1.03.txt"))
    assert len(statement.sections) == 46
    assert statement.sender == "Сбербанк Бизнес Онлайн"
    credit, debit = statement.lines
    assert (credit.direction, credit.amount, credit.date) == (
        "in",
        D("158654.52"),
        date(2024, 4, 26),
    )
    assert credit.counterparty == "Петров Петр Петрович"
    assert credit.counterparty_inn == "7800000001"
    assert credit.counterparty_account == "40702000000000000049"
    assert credit.purpose == "Оплата по договору"
    assert (debit.direction, debit.amount) == ("out", D("140000.00"))
    assert debit.counterparty == "Кузнецова Мария Сергеевна"


def test_tinkoff_incoming_orders_with_the_debit_date() -> None:
    """Tinkoff writes ДатаСписано on incoming bank orders: the account says the direction.

    Its nine documents bring in 66 770.00 while the section says 67 770.00: the file is
    trimmed, and the check says so by exactly the missing thousand.
    """
    data = statement_bytes("tinkoff_bank-orders_1.02.txt")
    with pytest.raises(StatementError) as caught:
        parse_statement(data, source="tinkoff.txt")
    error = caught.value
    assert error.unbalanced
    assert any(
        "account 40802000000000000043 01.04.2024–16.04.2024" in p
        and "66 770,00 ₽" in p
        and "off by 1 000,00 ₽" in p
        for p in error.problems
    ), error.problems
    assert "--accept-unbalanced" in str(error)
    statement = parse_statement(data, accept_unbalanced=True)
    assert len(statement.lines) == 9
    assert all(line.incoming for line in statement.lines)
    assert sum(line.amount for line in statement.lines) == D("66770.00")
    assert statement.problems  # kept, for the import to report


def test_two_own_accounts_and_their_transfers() -> None:
    data = statement_bytes("two-accounts_windows-1251.txt")
    statement = parse_statement(data, accept_unbalanced=True)
    assert statement.accounts == ("40802000000000000071", "40802000000000000069")
    assert len(statement.sections) == 44
    transfers = [line for line in statement.lines if line.own_transfer]
    # Two Прочее documents from ...069 to ...071, each a line on both sides.
    assert len(transfers) == 4
    assert {(t.account, t.direction) for t in transfers} == {
        ("40802000000000000071", "in"),
        ("40802000000000000069", "out"),
    }
    assert {t.kind for t in transfers} == {"Прочее"}
    assert not any(line.own_transfer for line in statement.lines if line.kind != "Прочее")
    assert len({line.id for line in statement.lines}) == len(statement.lines)


def test_two_accounts_refused_when_one_is_not_ours() -> None:
    data = statement_bytes("two-accounts_windows-1251.txt")
    with pytest.raises(StatementError) as caught:
        parse_statement(data, own_accounts={"40802000000000000071"}, accept_unbalanced=True)
    assert not caught.value.unbalanced
    (problem,) = caught.value.problems
    assert "40802000000000000069" in problem
    assert "not one of ours" in problem


def test_unicredit_odd_key_case_and_alphanumeric_number() -> None:
    statement = parse_statement(statement_bytes("unicredit_korschet-case_foreign.txt"))
    out, inc = statement.lines
    assert (out.direction, out.amount, out.number) == ("out", D("4900.00"), "6502")
    assert (inc.direction, inc.amount, inc.number) == ("in", D("207459.00"), "FDC240")
    assert inc.counterparty_account == "006780000008"  # a foreign payer's account
    assert inc.counterparty_bank == "NEW YORK NY USA"


def test_vtb_trimmed_export_is_named_off_by_section() -> None:
    data = statement_bytes("vtb_bank-client-online_kl_to_1c.txt")
    with pytest.raises(StatementError) as caught:
        parse_statement(data, own_accounts={"40702810000000074935"})
    problems = caught.value.problems
    assert any(
        "ВсегоПоступило says 616 050,00 ₽" in p and "off by 616 050,00 ₽" in p for p in problems
    )
    assert any("off by 619 655,44 ₽" in p for p in problems)
    statement = parse_statement(data, accept_unbalanced=True)
    first = statement.lines[0]
    assert first.counterparty == 'ФИЛИАЛ "ЦЕНТРАЛЬНЫЙ" БАНКА ВТБ (ПАО)'
    assert first.counterparty_inn == "7702070139"
    assert first.kind == "Банковский ордер"
    assert all(line.direction == "out" for line in statement.lines)


@pytest.mark.parametrize(
    "name",
    [
        "vtb24_one_day_1.02.txt",
        "sber-business-online_daily-balances_1.03.txt",
        "tinkoff_bank-orders_1.02.txt",
        "two-accounts_windows-1251.txt",
        "unicredit_korschet-case_foreign.txt",
        "vtb_bank-client-online_kl_to_1c.txt",
    ],
)
def test_every_section_balances_and_utf8_reads_alike(name: str) -> None:
    data = statement_bytes(name)
    statement = parse_statement(data, accept_unbalanced=True)
    for section in statement.sections:
        assert section.opening + section.incoming - section.outgoing == section.closing
    assert not any("closing balance" in p for p in statement.problems)
    # The same file saved as UTF-8 (still saying Кодировка=Windows) and with LF ends.
    text = data.decode("cp1251").replace("\r\n", "\n")
    again = parse_statement(text.encode("utf-8"), accept_unbalanced=True)
    assert again.encoding == "utf-8"
    assert again.lines == statement.lines
    # CRLF everywhere reads alike too.
    crlf = parse_statement(text.replace("\n", "\r\n").encode("cp1251"), accept_unbalanced=True)
    assert crlf.lines == statement.lines
