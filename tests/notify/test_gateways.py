"""The sms.ru and SMSC adapters with ``requests`` against the SMS emulator's two protocols."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from sheetledger.errors import FatalError, RetriableError
from sheetledger.notify.sms import Smsc, SmsRefused, SmsRu, smsc_id
from sheetledger.retry import RetryPolicy
from sheetledger.sandbox.clock import ManualClock
from sheetledger.sandbox.runner import Sandbox
from tests.notify.kit import PHONE

TEXT = "Оплатить 12 000 ₽: ООО «Фурнитура-Опт», до 10.12. O-261202-3fa9"


def quick(clock: ManualClock, attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base=1.0, cap=5.0, sleep=clock.sleep, jitter=lambda: 0)


def smsru(box: Sandbox, clock: ManualClock, key: str | None = None, **kw: object) -> SmsRu:
    return SmsRu(key or box.sms.api_key, base_url=box.urls["sms"], retry=quick(clock), **kw)  # type: ignore[arg-type]


def smsc(box: Sandbox, clock: ManualClock, key: str | None = None) -> Smsc:
    return Smsc(key or box.sms.api_key, login="", base_url=box.urls["sms"], retry=quick(clock))


def test_smsru_sends_one_message_and_says_its_id(box: Sandbox, clock: ManualClock) -> None:
    receipt = smsru(box, clock).send(PHONE, TEXT, "k1")

    [message] = box.sms.messages(PHONE)
    assert (message["provider"], message["text"], message["parts"]) == ("sms.ru", TEXT, 1)
    assert receipt.ref == message["id"] and not receipt.duplicate
    assert not any(box.sms.api_key in line for line in box.sms.log)  # the key is in the body


def test_smsru_a_repeat_within_the_minute_is_a_duplicate_not_a_second_sms(
    box: Sandbox, clock: ManualClock
) -> None:
    gateway = smsru(box, clock)
    gateway.send(PHONE, TEXT, "k1")
    again = gateway.send(PHONE, TEXT, "k1")

    assert again.duplicate
    assert len(box.sms.messages(PHONE)) == 1


def test_smsru_a_lost_answer_is_retried_and_found_a_duplicate(
    box: Sandbox, clock: ManualClock
) -> None:
    box.sms.drop_next(match="/sms/send")  # delivered, then the connection is cut

    receipt = smsru(box, clock).send(PHONE, TEXT, "k1")

    assert receipt.duplicate
    assert len(box.sms.messages(PHONE)) == 1


def test_smsru_outage_then_recovery(box: Sandbox, clock: ManualClock) -> None:
    box.sms.fail_next(503, count=4, match="/sms/send")
    with pytest.raises(RetriableError, match="HTTP 503"):
        smsru(box, clock).send(PHONE, TEXT, "k1")
    assert box.sms.messages() == []

    box.sms.unavailable = True  # sms.ru's own "try later" (220)
    with pytest.raises(RetriableError, match="220"):
        smsru(box, clock).send(PHONE, TEXT, "k1")
    box.sms.unavailable = False

    smsru(box, clock).send(PHONE, TEXT, "k1")
    assert len(box.sms.messages(PHONE)) == 1


def test_smsru_refusals_and_a_bad_key(box: Sandbox, clock: ManualClock) -> None:
    box.sms.stop_list = {PHONE}
    with pytest.raises(SmsRefused, match="209"):
        smsru(box, clock).send(PHONE, TEXT, "k1")
    with pytest.raises(FatalError, match="api_id was refused") as caught:
        smsru(box, clock, key="WRONG").send("79120000003", TEXT, "k2")
    assert "WRONG" not in str(caught.value)
    box.sms.balance = Decimal("1")
    with pytest.raises(FatalError, match="not enough money"):
        smsru(box, clock).send("79120000003", TEXT, "k3")


def test_smsru_balance(box: Sandbox, clock: ManualClock) -> None:
    assert smsru(box, clock).balance() == Decimal("500.00")
    with pytest.raises(FatalError):
        smsru(box, clock, key="WRONG").balance()


def test_smsc_sends_with_our_id_finds_it_by_status_and_counts_error_9_as_sent(
    box: Sandbox, clock: ManualClock
) -> None:
    gateway = smsc(box, clock)
    assert gateway.was_sent(PHONE, TEXT, "k1") is False

    receipt = gateway.send(PHONE, TEXT, "k1")
    again = gateway.send(PHONE, TEXT, "k1")  # error 9: the same request within a minute

    [message] = box.sms.messages(PHONE)
    assert message["text"] == TEXT  # charset=utf-8: no mojibake
    assert receipt.ref == message["id"] == smsc_id("k1")
    assert again.duplicate
    assert gateway.was_sent(PHONE, TEXT, "k1") is True
    assert gateway.was_sent(PHONE, TEXT, "k2") is False


def test_smsc_a_lost_answer_is_error_9_on_the_retry(box: Sandbox, clock: ManualClock) -> None:
    box.sms.drop_next(match="/sys/send.php")
    assert smsc(box, clock).send(PHONE, TEXT, "k1").duplicate
    assert len(box.sms.messages(PHONE)) == 1


def test_smsc_bad_login_and_balance(box: Sandbox, clock: ManualClock) -> None:
    assert smsc(box, clock).balance() == Decimal("500.00")
    with pytest.raises(FatalError, match="refused"):
        smsc(box, clock, key="WRONG").send(PHONE, TEXT, "k1")
    with pytest.raises(SmsRefused, match="7"):
        smsc(box, clock).send("12345", TEXT, "k1")


def test_no_key_in_any_log_line(
    box: Sandbox, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    box.sms.fail_next(503, count=2)
    box.sms.drop_next(match="/sys/send.php")
    smsru(box, clock).send(PHONE, TEXT, "k1")
    smsc(box, clock).send("79120000003", TEXT, "k2")
    with pytest.raises(FatalError):
        smsru(box, clock, key="WRONG-KEY-42").balance()

    assert caplog.records  # urllib3 and the retries did log
    assert box.sms.api_key not in caplog.text and "WRONG-KEY-42" not in caplog.text
