"""``sheetledger run``: the composition root — one process, the scheduler's jobs and the bot.

* The Telegram bot owns the asyncio loop (python-telegram-bot 22).
* The jobs block (requests, gspread), so they run on an APScheduler 3.x
  ``BackgroundScheduler`` thread pool: ``max_instances=1`` (a job never overlaps
  itself), ``coalesce`` (missed runs collapse into one) and a misfire grace (a run
  that is late is run late, not skipped).
* SIGTERM/SIGINT: the scheduler stops taking new runs, the running job finishes,
  the bot stops polling, and the process exits 0. A ``kill -9`` at any moment loses
  nothing: pushes are journaled and marked (exactly once), bot updates are
  confirmed only after their rows are written.
* An outage of amoCRM, Google or Telegram is logged once when it starts and once
  when it ends, and announced once each way to the admin's Telegram chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sheetledger.config import Config, Every
from sheetledger.connect import (
    build_crm,
    build_google,
    cabinet_ledgers,
    master_ledger,
    open_state,
    register_config_secrets,
)
from sheetledger.errors import FatalError, RetriableError, SheetledgerError
from sheetledger.store import LocalState
from sheetledger.sync.cursor import CURSOR_KEY
from sheetledger.sync.cycle import CycleMemory, CycleReport, run_cycle

log = logging.getLogger("sheetledger.daemon")

Announce = Callable[[str], None]


@dataclass
class OutageWatch:
    """Remembers which services are down, so each outage is told once, and its end once."""

    announce: Announce = lambda text: None
    down: dict[str, tuple[float, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, service: str, error: str) -> bool:
        """Record a failure; True (and told) only when it starts a new outage."""
        with self._lock:
            if service in self.down:
                return False
            self.down[service] = (time.time(), error)
        log.error("%s is unavailable: %s (told once; retrying every cycle)", service, error)
        self.announce(f"⚠️ {service} недоступен: {error}. Данные не теряются, повторяю попытки.")
        return True

    def recovered(self, service: str) -> bool:
        """Record a success; True (and told) only when it ends an outage."""
        with self._lock:
            outage = self.down.pop(service, None)
        if outage is None:
            return False
        minutes = (time.time() - outage[0]) / 60
        log.info("%s is back after %.1f min", service, minutes)
        self.announce(f"✅ {service} снова доступен (перерыв {minutes:.0f} мин). Всё догоняю.")
        return True


def trigger_for(every: Every, config: Config) -> IntervalTrigger | CronTrigger:
    if every.cron is not None:
        return CronTrigger.from_crontab(every.cron, timezone=config.tz)
    return IntervalTrigger(seconds=every.every_seconds or 60, timezone=config.tz)


class Daemon:
    """The jobs and the bot, built once from the config (collaborators injectable for tests)."""

    def __init__(
        self,
        config: Config,
        *,
        store: LocalState | None = None,
        crm: Any = None,
        google: Any = None,
        with_bot: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        register_config_secrets(config)
        self.config = config
        self.store = store or open_state(config)
        self.crm = crm or build_crm(config)
        client = google or build_google(config)
        self.ledger = master_ledger(config, client)
        self.cabinets = cabinet_ledgers(config, client)
        self.now = now
        self.loop: asyncio.AbstractEventLoop | None = None
        self.bot: Any = None
        if with_bot:
            from sheetledger.bot.app import ExpenseBot

            self.bot = ExpenseBot.from_config(config, self.store)
        self.outages = OutageWatch(self._announce)
        if self.bot is not None:
            self.bot.poller.watch = self.outages
        self.scheduler = BackgroundScheduler(
            timezone=config.tz,
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": config.schedule.misfire_grace_seconds,
            },
        )
        self.memory = CycleMemory()
        self.cycle_done = threading.Condition()
        self.cycles = 0
        self.last_report: CycleReport | None = None

    # -- jobs ---------------------------------------------------------------------------

    def sync_job(self) -> CycleReport | None:
        """One sync cycle, with its outcome recorded and outages told once."""
        self.store.job_started("sync")
        started = time.monotonic()
        report = None
        try:
            report = run_cycle(
                self.config,
                self.ledger,
                self.crm,
                self.store,
                now=self.now(),
                cabinets=self.cabinets,
                memory=self.memory,
            )
        except RetriableError as exc:
            self.outages.failed(exc.service, exc.detail)
            self.store.job_finished("sync", False, error=str(exc))
        except FatalError as exc:
            self.outages.failed(
                exc.service, f"{exc.detail} — {exc.hint}" if exc.hint else exc.detail
            )
            self.store.job_finished("sync", False, error=str(exc))
        except SheetledgerError as exc:
            log.error("sync failed: %s", exc)
            self.store.job_finished("sync", False, error=str(exc))
        except Exception as exc:  # a bug must not kill the scheduler thread silently
            log.exception("sync crashed")
            self.store.job_finished("sync", False, error=f"{type(exc).__name__}: {exc}")
        else:
            for service in ("amoCRM", "Google Sheets"):
                self.outages.recovered(service)
            took = time.monotonic() - started
            self.store.job_finished(
                "sync",
                report.ok,
                detail=f"{report.summary()} in {took:.1f}s",
                error="; ".join(report.problems[:3]),
            )
            if report.cursor is not None:
                self.store.set(CURSOR_KEY, report.cursor)
            level = (
                logging.INFO
                if (report.new_rows or report.updated_rows or report.events)
                else logging.DEBUG
            )
            log.log(level, "sync: %s", report.summary())
            for problem in report.problems:
                log.warning("sync: %s", problem)
        return report

    def _job_finished(self, event: JobExecutionEvent) -> None:
        """Count a finished sync run for ``wait_for_cycles``.

        Counted here, not at the end of ``sync_job``: APScheduler releases the job's
        ``max_instances`` slot only after the function has returned, then dispatches this
        event. A ``run_sync_now`` right after a waiter woke up on a count made inside the
        job would find the slot still taken, and the scheduler would skip that run.
        """
        if event.job_id != "sync":
            return
        report = getattr(event, "retval", None)
        with self.cycle_done:
            self.cycles += 1
            self.last_report = report if isinstance(report, CycleReport) else None
            self.cycle_done.notify_all()

    def outbox_job(self) -> None:
        if self.bot is None or self.loop is None:
            return
        self.store.job_started("outbox")
        future = asyncio.run_coroutine_threadsafe(self.bot.flush_outbox(), self.loop)
        result = future.result()
        problem = getattr(result, "problem", "") or ""
        if problem:
            self.outages.failed("Google Sheets", problem)
        self.store.job_finished("outbox", not problem, detail=str(result), error=problem)

    def wait_for_cycles(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` sync cycles have finished in total (for tests and the demo)."""
        with self.cycle_done:
            return self.cycle_done.wait_for(lambda: self.cycles >= count, timeout=timeout)

    def run_sync_now(self) -> None:
        """Ask the scheduler for a sync now (it still never overlaps a running one).

        Asked while a sync is running, the scheduler skips the request (``max_instances``):
        wait for the running one (``wait_for_cycles``) before asking.
        """
        self.scheduler.modify_job("sync", next_run_time=datetime.now(UTC))

    # -- the admin's chat ---------------------------------------------------------------------

    def _announce(self, text: str) -> None:
        """Tell the admin's chat, from any thread; never raises (Telegram may be what is down)."""
        chat = self.config.telegram.admin_chat_id
        if chat is None or self.loop is None or not self.loop.is_running():
            return
        from sheetledger.bot.identity import make_bot

        async def send() -> None:
            try:
                # A Bot of its own: the announcement must not wait for the bot's start-up.
                async with make_bot(self.config.telegram) as bot:
                    await bot.send_message(chat, text)
            except Exception as exc:
                log.warning("could not tell the admin's chat: %s", exc)

        asyncio.run_coroutine_threadsafe(send(), self.loop)

    # -- life cycle -------------------------------------------------------------------------

    def schedule(self) -> None:
        schedule = self.config.schedule
        self.scheduler.add_listener(self._job_finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.scheduler.add_job(
            self.sync_job,
            trigger_for(schedule.sync, self.config),
            id="sync",
            name="sync",
            next_run_time=datetime.now(UTC),
        )
        if self.bot is not None:
            self.scheduler.add_job(
                self.outbox_job,
                trigger_for(schedule.outbox_flush, self.config),
                id="outbox",
                name="outbox flush",
            )
        self.schedule_reconciliation()

    # -- reconciliation, backup, digest (sheetledger/reconcile/jobs.py) ---------------------

    def schedule_reconciliation(self) -> None:
        """The nightly reconciliation and backup, and the digest's minute check."""
        from sheetledger.reconcile import jobs
        from sheetledger.reconcile.digest import telegram_sender

        config, store = self.config, self.store
        books = {"master": (self.ledger.http, self.ledger.spreadsheet_id)}
        books |= {name: (c.http, c.spreadsheet_id) for name, c in self.cabinets.items()}
        send = telegram_sender(config)
        for job_id, every, run in (
            (
                "reconcile",
                config.reconcile.schedule,
                lambda: jobs.reconcile_job(config, self.ledger, self.crm, store, self.now()),
            ),
            (
                "backup",
                config.backup.schedule,
                lambda: jobs.backup_job(config, books, store, self.now()),
            ),
            (
                "digest",
                Every(every_seconds=60),
                lambda: jobs.digest_job(config, self.ledger, send, store, self.now()),
            ),
        ):
            self.scheduler.add_job(run, trigger_for(every, config), id=job_id, name=job_id)

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then finish the running job and shut down cleanly."""
        self.loop = asyncio.get_running_loop()
        self.schedule()
        self.scheduler.start()
        log.info("sheetledger is running: sync %s", _describe(self.config.schedule.sync))
        bot_task = asyncio.ensure_future(self.bot.run(stop)) if self.bot is not None else None
        try:
            await stop.wait()
        finally:
            log.info("stopping: finishing the running job")
            await asyncio.to_thread(self.scheduler.shutdown, True)
            if bot_task is not None:
                with contextlib.suppress(Exception):
                    await bot_task
            log.info("stopped")

    def close(self) -> None:
        self.store.close()


def _describe(every: Every) -> str:
    return f"cron '{every.cron}'" if every.cron else f"every {every.every_seconds}s"


class DaemonThread:
    """The daemon serving in a thread of its own, stopped the way SIGTERM stops it.

    For the demo and the tests, which drive it from the outside (``run_sync_now``,
    ``wait_for_cycles``) while it runs exactly as ``sheetledger run`` does.
    """

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="sheetledger-daemon", daemon=True)

    def _main(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            self.ready.set()
            await self.daemon.serve(self.stop_event)

        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported by the caller, not lost in a thread
            self.error = exc
            self.ready.set()

    def start(self, timeout: float = 30.0) -> bool:
        self.thread.start()
        return self.ready.wait(timeout)

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask it to stop (it finishes the running job first); True once it has."""
        if self.loop is not None and self.stop_event is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout)
        return not self.thread.is_alive()


def run_daemon(config: Config) -> int:
    """``sheetledger run``: serve until SIGTERM/SIGINT; returns the exit code."""
    from sheetledger.lifecycle import run_until_signalled

    daemon = Daemon(config)
    try:
        run_until_signalled(daemon.serve)
    finally:
        daemon.close()
    return 0
