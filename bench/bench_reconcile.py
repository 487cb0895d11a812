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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sheetledger.connect import build_google, master_ledger
from sheetledger.crm.amocrm import AmoClient
from sheetledger.ledger.setup import prepare
from sheetledger.reconcile.run import run_reconcile
from sheetledger.sandbox.amocrm import ManualClock
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.cycle import run_cycle
from sheetledger.sync.push import PushEvent, note_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10000)
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
            for slot in range(1, len(slots) + 1):
                event = PushEvent(
                    payment_id=f"{deal_id}:{slot}",
                    deal_id=deal_id,
                    kind="confirm",
                    seq=1,
                    amount=Decimal("10000"),
                    previous=None,
                    expected=Decimal("10000"),
                    method="Наличными в кассу",
                    by="Светлана",
                    on=date(2026, 11, 20),
                    payment_kind="Предоплата",
                    contract_no=str(number),
                )
                notes.append(
                    {
                        "entity_id": deal_id,
                        "note_type": "common",
                        "params": {"text": note_text(event)},
                    }
                )
        crm.add_notes(notes)
        now = datetime.fromtimestamp(clock(), UTC)
        run_cycle(config, ledger, crm, store, now=now)

        crm_before, sheets_before = crm.requests_made, ledger.requests
        box.sheets.counters.reset()
        cpu, wall = time.process_time(), time.perf_counter()
        report = run_reconcile(config, ledger, crm, store, today=now.astimezone(config.tz).date())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        amo_used = crm.requests_made - crm_before
        amo_max = math.ceil(deals / 250) + math.ceil(len(notes) / 250) + 3
        codes: dict[str, int] = {}
        for tracked in report.plan.tracked:
            codes[tracked.finding.code] = codes.get(tracked.finding.code, 0) + 1
        print(f"reconcile of {deals} deals, {deals * len(slots)} payments, {len(notes)} notes")
        print(f"  findings: {codes or 'none'}")
        verdict = "ok" if amo_used <= amo_max else "MISSED"
        print(f"  amoCRM requests: {amo_used} (bound {amo_max}) {verdict}")
        print(f"  at 7 requests a second: {amo_used / 7:.1f} s of amoCRM time (bound 60 s)")
        print(
            f"  Sheets requests: {ledger.requests - sheets_before} by the client "
            f"(emulator: {dict(box.sheets.counters.by_kind)})"
        )
        print(f"  CPU {cpu:.2f} s, wall {wall:.2f} s (emulators in-process, manual amoCRM clock)")
        store.close()
    finally:
        box.stop(save=False)


if __name__ == "__main__":
    main()
