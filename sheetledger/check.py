"""``sheetledger check``: the config, then every service it names, every problem at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetledger.bot.identity import get_me
from sheetledger.config import Config, load_config
from sheetledger.connect import (
    build_crm,
    build_drive,
    build_google,
    build_sms,
    cabinet_ledgers,
    master_ledger,
    register_config_secrets,
    service_account_info,
    uncreated_cabinets,
)
from sheetledger.errors import ConfigError, RetriableError, SheetledgerError
from sheetledger.ledger.drive import NO_QUOTA_HINT
from sheetledger.ledger.google import KeyRefused, NoAccessToken
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.money import rub
from sheetledger.retry import RetryPolicy

AMO, GOOGLE, TELEGRAM, SMS = "amoCRM", "Google Sheets", "Telegram", "SMS"
DRIVE = "Google Drive"

# A check reports what it sees now, quickly: one attempt and short timeouts. The clients'
# retries with backoff are for the daemon; in a check they kept a person waiting ~10 s
# (amoCRM's five attempts) before saying that a service is down.
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Finding:
    area: str
    ok: bool
    detail: str


def _guard(area: str, fn: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return fn()
    except ConfigError as exc:  # found only when used (a secret file that is not a key)
        return [Finding(area, False, "; ".join(exc.problems))]
    except RetriableError as exc:  # its own text says "(will retry)": not what check does
        return [Finding(area, False, f"{exc.service} unavailable: {exc.detail} — try again later")]
    except SheetledgerError as exc:
        return [Finding(area, False, str(exc))]
    except Exception as exc:  # an unexpected failure is still a finding, not a traceback
        return [Finding(area, False, f"{type(exc).__name__}: {exc}")]


# --------------------------------------------------------------------------- amoCRM


def check_amocrm(config: Config) -> list[Finding]:
    amo = config.amocrm
    crm = build_crm(config, timeout=PROBE_TIMEOUT, attempts=1)
    account = crm.account()
    found = [Finding(AMO, True, f"account «{account.get('name')}» (id {account.get('id')})")]

    def bad(detail: str) -> None:
        found.append(Finding(AMO, False, detail))

    pipelines = {int(p["id"]): p for p in crm.pipelines()}
    for pipeline_id in amo.pipelines:
        pipe = pipelines.get(pipeline_id)
        if pipe is None:
            bad(f"amocrm.pipelines: no pipeline {pipeline_id} (see `sheetledger discover`)")
            continue
        statuses = {int(s["id"]) for s in (pipe.get("_embedded") or {}).get("statuses", [])}
        for name, rule in (
            ("on_first_confirmation", amo.status_rules.on_first_confirmation),
            ("on_fully_paid", amo.status_rules.on_fully_paid),
            ("on_first_paid_order", amo.status_rules.on_first_paid_order),
        ):
            if rule is not None and rule.status_id not in statuses:
                bad(
                    f"amocrm.status_rules.{name}: status {rule.status_id} "
                    f"is not in pipeline «{pipe.get('name')}»"
                )
        summary = f"pipeline «{pipe.get('name')}» ({len(statuses)} statuses)"
        found.append(Finding(AMO, True, summary))

    fields = {int(f["id"]): f for f in crm.lead_fields()}
    expected: list[tuple[str, int | None, tuple[str, ...]]] = [
        ("fields.contract_no", amo.fields.contract_no, ("text", "numeric", "textarea")),
        ("fields.contract_date", amo.fields.contract_date, ("date", "date_time")),
        ("fields.confirmed_total", amo.fields.confirmed_total, ("numeric", "monetary")),
        ("fields.costs_paid", amo.fields.costs_paid, ("numeric", "monetary")),
    ]
    for index, slot in enumerate(amo.payment_slots):
        expected += [
            (f"payment_slots.{index}.amount", slot.amount, ("numeric", "monetary")),
            (f"payment_slots.{index}.method", slot.method, ("select", "radiobutton")),
            (f"payment_slots.{index}.date", slot.date, ("date", "date_time")),
        ]
    for name in ("product", "salon", "city"):
        expected.append((f"fields.{name}", getattr(amo.fields, name), ()))
    expected = [item for item in expected if item[1] is not None]
    problems_before = len(found)
    for path, field_id, types in expected:
        field = fields.get(field_id or 0)
        if field is None:
            bad(f"amocrm.{path}: no deal field {field_id} (see `sheetledger discover`)")
        elif types and field.get("type") not in types:
            bad(
                f"amocrm.{path}: field {field_id} «{field.get('name')}» is {field.get('type')}, "
                f"expected {' or '.join(types)}"
            )
    mapped = {k.casefold() for k in amo.methods}
    for method_field_id in dict.fromkeys(slot.method for slot in amo.payment_slots):
        field = fields.get(method_field_id)
        if field is None:
            continue
        options = {str(e.get("value")) for e in field.get("enums") or ()}
        unmapped = sorted(o for o in options if o.casefold() not in mapped)
        if unmapped:
            bad(
                f"amocrm.methods: option(s) {', '.join(unmapped)} of «{field.get('name')}» "
                "are not mapped to a method"
            )
    if len(found) == problems_before:
        summary = f"{len(expected)} deal fields present with the right types"
        found.append(Finding(AMO, True, summary))
    return found


# --------------------------------------------------------------------------- Google


def _no_wait(_seconds: float) -> None:
    """A check does not back off between the Sheets client's attempts."""


