"""Files that must not be imported, and the quirks of written-by-hand statements."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sheetledger.bank.statement import StatementError, parse_statement
from tests.bank.builders import OTHER, OURS, Doc, statement_bytes_for, statement_text

D = Decimal


def test_a_good_statement_reads_in_and_out() -> None:
    data = statement_bytes_for([Doc(D("15000.00")), Doc(D("700"), incoming=False, number="2")])
    statement = parse_statement(data, own_accounts={OURS})
    inc, out = statement.lines
    assert (inc.direction, inc.amount, inc.counterparty) == (
        "in",
        D("15000.00"),
        "ИП Иванов Иван Иванович",
    )
    assert (out.direction, out.amount) == ("out", D("700.00"))
    assert inc.id == f"{OURS}:2026-12-01:1:15000.00:40802810000000000123"


def test_not_a_statement() -> None:
    with pytest.raises(StatementError) as caught:
        parse_statement(b"%PDF-1.4\n...binary...")
    assert "not a 1CClientBankExchange statement" in str(caught.value)
    assert not caught.value.unbalanced


def test_empty_file() -> None:
    with pytest.raises(StatementError, match="empty"):
        parse_statement(b"\r\n  \n")


@pytest.mark.parametrize("cut", [0.5, 0.8, 0.97])
def test_truncated_file(cut: float) -> None:
    data = statement_bytes_for([Doc(D("15000")), Doc(D("2000"), number="2")])
    with pytest.raises(StatementError, match="cut off"):
        parse_statement(data[: int(len(data) * cut)])


def test_closing_balance_off_names_the_section_and_the_difference() -> None:
    data = statement_bytes_for([Doc(D("15000"))], closing_delta=D("10.50"))
    with pytest.raises(StatementError) as caught:
        parse_statement(data)
    assert caught.value.unbalanced
    assert any(
        f"account {OURS} 01.12.2026" in p and "closing balance is 16 010,50 ₽ (off by 10,50 ₽)" in p
        for p in caught.value.problems
    ), caught.value.problems
    accepted = parse_statement(data, accept_unbalanced=True)
    assert len(accepted.problems) == 1


def test_turnover_off_names_the_section() -> None:
    data = statement_bytes_for([Doc(D("15000"))], turnover_delta=D("500"))
    with pytest.raises(StatementError) as caught:
        parse_statement(data)
    assert any(
        "ВсегоПоступило says 15 500,00 ₽ (off by 500,00 ₽)" in p for p in caught.value.problems
    )


def test_account_not_ours_is_refused_by_number() -> None:
    data = statement_bytes_for([Doc(D("15000"), account=OTHER)], account=OTHER)
    with pytest.raises(StatementError) as caught:
        parse_statement(data, own_accounts={OURS})
    assert OTHER in str(caught.value)


def test_dos_encoding_and_a_byte_order_mark() -> None:
    text = statement_text([Doc(D("100"))]).replace("Кодировка=Windows", "Кодировка=DOS")
    dos = parse_statement(text.encode("cp866"))
    assert dos.encoding == "cp866"
    assert dos.lines[0].counterparty == "ИП Иванов Иван Иванович"
    bom = parse_statement(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert bom.lines == dos.lines


def test_unknown_document_kind_and_keys_are_read() -> None:
    doc = Doc(
        D("250"), kind="Мемориальный ордер", extra={"НовоеПолеБанка": "x", "ФлагБезЗначения": ""}
    )
    text = statement_text([doc]).replace("КонецДокумента", "ФлагБезРавно\r\nКонецДокумента")
    (line,) = parse_statement(text.encode("cp1251")).lines
    assert line.kind == "Мемориальный ордер"


def test_keys_in_any_case_and_trailing_spaces() -> None:
    text = statement_text([Doc(D("250"))]).replace("ПолучательСчет=", "ПОЛУЧАТЕЛЬСЧЕТ=")
    text = text.replace("Сумма=250", "Сумма=250   ")
    (line,) = parse_statement(text.encode("utf-8")).lines
    assert (line.direction, line.amount) == ("in", D("250.00"))


def test_amount_with_a_comma_and_without_kopecks() -> None:
    data = statement_bytes_for([Doc(D("700")), Doc(D("1200.5"), number="2")])
    text = data.decode("cp1251").replace("Сумма=1200.5", "Сумма=1200,50")
    lines = parse_statement(text.encode("cp1251"), accept_unbalanced=True).lines
    assert [line.amount for line in lines] == [D("700.00"), D("1200.50")]


def test_a_bad_amount_is_an_error_naming_the_document() -> None:
    text = statement_text([Doc(D("700"), number="77")]).replace("Сумма=700", "Сумма=семьсот")
    with pytest.raises(StatementError) as caught:
        parse_statement(text.encode("cp1251"))
    assert any("№ 77" in p and "'семьсот' is not an amount" in p for p in caught.value.problems)
    assert not caught.value.unbalanced


def test_two_identical_lines_in_one_file_are_two_rows() -> None:
    fee = Doc(D("49"), incoming=False, number="0", purpose="Комиссия банка")
    statement = parse_statement(statement_bytes_for([fee, fee]))
    first, second = statement.lines
    assert first.id != second.id
    assert second.id == first.id + "#2"


def test_neither_side_ours_and_no_dates_is_an_error() -> None:
    doc = Doc(D("10"), party_account="40802810000000000123")
    text = statement_text([doc]).replace(
        f"ПолучательСчет={OURS}", "ПолучательСчет=40817810000000000001"
    )
    text = text.replace("ДатаПоступило=01.12.2026", "ДатаПоступило=")
    with pytest.raises(StatementError, match="dates do not tell the direction"):
        parse_statement(text.encode("cp1251"))


def test_the_inn_before_a_name_is_dropped_when_there_is_no_name_line() -> None:
    text = statement_text([Doc(D("10"))])
    text = text.replace("Плательщик1=ИП Иванов Иван Иванович\r\n", "")
    (line,) = parse_statement(text.encode("cp1251")).lines
    assert line.counterparty == "ИП Иванов Иван Иванович"
