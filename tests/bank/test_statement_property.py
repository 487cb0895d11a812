"""A statement written in the bank's format reads back as it was written, and adds up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetledger.bank.statement import StatementError, parse_statement
from tests.bank.builders import OURS, Doc, statement_text

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2)
purposes = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N", "Zs"), max_codepoint=0x44F),
    max_size=60,
).map(lambda t: " ".join(t.split()))
docs = st.builds(
    Doc,
    amount=amounts,
    incoming=st.booleans(),
    number=st.integers(min_value=1, max_value=999999).map(str),
    purpose=purposes,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(docs, max_size=12),
    st.sampled_from(["cp1251", "utf-8"]),
    st.sampled_from(["\r\n", "\n"]),
    amounts,
)
def test_round_trip(written: list[Doc], encoding: str, newline: str, opening: Decimal) -> None:
    text = statement_text(written, opening=opening).replace("\r\n", newline)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return  # a letter cp1251 has no byte for: no bank writes it
    statement = parse_statement(data, own_accounts={OURS})
    assert statement.problems == ()
    assert [(line.amount, line.incoming, line.number) for line in statement.lines] == [
        (d.amount, d.incoming, d.number) for d in written
    ]
    assert [line.purpose for line in statement.lines] == [d.purpose for d in written]
    assert all(line.date == date(2026, 12, 1) for line in statement.lines)
    (section,) = statement.sections
    assert section.opening + section.incoming - section.outgoing == section.closing


@settings(max_examples=40, deadline=None)
@given(st.lists(docs, min_size=1, max_size=8), amounts)
def test_any_change_of_the_closing_balance_is_caught(written: list[Doc], delta: Decimal) -> None:
    data = statement_text(written, closing_delta=delta).encode("utf-8")
    with pytest.raises(StatementError) as caught:
        parse_statement(data)
    assert caught.value.unbalanced
    assert any("off by" in p for p in caught.value.problems)
