"""The Drive inbox door for statements: the accountant saves the bank's export in a folder.

``bank.inbox_folder_id`` names a Drive folder shared with the service account. Before each
sync cycle the daemon (and ``sheetledger sync``) imports every file waiting in it — the
same import as ``sheetledger import-statement`` — and moves it into the subfolder
``imported``; a file the import refuses (not ours, cut off, not adding up) goes to
``not imported`` with the reason in its Drive description, so it is not tried again and
she sees why. The ticks are pushed by the cycle that follows.

Idempotent: a file is moved only after its lines are written. A crash (or an outage)
between the two leaves it in the inbox; the next run imports it again, which writes
nothing (its lines are in the Bank tab already), and moves it. One file at a time, so a
bad file never holds up the good ones.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sheetledger.bank.importer import import_statements
from sheetledger.bank.statement import StatementError
from sheetledger.config import Config
from sheetledger.ledger.drive import DriveFile, DriveFiles, DriveInbox
from sheetledger.ledger.google import session_of
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.store import LocalState

if TYPE_CHECKING:
    import gspread

__all__ = ["IMPORTED", "REFUSED", "InboxReport", "import_inbox", "inbox_of"]

log = logging.getLogger(__name__)

IMPORTED = "imported"
REFUSED = "not imported"
DESCRIPTION_LIMIT = 900  # what of the reasons goes into the file's Drive description


@dataclass
class InboxReport:
    imported: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)  # payment IDs the statements ticked

    def summary(self) -> str:
        parts = [f"{len(self.imported)} statement(s) imported from Drive"]
        if self.confirmed:
            parts.append(f"{len(self.confirmed)} payment(s) confirmed")
        if self.refused:
            parts.append(f"refused: {', '.join(self.refused)}")
        return ", ".join(parts)


def inbox_of(config: Config, client: gspread.Client) -> DriveInbox | None:
    """The configured inbox folder, or None when statements come only by the other doors."""
    if config.bank is None or not config.bank.inbox_folder_id:
        return None
    files = DriveFiles(
        session_of(client), timeout=config.google.timeout_seconds, setting="bank.inbox_folder_id"
    )
    return DriveInbox(files, config.bank.inbox_folder_id)


def import_inbox(
    config: Config,
    ledger: LedgerSheets,
    inbox: DriveInbox,
    *,
    now: datetime,
    cabinets: Mapping[str, LedgerSheets] | None = None,
    state: LocalState | None = None,
) -> InboxReport:
    """Import the files waiting in the inbox, one by one, and move each where it belongs.

    A Google outage raises (``SheetledgerError``): what was not moved stays for next time.
    """
    report = InboxReport()
    for item in inbox.waiting():
        if not item.downloadable:
            _refuse(inbox, item, ["a Google Docs file, not the bank's export (a .txt file)"])
            report.refused.append(item.name)
            continue
        data = inbox.download(item)
        try:
            result = import_statements(
                config, ledger, [(item.name, data)], now=now, cabinets=cabinets, state=state
            )
        except StatementError as exc:
            _refuse(inbox, item, exc.problems, unbalanced=exc.unbalanced)
            report.refused.append(item.name)
            continue
        plan = result.plan
        inbox.move(
            item,
            IMPORTED,
            description=f"imported {now:%Y-%m-%d %H:%M} UTC: {result.lines} line(s), "
            f"{len(plan.outcomes)} new, {len(plan.confirmed)} payment(s) confirmed",
        )
        report.imported.append(item.name)
        report.confirmed.extend(plan.confirmed)
        log.info("statement %s imported from the Drive inbox", item.name)
    return report


def _refuse(
    inbox: DriveInbox, item: DriveFile, problems: list[str], *, unbalanced: bool = False
) -> None:
    reason = "; ".join(problems)
    log.warning("statement %s in the Drive inbox not imported: %s", item.name, reason)
    if unbalanced:
        reason += " — if the file is right: sheetledger import-statement --accept-unbalanced"
    inbox.move(item, REFUSED, description=reason[:DESCRIPTION_LIMIT])
