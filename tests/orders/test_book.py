"""The order desk over the Invoices tab, against the Sheets emulator with gspread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sheetledger.config import Config
from sheetledger.errors import RetriableError
from sheetledger.orders.book import OrderBook
from sheetledger.orders.model import OrderDraft, OrderState, Payment
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import ledger_without_backoff, start_sandbox
from tests.orders.kit import invoice_rows


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Config]]:
    box, config = start_sandbox(tmp_path / "sandbox")
    try:
        yield box, config
    finally:
        box.stop(save=False)


def _draft(source: str = "tg:100000004:17", amount: str = "12000") -> OrderDraft:
    return OrderDraft(
        source=source,
        requested_by="Павел (снабжение)",
        amount=Decimal(amount),
        supplier='=HYPERLINK("x")',
        purpose="фурнитура",
        due=date(2026, 12, 10),
        contract_no="1045",
    )


CREATED = datetime(2026, 12, 2, 10, 0)


def test_create_is_idempotent_by_source_and_writes_text_raw(
    sandbox: tuple[Sandbox, Config], tmp_path: Path
) -> None:
    box, config = sandbox
    state = LocalState(tmp_path / "state.db")
    book = OrderBook(ledger_without_backoff(config), state)
    first = book.create(_draft(), CREATED)
    again = book.create(_draft(), datetime(2026, 12, 3, 9, 0))
    assert again.id == first.id
    assert first.draft.requester_chat == 100000004
    rows = invoice_rows(box, config)
    assert [r["Order ID"] for r in rows] == [first.id]
    assert rows[0]["Supplier"] == '\'=HYPERLINK("x")'  # neutralised, never a formula
    assert rows[0]["Amount"] == 12000
    assert rows[0]["Source"] == "tg:100000004:17"

    # state.db lost: the Source column still finds the order.
    fresh = OrderBook(ledger_without_backoff(config), LocalState(tmp_path / "other.db"))
    assert fresh.create(_draft(), datetime(2026, 12, 3, 9, 0)).id == first.id
    assert len(invoice_rows(box, config)) == 1


def test_create_costs_one_read_and_one_write(
    sandbox: tuple[Sandbox, Config], tmp_path: Path
) -> None:
    box, config = sandbox
    book = OrderBook(ledger_without_backoff(config), LocalState(tmp_path / "state.db"))
    book.create(_draft("tg:1:1"), CREATED)  # the first call of a process reads the keys
    for n in range(2, 5):
        box.sheets.counters.reset()
        book.create(_draft(f"tg:1:{n}"), CREATED)
        counted = box.sheets.counters.by_kind
        assert counted.get("read", 0) <= 1 and counted.get("write", 0) == 1, dict(counted)
    assert len(invoice_rows(box, config)) == 4


def test_a_lost_append_answer_never_doubles_the_order(
    sandbox: tuple[Sandbox, Config], tmp_path: Path
) -> None:
    box, config = sandbox
    book = OrderBook(ledger_without_backoff(config), LocalState(tmp_path / "state.db"))
    book.create(_draft("tg:1:1"), CREATED)
    box.sheets.drop_next(match="batchUpdate")  # applied by Google, the answer lost
    with pytest.raises(RetriableError):
        book.create(_draft("tg:1:2"), CREATED)
    book.create(_draft("tg:1:2"), CREATED)
    book.create(_draft("tg:1:2"), CREATED)
    sources = [r["Source"] for r in invoice_rows(box, config)]
    assert sources == ["tg:1:1", "tg:1:2"]


def test_a_refused_append_is_written_on_the_retry(
    sandbox: tuple[Sandbox, Config], tmp_path: Path
) -> None:
    box, config = sandbox
    book = OrderBook(ledger_without_backoff(config), LocalState(tmp_path / "state.db"))
    book.create(_draft("tg:1:1"), CREATED)
    box.sheets.fail_next(503, match="batchUpdate")
    with pytest.raises(RetriableError):
        book.create(_draft("tg:1:2"), CREATED)
    assert len(invoice_rows(box, config)) == 1
    book.create(_draft("tg:1:2"), CREATED)
    assert [r["Source"] for r in invoice_rows(box, config)] == ["tg:1:1", "tg:1:2"]


def test_pay_and_reject_tick_the_row_once(sandbox: tuple[Sandbox, Config], tmp_path: Path) -> None:
    box, config = sandbox
    book = OrderBook(ledger_without_backoff(config), LocalState(tmp_path / "state.db"))
    one = book.create(_draft("tg:1:1"), CREATED)
    two = book.create(_draft("tg:1:2", "500.50"), CREATED)
    payment = Payment(date(2026, 12, 4), Decimal("12000"), "р/с", "пп 77", "Ирина")
    paid = book.pay(one.id, payment)
    assert paid.state is OrderState.PAID
    assert book.reject(one.id, "дубль", "Ирина").state is OrderState.PAID  # the first stands
    rejected = book.reject(two.id, "нет счёта", "Ирина")
    assert rejected.state is OrderState.REJECTED
    assert book.pay(two.id, payment).state is OrderState.REJECTED
    found = book.get(one.id)
    assert found is not None and found.payment == payment
    rows = {r["Order ID"]: r for r in invoice_rows(box, config)}
    assert rows[one.id]["Paid"] is True and rows[one.id]["Payment ref"] == "пп 77"
    assert rows[two.id]["Reject"] is True and rows[two.id]["Reason"] == "нет счёта"
    assert book.get("O-000000-none") is None  # type: ignore[arg-type]
