"""Nothing lost, nothing doubled: Google outages, a broken header, redelivered updates."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from pathlib import Path

import pytest
from telegram import Update

from sheetledger.bot.app import SHEET_DOWN, WAITING, WAITING_FATAL
from sheetledger.config import Config
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import (
    RunningBot,
    add_deal,
    expense_rows,
    make_bot,
    wait_for_rows,
)

os.environ.setdefault("PTB_TIMEDELTA", "true")

SHEETS = "/v4/spreadsheets"


def buttons(message: dict[str, object]) -> dict[str, str]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}


def test_an_expense_sent_during_an_outage_is_written_once_google_answers(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    add_deal(config, 31_000_777, "1045")
    box.sheets.fail_next(503, count=100_000, match=SHEETS)
    with RunningBot(make_bot(config, state, flush_every=0.05)) as running:
        box.telegram.send_text(OWNER_ID, "45к аренда #1045")
        reply = box.telegram.wait_for_sent(OWNER_ID)[0]
        assert WAITING in reply["text"] and "45 000 ₽" in reply["text"]
        assert "проверю, когда таблица ответит" in reply["text"]
        assert buttons(reply)  # the buttons work on a waiting row too
        assert len(state.outbox_pending()) == 1

        box.telegram.send_text(OWNER_ID, "/today")
        assert box.telegram.wait_for_sent(OWNER_ID, 2)[1]["text"] == SHEET_DOWN

        box.sheets.faults.clear()
        rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)
        assert rows[0]["Deal ID"] == 31_000_777  # resolved when written
        assert Decimal(str(rows[0]["Amount"])) == Decimal("45000")
    # Stopped: the flush that wrote the row has finished (the loop waits for its thread).
    assert state.outbox_pending() == []
    assert running.bot.book.flush().written == 0  # nothing left to write twice
    assert len(expense_rows(box, config)) == 1


def test_an_expense_waits_while_googles_token_endpoint_fails(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    box.sheets.fail_next(503, count=100_000, match="/token")
    with RunningBot(make_bot(config, state, flush_every=0.05)):
        box.telegram.send_text(OWNER_ID, "3500 реклама")
        reply = box.telegram.wait_for_sent(OWNER_ID)[0]
        assert WAITING in reply["text"]
        box.sheets.faults.clear()
        rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)
    assert Decimal(str(rows[0]["Amount"])) == Decimal("3500")
    assert state.outbox_pending() == []


def test_an_undo_while_google_is_down_reaches_the_row_when_it_is_written(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    box.sheets.fail_next(503, count=100_000, match=SHEETS)
    with RunningBot(make_bot(config, state, flush_every=0.05)):
        sent = box.telegram.send_text(OWNER_ID, "3500 реклама")
        reply = box.telegram.wait_for_sent(OWNER_ID)[0]
        box.telegram.press_button(OWNER_ID, reply["message_id"], f"u:{sent['message_id']}:0")
        undone = box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "отменено" in m["text"])
        assert WAITING in undone[0]["text"]
        box.sheets.faults.clear()
        rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)
        assert rows[0]["Void"] is True
    assert state.outbox_pending() == []
    assert len(expense_rows(box, config)) == 1


def test_a_category_change_after_the_row_was_written_waits_out_an_outage(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    names = [c.name for c in config.expenses.categories]
    with RunningBot(make_bot(config, state, flush_every=0.05)):
        sent = box.telegram.send_text(OWNER_ID, "1200 такси")
        reply = box.telegram.wait_for_sent(OWNER_ID)[0]
        wait_for_rows(box, config, lambda rows: len(rows) == 1)
        box.sheets.fail_next(503, count=100_000, match=SHEETS)
        choice = f"s:{sent['message_id']}:0:{names.index('Офис')}"
        box.telegram.press_button(OWNER_ID, reply["message_id"], f"c:{sent['message_id']}:0")
        box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "← Назад" in buttons(m))
        box.telegram.press_button(OWNER_ID, reply["message_id"], choice)
        box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: WAITING in m["text"])
        assert [e["op"] for e in state.outbox_pending()] == ["update"]
        box.sheets.faults.clear()
        rows = wait_for_rows(box, config, lambda rows: rows[0]["Category"] == "Офис")
        assert len(rows) == 1 and Decimal(str(rows[0]["Amount"])) == Decimal("1200")


def test_a_renamed_column_stops_the_write_until_it_is_restored(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    sid, tab = config.google.spreadsheet_id, config.google.tabs.expenses
    box.sheets.rename_header(sid, tab, "Comment", "Notes")
    with RunningBot(make_bot(config, state, flush_every=0.05)):
        box.telegram.send_text(OWNER_ID, "3500 реклама")
        reply = box.telegram.wait_for_sent(OWNER_ID)[0]
        assert WAITING_FATAL in reply["text"]
        assert expense_rows(box, config) == []
        box.sheets.rename_header(sid, tab, "Notes", "Comment")
        rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)
        assert rows[0]["Comment"] == "реклама"


@pytest.mark.parametrize("state_lost", [False, True], ids=["outbox", "sheet-ids"])
def test_a_redelivered_message_makes_one_row(
    sandbox: tuple[Sandbox, Config], state: LocalState, tmp_path: Path, state_lost: bool
) -> None:
    """The same update handled again adds nothing: the outbox knows its key, and without
    state.db the sheet's ID column still does."""
    box, config = sandbox
    with RunningBot(make_bot(config, state)):
        sent = box.telegram.send_text(OWNER_ID, "3500 реклама")
        first = box.telegram.wait_for_sent(OWNER_ID)[0]
        wait_for_rows(box, config, lambda rows: len(rows) == 1)
    replay_state = LocalState(tmp_path / "fresh.db") if state_lost else state
    bot = make_bot(config, replay_state)

    async def redeliver() -> None:
        async with bot.application:
            update = Update.de_json({"update_id": 1, "message": sent}, bot.application.bot)
            await bot.application.process_update(update)

    try:
        asyncio.run(redeliver())
    finally:
        if state_lost:
            replay_state.close()
    again = box.telegram.wait_for_sent(OWNER_ID, 2)[1]
    if state_lost:  # nothing tells the bot it saw the message: the sheet's IDs dedup
        assert again["text"] == first["text"]
    else:  # the outbox knows the message: the reply says so, with the row
        head, _, row = first["text"].partition("\n")
        assert head == "Записал расход:" and again["text"] == f"Уже записан расход:\n{row}"
    rows = expense_rows(box, config)
    assert len(rows) == 1 and Decimal(str(rows[0]["Amount"])) == Decimal("3500")
