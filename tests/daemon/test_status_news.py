"""`sheetledger status` counts the notifications' outbox by state, with the oldest queued."""

from __future__ import annotations

import time

import pytest

from sheetledger.cli import main as cli_main
from sheetledger.connect import open_state
from sheetledger.sandbox.runner import Sandbox
from sheetledger.status import news_line


def _news(key: str) -> dict[str, object]:
    return {
        "key": key,
        "order_id": key.split("/")[0],
        "event": "new",
        "channel": "sms",
        "recipient": "+79990000000",
        "body": {"text": "x"},
        "not_before": 0,
    }


def test_status_counts_the_notifications_by_state(
    box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = box.load_config()
    store = open_state(config)
    try:
        store.news_add(_news(f"INV-{n}/sms") for n in range(1, 6))
        store.news_settle("INV-1/sms", "sent", ref="m1")
        store.news_settle("INV-2/sms", "sent", ref="m2")
        store.news_settle("INV-3/sms", "unsure")
        store.news_claim("INV-4/sms", time.time())  # under way: still to send
        oldest = store.news_oldest_queued()
    finally:
        store.close()
    assert oldest is not None
    capsys.readouterr()
    cli_main(["-c", str(box.config_path), "status"])
    printed = " ".join(capsys.readouterr().out.split())
    assert "notifications outbox: queued 2 (oldest since " in printed
    assert "sent 2, unsure 1, failed 0" in printed
    assert "cancelled" not in printed


def test_the_news_line_without_anything_queued_names_no_oldest() -> None:
    line = news_line({"sent": 3, "failed": 1, "cancelled": 2}, "2026-12-02 10:00:00")
    assert line == "notifications outbox: queued 0, sent 3, unsure 0, failed 1, cancelled 2"
