"""The one outage watcher: each edge told once, whoever noticed it; one watch for all."""

from __future__ import annotations

import logging

import pytest

from sheetledger.errors import FatalError, RetriableError
from sheetledger.outage import GOOGLE, TELEGRAM, OutageWatch


def test_each_edge_is_logged_and_told_once(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="sheetledger")
    told: list[str] = []
    clock = iter([100.0, 400.0])
    watch = OutageWatch(told.append, clock=lambda: next(clock))
    assert watch.failed(GOOGLE, "HTTP 503") is True
    assert watch.failed(GOOGLE, "HTTP 502") is False  # still the same outage
    assert watch.outage(GOOGLE) is not None and watch.outage(GOOGLE).detail == "HTTP 503"
    assert watch.recovered(TELEGRAM) is False
    assert watch.recovered(GOOGLE) is True
    assert watch.recovered(GOOGLE) is False
    assert told == [
        "⚠️ Google Sheets недоступен: HTTP 503. Данные не теряются. Повторяю попытки.",
        "✅ Google Sheets снова доступен (перерыв 5 мин). Всё догоняю.",
    ]
    lines = [r.getMessage() for r in caplog.records if r.name == "sheetledger.outage"]
    assert lines == [
        "Google Sheets is unavailable: HTTP 503 (told once; retrying)",
        "Google Sheets is back after 5.0 min",
    ]


def test_an_error_says_its_service_and_whether_a_person_must_act():
    watch = OutageWatch()
    watch.failed_with(RetriableError("amoCRM", "server error 503 after 5 attempts"))
    watch.failed_with(FatalError("Google Sheets", "tab 'Payments': renamed", hint="restore it"))
    down = watch.down
    assert down["amoCRM"].needs_person is False
    assert down["Google Sheets"].needs_person is True
    assert down["Google Sheets"].detail == "tab 'Payments': renamed — restore it"
