"""The bot end to end: real python-telegram-bot and gspread against the emulators on loopback."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sheetledger.bot.app import EDIT_IGNORED, REFUSE_GROUP
from sheetledger.config import Config
from sheetledger.ledger.cells import date_to_serial
from sheetledger.sandbox.runner import ACCOUNTANT_ID, OWNER_ID, SUPPLY_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import (
    RunningBot,
    add_deal,
    expense_rows,
    make_bot,
    wait_for_rows,
)

os.environ.setdefault("PTB_TIMEDELTA", "true")

STRANGER_ID = 555_000_111_222


@pytest.fixture
def running(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> Iterator[tuple[Sandbox, Config, RunningBot]]:
    box, config = sandbox
    with RunningBot(make_bot(config, state, flush_every=0.1)) as bot:
        box.telegram.wait_for_poll()
        yield box, config, bot


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Button text -> callback_data of a bot message."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def local_day(config: Config, unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC).astimezone(config.tz)


# --------------------------------------------------------------------------- recording


def test_owner_records_an_expense_row_and_reply(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    sent = box.telegram.send_text(OWNER_ID, "3500 реклама яндекс")
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)

    row = rows[0]
    day = local_day(config, sent["date"]).date()
    assert row["Expense ID"] == f"tg:{OWNER_ID}:{sent['message_id']}:0"
    assert row["Date"] == date_to_serial(day)
    assert Decimal(str(row["Amount"])) == Decimal("3500")
    assert row["Category"] == "Реклама"
    assert row["Comment"] == "реклама яндекс"
    assert row["Entered by"] == "Ольга (владелец)"
    assert row["Source"] == "telegram"
    assert row["Void"] is False
    assert row["Contract no"] in (None, "")

    assert "3 500 ₽" in reply["text"] and "Реклама" in reply["text"]
    assert f"{day:%d.%m.%Y}" in reply["text"] and "реклама яндекс" in reply["text"]
    assert reply["reply_to_message"]["message_id"] == sent["message_id"]
    data = buttons(reply)
    assert set(data.values()) == {f"c:{sent['message_id']}:0", f"u:{sent['message_id']}:0"}


def test_buttons_change_category_undo_and_bring_back(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    sent = box.telegram.send_text(OWNER_ID, "1200 такси до офиса")
    mid = sent["message_id"]
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    wait_for_rows(box, config, lambda rows: len(rows) == 1)

    box.telegram.press_button(OWNER_ID, reply["message_id"], f"c:{mid}:0")
    chooser = box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "← Назад" in buttons(m))[0]
    names = [c.name for c in config.expenses.categories]
    assert buttons(chooser)["✓ Транспорт"] == f"s:{mid}:0:{names.index('Транспорт')}"
    assert chooser["text"] == reply["text"]  # only the keyboard changed

    box.telegram.press_button(OWNER_ID, reply["message_id"], f"s:{mid}:0:{names.index('Офис')}")
    rows = wait_for_rows(box, config, lambda rows: rows[0]["Category"] == "Офис")
    assert len(rows) == 1
    edited = box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "Офис" in m["text"])[0]
    assert set(buttons(edited).values()) == {f"c:{mid}:0", f"u:{mid}:0"}

    box.telegram.press_button(OWNER_ID, reply["message_id"], f"u:{mid}:0")
    rows = wait_for_rows(box, config, lambda rows: rows[0]["Void"] is True)
    assert len(rows) == 1 and Decimal(str(rows[0]["Amount"])) == Decimal("1200")  # kept
    undone = box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "отменено" in m["text"])[0]
    assert set(buttons(undone).values()) == {f"r:{mid}:0"}

    box.telegram.send_text(OWNER_ID, "/today")
    totals = box.telegram.wait_for_sent(
        OWNER_ID, predicate=lambda m: "Расходы за сегодня" in m["text"]
    )
    assert "расходов нет" in totals[0]["text"]  # the void row is not counted

    box.telegram.press_button(OWNER_ID, reply["message_id"], f"r:{mid}:0")
    wait_for_rows(box, config, lambda rows: rows[0]["Void"] is False)
    answers = box.telegram.wait_for_answers(4)
    assert all(a.get("callback_query_id") for a in answers)


def test_choosing_the_current_category_keeps_the_row(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    sent = box.telegram.send_text(OWNER_ID, "1200 такси")
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    wait_for_rows(box, config, lambda rows: len(rows) == 1)
    names = [c.name for c in config.expenses.categories]
    box.telegram.press_button(OWNER_ID, reply["message_id"], f"c:{sent['message_id']}:0")
    box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "← Назад" in buttons(m))
    same = f"s:{sent['message_id']}:0:{names.index('Транспорт')}"
    box.telegram.press_button(OWNER_ID, reply["message_id"], same)
    box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "← Назад" not in buttons(m))
    assert box.telegram.wait_for_answers(2)[1]["text"] == "Категория: Транспорт"
    rows = expense_rows(box, config)
    assert [r["Category"] for r in rows] == ["Транспорт"]
    assert len(box.telegram.sent(OWNER_ID)) == 1  # edits only, no error message


def test_unknown_category_offers_the_choice_directly(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    sent = box.telegram.send_text(OWNER_ID, "850 подарок клиенту")
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    assert "Прочее" in reply["text"] and "выберите" in reply["text"]
    data = buttons(reply)
    names = [c.name for c in config.expenses.categories]
    assert data["Реклама"] == f"s:{sent['message_id']}:0:{names.index('Реклама')}"
    assert data["❌ Отменить"] == f"u:{sent['message_id']}:0"
    box.telegram.press_button(OWNER_ID, reply["message_id"], data["Реклама"])
    rows = wait_for_rows(box, config, lambda rows: rows and rows[0]["Category"] == "Реклама")
    assert len(rows) == 1
    final = box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "выберите" not in m["text"])[0]
    assert "Реклама" in final["text"]


def test_several_lines_make_several_rows_and_one_reply(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    sent = box.telegram.send_text(OWNER_ID, "3500 реклама яндекс\n\n1 200,50 такси вчера")
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 2)
    mid = sent["message_id"]
    assert [r["Expense ID"] for r in rows] == [f"tg:{OWNER_ID}:{mid}:0", f"tg:{OWNER_ID}:{mid}:2"]
    assert [Decimal(str(r["Amount"])) for r in rows] == [Decimal("3500"), Decimal("1200.5")]
    assert rows[1]["Date"] == rows[0]["Date"] - 1
    assert "Записал 2 расхода" in reply["text"] and "Итого: 4 700,50 ₽" in reply["text"]
    assert set(buttons(reply).values()) == {f"c:{mid}:0", f"u:{mid}:0", f"c:{mid}:2", f"u:{mid}:2"}
    box.telegram.press_button(OWNER_ID, reply["message_id"], f"u:{mid}:2")
    wait_for_rows(box, config, lambda rows: rows[1]["Void"] is True and rows[0]["Void"] is False)
    edited = box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "отменено" in m["text"])[0]
    assert "Итого: 3 500 ₽" in edited["text"]


def test_deal_reference_links_the_deal_and_an_unknown_one_is_said(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    add_deal(config, 31_000_777, "1045")
    box.telegram.send_text(OWNER_ID, "45к аренда #1045")
    box.telegram.wait_for_sent(OWNER_ID)
    box.telegram.send_text(OWNER_ID, "300 доставка #9999")
    unknown = box.telegram.wait_for_sent(OWNER_ID, 2)[1]
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 2)
    assert rows[0]["Deal ID"] == 31_000_777 and str(rows[0]["Contract no"]) == "1045"
    assert Decimal(str(rows[0]["Amount"])) == Decimal("45000")
    assert rows[1]["Deal ID"] in (None, "") and str(rows[1]["Contract no"]) == "9999"
    assert "№ 9999 не найден" in unknown["text"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("привет, как дела", "Не нашёл сумму"),
        ("0 такси", "равна нулю"),
        ("-500 такси", "отрицательная"),
        ("99999999999 такси", "больше предела"),
        ("500 такси 31.12.2099", "ещё не наступила"),
        ("500 такси\nчто-то непонятное", "Не нашёл сумму"),
    ],
)
def test_refused_messages_write_nothing_and_show_examples(
    running: tuple[Sandbox, Config, RunningBot], text: str, why: str
) -> None:
    box, config, bot = running
    sent = box.telegram.send_text(OWNER_ID, text)
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    assert reply["text"].startswith("Ничего не записал")
    assert why in reply["text"] and "3500 реклама яндекс" in reply["text"]
    assert "reply_markup" not in reply
    assert expense_rows(box, config) == []
    assert bot.bot.state.outbox_find(f"tg:{OWNER_ID}:{sent['message_id']}:") == {}


def test_a_stranger_and_a_group_are_refused(
    running: tuple[Sandbox, Config, RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    box, config, _ = running
    caplog.set_level(logging.WARNING, logger="sheetledger.bot.app")
    box.telegram.send_text(STRANGER_ID, "3500 реклама")
    refusal = box.telegram.wait_for_sent(STRANGER_ID)[0]
    assert "только для сотрудников" in refusal["text"] and str(STRANGER_ID) in refusal["text"]
    assert "reply_markup" not in refusal

    group = -1_001_234_567_890
    box.telegram.send_text(OWNER_ID, "/today", chat_id=group, chat_type="supergroup", title="Офис")
    assert box.telegram.wait_for_sent(group)[0]["text"] == REFUSE_GROUP

    box.telegram.send_text(OWNER_ID, "/start")  # processed after both: the refusals are done
    box.telegram.wait_for_sent(OWNER_ID)
    assert expense_rows(box, config) == []
    assert len(box.telegram.sent(STRANGER_ID)) == 1 and len(box.telegram.sent(group)) == 1
    refused = [r.getMessage() for r in caplog.records if "refused an update" in r.getMessage()]
    assert any(str(STRANGER_ID) in line for line in refused)
    assert any(str(group) in line for line in refused)
    assert not any("3500" in r.getMessage() for r in caplog.records)  # ids, never the text


def test_supply_may_not_record_expenses(running: tuple[Sandbox, Config, RunningBot]) -> None:
    """Supply's text is a payment order (bot/orders.py), never an expense row."""
    box, config, _ = running
    box.telegram.send_text(SUPPLY_ID, "3500 реклама")
    assert "Заявк" in box.telegram.wait_for_sent(SUPPLY_ID)[0]["text"]
    box.telegram.send_text(ACCOUNTANT_ID, "700 канцелярия")
    box.telegram.wait_for_sent(ACCOUNTANT_ID)
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)
    assert rows[0]["Entered by"] == "Ирина (бухгалтер)"


