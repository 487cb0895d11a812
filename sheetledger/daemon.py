"""``sheetledger run``: one process, the scheduler's jobs and the bot, on connect.py's clients.

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
* The notifications of payment orders (``notify`` job): the outbox in ``state.db`` is
  flushed every ``schedule.outbox_flush``; each message goes once (sheetledger/notify/).
* A component that dies (the bot's loop: a rejected token, a bug) is not left dead: it
  is logged as an error, told once, started again after a growing wait, and its state
  is in ``sheetledger status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sheetledger.bank.inbox import import_inbox, inbox_of
from sheetledger.bot.app import ExpenseBot
from sheetledger.bot.identity import as_our_error, make_bot
from sheetledger.config import Config, Every
from sheetledger.connect import (
    Clients,
    build_bot,
    build_clients,
    build_drive,
    build_order_news,
    cabinet_ledgers,
    master_ledger,
    open_state,
)
from sheetledger.errors import FatalError, RetriableError, SheetledgerError
from sheetledger.ledger.records import PaymentRow
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.lifecycle import run_until_signalled, settle_heap
from sheetledger.logs import redact
from sheetledger.orders.plan import marked_orders
from sheetledger.outage import AMOCRM, GOOGLE, OutageWatch
from sheetledger.reconcile import jobs
from sheetledger.reconcile.digest import telegram_photo_sender, telegram_sender
from sheetledger.reports.refresh import FINGERPRINT_KEY, ReportMemory, refresh_reports
from sheetledger.retry import RetryPolicy
from sheetledger.store import LocalState
from sheetledger.sync.cursor import CURSOR_KEY
from sheetledger.sync.cycle import CycleMemory, CycleReport, run_cycle
from sheetledger.sync.state import marked_pushes

__all__ = [
    "COMPONENT_RESTART",
    "Daemon",
    "DaemonThread",
    "OutageWatch",
    "run_daemon",
    "settle_journal",
]

log = logging.getLogger("sheetledger.daemon")

# A component (the bot's loop) that dies is started again after 5 s, 10 s, 20 s … 5 min;
# once it has run for HEALTHY_AFTER seconds it counts as well again.
COMPONENT_RESTART = RetryPolicy(attempts=1_000_000, base=5.0, cap=300.0)
HEALTHY_AFTER = 60.0
BOT = "bot"

Serve = Callable[[asyncio.Event], Awaitable[None]]


def trigger_for(every: Every, config: Config) -> IntervalTrigger | CronTrigger:
    if every.cron is not None:
        return CronTrigger.from_crontab(every.cron, timezone=config.tz)
    return IntervalTrigger(seconds=every.every_seconds or 60, timezone=config.tz)


def settle_journal(store: LocalState, ledger: LedgerSheets) -> None:
    """Drop journaled pushes that the ledger read of the last cycle shows marked.

    So ``sheetledger status`` counts only pushes really awaiting their mark.
    """
    view = ledger.last_view
    if view is not None and "payments" in view.tabs:
        store.journal_settle(marked_pushes(view.tab("payments").typed(PaymentRow).values()))
    if view is not None and "invoices" in view.tabs:  # the payment orders' pushes
        store.journal_settle(marked_orders(view.tab("invoices")))


def describe_failure(exc: BaseException) -> str:
    """Why a component stopped, in one line fit for a log, ``status`` and the admin's chat."""
    exc = as_our_error(exc)  # PTB's own text for a rejected token quotes the token
    text = str(exc) if isinstance(exc, SheetledgerError) else f"{type(exc).__name__}: {exc}"
    return redact(text)


