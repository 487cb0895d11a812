"""Bot replies never lie: they say what was written, they get through, they fit, and a
message sent again is not recorded again without asking.

Faults are Telegram's own, injected into the emulator: a 500 on sendMessage, a
connection dropped before or after Telegram took the message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from sheetledger.bot.app import MAX_REPLY, render_parts
from sheetledger.bot.expenses import Expense
from sheetledger.config import Config
from sheetledger.sandbox.runner import OWNER_ID, Sandbox
from sheetledger.store import LocalState
from tests.bot.botkit import WAIT, RunningBot, expense_rows, make_bot, wait_for_rows

os.environ.setdefault("PTB_TIMEDELTA", "true")

SEND = "sendMessage"
NOTHING_WRITTEN = "ничего не записано"


@pytest.fixture
def running(
    sandbox: tuple[Sandbox, Config], state: LocalState
) -> Iterator[tuple[Sandbox, Config, RunningBot]]:
    box, config = sandbox
    bot = make_bot(config, state, flush_every=0.1, reply_delays=(0.01, 0.01), redeliver_after=0.01)
    with RunningBot(bot) as running_bot:
        box.telegram.wait_for_poll()
        yield box, config, running_bot


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def no_lie(box: Sandbox) -> None:
    texts = [m["text"] for m in box.telegram.sent(OWNER_ID)]
    assert not any(NOTHING_WRITTEN in text.lower() for text in texts), texts


# --------------------------------------------------------------------------- failed replies


def test_a_reply_telegram_refuses_with_500_is_sent_again_and_says_what_was_written(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    fault = box.telegram.fail_next(500, count=2, match=SEND)
    box.telegram.send_text(OWNER_ID, "3500 реклама яндекс")
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    assert reply["text"].startswith("Записал расход") and "3 500 ₽" in reply["text"]
    assert len(wait_for_rows(box, config, lambda rows: len(rows) == 1)) == 1
    assert fault.hits == 2
    no_lie(box)


def test_a_reply_that_keeps_failing_is_answered_when_the_message_comes_again(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    """More failures than one handler retries: the update is left unconfirmed, Telegram
    delivers it again, and the answer comes from what the outbox says was written."""
    box, config, _ = running
    fault = box.telegram.fail_next(500, count=5, match=SEND)
    sent = box.telegram.send_text(OWNER_ID, "1200 такси")
    reply = box.telegram.wait_for_sent(OWNER_ID, timeout=WAIT)[0]
    assert "1 200 ₽" in reply["text"] and "Транспорт" in reply["text"]
    assert reply["reply_to_message"]["message_id"] == sent["message_id"]
    rows = expense_rows(box, config)
    assert len(rows) == 1 and Decimal(str(rows[0]["Amount"])) == Decimal("1200")
    assert len(box.telegram.sent(OWNER_ID)) == 1 and fault.hits == 5
    no_lie(box)


@pytest.mark.parametrize("after_commit", [False, True], ids=["dropped", "dropped-after-sent"])
def test_a_dropped_connection_on_the_reply_records_once_and_tells_the_truth(
    running: tuple[Sandbox, Config, RunningBot], after_commit: bool
) -> None:
    box, config, _ = running
    fault = box.telegram.drop_next(match=SEND, after_commit=after_commit)
    box.telegram.send_text(OWNER_ID, "850 кофе в офис")
    # Dropped after Telegram took it, the reply is shown and then sent once more: the
    # client cannot know it arrived. Both copies say what was written.
    replies = box.telegram.wait_for_sent(OWNER_ID, 2 if after_commit else 1)
    assert all("850 ₽" in reply["text"] for reply in replies) and fault.hits == 1
    assert len(wait_for_rows(box, config, lambda rows: len(rows) == 1)) == 1
    no_lie(box)


# --------------------------------------------------------------------------- long replies


def test_a_70_line_message_is_70_rows_and_a_reply_in_parts_that_fit(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    lines = [
        f"{100 + n} такси поездка номер {n} с длинным пояснением для отчёта" for n in range(70)
    ]
    sent = box.telegram.send_text(OWNER_ID, "\n".join(lines))
    mid = sent["message_id"]
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 70)
    assert sorted(r["Expense ID"] for r in rows) == sorted(
        f"tg:{OWNER_ID}:{mid}:{n}" for n in range(70)
    )
    parts = box.telegram.wait_for_sent(OWNER_ID, count=6, timeout=WAIT)
    assert all(len(p["text"]) <= MAX_REPLY for p in parts)
    assert all(p["reply_to_message"]["message_id"] == mid for p in parts)
    shown = [data for p in parts for data in buttons(p).values() if data.startswith("u:")]
    assert sorted(shown) == sorted(f"u:{mid}:{n}" for n in range(70))
    assert "70 расходов" in parts[0]["text"]
    no_lie(box)

    # Undo in the third part edits that part only, and it still fits.
    third = parts[2]
    line = int(next(d for d in buttons(third).values() if d.startswith("u:")).rsplit(":", 1)[1])
    box.telegram.press_button(OWNER_ID, third["message_id"], f"u:{mid}:{line}")
    rows = wait_for_rows(
        box, config, lambda rows: any(r["Void"] is True for r in rows), timeout=WAIT
    )
    assert [r["Expense ID"] for r in rows if r["Void"] is True] == [f"tg:{OWNER_ID}:{mid}:{line}"]
    edited = box.telegram.wait_for_sent(OWNER_ID, predicate=lambda m: "отменено" in m["text"])
    assert [m["message_id"] for m in edited] == [third["message_id"]]
    assert len(edited[0]["text"]) <= MAX_REPLY
    assert f"r:{mid}:{line}" in buttons(edited[0]).values()


def test_a_4096_character_line_is_recorded_whole_and_answered_briefly(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    text = "500 такси " + "очень длинный комментарий " * 200
    text = text[:4096].rstrip()
    box.telegram.send_text(OWNER_ID, text)
    reply = box.telegram.wait_for_sent(OWNER_ID)[0]
    assert reply["text"].startswith("Записал расход") and len(reply["text"]) <= MAX_REPLY
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 1)
    assert rows[0]["Comment"] == text.removeprefix("500 ")
    no_lie(box)


def test_every_part_of_any_reply_fits_in_a_telegram_message() -> None:
    from datetime import UTC, date, datetime

    huge = "я" * 5000
    expenses = [
        Expense(
            key=f"tg:1:2:{n}",
            date=date(2026, 11, 27),
            amount=Decimal("9999999.99"),
            category="Категория с очень длинным названием" * 3,
            comment=huge,
            contract_no="1045-" + "А" * 300,
            deal_id=None,
            entered_by="x",
            recorded_at=datetime(2026, 11, 27, tzinfo=UTC),
            void=n % 2 == 0,
        )
        for n in range(200)
    ]
    parts = render_parts(expenses, pending=True, fatal=True)
    assert len(parts) > 1
    assert all(len(text) <= MAX_REPLY for text, _ in parts)
    assert [e.key for _, chunk in parts for e in chunk] == [e.key for e in expenses]


# --------------------------------------------------------------------------- sent again


def test_the_same_text_sent_again_is_not_recorded_again_without_asking(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    box, config, _ = running
    tg = box.telegram
    tg.send_text(OWNER_ID, "3500 реклама яндекс\n1200 такси")
    tg.wait_for_sent(OWNER_ID)
    wait_for_rows(box, config, lambda rows: len(rows) == 2)

    again = tg.send_text(OWNER_ID, "3500 реклама  яндекс\n1200 такси\n")
    asked = tg.wait_for_sent(OWNER_ID, 2)[1]
    assert "уже записан" in asked["text"] and "3 500 ₽" in asked["text"]
    assert "1 200 ₽" in asked["text"] and "Записать ещё раз?" in asked["text"]
    choice = buttons(asked)
    assert set(choice.values()) == {f"a:{again['message_id']}", f"n:{again['message_id']}"}
    assert len(expense_rows(box, config)) == 2

    no = next(k for k, v in choice.items() if v.startswith("n:"))
    tg.press_button(OWNER_ID, asked["message_id"], choice[no])
    kept = tg.wait_for_sent(OWNER_ID, predicate=lambda m: "не записал" in m["text"].lower())[0]
    assert kept["message_id"] == asked["message_id"] and buttons(kept) == {}
    assert len(expense_rows(box, config)) == 2

    third = tg.send_text(OWNER_ID, "3500 реклама яндекс\n1200 такси")
    asked = tg.wait_for_sent(OWNER_ID, 3)[2]
    yes = f"a:{third['message_id']}"
    tg.press_button(OWNER_ID, asked["message_id"], yes)
    rows = wait_for_rows(box, config, lambda rows: len(rows) == 4)
    assert (
        sum(
            1
            for r in rows
            if str(r["Expense ID"]).startswith(f"tg:{OWNER_ID}:{third['message_id']}:")
        )
        == 2
    )
    tg.wait_for_sent(
        OWNER_ID,
        predicate=lambda m: (
            m["message_id"] == asked["message_id"] and m["text"].startswith("Записал 2")
        ),
    )
    tg.press_button(OWNER_ID, asked["message_id"], f"u:{third['message_id']}:0")  # its buttons work
    wait_for_rows(box, config, lambda rows: sum(r["Void"] is True for r in rows) == 1)
    # Pressing "record again" once more (a double tap) adds nothing.
    assert len(expense_rows(box, config)) == 4


def test_resending_a_70_line_message_after_a_failed_reply_never_doubles(
    running: tuple[Sandbox, Config, RunningBot],
) -> None:
    """The reported break: the reply failed, the person sent the 70 lines again."""
    box, config, _ = running
    text = "\n".join(f"{100 + n} такси {n}" for n in range(70))
    box.telegram.fail_next(500, count=3, match=SEND)
    box.telegram.send_text(OWNER_ID, text)
    wait_for_rows(box, config, lambda rows: len(rows) == 70)
    box.telegram.wait_for_sent(OWNER_ID, 6, timeout=WAIT)
    box.telegram.send_text(OWNER_ID, text)
    asked = box.telegram.wait_for_sent(
        OWNER_ID, predicate=lambda m: "Записать ещё раз?" in m["text"]
    )[0]
    assert len(asked["text"]) <= MAX_REPLY and "70" in asked["text"]
    assert len(expense_rows(box, config)) == 70
    no_lie(box)


def test_long_plain_text_is_cut_between_lines_into_messages_that_fit() -> None:
    from sheetledger.bot.app import split_text

    lines = [f"• строка {n}: " + "ж" * (n * 37 % 300) for n in range(200)]
    lines.insert(50, "ы" * 9000)  # one line longer than two messages
    parts = split_text("\n".join(lines))
    assert all(0 < len(part) <= MAX_REPLY for part in parts)
    assert "".join(p.replace("\n", "") for p in parts) == "".join(lines)
    assert split_text("коротко") == ["коротко"]
