"""Draw the README's chart: ``python scripts/readme_chart.py [OUT.png]``.

The same picture ``sheetledger report --png`` saves and the daily digest sends, drawn by the
same code (``reports.terminal.period_report`` and ``save_chart``) from an illustrative year
of a furniture business: deals, their confirmed payments and the expenses typed to the bot,
generated here with a fixed seed, so the picture is the same every time it is drawn.
"""

from __future__ import annotations

import random
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sheetledger.config import load_config
from sheetledger.reports.figures import Period
from sheetledger.reports.terminal import period_report, save_chart

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img" / "marketing-vs-turnover.png"
YEAR = 2026
SEED = 20261202


def ledger() -> dict[str, list[dict[str, Any]]]:
    """A year: marketing spend each month, and the deals (and money) it brings a month later."""
    rng = random.Random(SEED)
    deals: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    expenses: list[dict[str, Any]] = []
    spend = 60_000
    for month in range(1, 13):
        spend = int(spend * rng.uniform(0.9, 1.25)) // 1000 * 1000
        for kind, amount in (("Реклама", spend), ("Аренда", 180_000), ("Зарплата", 420_000)):
            expenses.append(
                {"id": f"e{month}{kind}", "date": date(YEAR, month, 5),
                 "amount": Decimal(amount), "category": kind}
            )  # fmt: skip
        won = int(spend / 9_000 * rng.uniform(0.8, 1.2))
        for n in range(won):
            deal = month * 1000 + n
            price = rng.randrange(60, 320) * 1000
            deals.append(
                {"id": deal, "name": f"Сделка {deal}", "manager": "Анна", "status_id": 142,
                 "contract_date": date(YEAR, month, 10), "budget": Decimal(price)}
            )  # fmt: skip
            paid = date(YEAR, month, rng.randrange(10, 28))
            payments.append(
                {"id": f"{deal}:1", "deal_id": deal, "amount": Decimal(price),
                 "method": "bank", "confirmed": True, "confirmed_at": paid, "date": paid}
            )  # fmt: skip
    return {"deals": deals, "payments": payments, "expenses": expenses}


def main(out: Path = OUT) -> Path:
    config = load_config(ROOT / "config.yaml", require_secrets=False)
    reports = config.reports.model_copy(update={"marketing_categories": ("Реклама",)})
    config = config.model_copy(update={"reports": reports})
    year = Period(str(YEAR), date(YEAR, 1, 1), date(YEAR, 12, 31))
    months = period_report(config, ledger(), year, ()).pnl
    out.parent.mkdir(parents=True, exist_ok=True)
    save_chart(months, out)
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
