"""``sheetledger demo``: a working day of a furniture business, played on the sandbox.

Everything runs on this machine and needs no account anywhere: the three emulators
(amoCRM, Google Sheets, Telegram) on loopback, seeded with two months of deals
(``sandbox/demo_seed.py``), and the **real daemon** (``Daemon``: its sync job and its
Telegram bot, in this process) doing the work. The demo only plays the people — managers
in amoCRM, the owner, the cashier and the accountant in their spreadsheets and in
Telegram — and asks the daemon for a sync when the story needs one (``run_sync_now``, as
the minute timer would). Every step is checked against the emulators' own state; the exit
code is 1 when any check fails.

The story:

1. the sandbox starts with the demo business (``--seed demo``);
2. ``init`` prepares the master spreadsheet and the cabinets;
3. go-live: the daemon starts and imports every deal; the owner ticks the payments her old
   records say were received, and the daemon writes them into amoCRM once;
4. morning: five new deals arrive through amoCRM's API and the daemon pulls them;
5. evening: the cashier accepts a manager's cash handover in the cashbox cabinet;
6. the accountant ticks bank and card payments in her cabinet (one arrived short);
7. the owner types three expenses to the bot;
8. the daemon pushes everything back: notes, confirmed totals, statuses — once;
9. a payment order: the supply manager asks in his Requests tab for a bill of a new deal to
   be paid, the accountant is told (Telegram and SMS) and pays it in her Orders tab, the
   deal's note and «costs paid» appear in amoCRM, and the supply manager is told;
10. evening: reconciliation, the digest and the owner's figures;
11. the daemon stops and the sandbox state is saved, to be looked around in.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from sheetledger.commands import report as report_command
from sheetledger.config import Config, Every, Schedule
from sheetledger.connect import (
    CABINET_TITLES,
    build_google,
    cabinet_ledgers,
    master_ledger,
    master_tabs,
)
from sheetledger.crm.amocrm import AmoClient
from sheetledger.daemon import Daemon, DaemonThread
from sheetledger.errors import SheetledgerError
from sheetledger.ledger.cells import SHEETS_EPOCH
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.sheets import column_letter
from sheetledger.logs import RedactingFilter
from sheetledger.money import rub as format_rub
from sheetledger.reconcile.command import digest as digest_command
from sheetledger.reconcile.command import reconcile as reconcile_command
from sheetledger.reconcile.digest import CHART_FILE
from sheetledger.reports.pivots import ensure_pivots
from sheetledger.sandbox.amocrm import STATUS_LOST, STATUS_WON
from sheetledger.sandbox.bank_statement import (
    ACQUIRER,
    DEMO_ACCOUNT,
    LENDER,
    Movement,
    statement_file,
)
from sheetledger.sandbox.demo_seed import DEMO_DEALS, DEMO_TIMEZONE
from sheetledger.sandbox.runner import ACCOUNTANT_ID, CASHIER_ID, OWNER_ID, SUPPLY_ID, Sandbox
from sheetledger.sandbox.seed import AMO_CITIES, AMO_PAYMENT_METHODS, AMO_SALONS
from sheetledger.sync.cycle import CycleReport

__all__ = ["Check", "DemoResult", "run_demo"]

log = logging.getLogger(__name__)

CASH, CARD, TERMINAL, BANK, CREDIT = AMO_PAYMENT_METHODS
OPENING_BY = "Ольга — старый учёт"
CYCLE_TIMEOUT = 60.0  # seconds one sync may take before the demo calls it a failure
BOT_TIMEOUT = 20.0
# What the demo may wipe: a folder holding only what an earlier demo (or sandbox) left.
OWN_ENTRIES = frozenset(
    {
        "sandbox.json",
        "config.yaml",
        "secrets",
        "state",
        "state-daemon",
        "demo.log",
        "kl_to_1c.txt",  # the day's statement (STATEMENT_FILE)
        "marketing-vs-turnover.png",  # the owner's chart (CHART_PNG)
    }
)
STATEMENT_FILE = "kl_to_1c.txt"  # the name Sberbank's business client exports under
CHART_PNG = "marketing-vs-turnover.png"


@dataclass(frozen=True)
class NewDeal:
    """A deal a manager enters in amoCRM this morning."""

    name: str
    manager: int
    product: str
    salon: int
    price: int
    payments: tuple[tuple[int, str, int], ...]  # (amount, method, due in days from today)


MORNING_DEALS = (
    NewDeal(
        "Кухонный гарнитур — Лаптева Д.",
        0,
        "Кухонный гарнитур",
        0,
        286_000,
        ((100_000, CASH, 0), (186_000, BANK, 21)),
    ),
    NewDeal("Шкаф-купе — Гусев Т.", 1, "Шкаф-купе", 1, 94_500, ((40_000, CARD, 0),)),
    NewDeal("Диван угловой — Киселева Ж.", 2, "Диван угловой", 2, 128_000, ((128_000, CREDIT, 0),)),
    NewDeal(
        "Обеденная группа — Сорокин Е.",
        0,
        "Обеденная группа",
        0,
        56_000,
        ((25_000, CASH, 0), (31_000, CASH, 14)),
    ),
    NewDeal(
        "Спальный гарнитур — ООО «Северный ветер»",
        1,
        "Спальный гарнитур",
        1,
        214_000,
        ((90_000, TERMINAL, 0), (124_000, BANK, 18)),
    ),
)
BANK_FEE = Decimal("1500")  # the short-paid transfer: the customer's bank kept a fee
STRANGER_DAYS = 4  # the unknown payer's money came this many days ago (over reconcile's 3)


@dataclass(frozen=True)
class Check:
    step: str
    what: str
    ok: bool
    detail: str = ""


@dataclass
class DemoResult:
    """What the demo did and found: every check, and the facts a test may want."""

    folder: Path
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or not self.checks else 0


# --------------------------------------------------------------------------- small helpers


def rub(value: Decimal | float | int | None) -> str:
    """An amount as the sheet gives it (a number, or nothing), in roubles."""
    return format_rub(None if value is None or value == "" else Decimal(str(value)))


def sheet_day(value: Any) -> date | None:
    """A date cell as the API returns it unformatted (a serial number), as a ``date``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return SHEETS_EPOCH + timedelta(days=int(value))
    return None


def money_of(value: Any) -> Decimal:
    if value in (None, "") or isinstance(value, bool):
        return Decimal("0")
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass
class SheetTab:
    """A tab as a person sees it: rows as dicts by header, and where each row is."""

    spreadsheet_id: str
    title: str
    header: list[str]
    rows: list[dict[str, Any]]
    numbers: dict[str, int]  # row id (first column) -> 1-based row number

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {
            str(r[self.header[0]]): r for r in self.rows if r.get(self.header[0]) not in (None, "")
        }

    def a1(self, row_id: str, header: str) -> str:
        return f"'{self.title}'!{column_letter(self.header.index(header))}{self.numbers[row_id]}"


def read_tab(box: Sandbox, spreadsheet_id: str, title: str) -> SheetTab:
    values = box.sheets.values(spreadsheet_id, title)
    header = [str(h) for h in values[0]] if values else []
    rows, numbers = [], {}
    for number, raw in enumerate(values[1:], start=2):
        if not raw or raw[0] in (None, ""):
            continue
        row = dict(zip(header, list(raw) + [""] * (len(header) - len(raw)), strict=False))
        rows.append(row)
        numbers[str(raw[0])] = number
    return SheetTab(spreadsheet_id, title, header, rows, numbers)


