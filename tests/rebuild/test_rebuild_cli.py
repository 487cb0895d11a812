"""`init`, `sync` and `rebuild` through the CLI on a deleted Payments tab."""

from __future__ import annotations

from datetime import date

import pytest

from sheetledger.cli import main
from sheetledger.sandbox.runner import Sandbox
from tests.e2e.world import CASH, _ts


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def test_a_deleted_tab_is_named_by_init_and_sync_and_restored_by_rebuild(box: Sandbox, capsys):
    cfg = str(box.config_path)
    assert _run(capsys, "-c", cfg, "init")[0] == 0
    amo = box.info["amocrm"]
    slot = amo["slots"][0]
    for number in ("77", "78"):
        box.amo.add_lead(
            f"Договор {number}",
            price=10_000,
            pipeline_id=amo["pipeline_id"],
            status_id=amo["statuses"]["Договор заключен"],
            responsible_user_id=amo["managers"][0],
            custom_fields_values=[
                {"field_id": amo["fields"]["contract_no"], "values": [{"value": number}]},
                {"field_id": slot["amount"], "values": [{"value": "10000"}]},
                {"field_id": slot["method"], "values": [{"value": CASH}]},
                {"field_id": slot["date"], "values": [{"value": _ts(date(2026, 11, 20))}]},
            ],
        )
    assert _run(capsys, "-c", cfg, "sync")[0] == 0
    config = box.load_config()
    sid, title = config.google.spreadsheet_id, config.google.tabs.payments
    box.sheets.delete_sheet(sid, title)

    code, out = _run(capsys, "-c", cfg, "sync")
    assert code == 1 and "sheetledger rebuild" in out

    code, out = _run(capsys, "-c", cfg, "init")
    assert code == 1
    assert f"tab '{title}' was missing and is now empty; the ledger had 2 rows" in out
    assert "sheetledger rebuild" in out

    code, out = _run(capsys, "-c", cfg, "sync")
    assert code == 1
    assert f"tab '{title}' has 0 rows, the ledger had 2" in out and "sheetledger rebuild" in out

    box.sheets.counters.reset()
    code, out = _run(capsys, "-c", cfg, "rebuild", "--dry-run")
    assert code == 0, out
    assert "would restore 2 rows" in out
    assert box.sheets.counters.by_kind.get("write", 0) == 0
    assert len(box.sheets.values(sid, title)) == 1  # the header init wrote, nothing more

    code, out = _run(capsys, "-c", cfg, "rebuild")
    assert code == 0, out
    assert "restored 2 rows" in out
    assert len(box.sheets.values(sid, title)) == 3
    code, out = _run(capsys, "-c", cfg, "sync")
    assert code == 0, out
