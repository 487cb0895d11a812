"""The SMS gateways, sms.ru (the default) and SMSC.ru: the only module that talks to them.

Both are asked by POST with a form body, never with the key in the URL: a ``requests`` error
quotes the URL it failed on, and a log line must never carry the key.

**sms.ru** (``/sms/send``, ``json=1``): every answer is HTTP 200 with ``status_code`` inside;
a request-wide ``ERROR`` (200/301 a bad key, 201 no money, 220 the service is busy) or an
entry per phone under ``sms`` (100 accepted, with ``sms_id``; 202/207 a number it cannot
send to; 209 the stop list; 231 the same text to the same number within a minute). sms.ru
takes no key of the client's, so a message whose answer was lost cannot be looked up later;
what it offers is 231: the identical text again within the minute is refused as a duplicate.
The outbox leans on that (``DUPLICATE_GUARD``) and on nothing else.

**SMSC** (``/sys/send.php``, ``fmt=3``, ``charset=utf-8``): ``{"id": …, "cnt": …}`` or
``{"error": …, "error_code": N}`` (1 parameters, 2 login, 3 money, 4 IP blocked for a
while, 6 text or sender refused, 7 phone format, 8 undeliverable, 9 the same request again
within a minute: already sent). The client gives each message its own ``id`` (digits from
the outbox key), and ``/sys/status.php`` finds a message by ``id`` and phone (status -3:
not found): so a message whose answer was lost is looked up, not guessed.

Answers map to: sent (with the provider's id), already sent (231, error 9), ``SmsRefused``
(this message can never go: skip it), ``TryAgain`` → ``RetriableError`` (5xx, timeouts,
dropped connections, 220, 4), ``FatalError`` (a bad key, no money: a person must act).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

import requests

from sheetledger.config import SmsConfig, SmsProvider
from sheetledger.errors import FatalError, SheetledgerError
from sheetledger.retry import RetryPolicy, TryAgain

__all__ = [
    "DUPLICATE_GUARD",
    "SmsGateway",
    "SmsReceipt",
    "SmsRefused",
    "SmsRu",
    "Smsc",
    "build_gateway",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

SMSRU_URL = "https://sms.ru"
SMSC_URL = "https://smsc.ru"
# Both gateways refuse the same text to the same number within a minute; a lost answer
# is re-asked only well inside that minute, so the refusal is what answers it.
DUPLICATE_GUARD = 45.0
# A few quick attempts, all inside that minute: a repeat after a lost answer is then
# refused as a duplicate, never delivered twice.
SMS_RETRY = RetryPolicy(attempts=4, base=1.0, cap=5.0)
TIMEOUT = 15.0


@dataclass(frozen=True)
class SmsReceipt:
    """A message the gateway has: ``ref`` its id; ``duplicate``: it had it already."""

    ref: str
    duplicate: bool = False
    parts: int | None = None


class SmsRefused(SheetledgerError):
    """The gateway will never send this message (a bad number, the stop list, the text)."""

    def __init__(self, service: str, detail: str) -> None:
        self.service = service
        self.detail = detail
        super().__init__(f"{service}: {detail}")


class SmsGateway(Protocol):
    """One SMS provider: send one message to one phone, look one up, tell the balance."""

    @property
    def service(self) -> str: ...

    def send(self, phone: str, text: str, key: str) -> SmsReceipt: ...

    def was_sent(self, phone: str, text: str, key: str) -> bool | None:
        """Whether ``key``'s message reached the gateway; None when it cannot tell."""
        ...

    def balance(self) -> Decimal: ...


