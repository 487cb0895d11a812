"""The SMS gateway emulator's core: the account, its balance, phones and the messages sent.

Both protocols (``smsru``, ``smsc``) share one account here, as one business would hold
one key per provider: the key is sms.ru's ``api_id`` and SMSC's API key (``psw`` with an
empty ``login``, or ``login`` + ``psw``). A message that a gateway accepted is "delivered"
at once; tests read them from ``messages()`` or ``GET /_sandbox/messages``.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from sheetledger.sandbox.server import Emulator, Request, Response, route

__all__ = ["SmsCore", "normalize_phone"]

_NGINX_PAGE = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_RUSSIAN_MOBILE = re.compile(r"^79\d{9}$")
DUPLICATE_WINDOW = 60.0  # seconds: the same text to the same phone again is a duplicate


def normalize_phone(raw: str) -> str | None:
    """``79XXXXXXXXX`` for a Russian mobile written as the gateways accept it, else None.

    Both take digits with or without ``+`` and separators; a leading 8 is the domestic
    prefix of the same number.
    """
    digits = re.sub(r"[\s()+-]", "", raw)
    if not digits.isdigit():
        return None
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits if _RUSSIAN_MOBILE.match(digits) else None


def json_response(obj: Any) -> Response:
    """Both gateways answer HTTP 200 with JSON, errors included (the code is inside)."""
    body = json.dumps(obj, ensure_ascii=False, default=_money).encode()
    return Response(200, body, {"Content-Type": "application/json; charset=utf-8"})


def text_response(text: str) -> Response:
    return Response(200, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _money(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # the wire carries a JSON number (sms.ru "balance": 4122.56)
    raise TypeError(f"not JSON: {value!r}")


class SmsCore(Emulator):
    """One SMS account: key, balance, price per part, stop list and the messages sent."""

    name = "sms"

    def __init__(
        self,
        api_key: str,
        *,
        balance: Decimal = Decimal("500.00"),
        price: Decimal = Decimal("4.50"),
        login: str = "mebel",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.api_key = api_key
        self.login = login
        self.balance = balance
        self.price = price  # per SMS part, for either gateway
        self.stop_list: set[str] = set()  # phones that must not be sent to (sms.ru 209)
        self.unavailable = False  # True: sms.ru answers 220 "temporarily unavailable"
        self._messages: list[dict[str, Any]] = []
        self._serial = 10_000_000

    # -- what tests read -----------------------------------------------------------

    def messages(
        self, to: str | None = None, *, include_tests: bool = False
    ) -> list[dict[str, Any]]:
        """Messages delivered (copies, oldest first), to one phone if ``to`` is given."""
        phone = None if to is None else normalize_phone(to) or to
        with self.lock:
            return [
                copy.deepcopy(m)
                for m in self._messages
                if (phone is None or m["to"] == phone) and (include_tests or not m["test"])
            ]

    def clear_messages(self) -> None:
        with self.lock:
            self._messages.clear()

    # -- shared by both protocols ------------------------------------------------------

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _is_duplicate(self, provider: str, phone: str, text: str) -> bool:
        """The same text to the same phone through the same gateway within the window."""
        since = self.clock() - DUPLICATE_WINDOW
        return any(
            m["provider"] == provider and m["to"] == phone and m["text"] == text
            for m in self._messages
            if m["sent_at"] >= since and not m["test"]
        )

    def _deliver(
        self,
        provider: str,
        message_id: str,
        phone: str,
        text: str,
        parts: int,
        *,
        sender: str | None,
        test: bool,
    ) -> dict[str, Any]:
        cost = Decimal(0) if test else self.price * parts
        self.balance -= cost
        message = {
            "id": message_id,
            "provider": provider,
            "to": phone,
            "text": text,
            "sender": sender,
            "parts": parts,
            "cost": str(cost),
            "sent_at": self.clock(),
            "status": "delivered",
            "test": test,
        }
        self._messages.append(message)
        self.changed.set()
        return message

    # -- faults ----------------------------------------------------------------------

    def fault_response(self, status: int, request: Request) -> Response:
        """An outage is the front server's page, not an API answer."""
        page = _NGINX_PAGE.format(code=status, phrase=HTTPStatus(status).phrase)
        return Response(status, page.encode(), {"Content-Type": "text/html"})

    # -- control side --------------------------------------------------------------------

    @route("GET", r"/_sandbox/messages")
    def _control_messages(self, request: Request) -> Response:
        to = request.arg("to")
        return Response.json({"messages": self.messages(to), "balance": str(self.balance)})

    @route("DELETE", r"/_sandbox/messages")
    def _control_clear_messages(self, request: Request) -> Response:
        self.clear_messages()
        return Response.empty()

    @route("POST", r"/_sandbox/account")
    def _control_account(self, request: Request) -> Response:
        """Set the account's knobs: ``balance``, ``unavailable``, ``stop_list`` (any of them)."""
        body = request.json() or {}
        try:
            with self.lock:
                if "balance" in body:
                    self.balance = Decimal(str(body["balance"]))
                if "unavailable" in body:
                    self.unavailable = bool(body["unavailable"])
                if "stop_list" in body:
                    phones = [normalize_phone(str(p)) for p in body["stop_list"]]
                    self.stop_list = {p for p in phones if p is not None}
        except (ArithmeticError, TypeError, ValueError) as exc:
            return Response.json({"error": f"bad account settings: {exc}"}, 400)
        return Response.json(
            {
                "balance": str(self.balance),
                "unavailable": self.unavailable,
                "stop_list": sorted(self.stop_list),
            }
        )

    # -- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(
                {
                    "balance": str(self.balance),
                    "price": str(self.price),
                    "stop_list": sorted(self.stop_list),
                    "messages": self._messages,
                    "serial": self._serial,
                }
            )

    def load_state(self, state: dict[str, Any]) -> None:
        state = copy.deepcopy(state)
        with self.lock:
            self.balance = Decimal(state["balance"])
            self.price = Decimal(state["price"])
            self.stop_list = set(state.get("stop_list", ()))
            self._messages = list(state["messages"])
            self._serial = int(state["serial"])
