"""The daemon on an emptied Payments tab: an error that says to rebuild, and no write."""

from __future__ import annotations

import logging
from dataclasses import replace

from sheetledger.connect import build_clients, build_google, master_ledger
from sheetledger.crm.amocrm import AmoClient
from sheetledger.daemon import Daemon
from sheetledger.ledger.setup import prepare
from sheetledger.sandbox.runner import Sandbox
from tests.e2e.world import CASH


def _lead(box: Sandbox, contract_no: str) -> dict:
    amo = box.info["amocrm"]
    slot = amo["slots"][0]
    return {
        "name": f"Договор {contract_no}",
        "price": 10_000,
        "pipeline_id": amo["pipeline_id"],
        "status_id": amo["statuses"]["Договор заключен"],
        "responsible_user_id": amo["managers"][0],
        "custom_fields_values": [
            {"field_id": amo["fields"]["contract_no"], "values": [{"value": contract_no}]},
            {"field_id": slot["amount"], "values": [{"value": "10000"}]},
            {"field_id": slot["method"], "values": [{"value": CASH}]},
        ],
    }


def test_the_daemon_logs_an_error_naming_rebuild_and_writes_nothing(box: Sandbox, caplog):
    config = box.load_config()
    ledger = master_ledger(config, build_google(config))
    prepare(ledger)
    crm = AmoClient(config.amocrm.base_url, config.amocrm.token.reveal(), max_attempts=1)
    crm.create_leads([_lead(box, str(n)) for n in range(501, 505)])
    daemon = Daemon(config, replace(build_clients(config), crm=crm), with_bot=False)
    try:
        assert daemon.sync_job() is not None
        title = config.google.tabs.payments
        box.sheets.delete_sheet(config.google.spreadsheet_id, title)
        prepare(ledger)  # someone ran `init`: the tab is back, empty
        caplog.set_level(logging.INFO, logger="sheetledger.daemon")
        box.sheets.counters.reset()
        assert daemon.sync_job() is None
        assert box.sheets.counters.by_kind.get("write", 0) == 0
        assert box.sheets.values(config.google.spreadsheet_id, title)[1:] == []
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert any("sheetledger rebuild" in r.getMessage() for r in errors)
        [run] = [r for r in daemon.store.job_runs() if r["job"] == "sync"]
        assert run["ok"] == 0 and "has 0 rows, the ledger had 4" in run["error"]
    finally:
        daemon.close()
