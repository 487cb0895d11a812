"""Helpers for the bot's end-to-end tests: the sandbox prepared, the bot on its own loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sheetledger.bot.app import ExpenseBot
from sheetledger.bot.expenses import ExpenseBook
from sheetledger.config import Config
from sheetledger.connect import build_google, master_ledger, master_tabs
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerChanges, RowAppend

WAIT = 30.0  # a ceiling on waits for events (they return at once); CI machines are slow


def start_sandbox(folder: Path) -> tuple[Sandbox, Config]:
    box = Sandbox.start(folder)
    config = box.load_config()
    prepare(master_ledger(config, build_google(config)))
    return box, config


def ledger_without_backoff(config: Config) -> LedgerSheets:
    """The master ledger, retrying without sleeping (the emulator answers at once)."""
    return LedgerSheets(
        build_google(config),
        config.google.spreadsheet_id,
        master_tabs(config),
        config.tz,
        sleep=lambda _seconds: None,
    )


def add_deal(config: Config, deal_id: int, contract_no: str) -> None:
    ledger = master_ledger(config, build_google(config))
    ledger.read(["deals"])
    changes = LedgerChanges()
    changes.appends.append(
        RowAppend(
            "deals",
            str(deal_id),
            {"id": deal_id, "name": f"Сделка {contract_no}", "contract_no": contract_no},
        )
    )
    ledger.write(changes)


def expense_rows(box: Sandbox, config: Config) -> list[dict[str, Any]]:
    """The Expenses tab as the emulator holds it, one dict per data row by header."""
    values = box.sheets.values(config.google.spreadsheet_id, config.google.tabs.expenses)
    if not values:
        return []
    header = [str(h) for h in values[0]]
    rows = []
    for raw in values[1:]:
        if raw and raw[0] not in ("", None):
            padded = list(raw) + [None] * (len(header) - len(raw))
            rows.append(dict(zip(header, padded, strict=True)))
    return rows


def wait_for_rows(
    box: Sandbox,
    config: Config,
    ready: Callable[[list[dict[str, Any]]], bool],
    timeout: float = WAIT,
) -> list[dict[str, Any]]:
    """Block until the Expenses rows satisfy ``ready`` (woken by every Sheets write)."""
    deadline = time.monotonic() + timeout
    while True:
        box.sheets.changed.clear()
        rows = expense_rows(box, config)
        if ready(rows):
            return rows
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"Expenses rows not as wanted within {timeout}s: {rows}")
        box.sheets.changed.wait(remaining)


class RunningBot:
    """``ExpenseBot.run`` on its own event loop in a thread; ``stop()`` re-raises its failure."""

    def __init__(self, bot: ExpenseBot) -> None:
        self.bot = bot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bot", daemon=True)

    def _main(self) -> None:
        async def body() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self.bot.run(self._stop)

        try:
            asyncio.run(body())
        except BaseException as exc:  # surfaced by stop()
            self._error = exc
            self._ready.set()

    def start(self) -> RunningBot:
        self._thread.start()
        assert self._ready.wait(WAIT)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the bot did not stop"
        if self._error is not None:
            raise self._error

    def __enter__(self) -> RunningBot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_bot(config: Config, state: LocalState, **kwargs: Any) -> ExpenseBot:
    book = ExpenseBook(ledger_without_backoff(config), state)
    kwargs.setdefault("poll_timeout", 1.0)
    return ExpenseBot(config, book, state, **kwargs)
