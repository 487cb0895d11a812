"""A whole business on the sandbox for end-to-end tests: emulators, config, real clients.

The amoCRM emulator and client share a manual clock: the client's rate limiter
"sleeps" by moving that clock, so tests run at full speed while the 7-requests-a-
second rule is still enforced by the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sheetledger.config import Config
from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
from sheetledger.crm.amocrm import AmoClient
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.sandbox.amocrm import ManualClock
from sheetledger.sandbox.runner import Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.cycle import CycleReport, run_cycle

CASH, CARD, TERMINAL, BANK, CREDIT = (
    "Наличными в кассу",
    "Перевод на карту",
    "Оплата по терминалу",
    "Безналичный перевод",
    "Кредитный договор",
)


@dataclass
class World:
    box: Sandbox
    config: Config
    clock: ManualClock
    crm: AmoClient
    ledger: LedgerSheets
    store: LocalState
    cabinets: dict[str, LedgerSheets] = field(default_factory=dict)
    reports: list[CycleReport] = field(default_factory=list)

    @property
    def amo_info(self) -> dict[str, Any]:
        return self.box.info["amocrm"]

    @property
    def spreadsheet_id(self) -> str:
        return self.config.google.spreadsheet_id

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def sync(self, **kwargs: Any) -> CycleReport:
        self.clock.advance(60)
        kwargs.setdefault("cabinets", self.cabinets)
        report = run_cycle(self.config, self.ledger, self.crm, self.store, now=self.now(), **kwargs)
        self.reports.append(report)
        return report

    def fresh_ledger(self) -> LedgerSheets:
        """A new ledger object, as a new process would build it (no cached sheet ids)."""
        return master_ledger(self.config, build_google(self.config))

    # -- amoCRM, through its real API --------------------------------------------------

    def deal(
        self,
        contract_no: str,
        *,
        price: int = 100_000,
        manager: int = 0,
        payments: tuple[tuple[int | str, str, date | None], ...] = (
            (30_000, CASH, date(2026, 11, 20)),
        ),
        status: str = "Договор заключен",
        name: str | None = None,
        **fields: str,
    ) -> int:
        """Create a deal with payment slots filled, through POST /api/v4/leads; returns its id."""
        amo = self.amo_info
        values: list[dict[str, Any]] = [
            {"field_id": amo["fields"]["contract_no"], "values": [{"value": contract_no}]},
            {
                "field_id": amo["fields"]["contract_date"],
                "values": [{"value": _ts(date(2026, 11, 1))}],
            },
        ]
        for key, text in fields.items():
            values.append({"field_id": amo["fields"][key], "values": [{"value": text}]})
        for slot, (amount, method, paid_on) in zip(amo["slots"], payments, strict=False):
            values.append({"field_id": slot["amount"], "values": [{"value": str(amount)}]})
            values.append({"field_id": slot["method"], "values": [{"value": method}]})
            if paid_on is not None:
                values.append({"field_id": slot["date"], "values": [{"value": _ts(paid_on)}]})
        lead = {
            "name": name or f"Договор {contract_no}",
            "price": price,
            "pipeline_id": amo["pipeline_id"],
            "status_id": amo["statuses"][status],
            "responsible_user_id": amo["managers"][manager],
            "custom_fields_values": values,
        }
        created = self.crm.create_leads([lead])
        return int(created[0]["id"])

    def notes(self, deal_id: int) -> list[str]:
        return [
            str(n["params"].get("text", "")) for n in self.crm.notes([deal_id], note_type="common")
        ]

    def confirmed_total(self, deal_id: int) -> Decimal | None:
        lead = self.crm.lead(deal_id) or {}
        for entry in lead.get("custom_fields_values") or ():
            if entry["field_id"] == self.amo_info["fields"]["confirmed_total"]:
                return Decimal(str(entry["values"][0]["value"]))
        return None

    # -- the sheet, as people see it ----------------------------------------------------

    def rows(self, tab: str = "payments") -> list[dict[str, Any]]:
        """The tab's rows as dicts by header, read through the emulator's inspection side."""
        return self._rows_of(self.spreadsheet_id, self.ledger.tabs[tab][0])

    def _rows_of(self, spreadsheet_id: str, title: str) -> list[dict[str, Any]]:
        values = self.box.sheets.values(spreadsheet_id, title)
        if not values:
            return []
        header = [str(h) for h in values[0]]
        return [
            dict(zip(header, row + [""] * (len(header) - len(row)), strict=False))
            for row in values[1:]
            if row
        ]

    def row_number(self, tab: str, row_id: str) -> int:
        title = self.ledger.tabs[tab][0]
        values = self.box.sheets.values(self.spreadsheet_id, title)
        for number, row in enumerate(values, start=1):
            if row and str(row[0]) == row_id:
                return number
        raise KeyError(row_id)

    def tick(self, payment_id: str, *, received: str | None = None, by: str | None = None) -> None:
        """A person ticks the payment's checkbox (typing TRUE, as the UI does) in the master."""
        title = self.ledger.tabs["payments"][0]
        row = self.row_number("payments", payment_id)
        self.box.sheets.type_cell(self.spreadsheet_id, f"'{title}'!I{row}", "TRUE")
        if received is not None:
            self.box.sheets.type_cell(self.spreadsheet_id, f"'{title}'!J{row}", received)
        if by is not None:
            self.box.sheets.type_cell(self.spreadsheet_id, f"'{title}'!K{row}", by)

    def cabinet_rows(self, name: str, tab: str = "cabinet_payments") -> list[dict[str, Any]]:
        sheets = self.cabinets[name]
        return self._rows_of(sheets.spreadsheet_id, sheets.tabs[tab][0])

    def cabinet_cell(self, name: str, tab: str, row_id: str, header: str) -> str:
        """The A1 address of the cell under ``header`` in the row of ``row_id``."""
        sheets = self.cabinets[name]
        title = sheets.tabs[tab][0]
        values = self.box.sheets.values(sheets.spreadsheet_id, title)
        column = [str(h) for h in values[0]].index(header)
        for number, row in enumerate(values, start=1):
            if row and str(row[0]) == row_id:
                return f"'{title}'!{chr(65 + column)}{number}"
        raise KeyError(row_id)

    def cabinet_type(self, name: str, tab: str, row_id: str, header: str, value: str) -> None:
        """A person types into their cabinet (TRUE ticks a checkbox)."""
        sheets = self.cabinets[name]
        self.box.sheets.type_cell(
            sheets.spreadsheet_id, self.cabinet_cell(name, tab, row_id, header), value
        )

    def untick(self, payment_id: str) -> None:
        title = self.ledger.tabs["payments"][0]
        row = self.row_number("payments", payment_id)
        self.box.sheets.type_cell(self.spreadsheet_id, f"'{title}'!I{row}", "FALSE")


