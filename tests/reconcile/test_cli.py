"""backup, restore and digest through the command line, on the sandbox."""

from __future__ import annotations

import pytest

from sheetledger.cli import main
from sheetledger.sandbox.runner import CASHIER_ID, OWNER_ID, Sandbox
from tests.e2e.world import add_cash_deal


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def test_backup_restore_and_digest_from_the_command_line(tmp_path, capsys):
    box = Sandbox.start(tmp_path / "sandbox")
    try:
        cfg = str(box.config_path)
        assert _run(capsys, "-c", cfg, "init")[0] == 0
        add_cash_deal(box)
        assert _run(capsys, "-c", cfg, "sync")[0] == 0
        code, out = _run(capsys, "-c", cfg, "backup")
        assert code == 0 and "backup saved:" in out
        config = box.load_config()
        [taken] = list((config.state_dir / "backups").iterdir())
        sid, title = config.google.spreadsheet_id, config.google.tabs.payments
        [header, row] = box.sheets.values(sid, title)
        box.sheets.delete_rows(sid, title, 2)

        code, out = _run(capsys, "-c", cfg, "restore", taken.name, "--tab", title, "--dry-run")
        assert code == 0 and f"would restore 1 rows: {row[0]}" in out
        assert box.sheets.values(sid, title) == [header]
        code, out = _run(capsys, "-c", cfg, "restore", str(taken), "--tab", title)
        assert code == 0 and f"restored 1 rows: {row[0]}" in out
        assert box.sheets.values(sid, title) == [header, row]
        code, out = _run(capsys, "-c", cfg, "restore", taken.name, "--tab", "Nope")
        assert code == 1 and "no tab 'Nope'" in out

        for user in (OWNER_ID, CASHIER_ID):
            box.telegram.open_chat(user)
        code, out = _run(capsys, "-c", cfg, "digest", "--now", "--to", str(OWNER_ID))
        assert code == 0 and f"digest sent to {OWNER_ID}" in out
        assert len(box.telegram.sent(OWNER_ID)) == 1 and box.telegram.sent(CASHIER_ID) == []
    finally:
        box.stop(save=False)
