"""crm/parse: amoCRM lead JSON -> Deal and Payments."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from sheetledger.config import Method
from sheetledger.crm.parse import field_values, parse_deal, parse_payments
from tests.unit.builders import (
    AMO,
    BANK_TEXT,
    CASH_TEXT,
    FIELDS,
    PIPE,
    ROOT,
    SLOTS,
    TZ,
    lead,
    unix_day,
)

FIXTURE = ROOT / "tests" / "fixtures" / "amocrm" / "leads_list.real.dmitriichernukho.json"


def test_deal_from_a_full_lead() -> None:
    deal = parse_deal(
        lead(
            3301,
            name="  Шкаф-купе ",
            price=250_000,
            manager=502,
            contract_no=" Д-77 ",
            contract_date=date(2024, 3, 15),
            product="Шкаф",
            updated_at=1_711_000_000,
        ),
        AMO,
        TZ,
    )
    assert deal.id == 3301
    assert deal.name == "Шкаф-купе"
    assert deal.pipeline_id == PIPE
    assert deal.manager_id == 502
    assert deal.budget == Decimal("250000.00")
    assert deal.updated_at == 1_711_000_000
    assert deal.contract_no == "Д-77"
    assert deal.contract_date == date(2024, 3, 15)
    assert deal.product == "Шкаф"
    assert (deal.salon, deal.city) == ("", "")
    assert not deal.won and not deal.lost


def test_custom_fields_null_means_nothing_filled() -> None:
    raw = lead(1, contract_no=None, contract_date=None)
    assert raw["custom_fields_values"] is None
    assert field_values(raw) == {}
    deal = parse_deal(raw, AMO, TZ)
    assert deal.contract_no == "" and deal.contract_date is None
    assert parse_payments(raw, AMO, TZ) == []


def test_real_recorded_leads_parse() -> None:
    leads = json.loads(FIXTURE.read_text(encoding="utf-8"))["_embedded"]["leads"]
    assert leads
    for raw in leads:
        deal = parse_deal(raw, AMO, TZ)
        assert deal.id == raw["id"]
        assert deal.budget == Decimal(raw["price"] or 0)
        assert deal.status_id == raw["status_id"]
        assert parse_payments(raw, AMO, TZ) == []  # their ids are not our slot fields


def test_date_field_is_the_local_day_of_the_account() -> None:
    # 1711918800 = 2024-03-31T21:00Z = 2024-04-01 00:00 in Moscow
    # (docs/api-notes.md, "amoCRM: field values").
    raw = lead(1, contract_date=None)
    raw["custom_fields_values"].append(
        {"field_id": FIELDS.contract_date, "values": [{"value": 1711918800}]}
    )
    assert parse_deal(raw, AMO, TZ).contract_date == date(2024, 4, 1)
    raw["custom_fields_values"][-1]["values"] = [{"value": "2024-04-01T00:00:00+03:00"}]
    assert parse_deal(raw, AMO, TZ).contract_date == date(2024, 4, 1)
    raw["custom_fields_values"][-1]["values"] = [{"value": "not a date"}]
    assert parse_deal(raw, AMO, TZ).contract_date is None


def test_filled_slots_become_payments() -> None:
    raw = lead(
        42,
        slots=[("30000", CASH_TEXT, date(2024, 4, 1)), ("70000.50", BANK_TEXT, date(2024, 5, 2))],
    )
    first, second = parse_payments(raw, AMO, TZ)
    assert (first.id, first.slot, first.kind) == ("42:1", 1, SLOTS[0].name)
    assert first.method is Method.CASH
    assert first.amount == Decimal("30000.00")
    assert first.date == date(2024, 4, 1)
    assert first.problem == ""
    assert (second.id, second.kind, second.method) == ("42:2", SLOTS[1].name, Method.BANK)
    assert second.amount == Decimal("70000.50")
    assert second.date == date(2024, 5, 2)


def test_unfilled_slot_is_skipped_and_date_alone_does_not_fill_it() -> None:
    raw = lead(42, slots=[None, ("5000", CASH_TEXT, None)])
    (only,) = parse_payments(raw, AMO, TZ)
    assert only.id == "42:2" and only.date is None
    raw = lead(42, slots=[(None, None, date(2024, 4, 1))])
    assert parse_payments(raw, AMO, TZ) == []


def test_method_option_text_is_matched_case_insensitively() -> None:
    raw = lead(42, slots=[("100", CASH_TEXT.upper(), None)])
    assert parse_payments(raw, AMO, TZ)[0].method is Method.CASH


def test_unknown_method_is_a_problem_and_the_rest_is_still_parsed() -> None:
    raw = lead(42, slots=[("100", "Бартер", date(2024, 4, 1)), ("200", BANK_TEXT, None)])
    bad, good = parse_payments(raw, AMO, TZ)
    assert bad.problem.startswith("E_METHOD")
    assert "Бартер" in bad.problem
    assert bad.method is None
    assert bad.amount == Decimal("100.00") and bad.date == date(2024, 4, 1)
    assert good.problem == "" and good.method is Method.BANK


@pytest.mark.parametrize("amount", ["сто", "12abc", "NaN", "Infinity", "1e400"])
def test_amount_that_is_not_a_number_is_a_problem(amount: str) -> None:
    raw = lead(42, slots=[(amount, CASH_TEXT, date(2024, 4, 1)), ("200", BANK_TEXT, None)])
    bad, good = parse_payments(raw, AMO, TZ)
    assert bad.amount is None
    assert bad.problem.startswith("E_AMOUNT")
    assert bad.method is Method.CASH and bad.date == date(2024, 4, 1)
    assert good.problem == ""


@pytest.mark.parametrize(
    ("amount", "expected"), [("1 000,50", "1000.50"), ("10000", "10000.00"), ("0.005", "0.01")]
)
def test_amount_formats(amount: str, expected: str) -> None:
    (payment,) = parse_payments(lead(1, slots=[(amount, CASH_TEXT, None)]), AMO, TZ)
    assert payment.amount == Decimal(expected)
    assert payment.problem == ""


def test_missing_amount_zero_amount_and_missing_method() -> None:
    no_amount, zero, no_method = parse_payments(
        lead(1, slots=[(None, CASH_TEXT, None), ("0", CASH_TEXT, None)]), AMO, TZ
    ) + parse_payments(lead(2, slots=[("10", None, None)]), AMO, TZ)
    assert no_amount.amount is None and no_amount.problem.startswith("E_AMOUNT")
    assert zero.amount == Decimal("0.00") and zero.problem.startswith("E_AMOUNT")
    assert no_method.method is None and no_method.problem.startswith("E_METHOD")
    assert no_method.amount == Decimal("10.00")


def test_both_problems_are_reported() -> None:
    (payment,) = parse_payments(lead(1, slots=[("много", "Бартер", None)]), AMO, TZ)
    assert "E_AMOUNT" in payment.problem and "E_METHOD" in payment.problem


def test_numeric_values_as_numbers_also_work() -> None:
    raw = lead(1)
    raw["custom_fields_values"] = [
        {"field_id": SLOTS[0].amount, "values": [{"value": 1500}]},
        {"field_id": SLOTS[0].method, "values": [{"value": CASH_TEXT, "enum_id": 1}]},
        {"field_id": "not an id", "values": [{"value": 1}]},
        {"values": [{"value": 1}]},
        {"field_id": SLOTS[0].date, "values": None},
    ]
    (payment,) = parse_payments(raw, AMO, TZ)
    assert payment.amount == Decimal("1500.00")
    assert payment.date is None


def test_unix_day_helper_is_local_midnight() -> None:
    assert unix_day(date(2024, 4, 1)) == 1711918800
