"""The one retry policy of the three services: bounded, jittered exponential backoff.

amoCRM, Google and Telegram all ask the same of a client (docs/api-notes.md, "Retries"):
retry what was not processed or may pass (429, 5xx, timeouts, dropped connections)
after an exponentially growing, jittered wait, wait what the server asks for when it
says (``Retry-After``), and never forever. The adapters decide *what* may be repeated
(each knows its API: a POST of a note is not idempotent, a PATCH of absolute values is)
by raising ``TryAgain`` from one attempt; this module decides *how long* and *how
often*, with tenacity, and turns running out of attempts into ``RetriableError`` (the
job is retried on its next run, the outage told once).

The clock is injectable (``sleep``, ``jitter``) so tests drive it instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception_type

from sheetledger.errors import RetriableError

__all__ = ["RetryPolicy", "TryAgain"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class TryAgain(Exception):
    """Raised by one attempt of a call: it may be repeated, after ``asked`` seconds if known.

    ``minimum`` is the least wait whatever the backoff says (amoCRM's 429 without a
    ``Retry-After`` is still worth a full second). Raise it ``from`` the original error:
    the give-up keeps it as the cause.
    """

    def __init__(self, problem: str, *, asked: float | None = None, minimum: float = 0.0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.asked = asked
        self.minimum = minimum


GiveUp = Callable[[TryAgain, int], Exception]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one call; shared by the three adapters."""

    attempts: int = 5
    base: float = 1.0  # seconds before the second attempt (then doubled, with jitter)
    cap: float = 30.0  # the longest wait between two attempts
    max_asked: float = 60.0  # a server asking for a longer wait: give up now, retry next run
    sleep: Callable[[float], None] = time.sleep
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def delay(self, attempt: int, asked: float | None = None, minimum: float = 0.0) -> float:
        """The wait after failed attempt number ``attempt`` (1-based).

        What the server asked for, when it did; else ``base·2^(attempt-1)`` capped at
        ``cap``, jittered down to half ("full jitter" would sometimes not wait at all).
        """
        if asked is not None:
            return max(asked, minimum)
        ceiling = min(self.cap, self.base * float(2 ** (attempt - 1)))
        return max(minimum, ceiling * (0.5 + 0.5 * self.jitter()))

    # -- tenacity's hooks -------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        again = _again(state)
        return self.delay(state.attempt_number, again.asked, again.minimum)

    def _stop(self, state: RetryCallState) -> bool:
        again = _again(state)
        too_long = again.asked is not None and again.asked > self.max_asked
        return too_long or state.attempt_number >= self.attempts

    def _retrying_kwargs(self, service: str, what: str) -> dict[str, object]:
        def before_sleep(state: RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s %s: %s, retry %d/%d in %.1f s",
                service,
                what,
                _again(state).problem,
                state.attempt_number + 1,
                self.attempts,
                wait,
            )

        return {
            "stop": self._stop,
            "wait": self._wait,
            "retry": retry_if_exception_type(TryAgain),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def _give_up(
        self, again: TryAgain, attempts: int, service: str, what: str, give_up: GiveUp | None
    ) -> Exception:
        if again.asked is not None and again.asked > self.max_asked:
            return RetriableError(
                service, f"{what}: {again.problem}, asked to wait {again.asked:.0f} s"
            )
        if give_up is not None:
            return give_up(again, attempts)
        return RetriableError(service, f"{what}: {again.problem} after {attempts} attempts")

    # -- running a call ---------------------------------------------------------------------

    def run(
        self,
        attempt: Callable[[], T],
        *,
        service: str,
        what: str,
        give_up: GiveUp | None = None,
    ) -> T:
        """``attempt()`` until it returns or raises anything but ``TryAgain``.

        Out of attempts, ``give_up(last TryAgain, attempts made)`` is raised, or else a
        ``RetriableError`` saying what failed and how often; its cause is the last error.
        """
        retrying = Retrying(sleep=self.sleep, **self._retrying_kwargs(service, what))  # type: ignore[arg-type]
        try:
            return retrying(attempt)
        except TryAgain as again:
            attempts = int(retrying.statistics.get("attempt_number", self.attempts))
            raise self._give_up(again, attempts, service, what, give_up) from again.__cause__

    async def run_async(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        service: str,
        what: str,
        give_up: GiveUp | None = None,
    ) -> T:
        """``run`` for a coroutine (Telegram's calls), waiting with ``async_sleep``."""
        retrying = AsyncRetrying(sleep=self.async_sleep, **self._retrying_kwargs(service, what))  # type: ignore[arg-type]
        try:
            return await retrying(attempt)
        except TryAgain as again:
            attempts = int(retrying.statistics.get("attempt_number", self.attempts))
            raise self._give_up(again, attempts, service, what, give_up) from again.__cause__


def _again(state: RetryCallState) -> TryAgain:
    error = state.outcome.exception() if state.outcome is not None else None
    assert isinstance(error, TryAgain), error  # tenacity retries only TryAgain
    return error
