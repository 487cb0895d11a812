"""``OrderNotifier`` with the real clients against the emulators: each message once.

Counted on the emulators: the accountant's Telegram chat and the SMS account. The clock is
the sandbox's, moved by hand (quiet hours, retries' waits); nothing sleeps.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sheetledger.config import Config
from sheetledger.connect import build_order_news, build_sms
from sheetledger.notify.outbox import OrderNotifier
from sheetledger.orders.model import OrderEvent, Payment
from sheetledger.outage import OutageWatch
from sheetledger.retry import RetryPolicy
from sheetledger.sandbox.clock import ManualClock
from sheetledger.sandbox.runner import ACCOUNTANT_ID, ACCOUNTANT_PHONE, SUPPLY_ID, Sandbox
from sheetledger.store import LocalState
from tests.notify.conftest import MORNING
from tests.notify.kit import clock_now, edit_config, make_order


def notifier(
    config: Config, store: LocalState, clock: ManualClock, watch: OutageWatch | None = None
) -> OrderNotifier:
    retry = RetryPolicy(attempts=3, base=1.0, cap=5.0, sleep=clock.sleep, jitter=lambda: 0)
    return build_order_news(
        config, store, watch=watch, sms=build_sms(config, retry=retry), now=clock_now(clock)
    )


def cards(box: Sandbox, chat: int = ACCOUNTANT_ID) -> list[dict[str, Any]]:
    return box.telegram.sent(chat)


def sms(box: Sandbox) -> list[dict[str, Any]]:
    return box.sms.messages(ACCOUNTANT_PHONE)


def test_a_new_order_is_one_card_with_buttons_and_one_sms_however_often_told(
    box: Sandbox, config: Config, store: LocalState, clock: ManualClock
) -> None:
    news = notifier(config, store, clock)
    order = make_order()

    for _ in range(3):  # every cycle tells it again
        news.tell(order, OrderEvent.CREATED)
        news.flush()

    [card] = cards(box)
    [message] = sms(box)
    buttons = [b["callback_data"] for b in card["reply_markup"]["inline_keyboard"][0]]
    assert buttons == [f"op:{order.id}", f"oj:{order.id}"]
    assert order.draft.bill_link in card["text"]  # no Drive adapter given: the link
    assert str(order.id) in message["text"] and message["parts"] == 1
    assert {e["state"] for e in store.news_entries(str(order.id))} == {"sent"}


def test_the_bill_is_attached_when_it_can_be_fetched(
    box: Sandbox, config: Config, store: LocalState, clock: ManualClock
) -> None:
    pdf = b"%PDF-1.4 bill 77"
    news = build_order_news(
        config, store, fetch_bill=lambda link: ("bill-77.pdf", pdf), now=clock_now(clock)
    )
    order = make_order()
    news.tell(order, OrderEvent.CREATED)
    news.flush()

    [card] = cards(box)
    assert card["document"]["file_name"] == "bill-77.pdf"
    assert box.telegram.files[card["document"]["file_id"]]["content"] == pdf
    assert f"op:{order.id}" in str(card["reply_markup"])


def test_an_sms_outage_keeps_the_sms_and_sends_it_once_when_the_gateway_answers(
    box: Sandbox, config: Config, store: LocalState, clock: ManualClock
) -> None:
    told: list[str] = []
    watch = OutageWatch(told.append)
    news = notifier(config, store, clock, watch)
    box.sms.fail_next(503, count=3, match="/sms/send")  # every attempt of the first flush
    news.tell(make_order(1), OrderEvent.CREATED)

    first = news.flush()
    box.sms.unavailable = True  # then sms.ru's own 220 for a while
    second = news.flush()
    box.sms.unavailable = False
    third = news.flush()
    news.flush()

    assert (first.waiting, second.waiting, third.sent) == (1, 1, 1)
    assert len(cards(box)) == 1 and len(sms(box)) == 1
    assert len(told) == 2  # the outage once, its end once
    assert "SMS (sms.ru)" in told[0]


def test_an_answer_lost_on_the_way_back_is_not_a_second_sms(
    box: Sandbox, config: Config, store: LocalState, clock: ManualClock
) -> None:
    news = notifier(config, store, clock)
    box.sms.drop_next(match="/sms/send")  # sent, then the connection drops
    news.tell(make_order(), OrderEvent.CREATED)
    news.flush()
    news.flush()
    assert len(sms(box)) == 1


def test_smsc_error_9_counts_as_sent(box: Sandbox, store: LocalState, clock: ManualClock) -> None:
    def use_smsc(data: dict[str, Any]) -> None:
        data["orders"]["sms"]["provider"] = "smsc"
        data["orders"]["sms"]["login"] = ""

    config = edit_config(box, use_smsc)
    news = notifier(config, store, clock)
    box.sms.drop_next(match="/sys/send.php")  # sent; the retry gets error 9
    order = make_order()
    news.tell(order, OrderEvent.CREATED)
    report = news.flush()

    [message] = sms(box)
    assert message["provider"] == "smsc" and report.sent == 2
    [entry] = [e for e in store.news_entries(str(order.id)) if e["channel"] == "sms"]
    assert (entry["state"], entry["ref"]) == ("sent", message["id"])


def quiet(box: Sandbox) -> Config:
    def night(data: dict[str, Any]) -> None:
        data["orders"]["sms"]["quiet_hours"] = "21:00-09:00"

    return edit_config(box, night)


def test_quiet_hours_hold_the_sms_until_morning_not_the_card(
    box: Sandbox, store: LocalState, clock: ManualClock
) -> None:
    config = quiet(box)
    clock.set(MORNING.replace(hour=22).timestamp())  # 22:00 in Yekaterinburg
    news = notifier(config, store, clock)
    news.tell(make_order(), OrderEvent.CREATED)

    evening = news.flush()
    clock.set((MORNING + timedelta(days=1)).replace(hour=8, minute=59).timestamp())
    dawn = news.flush()
    assert (evening.held, dawn.held, len(sms(box)), len(cards(box))) == (1, 1, 0, 1)

    clock.set((MORNING + timedelta(days=1)).replace(hour=9, minute=0).timestamp())
    morning = news.flush()
    news.flush()
    assert morning.sent == 1 and len(sms(box)) == 1


def test_an_order_paid_at_night_cancels_its_held_sms_and_tells_the_requester(
    box: Sandbox, store: LocalState, clock: ManualClock
) -> None:
    config = quiet(box)
    clock.set(MORNING.replace(hour=23).timestamp())
    news = notifier(config, store, clock)
    order = make_order()
    news.tell(order, OrderEvent.CREATED)
    news.flush()
    news.tell(order.paid(Payment(date(2026, 12, 2), Decimal("12000"), "р/с")), OrderEvent.PAID)
    news.flush()
    clock.set((MORNING + timedelta(days=1)).timestamp())
    news.flush()

    assert sms(box) == []
    [told] = cards(box, SUPPLY_ID)
    assert "оплачена 02.12.2026" in told["text"] and "reply_markup" not in told


def test_the_overdue_reminder_goes_once_a_day_at_remind_at(
    box: Sandbox, config: Config, store: LocalState, clock: ManualClock
) -> None:
    news = notifier(config, store, clock)
    order = make_order(due=date(2026, 12, 1))
    clock.set(MORNING.replace(hour=0, minute=5).timestamp())
    news.tell(order, OrderEvent.OVERDUE)
    news.flush()
    assert cards(box) == []  # before 09:30

    for hour in (9, 12, 18):  # every cycle of the day tells it again
        clock.set(MORNING.replace(hour=hour, minute=31).timestamp())
        news.tell(order, OrderEvent.OVERDUE)
        news.flush()
    assert len(cards(box)) == 1

    clock.set((MORNING + timedelta(days=1)).timestamp())
    news.tell(order, OrderEvent.OVERDUE)
    news.flush()
    assert len(cards(box)) == 2 and "Не оплачена в срок" in cards(box)[1]["text"]


def test_after_a_crash_a_claimed_message_is_judged_not_resent_blindly(
    box: Sandbox, config: Config, store: LocalState, clock: ManualClock
) -> None:
    """What a process killed between sending and recording leaves: ``sending`` rows."""
    news = notifier(config, store, clock)
    order = make_order()
    news.tell(order, OrderEvent.CREATED)
    entries = {e["channel"]: e for e in store.news_entries(str(order.id))}
    now = clock()
    for entry in entries.values():  # both were claimed, and both reached their service
        store.news_claim(entry["key"], now)
    news.sms.send(ACCOUNTANT_PHONE, entries["sms"]["body"]["text"], entries["sms"]["key"])  # type: ignore[union-attr]

    clock.advance(10)  # a quick restart: inside sms.ru's duplicate minute
    report = news.flush()

    assert len(sms(box)) == 1 and cards(box) == []
    states = {e["channel"]: e["state"] for e in store.news_entries(str(order.id))}
    assert states == {"sms": "sent", "telegram": "unsure"}
    assert report.unsure == 1


def test_a_late_restart_with_sms_ru_marks_the_sms_unsure(
    box: Sandbox, config: Config, store: LocalState, clock: ManualClock
) -> None:
    news = notifier(config, store, clock)
    order = make_order()
    news.tell(order, OrderEvent.CREATED)
    [entry] = [e for e in store.news_entries(str(order.id)) if e["channel"] == "sms"]
    store.news_claim(entry["key"], clock())
    clock.advance(120)  # past the minute sms.ru would refuse a repeat in

    news.flush()

    assert sms(box) == []  # not sent again: it may have gone before the crash
    [after] = [e for e in store.news_entries(str(order.id)) if e["channel"] == "sms"]
    assert after["state"] == "unsure"


def test_no_secret_in_any_log_line(
    box: Sandbox,
    config: Config,
    store: LocalState,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    news = notifier(config, store, clock, OutageWatch())
    box.sms.fail_next(503, count=3)
    box.telegram.fail_next(502, count=1)
    news.tell(make_order(), OrderEvent.CREATED)
    news.flush()
    news.flush()

    assert len(sms(box)) == 1 and len(cards(box)) == 1
    # Ours and requests' (the SMS adapter's client). httpx's lines quote the Bot API URL and
    # its token: the log handler's filter redacts those (tests/bot/test_bot_crash.py shows
    # it on a real process's log, and tests/notify/test_notify_crash.py on the daemon's).
    secrets = (box.sms.api_key, config.telegram.token.reveal())
    lines = [
        r.getMessage() for r in caplog.records if r.name.startswith(("sheetledger", "urllib3"))
    ]
    assert any("503" in line for line in lines)  # the outage was logged
    assert not [line for line in lines if any(s in line for s in secrets)]
