"""Profit per deal, P&L per month, net profit per dimension: pure functions of ``ReportInputs``.

Every sum is taken in whole kopecks (int64) and turned into ``Decimal`` at the end, so
the figures reconcile to the kopeck: revenue is the sum of the receipts, net profit is
revenue less every cost, and a dimension's rows (with the allocation row) add up to
the period's net profit. Shares and margins are fractions (0.25 = 25%) for the sheet's
percent format; they are ``None`` where the divisor is zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pandas as pd

from sheetledger.reports.inputs import ReportInputs, month_of

DIMENSIONS = ("manager", "product", "salon", "city")
TAGGABLE = ("salon", "city")  # the dimensions a cost can carry itself
NO_VALUE = "(none)"
NO_DEAL = "(deal not in the ledger)"
NOT_ALLOCATED = "(not allocated)"
OTHER = "(other categories)"
NO_DATE = "(no date)"


class Allocation(StrEnum):
    """How operating costs no dimension value carries are shared out among the values."""

    REVENUE = "revenue"  # in proportion to each value's revenue in the period
    EQUAL = "equal"  # equally among the values present in the period
    NONE = "none"  # not at all: they stand on their own row


def rub(kop: int) -> Decimal:
    """Whole kopecks as a two-place ``Decimal`` (exact)."""
    return Decimal(int(kop)).scaleb(-2)


def _share(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(int(part)) / Decimal(int(whole))).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end``, both included, under a label people read."""

    label: str
    start: date
    end: date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(f"{year:04d}-{month:02d}", first, date.fromordinal(following.toordinal() - 1))

    @classmethod
    def year_to(cls, today: date) -> Period:
        return cls(f"{today.year:04d} to date", date(today.year, 1, 1), today)


