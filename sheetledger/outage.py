"""The one outage watcher: each service's outage is logged and announced once, its end once.

Home Assistant's integrations do the same ("an outage is logged once, and its recovery
once"): a service that fails every minute for an hour must not write sixty error lines
nor send sixty messages to the admin. The sync job, the bot's outbox and its polling
loop all report to one ``OutageWatch``, built by the composition root, so the three
agree on what is down and the admin hears of it once, whoever noticed first.

Services are named by the constants below; whether a person must act (a rejected key,
a broken header) or waiting is enough (429, 5xx, timeouts) travels as ``needs_person``,
taken from the error's type (``FatalError`` or ``RetriableError``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sheetledger.errors import FatalError, RetriableError, SheetledgerError

__all__ = ["AMOCRM", "GOOGLE", "SERVICES", "TELEGRAM", "Announce", "Outage", "OutageWatch"]

log = logging.getLogger("sheetledger.outage")

AMOCRM = "amoCRM"
GOOGLE = "Google Sheets"
TELEGRAM = "Telegram"
SERVICES = (AMOCRM, GOOGLE, TELEGRAM)

Announce = Callable[[str], None]


@dataclass(frozen=True)
class Outage:
    """One service down: since when, why, and whether waiting will end it."""

    service: str
    since: float
    detail: str
    needs_person: bool = False


def _nobody(text: str) -> None:
    """No admin chat (the bot runs alone, or a CLI command): the log line is all."""


class OutageWatch:
    """Remembers which services are down, so each outage is told once, and its end once.

    Thread-safe: the scheduler's jobs, the bot's loop and its worker threads share it.
    ``announce`` may be set after construction (the daemon's chat needs the event loop).
    """

    def __init__(
        self, announce: Announce = _nobody, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.announce = announce
        self.clock = clock
        self._down: dict[str, Outage] = {}
        self._lock = threading.Lock()

    @property
    def down(self) -> dict[str, Outage]:
        """The services down now, by name (a copy)."""
        with self._lock:
            return dict(self._down)

    def outage(self, service: str) -> Outage | None:
        with self._lock:
            return self._down.get(service)

    def failed(self, service: str, detail: str, *, needs_person: bool = False) -> bool:
        """Record a failure; True (and told) only when it starts a new outage."""
        with self._lock:
            if service in self._down:
                return False
            self._down[service] = Outage(service, self.clock(), detail, needs_person)
        what = "needs a person" if needs_person else "retrying"
        log.error("%s is unavailable: %s (told once; %s)", service, detail, what)
        tail = "Нужна помощь администратора." if needs_person else "Повторяю попытки."
        self.announce(f"⚠️ {service} недоступен: {detail}. Данные не теряются. {tail}")
        return True

    def failed_with(self, error: SheetledgerError, *, service: str | None = None) -> bool:
        """``failed`` for one of our errors: its service, its detail, whether a person must act."""
        name = service or getattr(error, "service", None) or GOOGLE
        detail = getattr(error, "detail", None) or str(error)
        hint = getattr(error, "hint", "")
        if hint:
            detail = f"{detail} — {hint}"
        needs_person = isinstance(error, FatalError) or not isinstance(error, RetriableError)
        return self.failed(name, detail, needs_person=needs_person)

    def recovered(self, service: str) -> bool:
        """Record a success; True (and told) only when it ends an outage."""
        with self._lock:
            outage = self._down.pop(service, None)
        if outage is None:
            return False
        minutes = (self.clock() - outage.since) / 60
        log.info("%s is back after %.1f min", service, minutes)
        self.announce(f"✅ {service} снова доступен (перерыв {minutes:.0f} мин). Всё догоняю.")
        return True
