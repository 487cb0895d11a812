"""``sheetledger check``: the config, then every service it names, every problem at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sheetledger.config import Config, load_config
from sheetledger.connect import build_crm, build_google, master_ledger, register_config_secrets
from sheetledger.errors import SheetledgerError


@dataclass(frozen=True)
class Finding:
    area: str
    ok: bool
    detail: str


def _guard(area: str, fn: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return fn()
    except SheetledgerError as exc:
        return [Finding(area, False, str(exc))]
    except Exception as exc:  # an unexpected failure is still a finding, not a traceback
        return [Finding(area, False, f"{type(exc).__name__}: {exc}")]


def check_amocrm(config: Config) -> list[Finding]:
    crm = build_crm(config)
    account = crm.account()
    found = [Finding("amoCRM", True, f"account «{account.get('name')}» (id {account.get('id')})")]
    pipelines = {int(p["id"]): p for p in crm.pipelines()}
    for pipeline_id in config.amocrm.pipelines:
        pipe = pipelines.get(pipeline_id)
        if pipe is None:
            found.append(Finding("amoCRM", False, f"amocrm.pipelines: no pipeline {pipeline_id} (see `sheetledger discover`)"))
            continue
        statuses = {int(s["id"]) for s in (pipe.get("_embedded") or {}).get("statuses", [])}
        for name, rule in (
            ("on_first_confirmation", config.amocrm.status_rules.on_first_confirmation),
            ("on_fully_paid", config.amocrm.status_rules.on_fully_paid),
        ):
            if rule is not None and rule.status_id not in statuses:
                found.append(
                    Finding("amoCRM", False, f"amocrm.status_rules.{name}: status {rule.status_id} is not in pipeline «{pipe.get('name')}»")
                )
        found.append(Finding("amoCRM", True, f"pipeline «{pipe.get('name')}» ({len(statuses)} statuses)"))
    fields = {int(f["id"]): f for f in crm.lead_fields()}
    expected: list[tuple[str, int | None, tuple[str, ...]]] = [
        ("fields.contract_no", config.amocrm.fields.contract_no, ("text", "numeric", "textarea")),
        ("fields.contract_date", config.amocrm.fields.contract_date, ("date", "date_time")),
        ("fields.confirmed_total", config.amocrm.fields.confirmed_total, ("numeric", "monetary")),
    ]
    for index, slot in enumerate(config.amocrm.payment_slots):
        expected += [
            (f"payment_slots.{index}.amount", slot.amount, ("numeric", "monetary")),
            (f"payment_slots.{index}.method", slot.method, ("select", "radiobutton")),
            (f"payment_slots.{index}.date", slot.date, ("date", "date_time")),
        ]
    for name in ("product", "salon", "city"):
        expected.append((f"fields.{name}", getattr(config.amocrm.fields, name), ()))
    bad = 0
    for path, field_id, types in expected:
        if field_id is None:
            continue
        field = fields.get(field_id)
        if field is None:
            found.append(Finding("amoCRM", False, f"amocrm.{path}: no deal field {field_id}"))
            bad += 1
        elif types and field.get("type") not in types:
            found.append(
                Finding("amoCRM", False, f"amocrm.{path}: field {field_id} «{field.get('name')}» is {field.get('type')}, expected {' or '.join(types)}")
            )
            bad += 1
    for index, slot in enumerate(config.amocrm.payment_slots):
        field = fields.get(slot.method)
        if field is None:
            continue
        options = {str(e.get("value")) for e in field.get("enums") or ()}
        unmapped = sorted(o for o in options if o.casefold() not in {k.casefold() for k in config.amocrm.methods})
        if unmapped:
            found.append(
                Finding("amoCRM", False, f"amocrm.methods: option(s) {', '.join(unmapped)} of «{field.get('name')}» are not mapped to a method")
            )
            bad += 1
    if not bad:
        found.append(Finding("amoCRM", True, f"{len(expected)} deal fields present with the right types"))
    return found


def check_google(config: Config) -> list[Finding]:
    client = build_google(config)
    ledger = master_ledger(config, client)
    found: list[Finding] = []
    try:
        ledger.read()
    except SheetledgerError as exc:
        return [Finding("Google Sheets", False, f"master spreadsheet: {exc}")]
    problems = ledger.header_problems()
    for key, (title, _schema) in ledger.tabs.items():
        if key in problems:
            found.append(Finding("Google Sheets", False, f"tab '{title}': {problems[key]}"))
    if not problems:
        found.append(Finding("Google Sheets", True, f"master spreadsheet: {len(ledger.tabs)} tabs with the right headers"))
    for cabinet in config.google.cabinets:
        try:
            client.http_client.fetch_sheet_metadata(cabinet.spreadsheet_id, {"fields": "properties.title"})
            found.append(Finding("Google Sheets", True, f"cabinet '{cabinet.name}' reachable"))
        except Exception as exc:
            code = getattr(exc, "code", None)
            hint = {
                403: "not shared with the service account: share it as an editor",
                404: "not found: check its spreadsheet_id",
            }.get(code, str(exc))
            found.append(Finding("Google Sheets", False, f"cabinet '{cabinet.name}': {hint}"))
    return found


def check_telegram(config: Config) -> list[Finding]:
    from sheetledger.bot.identity import get_me

    me = get_me(config.telegram)
    return [Finding("Telegram", True, f"bot @{me['username']} (id {me['id']})")]


def run_check(config_path: Path, console: Console) -> int:
    config = load_config(config_path)
    register_config_secrets(config)
    findings = [Finding("config", True, f"{config_path} is valid")]
    findings += _guard("amoCRM", lambda: check_amocrm(config))
    findings += _guard("Google Sheets", lambda: check_google(config))
    findings += _guard("Telegram", lambda: check_telegram(config))
    table = Table(title="sheetledger check", show_lines=False)
    table.add_column("", width=2)
    table.add_column("service")
    table.add_column("finding", overflow="fold")
    for finding in findings:
        table.add_row("✔" if finding.ok else "✘", finding.area, finding.detail, style=None if finding.ok else "red")
    console.print(table)
    failed = sum(not f.ok for f in findings)
    console.print(f"{failed} problem(s)" if failed else "all good")
    return 1 if failed else 0