@contextlib.contextmanager
def _logs_into(path: Path) -> Iterator[None]:
    """The daemon's log lines go to ``path`` while the demo prints; warnings too."""
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    quiet = [(h, h.level) for h in root.handlers if getattr(h, "_sheetledger", False)]
    for other, _ in quiet:
        other.setLevel(logging.CRITICAL + 1)
    level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
        for other, old in quiet:
            other.setLevel(old)


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` empty for a fresh run, refusing to wipe anything the demo did not make."""
    if folder.exists():
        strangers = sorted(p.name for p in folder.iterdir() if p.name not in OWN_ENTRIES)
        if strangers:
            raise SheetledgerError(
                f"{folder} holds files the demo did not make ({', '.join(strangers[:5])}); "
                "choose another --state-dir or empty it"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


# --------------------------------------------------------------------------- the demo


class StopDemo(Exception):
    """A step could not go on (its failed check says why)."""


class Demo:
    def __init__(self, folder: Path, console: Console) -> None:
        self.folder = folder
        self.console = console
        self.result = DemoResult(folder)
        self.step_name = ""
        self.box: Sandbox | None = None
        self.config: Config | None = None
        self.serving: DaemonThread | None = None
        self.started = time.monotonic()
        self.cycles_seen = 0
        self.new_deals: list[int] = []  # the morning's deals, in MORNING_DEALS order
        self.new_contracts: dict[int, str] = {}  # their contract numbers
        self.ticked: dict[str, Decimal] = {}  # the accountant's ticks: payment id -> received
        self.short_id = ""  # the transfer that arrived short
        self.notes_before_day = 0  # note ids above this appeared after go-live

    # -- output and checks --------------------------------------------------------------

    def step(self, number: int, title: str) -> None:
        self.step_name = f"{number}. {title}"
        elapsed = time.monotonic() - self.started
        self.console.print()
        self.console.rule(f"[bold cyan]{number}. {title}[/]  [dim]{elapsed:4.1f}s[/]", align="left")

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        self.result.checks.append(Check(self.step_name, what, bool(ok), detail))
        mark = Text("  ✔ ", style="green") if ok else Text("  ✘ ", style="bold red")
        line = mark + Text(what)
        if detail and not ok:
            line += Text(f" — {detail}", style="red")
        elif detail:
            line += Text(f" ({detail})", style="dim")
        self.console.print(line)
        return bool(ok)

    def require(self, what: str, ok: bool, detail: str = "") -> None:
        if not self.check(what, ok, detail):
            raise StopDemo(what)

    def say(self, text: str) -> None:
        self.console.print(Text(text))

    # -- the world ------------------------------------------------------------------------

    @property
    def sandbox(self) -> Sandbox:
        assert self.box is not None
        return self.box

    @property
    def cfg(self) -> Config:
        assert self.config is not None
        return self.config

    @property
    def daemon(self) -> Daemon:
        assert self.serving is not None
        return self.serving.daemon

    @property
    def amo(self) -> dict[str, Any]:
        return dict(self.sandbox.info["amocrm"])

    def tab(self, key: str) -> SheetTab:
        title = master_tabs(self.cfg)[key][0]
        return read_tab(self.sandbox, self.cfg.google.spreadsheet_id, title)

    def cabinet_tab(self, cabinet: str, key: str) -> SheetTab:
        spreadsheet_id = self.sandbox.info["google"]["cabinets"][cabinet]
        return read_tab(self.sandbox, spreadsheet_id, CABINET_TITLES[key])

    def type(self, sheet: SheetTab, row_id: str, header: str, value: str) -> None:
        self.sandbox.sheets.type_cell(sheet.spreadsheet_id, sheet.a1(row_id, header), value)

    def leads(self) -> dict[int, dict[str, Any]]:
        return {int(lead["id"]): lead for lead in self.sandbox.amo.leads()}

    def notes(self) -> list[dict[str, Any]]:
        return sorted(self.sandbox.amo.state()["notes"], key=lambda n: n["id"])

    def field_value(self, lead: Mapping[str, Any], field_id: int) -> Any:
        for entry in lead.get("custom_fields_values") or ():
            if entry["field_id"] == field_id:
                return entry["values"][0].get("value")
        return None

    def status_name(self, status_id: int) -> str:
        names = {v: k for k, v in self.amo["statuses"].items()}
        return str(names.get(status_id, status_id))

    def today(self) -> date:
        return datetime.now(self.cfg.tz).date()

    def sync(self, what: str) -> CycleReport:
        """Ask the daemon for one cycle and wait for it (a spinner meanwhile); its report."""
        target = self.cycles_seen + 1
        self.daemon.run_sync_now()
        return self.wait_cycle(target, what)

    def wait_cycle(self, target: int, what: str) -> CycleReport:
        started = time.monotonic()
        with self.console.status(f"[cyan]the daemon is syncing: {what}…"):
            done = self.daemon.wait_for_cycles(target, timeout=CYCLE_TIMEOUT)
        self.cycles_seen = max(self.cycles_seen, self.daemon.cycles)
        report = self.daemon.last_report
        if not done:
            self.require(f"the daemon finished a sync cycle ({what})", False, "not in time")
        if report is None:
            self.require(f"the daemon finished a sync cycle ({what})", False, "see demo.log")
        assert report is not None
        self.check(f"the daemon finished a sync cycle ({what})", True)
        took = time.monotonic() - started
        self.console.print(Text(f"  sync: {report.summary()} — {took:.1f}s", style="dim"))
        for problem in report.problems:
            self.console.print(Text(f"  ! {problem}", style="yellow"))
        return report

    # -- the story ------------------------------------------------------------------------

    def run(self) -> DemoResult:
        try:
            self.start_sandbox()
            self.init_spreadsheets()
            self.go_live()
            self.morning_deals()
            self.cash_handover()
            self.accountant_ticks()
            self.owner_expenses()
            self.push_back()
            self.payment_order()
            self.evening()
            self.finish()
        except StopDemo:
            self.console.print(Text("The demo cannot go on after this failure.", style="bold red"))
        except Exception as exc:  # a bug or an outage: a failed check, and a clean stop
            log.exception("the demo failed")
            self.check("the step ran without an error", False, f"{type(exc).__name__}: {exc}")
        finally:
            self.shut_down()
        self.result.seconds = time.monotonic() - self.started
        self.print_verdict()
        return self.result

    # 1 ------------------------------------------------------------------------------------

    def start_sandbox(self) -> None:
        self.step(1, "A furniture business on the sandbox (amoCRM, Google Sheets, Telegram)")
        self.box = Sandbox.start(self.folder, seed="demo", fresh=True)
        base = self.sandbox.load_config()
        # The demo triggers each sync itself, when the story needs one (as the minute
        # timer would); the timers are set far apart so none fires on its own meanwhile.
        hourly = Every(every_seconds=3600)
        # The management table is recomputed after every sync (not at most every five
        # minutes), so the owner's figures follow the story.
        self.config = base.model_copy(
            update={
                "schedule": Schedule(sync=hourly, outbox_flush=hourly),
                "reports": base.reports.model_copy(update={"every_seconds": 0}),
            }
        )
        services = Table(
            title="Emulators on loopback (real clients, real HTTP)", title_justify="left"
        )
        for column in ("service", "base URL", "stands for"):
            services.add_column(column)
        roles = {
            "amocrm": "amoCRM API v4",
            "google": "Google Sheets v4 + Drive + OAuth",
            "telegram": "Telegram Bot API",
        }
        for name, url in self.sandbox.urls.items():
            services.add_row(name, url, roles.get(name, ""))
        self.console.print(services)

        leads = list(self.leads().values())
        amo = self.amo
        fields = amo["fields"]
        users = {v: k for k, v in amo["users"].items()}
        per_manager: dict[str, Counter[str]] = defaultdict(Counter)
        methods: Counter[str] = Counter()
        sums: dict[str, Decimal] = defaultdict(Decimal)
        kinds: Counter[str] = Counter()
        one_slot_contracts = 0
        for lead in leads:
            manager = users.get(lead["responsible_user_id"], "?")
            per_manager[manager]["deals"] += 1
            per_manager[manager][str(self.field_value(lead, fields["salon"]))] += 1
            filled = 0
            for slot in amo["slots"]:
                method = self.field_value(lead, slot["method"])
                if method:
                    filled += 1
                    methods[method] += 1
                    sums[method] += money_of(self.field_value(lead, slot["amount"]))
                    kinds[slot["name"]] += 1
                    per_manager[manager]["payments"] += 1
            if self.field_value(lead, fields["contract_no"]) and filled == 1:
                one_slot_contracts += 1
        statuses = Counter(self.status_name(lead["status_id"]) for lead in leads)
        created = [datetime.fromtimestamp(lead["created_at"], self.cfg.tz).date() for lead in leads]

        people = Table(title="Managers", title_justify="left")
        for column in ("manager", "salon", "city", "deals", "payments"):
            people.add_column(
                column, justify="right" if column in ("deals", "payments") else "left"
            )
        for manager, counts in sorted(per_manager.items()):
            salon = next((s for s in AMO_SALONS if counts[s]), "—")
            city = AMO_CITIES[1] if salon == AMO_SALONS[2] else AMO_CITIES[0]
            people.add_row(manager, salon, city, str(counts["deals"]), str(counts["payments"]))
        money = Table(title="Payments expected, by method", title_justify="left")
        for column in ("method", "payments", "sum"):
            money.add_column(column, justify="left" if column == "method" else "right")
        for method in AMO_PAYMENT_METHODS:
            money.add_row(method, str(methods[method]), rub(sums[method]))
        stages = Table(title="Deals by status", title_justify="left")
        stages.add_column("status")
        stages.add_column("deals", justify="right")
        for name, count in statuses.most_common():
            stages.add_row(name, str(count))
        self.console.print(people)
        self.console.print(money)
        self.console.print(stages)
        opening = self.sandbox.info["demo"]["received_before_go_live"]
        self.say(
            f"{len(leads)} deals created {min(created):%d.%m} – {max(created):%d.%m.%Y}; "
            f"{len(opening)} payments were received before today (the owner's old records)."
        )

        salons = {self.field_value(lead, fields["salon"]) for lead in leads}
        cities = {self.field_value(lead, fields["city"]) for lead in leads}
        self.check(
            f"about 200 deals over two months ({len(leads)})",
            len(leads) == DEMO_DEALS and (max(created) - min(created)).days >= 50,
        )
        self.check(
            "3 managers, 3 salons, 2 cities",
            len(per_manager) == 3 and len(salons) == 3 and len(cities) == 2,
        )
        self.check(
            "every payment method is used",
            all(methods[m] for m in AMO_PAYMENT_METHODS),
            ", ".join(f"{m}: {methods[m]}" for m in AMO_PAYMENT_METHODS),
        )
        self.check(
            "prepayments and remainders, some remainders not filled yet",
            kinds["Предоплата"] > 0 and kinds["Остаток"] > 0 and one_slot_contracts > 0,
            f"{kinds['Предоплата']} prepayments, {kinds['Остаток']} remainders, "
            f"{one_slot_contracts} contracts with one payment so far",
        )
        self.check(
            "some deals won, a few lost, some still open",
            statuses["Успешно реализовано"] > 0
            and 0 < statuses["Закрыто и не реализовано"] < 20
            and statuses["Договор заключен"] > 0,
        )

    # 2 ------------------------------------------------------------------------------------

    def init_spreadsheets(self) -> None:
        self.step(2, "sheetledger init: the master spreadsheet and the cabinets")
        client = build_google(self.cfg)
        targets = [("master (the ledger)", master_ledger(self.cfg, client))]
        targets += [
            (f"cabinet «{c.title or c.name}»", sheets)
            for c, sheets in zip(
                self.cfg.google.cabinets, cabinet_ledgers(self.cfg, client).values(), strict=True
            )
        ]
        table = Table(
            title="Tabs prepared (headers, formats, checkboxes, protection)", title_justify="left"
        )
        table.add_column("spreadsheet")
        table.add_column("tabs created")
        problems: list[str] = []
        for index, (label, sheets) in enumerate(targets):
            report = prepare(sheets)
            if index == 0:  # as ``init`` does: the pivots and the chart of the master
                report.created.extend(ensure_pivots(sheets, self.cfg.google.tabs.pivots).added)
            table.add_row(label, ", ".join(report.created) or "—")
            problems.extend(f"{label}: {p}" for p in report.problems)
        self.console.print(table)
        self.require(
            "every spreadsheet prepared without a problem", not problems, "; ".join(problems)
        )
        again = [prepare(sheets).changed for _, sheets in targets]
        again.append(bool(ensure_pivots(targets[0][1], self.cfg.google.tabs.pivots).added))
        self.check("init run again changes nothing (safe to repeat)", not any(again))

    # 3 ------------------------------------------------------------------------------------

    def go_live(self) -> None:
        self.step(3, "Go-live: the daemon starts and imports two months of deals")
        daemon = Daemon(self.cfg)
        self.serving = DaemonThread(daemon)
        self.serving.start()
        self.require(
            "the daemon started (sync job + Telegram bot)",
            self.serving.error is None and self.serving.thread.is_alive(),
            "" if self.serving.error is None else repr(self.serving.error),
        )
        self.say("The daemon runs its first sync as it starts.")
        report = self.wait_cycle(1, "first import")
        leads = self.leads()
        slots = sum(
            1
            for lead in leads.values()
            for s in self.amo["slots"]
            if self.field_value(lead, s["method"])
        )
        deals_tab, payments_tab = self.tab("deals"), self.tab("payments")
        imported = Table(title="Imported", title_justify="left")
        imported.add_column("what")
        imported.add_column("rows", justify="right")
        imported.add_row("amoCRM leads read", str(report.leads_read))
        imported.add_row("Deals rows", str(len(deals_tab.rows)))
        imported.add_row("Payments rows", str(len(payments_tab.rows)))
        cash_rows = len(self.cabinet_tab("cashbox", "cabinet_payments").rows)
        bank_rows = len(self.cabinet_tab("accountant", "cabinet_payments").rows)
        imported.add_row("cashbox cabinet rows (cash)", str(cash_rows))
        imported.add_row("accountant cabinet rows (card, terminal, bank, credit)", str(bank_rows))
        self.console.print(imported)
        self.check(
            "every amoCRM deal is a Deals row",
            set(deals_tab.by_id()) == {str(i) for i in leads},
            f"{len(deals_tab.rows)} rows, {len(leads)} deals",
        )
        self.check(
            "every filled payment slot is a Payments row",
            len(payments_tab.rows) == slots,
            f"{len(payments_tab.rows)} rows, {slots} slots",
        )
        self.check("the cycle reported no problem", report.ok, "; ".join(report.problems[:3]))

        opening = self.sandbox.info["demo"]["received_before_go_live"]
        self.say(
            f"The owner copies her old records into the ledger: she ticks the {len(opening)} "
            "payments received before today, with the day each arrived."
        )
        statuses_before = {i: lead["status_id"] for i, lead in leads.items()}
        payments_tab = self.tab("payments")
        progress = Progress(
            TextColumn("  [cyan]ticking[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.console,
            transient=True,
        )
        with progress:
            for item in progress.track(opening, description="ticking"):
                row_id = f"{item['deal_id']}:{item['slot']}"
                self.type(payments_tab, row_id, "Confirmed", "TRUE")
                self.type(payments_tab, row_id, "Confirmed by", OPENING_BY)
                self.type(payments_tab, row_id, "Confirmed at", item["received_on"])
        report = self.sync("confirmations from the old records")
        pushed_ids = {e.payment_id for e in report.pushed}
        wanted_ids = {f"{i['deal_id']}:{i['slot']}" for i in opening}
        self.check(
            f"all {len(wanted_ids)} old confirmations pushed to amoCRM",
            pushed_ids == wanted_ids,
            f"{len(pushed_ids)} pushed",
        )
        notes = self.notes()
        markers = Counter(m for n in notes for m in _markers(n))
        self.check(
            "one note per payment in the deals' history",
            len(notes) == len(wanted_ids)
            and all(markers[f"sheetledger:{pid}#1"] == 1 for pid in wanted_ids),
            f"{len(notes)} notes",
        )
        leads = self.leads()
        moved = [i for i, lead in leads.items() if lead["status_id"] != statuses_before[i]]
        self.check(
            "no deal status moved: amoCRM already knew these payments",
            not moved,
            f"{len(moved)} moved",
        )
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for item in opening:
            totals[item["deal_id"]] += Decimal(item["amount"])
        field_id = self.amo["fields"]["confirmed_total"]
        wrong = [
            i
            for i, total in totals.items()
            if money_of(self.field_value(leads[i], field_id)) != total
        ]
        self.check(
            "each deal's confirmed total in amoCRM is the sum of its received payments",
            not wrong,
            f"{len(totals)} deals" if not wrong else f"wrong on {wrong[:5]}",
        )
        self.notes_before_day = max((n["id"] for n in notes), default=0)

        expected = self.expected_cash(leads, opening)
        shown = self.cash_on_hand()
        self.console.print(cash_table("Cash on hand (the ledger's tab)", self.tab("cash").rows))
        self.check(
            "Cash on hand = the cash payments not handed in yet, per manager",
            shown == expected,
            "" if shown == expected else f"expected {_cash_text(expected)}",
        )
        self.result.facts["deals_imported"] = len(deals_tab.rows)
        self.result.facts["opening_confirmations"] = len(pushed_ids)

    def expected_cash(
        self, leads: Mapping[int, Mapping[str, Any]], opening: list[dict[str, Any]]
    ) -> dict[str, Decimal]:
        """Cash on the managers by amoCRM and the old records, worked out apart from the daemon.

        A cash payment is on its manager from its date (a remainder due next week is not)
        until it reaches the cashbox; a lost deal's payments are on nobody.
        """
        users = {v: k for k, v in self.amo["users"].items()}
        received = {(i["deal_id"], i["slot"]) for i in opening}
        today = self.today()
        held: dict[str, Decimal] = defaultdict(Decimal)
        for lead_id, lead in leads.items():
            if lead["status_id"] == STATUS_LOST:
                continue
            for number, slot in enumerate(self.amo["slots"], start=1):
                if self.field_value(lead, slot["method"]) != CASH or (lead_id, number) in received:
                    continue
                due = self.field_value(lead, slot["date"])
                if due is not None and datetime.fromtimestamp(int(due), self.cfg.tz).date() > today:
                    continue
                held[users[lead["responsible_user_id"]]] += money_of(
                    self.field_value(lead, slot["amount"])
                )
        return {k: v for k, v in held.items() if v}

    def cash_on_hand(self) -> dict[str, Decimal]:
        return {str(r["Manager"]): money_of(r["Cash held"]) for r in self.tab("cash").rows}

    # 4 ------------------------------------------------------------------------------------

    def morning_deals(self) -> None:
        self.step(4, "Morning: five new deals are signed in amoCRM")
        amo = self.amo
        today = self.today()
        contract_numbers = [
            int(r["Contract no"])
            for r in self.tab("deals").rows
            if str(r.get("Contract no") or "").isdigit()
        ]
        next_no = max(contract_numbers, default=1000) + 1
        cash_before = self.cash_on_hand()
        payloads = []
        for n, deal in enumerate(MORNING_DEALS):
            contract_no = str(next_no + n)
            values: list[dict[str, Any]] = [
                {"field_id": amo["fields"]["contract_no"], "values": [{"value": contract_no}]},
                {"field_id": amo["fields"]["contract_date"], "values": [{"value": _stamp(today)}]},
                {"field_id": amo["fields"]["product"], "values": [{"value": deal.product}]},
                {"field_id": amo["fields"]["salon"], "values": [{"value": AMO_SALONS[deal.salon]}]},
                {
                    "field_id": amo["fields"]["city"],
                    "values": [{"value": AMO_CITIES[1] if deal.salon == 2 else AMO_CITIES[0]}],
                },
            ]
            for slot, (amount, method, days) in zip(amo["slots"], deal.payments, strict=False):
                values += [
                    {"field_id": slot["amount"], "values": [{"value": str(amount)}]},
                    {"field_id": slot["method"], "values": [{"value": method}]},
                    {
                        "field_id": slot["date"],
                        "values": [{"value": _stamp(today + timedelta(days=days))}],
                    },
                ]
            payloads.append(
                {
                    "name": deal.name,
                    "price": deal.price,
                    "pipeline_id": amo["pipeline_id"],
                    "status_id": amo["statuses"]["Договор заключен"],
                    "responsible_user_id": amo["managers"][deal.manager],
                    "custom_fields_values": values,
                }
            )
        # The managers save the deal cards: POST /api/v4/leads, through the real client.
        managers_ui = AmoClient(self.cfg.amocrm.base_url, self.cfg.amocrm.token.reveal())
        created = managers_ui.create_leads(payloads)
        self.new_deals = [int(c["id"]) for c in created]
        for deal_id, n in zip(self.new_deals, range(len(MORNING_DEALS)), strict=True):
            self.new_contracts[deal_id] = str(next_no + n)
        self.check("amoCRM accepted the five deals (POST /api/v4/leads)", len(self.new_deals) == 5)
        report = self.sync("pull the new deals")

        payments = self.tab("payments").by_id()
        deals = self.tab("deals").by_id()
        table = Table(title="New in the ledger", title_justify="left")
        for column in (
            "deal",
            "contract",
            "manager",
            "budget",
            "payment",
            "method",
            "amount",
            "due",
        ):
            table.add_column(column, justify="right" if column in ("budget", "amount") else "left")
        slots_expected = sum(len(d.payments) for d in MORNING_DEALS)
        found = 0
        for deal_id, deal in zip(self.new_deals, MORNING_DEALS, strict=True):
            row = deals.get(str(deal_id), {})
            for number in range(1, len(deal.payments) + 1):
                pay = payments.get(f"{deal_id}:{number}")
                if pay is None:
                    continue
                found += 1
                due = sheet_day(pay.get("Date"))
                table.add_row(
                    str(row.get("Deal", "")) if number == 1 else "",
                    str(row.get("Contract no", "")) if number == 1 else "",
                    str(row.get("Manager", "")) if number == 1 else "",
                    rub(row.get("Budget")) if number == 1 else "",
                    str(pay.get("Kind")),
                    str(pay.get("Method")),
                    rub(pay.get("Amount")),
                    f"{due:%d.%m}" if due else "—",
                )
        self.console.print(table)
        self.check(
            "the five deals and their payments are in the ledger",
            all(str(i) in deals for i in self.new_deals) and found == slots_expected,
            f"{found} of {slots_expected} payments",
        )
        self.check(
            "the cycle added exactly those rows",
            report.new_rows == 5 + slots_expected,
            f"{report.new_rows} new rows",
        )
        cash_ids = {
            f"{i}:{n}"
            for i, d in zip(self.new_deals, MORNING_DEALS, strict=True)
            for n, p in enumerate(d.payments, start=1)
            if p[1] == CASH
        }
        other_ids = {
            f"{i}:{n}"
            for i, d in zip(self.new_deals, MORNING_DEALS, strict=True)
            for n, p in enumerate(d.payments, start=1)
            if p[1] != CASH
        }
        cashbox = set(self.cabinet_tab("cashbox", "cabinet_payments").by_id())
        accountant = set(self.cabinet_tab("accountant", "cabinet_payments").by_id())
        self.check(
            "cash payments went to the cashier's cabinet, the rest to the accountant's",
            cash_ids <= cashbox
            and other_ids <= accountant
            and not (cash_ids & accountant)
            and not (other_ids & cashbox),
        )
        cash_after = self.cash_on_hand()
        users = {v: k for k, v in amo["users"].items()}
        added: dict[str, Decimal] = defaultdict(Decimal)
        for deal in MORNING_DEALS:
            for amount, method, days in deal.payments:
                if method == CASH and days == 0:  # the remainder due later is not on him yet
                    added[users[amo["managers"][deal.manager]]] += Decimal(amount)
        grew = {
            m: cash_after.get(m, Decimal(0)) - cash_before.get(m, Decimal(0)) for m in cash_after
        }
        self.check(
            "the managers' cash on hand grew by today's cash prepayments",
            {m: v for m, v in grew.items() if v} == dict(added),
            ", ".join(f"{m}: +{rub(v)}" for m, v in added.items()),
        )

    # 5 ------------------------------------------------------------------------------------

    def cash_handover(self) -> None:
        self.step(5, "Evening at the cashbox: a manager hands in the cash collected")
        before = self.cash_on_hand()
        form = self.cabinet_tab("cashbox", "handover")
        held_in_form = {str(r["Manager"]): money_of(r["Cash held"]) for r in form.rows}
        self.check(
            "the cashier's «Cash handover» form shows what each manager holds",
            {m: v for m, v in held_in_form.items() if v} == before,
        )
        manager = max(before, key=lambda m: (before[m], m))
        amount = (before[manager] * Decimal("0.7") // 1000) * 1000
        self.say(
            f"{manager} brings {rub(amount)} in cash. The cashier types it into «Amount received» "
            f"on that manager's line of the «Cash handover» tab and ticks «Accept»."
        )
        self.type(form, manager, "Amount received", str(amount))
        self.type(form, manager, "Accept", "TRUE")
        self.sync("apply the handover")
        after = self.cash_on_hand()
        table = Table(title="Cash on hand, before and after the handover", title_justify="left")
        for column in ("manager", "before", "after", "change"):
            table.add_column(column, justify="left" if column == "manager" else "right")
        for name in sorted(set(before) | set(after)):
            b, a = before.get(name, Decimal(0)), after.get(name, Decimal(0))
            change = f"−{rub(b - a)}" if b > a else ("0" if a == b else f"+{rub(a - b)}")
            style = "bold" if name == manager else ""
            table.add_row(name, rub(b), rub(a), change, style=style)
        self.console.print(table)
        drop = before[manager] - after.get(manager, Decimal(0))
        self.check(
            f"{manager}'s cash dropped by exactly the sum handed in",
            drop == amount,
            f"{rub(before[manager])} → {rub(after.get(manager))}",
        )
        others = {m: v for m, v in after.items() if m != manager}
        self.check(
            "the other managers' cash did not move",
            others == {m: v for m, v in before.items() if m != manager},
        )
        log_tab = self.cabinet_tab("cashbox", "handover_log")
        table = Table(title="Handover log (cashbox cabinet)", title_justify="left")
        for column in ("handover", "manager", "amount", "payments confirmed", "partial receipt"):
            table.add_column(
                column, overflow="fold", justify="right" if column == "amount" else "left"
            )
        for row in log_tab.rows:
            table.add_row(
                str(row["Handover"]),
                str(row["Manager"]),
                rub(row["Amount"]),
                str(row["Payments confirmed"]),
                str(row["Partial receipt"] or "—"),
            )
        self.console.print(table)
        self.check(
            "the handover is in the log, once",
            len(log_tab.rows) == 1 and money_of(log_tab.rows[0]["Amount"]) == amount,
        )
        line = {str(r["Manager"]): r for r in self.cabinet_tab("cashbox", "handover").rows}.get(
            manager, {}
        )
        self.say(f"«Last result» on the form: {line.get('Last result', '')}")
        self.check(
            "the form is reset for the next handover",
            line.get("Amount received") in ("", None)
            and line.get("Accept") is False
            and line.get("Handovers") == 1,
        )
        confirmed = [
            p.strip() for p in str(log_tab.rows[0]["Payments confirmed"]).split(",") if p.strip()
        ]
        payments = self.tab("payments").by_id()
        self.check(
            "the payments it covered are confirmed and pushed",
            bool(confirmed)
            and all(
                payments[p]["Confirmed"] is True
                and str(payments[p]["Sync state"]).startswith("pushed")
                for p in confirmed
            ),
            f"{len(confirmed)} payment(s)",
        )
        self.result.facts["handover"] = {
            "manager": manager,
            "amount": amount,
            "before": before[manager],
            "after": after.get(manager, Decimal(0)),
        }

    # 6 ------------------------------------------------------------------------------------

    def accountant_ticks(self) -> None:
        self.step(6, "The accountant sends the day's bank statement to the bot")
        cabinet = self.cabinet_tab("accountant", "cabinet_payments")
        today = self.today()
        open_rows = [
            r
            for r in cabinet.rows
            if r.get("Confirmed") is not True and (sheet_day(r.get("Date")) or today) <= today
        ]
        new_ids = {f"{i}:1" for i in self.new_deals}
        older_bank = sorted(
            (r for r in open_rows if r["Method"] == "bank" and str(r["Payment ID"]) not in new_ids),
            key=lambda r: (r.get("Date") or 0, str(r["Payment ID"])),
        )
        self.require("three older bank transfers are open", len(older_bank) >= 3)
        plan = demo_statement(
            today,
            terminal=money_of(self.payment_row(cabinet, self.new_deals[4])["Amount"]),
            credit=(
                money_of(self.payment_row(cabinet, self.new_deals[2])["Amount"]),
                MORNING_DEALS[2].name,
            ),
            transfers=[
                (money_of(r["Amount"]), str(r["Contract no"]), str(r["Deal"]))
                for r in older_bank[:3]
            ],
            short_by=BANK_FEE,
        )
        name = STATEMENT_FILE
        data = statement_file(
            DEMO_ACCOUNT,
            today,
            Decimal("1250000"),
            plan,
            start=today - timedelta(days=STRANGER_DAYS),
        )
        (self.folder / name).write_bytes(data)  # next to the state, to look at
        lines = Table(title=f"The statement «{name}» (1CClientBankExchange, cp1251)")
        for column in ("№", "from", "purpose", "amount"):
            lines.add_column(column, justify="right" if column == "amount" else "left")
        for move in plan:
            lines.add_row(move.number, move.party, move.purpose, rub(move.amount))
        self.console.print(lines)
        telegram = self.sandbox.telegram
        sent_before = len(telegram.sent(ACCOUNTANT_ID))
        telegram.send_document(ACCOUNTANT_ID, name, data, "text/plain")
        with self.console.status("[cyan]the bot imports the statement…"):
            answers = telegram.wait_for_sent(
                ACCOUNTANT_ID, count=sent_before + 1, timeout=BOT_TIMEOUT
            )
        reply = str(answers[-1].get("text", ""))
        self.console.print(
            Panel(
                Text.assemble(("Ирина: ", "bold"), f"📎 {name}\n", ("бот: ", "bold"), reply),
                expand=False,
                border_style="blue",
            )
        )
        bank = self.tab("bank")
        states = Counter(str(r["State"]) for r in bank.rows)
        self.check(
            "the statement's six lines are Bank rows: four confirmed, one suggested, one not",
            len(bank.rows) == len(plan)
            and states == Counter({"confirmed": 4, "suggested": 1, "unassigned": 1}),
            ", ".join(f"{n} {s}" for s, n in states.items()),
        )
        rules = {str(r["Rule"]) for r in bank.rows if r["State"] == "confirmed"}
        self.check(
            "sure matches by the acquiring batch, the credit, the contract number and the payer",
            rules == {"acquiring", "credit", "contract+amount", "payer+amount"},
            ", ".join(sorted(rules)),
        )
        bank_tab = self.cabinet_tab("accountant", "cabinet_bank")
        shown = Table(title="Her cabinet's Bank tab (what waits for her is on top)")
        headers = ("State", "Amount", "Counterparty", "Why", "Candidates")
        for column in headers:
            shown.add_column(
                column, overflow="fold", justify="right" if column == "Amount" else "left"
            )
        for row in bank_tab.rows:
            shown.add_row(*(rub(row[c]) if c == "Amount" else str(row[c]) for c in headers))
        self.console.print(shown)
        order = [str(r["State"]) for r in bank_tab.rows]
        self.check(
            "the unassigned line is on top of her Bank tab, the suggested one next",
            order[:2] == ["unassigned", "suggested"],
            ", ".join(order),
        )
        suggested = next(r for r in bank_tab.rows if r["State"] == "suggested")
        short = older_bank[0]
        self.short_id = str(short["Payment ID"])
        self.check(
            "the short transfer is suggested with its payment as the candidate",
            self.short_id in str(suggested["Candidates"]),
            str(suggested["Candidates"]),
        )
        self.say(
            f"The transfer for contract {short['Contract no']} came {rub(BANK_FEE)} short: "
            f"no rule may confirm it alone. She picks {self.short_id} in «Assign to» "
            "and ticks «Assign»."
        )
        line_id = str(suggested[bank_tab.header[0]])
        self.type(bank_tab, line_id, "Assign to", self.short_id)
        self.type(bank_tab, line_id, "Assign", "TRUE")
        self.sync("the statement's confirmations and her assignment")
        payments = self.tab("payments").by_id()
        by_statement = [
            str(r["Payment ID"])
            for r in payments.values()
            if "выписка" in str(r.get("Confirmed by") or "")
            and sheet_day(r.get("Confirmed at")) == today
        ]
        short_row = payments[self.short_id]
        self.check(
            "five payments got their money from the statement, each pushed",
            len(by_statement) == 5
            and all(
                str(payments[p]["Sync state"]).startswith(("pushed", "partial"))
                for p in by_statement
            ),
            ", ".join(by_statement),
        )
        self.check(
            "the short one holds what arrived, as a partial receipt with the line's ID",
            money_of(short_row["Received amount"]) == money_of(short["Amount"]) - BANK_FEE
            and str(suggested[bank_tab.header[0]]) in str(short_row["Bank ref"]),
            rub(short_row["Received amount"]),
        )
        expenses = [r for r in self.tab("expenses").rows if r["Category"] == "Эквайринг"]
        self.check(
            "the acquiring fee became an expense «Эквайринг»",
            len(expenses) == 1,
            rub(expenses[0]["Amount"]) if expenses else "none",
        )
        rows_before = len(self.tab("bank").rows)
        telegram.send_document(ACCOUNTANT_ID, name, data, "text/plain")
        with self.console.status("[cyan]the same file again…"):
            again = telegram.wait_for_sent(
                ACCOUNTANT_ID, count=sent_before + 2, timeout=BOT_TIMEOUT
            )
        self.check(
            "the same file sent twice adds nothing",
            len(self.tab("bank").rows) == rows_before and "уже были" in str(again[-1].get("text")),
        )
        unassigned = next(r for r in bank_tab.rows if r["State"] == "unassigned")
        self.say(
            f"One line stays unassigned: {rub(unassigned['Amount'])} from "
            f"{unassigned['Counterparty']} — the evening's reconciliation will say it."
        )
        self.result.facts["bank_confirmed"] = by_statement

        card = self.payment_row(
            self.cabinet_tab("accountant", "cabinet_payments"), self.new_deals[1]
        )
        card_id = str(card["Payment ID"])
        self.say(f"The card payment {card_id} she ticks by hand, from the card terminal's report.")
        self.type(self.cabinet_tab("accountant", "cabinet_payments"), card_id, "Confirmed", "TRUE")
        self.ticked[card_id] = money_of(card["Amount"])

    def payment_row(self, cabinet: SheetTab, deal_id: int) -> dict[str, Any]:
        """The first payment of a morning deal, as a cabinet shows it."""
        return cabinet.by_id()[f"{deal_id}:1"]

    # 7 ------------------------------------------------------------------------------------

    def owner_expenses(self) -> None:
        self.step(7, "The owner records three expenses in Telegram")
        contract = self.new_contracts[self.new_deals[0]]
        messages = (
            "45к аренда @Ленина",
            "3500 реклама яндекс вчера",
            f"1 200,50 такси #{contract}",
        )
        telegram = self.sandbox.telegram
        sent_before = len(telegram.sent(OWNER_ID))
        replies: list[str] = []
        for n, text in enumerate(messages, start=1):
            telegram.send_text(OWNER_ID, text)
            with self.console.status("[cyan]the bot is writing the expense…"):
                answers = telegram.wait_for_sent(
                    OWNER_ID, count=sent_before + n, timeout=BOT_TIMEOUT
                )
            reply = str(answers[-1].get("text", ""))
            replies.append(reply)
            buttons = [
                b["text"]
                for row in (answers[-1].get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ]
            body = Text.assemble(("Ольга: ", "bold"), text, "\n", ("бот: ", "bold"), reply)
            if buttons:
                body.append("\n" + "  ".join(f"[{b}]" for b in buttons), style="dim")
            self.console.print(Panel(body, expand=False, border_style="blue"))
        today = self.today()
        rows = [r for r in self.tab("expenses").rows if str(r["Expense ID"]).startswith("tg:")]
        wanted = (
            (Decimal("45000"), "Аренда", today, None),
            (Decimal("3500"), "Реклама", today - timedelta(days=1), None),
            (Decimal("1200.50"), "Транспорт", today, self.new_deals[0]),
        )
        got = [
            (
                money_of(r["Amount"]),
                str(r["Category"]),
                sheet_day(r["Date"]),
                r["Deal ID"] if r.get("Deal ID") not in ("", None) else None,
            )
            for r in rows
        ]
        self.check("the bot answered each message", all(r.startswith("Записал") for r in replies))
        self.check(
            "«@Ленина» tagged the rent with its salon and city",
            (rows[0].get("Salon"), rows[0].get("City")) == (AMO_SALONS[0], AMO_CITIES[0]),
            f"{rows[0].get('Salon')}, {rows[0].get('City')}",
        )
        self.check(
            "three Expenses rows: amount, category, date («вчера»), the deal of #" + contract,
            got == list(wanted),
            "; ".join(f"{a} {c} {d}" for a, c, d, _ in got),
        )
        self.result.facts["expenses"] = [str(a) for a, *_ in got]

    # 8 ------------------------------------------------------------------------------------

    def push_back(self) -> None:
        self.step(8, "The daemon pushes the confirmations back to amoCRM")
        leads_before = self.leads()
        report = self.sync("push the accountant's ticks")
        pushed = {e.payment_id: e for e in report.pushed}
        self.check(
            "every tick of the accountant was pushed",
            set(self.ticked) <= set(pushed),
            f"{len(pushed)} confirmation(s)",
        )
        leads = self.leads()
        notes = [n for n in self.notes() if n["id"] > self.notes_before_day]
        table = Table(
            title="Notes the daemon wrote into amoCRM today, after go-live (the deals' history)",
            title_justify="left",
            show_lines=True,
        )
        table.add_column("deal", max_width=28)
        table.add_column("note", overflow="fold")
        for note in notes:
            lead = leads[note["entity_id"]]
            table.add_row(
                f"{lead['name']}\n№ {self.field_value(lead, self.amo['fields']['contract_no'])}",
                str(note["params"].get("text", "")),
            )
        self.console.print(table)
        markers = Counter(m for n in notes for m in _markers(n))
        self.check(
            "one note per pushed confirmation, with its marker",
            all(markers[e.marker] == 1 for e in report.pushed),
        )
        short_notes = [
            str(n["params"]["text"])
            for n in self.notes()
            if f"sheetledger:{self.short_id}#" in str(n["params"].get("text"))
        ]
        self.check(
            "the short transfer's note says it was received in part, and how much of what",
            len(short_notes) == 1 and "частично" in short_notes[0],
            short_notes[0] if short_notes else "no note",
        )

        moved = Table(title="Deal statuses changed by the daemon", title_justify="left")
        for column in ("deal", "before", "after"):
            moved.add_column(column)
        changed = {
            i: (leads_before[i]["status_id"], lead["status_id"])
            for i, lead in leads.items()
            if lead["status_id"] != leads_before[i]["status_id"]
        }
        for deal_id, (was, now) in changed.items():
            moved.add_row(leads[deal_id]["name"], self.status_name(was), self.status_name(now))
        self.console.print(moved)
        credit_deal, card_deal = self.new_deals[2], self.new_deals[1]
        self.check(
            "the credit deal paid in full is «Успешно реализовано»",
            leads[credit_deal]["status_id"] == STATUS_WON,
        )
        self.check(
            "the card deal's first payment moved it to «Платеж подтвержден»",
            leads[card_deal]["status_id"] == self.amo["statuses"]["Платеж подтвержден"],
        )

        deals = self.tab("deals").by_id()
        payments = self.tab("payments").rows
        confirmed: dict[int, Decimal] = defaultdict(Decimal)
        for row in payments:
            if row.get("Confirmed") is True:
                got = row.get("Received amount")
                confirmed[int(row["Deal ID"])] += money_of(
                    got if got not in ("", None) else row["Amount"]
                )
            elif row.get("Received amount") not in ("", None):
                confirmed[int(row["Deal ID"])] += money_of(row["Received amount"])
        touched = sorted({e.deal_id for e in report.pushed})
        totals = Table(title="Confirmed totals of the deals touched", title_justify="left")
        for column in (
            "deal",
            "budget",
            "confirmed: amoCRM",
            "confirmed: ledger",
            "balance due",
        ):
            totals.add_column(column, justify="left" if column == "deal" else "right")
        field_id = self.amo["fields"]["confirmed_total"]
        mismatched = []
        for deal_id in touched:
            row = deals[str(deal_id)]
            in_crm = money_of(self.field_value(leads[deal_id], field_id))
            totals.add_row(
                str(row["Deal"]),
                rub(row["Budget"]),
                rub(in_crm),
                rub(row["Confirmed total"]),
                rub(row["Balance due"]),
            )
            if not (in_crm == money_of(row["Confirmed total"]) == confirmed[deal_id]):
                mismatched.append(deal_id)
        self.console.print(totals)
        self.check(
            "amoCRM, the Deals tab and the ticked payments agree on every confirmed total",
            not mismatched,
            f"{len(touched)} deals" if not mismatched else f"differ on {mismatched}",
        )
        by_hand = {str(r["Payment ID"]): r for r in payments if str(r["Payment ID"]) in self.ticked}
        self.check(
            "the accountant's cabinet ticks reached the master, confirmed by her cabinet",
            len(by_hand) == len(self.ticked)
            and all(
                r["Confirmed"] is True and r["Confirmed by"] == "Бухгалтер"
                for r in by_hand.values()
            ),
        )

        notes_now = len(self.notes())
        again = self.sync("nothing left to do")
        self.check(
            "the next cycle pushes nothing again (exactly once)",
            not again.events and len(self.notes()) == notes_now,
        )
        self.result.facts["notes_today"] = len(notes)
        self.result.facts["status_changes"] = len(changed)

    # 9 ------------------------------------------------------------------------------------

    def payment_order(self) -> None:
        self.step(9, "A payment order: supply asks, the accountant pays, amoCRM learns it")
        deal_id = self.new_deals[0]
        contract = self.new_contracts[deal_id]
        telegram, sms = self.sandbox.telegram, self.sandbox.sms
        for person in (ACCOUNTANT_ID, SUPPLY_ID):  # they have started the bot once
            telegram.open_chat(person)
        told_accountant = len(telegram.sent(ACCOUNTANT_ID))
        told_supply = len(telegram.sent(SUPPLY_ID))
        sms_before = len(sms.messages())
        requests = self.cabinet_tab("supply", "requests")
        empty = [r for r in requests.rows if r.get("Submit") is not True]
        self.require("the supply manager's Requests tab has an empty row", bool(empty))
        order_id = str(empty[0]["Order ID"])
        amount = Decimal("18500")
        form = (
            ("Amount", str(amount)),
            ("Supplier", "ООО «Фурнитура-Опт»"),
            ("Purpose", "фурнитура для кухни"),
            ("Contract no", contract),
            ("Bill link", "https://drive.google.com/file/d/demo-bill-77/view"),
            ("Submit", "TRUE"),
        )
        for header, value in form:
            self.type(requests, order_id, header, value)
        self.say(
            f"Павел fills a row of his Requests tab for contract № {contract} and ticks Submit."
        )
        self.sync("the Requests row becomes an order")
        self.daemon.notify_job()
        order = self.tab("invoices").by_id().get(order_id, {})
        self.check(
            f"the order {order_id} is in Invoices, linked to the deal of № {contract}",
            order.get("Deal ID") == deal_id and money_of(order.get("Amount")) == amount,
            str(order.get("State", "")),
        )
        cards = telegram.sent(ACCOUNTANT_ID)[told_accountant:]
        self.check(
            "the accountant got one Telegram message and one SMS about it",
            len(cards) == 1 and len(sms.messages()) == sms_before + 1,
            f"{len(cards)} message(s), {len(sms.messages()) - sms_before} SMS",
        )
        orders = self.cabinet_tab("accountant", "cabinet_orders")
        self.require("the order is in the accountant's Orders tab", order_id in orders.by_id())
        self.type(orders, order_id, "Paid", "TRUE")
        self.type(orders, order_id, "Paid from", "р/с Сбер")
        self.say("Ирина pays the bill from the bank and ticks Paid in her Orders tab.")
        self.sync("the paid order goes to amoCRM")
        self.daemon.notify_job()
        notes = [
            str(n["params"].get("text", ""))
            for n in self.notes()
            if n["entity_id"] == deal_id and f"sheetledger:{order_id}#" in str(n["params"])
        ]
        if notes:
            self.console.print(Panel(Text(notes[0]), title="the deal's note", expand=False))
        lead = self.leads()[deal_id]
        costs = self.field_value(lead, self.amo["fields"]["costs_paid"])
        self.check(
            "one note in the deal (supplier, amount, bill) and «costs paid» = the order",
            len(notes) == 1
            and "ООО «Фурнитура-Опт»" in notes[0]
            and "demo-bill-77" in notes[0]
            and costs is not None
            and Decimal(str(costs)) == amount,
            f"{len(notes)} note(s), costs paid {costs}",
        )
        state = str(self.cabinet_tab("supply", "requests").by_id()[order_id].get("State", ""))
        told = telegram.sent(SUPPLY_ID)[told_supply:]
        self.check(
            "the supply manager sees «paid on …» in his tab and was told in Telegram",
            state.startswith("paid on") and len(told) == 1,
            state,
        )
        self.result.facts["payment_order"] = order_id
        self.result.facts["order_notes"] = len(notes)

    # 10 -----------------------------------------------------------------------------------

    def evening(self) -> None:
        self.step(10, "Evening: reconciliation, the digest and the owner's figures")
        card_id = next(iter(self.ticked))
        deal_id, number = (int(part) for part in card_id.split(":"))
        slot = self.amo["slots"][number - 1]
        raised = self.ticked[card_id] + 5000
        self.say(
            f"A manager raises the confirmed prepayment {card_id} to {rub(raised)} in amoCRM "
            "(the client added a mirror) — after the money was confirmed."
        )
        managers_ui = AmoClient(self.cfg.amocrm.base_url, self.cfg.amocrm.token.reveal())
        managers_ui.update_leads(
            [
                {
                    "id": deal_id,
                    "custom_fields_values": [
                        {"field_id": slot["amount"], "values": [{"value": str(int(raised))}]}
                    ],
                }
            ]
        )
        self.sync("pull the manager's change")
        row = self.tab("payments").by_id()[card_id]
        self.check(
            "the confirmed payment keeps the amount it was confirmed at, and is flagged",
            money_of(row["Amount"]) == self.ticked[card_id]
            and "after confirmation" in str(row["Sync state"]),
            str(row["Sync state"]),
        )

        config_file = self.folder / "config.yaml"
        self.console.print(Text(f"$ sheetledger -c {config_file} reconcile", style="bold"))
        code = reconcile_command(self.cfg, self.console)
        findings = {str(r["Code"]): r for r in self.tab("reconciliation").rows if r.get("Code")}
        self.check("reconcile ran and found errors to act on (exit code 1)", code == 1, str(code))
        wanted = {"AMOUNT_CHANGED", "BANK_UNASSIGNED", "CASH_HELD"}
        self.check(
            "it found what the day left: the changed amount, the unassigned bank line, "
            "the cash still on a manager",
            wanted <= set(findings),
            ", ".join(sorted(findings)),
        )
        self.check(
            "the changed amount's finding names the payment",
            card_id in str(findings.get("AMOUNT_CHANGED", {}).get("Finding", "")),
        )

        telegram = self.sandbox.telegram
        for user in (OWNER_ID, CASHIER_ID, ACCOUNTANT_ID):
            telegram.open_chat(user)
        before = {user: len(telegram.sent(user)) for user in (OWNER_ID, ACCOUNTANT_ID)}
        self.console.print(Text(f"$ sheetledger -c {config_file} digest --now", style="bold"))
        digest_command(self.cfg, self.console, now=True, to=None)
        owner = telegram.sent(OWNER_ID)[before[OWNER_ID] :]
        texts = [str(m.get("text")) for m in owner if m.get("text")]
        photos = [m for m in owner if m.get("photo")]
        for text in texts:
            self.console.print(
                Panel(Text(text), title="the owner's digest", title_align="left", expand=False)
            )
        chart = self.cfg.state_dir / CHART_FILE
        self.check(
            "the owner's digest: net profit, money not assigned in the bank, the findings",
            bool(texts)
            and "Чистая прибыль" in texts[0]
            and "В банке не разнесено" in texts[0]
            and "Сверка" in texts[0],
        )
        self.check(
            "the marketing-versus-turnover chart came with it as a picture",
            len(photos) == 1 and chart.exists(),
            str(chart),
        )
        accountant = [
            str(m.get("text"))
            for m in telegram.sent(ACCOUNTANT_ID)[before[ACCOUNTANT_ID] :]
            if m.get("text")
        ]
        for text in accountant:
            self.console.print(
                Panel(Text(text), title="the accountant's digest", title_align="left", expand=False)
            )
        self.check(
            "the accountant's digest lists the bank line she still has to assign",
            bool(accountant) and "Смирнов" in accountant[0],
        )

        png = self.folder / CHART_PNG
        first = min(
            (d for r in self.tab("deals").rows if (d := sheet_day(r.get("Contract date")))),
            default=self.today(),
        )
        self.console.print(
            Text(
                f"$ sheetledger -c {config_file} report --from {first.replace(day=1)} "
                f"--to {self.today()} --by salon --png {png}",
                style="bold",
            )
        )
        report_command(
            self.cfg,
            self.console,
            start=first.replace(day=1),
            end=self.today(),
            by="salon",
            png=png,
        )
        self.check("the owner's chart is saved as a PNG next to the state", png.exists())
        profit = self.tab("profit").rows
        self.check(
            "the Profit tab has a row per deal, written by the daemon",
            len(profit) == len(self.tab("deals").rows),
            f"{len(profit)} rows",
        )
        month = f"{self.today():%Y-%m}"
        pnl = {str(r[self.tab("pnl").header[0]]): r for r in self.tab("pnl").rows}
        confirmed_this_month = sum(
            (
                money_of(
                    r["Received amount"]
                    if r.get("Received amount") not in ("", None)
                    else r["Amount"]
                )
                for r in self.tab("payments").rows
                if (r.get("Confirmed") is True or r.get("Received amount") not in ("", None))
                and (day := sheet_day(r.get("Confirmed at"))) is not None
                and f"{day:%Y-%m}" == month
            ),
            Decimal(0),
        )
        shown = money_of(pnl.get(month, {}).get("Revenue"))
        self.check(
            "the P&L's revenue this month = the received amounts confirmed this month, "
            "to the kopeck",
            shown == confirmed_this_month,
            f"{rub(shown)} / {rub(confirmed_this_month)}",
        )
        self.result.facts["findings"] = sorted(findings)

    # 11 -----------------------------------------------------------------------------------

    def finish(self) -> None:
        self.step(11, "End of the day")
        payments = self.tab("payments").rows
        today = self.today()
        confirmed_today = [
            r
            for r in payments
            if r.get("Confirmed") is True and sheet_day(r.get("Confirmed at")) == today
        ]
        confirmed_sum = sum(
            (money_of(r["Received amount"] or r["Amount"]) for r in confirmed_today), Decimal(0)
        )
        expenses = [r for r in self.tab("expenses").rows if str(r["Expense ID"]).startswith("tg:")]
        cash = self.cash_on_hand()
        summary = Table(title="The day in numbers", title_justify="left", show_header=False)
        summary.add_column("")
        summary.add_column("", justify="right")
        rows = [
            ("deals in the ledger", str(len(self.tab("deals").rows))),
            ("payments in the ledger", str(len(payments))),
            (
                "confirmed today (cashbox + accountant)",
                f"{len(confirmed_today)} · {rub(confirmed_sum)}",
            ),
            ("cash still on the managers", rub(sum(cash.values(), Decimal(0)))),
            (
                "expenses recorded by the bot",
                rub(sum((money_of(r["Amount"]) for r in expenses), Decimal(0))),
            ),
            ("notes written into amoCRM (go-live + today)", str(len(self.notes()))),
            ("sync cycles run by the daemon", str(self.daemon.cycles)),
            (
                "requests: amoCRM · Google · Telegram",
                " · ".join(
                    str(_requests(e))
                    for e in (self.sandbox.amo, self.sandbox.sheets, self.sandbox.telegram)
                ),
            ),
        ]
        for name, value in rows:
            summary.add_row(name, value)
        self.console.print(summary)
        stopped_in = time.monotonic()
        with self.console.status("[cyan]stopping the daemon (it finishes the running job first)…"):
            stopped = self.serving.stop() if self.serving else False
        took = time.monotonic() - stopped_in
        self.check(
            "the daemon stopped cleanly: scheduler shut down, bot stopped polling",
            stopped and not self.daemon.scheduler.running,
            f"{took:.1f}s",
        )
        runs = {r["job"]: r for r in self.daemon.store.job_runs()}
        last = runs.get("sync", {})
        error = str(last.get("error") or "")
        self.check(
            "its local state records the last sync, its one problem the changed amount",
            last.get("finished") is not None and error.count("E_") == error.count("E_CHANGED") == 1,
            error or str(last.get("detail", "")),
        )

    def shut_down(self) -> None:
        if self.serving is not None:
            self.serving.stop()
            self.daemon.close()
        if self.box is not None:
            self.box.stop(save=True)
            saved = sorted(p.name for p in (self.folder / "state").glob("*.json"))
            self.step_name = "11. End of the day"
            self.check(
                "the sandbox state is saved in the folder",
                len(saved) == len(self.box.servers),  # one file per emulator
                ", ".join(saved),
            )

    def print_verdict(self) -> None:
        failed = self.result.failed
        passed = len(self.result.checks) - len(failed)
        self.console.print()
        if failed:
            text = Text(
                f"✘ {len(failed)} of {len(self.result.checks)} checks failed:\n", style="bold red"
            )
            for c in failed:
                text.append(f"  {c.step}: {c.what}" + (f" — {c.detail}" if c.detail else "") + "\n")
            self.console.print(Panel(text, border_style="red", expand=False))
        else:
            self.console.print(
                Text(
                    f"✔ all {passed} checks passed in {self.result.seconds:.1f}s",
                    style="bold green",
                )
            )
        folder = self.folder
        self.console.print(
            Panel(
                Text.assemble(
                    ("Look around: ", "bold"),
                    f"everything is saved in {folder}/ (the daemon's log: {folder}/demo.log)\n\n",
                    f"  sheetledger sandbox --state-dir {folder}\n",
                    (
                        "      the emulators again, on the saved state "
                        "(on the same ports when they are free)\n",
                        "dim",
                    ),
                    (
                        "      and a web page (it prints the address): the spreadsheets, amoCRM "
                        "deals and Telegram chats\n      as people see them; tick, type, write "
                        "to the bot as the cashier, the accountant or the owner\n",
                        "bold",
                    ),
                    f"  sheetledger -c {folder}/config.yaml status\n",
                    ("      what the daemon did last\n", "dim"),
                    f"  sheetledger -c {folder}/config.yaml run\n",
                    ("      the daemon, while the sandbox runs (another terminal)\n", "dim"),
                    f"  sheetledger -c {folder}/config.yaml sync --dry-run\n",
                    ("      what a cycle would do now\n", "dim"),
                    f"  {folder}/sandbox.json",
                    ("   ids, tokens, and the emulators' /_sandbox/ control URLs", "dim"),
                ),
                title="next",
                title_align="left",
                expand=False,
            )
        )


def demo_statement(
    day: date,
    *,
    terminal: Decimal,
    credit: tuple[Decimal, str],
    transfers: list[tuple[Decimal, str, str]],
    short_by: Decimal,
) -> list[Movement]:
    """The day's statement of the demo account, from the day's deals.

    The acquirer settles the morning's terminal payment minus its 1.8 % fee; the lender
    pays the credit naming the customer; of the older bank transfers (amount, contract,
    deal) the first came short and the second names its contract; the third comes
    from the deal's client without a contract number; and a stranger's transfer of a
    few days ago matches nothing (the statement covers the days since).
    """
    fee = (terminal * Decimal("0.018")).quantize(Decimal("0.01"))
    shown = f"{day:%d.%m.%Y}"
    (short, short_no, short_deal), (exact, exact_no, exact_deal), (third, _, third_deal) = (
        transfers[:3]
    )
    return [
        Movement(
            terminal - fee,
            "501",
            ACQUIRER[0],
            ACQUIRER[1],
            ACQUIRER[2],
            f"Возмещение по операциям эквайринга за {shown}, комиссия {fee}. Без НДС",
            kind="Банковский ордер",
        ),
        Movement(
            credit[0],
            "7731",
            LENDER[0],
            LENDER[1],
            LENDER[2],
            f"Перечисление кредита по кредитному договору, клиент {_client(credit[1])}. Без НДС",
        ),
        Movement(
            short - short_by,
            "318",
            _client(short_deal),
            "",
            "40817810500000000318",
            f"Оплата по договору № {short_no} от {shown}. Без НДС",
        ),
        Movement(
            exact,
            "412",
            _client(exact_deal),
            "",
            "40817810500000000412",
            f"Оплата по дог.{exact_no}, мебель. Без НДС",
        ),
        Movement(
            third,
            "77",
            _client(third_deal),
            "",
            "40817810500000000077",
            "Оплата за мебель. Без НДС",
        ),
        Movement(
            Decimal("13777.00"),
            "9",
            "Смирнов Аркадий Валентинович",
            "",
            "40817810500000000009",
            "Перевод средств",
            on=day - timedelta(days=STRANGER_DAYS),
        ),
    ]


def _client(deal_name: str) -> str:
    """The customer of a deal («Шкаф-купе — Гусев Т.» → «Гусев Т.»)."""
    return deal_name.split(" — ", 1)[-1]


def _markers(note: Mapping[str, Any]) -> list[str]:
    text = str((note.get("params") or {}).get("text") or "")
    return [word for word in text.split() if word.startswith("sheetledger:")]


def _stamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())


def _requests(emulator: Any) -> int:
    """Requests the emulator answered (its control side is never counted)."""
    return int(sum(emulator.counters.by_kind.values()))


def _cash_text(cash: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{m}: {rub(v)}" for m, v in sorted(cash.items()))


def cash_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """The Cash on hand tab as the owner sees it, with a total."""
    table = Table(title=title, title_justify="left")
    for column in ("manager", "cash held", "payments", "oldest"):
        table.add_column(column, justify="left" if column == "manager" else "right")
    for row in rows:
        oldest = sheet_day(row.get("Oldest"))
        table.add_row(
            str(row["Manager"]),
            rub(row["Cash held"]),
            str(row["Payments"]),
            f"{oldest:%d.%m.%Y}" if oldest else "—",
        )
    total = sum((money_of(r["Cash held"]) for r in rows), Decimal(0))
    table.add_row(Text("total", style="bold"), Text(rub(total), style="bold"), "", "")
    return table


def run_demo(folder: Path, console: Console | None = None, *, log_file: bool = True) -> DemoResult:
    """Play the day in ``folder`` (emptied first) and print it; the result holds every check."""
    folder = Path(folder)
    console = console or Console(highlight=False)
    prepare_folder(folder)
    console.print(
        Panel(
            Text.assemble(
                ("sheetledger demo", "bold"),
                " — a working day of a furniture business that sells through amoCRM.\n",
                "amoCRM, Google Sheets and Telegram are emulators on this machine; "
                "the daemon is the real one.\n",
                f"State folder: {folder}/ · the business's time zone: {DEMO_TIMEZONE}",
            ),
            expand=False,
        )
    )
    demo = Demo(folder, console)
    logs: contextlib.AbstractContextManager[None] = (
        _logs_into(folder / "demo.log") if log_file else contextlib.nullcontext()
    )
    with logs:
        return demo.run()
