"""The body of ``sheetledger rebuild``: compose the adapters, run it, print what it did."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetledger.config import Config
from sheetledger.connect import (
    build_crm,
    build_google,
    cabinet_ledgers,
    master_ledger,
    open_state,
    register_config_secrets,
)
from sheetledger.errors import SheetledgerError
from sheetledger.ledger.setup import prepare
from sheetledger.rebuild.run import RebuildReport, restored_lines, run_rebuild


def rebuild(config: Config, console: Console, *, dry_run: bool = False) -> int:
    register_config_secrets(config)
    client = build_google(config)
    store = open_state(config)
    try:
        report = run_rebuild(
            config,
            master_ledger(config, client),
            build_crm(config),
            store,
            now=datetime.now(UTC),
            dry_run=dry_run,
        )
    finally:
        store.close()
    if not dry_run:
        # A cabinet's deleted tab comes back empty; the next sync mirrors its rows into it.
        for name, sheets in cabinet_ledgers(config, client).items():
            try:
                prepare(sheets)
            except SheetledgerError as exc:
                report.plan.problems.append(f"cabinet '{name}' not prepared: {exc}")
    print_rebuild(report, console)
    return 0 if report.ok else 1


def print_rebuild(report: RebuildReport, console: Console) -> None:
    for title in report.missing:
        verb = "would be recreated" if report.dry_run else "recreated"
        console.print(Text(f"tab '{title}' was missing: {verb}"))
    lines = restored_lines(report)
    if lines:
        title = "confirmations restored from amoCRM's notes"
        if report.dry_run:
            title = "dry run: " + title.replace("restored", "to restore") + " (nothing written)"
        table = Table(title=title)
        for column in ("payment", "state", "amount", "by", "on", "people's cells"):
            table.add_column(column)
        for line in lines:
            table.add_row(*(Text(cell) for cell in line))  # people's names are data, not markup
        console.print(table)
    console.print(report.summary())
    for event in report.plan.pending:
        console.print(
            Text(
                f"  next sync pushes {event.kind} {event.payment_id} #{event.seq}: "
                f"{event.amount} (a person's tick newer than amoCRM's record)"
            )
        )
    for problem in report.plan.problems:
        console.print(Text(f"  ! {problem}"))