def _sheet_findings(label: str, ledger: LedgerSheets) -> list[Finding]:
    """The managed tabs of one spreadsheet: present, with the right headers."""
    titles = ledger.sheet_ids()
    missing = [title for title, _schema in ledger.tabs.values() if title not in titles]
    present = [key for key, (title, _schema) in ledger.tabs.items() if title in titles]
    found: list[Finding] = []
    if missing:
        names = ", ".join(f"'{title}'" for title in missing)
        found.append(Finding(GOOGLE, False, f"{label}: no tab {names} — run `sheetledger init`"))
    if present:
        ledger.read(present)
        for key, problem in ledger.header_problems().items():
            found.append(Finding(GOOGLE, False, f"{label}, tab '{ledger.tabs[key][0]}': {problem}"))
    if not found:
        found.append(Finding(GOOGLE, True, f"{label}: {len(ledger.tabs)} tabs, headers right"))
    return found


def _google_problem(exc: Exception, email: str) -> tuple[str, bool]:
    """What went wrong, in words, and whether it is the whole service (stop asking)."""
    # The access-token request fails before any Sheets call: nothing else will work either.
    if isinstance(exc, NoAccessToken):
        return f"{'unavailable' if exc.reachable else 'not reachable'}: {exc.detail}", True
    if isinstance(exc, KeyRefused):
        return exc.detail, True
    code = getattr(exc.__cause__, "code", None)
    if code == 403:
        return f"not shared with the service account: share it with {email} as an editor", False
    if code == 404:
        return "not found: check its spreadsheet_id", False
    if isinstance(exc, RetriableError):
        return f"unavailable: {exc.detail} — try again later", True
    if isinstance(exc, SheetledgerError):
        return str(exc), False
    return f"{type(exc).__name__}: {exc}", False


