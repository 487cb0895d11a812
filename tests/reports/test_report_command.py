"""``sheetledger report``: the period, the figures, the JSON and the PNG."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from sheetledger.config import Category, Config, ExpensesConfig
from sheetledger.reports.terminal import (
    PeriodProblem,
    choose_period,
    period_report,
    save_chart,
)
from tests.reports import ledger
from tests.unit.builders import CONFIG

TODAY = date(2026, 3, 15)
SOURCES = {"deals": ledger.DEALS, "payments": ledger.PAYMENTS, "expenses": ledger.EXPENSES}


def test_the_period_chosen() -> None:
    assert choose_period(None, None, None, TODAY).label == "2026-03"
    assert choose_period("2026-02", None, None, TODAY).end == date(2026, 2, 28)
    ranged = choose_period(None, date(2026, 1, 5), None, TODAY)
    assert (ranged.start, ranged.end) == (date(2026, 1, 5), TODAY)
    with pytest.raises(PeriodProblem, match="YYYY-MM"):
        choose_period("feb", None, None, TODAY)
    with pytest.raises(PeriodProblem, match="not both"):
        choose_period("2026-02", date(2026, 1, 1), None, TODAY)
    with pytest.raises(PeriodProblem, match="before"):
        choose_period(None, date(2026, 2, 1), date(2026, 1, 1), TODAY)


@pytest.fixture
def config() -> Config:
    expenses = ExpensesConfig(
        categories=tuple(Category(name=name) for name in ledger.CATEGORIES),
        default_category="Rent",
    )
    reports = CONFIG.reports.model_copy(update={"marketing_categories": ledger.MARKETING})
    return CONFIG.model_copy(update={"reports": reports, "expenses": expenses})


def test_a_range_of_two_months(config: Config) -> None:
    period = choose_period(None, date(2026, 1, 1), date(2026, 2, 28), TODAY)
    report = period_report(config, SOURCES, period, ("salon",))
    january, february, total = report.pnl
    assert (january["id"], february["id"], total["id"]) == (
        "2026-01",
        "2026-02",
        "2026-01-01 to 2026-02-28 total",
    )
    assert total["revenue"] == D("104500.50")
    assert total["net_profit"] == D("88400.26")
    assert (total["deals_won"], total["cost_per_won"]) == (1, D("3999.99"))
    assert {r["dimension"] for r in report.dimensions} == {"salon"}
    assert sum(r["net_profit"] for r in report.dimensions) == D("88400.26")


def test_a_month_leaves_the_others_out(config: Config) -> None:
    report = period_report(config, SOURCES, choose_period("2026-01", None, None, TODAY))
    assert [r["id"] for r in report.pnl] == ["2026-01", "2026-01 total"]
    assert report.pnl[0]["revenue"] == D("40000.00")


def test_the_chart_is_a_png(config: Config, tmp_path: Path) -> None:
    report = period_report(config, SOURCES, choose_period(None, date(2026, 1, 1), None, TODAY))
    target = tmp_path / "chart.png"
    save_chart(report.pnl, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 5000
