"""SMSC.ru's HTTP API: ``/sys/send.php``, ``/sys/status.php`` and ``/sys/balance.php``.

Shapes from SMSC's documentation: with ``fmt=3`` a success is
``{"id": <message id>, "cnt": <SMS parts in all>}`` (``cost=2``/``3`` add ``"cost"`` and
``"balance"``), a refusal ``{"error": "...", "error_code": N}`` with ``"id"`` for codes 3, 6,
7 and 8 — 1 parameters, 2 login, 3 money, 7 phone format, 8 undeliverable, and 9, the same
request again within a minute (a client should count that as already sent). Without ``fmt``
the answer is a line: ``OK - 1 SMS, ID - 12345`` or ``ERROR = 2 (authorise error)``. The
wording of the error texts is inferred; the codes are documented.

``/sys/status.php?phone=…&id=…&fmt=3`` answers a message's status by the ``id`` the client
gave it (``{"status": 1, "last_date": …, "last_timestamp": …, "err": 0}``; status -3 is
"message not found"): how a client that died after sending learns whether it did.

Texts are read in ``charset``, windows-1251 unless the request says ``charset=utf-8``, as
SMSC does: a client that sends UTF-8 without saying so gets mojibake delivered.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sms.core import SmsCore, json_response, normalize_phone, text_response
from sheetledger.sandbox.sms.params import first, request_params
from sheetledger.sandbox.sms.segments import segments

__all__ = ["SMSC_ERRORS", "Smsc"]

SMSC_ERRORS = {
    1: "parameters error",
    2: "authorise error",
    3: "no money",
    7: "invalid number",
    8: "cannot deliver",
    9: "duplicate request, wait a minute",
}
_WITH_ID = frozenset({3, 6, 7, 8})
_SEPARATORS = re.compile(r"[,;]")


def _as_sent(value: str, charset: str) -> str:
    """What SMSC reads from a UTF-8 query when it decodes it in ``charset``."""
    if charset.lower().replace("-", "") in ("utf8", ""):
        return value
    try:
        return value.encode("utf-8").decode(charset, errors="replace")
    except LookupError:
        return value


class Smsc(SmsCore):
    """SMSC.ru's HTTP API: ``/sys/send.php`` and ``/sys/balance.php``."""

    def _smsc_error(self, code: int, fmt: str, message_id: str | None = None) -> Response:
        if fmt == "3":
            body: dict[str, Any] = {"error": SMSC_ERRORS[code], "error_code": code}
            if code in _WITH_ID and message_id is not None:
                body["id"] = message_id
            return json_response(body)
        return text_response(f"ERROR = {code} ({SMSC_ERRORS[code]})")

    def _smsc_authorised(self, params: dict[str, list[str]]) -> bool:
        # login + password, or an empty login and the API key as `psw`.
        return first(params, "login") in ("", self.login) and first(params, "psw") == self.api_key

    @route("GET", r"/sys/send\.php", kind="write")
    @route("POST", r"/sys/send\.php", kind="write")
    def _smsc_send(self, request: Request) -> Response:
        charset = first(request_params(request), "charset", "windows-1251")
        params = request_params(request, charset=charset)
        fmt = first(params, "fmt", "0")
        given_id = first(params, "id") or None
        if not self._smsc_authorised(params):
            return self._smsc_error(2, fmt)
        raw_phones = [p.strip() for p in _SEPARATORS.split(first(params, "phones")) if p.strip()]
        if "mes" in request.query:  # the server read the query as UTF-8; SMSC reads `charset`
            text = _as_sent(request.query["mes"][0], charset)
        else:
            text = first(params, "mes")
        if not raw_phones or not text:
            return self._smsc_error(1, fmt)
        phones = [normalize_phone(p) for p in raw_phones]
        with self.lock:
            message_id = given_id or str(self._next_serial())
            if any(p is None for p in phones):
                return self._smsc_error(7, fmt, message_id)
            valid = [p for p in phones if p is not None]
            if any(p in self.stop_list for p in valid):
                return self._smsc_error(8, fmt, message_id)
            if any(self._is_duplicate("smsc", p, text) for p in valid):
                return self._smsc_error(9, fmt)
            parts = segments(text)
            if self.price * parts * len(valid) > self.balance:
                return self._smsc_error(3, fmt, message_id)
            sender = first(params, "sender") or None
            for phone in valid:
                self._deliver("smsc", message_id, phone, text, parts, sender=sender, test=False)
            count, balance = parts * len(valid), self.balance
        cost = self.price * count
        wants = first(params, "cost", "0")
        if fmt == "3":
            body: dict[str, Any] = {"id": int(message_id) if message_id.isdigit() else message_id}
            body["cnt"] = count
            if wants in ("2", "3"):
                body["cost"] = f"{cost:.2f}"
            if wants == "3":
                body["balance"] = f"{balance:.2f}"
            return json_response(body)
        line = f"OK - {count} SMS, ID - {message_id}"
        if wants in ("2", "3"):
            line += f", COST - {cost:.2f}"
        if wants == "3":
            line += f", BALANCE - {balance:.2f}"
        return text_response(line)

    @route("GET", r"/sys/status\.php", kind="read")
    @route("POST", r"/sys/status\.php", kind="read")
    def _smsc_status(self, request: Request) -> Response:
        params = request_params(request)
        fmt = first(params, "fmt", "0")
        if not self._smsc_authorised(params):
            return self._smsc_error(2, fmt)
        phone = normalize_phone(first(params, "phone"))
        wanted = first(params, "id")
        if phone is None or not wanted:
            return self._smsc_error(1, fmt)
        with self.lock:
            found = [
                m
                for m in self._messages
                if m["provider"] == "smsc" and m["id"] == wanted and m["to"] == phone
            ]
        if not found:
            status, stamp = -3, 0  # "message not found"
        else:
            status, stamp = 1, int(found[-1]["sent_at"])  # 1: delivered
        if fmt == "3":
            last_date = time.strftime("%d.%m.%Y %H:%M:%S", time.gmtime(stamp)) if stamp else ""
            return json_response(
                {"status": status, "last_date": last_date, "last_timestamp": stamp, "err": 0}
            )
        return text_response(f"Status = {status}")

    @route("GET", r"/sys/balance\.php", kind="read")
    @route("POST", r"/sys/balance\.php", kind="read")
    def _smsc_balance(self, request: Request) -> Response:
        params = request_params(request)
        fmt = first(params, "fmt", "0")
        if not self._smsc_authorised(params):
            return self._smsc_error(2, fmt)
        with self.lock:
            balance = f"{self.balance:.2f}"
        if fmt == "3":
            body = {"balance": balance}
            if first(params, "cur") == "1":
                body["currency"] = "RUB"
            return json_response(body)
        return text_response(balance)
