"""``sheetledger sync`` killed with SIGKILL after amoCRM took a paid order's note, before the
ledger recorded it: the next cycle finds the note by its marker and writes no second one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sheetledger.config import Config
from sheetledger.connect import build_crm, build_google, cabinet_ledgers, master_ledger
from sheetledger.ledger.setup import prepare
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.cycle import run_cycle
from tests.bot.botkit import start_sandbox
from tests.orders.kit import invoice_rows, tab_rows

WAIT = 90.0  # a fresh process imports the whole package: on a busy machine, a while


def _sync(config: Config) -> None:
    client = build_google(config)
    store = LocalState(config.state_dir / "state.db")
    try:
        report = run_cycle(
            config,
            master_ledger(config, client),
            build_crm(config),
            store,
            now=datetime.now(UTC),
            cabinets=cabinet_ledgers(config, client),
        )
        assert report.problems == [], report.problems
    finally:
        store.close()


def _type(
    box: Sandbox, spreadsheet_id: str, title: str, row_id: str, values: dict[str, str]
) -> None:
    rows = box.sheets.values(spreadsheet_id, title)
    header = [str(h) for h in rows[0]]
    number = next(n for n, row in enumerate(rows, start=1) if row and row[0] == row_id)
    for name, value in values.items():
        letter = chr(65 + header.index(name))
        box.sheets.type_cell(spreadsheet_id, f"'{title}'!{letter}{number}", value)


def _notes(box: Sandbox, deal_id: int) -> list[str]:
    return [
        str(n["params"].get("text", ""))
        for n in box.amo.state()["notes"]
        if n["entity_id"] == deal_id
    ]


def test_kill_9_between_the_note_and_the_mark_leaves_one_note(tmp_path: Path) -> None:
    box, config = start_sandbox(tmp_path / "sandbox")
    try:
        for sheets in cabinet_ledgers(config, build_google(config)).values():
            prepare(sheets)
        amo = box.info["amocrm"]
        lead: dict[str, Any] = {
            "name": "Договор 1045",
            "price": 100_000,
            "pipeline_id": amo["pipeline_id"],
            "status_id": amo["statuses"]["Договор заключен"],
            "custom_fields_values": [
                {"field_id": amo["fields"]["contract_no"], "values": [{"value": "1045"}]}
            ],
        }
        deal_id = int(build_crm(config).create_leads([lead])[0]["id"])
        _sync(config)
        supply = box.info["google"]["cabinets"]["supply"]
        accountant = box.info["google"]["cabinets"]["accountant"]
        oid = str(tab_rows(box, supply, "Requests")[0]["Order ID"])
        form = {"Amount": "12000", "Supplier": "ООО Опт", "Contract no": "1045", "Submit": "TRUE"}
        _type(box, supply, "Requests", oid, form)
        _sync(config)
        _type(box, accountant, "Orders", oid, {"Paid": "TRUE"})

        reached, release = threading.Event(), threading.Event()

        def hold() -> None:  # amoCRM took the note; its answer waits for the kill
            reached.set()
            release.wait(WAIT)

        box.amo.after_next(hold, match="POST /api/v4/leads/notes")
        command = [sys.executable, "-m", "sheetledger", "-c", str(box.config_path), "sync"]
        env = {**os.environ, "PTB_TIMEDELTA": "true"}
        with (tmp_path / "sync.log").open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            assert reached.wait(WAIT), "the sync never posted the note"
            process.send_signal(signal.SIGKILL)
            process.wait(WAIT)
        finally:
            release.set()
        assert len(_notes(box, deal_id)) == 1
        order = next(r for r in invoice_rows(box, config) if r["Order ID"] == oid)
        assert order["Pushed"] in ("", None)  # killed before the ledger recorded it

        _sync(config)
        _sync(config)
        notes = _notes(box, deal_id)
        assert len(notes) == 1 and f"sheetledger:{oid}#1" in notes[0]
        order = next(r for r in invoice_rows(box, config) if r["Order ID"] == oid)
        assert order["Pushed"] == "paid #1 12000.00"
        store = LocalState(config.state_dir / "state.db")
        try:
            assert store.journal_size() == 0
        finally:
            store.close()
    finally:
        box.stop(save=False)
