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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sheetledger.connect import build_google, master_ledger
from sheetledger.crm.amocrm import AmoClient
from sheetledger.ledger.setup import prepare
from sheetledger.rebuild.run import run_rebuild
from sheetledger.sandbox.amocrm import ManualClock
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.cycle import run_cycle
from sheetledger.sync.push import PushEvent, note_text

KINDS = ("confirm", "partial", "reverse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder), args.deals)


def run(folder: Path, deals: int) -> None:
    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC).timestamp())
    box = Sandbox.start(folder, clock=clock)
    try:
        config = box.load_config()
        ledger = master_ledger(config, build_google(config))
        ledger.sleep = lambda seconds: None
        prepare(ledger)
        crm = AmoClient(
            config.amocrm.base_url, config.amocrm.token.reveal(), sleep=clock.advance, clock=clock
        )
        store = LocalState(folder / "state.db")
        amo = box.info["amocrm"]
        slots = amo["slots"]
        leads = []
        for n in range(deals):
            values = [{"field_id": amo["fields"]["contract_no"], "values": [{"value": str(n)}]}]
            for slot in slots:
                values.append({"field_id": slot["amount"], "values": [{"value": "10000"}]})
                values.append(
                    {"field_id": slot["method"], "values": [{"value": "Наличными в кассу"}]}
                )
            leads.append(
                {
                    "name": f"Договор {n}",
                    "price": 10_000 * len(slots),
                    "pipeline_id": amo["pipeline_id"],
                    "status_id": amo["statuses"]["Договор заключен"],
                    "responsible_user_id": amo["managers"][n % len(amo["managers"])],
                    "custom_fields_values": values,
                }
            )
        ids = [int(lead["id"]) for lead in crm.create_leads(leads)]
        notes = []
        for number, deal_id in enumerate(ids):
            if number % 3:
                continue
            kind = KINDS[number // 3 % len(KINDS)]
            event = PushEvent(
                payment_id=f"{deal_id}:1",
                deal_id=deal_id,
                kind=kind,
                seq=1 if kind != "reverse" else 2,
                amount=Decimal(
                    "0" if kind == "reverse" else "4000" if kind == "partial" else "10000"
                ),
                previous=Decimal("10000"),
                expected=Decimal("10000"),
                method="Наличными в кассу",
                by="Светлана",
                on=date(2026, 11, 20),
                payment_kind="Предоплата",
                contract_no=str(number),
            )
            notes.append(
                {"entity_id": deal_id, "note_type": "common", "params": {"text": note_text(event)}}
            )
        crm.add_notes(notes)
        now = datetime.fromtimestamp(clock(), UTC)
        run_cycle(config, ledger, crm, store, now=now)
        box.sheets.delete_sheet(config.google.spreadsheet_id, config.google.tabs.payments)

        crm_before, sheets_before = crm.requests_made, ledger.requests
        box.sheets.counters.reset()
        cpu, wall = time.process_time(), time.perf_counter()
        report = run_rebuild(config, ledger, crm, store, now=now)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        amo_used = crm.requests_made - crm_before
        amo_min = math.ceil(deals / 250) + math.ceil(deals / 50) + 2
        sheets_used = dict(box.sheets.counters.by_kind)
        print(f"rebuild of {deals} deals, {deals * len(slots)} payments, {len(notes)} notes")
        print(f"  restored: {report.summary()}")
        print(f"  amoCRM requests: {amo_used} (minimum {amo_min})")
        print(
            f"  Sheets requests: {ledger.requests - sheets_before} by the client "
            f"(emulator: {sheets_used}), the tab's recreation included"
        )
        print(f"  CPU {cpu:.2f} s, wall {wall:.2f} s (emulators in-process, manual amoCRM clock)")
        store.close()
    finally:
        box.stop(save=False)


if __name__ == "__main__":
    main()
