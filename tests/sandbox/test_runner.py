"""The sandbox as a whole: seeded, written out, resumed on the same ports with its state."""

from __future__ import annotations

import json

from sheetledger.sandbox.runner import Sandbox


def test_a_resumed_sandbox_keeps_its_ports_ids_and_state(tmp_path):
    first = Sandbox.start(tmp_path)
    ports = {name: server.port for name, server in first.servers.items()}
    spreadsheet = first.info["google"]["spreadsheet_id"]
    first.amo.add_lead("Кухня", price=150_000, pipeline_id=first.info["amocrm"]["pipeline_id"])
    first.stop(save=True)
    second = Sandbox.start(tmp_path)
    try:
        assert {name: server.port for name, server in second.servers.items()} == ports
        assert second.info["google"]["spreadsheet_id"] == spreadsheet
        assert [lead["name"] for lead in second.amo.leads()] == ["Кухня"]
        written = json.loads((tmp_path / "sandbox.json").read_text(encoding="utf-8"))
        assert written["ports"] == ports
        assert str(ports["amocrm"]) in second.load_config().amocrm.base_url
    finally:
        second.stop(save=False)
