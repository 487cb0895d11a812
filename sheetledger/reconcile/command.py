"""The body of ``sheetledger reconcile``: exit 0 clean, 1 findings that are errors, 2 not run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetledger.config import Config
from sheetledger.connect import (
    build_crm,
    build_google,
    cabinet_ids,
    master_ledger,
    open_state,
    register_config_secrets,
)
from sheetledger.errors import SheetledgerError
from sheetledger.reconcile.backup import take_backup
from sheetledger.reconcile.digest import (
    DIGEST_TABS,
    send_due,
    telegram_photo_sender,
    telegram_sender,
)
from sheetledger.reconcile.restore import run_restore
from sheetledger.reconcile.run import ReconcileReport, run_reconcile
from sheetledger.reconcile.track import summary

EXIT_CLEAN, EXIT_ERRORS, EXIT_NOT_RUN = 0, 1, 2


def reconcile(config: Config, console: Console, *, as_json: bool = False) -> int:
    register_config_secrets(config)
    try:
        store = open_state(config)
        try:
            report = run_reconcile(
                config,
                master_ledger(config, build_google(config)),
                build_crm(config),
                store,
                today=datetime.now(config.tz).date(),
            )
        finally:
            store.close()
    except SheetledgerError as exc:
        if as_json:
            console.out(json.dumps({"ran": False, "error": str(exc)}, ensure_ascii=False))
        else:
            Console(stderr=True).print(Text(f"reconciliation could not run: {exc}"))
        return EXIT_NOT_RUN
    if as_json:
        console.out(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        print_report(report, console)
    return EXIT_ERRORS if report.plan.errors else EXIT_CLEAN


def report_json(report: ReconcileReport) -> dict[str, Any]:
    return {
        "ran": True,
        "errors": report.plan.errors,
        "findings": [
            {
                "id": t.finding.id,
                "code": t.finding.code,
                "severity": t.finding.severity,
                "subject": t.finding.subject,
                "detail": t.finding.detail,
                "todo": t.finding.todo,
                "link": t.finding.link,
                "first_seen": t.first_seen.isoformat(),
                "last_seen": t.last_seen.isoformat(),
                "muted": t.muted,
            }
            for t in report.plan.tracked
        ],
        "resolved": report.plan.resolved_now,
        "resolved_total": report.plan.resolved_total,
        "leads_read": report.leads_read,
        "notes_read": report.notes_read,
    }


def print_report(report: ReconcileReport, console: Console) -> None:
    if report.plan.tracked:
        table = Table(title="reconciliation findings")
        for column in ("severity", "finding", "detail", "what to do", "since"):
            table.add_column(column, overflow="fold")
        for t in report.plan.tracked:
            severity = t.finding.severity + (" (seen)" if t.muted else "")
            cells = (severity, t.finding.id, t.finding.detail, t.finding.todo, str(t.first_seen))
            table.add_row(*(Text(cell) for cell in cells))  # details hold people's text
        console.print(table)
    console.print(
        Text(
            f"{report.leads_read} leads and {report.notes_read} notes read; {summary(report.plan)}"
            + ("" if report.written else "; the tab already showed this")
        )
    )


def backup(config: Config, console: Console) -> int:
    """Save every tab of the master and the cabinets to state_dir/backups, keep the newest."""
    register_config_secrets(config)
    client = build_google(config)
    books = {"master": (client.http_client, config.google.spreadsheet_id)}
    for name, spreadsheet_id in cabinet_ids(config).items():  # init's own ones too
        books[name] = (client.http_client, spreadsheet_id)
    path, pruned = take_backup(books, backup_folder(config), datetime.now(UTC), config.backup.keep)
    console.print(Text(f"backup saved: {path}"))
    if pruned:
        console.print(Text(f"{len(pruned)} older backups deleted (keeping {config.backup.keep})"))
    return EXIT_CLEAN


def backup_folder(config: Config) -> Path:
    return config.state_dir / "backups"


def restore(
    config: Config,
    console: Console,
    *,
    backup: str,
    tab: str,
    ids: list[str] | None,
    dry_run: bool,
) -> int:
    """Put the rows a tab lost back from a backup; rows still there are never written."""
    register_config_secrets(config)
    path = Path(backup)
    if not path.is_dir():
        path = backup_folder(config) / backup
    if not (path / "master.jsonl").exists():
        console.print(Text(f"no backup at {backup} (see the folders in {backup_folder(config)})"))
        return EXIT_ERRORS
    try:
        plan = run_restore(
            master_ledger(config, build_google(config)), path, tab, ids, dry_run=dry_run
        )
    except KeyError as exc:
        console.print(Text(str(exc.args[0])))
        return EXIT_ERRORS
    verb = "would restore" if dry_run else "restored"
    console.print(Text(f"{verb} {len(plan.restored)} rows: {', '.join(plan.restored) or '—'}"))
    if plan.kept:
        console.print(Text(f"still in the tab, left as they are: {', '.join(plan.kept)}"))
    for row_id in plan.unknown:
        console.print(Text(f"  ! {row_id}: not in this backup"))
    for problem in plan.problems:
        console.print(Text(f"  ! {problem}"))
    return EXIT_ERRORS if plan.unknown else EXIT_CLEAN


def digest(config: Config, console: Console, *, now: bool, to: int | None) -> int:
    """Send the digest (``--now``: whatever the time and the memory say)."""
    register_config_secrets(config)
    ledger = master_ledger(config, build_google(config))
    keys = [key for key in DIGEST_TABS if key in ledger.tabs]
    store = open_state(config)
    try:
        chats = send_due(
            config,
            lambda: ledger.read(keys),
            telegram_sender(config),
            store,
            datetime.now(UTC),
            force=now,
            only=[to] if to is not None else [],
            send_photo=telegram_photo_sender(config),
        )
    finally:
        store.close()
    if chats:
        console.print(Text(f"digest sent to {', '.join(map(str, chats))}"))
    else:
        console.print(Text("nothing sent: not due yet, already sent today, or nobody to send to"))
    return EXIT_CLEAN
