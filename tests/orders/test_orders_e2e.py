"""Payment orders through the sync cycle, on the sandbox with the real clients.

A requester's Requests row becomes an order; the accountant pays it in her cabinet; amoCRM
gets one note and the deal's «costs paid»; unticking reverses; a crash between the push
and the write leaves one note; a requester sees only their own orders; an overdue order is
reminded of once a day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sheetledger.connect import build_order_news
from sheetledger.errors import SheetledgerError
from sheetledger.ledger.view import LedgerChanges, RowKey
from sheetledger.orders.book import OrderBook
from sheetledger.orders.model import Order, OrderDraft, OrderEvent, OrderId, Payment
from sheetledger.sandbox.runner import ACCOUNTANT_ID, OWNER_ID, SUPPLY_ID
from sheetledger.sync.cycle import CycleMemory, CycleReport
from tests.e2e.world import World, make_world


class News:
    """Records what the cycle asked to tell (the ``OrderNews`` seam, as notify implements it)."""

    def __init__(self) -> None:
        self.told: list[tuple[str, OrderEvent]] = []
        self.orders: dict[str, Order] = {}

    def tell(self, order: Order, event: OrderEvent) -> None:
        self.told.append((order.id, event))
        self.orders[order.id] = order

    def of(self, event: OrderEvent) -> list[str]:
        return [oid for oid, e in self.told if e is event]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    w.ledger.sleep = lambda seconds: None
    yield w
    w.store.close()
    w.box.stop(save=False)


def _sync(world: World, news: News, **kwargs: Any) -> CycleReport:
    report = world.sync(news=news, **kwargs)
    assert report.problems == [], report.problems
    return report


def _requests(world: World) -> dict[str, dict[str, Any]]:
    return {r["Order ID"]: r for r in world.cabinet_rows("supply", "requests") if r["Order ID"]}


def _orders_tab(world: World) -> dict[str, dict[str, Any]]:
    return {
        r["Order ID"]: r
        for r in world.cabinet_rows("accountant", "cabinet_orders")
        if r["Order ID"]
    }


def _invoices(world: World) -> dict[str, dict[str, Any]]:
    return {r["Order ID"]: r for r in world.rows("invoices") if r["Order ID"]}


def _costs_paid(world: World, deal_id: int) -> Decimal | None:
    lead = world.crm.lead(deal_id) or {}
    for entry in lead.get("custom_fields_values") or ():
        if entry["field_id"] == world.amo_info["fields"]["costs_paid"]:
            return Decimal(str(entry["values"][0]["value"]))
    return None


def _status(world: World, deal_id: int) -> int:
    return int((world.crm.lead(deal_id) or {})["status_id"])


def _request(world: World, news: News, amount: str = "12000", contract: str = "1045") -> str:
    """The supply manager fills the first empty Requests row and ticks Submit."""
    _sync(world, news)
    blank = next(oid for oid, r in _requests(world).items() if r["Submit"] is not True)
    for header, value in (
        ("Amount", amount),
        ("Supplier", "ООО «Фурнитура-Опт»"),
        ("Purpose", "фурнитура"),
        ("Contract no", contract),
        ("Bill link", "https://drive.example/bill-77"),
        ("Submit", "TRUE"),
    ):
        world.cabinet_type("supply", "requests", blank, header, value)
    _sync(world, news)
    return blank


def test_a_requests_row_becomes_one_order_and_shows_its_state(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    oid = _request(world, news)
    order = _invoices(world)[oid]
    assert order["Amount"] == 12000 and order["Deal ID"] == deal
    assert order["Requested by"] == "Павел (снабжение)"
    assert order["Source"] == f"rq:supply:{oid}"
    assert _requests(world)[oid]["State"] == "new"
    assert oid in _orders_tab(world)  # the accountant sees it to pay
    assert news.of(OrderEvent.CREATED) == [oid]
    blanks = [r for r in _requests(world).values() if r["Submit"] is not True]
    assert len(blanks) == 3  # a fresh empty row took the used one's place
    for _ in range(2):
        _sync(world, news)
    assert news.of(OrderEvent.CREATED) == [oid]  # told once
    assert len(_invoices(world)) == 1


def test_paying_in_the_cabinet_makes_one_note_and_the_costs_field(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    oid = _request(world, news)
    world.cabinet_type("accountant", "cabinet_orders", oid, "Paid", "TRUE")
    world.cabinet_type("accountant", "cabinet_orders", oid, "Paid from", "р/с")
    _sync(world, news)
    master = _invoices(world)[oid]
    assert master["Paid"] is True and master["Paid by"] == "Бухгалтер"
    assert master["Pushed"] == "paid #1 12000.00"
    notes = world.notes(deal)
    assert len(notes) == 1
    assert "ООО «Фурнитура-Опт»" in notes[0] and "12 000,00 ₽" in notes[0]
    assert "https://drive.example/bill-77" in notes[0] and f"sheetledger:{oid}#1" in notes[0]
    assert _costs_paid(world, deal) == Decimal("12000")
    assert _status(world, deal) == world.amo_info["statuses"]["Производство"]
    assert news.of(OrderEvent.PAID) == [oid]
    assert _requests(world)[oid]["State"].startswith("paid on ")
    settled = _sync(world, news)
    assert settled.cells_written == 0, settled.changes  # nothing flaps from cycle to cycle
    assert len(world.notes(deal)) == 1 and news.of(OrderEvent.PAID) == [oid]

    # Unticked after the push: a reversal, the sum recomputed; the status stays.
    world.cabinet_type("accountant", "cabinet_orders", oid, "Paid", "FALSE")
    _sync(world, news)
    notes = world.notes(deal)
    assert len(notes) == 2 and f"sheetledger:{oid}#2" in notes[1] and "отменена" in notes[1]
    assert _costs_paid(world, deal) == Decimal("0")
    assert _status(world, deal) == world.amo_info["statuses"]["Производство"]
    assert _invoices(world)[oid]["Pushed"] == "reversed #2"


def test_a_second_order_adds_to_the_deals_costs_and_never_moves_a_closed_deal(
    world: World,
) -> None:
    news = News()
    deal = world.deal("1045", status="Доставка и сборка")
    first = _request(world, news, "1000.50")
    second = _request(world, news, "2000")
    for oid in (first, second):
        world.cabinet_type("accountant", "cabinet_orders", oid, "Paid", "TRUE")
    _sync(world, news)
    assert _costs_paid(world, deal) == Decimal("3000.50")
    # «Доставка и сборка» comes after «Производство»: the rule never moves a deal back.
    assert _status(world, deal) == world.amo_info["statuses"]["Доставка и сборка"]
    assert len(world.notes(deal)) == 2


def test_an_order_without_a_deal_changes_nothing_in_amocrm(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    oid = _request(world, news, contract="")
    world.cabinet_type("accountant", "cabinet_orders", oid, "Paid", "TRUE")
    world.box.amo.counters.reset()
    _sync(world, news)
    assert world.notes(deal) == []
    writes = {k: v for k, v in world.box.amo.counters.by_kind.items() if k == "write"}
    assert writes == {}
    assert _invoices(world)[oid]["Pushed"] in ("", None)
    assert news.of(OrderEvent.PAID) == [oid]


def test_a_crash_between_the_push_and_the_write_leaves_one_note(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    oid = _request(world, news)
    world.cabinet_type("accountant", "cabinet_orders", oid, "Paid", "TRUE")
    # amoCRM takes the note; then Google refuses the write that records it.
    world.box.sheets.fail_next(400, match="batchUpdate")
    with pytest.raises(SheetledgerError):
        world.sync(news=news)
    assert len(world.notes(deal)) == 1
    assert _invoices(world)[oid]["Pushed"] in ("", None)
    _sync(world, news)
    assert len(world.notes(deal)) == 1
    assert _invoices(world)[oid]["Pushed"] == "paid #1 12000.00"
    assert world.store.journal_size() == 0


def test_a_requester_sees_only_their_own_orders(world: World) -> None:
    news = News()
    book = OrderBook(world.ledger, world.store)
    when = datetime(2026, 11, 27, 10, 0)
    theirs = book.create(
        OrderDraft(f"tg:{SUPPLY_ID}:5", "Павел (снабжение)", Decimal("500"), "ИП Сидоров"), when
    )
    other = book.create(
        OrderDraft(f"tg:{OWNER_ID}:9", "Ольга (владелец)", Decimal("90000"), "Аренда"), when
    )
    typed = _request(world, news)
    shown = _requests(world)
    assert theirs.id in shown and typed in shown
    assert other.id not in shown
    assert shown[theirs.id]["Amount"] == 500 and shown[theirs.id]["Submit"] is True
    assert {theirs.id, other.id, typed} <= set(_orders_tab(world))  # the accountant sees all
    # The bot tells of its own orders; the cycle tells of the Requests one only.
    assert news.of(OrderEvent.CREATED) == [typed]


def test_an_overdue_order_is_reminded_once_a_day(world: World) -> None:
    news = News()
    oid = _request(world, news)
    due = world.now().date() - timedelta(days=1)
    title = world.ledger.tabs["invoices"][0]
    row = world.row_number("invoices", oid)
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!H{row}", f"{due:%d.%m.%Y}")
    memory = CycleMemory()
    _sync(world, news, memory=memory)
    assert news.of(OrderEvent.OVERDUE) == [oid]
    assert _invoices(world)[oid]["State"].startswith("E_OVERDUE")
    for _ in range(3):
        _sync(world, news, memory=memory)
    assert news.of(OrderEvent.OVERDUE) == [oid]
    world.clock.advance(24 * 3600)
    _sync(world, news, memory=memory)
    assert news.of(OrderEvent.OVERDUE) == [oid, oid]


def test_an_overdue_reminder_waits_for_its_hour(world: World) -> None:
    news = News()
    oid = _request(world, news)
    title = world.ledger.tabs["invoices"][0]
    row = world.row_number("invoices", oid)
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!H{row}", "01.01.2026")
    # 02:00 in Yekaterinburg (UTC+5): before orders.remind_at (09:30).
    night = datetime(2026, 11, 28, 21, 0, tzinfo=UTC).timestamp()
    world.clock.advance(night - world.clock())
    _sync(world, news)
    assert news.of(OrderEvent.OVERDUE) == []
    world.clock.advance(8 * 3600)
    _sync(world, news)
    assert news.of(OrderEvent.OVERDUE) == [oid]
    assert date(2026, 1, 1) < world.now().date()


def test_the_paid_button_and_the_cabinet_tick_make_one_note(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    oid = _request(world, news)
    book = OrderBook(world.ledger, world.store)
    paid = book.pay(OrderId(oid), Payment(world.now().date(), Decimal("12000"), "р/с", by="Ирина"))
    assert paid.state.value == "paid"
    world.cabinet_type("accountant", "cabinet_orders", oid, "Paid", "TRUE")
    _sync(world, news)
    _sync(world, news)
    assert len(world.notes(deal)) == 1
    assert "Ирина" in world.notes(deal)[0]
    assert news.of(OrderEvent.PAID) == [oid]
    assert _orders_tab(world)[oid]["Paid"] is True


def test_a_row_typed_into_invoices_is_an_order_and_told_once(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    _sync(world, news)
    title = world.ledger.tabs["invoices"][0]
    for column, value in (("A", "СЧ-1"), ("D", "ИП Петров"), ("G", "2500"), ("J", "№ 1045")):
        world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!{column}2", value)
    _sync(world, news)
    row = _invoices(world)["СЧ-1"]
    assert row["Deal ID"] == deal and row["Source"] == "sheet:СЧ-1" and row["State"] == "new"
    assert news.of(OrderEvent.CREATED) == ["СЧ-1"]
    _sync(world, news)
    assert news.of(OrderEvent.CREATED) == ["СЧ-1"]


def test_with_the_real_notifier_each_person_is_told_once(world: World) -> None:
    """The cycle tells ``OrderNotifier`` (sheetledger/notify/); its flush sends each once."""
    for person in (ACCOUNTANT_ID, SUPPLY_ID):
        world.box.telegram.open_chat(person)
    notifier = build_order_news(
        world.config, world.store, now=lambda: datetime.fromtimestamp(world.clock(), UTC)
    )
    deal = world.deal("1045")
    world.sync(news=notifier)
    blank = next(oid for oid, r in _requests(world).items() if r["Submit"] is not True)
    for header, value in (("Amount", "12000"), ("Supplier", "ООО Опт"), ("Contract no", "1045")):
        world.cabinet_type("supply", "requests", blank, header, value)
    world.cabinet_type("supply", "requests", blank, "Submit", "TRUE")
    for _ in range(2):
        world.sync(news=notifier)
        notifier.flush()
    accountant = world.box.telegram.sent(ACCOUNTANT_ID)
    assert len(accountant) == 1 and blank in str(accountant[0])
    assert len(world.box.sms.messages()) == 1  # the sandbox's rule: always
    world.cabinet_type("accountant", "cabinet_orders", blank, "Paid", "TRUE")
    for _ in range(2):
        world.sync(news=notifier)
        notifier.flush()
    assert len(world.box.telegram.sent(SUPPLY_ID)) == 1  # the requester: paid
    assert len(world.box.telegram.sent(ACCOUNTANT_ID)) == 1
    assert len(world.notes(deal)) == 1


def test_a_renamed_invoices_column_stops_the_orders_not_the_payments(world: World) -> None:
    news = News()
    oid = _request(world, news)
    title = world.ledger.tabs["invoices"][0]
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!O1", "Оплачено")  # was «Paid»
    world.cabinet_type("accountant", "cabinet_orders", oid, "Paid", "TRUE")
    report = world.sync(news=news)
    assert any("payment orders not synced" in p for p in report.problems), report.problems
    assert _invoices_raw(world)[oid][14] is False  # nothing written under the wrong header
    assert news.of(OrderEvent.PAID) == []


def _invoices_raw(world: World) -> dict[str, list[Any]]:
    title = world.ledger.tabs["invoices"][0]
    values = world.box.sheets.values(world.spreadsheet_id, title)
    return {str(row[0]): row for row in values[1:] if row and row[0]}


def test_a_row_typed_below_the_ready_ones_gets_an_id_and_becomes_one_order(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    _sync(world, news)
    sheets = world.cabinets["supply"]
    values = world.box.sheets.values(sheets.spreadsheet_id, "Requests")
    row = len(values) + 2  # a gap, then a row of its own, with no Order ID
    for column, value in (("B", "777"), ("C", "ИП Гвоздев"), ("G", "1045"), ("I", "TRUE")):
        world.box.sheets.type_cell(sheets.spreadsheet_id, f"'Requests'!{column}{row}", value)
    world.box.sheets.type_cell(sheets.spreadsheet_id, f"'Requests'!B{row + 1}", "5")  # no Submit
    for _ in range(3):
        _sync(world, news)
    orders = [r for r in _invoices(world).values() if r["Supplier"] == "ИП Гвоздев"]
    assert len(orders) == 1 and orders[0]["Deal ID"] == deal
    oid = orders[0]["Order ID"]
    typed = world.box.sheets.values(sheets.spreadsheet_id, "Requests")[row - 1]
    assert typed[0] == oid and typed[-1] == "new"  # the ID and the state, on the typed row
    shown = [r for r in world.cabinet_rows("supply", "requests") if r["Order ID"] == oid]
    assert len(shown) == 1  # not shown twice
    left = world.box.sheets.values(sheets.spreadsheet_id, "Requests")[row]
    assert left[0] and left[1] == 5 and left[-1] == "fill in the row and tick Submit"
    assert news.of(OrderEvent.CREATED) == [oid]


def test_a_row_key_is_never_written_over_an_id_a_person_typed_meanwhile(world: World) -> None:
    sheets = world.cabinets["supply"]
    sid = sheets.spreadsheet_id
    world.box.sheets.type_cell(sid, "'Requests'!B2", "100")
    view = sheets.read()
    assert list(view.tab("requests").unkeyed) == [2]
    world.box.sheets.type_cell(sid, "'Requests'!A2", "МОЙ-1")  # typed between read and write
    changes = LedgerChanges(keys=[RowKey("requests", 2, "O-1", {"state": "x"})])
    sheets.write(changes)
    assert world.box.sheets.values(sid, "Requests")[1][:2] == ["МОЙ-1", 100]
    world.box.sheets.type_cell(sid, "'Requests'!B3", "200")
    view = sheets.read()
    sheets.write(LedgerChanges(keys=[RowKey("requests", 3, "O-2", {"state": "x"})]))
    row = world.box.sheets.values(sid, "Requests")[2]
    assert row[0] == "O-2" and row[1] == 200 and row[-1] == "x"


def test_rejecting_in_the_cabinet_tells_the_requester_the_reason(world: World) -> None:
    news = News()
    deal = world.deal("1045")
    oid = _request(world, news)
    world.cabinet_type("accountant", "cabinet_orders", oid, "Reason", "нет оригинала счёта")
    world.cabinet_type("accountant", "cabinet_orders", oid, "Reject", "TRUE")
    _sync(world, news)
    _sync(world, news)
    assert news.of(OrderEvent.REJECTED) == [oid]
    assert news.orders[oid].reason == "нет оригинала счёта"
    assert news.orders[oid].draft.requester_chat == SUPPLY_ID
    assert _requests(world)[oid]["State"] == "rejected: нет оригинала счёта"
    assert _invoices(world)[oid]["Reject"] is True
    assert world.notes(deal) == []  # a rejected order changes nothing in amoCRM
