"""The orders' planner alone: snapshots in, operations out (no I/O)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sheetledger.config import Cabinet, Config, StatusMove
from sheetledger.ledger.tabs import DEALS, INVOICES, REQUESTS
from sheetledger.ledger.view import LedgerView, TabRows
from sheetledger.orders.cabinets import BLANK_REQUEST_ROWS, plan_order_mirror
from sheetledger.orders.model import OrderEvent
from sheetledger.orders.plan import OrdersInput, Pushed, PushKind, marked_orders, plan_orders
from tests.unit.builders import CONFIG, DELIVERY, FIRST_PAID, LOOKUPS, LOST, NEW, PIPE, WON

TODAY = date(2026, 12, 2)
MORNING = datetime(2026, 12, 2, 10, 0)
COSTS = CONFIG.amocrm.fields.costs_paid


def _config(rule: int | None = FIRST_PAID) -> Config:
    rules = CONFIG.amocrm.status_rules.model_copy(
        update={"on_first_paid_order": StatusMove(status_id=rule) if rule else None}
    )
    amo = CONFIG.amocrm.model_copy(update={"status_rules": rules})
    return CONFIG.model_copy(update={"amocrm": amo})


def _order(oid: str, **cells: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c.key: None for c in INVOICES.columns}
    row |= {
        "id": oid,
        "created": datetime(2026, 12, 1, 9, 0),
        "requested_by": "Павел",
        "supplier": "ООО Опт",
        "amount": Decimal("1000"),
        "paid": False,
        "reject": False,
        "source": f"tg:1:{oid}",
        "notified": "created",
    }
    return row | cells


def _view(*orders: dict[str, Any], status: int = NEW) -> LedgerView:
    deal = {c.key: None for c in DEALS.columns} | {
        "id": 7,
        "name": "Договор 1045",
        "contract_no": "1045",
        "pipeline_id": PIPE,
        "status_id": status,
    }
    return LedgerView(
        {
            "invoices": TabRows(INVOICES, {o["id"]: o for o in orders}),
            "deals": TabRows(DEALS, {"7": deal}),
        }
    )


def _plan(view: LedgerView, config: Config | None = None, now: datetime = MORNING) -> Any:
    given = OrdersInput(config or _config(), view, (), LOOKUPS, now.date(), now, {})
    return plan_orders(given)


def test_pushed_reads_back_what_it_writes() -> None:
    for pushed in (Pushed(PushKind.PAY, 1, Decimal("12000.00")), Pushed(PushKind.REVERSE, 2)):
        assert Pushed.parse(pushed.render()) == pushed
    assert Pushed.parse("") == Pushed() and Pushed.parse("typed by someone").kind is None


def test_a_paid_deal_order_is_one_event_with_the_deals_absolute_costs() -> None:
    view = _view(
        _order("O-1", deal_id=7, paid=True, paid_on=TODAY),
        _order(
            "O-2",
            deal_id=7,
            paid=True,
            paid_on=TODAY,
            amount=Decimal("250.50"),
            pushed="paid #1 250.50",
        ),
        _order("O-3", paid=True, paid_on=TODAY),  # no deal: nothing for amoCRM
    )
    plan = _plan(view)
    assert [(p.order.id, p.kind, p.seq) for p in plan.pushes] == [("O-1", PushKind.PAY, 1)]
    assert plan.notes()[0].marker == "sheetledger:O-1#1"
    patch = plan.lead_patches[7]
    assert patch["custom_fields_values"] == [{"field_id": COSTS, "values": [{"value": "1250.50"}]}]
    assert "status_id" not in patch  # not the deal's first paid order: O-2 was pushed before


def test_unticking_after_the_push_is_a_reversal_and_the_sum_recomputed() -> None:
    plan = _plan(_view(_order("O-1", deal_id=7, pushed="paid #1 1000.00")))
    assert [(p.kind, p.seq, p.previous) for p in plan.pushes] == [
        (PushKind.REVERSE, 2, Decimal("1000.00"))
    ]
    assert plan.lead_patches[7]["custom_fields_values"][0]["values"] == [{"value": "0.00"}]
    marks = plan.marks_for(frozenset({("O-1", 2)}), TODAY)
    assert marks.updates[0].values == {"pushed": "reversed #2", "state": "new · amoCRM reversed #2"}


@pytest.mark.parametrize(
    ("status", "moved"),
    [(NEW, True), (DELIVERY, False), (FIRST_PAID, False), (WON, False), (LOST, False)],
)
def test_the_first_paid_order_moves_a_deal_forward_only(status: int, moved: bool) -> None:
    plan = _plan(_view(_order("O-1", deal_id=7, paid=True, paid_on=TODAY), status=status))
    patch = plan.lead_patches[7]
    assert ("status_id" in patch) is moved
    if moved:
        assert patch["status_id"] == FIRST_PAID and patch["pipeline_id"] == PIPE


def test_both_ticks_are_held_back_and_said() -> None:
    plan = _plan(_view(_order("O-1", deal_id=7, paid=True, reject=True)))
    assert plan.pushes == [] and plan.news == []
    state = plan.changes.merged_updates()[("invoices", "O-1")]["state"]
    assert state.startswith("E_TICKS")


def test_news_is_told_once_per_event_and_overdue_once_a_day() -> None:
    late = _order("O-1", due=date(2026, 12, 1), notified="", source="rq:supply:O-1")
    plan = _plan(_view(late))
    assert [e for _, e in plan.news] == [OrderEvent.CREATED, OrderEvent.OVERDUE]
    values = plan.changes.merged_updates()[("invoices", "O-1")]
    assert values["notified"] == "created overdue:2026-12-02"
    assert values["state"].startswith("E_OVERDUE due 01.12.2026")
    again = _plan(_view(late | {"notified": values["notified"]}))
    assert again.news == []
    tomorrow = datetime(2026, 12, 3, 10, 0)
    later = _plan(_view(late | {"notified": values["notified"]}), now=tomorrow)
    assert [e for _, e in later.news] == [OrderEvent.OVERDUE]
    early = _plan(_view(late | {"notified": values["notified"]}), now=datetime(2026, 12, 3, 8))
    assert early.news == []  # before orders.remind_at


def test_paid_and_rejected_are_told_to_the_requester_once() -> None:
    plan = _plan(_view(_order("O-1", paid=True), _order("O-2", reject=True, reason="дубль")))
    assert sorted((o.id, e) for o, e in plan.news) == [
        ("O-1", OrderEvent.PAID),
        ("O-2", OrderEvent.REJECTED),
    ]
    updates = plan.changes.merged_updates()
    assert updates[("invoices", "O-1")]["paid_on"] == MORNING.date()
    assert updates[("invoices", "O-2")]["notified"] == "created rejected:2026-12-02"


def test_a_requesters_tab_shows_their_orders_only_and_keeps_empty_rows() -> None:
    cabinet = Cabinet(name="supply", spreadsheet_id="x", users=(5,), requests=True)
    master = _view(
        _order("O-1", source="tg:5:1", requested_by="Павел"),
        _order("O-2", source="tg:6:1", requested_by="Ольга"),
        _order("O-3", source="rq:supply:O-3", requested_by="Павел"),
        _order("O-4", source="rq:other:O-4", requested_by="Павел"),
    )
    cabinet_view = LedgerView({"requests": TabRows(REQUESTS, {})})
    changes = plan_order_mirror(master, cabinet_view, cabinet, _config(), TODAY, {5: "Павел"})
    appended = [a.row_id for a in changes.appends]
    assert appended[:2] == ["O-1", "O-3"]
    assert len(appended) == 2 + BLANK_REQUEST_ROWS
    blanks = [a for a in changes.appends if a.row_id not in ("O-1", "O-3")]
    assert all(a.values["submit"] is False for a in blanks)
    assert len({a.row_id for a in blanks}) == BLANK_REQUEST_ROWS


def test_marked_orders_say_what_amocrm_holds_for_the_journal() -> None:
    view = _view(
        _order("O-1", pushed="paid #1 1000.00"),
        _order("O-2", pushed="reversed #2"),
        _order("O-3"),
    )
    assert marked_orders(view.tab("invoices")) == {"O-1": 1, "O-2": 2}


def test_a_requesters_long_decided_orders_leave_their_tab() -> None:
    cabinet = Cabinet(name="supply", spreadsheet_id="x", users=(5,), requests=True)
    old = _order("O-1", source="tg:5:1", paid=True, paid_on=date(2026, 10, 1))
    recent = _order("O-2", source="tg:5:2", paid=True, paid_on=date(2026, 11, 30))
    tab = TabRows(REQUESTS, {oid: {"id": oid, "submit": True} for oid in ("O-1", "O-2")})
    changes = plan_order_mirror(
        _view(old, recent), LedgerView({"requests": tab}), cabinet, _config(), TODAY, {}
    )
    assert changes.removes == [("requests", "O-1")]
    assert ("requests", "O-2") not in changes.removes


def test_a_paid_amount_changed_after_the_push_is_a_correction() -> None:
    row = _order(
        "O-1",
        deal_id=7,
        paid=True,
        paid_on=TODAY,
        paid_amount=Decimal("900"),
        pushed="paid #1 1000.00",
    )
    plan = _plan(_view(row))
    assert [(p.kind, p.seq, p.amount, p.previous) for p in plan.pushes] == [
        (PushKind.CORRECT, 2, Decimal("900.00"), Decimal("1000.00"))
    ]
    assert "было 1 000,00 ₽, стало 900,00 ₽" in plan.notes()[0].text
    assert plan.lead_patches[7]["custom_fields_values"][0]["values"] == [{"value": "900.00"}]


def test_a_cabinet_must_show_something_and_a_requests_form_names_its_requesters() -> None:
    with pytest.raises(ValueError, match="needs payment methods"):
        Cabinet(name="x", spreadsheet_id="x")
    with pytest.raises(ValueError, match="requesters' Telegram ids"):
        Cabinet(name="x", spreadsheet_id="x", requests=True)
    assert Cabinet(name="x", spreadsheet_id="x", users=(1,), requests=True).methods == ()