def in_period(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    mask = pd.Series(
        [d is not None and period.start <= d <= period.end for d in frame["day"]],
        index=frame.index,
        dtype=bool,
    )
    return frame.loc[mask]


# --------------------------------------------------------------------------- Profit


def profit_rows(inputs: ReportInputs) -> list[dict[str, Any]]:
    """One row per deal (the pivot tables' source), in the Deals tab's order.

    A receipt or a cost linked to a deal the Deals tab does not hold still gets a row
    (with no attributes), so the column totals are the company's totals.
    """
    deals = inputs.deals.drop_duplicates("deal_id").set_index("deal_id")
    revenue = inputs.receipts.groupby("deal_id")["amount"].sum()
    linked = inputs.costs[inputs.costs["deal_id"].notna()]
    deal_costs = linked.groupby(linked["deal_id"].astype("int64"))["amount"].sum()
    known = set(deals.index)
    ids = list(deals.index) + sorted((set(revenue.index) | set(deal_costs.index)) - known)
    got = revenue.reindex(ids, fill_value=0).astype("int64").tolist()
    spent = deal_costs.reindex(ids, fill_value=0).astype("int64").tolist()
    attributes = deals.to_dict("index")
    rows = []
    for deal_id, received, cost in zip(ids, got, spent, strict=True):
        row: dict[str, Any] = {"id": int(deal_id)}
        deal = attributes.get(deal_id)
        if deal is not None:
            row |= {key: deal[key] for key in _DEAL_TEXT}
            row["month"] = month_of(deal["contract_date"])
            row["budget"] = rub(deal["budget"])
            row["balance_due"] = rub(deal["budget"] - received)
        else:
            row["name"] = NO_DEAL
        row["revenue"] = rub(received)
        row["deal_costs"] = rub(cost)
        row["gross_profit"] = rub(received - cost)
        row["margin"] = _share(received - cost, received)
        rows.append(row)
    return rows


_DEAL_TEXT = ("name", "contract_no", "manager", "product", "salon", "city", "pipeline", "status")


# --------------------------------------------------------------------------- P&L


def category_key(category: str) -> str:
    """The P&L column key of an operating-cost category."""
    return f"op:{category}"


def pnl_rows(
    inputs: ReportInputs, categories: Sequence[str], marketing: Iterable[str]
) -> list[dict[str, Any]]:
    """One row per month that saw money move, then each year's total.

    Operating costs go to their category's column (``category_key``); categories that
    are not configured share ``op:(other categories)``. Marketing spend is every cost in
    a marketing category, deal-linked or not; cost per deal won divides it by the deals
    won whose contract month it is.
    """
    receipts = inputs.receipts.assign(
        month=[month_of(d) or NO_DATE for d in inputs.receipts["day"]]
    )
    costs = inputs.costs.assign(month=[month_of(d) or NO_DATE for d in inputs.costs["day"]])
    known = set(categories)
    costs["column"] = [c if c in known else OTHER for c in costs["category"]]
    linked = costs["deal_id"].notna()
    revenue = receipts.groupby("month")["amount"].sum()
    deal_costs = costs[linked].groupby("month")["amount"].sum()
    operating = costs[~linked].groupby(["month", "column"])["amount"].sum()
    marketing_set = set(marketing)
    spend = costs[costs["category"].isin(marketing_set)].groupby("month")["amount"].sum()
    won = inputs.deals[inputs.deals["won"]]
    won_by_month = pd.Series([month_of(d) for d in won["contract_date"]]).value_counts()

    months = sorted(set(revenue.index) | set(costs["month"]))
    columns = [*categories, OTHER]
    totals: dict[str, dict[str, int]] = {}
    rows = []
    for month in months:
        figures = {
            "revenue": int(revenue.get(month, 0)),
            "deal_costs": int(deal_costs.get(month, 0)),
            "marketing": int(spend.get(month, 0)),
            "deals_won": int(won_by_month.get(month, 0)),
        }
        for column in columns:
            figures[column] = int(operating.get((month, column), 0))
        rows.append(_pnl_row(month, figures, columns))
        if month != NO_DATE:
            summed = totals.setdefault(month[:4], dict.fromkeys(figures, 0))
            for key, value in figures.items():
                summed[key] += value
    out: list[dict[str, Any]] = []
    for year in sorted(totals):
        out.extend(r for r in rows if r["id"].startswith(year))
        out.append(_pnl_row(f"{year} total", totals[year], columns))
    out.extend(r for r in rows if r["id"] == NO_DATE)
    return out


def _pnl_row(label: str, f: dict[str, int], columns: Sequence[str]) -> dict[str, Any]:
    operating = sum(f[c] for c in columns)
    gross = f["revenue"] - f["deal_costs"]
    row: dict[str, Any] = {
        "id": label,
        "revenue": rub(f["revenue"]),
        "deal_costs": rub(f["deal_costs"]),
        "gross_profit": rub(gross),
    }
    row |= {category_key(c): rub(f[c]) for c in columns}
    row |= {
        "operating_costs": rub(operating),
        "net_profit": rub(gross - operating),
        "marketing": rub(f["marketing"]),
        "marketing_share": _share(f["marketing"], f["revenue"]),
        "deals_won": f["deals_won"],
        "cost_per_won": rub(round(f["marketing"] / f["deals_won"])) if f["deals_won"] else None,
    }
    return row


# --------------------------------------------------------------------------- Dimensions


def dimension_rows(
    inputs: ReportInputs,
    period: Period,
    allocation: Allocation,
    dimensions: Sequence[str] = DIMENSIONS,
) -> list[dict[str, Any]]:
    """Net profit of each value of each dimension over ``period``.

    net profit = revenue − deal costs − costs tagged to the value − its allocated share
    of the untagged operating costs. What the rule does not allocate stands on a
    ``(not allocated)`` row, so a dimension's rows always add up to the period's net
    profit.
    """
    receipts = in_period(inputs.receipts, period)
    costs = in_period(inputs.costs, period)
    linked = costs[costs["deal_id"].notna()]
    operating = costs[costs["deal_id"].isna()]
    attributes = inputs.deals.set_index("deal_id")
    rows: list[dict[str, Any]] = []
    for dimension in dimensions:
        value_of = attributes[dimension].map(lambda v: v or NO_VALUE)

        def values(deal_ids: pd.Series, value_of: pd.Series = value_of) -> pd.Series:
            return deal_ids.astype("int64").map(value_of).fillna(NO_DEAL)

        revenue = receipts.groupby(values(receipts["deal_id"]))["amount"].sum()
        deal_costs = linked.groupby(values(linked["deal_id"]))["amount"].sum()
        if dimension in TAGGABLE:
            carried = operating[operating[dimension] != ""]
            tagged = carried.groupby(dimension)["amount"].sum()
            untagged = int(operating[operating[dimension] == ""]["amount"].sum())
        else:
            tagged = pd.Series(dtype="int64")
            untagged = int(operating["amount"].sum())
        names = sorted(set(revenue.index) | set(deal_costs.index) | set(tagged.index))
        weights = _weights(names, revenue, allocation)
        shares = split(untagged, [weights[n] for n in names])
        total_weight = sum(weights.values())
        for name, allocated in zip(names, shares, strict=True):
            got = int(revenue.get(name, 0))
            spent = int(deal_costs.get(name, 0))
            own = int(tagged.get(name, 0))
            rows.append(
                {
                    "id": f"{period.label} · {dimension} · {name}",
                    "period": period.label,
                    "dimension": dimension,
                    "value": name,
                    "revenue": rub(got),
                    "deal_costs": rub(spent),
                    "gross_profit": rub(got - spent),
                    "tagged_costs": rub(own),
                    "allocated_costs": rub(allocated),
                    "allocation_share": _share(weights[name], total_weight),
                    "net_profit": rub(got - spent - own - allocated),
                }
            )
        left = untagged - sum(shares)
        if left or allocation is Allocation.NONE:
            rows.append(
                {
                    "id": f"{period.label} · {dimension} · {NOT_ALLOCATED}",
                    "period": period.label,
                    "dimension": dimension,
                    "value": NOT_ALLOCATED,
                    "revenue": rub(0),
                    "deal_costs": rub(0),
                    "gross_profit": rub(0),
                    "tagged_costs": rub(0),
                    "allocated_costs": rub(left),
                    "allocation_share": None,
                    "net_profit": rub(-left),
                }
            )
    return rows


def _weights(names: Sequence[str], revenue: pd.Series, allocation: Allocation) -> dict[str, int]:
    if allocation is Allocation.REVENUE:
        return {n: max(0, int(revenue.get(n, 0))) for n in names}
    if allocation is Allocation.EQUAL:
        return {n: 0 if n == NO_DEAL else 1 for n in names}
    return dict.fromkeys(names, 0)


def split(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` kopecks in proportion to ``weights``, exactly (largest remainders).

    All-zero weights allocate nothing (the caller shows the total as not allocated).
    """
    whole = sum(weights)
    if whole <= 0 or total == 0:
        return [0] * len(weights)
    sign = -1 if total < 0 else 1
    amount = abs(total)
    base = [amount * w // whole for w in weights]
    rest = amount - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % whole), i))
    for i in order[:rest]:
        base[i] += 1
    return [sign * b for b in base]
