"""Our own getUpdates loop: an update is confirmed only after its handler finished.

PTB's stock ``Updater`` puts a batch on its queue and at once asks for the next
one with ``offset = last + 1``, which confirms the batch to Telegram while the
handlers still run; a ``kill -9`` in a handler then loses the expense
(docs/api-notes.md, "Telegram: getUpdates"). Here, for each update:

    fetch → ``await application.process_update(update)`` → store ``update_id + 1``
    in ``state.db`` (synchronous SQLite) → next ``getUpdates(offset=stored)``

so a crash anywhere before the store redelivers the update (at least once) and
the dedup key makes that exactly once in effect. A handler whose reply Telegram
did not take (``redeliver`` says so) leaves the offset where it is too: the update
comes again after a pause and is answered from what was written, a few times at
most (then it is logged as an error and confirmed, so one update never stalls the
bot). On start the stored offset is
used; without one (a fresh ``state.db``) Telegram resends whatever it still
holds and the keys dedup. ``drop_pending_updates`` is never used: expenses typed
while the bot was down are real data.

Network trouble backs off 1 s, 2 s, 4 s … up to 30 s, jittered (the project's one retry
policy, ``retry.py``), and is told once per outage; ``RetryAfter`` waits what Telegram
says; a 409 (another instance polls) backs off too; a rejected token stops with
``FatalError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from sheetledger.bot.identity import token_rejected
from sheetledger.outage import TELEGRAM, OutageWatch
from sheetledger.retry import RetryPolicy
from sheetledger.store import LocalState

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def retry_after_seconds(exc: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Poller:
    """Fetch updates and hand them to ``application`` one by one, committing the offset after."""

    def __init__(
        self,
        application: AnyApplication,
        state: LocalState,
        *,
        poll_timeout: float = 25.0,
        allowed_updates: Sequence[str] = ALLOWED_UPDATES,
        max_backoff: float = 30.0,
        redeliver: Callable[[Update], bool] | None = None,
        redeliver_after: float = 1.0,
        max_redeliveries: int = 5,
        watch: OutageWatch | None = None,
    ) -> None:
        self.application = application
        self.state = state
        self.poll_timeout = poll_timeout
        self.allowed_updates = list(allowed_updates)
        self.max_backoff = max_backoff
        self.backoff = RetryPolicy(base=1.0, cap=max_backoff)
        self.offset = 0
        self.handled = 0
        # Whether a handled update must come again (its reply was not delivered).
        self.redeliver = redeliver
        self.redeliver_after = redeliver_after
        self.max_redeliveries = max_redeliveries
        self._redelivered: dict[int, int] = {}
        # The daemon's watch when it runs the bot, so a Telegram outage is told like the others.
        self.watch = watch or OutageWatch()

    async def _fetch(self) -> tuple[Update, ...]:
        updates: tuple[Update, ...] = await self.application.bot.get_updates(
            offset=self.offset or None,
            timeout=timedelta(seconds=self.poll_timeout),
            allowed_updates=self.allowed_updates,
        )
        return updates

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; the update in hand is finished first."""
        self.offset = await asyncio.to_thread(self.state.telegram_offset)
        failures = 0
        while not stop.is_set():
            fetch = asyncio.ensure_future(self._fetch())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():
                # Stopped during a long poll: abandon it. Whatever it would have returned
                # is not confirmed, so Telegram delivers it again next time.
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
                break
            if isinstance(fetch.exception(), InvalidToken):
                # Raised here, not in an except block: PTB's error quotes the token.
                raise token_rejected()
            try:
                updates = fetch.result()
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                log.warning("Telegram asks to wait %.0f s before polling again", wait)
                await _sleep_or_stop(stop, wait)
                continue
            except TimedOut:
                continue  # a long poll answered late: just ask again
            except (Conflict, TelegramError) as exc:
                self._note_outage(exc)
                failures += 1
                await _sleep_or_stop(stop, self.backoff.delay(failures))
                continue
            failures = 0
            self.watch.recovered(TELEGRAM)
            for update in updates:
                if update.update_id < self.offset:
                    continue  # an update below the offset we already committed
                await self.application.process_update(update)
                if self._again(update):
                    await _sleep_or_stop(stop, self.redeliver_after)
                    break  # not confirmed: the next getUpdates brings it again
                self.offset = update.update_id + 1
                await asyncio.to_thread(self.state.set_telegram_offset, self.offset)
                self.handled += 1
        await self._confirm()

    def _again(self, update: Update) -> bool:
        """Whether ``update`` must be handled again; gives up after ``max_redeliveries``."""
        if self.redeliver is None or not self.redeliver(update):
            self._redelivered.pop(update.update_id, None)
            return False
        count = self._redelivered.get(update.update_id, 0) + 1
        if count > self.max_redeliveries:
            log.error(
                "update %s: the reply could not be delivered after %d tries; giving up on it",
                update.update_id,
                count,
            )
            self._redelivered.pop(update.update_id, None)
            return False
        self._redelivered[update.update_id] = count
        return True

    async def _confirm(self) -> None:
        """Tell Telegram what was handled, so a restart without state.db starts right."""
        if not self.offset:
            return
        with contextlib.suppress(TelegramError, asyncio.TimeoutError):
            await asyncio.wait_for(
                self.application.bot.get_updates(
                    offset=self.offset, timeout=timedelta(0), allowed_updates=self.allowed_updates
                ),
                timeout=5,
            )

    def _note_outage(self, exc: TelegramError) -> None:
        text = f"{type(exc).__name__}: {exc.message}"
        if not self.watch.failed(TELEGRAM, text):
            log.debug("Telegram polling failed again (%s); backing off", text)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
