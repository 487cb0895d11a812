"""The expenses and the orders share one ledger object in the bot (``connect.build_bot``).

An expense's write caches the sheetIds of the tabs it located; that is not every tab, so
an order made after it must still find Invoices (it once failed with «tab 'Invoices' not
found» until the bot restarted).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sheetledger.bot.expenses import ExpenseBook
from sheetledger.config import Config
from sheetledger.orders.book import OrderBook
from sheetledger.orders.model import OrderDraft
from sheetledger.sandbox.runner import OWNER_ID, SUPPLY_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import expense_rows, ledger_without_backoff
from tests.bot.test_bot_writes import record


def test_an_order_after_an_expense_on_the_same_ledger(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    ledger = ledger_without_backoff(config)
    assert record(ExpenseBook(ledger, state), config, 1, "100 кофе")
    draft = OrderDraft(f"tg:{SUPPLY_ID}:7", "Павел (снабжение)", Decimal("12000"), "ООО Опт")
    order = OrderBook(ledger, state).create(draft, datetime(2026, 12, 2, 10, 0))
    invoices = box.sheets.values(config.google.spreadsheet_id, ledger.tabs["invoices"][0])
    assert [row[0] for row in invoices[1:]] == [order.id]
    assert [r["Expense ID"] for r in expense_rows(box, config)] == [f"tg:{OWNER_ID}:1:0"]