class Daemon:
    """The jobs and the bot on the clients of the composition root (``connect.build_clients``)."""

    def __init__(
        self,
        config: Config,
        clients: Clients | None = None,
        *,
        store: LocalState | None = None,
        with_bot: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        restart: RetryPolicy = COMPONENT_RESTART,
        healthy_after: float = HEALTHY_AFTER,
    ) -> None:
        self.config = config
        self.clients = clients or build_clients(config)
        self.store = store or open_state(config)
        self.crm = self.clients.crm
        self.ledger = master_ledger(config, self.clients.google)
        self.cabinets = cabinet_ledgers(config, self.clients.google)
        self.inbox = inbox_of(config, self.clients.google)  # statements saved in Drive
        self.now = now
        self.restart = restart
        self.healthy_after = healthy_after
        self.loop: asyncio.AbstractEventLoop | None = None
        self.outages = self.clients.outages
        self.outages.announce = self._announce
        self.bot: ExpenseBot | None = (
            build_bot(config, self.clients, self.store) if with_bot else None
        )
        self.scheduler = BackgroundScheduler(
            timezone=config.tz,
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": config.schedule.misfire_grace_seconds,
            },
        )
        self.memory = CycleMemory()
        # The reports keep their own Drive version and cache.
        self.reports_ledger = master_ledger(config, self.clients.google)
        # A restarted daemon remembers the figures it wrote: it rewrites only what changed.
        self.report_memory = ReportMemory(fingerprint=self.store.get(FINGERPRINT_KEY))
        self.cycle_done = threading.Condition()
        self.cycles = 0
        self.last_report: CycleReport | None = None
        self.component_starts: dict[str, int] = {}
        # The production OrderNews: the orders' code tells it, the notify job sends.
        self.news = build_order_news(
            config,
            self.store,
            watch=self.outages,
            fetch_bill=build_drive(config, self.clients.google).fetch,
            now=now,
        )

    # -- jobs ---------------------------------------------------------------------------

    def sync_job(self) -> CycleReport | None:
        """One sync cycle, with its outcome recorded and outages told once."""
        self.store.job_started("sync")
        started = time.monotonic()
        report = None
        try:
            if self.inbox is not None:
                self._import_inbox()
            report = run_cycle(
                self.config,
                self.ledger,
                self.crm,
                self.store,
                now=self.now(),
                cabinets=self.cabinets,
                memory=self.memory,
                news=self.news,
            )
        except (RetriableError, FatalError) as exc:
            self.outages.failed_with(exc)
            self.store.job_finished("sync", False, error=str(exc))
        except SheetledgerError as exc:
            log.error("sync failed: %s", exc)
            self.store.job_finished("sync", False, error=str(exc))
        except Exception as exc:  # a bug must not kill the scheduler thread silently
            log.exception("sync crashed")
            self.store.job_finished("sync", False, error=f"{type(exc).__name__}: {exc}")
        else:
            for service in (AMOCRM, GOOGLE):
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
            settle_journal(self.store, self.ledger)
            level = (
                logging.INFO
                if (report.new_rows or report.updated_rows or report.events)
                else logging.DEBUG
            )
            log.log(level, "sync: %s", report.summary())
            for problem in report.problems:
                log.warning("sync: %s", problem)
            self._refresh_reports()
        return report

    def _import_inbox(self) -> None:
        """Statements saved in the Drive inbox (sheetledger.bank.inbox), before the cycle that
        pushes their ticks. An outage here never fails the sync: the files wait."""
        assert self.inbox is not None
        try:
            report = import_inbox(
                self.config,
                self.ledger,
                self.inbox,
                now=self.now(),
                cabinets=self.cabinets,
                state=self.store,
            )
        except SheetledgerError as exc:
            log.warning("the Drive inbox of statements not read: %s", exc)
            return
        if report.imported or report.refused:
            log.info("bank: %s", report.summary())

    def _refresh_reports(self) -> None:
        """The management table (sheetledger.reports), after a good cycle.

        A separate read of its own sources (Expenses is too big for every sync's read), at
        most every ``reports.every_seconds``; an unchanged spreadsheet costs it one Drive
        look-up, and it writes only changed figures.
        A failure here never fails the sync.
        """
        now, last = self.now(), self.report_memory.ran_at
        if last is not None and (now - last).total_seconds() < self.config.reports.every_seconds:
            return
        self.report_memory.ran_at = now
        today = now.astimezone(self.config.tz).date()
        try:
            refresh = refresh_reports(self.config, self.reports_ledger, today, self.report_memory)
            if refresh.written:
                self.store.set(FINGERPRINT_KEY, self.report_memory.fingerprint)
        except SheetledgerError as exc:
            log.warning("reports not refreshed: %s", exc)

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
        result = future.result()  # the book has told the watch of any Google outage
        problem = result.problem
        self.store.job_finished("outbox", not problem, detail=str(result), error=problem)

    def notify_job(self) -> None:
        """Send the payment orders' notifications that are due (sheetledger/notify/outbox.py)."""
        self.store.job_started("notify")
        try:
            report = self.news.flush()
        except SheetledgerError as exc:
            log.error("notify failed: %s", exc)
            self.store.job_finished("notify", False, error=str(exc))
            return
        if report.sent or report.failed or report.unsure:
            log.info("notify: %s", report)
        self.store.job_finished(
            "notify", report.ok, detail=str(report), error="; ".join(report.problems[:3])
        )

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
        telegram = self.config.telegram

        async def send() -> None:
            try:
                # A client of its own, opened and closed here: the bot's shares its life with
                # the bot's loop (which may be starting, or dead), and a Bot sends nothing
                # before it is initialised.
                async with make_bot(telegram) as bot:
                    await bot.send_message(chat, text)
            except Exception as exc:
                log.warning("could not tell the admin's chat: %s", describe_failure(exc))

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
        self.scheduler.add_job(
            self.notify_job,
            trigger_for(schedule.outbox_flush, self.config),
            id="notify",
            name="notify",
            next_run_time=datetime.now(UTC),
        )
        self.schedule_reconciliation()

    # -- reconciliation, backup, digest (sheetledger/reconcile/jobs.py) ---------------------

    def schedule_reconciliation(self) -> None:
        """The nightly reconciliation and backup, and the digest's minute check."""
        config, store = self.config, self.store
        http = self.clients.google.http_client
        books = {"master": (http, self.ledger.spreadsheet_id)}
        books |= {name: (http, c.spreadsheet_id) for name, c in self.cabinets.items()}
        send, send_photo = telegram_sender(config), telegram_photo_sender(config)
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
                lambda: jobs.digest_job(config, self.ledger, send, store, self.now(), send_photo),
            ),
        ):
            self.scheduler.add_job(run, trigger_for(every, config), id=job_id, name=job_id)

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then finish the running job and shut down cleanly."""
        self.loop = asyncio.get_running_loop()
        self.schedule()
        self.scheduler.start()
        log.info("sheetledger is running: sync %s", _describe(self.config.schedule.sync))
        bot_task = None
        if self.bot is not None:
            bot_task = asyncio.ensure_future(self.supervise(BOT, self.bot.run, stop))
        try:
            await stop.wait()
        finally:
            log.info("stopping: finishing the running job")
            await asyncio.to_thread(self.scheduler.shutdown, True)
            if bot_task is not None:
                with contextlib.suppress(Exception):
                    await bot_task
            log.info("stopped")

    async def supervise(self, name: str, serve: Serve, stop: asyncio.Event) -> None:
        """Run ``serve(stop)`` until ``stop``; a component that dies is not left dead.

        Its death is logged as an error, recorded for ``sheetledger status`` (which then
        exits 1) and told to the admin once (the outage watch); it is started again after
        a growing wait. Once it has run ``healthy_after`` seconds, the outage is over.
        """
        failures = 0
        while not stop.is_set():
            self.store.job_started(name)
            self.component_starts[name] = self.component_starts.get(name, 0) + 1
            task = asyncio.ensure_future(serve(stop))
            done, _ = await asyncio.wait({task}, timeout=self.healthy_after)
            if not done:
                self.store.job_finished(name, True, detail="running")
                if failures:
                    self.outages.recovered(name)
                    failures = 0
            try:
                await task
            except Exception as exc:  # a component's death must be seen, not swallowed
                failures += 1
                detail = describe_failure(exc)
                wait = self.restart.delay(failures)
                log.error("%s stopped: %s (starting it again in %.0f s)", name, detail, wait)
                self.store.job_finished(name, False, error=detail)
                self.outages.failed(name, detail, needs_person=isinstance(exc, FatalError))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
            else:
                return  # it stopped because it was told to

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
    daemon = Daemon(config)
    settle_heap()
    try:
        run_until_signalled(daemon.serve)
    finally:
        daemon.close()
    return 0