class _Http:
    """A form POST with the retry policy: every transport fault becomes ``TryAgain``."""

    service = "SMS"

    def __init__(
        self, base_url: str, *, retry: RetryPolicy, timeout: float, session: Any = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.timeout = timeout
        self.session = session or requests.Session()

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        """One request; what may pass raises ``TryAgain`` (the caller's retry repeats it)."""
        try:
            response = self.session.post(self.base_url + path, data=form, timeout=self.timeout)
        except requests.Timeout:
            raise TryAgain("no answer in time") from None
        except requests.RequestException as exc:
            # Not chained and not quoted: the key travels in the form body, never the URL,
            # but an error's text is no place to check that.
            raise TryAgain(f"not reachable ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TryAgain(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise FatalError(self.service, f"{path}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise TryAgain("an answer that is not JSON (a proxy's page?)") from None
        if not isinstance(body, dict):
            raise TryAgain("an answer that is not a JSON object")
        return body

    def _run(self, attempt: Callable[[], T], what: str) -> T:
        return self.retry.run(attempt, service=self.service, what=what)


def _money(value: Any, service: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise FatalError(service, f"a balance that is not a number: {value!r}") from None


class SmsRu(_Http):
    """sms.ru: ``api_id`` authorises; ``from`` is an approved sender name, if any."""

    service = "SMS (sms.ru)"

    def __init__(
        self,
        api_key: str,
        *,
        sender: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy = SMS_RETRY,
        timeout: float = TIMEOUT,
        session: Any = None,
    ) -> None:
        super().__init__(base_url or SMSRU_URL, retry=retry, timeout=timeout, session=session)
        self._key = api_key
        self.sender = sender

    def _request_error(self, body: dict[str, Any]) -> Exception:
        code = int(body.get("status_code") or 0)
        text = str(body.get("status_text") or "")
        if code in (200, 300, 301, 302):
            return FatalError(
                self.service, f"the api_id was refused ({code})", hint="check orders.sms.api_key"
            )
        if code == 201:
            return FatalError(self.service, "not enough money", hint="top up the sms.ru account")
        if code == 220:
            return TryAgain("sms.ru is temporarily unavailable (220)")
        return SmsRefused(self.service, f"{code} {text}".strip())

    def send(self, phone: str, text: str, key: str) -> SmsReceipt:
        form = {"api_id": self._key, "to": phone, "msg": text, "json": "1"}
        if self.sender:
            form["from"] = self.sender

        def once() -> SmsReceipt:
            body = self._post("/sms/send", form)
            if body.get("status") != "OK":
                raise self._request_error(body)
            entry = (body.get("sms") or {}).get(phone) or {}
            code = int(entry.get("status_code") or 0)
            if code == 100:
                return SmsReceipt(str(entry.get("sms_id") or ""))
            if code == 231:
                return SmsReceipt("", duplicate=True)  # the same text within the minute
            if code == 220:
                raise TryAgain("sms.ru is temporarily unavailable (220)")
            raise SmsRefused(self.service, f"{code} {entry.get('status_text') or ''}".strip())

        return self._run(once, "send")

    def was_sent(self, phone: str, text: str, key: str) -> bool | None:
        return None  # sms.ru keeps no key of ours: only a repeat within the minute can tell

    def balance(self) -> Decimal:
        def once() -> Decimal:
            body = self._post("/my/balance", {"api_id": self._key, "json": "1"})
            if body.get("status") != "OK":
                raise self._request_error(body)
            return _money(body.get("balance"), self.service)

        return self._run(once, "balance")


def smsc_id(key: str) -> str:
    """The outbox key as SMSC's message ``id``: 12 digits of its hash, the same every time."""
    return str(int(hashlib.sha1(key.encode()).hexdigest()[:12], 16) % 10**12).zfill(12)


class Smsc(_Http):
    """SMSC.ru: ``login`` + ``psw`` (the password or, with an empty login, the API key)."""

    service = "SMS (SMSC)"

    def __init__(
        self,
        api_key: str,
        *,
        login: str = "",
        sender: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy = SMS_RETRY,
        timeout: float = TIMEOUT,
        session: Any = None,
    ) -> None:
        super().__init__(base_url or SMSC_URL, retry=retry, timeout=timeout, session=session)
        self._key = api_key
        self.login = login
        self.sender = sender

    def _auth(self) -> dict[str, str]:
        return {"login": self.login, "psw": self._key, "fmt": "3", "charset": "utf-8"}

    def _error(self, body: dict[str, Any]) -> Exception:
        code = int(body.get("error_code") or 0)
        text = str(body.get("error") or "")
        if code == 2:
            return FatalError(
                self.service,
                "the login or password / API key was refused (2)",
                hint="check orders.sms.login and orders.sms.api_key",
            )
        if code == 3:
            return FatalError(self.service, "not enough money (3)", hint="top up the account")
        if code == 4:
            return TryAgain("SMSC has blocked this IP address for a while (4)")
        return SmsRefused(self.service, f"{code} {text}".strip())

    def send(self, phone: str, text: str, key: str) -> SmsReceipt:
        form = {**self._auth(), "phones": phone, "mes": text, "id": smsc_id(key)}
        if self.sender:
            form["sender"] = self.sender

        def once() -> SmsReceipt:
            body = self._post("/sys/send.php", form)
            if "error_code" in body:
                if int(body.get("error_code") or 0) == 9:
                    return SmsReceipt(smsc_id(key), duplicate=True)  # the first request sent it
                raise self._error(body)
            cnt = body.get("cnt")
            return SmsReceipt(str(body.get("id", smsc_id(key))), parts=int(cnt) if cnt else None)

        return self._run(once, "send")

    def was_sent(self, phone: str, text: str, key: str) -> bool | None:
        form = {**self._auth(), "phone": phone, "id": smsc_id(key)}

        def once() -> bool | None:
            body = self._post("/sys/status.php", form)
            if "error_code" in body:
                error = self._error(body)
                if isinstance(error, SmsRefused):
                    return None
                raise error
            return int(body.get("status", -3)) != -3  # -3: "message not found"

        return self._run(once, "status")

    def balance(self) -> Decimal:
        def once() -> Decimal:
            body = self._post("/sys/balance.php", self._auth())
            if "error_code" in body:
                raise self._error(body)
            return _money(body.get("balance"), self.service)

        return self._run(once, "balance")


def build_gateway(
    sms: SmsConfig, *, retry: RetryPolicy = SMS_RETRY, timeout: float = TIMEOUT
) -> SmsGateway:
    """The gateway ``orders.sms`` names, with its key and (in the sandbox) base URL."""
    key = sms.api_key.reveal()
    if sms.provider is SmsProvider.SMSC:
        return Smsc(
            key,
            login=sms.login,
            sender=sms.sender,
            base_url=sms.base_url,
            retry=retry,
            timeout=timeout,
        )
    return SmsRu(key, sender=sms.sender, base_url=sms.base_url, retry=retry, timeout=timeout)
