"""The SMS gateway emulator, driven with ``requests`` as a real client would drive sms.ru and SMSC.

Shapes: the gateways' own documentation. Both gateways answer HTTP 200
with the outcome in the body; a message they accept is counted on the emulator's control
side, which is what the payment-order tests assert on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from sheetledger.sandbox.amocrm import ManualClock
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sms import SmsEmulator, segments

KEY = "F2D79B58-A5A2-2F9E-91C8-73D12CE2E102"
PHONE = "79280000001"
CYRILLIC_70 = "Заявка №1045: оплатить 12 000 ₽ ООО «Фурнитура-Опт» до 10.12, кабинет."


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_764_650_000)


@pytest.fixture
def gateway(clock: ManualClock) -> SmsEmulator:
    return SmsEmulator(KEY, balance=Decimal("20.00"), price=Decimal("4.50"), clock=clock)


@pytest.fixture
def url(gateway: SmsEmulator) -> Iterator[str]:
    with LoopbackServer(gateway) as server:
        yield server.url


def smsru(url: str, path: str, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{url}{path}", params={"json": 1, **params}, timeout=5)
    assert response.status_code == 200  # errors too: the code is in the body
    body: dict[str, Any] = response.json()
    return body


def smsc(url: str, path: str, **params: Any) -> dict[str, Any]:
    response = requests.post(f"{url}{path}", data={"fmt": 3, **params}, timeout=5)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# --------------------------------------------------------------------------- parts


def test_parts_are_counted_as_the_gateways_bill_them():
    assert len(CYRILLIC_70) == 70
    assert segments(CYRILLIC_70) == 1  # UCS-2: 70 in one SMS
    assert segments(CYRILLIC_70 + "!") == 2  # then 67 per part
    assert segments("Ж" * 134) == 2 and segments("Ж" * 135) == 3
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2  # GSM 7-bit: 160, then 153
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension characters count 2
    assert segments("") == 0


# --------------------------------------------------------------------------- sms.ru


def test_smsru_sends_bills_and_lists_what_it_delivered(gateway, url):
    body = smsru(url, "/sms/send", api_id=KEY, to=f"+7 (928) 000-00-01,{PHONE[:-1]}2", msg="Тест")
    assert (body["status"], body["status_code"]) == ("OK", 100)
    assert set(body["sms"]) == {"+7 (928) 000-00-01", "79280000002"}
    first = body["sms"]["+7 (928) 000-00-01"]
    assert (first["status"], first["status_code"]) == ("OK", 100)
    assert first["sms_id"].count("-") == 1
    assert body["balance"] == 11.0  # 20.00 - 2 × 4.50
    delivered = gateway.messages()
    assert [(m["to"], m["text"], m["parts"]) for m in delivered] == [
        (PHONE, "Тест", 1),
        ("79280000002", "Тест", 1),
    ]
    assert gateway.balance == Decimal("11.00")
    control = requests.get(f"{url}/_sandbox/messages", params={"to": PHONE}, timeout=5).json()
    assert [m["id"] for m in control["messages"]] == [first["sms_id"]]
    status = smsru(url, "/sms/status", api_id=KEY, sms_id=first["sms_id"])
    assert status["sms"][first["sms_id"]]["status_code"] == 103  # delivered
    assert smsru(url, "/sms/status", api_id=KEY, sms_id="1-1")["sms"]["1-1"]["status_code"] == -1
    assert smsru(url, "/my/balance", api_id=KEY) == {
        "status": "OK",
        "status_code": 100,
        "balance": 11.0,
    }
    assert requests.delete(f"{url}/_sandbox/messages", timeout=5).status_code == 204
    assert gateway.messages() == []


def test_the_control_side_sets_the_balance_and_the_stop_list(gateway, url):
    control = f"{url}/_sandbox/account"
    answer = requests.post(
        control, json={"balance": "4.00", "stop_list": ["+79280000009"]}, timeout=5
    )
    assert answer.json() == {"balance": "4.00", "unavailable": False, "stop_list": ["79280000009"]}
    assert smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="x")["status_code"] == 201
    assert requests.post(control, json={"balance": "lots"}, timeout=5).status_code == 400
    assert gateway.balance == Decimal("4.00")


def test_smsru_refuses_a_bad_key_a_bad_phone_and_no_money(gateway, url):
    assert smsru(url, "/sms/send", api_id="wrong", to=PHONE, msg="x") == {
        "status": "ERROR",
        "status_code": 200,
        "status_text": "Неправильный api_id",
    }
    assert smsru(url, "/my/balance", api_id="")["status_code"] == 200
    partly = smsru(url, "/sms/send", api_id=KEY, to=f"{PHONE},12345", msg="x")
    assert partly["status"] == "OK"  # the request stands; the bad number is its own entry
    assert partly["sms"]["12345"]["status"] == "ERROR"
    assert partly["sms"]["12345"]["status_code"] == 202
    assert partly["sms"][PHONE]["status_code"] == 100
    assert smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="  ")["status_code"] == 203
    assert smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="Ж" * 537)["status_code"] == 205
    # 15.50 left; four Cyrillic parts cost 18.00: refused whole, nothing sent or billed.
    broke = smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="Ж" * 210)
    assert (broke["status"], broke["status_code"]) == ("ERROR", 201)
    assert broke["status_text"] == "Не хватает средств на лицевом счету"
    assert len(gateway.messages()) == 1 and gateway.balance == Decimal("15.50")


def test_smsru_flags_the_same_text_within_a_minute_and_honours_test_mode(gateway, url, clock):
    assert smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="Оплачено")["status_code"] == 100
    again = smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="Оплачено")["sms"][PHONE]
    assert (again["status"], again["status_code"]) == ("ERROR", 231)
    clock.advance(61)
    assert smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="Оплачено")["sms"][PHONE]["sms_id"]
    dry = smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="Проба", test=1)
    assert dry["sms"][PHONE]["status_code"] == 100
    assert [m["text"] for m in gateway.messages(PHONE)] == ["Оплачено", "Оплачено"]
    assert gateway.balance == Decimal("11.00")  # the test message was free


def test_smsru_plain_text_answers_and_per_phone_texts(gateway, url):
    plain = requests.post(
        f"{url}/sms/send", data={"api_id": KEY, f"to[{PHONE}]": "Один"}, timeout=5
    ).text
    code, sms_id, balance = plain.split("\n")
    assert (code, balance) == ("100", "balance=15.50")
    assert gateway.messages()[0]["id"] == sms_id
    assert requests.get(f"{url}/my/balance", params={"api_id": KEY}, timeout=5).text == (
        "100\n15.50"
    )
    gateway.stop_list.add("79280000009")
    stopped = smsru(url, "/sms/send", api_id=KEY, to="89280000009", msg="x")
    assert stopped["sms"]["89280000009"]["status_code"] == 209


def test_smsru_outages_answer_as_the_gateway_does(gateway, url):
    control = f"{url}/_sandbox/account"
    assert requests.post(control, json={"unavailable": True}, timeout=5).ok
    assert smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="x")["status_code"] == 220
    assert requests.post(control, json={"unavailable": False}, timeout=5).ok
    gateway.fail_next(503)
    down = requests.get(
        f"{url}/sms/send", params={"api_id": KEY, "to": PHONE, "msg": "x"}, timeout=5
    )
    assert down.status_code == 503 and down.headers["Content-Type"] == "text/html"
    gateway.drop_next(after_commit=False)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/sms/send", params={"api_id": KEY, "to": PHONE, "msg": "x"}, timeout=5)
    assert gateway.messages() == []  # nothing went out during the outage
    assert smsru(url, "/sms/send", api_id=KEY, to=PHONE, msg="x")["status_code"] == 100
    assert len(gateway.messages()) == 1


# --------------------------------------------------------------------------- SMSC


def test_smsc_sends_with_an_api_key_and_counts_parts(gateway, url):
    body = smsc(
        url,
        "/sys/send.php",
        login="",
        psw=KEY,
        phones=f"{PHONE};79280000002",
        mes=CYRILLIC_70 + "!",
        charset="utf-8",
        cost=3,
    )
    assert set(body) == {"id", "cnt", "cost", "balance"}
    assert isinstance(body["id"], int) and body["cnt"] == 4  # 2 phones × 2 parts
    assert (body["cost"], body["balance"]) == ("18.00", "2.00")
    assert [m["text"] for m in gateway.messages()] == [CYRILLIC_70 + "!"] * 2
    assert smsc(url, "/sys/balance.php", login="mebel", psw=KEY, cur=1) == {
        "balance": "2.00",
        "currency": "RUB",
    }


def test_smsc_refusals_carry_their_codes(gateway, url, clock):
    assert smsc(url, "/sys/send.php", login="", psw="bad", phones=PHONE, mes="x") == {
        "error": "authorise error",
        "error_code": 2,
    }
    assert smsc(url, "/sys/balance.php", psw="bad")["error_code"] == 2
    assert smsc(url, "/sys/send.php", psw=KEY, phones=PHONE, mes="")["error_code"] == 1
    bad_phone = smsc(url, "/sys/send.php", psw=KEY, phones="123", mes="x", id="order-7")
    assert bad_phone == {"error": "invalid number", "error_code": 7, "id": "order-7"}
    no_money = smsc(url, "/sys/send.php", psw=KEY, phones=PHONE, mes="Ж" * 300)
    assert no_money["error_code"] == 3 and "id" in no_money
    sent = smsc(url, "/sys/send.php", psw=KEY, phones=PHONE, mes="Оплачено", charset="utf-8")
    assert sent["cnt"] == 1
    duplicate = smsc(url, "/sys/send.php", psw=KEY, phones=PHONE, mes="Оплачено", charset="utf-8")
    assert duplicate["error_code"] == 9  # the client counts it as sent
    clock.advance(61)
    assert "id" in smsc(
        url, "/sys/send.php", psw=KEY, phones=PHONE, mes="Оплачено", charset="utf-8"
    )
    assert len(gateway.messages()) == 2


def test_smsc_reads_windows_1251_unless_told_otherwise(gateway, url):
    as_1251 = requests.post(
        f"{url}/sys/send.php",
        data={"psw": KEY, "phones": PHONE, "mes": "Привет".encode("cp1251"), "fmt": 3},
        timeout=5,
    ).json()
    assert as_1251["cnt"] == 1
    plain = requests.get(
        f"{url}/sys/send.php",
        params={"psw": KEY, "phones": "79280000002", "mes": "Привет"},
        timeout=5,
    ).text
    assert plain.startswith("OK - 1 SMS, ID - ")
    texts = [m["text"] for m in gateway.messages()]
    assert texts[0] == "Привет"
    assert texts[1] != "Привет"  # UTF-8 sent without charset=utf-8 arrives garbled, as at SMSC


# --------------------------------------------------------------------------- the sandbox


def test_the_sandbox_serves_the_gateway_with_its_key_and_url(tmp_path):
    box = Sandbox.start(tmp_path)
    try:
        written = json.loads((tmp_path / "sandbox.json").read_text(encoding="utf-8"))
        key = (tmp_path / "secrets" / "sms-api-key").read_text(encoding="utf-8")
        assert written["sms"]["api_key"] == key
        base = written["urls"]["sms"]
        assert written["control"]["sms"] == f"{base}/_sandbox/"
        answer = smsru(base, "/sms/send", api_id=key, to=PHONE, msg="Счёт оплачен")
        assert answer["sms"][PHONE]["status_code"] == 100
    finally:
        box.stop(save=True)
    resumed = Sandbox.start(tmp_path)
    try:
        assert [m["text"] for m in resumed.sms.messages(PHONE)] == ["Счёт оплачен"]
        assert (tmp_path / "secrets" / "sms-api-key").read_text(encoding="utf-8") == key
    finally:
        resumed.stop(save=False)
