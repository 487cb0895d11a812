"""``sheetledger report``: the management table's figures for a period, in the terminal.

Pure planning (``choose_period``, ``period_report``) apart from the printing and the
picture; the same figures as the tabs, from the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sheetledger.config import Config
from sheetledger.reports.figures import (
    DIMENSIONS,
    Allocation,
    Period,
    dimension_rows,
    in_period,
    pnl_rows,
)
from sheetledger.reports.inputs import ReportInputs, RevenueDay, gather


class PeriodProblem(ValueError):
    """A period the command cannot use; the message says what to type instead."""


def choose_period(month: str | None, start: date | None, end: date | None, today: date) -> Period:
    """``--month YYYY-MM``, or ``--from``/``--to`` (either may be left out), or this month."""
    if month is not None:
        if start is not None or end is not None:
            raise PeriodProblem("give --month or --from/--to, not both")
        try:
            year, number = (int(part) for part in month.split("-"))
            return Period.month(year, number)
        except ValueError:
            raise PeriodProblem(f"--month {month!r}: expected YYYY-MM, e.g. 2026-11") from None
    if start is None and end is None:
        return Period.month(today.year, today.month)
    first = start or date(today.year, 1, 1)
    last = end or today
    if last < first:
        raise PeriodProblem(f"--to {last} is before --from {first}")
    return Period(f"{first} to {last}", first, last)


@dataclass(frozen=True)
class PeriodReport:
    period: Period
    pnl: list[dict[str, Any]]  # the months of the period, then the period's total
    dimensions: list[dict[str, Any]]


def period_report(
    config: Config,
    sources: Mapping[str, Sequence[Mapping[str, Any]]],
    period: Period,
    by: Sequence[str] = DIMENSIONS,
) -> PeriodReport:
    """The P&L months of ``period`` with their total, and net profit by ``by``. Pure."""
    inputs = gather(
        sources["deals"],
        sources["payments"],
        sources["expenses"],
        sources.get("orders", ()),
        day=RevenueDay(config.reports.revenue_day),
    )
    inside = ReportInputs(
        inputs.deals, in_period(inputs.receipts, period), in_period(inputs.costs, period)
    )
    categories = tuple(c.name for c in config.expenses.categories)
    months = [
        row
        for row in pnl_rows(inside, categories, config.reports.marketing_categories)
        if not row["id"].endswith("total")
    ]
    whole = pnl_rows(
        ReportInputs(
            inside.deals,
            inside.receipts.assign(day=period.start),
            inside.costs.assign(day=period.start),
        ),
        categories,
        config.reports.marketing_categories,
    )
    total = dict(whole[0]) if whole else {}
    if total:
        # Deals won count by their contract month: the months' own counts, added up.
        won = sum(int(m["deals_won"]) for m in months)
        total |= {"id": f"{period.label} total", "deals_won": won}
        total["cost_per_won"] = (
            (total["marketing"] / won).quantize(Decimal("0.01")) if won else None
        )
    allocation = Allocation(config.reports.allocation)
    return PeriodReport(
        period, months + ([total] if total else []), dimension_rows(inside, period, allocation, by)
    )


def as_json(report: PeriodReport) -> str:
    def plain(value: Any) -> Any:
        return str(value) if isinstance(value, Decimal) else value

    return json.dumps(
        {
            "period": {
                "label": report.period.label,
                "from": report.period.start.isoformat(),
                "to": report.period.end.isoformat(),
            },
            "pnl": [{k: plain(v) for k, v in row.items()} for row in report.pnl],
            "dimensions": [{k: plain(v) for k, v in row.items()} for row in report.dimensions],
        },
        ensure_ascii=False,
        indent=2,
    )


def _rub(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.2f}".replace(",", " ")
    return str(value)


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def print_report(report: PeriodReport, console: Console) -> None:
    # A figure a line and a month a column, as a P&L is read (and as it fits a terminal).
    pnl = Table(title=f"P&L, {report.period.label}")
    keys = [k for k in (report.pnl[0] if report.pnl else {}) if k != "id"]
    pnl.add_column("")
    for row in report.pnl:
        pnl.add_column(str(row["id"]), justify="right")
    for key in keys:
        pnl.add_row(
            key.removeprefix("op:").replace("_", " "),
            *(_percent(r[key]) if key.endswith("share") else _rub(r[key]) for r in report.pnl),
        )
    console.print(pnl if report.pnl else f"No money moved in {report.period.label}.")
    for dimension in dict.fromkeys(r["dimension"] for r in report.dimensions):
        table = Table(title=f"Net profit by {dimension}, {report.period.label}")
        for header in (dimension, "revenue", "deal costs", "gross profit", "own costs"):
            table.add_column(header, justify="left" if header == dimension else "right")
        for header in ("allocated", "share", "net profit"):
            table.add_column(header, justify="right")
        for row in report.dimensions:
            if row["dimension"] != dimension:
                continue
            table.add_row(
                str(row["value"]),
                *(_rub(row[k]) for k in ("revenue", "deal_costs", "gross_profit", "tagged_costs")),
                _rub(row["allocated_costs"]),
                _percent(row["allocation_share"]),
                _rub(row["net_profit"]),
            )
        console.print(table)


def save_chart(months: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Marketing spend (columns, right axis) against turnover (a line, left axis) by month, as a
    PNG. Two axes: marketing is a few per cent of turnover, and one axis would flatten it."""
    # optional dependency at run time: matplotlib is loaded only when a PNG is asked for
    import matplotlib

    matplotlib.use("Agg")  # no display: a daemon, a cron job, a CI runner
    from matplotlib import pyplot as plt  # optional dependency: as above
    from matplotlib.ticker import FuncFormatter  # optional dependency: as above

    rows = [r for r in months if not str(r["id"]).endswith("total")]
    labels = [str(r["id"]) for r in rows]
    roubles = FuncFormatter(lambda value, _: f"{value:,.0f} ₽".replace(",", "\u202f"))
    figure, turnover = plt.subplots(figsize=(9, 4.8), dpi=100)
    marketing = turnover.twinx()
    try:
        bars = marketing.bar(
            labels, [float(r["marketing"]) for r in rows], color="#e69f00", alpha=0.75, width=0.6
        )
        (line,) = turnover.plot(
            labels, [float(r["revenue"]) for r in rows], marker="o", color="#0072b2", linewidth=2
        )
        turnover.set_zorder(marketing.get_zorder() + 1)  # the line over the columns
        turnover.patch.set_visible(False)
        turnover.set_ylabel("Turnover")
        marketing.set_ylabel("Marketing")
        for axis in (turnover, marketing):
            axis.yaxis.set_major_formatter(roubles)
            axis.set_ylim(bottom=0)
        turnover.tick_params(axis="x", labelrotation=45)
        turnover.set_title("Marketing spend vs turnover")
        turnover.legend([line, bars], ["Turnover", "Marketing"], loc="upper left")
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
