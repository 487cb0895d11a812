"""The rebuild benchmark: a deleted Payments tab restored from amoCRM. Prints figures.

It seeds the sandbox with DEALS deals (every payment slot filled) and a marker note for
a third of the payments (confirmations, partial receipts, reversals as the daemon
writes them), imports the ledger with one sync cycle, deletes the Payments tab, and
runs ``rebuild``. Printed: the amoCRM and Sheets requests it used against the minimum
(⌈deals/250⌉ lead pages + ⌈deals/50⌉ notes requests + 2 lookups; 1 metadata read, the
tab recreated, 1 read, 1 locate, 1 write), CPU and wall seconds.

The emulators run in this process (their CPU is counted too) on a manual clock, so the
amoCRM client's 6-requests-a-second spacing costs no wall time here: a real account
adds ⌈requests/6⌉ seconds.

    .venv/bin/python bench/bench_rebuild.py [--deals 2000]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from seeded import marker_note, seeded  # bench/seeded.py, beside this script

from sheetledger.rebuild.run import run_rebuild
from sheetledger.sync.cycle import run_cycle

KINDS = ("confirm", "partial", "reverse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder), args.deals)


def run(folder: Path, deals: int) -> None:
    with seeded(folder, deals) as world:
        config, ledger, crm, store = world.config, world.ledger, world.crm, world.store
        notes = []
        for number, deal_id in enumerate(world.ids):
            if number % 3:
                continue
            kind = KINDS[number // 3 % len(KINDS)]
            amount = "0" if kind == "reverse" else "4000" if kind == "partial" else "10000"
            seq = 1 if kind != "reverse" else 2
            notes.append(
                marker_note(deal_id, 1, number, kind=kind, seq=seq, amount=amount, previous="10000")
            )
        crm.add_notes(notes)
        now = world.now()
        run_cycle(config, ledger, crm, store, now=now)
        world.box.sheets.delete_sheet(config.google.spreadsheet_id, config.google.tabs.payments)

        crm_before, sheets_before = crm.requests_made, ledger.requests
        world.box.sheets.counters.reset()
        cpu, wall = time.process_time(), time.perf_counter()
        report = run_rebuild(config, ledger, crm, store, now=now)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        amo_used = crm.requests_made - crm_before
        amo_min = math.ceil(deals / 250) + math.ceil(deals / 50) + 2
        sheets_used = dict(world.box.sheets.counters.by_kind)
        print(f"rebuild of {deals} deals, {deals * len(world.slots)} payments, {len(notes)} notes")
        print(f"  restored: {report.summary()}")
        print(f"  amoCRM requests: {amo_used} (minimum {amo_min})")
        print(
            f"  Sheets requests: {ledger.requests - sheets_before} by the client "
            f"(emulator: {sheets_used}), the tab's recreation included"
        )
        print(f"  CPU {cpu:.2f} s, wall {wall:.2f} s (emulators in-process, manual amoCRM clock)")


if __name__ == "__main__":
    main()
