"""The reports benchmark, run by ``make bench``; the tests never run it.

At the benchmark's scale — 10,000 deals, 30,000 payments, 50,000 expenses — it measures:
* the CPU of computing every report tab (Profit, P&L, Dimensions) from the rows, in this
  process, with ``time.process_time()`` (target ≤ 2 s);
* the Sheets requests of the daemon's report job against the Sheets emulator holding
  that ledger: a recompute after a change (target ≤ 2: one read of the sources, one
  write of the three tabs), and an idle call (0 Sheets requests, nothing computed).

The emulator runs in this process (threads), so only request counts are taken from
that part, never its CPU. A missed target is printed as MISSED; the exit code stays 0.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sheetledger.config import Config
from sheetledger.connect import build_google, master_ledger
from sheetledger.ledger.setup import prepare
from sheetledger.reports.refresh import ReportMemory, compute_reports, refresh_reports
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sync.ledger_view import LedgerChanges, RowAppend

DEALS, PAYMENTS_PER_DEAL, EXPENSES = 10_000, 3, 50_000
TODAY = date(2026, 11, 27)
START = date(2026, 1, 1)


def ledger_rows(config: Config, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rnd = random.Random(seed)
    categories = [c.name for c in config.expenses.categories]
    day = lambda: START + timedelta(days=rnd.randrange(330))  # noqa: E731
    deals = [
        {
            "id": 1000 + i,
            "name": f"Deal {i}",
            "contract_no": f"K-{i}",
            "manager": rnd.choice(["Anna", "Boris", "Vera", "Gleb", "Dina"]),
            "product": rnd.choice(["Kitchen", "Wardrobe", "Bed", "Sofa"]),
            "salon": rnd.choice(["Lenina", "Mira", "Kirova"]),
            "city": rnd.choice(["Ekaterinburg", "Chelyabinsk"]),
            "pipeline": "Sales",
            "status": "Won",
            "status_id": rnd.choice([142, 143, 5]),
            "contract_date": day(),
            "budget": Decimal(rnd.randrange(50_000, 500_000)),
        }
        for i in range(DEALS)
    ]
    payments = []
    for deal in deals:
        for slot in range(1, PAYMENTS_PER_DEAL + 1):
            confirmed = rnd.random() < 0.6
            payments.append(
                {
                    "id": f"{deal['id']}:{slot}",
                    "deal_id": deal["id"],
                    "amount": Decimal(rnd.randrange(5_000, 150_000)),
                    "date": day(),
                    "confirmed": confirmed,
                    "received": Decimal("1000.50") if rnd.random() < 0.1 else None,
                    "confirmed_at": day() if confirmed else None,
                }
            )
    expenses = [
        {
            "id": f"tg:1:{i}:1",
            "date": day(),
            "amount": Decimal(rnd.randrange(100, 100_000)) / 100,
            "category": rnd.choice(categories),
            "deal_id": deals[rnd.randrange(DEALS)]["id"] if rnd.random() < 0.4 else None,
            "void": rnd.random() < 0.02,
        }
        for i in range(EXPENSES)
    ]
    return {"deals": deals, "payments": payments, "expenses": expenses}


def check(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        box = Sandbox.start(Path(folder))
        try:
            config = box.load_config()
            rows = ledger_rows(config)

            started = time.process_time()
            tabs = compute_reports(config, rows, TODAY)
            cpu = time.process_time() - started
            print(
                f"reports at {DEALS:,} deals, {DEALS * PAYMENTS_PER_DEAL:,} payments, "
                f"{EXPENSES:,} expenses: {len(tabs['profit']):,} Profit rows, "
                f"{len(tabs['pnl'])} P&L rows, {len(tabs['dimensions'])} Dimensions rows"
            )
            print(f"  CPU to compute every report tab: {cpu:.2f} s (target ≤ 2 s: {check(cpu, 2)})")

            ledger = master_ledger(config, build_google(config))
            prepare(ledger)
            changes = LedgerChanges(
                appends=[RowAppend(tab, str(row["id"]), row) for tab in rows for row in rows[tab]]
            )
            ledger.write(changes)
            memory = ReportMemory()
            refresh_reports(config, ledger, TODAY, memory)  # the first: sheet ids, then settle
            refresh_reports(config, ledger, TODAY, memory)
            ledger.write(
                LedgerChanges(
                    appends=[
                        RowAppend(
                            "expenses",
                            "bench:1",
                            {
                                "id": "bench:1",
                                "date": TODAY,
                                "amount": Decimal("10"),
                                "category": config.expenses.default_category,
                            },
                        )
                    ]
                )
            )
            before = ledger.requests
            wall = time.perf_counter()
            changed = refresh_reports(config, ledger, TODAY, memory)
            wall = time.perf_counter() - wall
            used = ledger.requests - before
            print(
                f"  Sheets requests to recompute after a change: {used} "
                f"(target ≤ 2: {check(used, 2)}; written: {changed.written}; "
                f"wall {wall:.2f} s with the emulator)"
            )
            refresh_reports(config, ledger, TODAY, memory)  # our own write: read, no write
            before = ledger.requests
            idle = refresh_reports(config, ledger, TODAY, memory)
            used = ledger.requests - before
            print(
                f"  idle call: {used} Sheets requests, recomputed: {idle.recomputed} "
                f"(target 0 and False: {check(used + idle.recomputed, 0)})"
            )
        finally:
            box.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
