"""The bot's write path: one Sheets read and one write per message, and the blind append
never doubles a row when its answer is lost.

Counted by the Sheets emulator's request counters (by kind), not timed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sheetledger.bot.expenses import ExpenseBook, plan_expenses
from sheetledger.bot.parse import parse_message
from sheetledger.config import Config
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import add_deal, expense_rows, ledger_without_backoff

TODAY = date(2026, 11, 27)


def record(book: ExpenseBook, config: Config, message_id: int, text: str) -> bool:
    """Record ``text`` as message ``message_id``; whether the sheet has it now."""
    expenses = config.expenses
    parsed = parse_message(
        text,
        today=TODAY,
        categories=expenses.categories,
        default_category=expenses.default_category,
        ceiling=expenses.ceiling,
    )
    assert parsed.ok, parsed.errors
    planned = plan_expenses(
        parsed.expenses,
        chat_id=OWNER_ID,
        message_id=message_id,
        entered_by="Ольга",
        recorded_at=datetime.now(UTC),
        deals=None,
    )
    return book.record(planned).written


def requests(box: Sandbox) -> dict[str, int]:
    counted: dict[str, int] = box.sheets.counters.as_dict()["by_kind"]
    return counted


def test_a_message_costs_one_read_and_one_write(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    add_deal(config, 31_000_777, "1045")
    book = ExpenseBook(ledger_without_backoff(config), state)
    assert record(book, config, 1, "100 кофе")  # the first reads the sheet's IDs once
    for message_id, text in enumerate(
        ("3500 реклама яндекс", "45к аренда #1045", "2 такси 700\n300 доставка"), start=2
    ):
        box.sheets.counters.reset()
        assert record(book, config, message_id, text)
        assert requests(box) == {"read": 1, "write": 1}, text
    rows = expense_rows(box, config)
    assert [r["Expense ID"] for r in rows] == [
        f"tg:{OWNER_ID}:1:0",
        f"tg:{OWNER_ID}:2:0",
        f"tg:{OWNER_ID}:3:0",
        f"tg:{OWNER_ID}:4:0",
        f"tg:{OWNER_ID}:4:1",
    ]
    assert rows[2]["Deal ID"] == 31_000_777  # #1045 resolved in the same read
    assert rows[1]["Void"] is False  # a checkbox, formatted as the others


def test_an_append_whose_answer_is_lost_is_written_once(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    book = ExpenseBook(ledger_without_backoff(config), state)
    assert record(book, config, 1, "100 кофе")
    fault = box.sheets.drop_next(match=":batchUpdate", after_commit=True)
    assert record(book, config, 2, "3500 реклама")  # written, and the reply can say so
    assert fault.hits == 1
    assert [r["Expense ID"] for r in expense_rows(box, config)] == [
        f"tg:{OWNER_ID}:1:0",
        f"tg:{OWNER_ID}:2:0",
    ]
    assert state.outbox_pending() == []


def test_a_new_book_on_a_lost_state_finds_the_rows_already_written(
    sandbox: tuple[Sandbox, Config], state: LocalState, tmp_path: Path
) -> None:
    box, config = sandbox
    assert record(ExpenseBook(ledger_without_backoff(config), state), config, 1, "100 кофе")
    fresh = LocalState(tmp_path / "fresh.db")
    try:
        book = ExpenseBook(ledger_without_backoff(config), fresh)
        assert record(book, config, 1, "100 кофе")  # the same message, state.db lost
        assert record(book, config, 2, "200 такси")
    finally:
        fresh.close()
    assert [r["Expense ID"] for r in expense_rows(box, config)] == [
        f"tg:{OWNER_ID}:1:0",
        f"tg:{OWNER_ID}:2:0",
    ]


def test_a_repeat_is_one_minutes_after_a_recorded_message_and_never_the_message_itself(
    state: LocalState,
) -> None:
    from datetime import timedelta

    from sheetledger.bot.expenses import Expense, text_digest

    def unused() -> LedgerSheets:
        raise AssertionError("no Sheets call is needed to tell a repeat")

    book = ExpenseBook(unused, state)
    t0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    digest = text_digest("3500 реклама")
    assert digest == text_digest("  3500   Реклама\n\n")

    def recorded(message_id: int, at: datetime) -> None:
        row = Expense(
            key=f"tg:{OWNER_ID}:{message_id}:0",
            date=TODAY,
            amount=Decimal("3500.00"),
            category="Реклама",
            comment="реклама",
            contract_no=None,
            deal_id=None,
            entered_by="Ольга",
            recorded_at=at,
        )
        state.outbox_add([(row.key, row.to_json())])
        book.remember_text(OWNER_ID, message_id, digest, at)

    recorded(1, t0)
    earlier = book.same_text_before(OWNER_ID, 2, digest, t0 + timedelta(minutes=3))
    assert earlier is not None and earlier.message_id == 1 and len(earlier.expenses) == 1
    assert book.same_text_before(OWNER_ID, 2, digest, t0 + timedelta(minutes=11)) is None
    assert book.same_text_before(OWNER_ID, 2, text_digest("3600 реклама"), t0) is None

    recorded(2, t0 + timedelta(minutes=1))  # recorded again on purpose ("record again")
    # Message 1 delivered once more is a redelivery, not a repeat of message 2.
    assert book.same_text_before(OWNER_ID, 1, digest, t0 + timedelta(minutes=2)) is None
    third = book.same_text_before(OWNER_ID, 3, digest, t0 + timedelta(minutes=2))
    assert third is not None and third.message_id == 2
