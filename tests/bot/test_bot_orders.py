"""Payment orders through the bot end to end: real python-telegram-bot, gspread and google-auth
against the emulators; the real OrderBook over the Invoices tab; bills into the Drive emulator.

A PDF bill becomes one order whose file comes back from Drive byte for byte; a bill over
20 MB or of another type is refused and nothing is written; strangers, groups and the
cashier cannot order; a redelivered update makes no second order; the accountant's Paid
and Reject buttons pay and reject once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from sheetledger.bot import identity
from sheetledger.bot.app import REFUSE_GROUP, ExpenseBot
from sheetledger.bot.orders import NO_ORDER_ROLE, NO_PAY_ROLE, decision_buttons, markup
from sheetledger.config import Config
from sheetledger.connect import build_drive, build_google
from sheetledger.orders.book import OrderBook
from sheetledger.orders.model import Order, OrderDraft, OrderEvent, OrderState, Payment
from sheetledger.sandbox.runner import ACCOUNTANT_ID, CASHIER_ID, SUPPLY_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import RunningBot, add_deal, ledger_without_backoff, make_bot

os.environ.setdefault("PTB_TIMEDELTA", "true")

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
CAPTION = "12 000 фурнитура ООО «Фурнитура-Опт» счёт 77 до 10.12 №1045"
STRANGER_ID = 555_000_111_333


class News:
    """An OrderNews that keeps what it was told (the notifications are another part's)."""

    def __init__(self) -> None:
        self.told: list[tuple[str, OrderEvent]] = []

    def tell(self, order: Order, event: OrderEvent) -> None:
        self.told.append((order.id, event))


def with_folder(box: Sandbox, config: Config) -> Config:
    drive = box.sheets.create_shared_drive(
        "Бухгалтерия", {box.sheets.service_account_email: "fileOrganizer"}
    )
    folder = box.sheets.create_folder("Счета", drive)
    orders = config.orders.model_copy(update={"drive_folder_id": folder})
    return config.model_copy(update={"orders": orders})


def order_bot(config: Config, state: LocalState, news: News) -> tuple[ExpenseBot, OrderBook]:
    desk = OrderBook(ledger_without_backoff(config), state)
    bills = build_drive(config, build_google(config))
    return make_bot(config, state, desk=desk, bills=bills, news=news), desk


@pytest.fixture
def running(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> Iterator[tuple[Sandbox, Config, ExpenseBot, OrderBook, News]]:
    box, config = sandbox
    config = with_folder(box, config)
    news = News()
    bot, desk = order_bot(config, state, news)
    with RunningBot(bot):
        box.telegram.wait_for_poll()
        yield box, config, bot, desk, news


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def invoice_rows(box: Sandbox, config: Config) -> list[list[Any]]:
    values = box.sheets.values(config.google.spreadsheet_id, config.google.tabs.invoices)
    return [row for row in values[1:] if row and row[0] not in ("", None)]


def last(box: Sandbox, chat: int, count: int) -> dict[str, Any]:
    return box.telegram.wait_for_sent(chat, count)[count - 1]


def press(box: Sandbox, chat: int, message: dict[str, Any], label: str) -> None:
    box.telegram.press_button(chat, message["message_id"], buttons(message)[label])


def wait_edited(box: Sandbox, chat: int, index: int, wanted: str) -> dict[str, Any]:
    """The bot's ``index``-th message of the chat once it says ``wanted`` (edited or sent)."""

    def ready(message: dict[str, Any]) -> bool:
        ids = box.telegram.bot_message_ids.get(chat, [])
        at_index = len(ids) > index and ids[index] == message["message_id"]
        return at_index and wanted in (message.get("text") or "")

    return box.telegram.wait_for_sent(chat, 1, predicate=ready, timeout=30)[0]


def test_a_pdf_bill_becomes_one_order_with_its_file_in_drive(
    running: tuple[Sandbox, Config, ExpenseBot, OrderBook, News],
) -> None:
    box, config, _, desk, news = running
    add_deal(config, 31_000_777, "1045")
    box.telegram.send_document(SUPPLY_ID, "счёт 77.pdf", PDF, "application/pdf", CAPTION)

    asked = last(box, SUPPLY_ID, 1)
    assert "12 000" in asked["text"] and "ООО «Фурнитура-Опт»" in asked["text"]
    assert "Счёт № 77" in asked["text"] and "10.12" in asked["text"]
    assert "Сделка: № 1045" in asked["text"]
    assert "Выберите категорию" in asked["text"]  # «фурнитура» is no category's keyword
    press(box, SUPPLY_ID, asked, "Прочее")
    shown = wait_edited(box, SUPPLY_ID, 0, "проверьте")
    assert invoice_rows(box, config) == []  # nothing before the person confirms
    press(box, SUPPLY_ID, shown, "✅ Отправить бухгалтеру")
    done = wait_edited(box, SUPPLY_ID, 0, "отправлена бухгалтеру")

    orders = desk.orders()
    assert len(orders) == 1
    order = orders[0]
    assert order.id in done["text"]
    draft = order.draft
    assert draft.amount == Decimal("12000.00") and draft.supplier == "ООО «Фурнитура-Опт»"
    assert draft.bill_no == "77" and draft.contract_no == "1045" and draft.deal_id == 31_000_777
    assert draft.category == "Прочее" and draft.source.startswith(f"tg:{SUPPLY_ID}:")
    assert news.told == [(order.id, OrderEvent.CREATED)]
    stored = box.sheets.files_in(config.orders.drive_folder_id or "")
    assert len(stored) == 1 and stored[0].name.startswith(order.id)
    assert stored[0].id in draft.bill_link
    drive = build_drive(config, build_google(config))
    assert drive.download(stored[0].id) == PDF  # byte for byte, files.get?alt=media


def test_a_bill_over_20_mb_is_refused_and_nothing_is_written(
    running: tuple[Sandbox, Config, ExpenseBot, OrderBook, News],
) -> None:
    box, config, bot, _, _ = running
    big = b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024)
    sent = box.telegram.send_document(SUPPLY_ID, "big.pdf", big, "application/pdf", CAPTION)
    reply = last(box, SUPPLY_ID, 1)
    assert "больше 20 МБ" in reply["text"] and "reply_markup" not in reply
    box.telegram.send_document(SUPPLY_ID, "bill.docx", b"PK\x03\x04", None, CAPTION)
    assert "PDF или картинкой" in last(box, SUPPLY_ID, 2)["text"]
    assert invoice_rows(box, config) == []
    assert box.sheets.files_in(config.orders.drive_folder_id or "") == []
    assert bot.state.get(f"order.talk:{SUPPLY_ID}:{sent['message_id']}") is None


def test_strangers_groups_and_the_cashier_cannot_order(
    running: tuple[Sandbox, Config, ExpenseBot, OrderBook, News],
) -> None:
    box, config, _, _, _ = running
    box.telegram.send_document(STRANGER_ID, "bill.pdf", PDF, "application/pdf", CAPTION)
    assert "только для сотрудников" in last(box, STRANGER_ID, 1)["text"]
    group = -1_001_234_567_891
    # In a group a bot in privacy mode is given commands only: /order is what could come.
    box.telegram.send_text(
        SUPPLY_ID, f"/order {CAPTION}", chat_id=group, chat_type="supergroup", title="Офис"
    )
    assert last(box, group, 1)["text"] == REFUSE_GROUP
    box.telegram.send_document(CASHIER_ID, "bill.pdf", PDF, "application/pdf", CAPTION)
    assert last(box, CASHIER_ID, 1)["text"] == NO_ORDER_ROLE
    box.telegram.send_text(CASHIER_ID, f"/order {CAPTION}")
    assert last(box, CASHIER_ID, 2)["text"] == NO_ORDER_ROLE
    assert invoice_rows(box, config) == []


def test_text_alone_and_several_bills_in_a_row(
    running: tuple[Sandbox, Config, ExpenseBot, OrderBook, News],
) -> None:
    box, _, _, desk, _ = running
    box.telegram.send_text(SUPPLY_ID, "реклама яндекс ООО «Директ» 30 000 до 20.12")
    box.telegram.send_text(SUPPLY_ID, "аренда склада за декабрь")
    first, second = box.telegram.wait_for_sent(SUPPLY_ID, 2)
    assert "по сделке?" in first["text"]  # no contract reference: asked
    assert "Сколько нужно оплатить?" in second["text"]
    box.telegram.send_text(SUPPLY_ID, "45 000")  # answers the amount of the second bill
    second_again = last(box, SUPPLY_ID, 3)
    assert "45 000" in second_again["text"] and "по сделке?" in second_again["text"]
    press(box, SUPPLY_ID, second_again, "Без сделки")
    confirm_2 = wait_edited(box, SUPPLY_ID, 2, "проверьте")
    press(box, SUPPLY_ID, first, "Без сделки")
    confirm_1 = wait_edited(box, SUPPLY_ID, 0, "проверьте")
    press(box, SUPPLY_ID, confirm_1, "✅ Отправить бухгалтеру")
    wait_edited(box, SUPPLY_ID, 0, "отправлена")
    press(box, SUPPLY_ID, confirm_2, "✅ Отправить бухгалтеру")
    wait_edited(box, SUPPLY_ID, 2, "отправлена")
    amounts = sorted(o.amount for o in desk.orders())
    assert amounts == [Decimal("30000.00"), Decimal("45000.00")]
    assert {o.draft.category for o in desk.orders()} == {"Реклама", "Аренда"}
    assert all(o.deal_id is None for o in desk.orders())


def test_an_unknown_contract_is_said_and_a_deal_can_be_picked(
    running: tuple[Sandbox, Config, ExpenseBot, OrderBook, News],
) -> None:
    box, _, _, desk, _ = running
    add_deal(box.load_config(), 31_000_778, "1046")
    box.telegram.send_text(SUPPLY_ID, "реклама 5000 дог. 104")
    asked = last(box, SUPPLY_ID, 1)
    assert "№ 104 не найден" in asked["text"]
    press(box, SUPPLY_ID, asked, "№ 1046 · Сделка 1046")
    confirm = wait_edited(box, SUPPLY_ID, 0, "проверьте")
    press(box, SUPPLY_ID, confirm, "✅ Отправить бухгалтеру")
    wait_edited(box, SUPPLY_ID, 0, "отправлена")
    assert [o.deal_id for o in desk.orders()] == [31_000_778]


def test_a_redelivered_bill_makes_no_second_order(
    sandbox: tuple[Sandbox, Config], state: LocalState, tmp_path: Path
) -> None:
    box, config = sandbox
    config = with_folder(box, config)
    news = News()
    bot, desk = order_bot(config, state, news)
    with RunningBot(bot):
        box.telegram.wait_for_poll()
        sent = box.telegram.send_document(
            SUPPLY_ID, "bill.pdf", PDF, "application/pdf", "реклама 7000 ООО «Ромашка»"
        )
        asked = last(box, SUPPLY_ID, 1)
        press(box, SUPPLY_ID, asked, "Без сделки")
        confirm = wait_edited(box, SUPPLY_ID, 0, "проверьте")
        press(box, SUPPLY_ID, confirm, "✅ Отправить бухгалтеру")
        wait_edited(box, SUPPLY_ID, 0, "отправлена")
    again, _ = order_bot(config, state, news)

    async def redeliver() -> None:
        async with again.application:
            update = Update.de_json({"update_id": 1, "message": sent}, again.application.bot)
            await again.application.process_update(update)

    asyncio.run(redeliver())
    answer = last(box, SUPPLY_ID, 2)
    assert "отправлена бухгалтеру" in answer["text"] and "reply_markup" not in answer
    assert len(desk.orders()) == 1 and len(invoice_rows(box, config)) == 1
    assert len(box.sheets.files_in(config.orders.drive_folder_id or "")) == 1
    assert len(news.told) == 1


def make_order(desk: OrderBook, config: Config, text: str = "реклама") -> Order:
    draft = OrderDraft(
        source=f"tg:{SUPPLY_ID}:9{len(text)}",
        requested_by="Павел (снабжение)",
        amount=Decimal("7000.00"),
        purpose=text,
        requester_chat=SUPPLY_ID,
    )
    return desk.create(draft, datetime.now(UTC))


def card(box: Sandbox, config: Config, order: Order, chat: int = ACCOUNTANT_ID) -> dict[str, Any]:
    """The accountant's card as the notifications send it: the Paid / Reject buttons."""

    async def send() -> None:
        async with identity.make_bot(config.telegram) as telegram:
            keyboard = markup(decision_buttons(order.id))
            await telegram.send_message(chat, f"Заявка {order.id}", reply_markup=keyboard)

    box.telegram.open_chat(chat)  # the person has talked to the bot before
    before = len(box.telegram.sent(chat))
    asyncio.run(send())
    return box.telegram.wait_for_sent(chat, before + 1)[before]


def test_paid_in_telegram_and_in_the_cabinet_make_one_payment(
    running: tuple[Sandbox, Config, ExpenseBot, OrderBook, News],
) -> None:
    box, config, _, desk, news = running
    order = make_order(desk, config)
    forwarded = card(box, config, order, SUPPLY_ID)
    box.telegram.press_button(SUPPLY_ID, forwarded["message_id"], f"op:{order.id}")
    assert NO_PAY_ROLE in str(box.telegram.wait_for_answers(1)[0])

    message = card(box, config, order)
    box.telegram.press_button(ACCOUNTANT_ID, message["message_id"], f"op:{order.id}")
    accounts = box.telegram.wait_for_sent(
        ACCOUNTANT_ID, 1, predicate=lambda m: "касса" in str(m.get("reply_markup"))
    )[0]
    press(box, ACCOUNTANT_ID, accounts, "касса")
    paid_text = wait_edited(box, ACCOUNTANT_ID, 1, "оплачена")
    assert order.id in paid_text["text"] and "касса" in paid_text["text"]
    paid = desk.get(order.id)
    assert paid is not None and paid.state is OrderState.PAID
    assert paid.payment is not None and paid.payment.paid_from == "касса"
    # The cabinet's tick for the same order (or Paid pressed again) pays nothing more.
    again = desk.pay(order.id, Payment(paid.payment.on, paid.amount, "р/с", by="tick"))
    assert again.payment == paid.payment
    assert news.told == [(order.id, OrderEvent.PAID)]


def test_reject_asks_for_the_reason(
    running: tuple[Sandbox, Config, ExpenseBot, OrderBook, News],
) -> None:
    box, config, _, desk, news = running
    order = make_order(desk, config, "реклама в метро")
    message = card(box, config, order)
    box.telegram.press_button(ACCOUNTANT_ID, message["message_id"], f"oj:{order.id}")
    wait_edited(box, ACCOUNTANT_ID, 1, "причину отказа")
    box.telegram.send_text(ACCOUNTANT_ID, "нет денег до января")
    wait_edited(box, ACCOUNTANT_ID, 2, "отклонена")
    rejected = desk.get(order.id)
    assert rejected is not None and rejected.state is OrderState.REJECTED
    assert rejected.reason == "нет денег до января"
    assert news.told == [(order.id, OrderEvent.REJECTED)]
    assert box.sheets.values(config.google.spreadsheet_id, config.google.tabs.expenses)[1:] == []
