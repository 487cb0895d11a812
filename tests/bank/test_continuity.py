"""Consecutive statements of one account must join up: a missing statement is named, not
silently skipped over."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sheetledger.bank.continuity import Closing, closings, continuity_problems, dump, load
from sheetledger.bank.importer import read_statements
from sheetledger.bank.statement import StatementError, parse_statement
from sheetledger.config import BankConfig, Config
from tests.bank.builders import OURS, Doc, statement_bytes_for

D = Decimal


def _statement(on: date, opening: str, *amounts: str) -> bytes:
    docs = [Doc(D(a), number=str(i), on=on) for i, a in enumerate(amounts, start=1)]
    return statement_bytes_for(docs, opening=D(opening), start=on, end=on)


def _parsed(on: date, opening: str, *amounts: str):  # type: ignore[no-untyped-def]
    return parse_statement(_statement(on, opening, *amounts), own_accounts=[OURS], source="x")


def test_the_next_day_opening_at_the_stored_closing_joins_up() -> None:
    before = {OURS: Closing(OURS, date(2026, 12, 1), D("1500.00"))}
    assert continuity_problems(_parsed(date(2026, 12, 2), "1500.00", "10"), before) == []


def test_quiet_days_in_between_without_a_change_of_balance_are_fine() -> None:
    before = {OURS: Closing(OURS, date(2026, 12, 4), D("1500.00"))}
    assert continuity_problems(_parsed(date(2026, 12, 7), "1500.00", "10"), before) == []


def test_a_gap_names_the_missing_days_and_the_difference() -> None:
    before = {OURS: Closing(OURS, date(2026, 12, 1), D("1500.00"))}
    (problem,) = continuity_problems(_parsed(date(2026, 12, 4), "2000.00", "10"), before)
    assert "opens 04.12.2026 with 2 000,00 ₽" in problem
    assert "closed 01.12.2026 with 1 500,00 ₽" in problem
    assert "off by 500,00 ₽" in problem
    assert "statement for 02.12.2026–03.12.2026 is missing" in problem


def test_the_next_day_opening_elsewhere_is_off_without_missing_days() -> None:
    before = {OURS: Closing(OURS, date(2026, 12, 1), D("1500.00"))}
    (problem,) = continuity_problems(_parsed(date(2026, 12, 2), "1400.00", "10"), before)
    assert "off by -100,00 ₽" in problem and "missing" not in problem


def test_an_overlapping_or_repeated_file_and_an_unknown_account_are_not_compared() -> None:
    statement = _parsed(date(2026, 12, 1), "1000.00", "10")
    assert continuity_problems(statement, {OURS: Closing(OURS, date(2026, 12, 1), D("7"))}) == []
    assert continuity_problems(statement, {}) == []


def test_closings_keep_the_latest_and_survive_the_state_round_trip() -> None:
    first = _parsed(date(2026, 12, 2), "1000.00", "10")
    older = _parsed(date(2026, 12, 1), "900.00", "100")
    latest = closings([first, older])
    assert latest == {OURS: Closing(OURS, date(2026, 12, 2), D("1010.00"))}
    assert load(dump(latest)) == latest
    assert load({OURS: {"end": "garbage"}}) == {} and load(None) == {}


def _config() -> Config:
    return Config.model_construct(source=Path("config.yaml"), bank=BankConfig(accounts=(OURS,)))


def test_files_of_one_import_join_up_among_themselves_in_date_order() -> None:
    day1 = ("1.txt", _statement(date(2026, 12, 1), "1000.00", "500"))
    day2 = ("2.txt", _statement(date(2026, 12, 2), "1500.00", "10"))
    parsed = read_statements([day2, day1], _config(), previous={})
    assert [name for name, _ in parsed] == ["2.txt", "1.txt"]


def test_a_gap_refuses_the_file_unless_accepted() -> None:
    before = {OURS: Closing(OURS, date(2026, 11, 27), D("700.00"))}
    files = [("dec.txt", _statement(date(2026, 12, 1), "1000.00", "500"))]
    with pytest.raises(StatementError) as refused:
        read_statements(files, _config(), previous=before)
    assert refused.value.unbalanced
    assert "28.11.2026–30.11.2026 is missing" in refused.value.problems[0]
    ((_, statement),) = read_statements(files, _config(), previous=before, accept_unbalanced=True)
    assert any("is missing" in p for p in statement.problems)
