"""A contract reference that matches no deal: the reply offers the similar deals and
«Без сделки»; a press sets the expense's Deal ID and contract (or clears the reference,
keeping it in the comment), once, and the buttons of an old reply still work after a
restart that lost ``state.db`` (the row is read back from the ledger).

Real python-telegram-bot and gspread against the emulators; pure parts at the end.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sheetledger.bot.app import main_keyboard
from sheetledger.bot.expenses import DealIndex, Expense, deal_choice, deal_offers, unmatched
from sheetledger.config import Config
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import RunningBot, add_deal, make_bot, wait_for_rows

os.environ.setdefault("PTB_TIMEDELTA", "true")


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def _says(box: Sandbox, wanted: str) -> dict[str, Any]:
    return box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: wanted in m["text"])[0]


def test_a_similar_deal_is_picked_once_and_without_a_deal_keeps_the_reference(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> None:
    box, config = sandbox
    add_deal(config, 31_000_777, "1045-А")
    add_deal(config, 31_000_888, "2000")
    with RunningBot(make_bot(config, state)):
        box.telegram.wait_for_poll()
        sent = box.telegram.send_text(OWNER_ID, "3200 фурнитура №1045")
        mid = sent["message_id"]
        reply = box.telegram.wait_for_sent(OWNER_ID)[0]
        other = box.telegram.send_text(OWNER_ID, "500 доставка дог. 9999")
        other_reply = box.telegram.wait_for_sent(OWNER_ID, 2)[1]
        wait_for_rows(box, config, lambda rows: len(rows) == 2)
    assert "№ 1045 не найден" in reply["text"] and "Без сделки" in reply["text"]
    offered = buttons(reply)
    assert offered["🔗 № 1045-А · Сделка 1045-А"] == f"d:{mid}:0:31000777"
    assert offered["➖ Без сделки"] == f"x:{mid}:0"
    assert not any("2000" in label for label in offered)  # not similar: not offered
    assert all(len(data.encode()) < 64 and data.isascii() for data in offered.values())
    assert buttons(other_reply)["➖ Без сделки"] == f"x:{other['message_id']}:0"

    # A double tap on each, pressed while the bot was down; it comes back without its
    # state.db (lost): the rows are read back from the ledger, and set once.
    for _ in range(2):
        box.telegram.press_button(OWNER_ID, reply["message_id"], f"d:{mid}:0:31000777")
        box.telegram.press_button(OWNER_ID, other_reply["message_id"], f"x:{other['message_id']}:0")
    fresh = LocalState(state.path.with_name("fresh.db"))
    try:
        with RunningBot(make_bot(config, fresh)):
            box.telegram.wait_for_poll()
            answers = box.telegram.wait_for_answers(4, timeout=30)
            linked = _says(box, "договор № 1045-А")
            went_on = _says(box, "(указан договор № 9999, без сделки)")
            rows = wait_for_rows(box, config, lambda rows: rows[1]["Contract no"] in (None, ""))
    finally:
        fresh.close()
    assert [a.get("text") for a in answers].count("Привязано к сделке") == 2
    assert rows[0]["Deal ID"] == 31_000_777 and str(rows[0]["Contract no"]) == "1045-А"
    assert rows[0]["Comment"] == "фурнитура"
    assert Decimal(str(rows[0]["Amount"])) == Decimal("3200")
    assert rows[1]["Deal ID"] in (None, "")
    assert rows[1]["Comment"] == "доставка (указан договор № 9999, без сделки)"  # said once
    assert "не найден" not in linked["text"] and "не найден" not in went_on["text"]
    assert set(buttons(linked).values()) == {f"c:{mid}:0", f"u:{mid}:0"}
    assert set(buttons(went_on).values()) == {
        f"c:{other['message_id']}:0",
        f"u:{other['message_id']}:0",
    }


# --------------------------------------------------------------------------- pure parts

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
DEALS = DealIndex(
    {"1045-а": (77,), "10450": (78,), "2000": (1,)},
    {77: "№ 1045-А · Кухня", 78: "№ 10450", 1: "№ 2000"},
    {77: "1045-А", 78: "10450", 1: "2000"},
)


def expense(ref: str | None, deal: int | None = None, **kw: Any) -> Expense:
    return Expense(
        "tg:42:7:0", date(2026, 12, 2), Decimal("100.00"), "Офис", "кофе", ref, deal, "О", NOW, **kw
    )


def test_only_a_checked_unmatched_live_reference_is_offered() -> None:
    assert unmatched(expense("1045"))
    assert not unmatched(expense("1045", 77))
    assert not unmatched(expense(None))
    assert not unmatched(expense("1045", deal_checked=False))  # Deals not read yet
    assert not unmatched(expense("1045", void=True))
    offers = deal_offers([expense("1045"), expense(None)], DEALS)
    assert set(offers) == {"tg:42:7:0"}
    assert [deal for deal, _ in offers["tg:42:7:0"]] in ([77, 78], [78, 77])


def test_the_choice_sets_the_deal_and_its_contract_or_keeps_the_reference() -> None:
    assert deal_choice(expense("1045"), 77, DEALS) == {
        "contract_no": "1045-А",
        "deal_id": 77,
        "deal_checked": True,
    }
    assert deal_choice(expense("1045-А", 77), 77, DEALS) == {}  # already so
    assert deal_choice(expense("1045"), 999, DEALS) is None  # not a deal of the ledger
    cleared = deal_choice(expense("1045"), None, DEALS)
    assert cleared is not None and cleared["contract_no"] is None
    assert cleared["comment"] == "кофе (указан договор № 1045, без сделки)"
    assert deal_choice(expense(None), None, DEALS) == {}  # pressed twice


def test_the_deal_buttons_fit_telegram_for_long_ids() -> None:
    big = DealIndex({"1045": (9_999_999_999,)}, {9_999_999_999: "№ 1045 · " + "Я" * 200})
    offers = deal_offers([expense("104")], big)
    markup = main_keyboard(2_147_483_647, [expense("104")], ["Офис"], offers=offers)
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert "d:2147483647:0:9999999999" in data and "x:2147483647:0" in data
    assert all(isinstance(d, str) and len(d.encode()) < 64 for d in data)
    texts = [b.text for row in markup.inline_keyboard for b in row]
    assert all(len(t) <= 45 for t in texts)
