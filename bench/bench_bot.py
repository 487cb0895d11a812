"""How much the bot itself costs per expense message (run by hand or by ``make bench``).

The emulators run in this process; ``sheetledger bot`` runs as a child process, so
its CPU time (from /proc, sampled only around the messages) is the bot's own
overhead — parsing, PTB, gspread, the outbox, the offset commits — without the
emulators' time. Wall time per message (sent → reply) is printed too; it includes
the emulators and the loopback round trips.

    .venv/bin/python bench/bench_bot.py [--messages 50] [--rows 10000] [--deals 1000] [--bills 10]

``--rows`` pre-fills the Expenses tab (the benchmark's size is 50,000). A message
should cost at most one Sheets read (the Expenses header; Deals' leading columns
when a #contract is in it) and one write (``appendCells``), whatever the tab's
size; the sheet's IDs are read once per process, by the warm-up message.

Then ``--bills`` payment orders from the supply manager (text bills whose contract
matches a deal, so the bot goes straight to «Отправить бухгалтеру»): the time from the
bill sent to the question, and from the press to the order written in Invoices (the
message edited to «отправлена бухгалтеру»), with the Sheets requests of each.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seeded import deal_rows, expense_rows  # bench/seeded.py, beside this script

from sheetledger.connect import build_google, master_ledger
from sheetledger.ledger.setup import prepare
from sheetledger.sandbox.runner import OWNER_ID, SUPPLY_ID, Sandbox
from sheetledger.sync.ledger_view import LedgerChanges

MESSAGES = (
    "3500 реклама яндекс",
    "1 200,50 такси вчера",
    "45к аренда #{contract}",
    "кофе в офис 850р",
    "2 такси 700\n300 доставка",
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def seed(box: Sandbox, rows: int, deals: int) -> None:
    config = box.load_config()
    ledger = master_ledger(config, build_google(config))
    prepare(ledger)
    ledger.read(["expenses", "deals"])
    changes = LedgerChanges()
    changes.appends += deal_rows(deals) + expense_rows(rows)
    ledger.write(changes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--rows", type=int, default=50_000, help="Expenses rows already there")
    parser.add_argument("--deals", type=int, default=1_000, help="Deals rows already there")
    parser.add_argument("--bills", type=int, default=10, help="payment orders sent after")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    box = Sandbox.start(folder / "sandbox")
    try:
        t0 = time.perf_counter()
        seed(box, args.rows, args.deals)
        took = time.perf_counter() - t0
        print(f"seeded {args.rows} expenses and {args.deals} deals in {took:.1f}s")
        command = [sys.executable, "-m", "sheetledger", "-c", str(box.config_path), "bot"]
        log = (folder / "bot.log").open("wb")
        env = {**os.environ, "PTB_TIMEDELTA": "true"}
        bot = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            box.telegram.wait_for_poll(timeout=30)
            # One message first: connections, the token, sheet ids, imports settle.
            box.telegram.send_text(OWNER_ID, "100 кофе")
            box.telegram.wait_for_sent(OWNER_ID, 1, timeout=120)
            box.sheets.counters.reset()
            box.telegram.counters.reset()
            cpu_before = cpu_seconds(bot.pid)
            walls = []
            for n in range(args.messages):
                text = MESSAGES[n % len(MESSAGES)].format(contract=1000 + n % max(args.deals, 1))
                text += f" чек{n}"  # each text new: a repeated one is asked about, not recorded
                started = time.perf_counter()
                box.telegram.send_text(OWNER_ID, text)
                box.telegram.wait_for_sent(OWNER_ID, n + 2, timeout=60)
                walls.append(time.perf_counter() - started)
            cpu = cpu_seconds(bot.pid) - cpu_before
            sheets = box.sheets.counters.as_dict()["by_kind"]
            telegram = box.telegram.counters.as_dict()["by_kind"]
            bills = send_bills(box, args.bills, args.deals)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(30)
            log.close()
        n = args.messages
        walls.sort()
        print(f"messages: {n} (expense rows in the tab before: {args.rows})")
        print(f"bot CPU per message (own overhead, emulators excluded): {cpu / n * 1000:.1f} ms")
        print(
            f"wall per message, sent -> reply (emulators included): "
            f"median {statistics.median(walls) * 1000:.0f} ms, "
            f"p95 {walls[int(0.95 * (n - 1))] * 1000:.0f} ms"
        )
        print(
            "Sheets requests per message: "
            + ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(sheets.items()))
            + "  (target: read <= 1, write <= 1)"
        )
        print(
            "Telegram requests per message: "
            + ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(telegram.items()))
        )
        print(bills)
    finally:
        box.stop(save=False)
    return 0


def send_bills(box: Sandbox, count: int, deals: int) -> str:
    """``count`` bills from supply, each confirmed; the figures as text."""
    if not count:
        return "bills: none sent"
    asks, sends, reads, writes = [], [], 0, 0
    for n in range(count):
        before = len(box.telegram.sent(SUPPLY_ID))
        text = f"реклама {5000 + n} ООО «Медиа» счёт {n + 1} №{1000 + n % max(deals, 1)}"
        box.sheets.counters.reset()
        started = time.perf_counter()
        box.telegram.send_text(SUPPLY_ID, text)
        asked = box.telegram.wait_for_sent(SUPPLY_ID, before + 1, timeout=60)[before]
        asks.append(time.perf_counter() - started)
        data = next(
            b["callback_data"]
            for row in asked["reply_markup"]["inline_keyboard"]
            for b in row
            if b["callback_data"].startswith("oy:")
        )
        pressed = time.perf_counter()
        box.telegram.press_button(SUPPLY_ID, asked["message_id"], data)
        box.telegram.wait_for_sent(
            SUPPLY_ID,
            1,
            timeout=60,
            predicate=lambda m, i=asked["message_id"]: (
                m["message_id"] == i and "отправлена" in (m.get("text") or "")
            ),
        )
        sends.append(time.perf_counter() - pressed)
        counted = box.sheets.counters.as_dict()["by_kind"]
        reads += counted.get("read", 0)
        writes += counted.get("write", 0)
    total = [a + s for a, s in zip(asks, sends, strict=True)]
    return (
        f"bills: {count}; sent -> question median {statistics.median(asks) * 1000:.0f} ms; "
        f"«send» pressed -> order written median {statistics.median(sends) * 1000:.0f} ms; "
        f"bill -> order written (both) median {statistics.median(total) * 1000:.0f} ms, "
        f"max {max(total) * 1000:.0f} ms; Sheets per bill: read {reads / count:.2f}, "
        f"write {writes / count:.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
