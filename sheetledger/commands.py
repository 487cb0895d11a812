"""The bodies of the CLI commands that talk to the services (init, discover, sync).

``cli.py`` parses arguments and turns errors into exit codes; these functions
compose the adapters, run the job and print what happened.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetledger.bank.inbox import import_inbox, inbox_of
from sheetledger.config import Cabinet, Config
from sheetledger.connect import (
    build_crm,
    build_google,
    build_order_news,
    build_user_drive,
    cabinet_ledgers,
    master_ledger,
    open_state,
    register_config_secrets,
    service_account_info,
)
from sheetledger.daemon import settle_journal
from sheetledger.errors import SheetledgerError
from sheetledger.ledger.cabinet_files import CabinetFile, Grant, ensure_cabinet, recorded_ids
from sheetledger.ledger.setup import drop_blank_first_tab, prepare
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.rebuild.guard import lost_on_init
from sheetledger.reports.figures import DIMENSIONS, Period
from sheetledger.reports.pivots import ensure_pivots
from sheetledger.reports.refresh import report_sources, source_keys
from sheetledger.reports.terminal import (
    PeriodProblem,
    as_json,
    choose_period,
    period_report,
    save_chart,
)
from sheetledger.reports.terminal import print_report as print_period_report
from sheetledger.sync.cycle import CycleReport, run_cycle


def init(config: Config, console: Console) -> int:
    register_config_secrets(config)
    client = build_google(config)
    table = Table(title="sheetledger init")
    for column in ("spreadsheet", "created", "headers written", "formatted"):
        table.add_column(column)
    problems: list[str] = []
    email = service_account_info(config).get("client_email", "the service account")
    master = master_ledger(config, client)
    _prepare_one(config, table, problems, "master", master, _unreachable_hint(config, None, email))
    made = _make_cabinets(config, master, email, problems)
    configured = {c.name: c for c in config.google.cabinets}
    for name, sheets in cabinet_ledgers(config, client).items():
        hint = _unreachable_hint(config, configured[name], email)
        if _prepare_one(config, table, problems, f"cabinet '{name}'", sheets, hint) and (
            name in made and made[name].how == "created"
        ):
            drop_blank_first_tab(sheets)
    console.print(table)
    for cabinet in made.values():
        _tell_made(console, cabinet)
    for problem in problems:
        console.print(f"[red]✘[/red] {problem}", soft_wrap=True)
    return 1 if problems else 0


def _prepare_one(
    config: Config, table: Table, problems: list[str], label: str, sheets: Any, hint: str
) -> bool:
    """``prepare`` one spreadsheet into the table; False when it could not be reached."""
    try:
        report = prepare(sheets)
    except SheetledgerError as exc:
        problems.append(f"{label} ({sheets.spreadsheet_id}): {exc}. {hint}")
        return False
    if label == "master":
        report.created.extend(ensure_pivots(sheets, config.google.tabs.pivots).added)
    table.add_row(
        label,
        ", ".join(report.created) or "—",
        ", ".join(report.headers_written) or "—",
        ", ".join(report.formatted) or "—",
    )
    problems.extend(f"{label}: {p}" for p in report.problems)
    if label == "master" and report.created:
        problems.extend(_lost_tabs(config, sheets, report.created))
    return True


def _unreachable_hint(config: Config, cabinet: Cabinet | None, email: str) -> str:
    """What to do about a spreadsheet the service account cannot open."""
    if cabinet is not None and cabinet.spreadsheet_id is None:  # init made it
        return f"Run `sheetledger init` again: it shares the spreadsheet with {email}."
    hint = (
        f"Create it in Google Sheets and share it with {email} as an editor "
        "(a service account cannot create files in your Drive)"
    )
    if cabinet is not None and config.google.oauth_user is not None:
        hint += ", or leave out its spreadsheet_id: init then creates it as you"
    elif cabinet is not None:
        hint += (
            ", or sign in with `sheetledger auth google` (google.oauth_user) and leave out "
            "its spreadsheet_id: init then creates it"
        )
    return hint + "."


def _make_cabinets(
    config: Config, master: LedgerSheets, service: str, problems: list[str]
) -> dict[str, CabinetFile]:
    """The cabinets without ``spreadsheet_id``: created as the person of ``google.oauth_user``
    (``ledger/cabinet_files.py``), once; by name."""
    wanted = [c for c in config.google.cabinets if c.spreadsheet_id is None]
    if not wanted:
        return {}
    drive = build_user_drive(config, setting="google.oauth_user")
    if drive is None:  # the config's validation asks for it; a config built in code may not
        problems += [f"cabinet '{c.name}': no spreadsheet_id, no google.oauth_user" for c in wanted]
        return {}
    made: dict[str, CabinetFile] = {}
    store = open_state(config)
    try:
        recorded = recorded_ids(store, [c.name for c in wanted])
        business = _title_of(master) if len(recorded) < len(wanted) else ""
        for cabinet in wanted:
            grants = [Grant(service, notify=False)]
            grants += [Grant(cabinet.email, notify=True)] if cabinet.email else []
            try:
                made[cabinet.name] = ensure_cabinet(
                    drive,
                    store,
                    name=cabinet.name,
                    title=f"{business} — {cabinet.title or cabinet.name}",
                    master_id=config.google.spreadsheet_id,
                    grants=grants,
                )
            except SheetledgerError as exc:
                problems.append(f"cabinet '{cabinet.name}' (made by init): {exc}")
    finally:
        store.close()
    return made


def _title_of(master: LedgerSheets) -> str:
    """The master spreadsheet's title (the new cabinets' titles start with it)."""
    try:
        return str(master.metadata("properties.title")["properties"]["title"])
    except (SheetledgerError, KeyError):
        return "sheetledger"


def _tell_made(console: Console, cabinet: CabinetFile) -> None:
    said = {
        "created": "created in your Google Drive",
        "found": "found in your Google Drive (an earlier init created it)",
        "recorded": "created by an earlier init",
    }[cabinet.how]
    lines = [f"cabinet '{cabinet.name}': {said}"]
    if cabinet.gone:
        lines[0] += f" (its spreadsheet {cabinet.gone} was deleted)"
    if cabinet.shared:
        lines.append(f"  shared now with {', '.join(cabinet.shared)} (editor)")
    lines.append(f"  ID {cabinet.spreadsheet_id}  {cabinet.link}")
    if cabinet.how != "recorded":
        lines.append(
            "  kept in state.db; you may also write it into the config "
            f"(spreadsheet_id: {cabinet.spreadsheet_id}); a daemon already running sees it "
            "once restarted"
        )
    for line in lines:
        console.print(Text(line), soft_wrap=True)


def _lost_tabs(config: Config, sheets: Any, created: list[str]) -> list[str]:
    """A recreated Deals or Payments tab that held rows: it needs a rebuild, not a sync."""
    store = open_state(config)
    try:
        titles = {key: title for key, (title, _) in sheets.tabs.items()}
        return [f"master: {line}" for line in lost_on_init(store, created, titles)]
    finally:
        store.close()


def discover(config: Config, console: Console) -> int:
    register_config_secrets(config)
    crm = build_crm(config)
    account = crm.account()
    console.print(
        f"amoCRM account «{account.get('name')}» "
        f"(id {account.get('id')}, {account.get('subdomain')})"
    )
    pipelines = Table(title="Pipelines and statuses (amocrm.pipelines, amocrm.status_rules)")
    for column in ("pipeline id", "pipeline", "status id", "status", "sort"):
        pipelines.add_column(column)
    for pipe in crm.pipelines():
        for status in (pipe.get("_embedded") or {}).get("statuses", []):
            pipelines.add_row(
                str(pipe["id"]),
                str(pipe.get("name")),
                str(status["id"]),
                str(status.get("name")),
                str(status.get("sort")),
            )
    console.print(pipelines)
    users = Table(title="Users (managers)")
    users.add_column("id")
    users.add_column("name")
    users.add_column("email")
    for user in crm.users():
        users.add_row(str(user["id"]), str(user.get("name")), str(user.get("email") or ""))
    console.print(users)
    fields = Table(title="Deal custom fields (amocrm.fields, amocrm.payment_slots, amocrm.methods)")
    for column in ("field id", "name", "type", "options (enum id: text)"):
        fields.add_column(column, overflow="fold")
    for field in crm.lead_fields():
        options = "; ".join(f"{e.get('id')}: {e.get('value')}" for e in field.get("enums") or ())
        fields.add_row(str(field["id"]), str(field.get("name")), str(field.get("type")), options)
    console.print(fields)
    return 0


def sync(config: Config, console: Console, *, full: bool = False, dry_run: bool = False) -> int:
    register_config_secrets(config)
    client = build_google(config)
    ledger = master_ledger(config, client)
    crm = build_crm(config)
    store = open_state(config)
    try:
        inbox = inbox_of(config, client)
        if inbox is not None and not dry_run:  # statements saved in Drive, then the cycle
            found = import_inbox(
                config,
                ledger,
                inbox,
                now=datetime.now(UTC),
                cabinets=cabinet_ledgers(config, client),
                state=store,
            )
            if found.imported or found.refused:
                console.print(found.summary(), soft_wrap=True, markup=False)
        report = run_cycle(
            config,
            ledger,
            crm,
            store,
            now=datetime.now(UTC),
            full=full,
            dry_run=dry_run,
            cabinets=cabinet_ledgers(config, client),
            # Queued in state.db; the daemon's notify job sends them (sheetledger/notify/).
            news=build_order_news(config, store),
        )
        if not dry_run:
            settle_journal(store, ledger)
    finally:
        store.close()
    print_report(report, console)
    return 0 if report.ok else 1


def print_report(report: CycleReport, console: Console) -> None:
    if report.dry_run and report.changes is not None:
        table = Table(title="dry run: what this cycle would do (nothing written)")
        table.add_column("change")
        table.add_column("count", justify="right")
        rows: list[tuple[str, Any]] = [
            ("new rows", len(report.changes.appends)),
            ("row updates", len(report.changes.merged_updates())),
            ("confirmations to push", len(report.events)),
            ("computed tabs rewritten", ", ".join(report.changes.replace) or "—"),
        ]
        for name, count in rows:
            table.add_row(name, str(count))
        console.print(table)
        for event in report.events:
            console.print(
                f"  {event.kind} {event.payment_id} #{event.seq}: {event.amount} ({event.method})"
            )
    console.print(report.summary())
    for line in report.handovers:
        console.print(f"  cash handover {line}")
    for problem in report.problems:
        console.print(f"  [yellow]![/yellow] {problem}")


def report(
    config: Config,
    console: Console,
    *,
    month: str | None = None,
    start: date | None = None,
    end: date | None = None,
    by: str | None = None,
    json_out: bool = False,
    png: Path | None = None,
) -> int:
    """``sheetledger report``: one read of Deals, Payments, Expenses, Invoices; nothing written."""

    today = datetime.now(UTC).astimezone(config.tz).date()
    try:
        period = choose_period(month, start, end, today)
    except PeriodProblem as exc:
        console.print(f"[red]✘[/red] {exc}")
        return 2
    register_config_secrets(config)
    ledger = master_ledger(config, build_google(config))
    keys = source_keys(ledger.tabs)
    view = ledger.read(keys)
    for key, problem in ledger.header_problems().items():
        console.print(f"[red]✘[/red] tab '{ledger.tabs[key][0]}': {problem}")
        return 1
    sources = report_sources(view, keys)
    result = period_report(config, sources, period, (by,) if by else DIMENSIONS)
    if json_out:
        console.print_json(as_json(result))
    else:
        print_period_report(result, console)
    if png is not None:
        # One month makes a poor chart: draw its year up to it.
        months = result.pnl
        if period.start.month == period.end.month and period.start.year == period.end.year:
            year = Period(str(period.end.year), date(period.end.year, 1, 1), period.end)
            months = period_report(config, sources, year, ()).pnl
        save_chart(months, png)
        if not json_out:
            console.print(f"chart saved to {png}")
    return 0
