"""sms.ru's HTTP API: ``/sms/send``, ``/sms/status``, ``/my/balance``.

Shapes from sms.ru's documented codes.
Every answer is HTTP 200; with ``json=1`` it is ``{"status": "OK"|"ERROR", "status_code": N,
...}``, otherwise plain lines (``100\\n<sms_id>\\nbalance=…``). A request-wide problem (bad
``api_id``, no text, not enough money for the whole request) is a top-level ``ERROR``; a
problem with one recipient (bad number, stop list, a duplicate within a minute) is that
recipient's entry under ``sms`` while the others are sent::

    {"status": "OK", "status_code": 100, "balance": 491.0,
     "sms": {"79280000001": {"status": "OK", "status_code": 100, "sms_id": "000000-10000001"},
             "7928": {"status": "ERROR", "status_code": 202, "status_text": "..."}}}
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sms.core import SmsCore, json_response, normalize_phone, text_response
from sheetledger.sandbox.sms.params import first, request_params
from sheetledger.sandbox.sms.segments import MAX_SEGMENTS, segments

__all__ = ["SMS_RU_CODES", "SmsRu"]

SMS_RU_CODES = {
    -1: "Сообщение не найдено",
    100: "Запрос выполнен или сообщение находится в нашей очереди",
    103: "Сообщение доставлено",
    200: "Неправильный api_id",
    201: "Не хватает средств на лицевом счету",
    202: "Неправильно указан номер телефона получателя, либо на него нет маршрута",
    203: "Нет текста сообщения",
    205: "Сообщение слишком длинное (превышает 8 СМС)",
    209: "Вы добавили этот номер (или один из номеров) в стоп-лист",
    220: "Сервис временно недоступен, попробуйте чуть позже",
    231: "Превышен лимит одинаковых сообщений на этот номер в минуту",
    301: "Неправильный api_id, либо логин/пароль",
}
_PER_PHONE = re.compile(r"^(?:to|multi)\[(.+)\]$")  # to[79...]=text: a text per recipient


def _error(code: int, json_mode: bool) -> Response:
    if not json_mode:
        return text_response(str(code))
    return json_response(_failure(code))


def _failure(code: int) -> dict[str, Any]:
    return {"status": "ERROR", "status_code": code, "status_text": SMS_RU_CODES[code]}


def _sms_id(serial: int) -> str:
    return f"{serial // 10**8:06d}-{serial % 10**8:08d}"  # like "000000-10000000"


class SmsRu(SmsCore):
    """sms.ru's HTTP API: ``/sms/send``, ``/sms/status``, ``/my/balance``."""

    def _smsru_refusal(self, params: dict[str, list[str]]) -> int | None:
        if "login" in params:
            ok = first(params, "login") == self.login and first(params, "password") == self.api_key
            return None if ok else 301
        return None if first(params, "api_id") == self.api_key else 200

    @staticmethod
    def _recipients(params: dict[str, list[str]]) -> list[tuple[str, str]]:
        """(phone as written, text) pairs: ``to=a,b`` + ``msg``, or ``to[phone]=text``."""
        per_phone = [
            (match.group(1), values[0])
            for key, values in params.items()
            if (match := _PER_PHONE.match(key)) and values
        ]
        if per_phone:
            return per_phone
        text = first(params, "msg")
        phones = [p.strip() for p in first(params, "to").split(",") if p.strip()]
        return [(phone, text) for phone in phones]

    @route("GET", r"/sms/send/?", kind="write")
    @route("POST", r"/sms/send/?", kind="write")
    def _smsru_send(self, request: Request) -> Response:
        params = request_params(request)
        json_mode = first(params, "json") == "1"
        test = first(params, "test") == "1"
        refused = self._smsru_refusal(params)
        if refused is not None:
            return _error(refused, json_mode)
        if self.unavailable:
            return _error(220, json_mode)
        recipients = self._recipients(params)
        if not recipients:
            return _error(202, json_mode)
        if any(not text.strip() for _, text in recipients):
            return _error(203, json_mode)
        if any(segments(text) > MAX_SEGMENTS for _, text in recipients):
            return _error(205, json_mode)
        with self.lock:
            sendable = [(normalize_phone(raw), text) for raw, text in recipients]
            total = sum(self.price * segments(t) for phone, t in sendable if phone is not None)
            if not test and total > self.balance:
                return _error(201, json_mode)  # nothing is sent when the whole cannot be paid
            results = {
                raw: self._smsru_one(raw, text, first(params, "from") or None, test)
                for raw, text in recipients
            }
            balance = self.balance
        if json_mode:
            return json_response(
                {"status": "OK", "status_code": 100, "sms": results, "balance": balance}
            )
        lines = ["100"] + [str(r.get("sms_id") or r["status_code"]) for r in results.values()]
        return text_response("\n".join([*lines, f"balance={balance}"]))

    def _smsru_one(self, raw: str, text: str, sender: str | None, test: bool) -> dict[str, Any]:
        phone = normalize_phone(raw)
        if phone is None:
            return _failure(202)
        if phone in self.stop_list:
            return _failure(209)
        if not test and self._is_duplicate("sms.ru", phone, text):
            return _failure(231)
        message_id = _sms_id(self._next_serial())
        self._deliver("sms.ru", message_id, phone, text, segments(text), sender=sender, test=test)
        return {"status": "OK", "status_code": 100, "sms_id": message_id}

    @route("GET", r"/sms/status/?", kind="read")
    @route("POST", r"/sms/status/?", kind="read")
    def _smsru_status(self, request: Request) -> Response:
        params = request_params(request)
        json_mode = first(params, "json") == "1"
        refused = self._smsru_refusal(params)
        if refused is not None:
            return _error(refused, json_mode)
        wanted = [s.strip() for s in first(params, "sms_id").split(",") if s.strip()]
        with self.lock:
            sent = {m["id"]: m for m in self._messages if m["provider"] == "sms.ru"}
            found: dict[str, Any] = {}
            for sms_id in wanted:
                message = sent.get(sms_id)
                if message is None:
                    found[sms_id] = _failure(-1)
                else:
                    found[sms_id] = {
                        "status": "OK",
                        "status_code": 103,
                        "status_text": SMS_RU_CODES[103],
                        "cost": Decimal(message["cost"]),
                        "sms": message["parts"],
                    }
            balance = self.balance
        if not json_mode:
            return text_response(
                "\n".join(["100", *(str(f["status_code"]) for f in found.values())])
            )
        return json_response({"status": "OK", "status_code": 100, "sms": found, "balance": balance})

    @route("GET", r"/my/balance/?", kind="read")
    @route("POST", r"/my/balance/?", kind="read")
    def _smsru_balance(self, request: Request) -> Response:
        params = request_params(request)
        json_mode = first(params, "json") == "1"
        refused = self._smsru_refusal(params)
        if refused is not None:
            return _error(refused, json_mode)
        with self.lock:
            balance = self.balance
        if json_mode:
            return json_response({"status": "OK", "status_code": 100, "balance": balance})
        return text_response(f"100\n{balance}")