def check_google(config: Config) -> list[Finding]:
    info = service_account_info(config)
    email = str(info.get("client_email"))
    timeout = min(config.google.timeout_seconds, PROBE_TIMEOUT)
    google = config.google.model_copy(update={"timeout_seconds": timeout})
    probe = config.model_copy(update={"google": google})
    client = build_google(probe)
    targets = [("master spreadsheet", master_ledger(probe, client))]
    cabinets = cabinet_ledgers(probe, client)
    made = {c.name for c in config.google.cabinets if c.spreadsheet_id is None}
    targets += [
        (f"cabinet '{name}'" + (" (created by init)" if name in made else ""), sheets)
        for name, sheets in cabinets.items()
    ]
    found: list[Finding] = []
    for label, ledger in targets:
        ledger.sleep = _no_wait
        try:
            found += _sheet_findings(label, ledger)
        except Exception as exc:  # one spreadsheet's problem does not hide the others'
            problem, whole_service = _google_problem(exc, email)
            found.append(Finding(GOOGLE, False, f"{label} ({ledger.spreadsheet_id}): {problem}"))
            if whole_service:
                break
    found += [
        Finding(GOOGLE, False, f"cabinet '{c.name}': not created yet — run `sheetledger init`")
        for c in uncreated_cabinets(config)
    ]
    return found


def check_drive(config: Config) -> list[Finding]:
    """Where the bills of payment orders go: which set-up, and whether an upload would work."""
    folder_id = config.orders.drive_folder_id
    if not folder_id:
        return []  # bills are not kept in Drive: nothing to look at
    timeout = min(config.google.timeout_seconds, PROBE_TIMEOUT)
    google = config.google.model_copy(update={"timeout_seconds": timeout})
    probe = config.model_copy(update={"google": google})
    drive = build_drive(probe, build_google(probe), retry=RetryPolicy(attempts=1))  # a probe
    folder = drive.folder(folder_id)
    if not folder.is_folder:
        return [Finding(DRIVE, False, f"orders.drive_folder_id ({folder_id}) is not a folder")]
    if config.google.oauth_user is not None:
        return [Finding(DRIVE, True, f"bills into '{folder.name}' as a person (user credentials)")]
    if folder.shared_drive:
        return [Finding(DRIVE, True, f"bills into '{folder.name}' in a shared drive")]
    return [
        Finding(
            DRIVE,
            False,
            f"'{folder.name}' is a My Drive folder: the service account's uploads would be "
            f"refused (storageQuotaExceeded) — {NO_QUOTA_HINT}",
        )
    ]


# --------------------------------------------------------------------------- Telegram


def check_telegram(config: Config) -> list[Finding]:
    me = get_me(config.telegram)
    return [Finding(TELEGRAM, True, f"bot @{me['username']} (id {me['id']})")]


# --------------------------------------------------------------------------- SMS


def check_sms(config: Config) -> list[Finding]:
    """The SMS gateway's key, by its balance call: nothing is sent, nothing is paid."""
    sms = config.orders.sms
    gateway = build_sms(config, retry=RetryPolicy(attempts=1))
    if sms is None or gateway is None:
        return []
    balance = gateway.balance()
    where = f" ({sms.base_url})" if sms.base_url else ""
    detail = f"{sms.provider}{where}: key accepted, balance {rub(balance, kopeks=True)}"
    return [Finding(SMS, True, detail)]


def run_check(config_path: Path, console: Console) -> int:
    config = load_config(config_path)
    register_config_secrets(config)
    findings = [Finding("config", True, f"{config_path} is valid")]
    findings += _guard(AMO, lambda: check_amocrm(config))
    google = _guard(GOOGLE, lambda: check_google(config))
    findings += google
    if any(f.ok for f in google):  # Google down or its key refused is said once, not again
        findings += _guard(DRIVE, lambda: check_drive(config))
    findings += _guard(TELEGRAM, lambda: check_telegram(config))
    findings += _guard(SMS, lambda: check_sms(config))
    table = Table(title="sheetledger check", show_lines=False)
    table.add_column("", width=2)
    table.add_column("service")
    table.add_column("finding", overflow="fold")
    for finding in findings:
        # Text, not markup: a detail quotes servers and people ("[...]" must print as is).
        mark, style = ("✔", "") if finding.ok else ("✘", "red")
        table.add_row(mark, finding.area, Text(finding.detail), style=style or None)
    console.print(table)
    failed = sum(not f.ok for f in findings)
    console.print(f"{failed} problem(s)" if failed else "all good")
    return 1 if failed else 0
