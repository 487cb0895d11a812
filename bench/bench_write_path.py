"""The bot's write path on the sandbox: a bill to the accountant, an expense to its reply.

    .venv/bin/python bench/bench_write_path.py [--deals 10000] [--orders 5000]
        [--rows 50000] [--bills 10] [--messages 30]

The master is seeded with ``--deals`` deals, ``--orders`` payment orders (Invoices) and
``--rows`` expenses; ``sheetledger bot`` runs as a child process on the emulators, as in
production. Printed, with the median and p95 of each step:

(a) a bill sent in Telegram → the accountant's notification (issue 10's target: under 2 s
    with 10,000 deals and 5,000 orders). The supply manager sends a text bill naming a
    contract, so the bot asks «Отправить бухгалтеру?» straight away (step 1: sent →
    question); he presses the button (step 2: pressed → order written, the message edited
    to «отправлена бухгалтеру»; the news is queued in the bot's ``state.db`` by then); then
    the real ``OrderNotifier.flush`` (``sheetledger/notify/outbox.py``, the daemon's
    ``notify`` job) runs on that ``state.db`` (step 3: flush → the Telegram card in the
    accountant's chat and the SMS on her phone, both counted on the emulators). The total
    is the machine's part: the person's reading and pressing, and the wait for the notify
    job's next run (``schedule.outbox_flush``), are not in it.
(b) an expense message → the bot's reply with ``--rows`` expenses in the tab (target: 1 s,
    at most one Sheets read and one write per message).

Sheets requests are counted by kind on the emulator, per bill and per message.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seeded import deal_rows, expense_rows, order_rows  # bench/seeded.py, beside this script

from sheetledger.connect import build_google, build_order_news, master_ledger
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.view import LedgerChanges
from sheetledger.sandbox.runner import ACCOUNTANT_ID, ACCOUNTANT_PHONE, OWNER_ID, SUPPLY_ID, Sandbox
from sheetledger.store import LocalState

EXPENSES = (
    "3500 реклама яндекс",
    "1 200,50 такси вчера",
    "45к аренда #{contract}",
    "кофе в офис 850р",
    "2 такси 700\n300 доставка",
)


def seed(box: Sandbox, deals: int, orders: int, rows: int) -> None:
    """The master's Deals, Invoices and Expenses, written in one go through the ledger."""
    config = box.load_config()
    ledger = master_ledger(config, build_google(config))
    prepare(ledger)
    ledger.read(["deals", "invoices", "expenses"])
    changes = LedgerChanges()
    # A year of orders, one in ten still open (the others paid when they were made).
    orders_ = order_rows(orders, days=365, tag="seed")
    changes.appends += deal_rows(deals) + orders_ + expense_rows(rows)
    ledger.write(changes)


class Counted:
    """Sheets requests by kind since the last ``reset``, summed over the steps measured."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.reads = self.writes = 0

    def reset(self) -> None:
        self.box.sheets.counters.reset()

    def add(self) -> None:
        by_kind = self.box.sheets.counters.as_dict()["by_kind"]
        self.reads += by_kind.get("read", 0)
        self.writes += by_kind.get("write", 0)


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def sent_on(asked: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Whether a bot message is ``asked`` edited to say the order went to the accountant."""
    return lambda m: (
        m["message_id"] == asked["message_id"] and "отправлена" in (m.get("text") or "")
    )


