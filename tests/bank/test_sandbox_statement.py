"""The sandbox's statement writer makes files the importer reads as the bank's own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sheetledger.bank.statement import decode_statement, parse_statement
from sheetledger.sandbox.bank_statement import COMPANY_INN, Movement, statement_file

OURS = "40702810900000001045"
DAY = date(2026, 12, 2)


def _move(amount: str, incoming: bool = True, number: str = "1") -> Movement:
    return Movement(
        Decimal(amount),
        number,
        "Петров Пётр Петрович",
        "771234567890",
        "40817810000000000123",
        "Оплата по договору № 1045 от 01.12.2026, без НДС",
        incoming=incoming,
    )


def test_the_file_is_windows_1251_with_crlf_and_reads_back() -> None:
    data = statement_file(OURS, DAY, Decimal("1000"), [_move("158654.52"), _move("700", False)])
    assert b"\r\n" in data and decode_statement(data)[1] == "cp1251"
    statement = parse_statement(data, own_accounts=[OURS], source="sandbox.txt")
    assert statement.problems == ()
    (section,) = statement.sections
    assert section.closing == Decimal("158954.52")
    came, went = statement.lines
    assert (came.direction, came.amount, came.counterparty_inn) == (
        "in",
        Decimal("158654.52"),
        "771234567890",
    )
    assert "1045" in came.purpose and came.date == DAY
    assert (went.direction, went.amount) == ("out", Decimal("700.00"))
    assert COMPANY_INN not in (came.counterparty_inn, went.counterparty_inn)


@given(
    st.lists(st.tuples(st.decimals("0.01", "9999999.99", places=2), st.booleans()), max_size=12),
    st.decimals("0", "99999999.99", places=2),
)
def test_any_day_round_trips_and_adds_up(
    moves: list[tuple[Decimal, bool]], opening: Decimal
) -> None:
    data = statement_file(
        OURS, DAY, opening, [_move(str(a), inc, str(n)) for n, (a, inc) in enumerate(moves, 1)]
    )
    statement = parse_statement(data, own_accounts=[OURS], source="sandbox.txt")
    assert statement.problems == ()
    assert [(line.amount, line.incoming) for line in statement.lines] == moves
