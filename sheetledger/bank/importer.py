"""Importing statement files into the ledger: parse, read, plan, write. The thin shell.

Every file is parsed and checked before anything is read or written, so a bad file
(not ours, cut off, not adding up) leaves the ledger untouched. Then one read of the
Bank, Payments, Deals and Expenses tabs, the pure ``plan_import``, and one write
(located by ID, so rows people sorted meanwhile are still hit): three Sheets requests
for a statement of any length. The ticks it writes are pushed to amoCRM by the sync
cycle, the same way a person's ticks are; ``sheetledger import-statement`` runs one
cycle right after, so the notes appear at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from sheetledger.bank import rub
from sheetledger.bank.cabinet import arrange_requests, in_order
from sheetledger.bank.continuity import STATE_KEY as CLOSINGS
from sheetledger.bank.continuity import Closing, closings, continuity_problems
from sheetledger.bank.continuity import dump as dump_closings
from sheetledger.bank.continuity import load as load_closings
from sheetledger.bank.plan import ImportPlan, plan_cabinet, plan_import
from sheetledger.bank.statement import Statement, StatementError, parse_statement
from sheetledger.config import Config
from sheetledger.connect import (
    build_crm,
    build_google,
    cabinet_ledgers,
    master_ledger,
    open_state,
    register_config_secrets,
)
from sheetledger.errors import ConfigError, SheetledgerError
from sheetledger.ledger.sheets import HeaderProblem, LedgerSheets
from sheetledger.store import LocalState
from sheetledger.sync.cycle import run_cycle

__all__ = [
    "IMPORT_TABS",
    "ImportReport",
    "import_statements",
    "read_statements",
    "run_import",
]

log = logging.getLogger(__name__)

IMPORT_TABS = ("bank", "payments", "deals", "expenses")
ORDER_TABS = ("invoices",)  # read when the ledger has them: outgoing lines pay orders


@dataclass
class ImportReport:
    statements: list[tuple[str, Statement]] = field(default_factory=list)
    plan: ImportPlan = field(default_factory=ImportPlan)
    dry_run: bool = False
    requests: int = 0  # Sheets requests the import made in the master
    cabinet_rows: dict[str, int] = field(default_factory=dict)  # cabinet -> lines to assign
    problems: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(len(s.lines) for _, s in self.statements)

    def summary(self) -> list[str]:
        plan = self.plan
        head = (
            f"{len(self.statements)} statement(s), {self.lines} line(s): "
            f"{len(plan.outcomes)} new, {plan.known} already in the Bank tab"
        )
        counts = ", ".join(
            f"{plan.count(state)} {state}"
            for state in (
                "confirmed",
                "suggested",
                "unassigned",
                "own transfer",
                "expense",
                "outgoing",
            )
            if plan.count(state)
        )
        lines = [head + (f" — {counts}" if counts else "")]
        if plan.confirmed or plan.partial:
            lines.append(
                f"payments confirmed: {', '.join(plan.confirmed) or '—'}"
                + (f"; partly received: {', '.join(plan.partial)}" if plan.partial else "")
            )
        for outcome in plan.outcomes:
            if outcome.state in ("confirmed", "suggested", "unassigned"):
                line = outcome.line
                target = ", ".join(outcome.matched_to or outcome.candidates) or "—"
                rule = f" [{outcome.rule}]" if outcome.rule else ""
                lines.append(
                    f"  {outcome.state:<10} {line.date:%d.%m.%Y} {rub(line.amount):>16} "
                    f"{line.counterparty[:30]:<30} → {target}{rule}"
                )
        for name, statement in self.statements:
            lines.extend(f"  ! {name}: {problem} (accepted)" for problem in statement.problems)
        for name, count in self.cabinet_rows.items():
            lines.append(f"cabinet '{name}': {count} line(s) to assign in its Bank tab")
        lines.extend(f"  ! {problem}" for problem in self.problems)
        lines.append(f"Sheets requests: {self.requests}")
        if self.dry_run:
            lines.append("dry run: nothing written")
        return lines


def read_statements(
    files: Iterable[tuple[str, bytes]],
    config: Config,
    *,
    accept_unbalanced: bool = False,
    previous: Mapping[str, Closing] | None = None,
) -> list[tuple[str, Statement]]:
    """Every file parsed and checked, or a ``StatementError`` listing each bad file.

    ``previous`` are the closing balances of the statements imported before: each
    file's opening must join up with them (and the files among themselves, in date
    order), or the file counts as unbalanced, with the missing days named.
    """
    if config.bank is None:
        raise ConfigError(
            str(config.source or "config"),
            ["bank: missing — list our accounts under bank.accounts to import statements"],
        )
    parsed, problems = [], []
    for name, data in files:
        try:
            parsed.append(
                (
                    name,
                    parse_statement(
                        data,
                        own_accounts=config.bank.accounts,
                        accept_unbalanced=accept_unbalanced,
                        source=name,
                    ),
                )
            )
        except StatementError as exc:
            problems.append(exc)
    if not problems:
        parsed, problems = _joined(parsed, previous or {}, accept_unbalanced)
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise StatementError(
            ", ".join(p.source for p in problems),
            [f"{p.source}: {line}" for p in problems for line in p.problems],
            unbalanced=all(p.unbalanced for p in problems),
        )
    return parsed


def _joined(
    parsed: list[tuple[str, Statement]], previous: Mapping[str, Closing], accept: bool
) -> tuple[list[tuple[str, Statement]], list[StatementError]]:
    """The files checked against the previous closings, the earliest first."""
    known, problems = dict(previous), []
    joined = list(parsed)
    for at in sorted(range(len(parsed)), key=lambda i: parsed[i][1].start or date.min):
        name, statement = parsed[at]
        gaps = continuity_problems(statement, known)
        if gaps and not accept:
            problems.append(StatementError(name, gaps, unbalanced=True))
        elif gaps:
            joined[at] = (name, replace(statement, problems=(*statement.problems, *gaps)))
        known = closings([statement], known)
    return joined, problems


def import_statements(
    config: Config,
    ledger: LedgerSheets,
    files: Sequence[tuple[str, bytes]],
    *,
    now: datetime,
    dry_run: bool = False,
    accept_unbalanced: bool = False,
    cabinets: Mapping[str, LedgerSheets] | None = None,
    state: LocalState | None = None,
) -> ImportReport:
    """Import the files. With ``state``, consecutive statements of an account must join
    up (see ``continuity``), and the closings of the imported ones are kept there."""
    report = ImportReport(dry_run=dry_run)
    previous = load_closings(state.get(CLOSINGS)) if state is not None else {}
    report.statements = read_statements(
        files, config, accept_unbalanced=accept_unbalanced, previous=previous
    )
    before = ledger.requests
    keys = [*IMPORT_TABS, *(key for key in ORDER_TABS if key in ledger.tabs)]
    view = ledger.read(keys)
    broken = ledger.header_problems()
    for key in keys:
        if key in broken:
            raise HeaderProblem(ledger.tabs[key][0], broken[key])
    lines = [line for _, statement in report.statements for line in statement.lines]
    report.plan = plan_import(view, lines, config.bank, now=now)
    if not dry_run and report.plan.changes:
        ledger.write(report.plan.changes)
        log.info(
            "statement import: %d new line(s), %d payment(s) confirmed",
            len(report.plan.outcomes),
            len(report.plan.confirmed),
        )
    report.requests = ledger.requests - before
    if state is not None and not dry_run:
        state.set(CLOSINGS, dump_closings(closings((s for _, s in report.statements), previous)))
    for name, sheets in (cabinets or {}).items():
        if "cabinet_bank" in sheets.tabs:
            _fill_cabinet(report, name, sheets)
    return report


def _fill_cabinet(report: ImportReport, name: str, sheets: LedgerSheets) -> None:
    """Add the lines to assign to a cabinet's Bank tab. The master holds them already, so a
    cabinet out of reach is said, not fatal: the next import adds what is missing."""
    try:
        view = sheets.read(["cabinet_bank"])
        problem = sheets.header_problems().get("cabinet_bank")
        if problem:
            report.problems.append(f"cabinet '{name}', tab Bank: {problem} — not updated")
            return
        changes = plan_cabinet(report.plan, view)
        report.cabinet_rows[name] = len(changes.appends)
        if report.dry_run:
            return
        if changes:
            sheets.write(changes)
            view = sheets.read(["cabinet_bank"])  # where the new rows landed
        _arrange(sheets, view.tab("cabinet_bank").rows, appended=bool(changes))
    except SheetledgerError as exc:
        report.problems.append(f"cabinet '{name}' not updated: {exc}")


def _arrange(sheets: LedgerSheets, rows: Mapping[str, Any], *, appended: bool) -> None:
    """Waiting lines on top, oldest first, with their candidates as a dropdown (one
    batchUpdate, only when lines were added or the order is off)."""
    layout = sheets.layouts["cabinet_bank"]
    sort = not in_order(rows, layout.rows_by_id)
    if not (appended or sort):
        return
    title, schema = sheets.tabs["cabinet_bank"]
    requests = arrange_requests(
        rows,
        layout.rows_by_id,
        sheet_id=sheets.sheet_ids()[title],
        schema=schema,
        last_row=layout.last_row,
        sort=sort,
    )
    if requests:
        sheets.batch_update(requests, what="arrange the Bank tab")


def load_files(paths: Iterable[Path]) -> list[tuple[str, bytes]]:
    """The files' bytes by name; an unreadable file is a ``StatementError`` naming it."""
    found = []
    for path in paths:
        try:
            found.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise StatementError(str(path), [f"cannot read: {exc.strerror or exc}"]) from exc
    return found


def run_import(
    config: Config,
    console: Console,
    paths: Sequence[Path],
    *,
    dry_run: bool = False,
    accept_unbalanced: bool = False,
    push: bool = True,
) -> int:
    """``sheetledger import-statement``: import, print what happened, push the ticks."""
    register_config_secrets(config)
    files = load_files(paths)
    client = build_google(config)
    ledger = master_ledger(config, client)
    cabinets = cabinet_ledgers(config, client)
    store = open_state(config)
    try:
        report = import_statements(
            config,
            ledger,
            files,
            now=datetime.now(UTC),
            dry_run=dry_run,
            accept_unbalanced=accept_unbalanced,
            cabinets=cabinets,
            state=store,
        )
        for line in report.summary():
            console.print(line, soft_wrap=True, markup=False)
        if dry_run or not push or not (report.plan.confirmed or report.plan.partial):
            return 0
        cycle = run_cycle(
            config,
            ledger,
            build_crm(config),
            store,
            now=datetime.now(UTC),
            cabinets=cabinets,
        )
    finally:
        store.close()
    console.print(f"pushed to amoCRM: {cycle.summary()}", soft_wrap=True, markup=False)
    return 0 if cycle.ok else 1