def spread(seconds: list[float]) -> str:
    """``median … ms, p95 … ms`` of a list of durations."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


def bills(box: Sandbox, count: int, deals: int) -> list[str]:
    """(a): ``count`` bills from supply, each sent, confirmed and told to the accountant."""
    config = box.load_config()
    store = LocalState(config.state_dir / "state.db")  # the bot's own outbox
    notifier = build_order_news(config, store)
    box.telegram.open_chat(ACCOUNTANT_ID)  # she pressed Start: the bot may write to her
    counted = Counted(box)
    asks, writes, flushes, cards, sms = [], [], [], 0, 0
    try:
        for n in range(count):
            before = len(box.telegram.sent(SUPPLY_ID))
            told = len(box.telegram.sent(ACCOUNTANT_ID))
            texted = len(box.sms.messages(ACCOUNTANT_PHONE))
            contract = 1000 + (n * 997) % max(deals, 1)
            text = f"реклама {5000 + n} ООО «Медиа» счёт {n + 1} №{contract}"
            counted.reset()
            started = time.perf_counter()
            box.telegram.send_text(SUPPLY_ID, text)
            asked = box.telegram.wait_for_sent(SUPPLY_ID, before + 1, timeout=60)[before]
            pressed = time.perf_counter()
            asks.append(pressed - started)
            data = next(
                b["callback_data"]
                for row in asked["reply_markup"]["inline_keyboard"]
                for b in row
                if b["callback_data"].startswith("oy:")
            )
            box.telegram.press_button(SUPPLY_ID, asked["message_id"], data)
            box.telegram.wait_for_sent(SUPPLY_ID, 1, timeout=60, predicate=sent_on(asked))
            flushed = time.perf_counter()
            writes.append(flushed - pressed)
            report = notifier.flush()  # the daemon's notify job
            if not report.ok or report.failed or report.unsure:
                raise RuntimeError(f"the notify flush: {report} {report.problems}")
            box.telegram.wait_for_sent(ACCOUNTANT_ID, told + 1, timeout=60)
            if len(box.sms.messages(ACCOUNTANT_PHONE)) <= texted:
                raise RuntimeError("the flush sent no SMS to the accountant")
            flushes.append(time.perf_counter() - flushed)
            counted.add()
            cards += len(box.telegram.sent(ACCOUNTANT_ID)) - told
            sms += len(box.sms.messages(ACCOUNTANT_PHONE)) - texted
    finally:
        store.close()
    total = [a + w + f for a, w, f in zip(asks, writes, flushes, strict=True)]
    return [
        f"(a) bill sent in Telegram -> the accountant's card and SMS, {count} bills:",
        f"    sent -> question «Отправить бухгалтеру?»: {spread(asks)}",
        f"    «send» pressed -> order written:          {spread(writes)}",
        f"    notify flush -> card + SMS delivered:     {spread(flushes)}",
        f"    total (machine time, target < 2 s):       {spread(total)}, max "
        f"{max(total) * 1000:.0f} ms",
        f"    per bill: Sheets read {counted.reads / count:.2f}, write "
        f"{counted.writes / count:.2f}; accountant's Telegram messages {cards / count:.2f}, "
        f"SMS {sms / count:.2f}",
    ]


def expenses(box: Sandbox, count: int, rows: int, deals: int) -> list[str]:
    """(b): ``count`` expense messages from the owner, each waited for its reply."""
    counted = Counted(box)
    walls = []
    for n in range(count):
        text = EXPENSES[n % len(EXPENSES)].format(contract=1000 + n % max(deals, 1))
        text += f" чек{n}"  # each text new: a repeated one is asked about, not recorded
        before = len(box.telegram.sent(OWNER_ID))
        counted.reset()

        def message(text: str = text, before: int = before) -> None:
            box.telegram.send_text(OWNER_ID, text)
            box.telegram.wait_for_sent(OWNER_ID, before + 1, timeout=60)

        walls.append(timed(message))
        counted.add()
    return [
        f"(b) expense message -> reply, {rows:,} expense rows in the tab, {count} messages:",
        f"    {spread(walls)}, max {max(walls) * 1000:.0f} ms (target: 1 s)",
        f"    Sheets per message: read {counted.reads / count:.2f}, write "
        f"{counted.writes / count:.2f} (target: read <= 1, write <= 1)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--rows", type=int, default=50_000, help="Expenses rows already there")
    parser.add_argument("--bills", type=int, default=10)
    parser.add_argument("--messages", type=int, default=30)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-write-path-"))
    box = Sandbox.start(folder / "sandbox")
    try:
        took = timed(lambda: seed(box, args.deals, args.orders, args.rows))
        print(
            f"seeded {args.deals:,} deals, {args.orders:,} orders and {args.rows:,} expenses "
            f"in {took:.1f} s"
        )
        command = [sys.executable, "-m", "sheetledger", "-c", str(box.config_path), "bot"]
        env = {**os.environ, "PTB_TIMEDELTA": "true"}
        with (folder / "bot.log").open("wb") as log:
            bot = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            try:
                box.telegram.wait_for_poll(timeout=30)
                # One message first: connections, the token, sheet ids, imports settle.
                box.telegram.send_text(OWNER_ID, "100 кофе")
                box.telegram.wait_for_sent(OWNER_ID, 1, timeout=120)
                lines = bills(box, args.bills, args.deals) if args.bills else []
                if args.messages:
                    lines += expenses(box, args.messages, args.rows, args.deals)
            finally:
                bot.send_signal(signal.SIGTERM)
                bot.wait(30)
        print("\n".join(lines))
    finally:
        box.stop(save=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
