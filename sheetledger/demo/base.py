"""What every step of the demo stands on: its checks, the world it reads, the sync it asks for.

``DemoBase`` holds the run's state (the sandbox, the config, the daemon, what earlier steps
left for later ones) and the person-sized helpers: read a tab as a person sees it, type into
a cell, read a lead, ask the daemon for a cycle. Each group of steps (``start``, ``payments``,
``bank``, ``bot``, ``orders``, ``evening``) is a mixin on it; ``runner.Demo`` puts them together.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from sheetledger.config import Config
from sheetledger.connect import CABINET_TITLES, master_tabs
from sheetledger.daemon import Daemon, DaemonThread
from sheetledger.demo.story import CYCLE_TIMEOUT
from sheetledger.ledger.cells import SHEETS_EPOCH
from sheetledger.ledger.sheets import column_letter
from sheetledger.money import rub as format_rub
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sync.cycle import CycleReport


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


class StopDemo(Exception):
    """A step could not go on (its failed check says why)."""


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


def note_markers(note: Mapping[str, Any]) -> list[str]:
    text = str((note.get("params") or {}).get("text") or "")
    return [word for word in text.split() if word.startswith("sheetledger:")]


class DemoBase:
    """The run's state and the helpers every step uses."""

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

    def cash_on_hand(self) -> dict[str, Decimal]:
        return {str(r["Manager"]): money_of(r["Cash held"]) for r in self.tab("cash").rows}
