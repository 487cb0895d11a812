"""Shared test builders: the example config, amoCRM-shaped leads, ledger views.

Leads are shaped like real ``GET /api/v4/leads`` items (tests/fixtures/amocrm/leads_list.real.*,
docs/api-notes.md, "amoCRM: field values"): ``custom_fields_values`` is ``null`` when
nothing is filled, numeric values are strings, dates are unix ints (local midnight),
selects carry ``value`` and ``enum_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sheetledger.config import load_config
from sheetledger.crm.lookups import Lookups
from sheetledger.ledger.cells import from_cell, to_cell
from sheetledger.ledger.tabs import CASH, DEALS, PAYMENTS, STATE
from sheetledger.ledger.view import LedgerView, TabRows

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config.yaml", require_secrets=False)
TZ = CONFIG.tz
AMO = CONFIG.amocrm
FIELDS = AMO.fields
SLOTS = AMO.payment_slots

PIPE = AMO.pipelines[0]
OTHER_PIPE = 7000002
NEW, FIRST_PAID, DELIVERY, WON, LOST = 7000101, 7000105, 7000107, 142, 143
MANAGERS = {501: "Анна", 502: "Борис"}
OPTIONS = {text: 3000 + n for n, text in enumerate(AMO.methods)}  # option text -> enum_id
CASH_TEXT = next(t for t, m in AMO.methods.items() if m.value == "cash")
BANK_TEXT = next(t for t, m in AMO.methods.items() if m.value == "bank")

LOOKUPS = Lookups(
    users=MANAGERS,
    pipelines={PIPE: "Продажи", OTHER_PIPE: "Сервис"},
    statuses={
        (PIPE, NEW): "Новая",
        (PIPE, FIRST_PAID): "Платеж подтвержден",
        (PIPE, DELIVERY): "Доставка",
        (PIPE, WON): "Успешно реализовано",
        (PIPE, LOST): "Закрыто и не реализовано",
        (OTHER_PIPE, 7000201): "Заявка",
    },
    status_sort={
        (PIPE, NEW): 10,
        (PIPE, FIRST_PAID): 40,
        (PIPE, DELIVERY): 60,
        (PIPE, WON): 10000,
        (PIPE, LOST): 11000,
        (OTHER_PIPE, 7000201): 10,
    },
)


def unix_day(day: date) -> int:
    """How amoCRM stores a ``date`` field: midnight of the day in the account zone."""
    return int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp())


def _cf(field_id: int, kind: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "field_id": field_id,
        "field_name": f"field {field_id}",
        "field_code": None,
        "field_type": kind,
        "values": values,
    }


Slot = tuple[Any, Any, Any]  # (amount, method option text, date) as the CRM holds them


def lead(
    lead_id: int,
    *,
    name: str = "Кухня на заказ",
    price: int = 100_000,
    status: int = NEW,
    pipeline: int = PIPE,
    updated_at: int = 1_711_918_800,
    manager: int | None = 501,
    contract_no: str | None = "Д-1045",
    contract_date: date | None = date(2024, 4, 1),
    product: str | None = None,
    slots: Sequence[Slot | None] = (),
) -> dict[str, Any]:
    """A lead as amoCRM lists it; ``slots[i]`` fills payment slot ``i + 1`` (None = empty)."""
    fields: list[dict[str, Any]] = []
    if contract_no is not None:
        fields.append(_cf(FIELDS.contract_no, "text", [{"value": contract_no}]))
    if contract_date is not None and FIELDS.contract_date:
        fields.append(_cf(FIELDS.contract_date, "date", [{"value": unix_day(contract_date)}]))
    if product is not None and FIELDS.product:
        fields.append(
            _cf(FIELDS.product, "select", [{"value": product, "enum_id": 4001, "enum_code": None}])
        )
    for slot, filled in zip(SLOTS, slots, strict=False):
        if filled is None:
            continue
        amount, method, day = filled
        if amount is not None:
            text = amount if isinstance(amount, str) else format(Decimal(amount), "f")
            fields.append(_cf(slot.amount, "numeric", [{"value": text}]))
        if method is not None:
            option = {"value": method, "enum_id": OPTIONS.get(method, 9999), "enum_code": None}
            fields.append(_cf(slot.method, "select", [option]))
        if day is not None and slot.date:
            fields.append(_cf(slot.date, "date", [{"value": unix_day(day)}]))
    return {
        "id": lead_id,
        "name": name,
        "price": price,
        "responsible_user_id": manager,
        "group_id": 0,
        "status_id": status,
        "pipeline_id": pipeline,
        "loss_reason_id": None,
        "created_by": manager or 0,
        "updated_by": manager or 0,
        "created_at": updated_at - 3600,
        "updated_at": updated_at,
        "closed_at": None,
        "closest_task_at": None,
        "is_deleted": False,
        "custom_fields_values": fields or None,
        "score": None,
        "account_id": 31296422,
        "labor_cost": None,
        "_links": {
            "self": {"href": f"https://example.amocrm.ru/api/v4/leads/{lead_id}?page=1&limit=250"}
        },
        "_embedded": {"tags": [], "companies": []},
    }


def empty_view() -> LedgerView:
    return LedgerView({s.key: TabRows(s) for s in (DEALS, PAYMENTS, CASH, STATE)})


def through_sheet(view: LedgerView) -> LedgerView:
    """The view after a write and a fresh read: every cell through ``to_cell`` and ``from_cell``."""
    tabs = {}
    for key, tab in view.tabs.items():
        rows = {}
        for row_id, values in tab.rows.items():
            rows[row_id] = {
                c.key: from_cell(c.kind, to_cell(c.kind, values.get(c.key), TZ), TZ)
                for c in tab.schema.columns
            }
        tabs[key] = TabRows(tab.schema, rows)
    return LedgerView(tabs, dict(view.state))
