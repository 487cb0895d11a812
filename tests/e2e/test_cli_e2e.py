"""The service commands through the CLI, against a running sandbox."""

from __future__ import annotations

from sheetledger.cli import main
from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
from sheetledger.ledger.setup import prepare
from sheetledger.sandbox.runner import Sandbox
from tests.e2e.world import add_cash_deal


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_init_prepares_everything_and_a_second_run_changes_nothing(box: Sandbox, capsys):
    cfg = str(box.config_path)
    code, out = _run(capsys, "-c", cfg, "init")
    assert code == 0, out
    config = box.load_config()
    titles = {
        config.google.tabs.deals,
        config.google.tabs.payments,
        config.google.tabs.cash,
        "_state",
    }
    meta = box.sheets.spreadsheets[config.google.spreadsheet_id]
    assert titles <= {s.title for s in meta.sheets}
    # A person adds a column of their own to the right of the managed ones.
    title = config.google.tabs.payments
    box.sheets.type_cell(config.google.spreadsheet_id, f"'{title}'!R1", "Заметки бухгалтера")
    box.sheets.type_cell(config.google.spreadsheet_id, f"'{title}'!R2", "проверить")
    box.sheets.counters.reset()
    client = build_google(config)
    for sheets in [master_ledger(config, client), *cabinet_ledgers(config, client).values()]:
        again = prepare(sheets)
        assert again.requests_sent == 0 and not again.changed and not again.problems
    assert box.sheets.counters.by_kind.get("write", 0) == 0
    values = box.sheets.values(config.google.spreadsheet_id, title)
    assert values[0][17] == "Заметки бухгалтера" and values[1][17] == "проверить"


def test_init_reports_a_cabinet_not_shared_and_says_how_to_fix_it(box: Sandbox, capsys):
    cfg = box.config_path
    private = box.sheets.create_spreadsheet("Чужая таблица")  # not shared with the service account
    cashbox = box.info["google"]["cabinets"]["cashbox"]
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(cashbox, private), encoding="utf-8")
    code, out = _run(capsys, "-c", str(cfg), "init")
    assert code == 1
    assert "cabinet 'cashbox'" in out and "share it" in out and "@" in out


def test_discover_lists_pipelines_users_and_fields(box: Sandbox, capsys):
    code, out = _run(capsys, "-c", str(box.config_path), "discover")
    assert code == 0
    amo = box.info["amocrm"]
    assert "Платеж подтвержден" in out and str(amo["statuses"]["Платеж подтвержден"]) in out
    assert "Номер договора" in out and str(amo["fields"]["contract_no"]) in out
    assert "Наличными в кассу" in out
    for name in amo["users"]:
        assert name in out


def test_sync_dry_run_writes_nothing_and_sync_writes(box: Sandbox, capsys):
    cfg = str(box.config_path)
    assert _run(capsys, "-c", cfg, "init")[0] == 0
    add_cash_deal(box)
    box.sheets.counters.reset()
    code, out = _run(capsys, "-c", cfg, "sync", "--dry-run")
    assert code == 0, out
    assert "dry run" in out and "new rows" in out
    assert box.sheets.counters.by_kind.get("write", 0) == 0
    code, out = _run(capsys, "-c", cfg, "sync", "--once")
    assert code == 0, out
    assert "1 leads read, 2 new rows" in out
    config = box.load_config()
    rows = box.sheets.values(config.google.spreadsheet_id, config.google.tabs.payments)
    assert [r[0] for r in rows[1:]] == [f"{box.amo.leads()[0]['id']}:1"]
