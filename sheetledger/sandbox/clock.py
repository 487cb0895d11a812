"""The clock the emulators and the tests share when time must move by hand.

Every emulator takes ``clock=`` (unix seconds as a float, ``time.time`` by default):
token expiry, quota minutes, ``created_at`` stamps and the Telegram ``date`` all read it.
Tests give one ``ManualClock`` to the emulators and to the client under test, so a
client's back-off waits move the emulators' time instead of sleeping.
"""

from __future__ import annotations

import threading


class ManualClock:
    """A clock tests move by hand: unix seconds as a float, ``advance`` and ``sleep``.

    Give the same instance to the emulator (``clock=``) and to the client (``clock=`` and
    ``sleep=clock.sleep``): the client's waits then move the emulator's time too.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    sleep = advance

    def set(self, now: float) -> None:
        with self._lock:
            self._now = float(now)