def test_an_edited_message_is_not_recorded_again(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    sent = box.telegram.send_text(OWNER_ID, "3500 реклама")
    box.telegram.wait_for_sent(OWNER_ID)
    box.telegram.edit_text(OWNER_ID, sent["message_id"], "3600 реклама")
    assert box.telegram.wait_for_sent(OWNER_ID, 2)[1]["text"] == EDIT_IGNORED
    rows = expense_rows(box, config)
    assert len(rows) == 1 and Decimal(str(rows[0]["Amount"])) == Decimal("3500")


def test_text_from_a_person_cannot_become_a_formula(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    box.telegram.send_text(OWNER_ID, '500 =HYPERLINK("http://evil";"x") такси')
    box.telegram.wait_for_sent(OWNER_ID)
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)
    # Stored as a string that starts with an apostrophe: never a formula, never evaluated.
    assert rows[0]["Comment"] == '\'=HYPERLINK("http://evil";"x") такси'


def test_commands_help_categories_today_and_month(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    tg = box.telegram
    tg.send_text(OWNER_ID, "/start")
    start = tg.wait_for_sent(OWNER_ID)[0]["text"]
    assert "Ольга (владелец)" in start and "3500 реклама яндекс" in start and "/month" in start
    tg.send_text(OWNER_ID, "/help")
    assert "45к аренда #1045" in tg.wait_for_sent(OWNER_ID, 2)[1]["text"]
    tg.send_text(OWNER_ID, "/categories")
    categories = tg.wait_for_sent(OWNER_ID, 3)[2]["text"]
    assert "• Транспорт: такси, " in categories and "Прочее (если не узнал)" in categories

    tg.send_text(OWNER_ID, "3500 реклама\n1200 такси\n800 такси вчера")
    tg.wait_for_sent(OWNER_ID, 4)
    tg.send_text(OWNER_ID, "/today")
    today = tg.wait_for_sent(OWNER_ID, 5)[4]["text"]
    assert (
        "4 700 ₽ (2)" in today and "Реклама — 3 500 ₽" in today and "Транспорт — 1 200 ₽" in today
    )
    tg.send_text(OWNER_ID, "/month")
    month = tg.wait_for_sent(OWNER_ID, 6)[5]["text"]
    day = local_day(config, tg.sent(OWNER_ID)[-1]["date"]).date()
    if day.day > 1:  # yesterday is in this month
        assert "5 500 ₽ (3)" in month and "Транспорт — 2 000 ₽" in month
