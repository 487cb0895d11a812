"""The reconciliation benchmark: amoCRM read in bulk, the findings written once. Prints figures.

It seeds the sandbox with DEALS deals (every payment slot filled) and one marker note
per payment (a confirmation, as the daemon writes it), imports the ledger with one sync
cycle, and runs ``reconcile``. Printed: the amoCRM requests it used against the bound
⌈deals/250⌉ lead pages + ⌈notes/250⌉ note pages + 3, the Sheets requests
(1 read; a write locates its rows first), the findings, CPU and wall seconds, and the time the
amoCRM requests alone would take at amoCRM's 7 requests a second.

The emulators run in this process (their CPU is counted too) on a manual clock, so the
amoCRM client's request spacing costs no wall time here.

    .venv/bin/python bench/bench_reconcile.py [--deals 10000]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from seeded import marker_note, seeded  # bench/seeded.py, beside this script

from sheetledger.reconcile.run import run_reconcile
from sheetledger.sync.cycle import run_cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder), args.deals)


def run(folder: Path, deals: int) -> None:
    with seeded(folder, deals) as world:
        config, ledger, crm, store = world.config, world.ledger, world.crm, world.store
        notes = [
            marker_note(deal_id, slot, number, kind="confirm", seq=1, amount="10000", previous=None)
            for number, deal_id in enumerate(world.ids)
            for slot in range(1, len(world.slots) + 1)
        ]
        crm.add_notes(notes)
        now = world.now()
        run_cycle(config, ledger, crm, store, now=now)

        crm_before, sheets_before = crm.requests_made, ledger.requests
        world.box.sheets.counters.reset()
        cpu, wall = time.process_time(), time.perf_counter()
        report = run_reconcile(config, ledger, crm, store, today=now.astimezone(config.tz).date())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        amo_used = crm.requests_made - crm_before
        amo_max = math.ceil(deals / 250) + math.ceil(len(notes) / 250) + 3
        codes: dict[str, int] = {}
        for tracked in report.plan.tracked:
            codes[tracked.finding.code] = codes.get(tracked.finding.code, 0) + 1
        print(
            f"reconcile of {deals} deals, {deals * len(world.slots)} payments, {len(notes)} notes"
        )
        print(f"  findings: {codes or 'none'}")
        verdict = "ok" if amo_used <= amo_max else "MISSED"
        print(f"  amoCRM requests: {amo_used} (bound {amo_max}) {verdict}")
        print(f"  at 7 requests a second: {amo_used / 7:.1f} s of amoCRM time (bound 60 s)")
        print(
            f"  Sheets requests: {ledger.requests - sheets_before} by the client "
            f"(emulator: {dict(world.box.sheets.counters.by_kind)})"
        )
        print(f"  CPU {cpu:.2f} s, wall {wall:.2f} s (emulators in-process, manual amoCRM clock)")


if __name__ == "__main__":
    main()
