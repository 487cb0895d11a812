"""What the order desk (``sheetledger/orders/book.py``) costs per call, and a cycle with orders.

    .venv/bin/python bench/bench_orders.py [--rows 50000] [--calls 20]

The Invoices tab is pre-filled with ``--rows`` orders (one in ten open, the others paid
when they were made, over a year and more). Printed per call of
``OrderBook.create`` (the bot's write path): Sheets reads and writes as the emulator counted
them, and the wall time (emulator and loopback included). The first create of a process
reads the Order ID and Source columns (to stay idempotent should ``state.db`` be lost);
every later one reads the tab's header only, then appends once. Then ``get`` and ``pay``
(two small reads: the ID column, then the row; ``pay`` then writes that row), and sync
cycles over a ledger of ``--cycle-rows`` orders (5,000: the scale the orders are meant for).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from seeded import order_rows  # bench/seeded.py, beside this script

from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
from sheetledger.crm.amocrm import AmoClient
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.view import LedgerChanges
from sheetledger.orders.book import OrderBook
from sheetledger.orders.model import OrderDraft, Payment
from sheetledger.sandbox.runner import SUPPLY_ID, Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.cycle import run_cycle


def seed(box: Sandbox, rows: int) -> None:
    config = box.load_config()
    ledger = master_ledger(config, build_google(config))
    prepare(ledger)
    ledger.read(["invoices"])
    changes = LedgerChanges()
    # A year and more of orders, ~120 a day (one day's IDs are 4 hex digits of a hash).
    changes.appends += order_rows(rows, days=420)
    ledger.write(changes)


def counted(box: Sandbox) -> tuple[int, int]:
    by_kind = box.sheets.counters.by_kind
    return by_kind.get("read", 0), by_kind.get("write", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument(
        "--cycle-rows", type=int, default=5_000, help="orders in the ledger the cycle runs over"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        box = Sandbox.start(Path(folder) / "sandbox")
        try:
            started = time.perf_counter()
            seed(box, args.rows)
            print(f"seeded {args.rows:,} orders in {time.perf_counter() - started:.1f} s")
            config = box.load_config()
            store = LocalState(Path(folder) / "state.db")
            book = OrderBook(master_ledger(config, build_google(config)), store)
            today = date(2026, 12, 2)
            walls: list[float] = []
            per_call: list[tuple[int, int]] = []
            for n in range(args.calls + 1):
                draft = OrderDraft(f"tg:{SUPPLY_ID}:b{n}", "Павел", Decimal("12000"), "ООО Опт")
                box.sheets.counters.reset()
                began = time.perf_counter()
                order = book.create(draft, datetime(2026, 12, 2, 10, 0))
                wall = time.perf_counter() - began
                if n == 0:
                    reads, writes = counted(box)
                    print(
                        f"create, first of the process: {reads} read(s), {writes} write(s), "
                        f"{wall * 1000:.0f} ms (reads the Order ID and Source columns)"
                    )
                    continue
                walls.append(wall)
                per_call.append(counted(box))
            reads = max(r for r, _ in per_call)
            writes = max(w for _, w in per_call)
            print(
                f"create ×{args.calls} with {args.rows:,} rows: at most {reads} read(s) and "
                f"{writes} write(s) per call; median {statistics.median(walls) * 1000:.0f} ms, "
                f"max {max(walls) * 1000:.0f} ms"
            )
            box.sheets.counters.reset()
            began = time.perf_counter()
            book.create(
                OrderDraft(f"tg:{SUPPLY_ID}:b1", "Павел", Decimal("12000")), datetime.now(UTC)
            )
            reads, writes = counted(box)
            print(
                f"create repeated (a redelivered update): {reads} read(s), {writes} write(s), "
                f"{(time.perf_counter() - began) * 1000:.0f} ms"
            )
            for name, call in (
                ("get", lambda: book.get(order.id)),
                ("pay", lambda: book.pay(order.id, Payment(today, Decimal("12000"), "р/с"))),
            ):
                box.sheets.counters.reset()
                began = time.perf_counter()
                call()
                reads, writes = counted(box)
                print(
                    f"{name}: {reads} read(s), {writes} write(s), "
                    f"{(time.perf_counter() - began) * 1000:.0f} ms"
                )
        finally:
            box.stop(save=False)
        box = Sandbox.start(Path(folder) / "cycle")
        try:
            seed(box, args.cycle_rows)
            print(f"a sync cycle over {args.cycle_rows:,} orders:")
            cycle(box, folder)
        finally:
            box.stop(save=False)


def cycle(box: Sandbox, folder: str) -> None:
    """One sync cycle over the seeded ledger: a fresh read of every tab, orders planned."""
    config = box.load_config()
    client = build_google(config)
    ledger = master_ledger(config, client)
    cabinets = cabinet_ledgers(config, client)
    for sheets in cabinets.values():
        prepare(sheets)
    crm = AmoClient(config.amocrm.base_url, config.amocrm.token.reveal())
    store = LocalState(Path(folder) / "cycle.db")
    now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    labels = (
        "first cycle (states written, open orders mirrored)",
        "next cycle",
        "third cycle (the cabinets unchanged: not read again)",
    )
    for label in labels:
        box.sheets.counters.reset()
        began = time.perf_counter()
        report = run_cycle(config, ledger, crm, store, now=now, cabinets=cabinets)
        reads, writes = counted(box)
        print(
            f"sync, {label}: {reads} Sheets read(s), {writes} write(s), "
            f"{time.perf_counter() - began:.1f} s, {report.cells_written:,} cells"
        )
        now += timedelta(minutes=1)


if __name__ == "__main__":
    main()
