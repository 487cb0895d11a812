"""Under `sheetledger run`, a component that dies is seen: logged, told, retried, in `status`.

And `status` counts only the pushes that really await their mark in the ledger.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from sheetledger.cli import main as cli_main
from sheetledger.config import Secret
from sheetledger.connect import build_clients, open_state
from sheetledger.crm.amocrm import AmoClient
from sheetledger.daemon import Daemon
from sheetledger.ledger.records import PaymentRow
from sheetledger.retry import RetryPolicy
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.state import marked_pushes, marker
from tests.daemon.test_daemon import HOURLY, Running, _daemon, _lead

# Restarts at once: the tests wait on what the sandbox sees, never on the clock.
AT_ONCE = RetryPolicy(attempts=1_000_000, base=0.01, cap=0.01)
REJECTED = "Telegram: the bot token was rejected by Telegram — take the token from @BotFather again"


def _status(config_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli_main(["-c", str(config_path), "status"])
    return code, " ".join(capsys.readouterr().out.split())


def test_a_bot_loop_that_dies_is_logged_told_once_restarted_and_shown_by_status(
    box: Sandbox, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
):
    caplog.set_level(logging.INFO, logger="sheetledger")
    box.telegram.open_chat(OWNER_ID)
    box.telegram.fail_next(401, count=1, match="getUpdates")  # the first long poll is refused
    with Running(_daemon(box, restart=AT_ONCE, healthy_after=3600)) as running:
        daemon = running.daemon
        box.telegram.wait_for_sent(
            OWNER_ID, timeout=20, predicate=lambda m: "bot недоступен" in m["text"]
        )
        box.telegram.wait_for_poll(timeout=20)  # started again: it polls
        starts = daemon.component_starts["bot"]
        runs = {r["job"]: r for r in daemon.store.job_runs()}
        code, printed = _status(box.config_path, capsys)
    assert starts == 2
    assert runs["bot"]["ok"] == 0 and runs["bot"]["error"] == REJECTED
    assert code == 1 and "bot" in printed and "failed" in printed
    stopped = [r for r in caplog.records if "bot stopped" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].levelno == logging.ERROR
    assert REJECTED in stopped[0].getMessage()
    told = [m for m in box.telegram.sent(OWNER_ID) if "bot недоступен" in m.get("text", "")]
    assert len(told) == 1


def test_a_restarted_bot_that_keeps_running_is_told_back_once(box: Sandbox):
    box.telegram.open_chat(OWNER_ID)
    box.telegram.fail_next(401, count=1, match="getUpdates")
    with Running(_daemon(box, restart=AT_ONCE, healthy_after=0.2)) as running:
        back = box.telegram.wait_for_sent(
            OWNER_ID, timeout=20, predicate=lambda m: "bot снова доступен" in m["text"]
        )
        box.telegram.send_text(OWNER_ID, "3500 такси")  # and it works
        box.telegram.wait_for_sent(OWNER_ID, timeout=20, predicate=lambda m: "3 500" in m["text"])
        runs = {r["job"]: r for r in running.daemon.store.job_runs()}
    assert len(back) == 1
    assert runs["bot"]["ok"] == 1


def test_a_rejected_token_is_retried_with_backoff_and_never_logged(
    box: Sandbox, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger="sheetledger")
    wrong = "7000000001:" + "B" * 35
    config = box.load_config().model_copy(update={"schedule": HOURLY})
    telegram = config.telegram.model_copy(update={"token": Secret(wrong, "a test")})
    config = config.model_copy(update={"telegram": telegram})
    crm = AmoClient(config.amocrm.base_url, config.amocrm.token.reveal(), max_attempts=1)
    tried = threading.Semaphore(0)
    # Each start asks getMe (and is refused); so does the one announcement of the outage.
    box.telegram.before_next(tried.release, match="getMe", count=4)
    daemon = Daemon(
        config, replace(build_clients(config), crm=crm), restart=AT_ONCE, healthy_after=3600
    )
    with Running(daemon):
        for _ in range(4):
            assert tried.acquire(timeout=20)
        runs = {r["job"]: r for r in daemon.store.job_runs()}
    assert runs["bot"]["ok"] == 0 and runs["bot"]["error"] == REJECTED
    stopped = [r for r in caplog.records if "bot stopped" in r.getMessage()]
    assert len(stopped) >= 2 and all(r.levelno == logging.ERROR for r in stopped)
    assert not [r for r in caplog.records if "B" * 35 in r.getMessage()]
    assert daemon.component_starts["bot"] >= 3


def test_the_daemon_the_bot_and_its_book_report_to_one_watch(box: Sandbox):
    daemon = _daemon(box)
    try:
        assert daemon.bot is not None
        assert daemon.bot.book.watch is daemon.outages
        assert daemon.bot.poller.watch is daemon.outages
        assert daemon.outages is daemon.clients.outages
        # The bot's Telegram client is the root's, not one it made for itself.
        assert daemon.bot.application.bot is daemon.clients.telegram
    finally:
        daemon.close()


def test_the_restart_waits_grow_up_to_their_cap():
    policy = RetryPolicy(base=5.0, cap=300.0, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 7, 20)] == [5.0, 10.0, 20.0, 300.0, 300.0]


# --------------------------------------------------------------------------- the journal


def test_stale_journal_entries_are_not_counted_as_awaiting(
    box: Sandbox, capsys: pytest.CaptureFixture[str]
):
    crm = AmoClient(box.urls["amocrm"], box.info["amocrm"]["token"])
    crm.create_leads([_lead(box, "701")])
    path = box.config_path
    assert cli_main(["-c", str(path), "sync"]) == 0
    config = box.load_config()
    sheet, title = config.google.spreadsheet_id, config.google.tabs.payments
    box.sheets.type_cell(sheet, f"'{title}'!I2", "TRUE")
    assert cli_main(["-c", str(path), "sync"]) == 0  # pushed and marked: "pushed #1"
    payment_id = str(box.sheets.values(sheet, title)[1][0])
    deal = int(payment_id.split(":")[0])
    # As if killed after the ledger's write and before the journal forgot the push.
    store = open_state(config)
    store.journal_add([(payment_id, 1, deal, marker(payment_id, 1))])
    store.close()
    _code, printed = _status(path, capsys)
    assert "pushes awaiting their mark in the ledger: 1" in printed  # the stale entry, before

    assert cli_main(["-c", str(path), "sync"]) == 0
    _code, printed = _status(path, capsys)
    assert "pushes awaiting their mark in the ledger: 0" in printed
    notes = [n for n in box.amo.notes_of(deal) if n.get("note_type") == "common"]
    assert len(notes) == 1


def test_the_journal_forgets_only_pushes_the_ledger_shows_marked(tmp_path: Path):
    store = LocalState(tmp_path / "state.db")
    store.journal_add(
        [
            ("501:1", 1, 501, "m1"),  # marked "pushed #1": stale
            ("501:1", 2, 501, "m2"),  # its reversal, not marked yet: awaiting
            ("502:1", 1, 502, "m3"),  # a row showing nothing (cleared?): kept
        ]
    )
    marked = marked_pushes(
        PaymentRow.from_cells(cells)
        for cells in (
            {"id": "501:1", "state": "pushed #1"},
            {"id": "502:1", "state": ""},
            {"id": "503:1", "state": "reversed #2"},
        )
    )
    assert marked == {"501:1": 1, "503:1": 2}
    assert store.journal_settle(marked) == 1
    assert store.journaled([("501:1", 1), ("501:1", 2), ("502:1", 1)]) == {
        ("501:1", 2),
        ("502:1", 1),
    }
    store.close()
