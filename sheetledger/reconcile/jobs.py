"""The daemon's nightly reconciliation, nightly backup and daily digest, as jobs.

Each job records its run for ``sheetledger status`` and never raises into the
scheduler's thread: a failed night is logged and tried again at its next time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sheetledger.config import Config
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.reconcile.backup import take_backup
from sheetledger.reconcile.digest import DIGEST_TABS, Send, SendPhoto, send_due
from sheetledger.reconcile.run import BulkCrm, run_reconcile
from sheetledger.reconcile.track import summary
from sheetledger.store import LocalState

log = logging.getLogger("sheetledger.reconcile")


def _guarded(store: LocalState, job: str, work: Callable[[], str]) -> None:
    store.job_started(job)
    try:
        detail = work()
    except Exception as exc:  # the scheduler thread must live on; the next night retries
        log.exception("%s failed", job)
        store.job_finished(job, False, error=f"{type(exc).__name__}: {exc}")
    else:
        if detail:
            log.info("%s: %s", job, detail)
        store.job_finished(job, True, detail=detail)


def reconcile_job(
    config: Config, ledger: LedgerSheets, crm: BulkCrm, store: LocalState, now: datetime
) -> None:
    def work() -> str:
        report = run_reconcile(config, ledger, crm, store, today=now.astimezone(config.tz).date())
        return summary(report.plan)

    _guarded(store, "reconcile", work)


def backup_job(
    config: Config, books: Mapping[str, tuple[Any, str]], store: LocalState, now: datetime
) -> None:
    def work() -> str:
        path, pruned = take_backup(books, config.state_dir / "backups", now, config.backup.keep)
        return f"saved {path.name}" + (f", {len(pruned)} old ones deleted" if pruned else "")

    _guarded(store, "backup", work)


def digest_job(
    config: Config,
    ledger: LedgerSheets,
    send: Send,
    store: LocalState,
    now: datetime,
    send_photo: SendPhoto | None = None,
) -> None:
    def work() -> str:
        keys = [key for key in DIGEST_TABS if key in ledger.tabs]
        chats = send_due(config, lambda: ledger.read(keys), send, store, now, send_photo=send_photo)
        return f"digest sent to {len(chats)} chats" if chats else ""

    _guarded(store, "digest", work)