def _ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())


def add_cash_deal(box: Sandbox) -> int:
    """Deal «Договор 77» of 10,000 ₽ with one cash payment on 20.11.2026; its lead id."""
    amo = box.info["amocrm"]
    slot = amo["slots"][0]
    lead = box.amo.add_lead(
        "Договор 77",
        price=10_000,
        pipeline_id=amo["pipeline_id"],
        status_id=amo["statuses"]["Договор заключен"],
        responsible_user_id=amo["managers"][0],
        custom_fields_values=[
            {"field_id": amo["fields"]["contract_no"], "values": [{"value": "77"}]},
            {"field_id": slot["amount"], "values": [{"value": "10000"}]},
            {"field_id": slot["method"], "values": [{"value": CASH}]},
            {"field_id": slot["date"], "values": [{"value": _ts(date(2026, 11, 20))}]},
        ],
    )
    return int(lead["id"])


def make_world(folder: Path) -> World:
    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC).timestamp())
    box = Sandbox.start(folder, clock=clock)
    config = box.load_config()
    client = build_google(config)
    ledger = master_ledger(config, client)
    prepare(ledger)
    crm = AmoClient(
        config.amocrm.base_url,
        config.amocrm.token.reveal(),
        requests_per_second=6,
        sleep=clock.advance,
        clock=clock,
    )
    store = LocalState(folder / "state.db")
    cabinets = cabinet_ledgers(config, client)
    for cabinet in cabinets.values():
        prepare(cabinet)
        cabinet.sleep = lambda seconds: None
    return World(box, config, clock, crm, ledger, store, cabinets)
