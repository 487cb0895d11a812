"""The planner and the texts: who is told what, when; SMS rules, quiet hours, length."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sheetledger.config import SmsWhen
from sheetledger.notify.plan import Channel, plan_news, quiet_until, sms_wanted
from sheetledger.notify.texts import SMS_ONE, SMS_TWO, sms_text, ucs2_length
from sheetledger.orders.model import OrderEvent, Payment
from sheetledger.sandbox.runner import ACCOUNTANT_ID, SUPPLY_ID
from tests.notify.kit import PHONE, make_order, pure_config, sms_config

YEKB = ZoneInfo("Asia/Yekaterinburg")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_a_new_order_is_one_card_per_accountant_and_one_sms_per_phone() -> None:
    order = make_order()
    notices = plan_news(order, OrderEvent.CREATED, pure_config(sms_config()), NOW)

    assert [(n.channel, n.recipient) for n in notices] == [
        (Channel.TELEGRAM, str(ACCOUNTANT_ID)),
        (Channel.SMS, PHONE),
    ]
    card = notices[0]
    assert card.buttons and card.bill_link == order.draft.bill_link
    assert card.key == f"{order.id}:created:telegram:{ACCOUNTANT_ID}"
    assert "12 000,00 ₽" in card.text and "ООО «Фурнитура-Опт»" in card.text


def test_without_sms_config_only_telegram() -> None:
    notices = plan_news(make_order(), OrderEvent.CREATED, pure_config(None), NOW)
    assert {n.channel for n in notices} == {Channel.TELEGRAM}


@pytest.mark.parametrize(
    ("when", "amount", "due", "wanted"),
    [
        ((SmsWhen.THRESHOLD,), "49999.99", None, False),
        ((SmsWhen.THRESHOLD,), "50000", None, True),
        ((SmsWhen.DUE_SOON,), "10", date(2026, 12, 5), False),
        ((SmsWhen.DUE_SOON,), "10", date(2026, 12, 4), True),
        ((SmsWhen.DUE_SOON,), "10", None, False),
        ((SmsWhen.THRESHOLD, SmsWhen.DUE_SOON), "10", date(2026, 12, 3), True),
        ((SmsWhen.ALWAYS,), "1", None, True),
    ],
)
def test_sms_rules(when: tuple[SmsWhen, ...], amount: str, due: date | None, wanted: bool) -> None:
    sms = sms_config(when=when, threshold=Decimal("50000"), due_within_days=2)
    order = make_order(amount=amount, due=due)
    assert sms_wanted(order, sms, date(2026, 12, 2)) is wanted


def test_paid_and_rejected_tell_the_requester_with_the_reason() -> None:
    order = make_order()
    paid = order.paid(Payment(date(2026, 12, 3), Decimal("12000"), "р/с"))
    rejected = order.rejected("счёт не на нашу фирму")
    config = pure_config(sms_config())

    [told] = plan_news(paid, OrderEvent.PAID, config, NOW)
    [no] = plan_news(rejected, OrderEvent.REJECTED, config, NOW)

    assert (told.channel, told.recipient) == (Channel.TELEGRAM, str(SUPPLY_ID))
    assert "оплачена 03.12.2026" in told.text and not told.buttons
    assert "счёт не на нашу фирму" in no.text


def test_the_overdue_reminder_is_keyed_by_day_and_waits_for_remind_at() -> None:
    config = pure_config(None, remind_at="09:30")
    order = make_order(due=date(2026, 12, 1))
    night = datetime(2026, 12, 2, 1, 0, tzinfo=config.tz)

    [first] = plan_news(order, OrderEvent.OVERDUE, config, night)
    [again] = plan_news(order, OrderEvent.OVERDUE, config, night.replace(hour=15))
    [next_day] = plan_news(order, OrderEvent.OVERDUE, config, night.replace(day=3))

    assert first.key == again.key != next_day.key
    assert first.not_before == datetime(2026, 12, 2, 9, 30, tzinfo=config.tz)
    assert again.not_before == night.replace(hour=15)  # past remind_at: now
    assert plan_news(make_order(), OrderEvent.OVERDUE, config, night) == []  # not overdue


@pytest.mark.parametrize(
    ("local", "until"),
    [
        (datetime(2026, 12, 2, 22, 0), datetime(2026, 12, 3, 9, 0)),
        (datetime(2026, 12, 2, 21, 0), datetime(2026, 12, 3, 9, 0)),
        (datetime(2026, 12, 3, 3, 0), datetime(2026, 12, 3, 9, 0)),
        (datetime(2026, 12, 3, 8, 59), datetime(2026, 12, 3, 9, 0)),
        (datetime(2026, 12, 3, 9, 0), None),
        (datetime(2026, 12, 3, 20, 59), None),
    ],
)
def test_quiet_hours_wrap_midnight_in_the_business_time_zone(
    local: datetime, until: datetime | None
) -> None:
    now = local.replace(tzinfo=YEKB).astimezone(UTC)  # the clock is UTC; the rule is local
    expected = until.replace(tzinfo=YEKB) if until else None
    assert quiet_until(now, "21:00-09:00", YEKB) == expected


def test_quiet_hours_within_a_day_and_none() -> None:
    lunch = datetime(2026, 12, 2, 13, 30, tzinfo=YEKB)
    assert quiet_until(lunch, "13:00-14:00", YEKB) == lunch.replace(hour=14, minute=0)
    assert quiet_until(lunch, None, YEKB) is None


@pytest.mark.parametrize(
    "supplier",
    [
        "ООО «Фурнитура-Опт»",
        "Индивидуальный предприниматель Константинопольский Аристарх Вениаминович",
        "Ф" * 500,
        "",
        "😀" * 80,  # beyond the BMP: two UCS-2 units each
    ],
)
def test_an_sms_fits_one_sms_by_shortening_the_supplier(supplier: str) -> None:
    order = make_order(supplier=supplier, amount="1234567.89")
    text = sms_text(order)
    assert ucs2_length(text) <= SMS_ONE, text
    assert str(order.id) in text and "1 234 567,89 ₽" in text and "до 10.12" in text


def test_an_sms_takes_two_parts_only_when_one_leaves_no_room_for_the_supplier() -> None:
    order = make_order(supplier="Поставщик с длинным именем", amount="1" * 18 + ".99")
    text = sms_text(order)
    assert SMS_ONE < ucs2_length(text) <= SMS_TWO, text
    assert "Поставщик с длинным именем" in text


def test_an_sms_carries_no_link_no_secret_and_one_line() -> None:
    config = pure_config(sms_config())
    order = make_order(supplier="ООО\nРога\tи копыта")
    [sms] = [n for n in plan_news(order, OrderEvent.CREATED, config, NOW) if n.channel == "sms"]
    assert "drive.google.com" not in sms.text and "KEY-1" not in sms.text
    assert "\n" not in sms.text and "ООО Рога и копыта" in sms.text
