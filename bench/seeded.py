"""A sandbox seeded with deals and marker notes, shared by the rebuild and reconcile benchmarks;
and the ledger rows the bot, orders and write-path benchmarks seed (``deal_rows``,
``order_rows``, ``expense_rows``).

Every payment slot of every deal is filled (10,000 ₽ in cash); the notes are the ones the
daemon writes for confirmation events. The emulators run in this process on a manual
clock, so the amoCRM client's request spacing costs no wall time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sheetledger.config import Config
from sheetledger.connect import build_google, master_ledger
from sheetledger.crm.amocrm import AmoClient
from sheetledger.ledger.setup import prepare
from sheetledger.ledger.sheets import LedgerSheets
from sheetledger.ledger.view import RowAppend
from sheetledger.orders.model import Order, OrderDraft, Payment, order_id
from sheetledger.orders.rows import draft_cells, order_cells
from sheetledger.sandbox.amocrm import ManualClock
from sheetledger.sandbox.runner import OWNER_ID, SUPPLY_ID, Sandbox
from sheetledger.store import LocalState
from sheetledger.sync.push import EventKind, PushEvent, note_text

CASH = "Наличными в кассу"


@dataclass
class Seeded:
    box: Sandbox
    config: Config
    clock: ManualClock
    ledger: LedgerSheets
    crm: AmoClient
    store: LocalState
    ids: list[int]  # the deals' ids, in contract-number order
    slots: list[dict[str, Any]]  # the payment slots of the sandbox's amoCRM fields

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


@contextmanager
def seeded(folder: Path, deals: int) -> Iterator[Seeded]:
    """The sandbox with ``deals`` deals created through the amoCRM API; stopped after."""
    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC).timestamp())
    box = Sandbox.start(folder, clock=clock)
    try:
        config = box.load_config()
        ledger = master_ledger(config, build_google(config))
        ledger.sleep = lambda seconds: None
        prepare(ledger)
        crm = AmoClient(
            config.amocrm.base_url, config.amocrm.token.reveal(), sleep=clock.advance, clock=clock
        )
        store = LocalState(folder / "state.db")
        amo = box.info["amocrm"]
        slots = amo["slots"]
        leads = []
        for n in range(deals):
            values = [{"field_id": amo["fields"]["contract_no"], "values": [{"value": str(n)}]}]
            for slot in slots:
                values.append({"field_id": slot["amount"], "values": [{"value": "10000"}]})
                values.append({"field_id": slot["method"], "values": [{"value": CASH}]})
            leads.append(
                {
                    "name": f"Договор {n}",
                    "price": 10_000 * len(slots),
                    "pipeline_id": amo["pipeline_id"],
                    "status_id": amo["statuses"]["Договор заключен"],
                    "responsible_user_id": amo["managers"][n % len(amo["managers"])],
                    "custom_fields_values": values,
                }
            )
        ids = [int(lead["id"]) for lead in crm.create_leads(leads)]
        try:
            yield Seeded(box, config, clock, ledger, crm, store, ids, slots)
        finally:
            store.close()
    finally:
        box.stop(save=False)


def marker_note(
    deal_id: int, slot: int, number: int, *, kind: str, seq: int, amount: str, previous: str | None
) -> dict[str, Any]:
    """The note the daemon writes for one confirmation event of payment ``deal_id:slot``."""
    event = PushEvent(
        payment_id=f"{deal_id}:{slot}",
        deal_id=deal_id,
        kind=EventKind(kind),
        seq=seq,
        amount=Decimal(amount),
        previous=Decimal(previous) if previous is not None else None,
        expected=Decimal("10000"),
        method=CASH,
        by="Светлана",
        on=date(2026, 11, 20),
        payment_kind="Предоплата",
        contract_no=str(number),
    )
    return {"entity_id": deal_id, "note_type": "common", "params": {"text": note_text(event)}}


def deal_rows(count: int) -> list[RowAppend]:
    """Deals rows with contract numbers 1000, 1001, ... (ids from 30,000,000)."""
    return [
        RowAppend(
            "deals",
            str(30_000_000 + n),
            {"id": 30_000_000 + n, "name": f"Сделка {n}", "contract_no": str(1000 + n)},
        )
        for n in range(count)
    ]


def order_rows(count: int, *, days: int, tag: str = "") -> list[RowAppend]:
    """Invoices rows of the supply manager's orders, spread over ``days`` days before
    1 November 2026; one in ten still open, the others paid the day they were made.
    ``tag`` keeps their Telegram sources apart from the messages a benchmark sends."""
    rows = []
    for n in range(count):
        created = datetime(2026, 11, 1, 10, 0) - timedelta(days=n % days)
        source = f"tg:{SUPPLY_ID}:{tag}{n}"
        oid = order_id(source, created.date())
        draft = OrderDraft(source, "Павел (снабжение)", Decimal(1000 + n % 500), f"Поставщик {n}")
        order = Order(oid, created, draft)
        if n % 10:
            order = order.paid(Payment(created.date(), draft.amount, "р/с", by="Бухгалтер"))
        rows.append(
            RowAppend("invoices", oid, draft_cells(oid, draft, created) | order_cells(order))
        )
    return rows


def expense_rows(count: int) -> list[RowAppend]:
    """Expenses rows of another chat than the owner's: a benchmark's own messages (ids 1,
    2, ... in the owner's chat) must be new rows, not updates of seeded ones."""
    start, now = date(2026, 1, 1), datetime.now(UTC)
    rows = []
    for n in range(count):
        key = f"tg:{OWNER_ID + 1}:{n + 1}:0"
        values = {
            "id": key,
            "date": start + timedelta(days=n % 300),
            "amount": Decimal(100 + n % 5000),
            "category": "Офис",
            "comment": f"строка {n}",
            "entered_by": "bench",
            "source": "telegram",
            "recorded_at": now,
            "void": False,
        }
        rows.append(RowAppend("expenses", key, values))
    return rows
