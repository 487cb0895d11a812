"""A statement sent to the bot by the accountant is imported; by the cashier it is not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sheetledger.config import BankConfig, Config
from sheetledger.connect import build_google, master_ledger
from sheetledger.sandbox.runner import ACCOUNTANT_ID, CASHIER_ID, Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerChanges, RowAppend
from tests.bank.conftest import statement_bytes
from tests.bot.botkit import RunningBot, make_bot, start_sandbox

SBER = "sber-business-online_daily-balances_1.03.txt"
TINKOFF = "tinkoff_bank-orders_1.02.txt"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Sandbox, Config]]:
    box, config = start_sandbox(tmp_path / "sandbox")
    config = config.model_copy(
        update={
            "bank": BankConfig(accounts=("40802000000000000055", "40802000000000000043")),
        }
    )
    ledger = master_ledger(config, build_google(config))
    ledger.read(["deals", "payments"])
    changes = LedgerChanges()
    changes.appends.append(
        RowAppend("deals", "501", {"id": 501, "name": "Кухня — Петров П.", "contract_no": "1045"})
    )
    changes.appends.append(
        RowAppend(
            "payments",
            "501:1",
            {
                "id": "501:1",
                "deal_id": 501,
                "contract_no": "1045",
                "kind": "Предоплата",
                "method": "bank",
                "amount": Decimal("158654.52"),
                "date": date(2024, 4, 26),
            },
        )
    )
    ledger.write(changes)
    state = LocalState(tmp_path / "state.db")
    try:
        with RunningBot(make_bot(config, state, flush_every=0.1)):
            box.telegram.wait_for_poll()
            yield box, config
    finally:
        state.close()
        box.stop(save=False)


def _rows(box: Sandbox, config: Config, title: str) -> list[dict[str, Any]]:
    values = box.sheets.values(config.google.spreadsheet_id, title)
    header = [str(h) for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:] if row]


def test_the_accountant_sends_a_statement_twice(running: tuple[Sandbox, Config]) -> None:
    box, config = running
    box.telegram.send_document(ACCOUNTANT_ID, SBER, statement_bytes(SBER), "text/plain")
    (answer,) = box.telegram.wait_for_sent(ACCOUNTANT_ID, timeout=30)
    assert "строк 2, новых 2" in answer["text"]
    assert "Подтверждено платежей: 1 (501:1)" in answer["text"]
    payments = _rows(box, config, config.google.tabs.payments)
    assert payments[0]["Confirmed"] is True
    assert len(_rows(box, config, config.google.tabs.bank)) == 2

    box.telegram.send_document(ACCOUNTANT_ID, SBER, statement_bytes(SBER), "text/plain")
    answers = box.telegram.wait_for_sent(ACCOUNTANT_ID, count=2, timeout=30)
    assert "новых 0 (уже были: 2)" in answers[-1]["text"]
    assert len(_rows(box, config, config.google.tabs.bank)) == 2


def test_an_unbalanced_statement_waits_for_as_is(running: tuple[Sandbox, Config]) -> None:
    box, config = running
    box.telegram.send_document(ACCOUNTANT_ID, TINKOFF, statement_bytes(TINKOFF), "text/plain")
    (answer,) = box.telegram.wait_for_sent(ACCOUNTANT_ID, timeout=30)
    assert "не загрузил, ничего не записано" in answer["text"]
    assert "off by 1 000,00 ₽" in answer["text"] and "как есть" in answer["text"]
    assert _rows(box, config, config.google.tabs.bank) == []
    box.telegram.send_document(
        ACCOUNTANT_ID, TINKOFF, statement_bytes(TINKOFF), "text/plain", caption="как есть"
    )
    answers = box.telegram.wait_for_sent(ACCOUNTANT_ID, count=2, timeout=30)
    assert "строк 9, новых 9" in answers[-1]["text"]
    assert len(_rows(box, config, config.google.tabs.bank)) == 9


def test_the_cashier_cannot_import(running: tuple[Sandbox, Config]) -> None:
    box, config = running
    box.telegram.send_document(CASHIER_ID, SBER, statement_bytes(SBER), "text/plain")
    (answer,) = box.telegram.wait_for_sent(CASHIER_ID, timeout=30)
    assert "только текст" in answer["text"]
    assert _rows(box, config, config.google.tabs.bank) == []
