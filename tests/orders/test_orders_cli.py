"""``sheetledger init`` prepares the orders' tabs; ``sheetledger orders`` lists them."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import yaml

from sheetledger.cli import main
from sheetledger.connect import build_google, master_ledger, open_state
from sheetledger.orders.book import OrderBook
from sheetledger.orders.command import select_orders
from sheetledger.orders.model import Order, OrderDraft, OrderId, Payment
from sheetledger.sandbox.runner import Sandbox


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The exit code and what the command printed on stdout (logs go to stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_init_prepares_invoices_orders_and_requests(
    box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, "-c", str(box.config_path), "init")
    assert code == 0, out
    config = box.load_config()
    master = {s.title for s in box.sheets.spreadsheets[config.google.spreadsheet_id].sheets}
    assert config.google.tabs.invoices in master
    cabinets = box.info["google"]["cabinets"]
    accountant = {s.title for s in box.sheets.spreadsheets[cabinets["accountant"]].sheets}
    supply = {s.title for s in box.sheets.spreadsheets[cabinets["supply"]].sheets}
    assert {"Payments", "Orders"} <= accountant
    assert "Requests" in supply and "Payments" not in supply  # a requester sees no payments
    header = box.sheets.values(cabinets["supply"], "Requests")[0]
    assert header[:2] == ["Order ID", "Amount"] and header[-2:] == ["Submit", "State"]


def test_orders_lists_open_and_overdue_as_json(
    box: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")  # the table's cells unfolded
    cfg = str(box.config_path)
    assert _run(capsys, "-c", cfg, "init")[0] == 0
    config = box.load_config()
    today = datetime.now(config.tz).date()
    store = open_state(config)
    try:
        book = OrderBook(master_ledger(config, build_google(config)), store)
        late = book.create(
            OrderDraft(
                "tg:1:1", "Павел", Decimal("12000.50"), "ООО «Фурнитура»", due=today - timedelta(1)
            ),
            datetime.now(),
        )
        soon = book.create(
            OrderDraft("tg:1:2", "Павел", Decimal("300"), "<b>ИП</b>", due=today + timedelta(5)),
            datetime.now(),
        )
        paid = book.create(OrderDraft("tg:1:3", "Павел", Decimal("10")), datetime.now())
        book.pay(paid.id, Payment(today, Decimal("10"), "касса"))
    finally:
        store.close()

    code, out = _run(capsys, "-c", cfg, "orders", "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert [o["id"] for o in listed] == [late.id, soon.id, paid.id]  # open first, by due day
    assert listed[0]["amount"] == "12000.50" and listed[0]["overdue"] is True
    assert listed[2]["state"] == "paid" and listed[2]["paid_from"] == "касса"

    code, out = _run(capsys, "-c", cfg, "orders", "--overdue", "--json")
    assert [o["id"] for o in json.loads(out)] == [late.id]

    code, out = _run(capsys, "-c", cfg, "orders")
    assert code == 0 and "E_OVERDUE" in out and "<b>ИП</b>" in out  # text, never markup


def test_old_decided_orders_drop_out_of_the_list() -> None:
    today = date(2026, 12, 2)
    old = Order(OrderId("O-1"), datetime(2026, 10, 1), OrderDraft("s1", "x", Decimal("1")))
    recent = old.paid(Payment(today - timedelta(days=3), Decimal("1")))
    stale = Order(OrderId("O-2"), datetime(2026, 10, 1), OrderDraft("s2", "x", Decimal("1")))
    stale = stale.paid(Payment(today - timedelta(days=30), Decimal("1")))
    chosen = select_orders([stale, recent, old], today, overdue=False, recent_days=14)
    assert [o.id for o in chosen] == ["O-1", "O-1"] and chosen[0].payment is None


def test_check_knows_the_costs_field_and_the_first_paid_order_rule(
    box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    info = box.info["amocrm"]
    data = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
    data["amocrm"]["fields"]["costs_paid"] = info["fields"]["contract_no"]  # a text field
    data["amocrm"]["status_rules"]["on_first_paid_order"] = {"status_id": 4242}
    box.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out = _run(capsys, "-c", str(box.config_path), "check")
    assert code == 1
    assert "amocrm.fields.costs_paid" in out and "expected numeric or monetary" in out
    assert "amocrm.status_rules.on_first_paid_order: status 4242" in out
