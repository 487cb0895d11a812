"""The report figures of the hand-written ledger (tests/reports/ledger.py), computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from sheetledger.reports.figures import (
    NOT_ALLOCATED,
    OTHER,
    Allocation,
    Period,
    category_key,
    dimension_rows,
    pnl_rows,
    profit_rows,
    split,
)
from sheetledger.reports.inputs import RevenueDay, gather
from tests.reports import ledger


def inputs(day: RevenueDay = RevenueDay.CONFIRMED):  # type: ignore[no-untyped-def]
    return gather(ledger.DEALS, ledger.PAYMENTS, ledger.EXPENSES, day=day)


def test_profit_per_deal() -> None:
    first, second = profit_rows(inputs())
    assert first == {
        "id": 1,
        "name": "Kitchen Ivanov",
        "contract_no": "K-1",
        "manager": "Anna",
        "product": "Kitchen",
        "salon": "Lenina",
        "city": "Moscow",
        "pipeline": "Sales",
        "status": "Won",
        "month": "2026-01",
        "budget": D("100000.00"),
        "revenue": D("99500.50"),
        "deal_costs": D("10000.00"),
        "gross_profit": D("89500.50"),
        "margin": D("0.8995"),
        "balance_due": D("499.50"),
    }
    assert (second["revenue"], second["deal_costs"], second["gross_profit"]) == (
        D("5000.00"),
        D("999.99"),
        D("4000.01"),
    )
    assert (second["margin"], second["balance_due"], second["month"]) == (
        D("0.8000"),
        D("45000.00"),
        "2026-02",
    )


def test_a_receipt_of_a_deal_missing_from_deals_still_has_its_row() -> None:
    payments = [*ledger.PAYMENTS, {"id": "9:1", "deal_id": 9, "amount": D("10"), "confirmed": True}]
    rows = profit_rows(gather(ledger.DEALS, payments, ledger.EXPENSES))
    assert rows[-1]["id"] == 9 and rows[-1]["revenue"] == D("10.00")
    assert sum(r["revenue"] for r in rows) == D("104510.50")


def test_pnl_by_month_and_year() -> None:
    january, february, year = pnl_rows(inputs(), ledger.CATEGORIES, ledger.MARKETING)
    assert january == {
        "id": "2026-01",
        "revenue": D("40000.00"),
        "deal_costs": D("10000.00"),
        "gross_profit": D("30000.00"),
        category_key("Materials"): D("0.00"),
        category_key("Advertising"): D("3000.00"),
        category_key("Rent"): D("0.00"),
        category_key(OTHER): D("0.00"),
        "operating_costs": D("3000.00"),
        "net_profit": D("27000.00"),
        "marketing": D("3000.00"),
        "marketing_share": D("0.0750"),
        "deals_won": 1,
        "cost_per_won": D("3000.00"),
    }
    assert february["revenue"] == D("64500.50")  # 59,500.50 confirmed + 5,000.00 partial
    assert february["deal_costs"] == D("999.99")
    assert february[category_key("Rent")] == D("2000.25")  # the void 500.00 left out
    assert february[category_key(OTHER)] == D("100.00")  # "Snacks" is not configured
    assert february["operating_costs"] == D("2100.25")
    assert february["net_profit"] == D("61400.26")
    assert (february["marketing"], february["marketing_share"]) == (D("999.99"), D("0.0155"))
    assert (february["deals_won"], february["cost_per_won"]) == (0, None)
    assert year["id"] == "2026 total"
    assert (year["revenue"], year["net_profit"], year["marketing"]) == (
        D("104500.50"),
        D("88400.26"),
        D("3999.99"),
    )
    assert (year["marketing_share"], year["cost_per_won"]) == (D("0.0383"), D("3999.99"))


def test_revenue_by_the_payment_date() -> None:
    january, february, _ = pnl_rows(inputs(RevenueDay.PAYMENT), ledger.CATEGORIES, ledger.MARKETING)
    assert (january["revenue"], february["revenue"]) == (D("99500.50"), D("5000.00"))


def _by(rows, dimension):  # type: ignore[no-untyped-def]
    return {r["value"]: r for r in rows if r["dimension"] == dimension}


FEBRUARY = Period.month(2026, 2)


def test_net_profit_by_manager_shared_by_revenue() -> None:
    managers = _by(dimension_rows(inputs(), FEBRUARY, Allocation.REVENUE), "manager")
    assert set(managers) == {"Anna", "Boris"}  # all 2,100.25 allocated: no remainder row
    anna, boris = managers["Anna"], managers["Boris"]
    # 2,100.25 shared 59,500.50 : 5,000.00 -> 1,937.44 and 162.81 (the odd kopeck to the
    # larger remainder, Boris's .88 over Anna's .12)
    assert (anna["allocated_costs"], boris["allocated_costs"]) == (D("1937.44"), D("162.81"))
    assert anna["net_profit"] == D("57563.06")
    assert boris["net_profit"] == D("3837.20")  # 5,000.00 − 999.99 − 162.81
    assert anna["allocation_share"] == D("0.9225")


def test_equally_and_not_at_all() -> None:
    equal = _by(dimension_rows(inputs(), FEBRUARY, Allocation.EQUAL), "manager")
    assert (equal["Anna"]["net_profit"], equal["Boris"]["net_profit"]) == (
        D("58450.37"),
        D("2949.89"),
    )
    none = _by(dimension_rows(inputs(), FEBRUARY, Allocation.NONE), "manager")
    assert none["Anna"]["net_profit"] == D("59500.50")
    assert none[NOT_ALLOCATED]["allocated_costs"] == D("2100.25")
    assert none[NOT_ALLOCATED]["net_profit"] == D("-2100.25")


def test_a_cost_tagged_to_a_salon_is_that_salons() -> None:
    salons = _by(dimension_rows(inputs(), FEBRUARY, Allocation.REVENUE), "salon")
    lenina, mira = salons["Lenina"], salons["Mira"]
    assert lenina["tagged_costs"] == D("2000.25")
    # only the untagged 100.00 is shared: 92.25 and 7.75
    assert (lenina["allocated_costs"], mira["allocated_costs"]) == (D("92.25"), D("7.75"))
    assert (lenina["net_profit"], mira["net_profit"]) == (D("57408.00"), D("3992.26"))


@pytest.mark.parametrize("dimension", ["manager", "product", "salon", "city"])
@pytest.mark.parametrize("allocation", list(Allocation))
def test_every_dimension_adds_up_to_the_period_net_profit(
    dimension: str, allocation: Allocation
) -> None:
    rows = _by(dimension_rows(inputs(), FEBRUARY, allocation), dimension)
    assert sum(r["net_profit"] for r in rows.values()) == D("61400.26")


def test_periods() -> None:
    assert Period.month(2026, 12) == Period("2026-12", date(2026, 12, 1), date(2026, 12, 31))
    assert Period.month(2028, 2).end == date(2028, 2, 29)
    assert Period.year_to(date(2026, 3, 5)).start == date(2026, 1, 1)


def test_split_is_exact() -> None:
    assert split(100, [1, 1, 1]) == [34, 33, 33]
    assert split(-100, [1, 1, 1]) == [-34, -33, -33]
    assert split(100, [0, 0]) == [0, 0]
    assert split(7, [3, 0, 1]) == [5, 0, 2]
