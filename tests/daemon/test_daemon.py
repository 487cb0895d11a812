"""The daemon: jobs beside the bot, clean stops, outages told once, nothing lost across a kill."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import date

from sheetledger.config import Every, Schedule
from sheetledger.connect import build_clients
from sheetledger.crm.amocrm import AmoClient
from sheetledger.daemon import Daemon, DaemonThread
from sheetledger.outage import OutageWatch
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from tests.e2e.world import CASH, _ts

HOURLY = Schedule(sync=Every(every_seconds=3600), outbox_flush=Every(every_seconds=3600))


def _lead(box: Sandbox, contract_no: str, amount: int = 10_000) -> dict:
    amo = box.info["amocrm"]
    slot = amo["slots"][0]
    return {
        "name": f"Договор {contract_no}",
        "price": amount,
        "pipeline_id": amo["pipeline_id"],
        "status_id": amo["statuses"]["Договор заключен"],
        "responsible_user_id": amo["managers"][0],
        "custom_fields_values": [
            {"field_id": amo["fields"]["contract_no"], "values": [{"value": contract_no}]},
            {"field_id": slot["amount"], "values": [{"value": str(amount)}]},
            {"field_id": slot["method"], "values": [{"value": CASH}]},
            {"field_id": slot["date"], "values": [{"value": _ts(date(2026, 11, 20))}]},
        ],
    }


class Running(DaemonThread):
    """The real daemon in a thread, as a context manager; leaving it stops it like SIGTERM."""

    def __enter__(self) -> Running:
        assert self.start(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop(30), "the daemon did not stop"
        self.daemon.close()


def _daemon(box: Sandbox, **kwargs) -> Daemon:
    config = box.load_config().model_copy(update={"schedule": HOURLY})
    crm = AmoClient(config.amocrm.base_url, config.amocrm.token.reveal(), max_attempts=1)
    return Daemon(config, replace(build_clients(config), crm=crm), **kwargs)


def test_the_daemon_syncs_and_runs_the_bot_side_by_side(box: Sandbox):
    crm = AmoClient(box.urls["amocrm"], box.info["amocrm"]["token"])
    crm.create_leads([_lead(box, "501")])
    with Running(_daemon(box)) as running:
        assert running.daemon.wait_for_cycles(1)
        assert running.daemon.last_report is not None and running.daemon.last_report.new_rows == 2
        box.telegram.send_text(OWNER_ID, "3500 такси вчера")
        reply = box.telegram.wait_for_sent(OWNER_ID, timeout=15)
        assert "3 500" in reply[-1]["text"]
        running.daemon.run_sync_now()
        assert running.daemon.wait_for_cycles(2)
        runs = {r["job"]: r for r in running.daemon.store.job_runs()}
    assert runs["sync"]["ok"] == 1 and "leads read" in runs["sync"]["detail"]


def test_an_outage_is_logged_and_announced_once_at_each_edge(box: Sandbox, caplog):
    caplog.set_level(logging.INFO, logger="sheetledger")
    box.telegram.open_chat(OWNER_ID)  # the admin has pressed Start, so the bot may write first
    box.amo.fail_next(503, count=1000, match="/api/v4/")
    with Running(_daemon(box)) as running:
        daemon = running.daemon
        assert daemon.wait_for_cycles(1)
        for n in (2, 3):
            daemon.run_sync_now()
            assert daemon.wait_for_cycles(n)
        box.amo.faults.clear()
        daemon.run_sync_now()
        assert daemon.wait_for_cycles(4)
        daemon.run_sync_now()
        assert daemon.wait_for_cycles(5)
        sent = box.telegram.wait_for_sent(OWNER_ID, count=2, timeout=10)
    down = [r for r in caplog.records if "amoCRM is unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "amoCRM is back" in r.getMessage()]
    assert len(down) == 1 and down[0].levelno == logging.ERROR
    assert len(back) == 1 and back[0].levelno == logging.INFO
    texts = [m["text"] for m in sent]
    assert sum("недоступен" in t for t in texts) == 1
    assert sum("снова доступен" in t for t in texts) == 1


def test_outage_watch_tells_each_edge_once():
    told: list[str] = []
    watch = OutageWatch(told.append)
    assert watch.failed("Google Sheets", "HTTP 503") is True
    assert watch.failed("Google Sheets", "HTTP 503") is False
    assert watch.recovered("amoCRM") is False
    assert watch.recovered("Google Sheets") is True
    assert watch.recovered("Google Sheets") is False
    assert len(told) == 2


def test_sigterm_mid_cycle_finishes_the_cycle_and_a_restart_loses_and_doubles_nothing(
    box: Sandbox, tmp_path
):
    crm = AmoClient(box.urls["amocrm"], box.info["amocrm"]["token"])
    crm.create_leads([_lead(box, str(600 + n)) for n in range(3)])
    config_path = box.config_path
    text = config_path.read_text(encoding="utf-8").replace(
        "every_seconds: 60", "every_seconds: 3600"
    )
    config_path.write_text(text, encoding="utf-8")
    in_cycle = threading.Event()
    # The daemon's first pull is held for a moment: SIGTERM arrives while it is mid-cycle.
    box.amo.before_next(in_cycle.set, match="GET /api/v4/leads?")
    box.amo.delay_next(1.0, match="GET /api/v4/leads?")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMOCRM", "TELEGRAM"))}
    command = [sys.executable, "-m", "sheetledger", "-c", str(config_path), "run"]
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert in_cycle.wait(30), "the daemon never pulled"
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, output
    assert "stopped" in output
    config = box.load_config()
    title = config.google.tabs.payments
    ids = [
        row[0]
        for row in box.sheets.values(config.google.spreadsheet_id, title)[1:]
        if row and row[0]
    ]
    assert len(ids) == 3, "the cycle running at SIGTERM was finished"
    # A tick, then a restart: exactly one note, no duplicate rows.
    row = 2
    box.sheets.type_cell(config.google.spreadsheet_id, f"'{title}'!I{row}", "TRUE")
    pushed = threading.Event()
    box.amo.before_next(pushed.set, match="POST /api/v4/leads/notes")
    second = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert pushed.wait(30), "the restarted daemon never pushed"
        done = threading.Event()
        box.sheets.before_next(done.set, match=":batchUpdate")
        assert done.wait(30)
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, output
    rows = box.sheets.values(config.google.spreadsheet_id, title)[1:]
    assert sorted(r[0] for r in rows if r and r[0]) == sorted(ids)
    deal = int(str(rows[0][0]).split(":")[0])
    notes = [n for n in box.amo.notes_of(deal) if n.get("note_type") == "common"]
    assert len(notes) == 1


def test_a_telegram_outage_is_logged_once_and_its_end_announced(box: Sandbox, caplog):
    caplog.set_level(logging.INFO, logger="sheetledger")
    box.telegram.open_chat(OWNER_ID)
    box.telegram.fail_next(502, count=2, match="getUpdates")
    with Running(_daemon(box)) as running:
        assert running.daemon.wait_for_cycles(1)
        box.telegram.wait_for_sent(
            OWNER_ID, timeout=20, predicate=lambda m: "Telegram недоступен" in m["text"]
        )
        # A long poll only returns when there is an update (or after its timeout): someone writes.
        box.telegram.send_text(OWNER_ID, "/today")
        back_msg = box.telegram.wait_for_sent(
            OWNER_ID, timeout=20, predicate=lambda m: "Telegram снова доступен" in m.get("text", "")
        )
    down = [r for r in caplog.records if "Telegram is unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "Telegram is back" in r.getMessage()]
    assert len(down) == 1 and len(back) == 1
    assert len(back_msg) == 1
    # Only getUpdates failed: the announcement (a sendMessage) arrives, once.
    assert sum("Telegram недоступен" in m.get("text", "") for m in box.telegram.sent(OWNER_ID)) == 1
