"""push: ticks -> events, lead PATCHes, notes and Deals totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sheetledger.config import Config
from sheetledger.crm.lookups import Lookups
from sheetledger.ledger.view import LedgerView, apply_changes
from sheetledger.sync.pull import plan_pull
from sheetledger.sync.push import PushPlan, deal_totals, method_labels, note_text, plan_push
from tests.unit.builders import (
    AMO,
    BANK_TEXT,
    CASH_TEXT,
    CONFIG,
    DELIVERY,
    FIELDS,
    FIRST_PAID,
    LOOKUPS,
    LOST,
    NEW,
    OTHER_PIPE,
    PIPE,
    WON,
    empty_view,
    lead,
    through_sheet,
)

TODAY = date(2024, 4, 10)
FIRST_RULE = AMO.status_rules.on_first_confirmation
PAID_RULE = AMO.status_rules.on_fully_paid
assert FIRST_RULE is not None and FIRST_RULE.status_id == FIRST_PAID
assert PAID_RULE is not None and PAID_RULE.status_id == WON


def ledger(*leads: dict[str, Any]) -> LedgerView:
    view = empty_view()
    return through_sheet(apply_changes(view, plan_pull(view, list(leads), LOOKUPS, CONFIG).changes))


def deal_lead(deal_id: int = 1001, *, status: int = NEW, price: int = 100_000) -> dict[str, Any]:
    return lead(
        deal_id,
        price=price,
        status=status,
        slots=[("30000", CASH_TEXT, date(2024, 4, 1)), ("70000", BANK_TEXT, date(2024, 5, 1))],
    )


def edit(view: LedgerView, payment_id: str, **values: Any) -> LedgerView:
    rows = view.tab("payments").rows
    rows[payment_id] = rows[payment_id] | values  # rows are never changed in place
    return view


def push(view: LedgerView, config: Config = CONFIG, lookups: Lookups = LOOKUPS) -> PushPlan:
    return plan_push(view, config, lookups, TODAY)


def after_push(view: LedgerView, plan: PushPlan) -> LedgerView:
    """The ledger once the CRM took every event: totals and marks written, read again."""
    view = apply_changes(view, plan.totals)
    return through_sheet(apply_changes(view, plan.marks_for(plan.events)))


def test_no_ticks_no_events_but_totals_are_computed() -> None:
    plan = push(ledger(deal_lead()))
    assert plan.events == [] and plan.lead_patches == {}
    assert plan.totals.merged_updates() == {
        ("deals", "1001"): {"confirmed_total": Decimal("0.00"), "balance_due": Decimal("100000.00")}
    }


def test_first_tick_confirms_with_seq_1_and_patches_the_lead() -> None:
    view = edit(
        ledger(deal_lead()),
        "1001:1",
        confirmed=True,
        confirmed_by="Ольга",
        confirmed_at=date(2024, 4, 9),
    )
    plan = push(view)
    (event,) = plan.events
    assert (event.payment_id, event.deal_id, event.kind, event.seq) == (
        "1001:1",
        1001,
        "confirm",
        1,
    )
    assert event.amount == Decimal("30000.00") and event.expected == Decimal("30000.00")
    assert event.previous is None
    assert event.method == CASH_TEXT
    assert (event.by, event.on) == ("Ольга", date(2024, 4, 9))
    assert event.marker == "sheetledger:1001:1#1"
    patch = plan.lead_patches[1001]
    assert patch["id"] == 1001
    assert patch["custom_fields_values"] == [
        {"field_id": FIELDS.confirmed_total, "values": [{"value": "30000.00"}]}
    ]
    assert patch["status_id"] == FIRST_PAID and patch["pipeline_id"] == PIPE
    assert plan.totals.merged_updates()[("deals", "1001")] == {
        "confirmed_total": Decimal("30000.00"),
        "balance_due": Decimal("70000.00"),
    }
    text = note_text(event)
    assert text.endswith("\nsheetledger:1001:1#1")
    assert "30 000,00 ₽" in text and "Д-1045" in text and "Ольга, 09.04.2024" in text
    assert "Ожидалось" not in text


def test_tick_without_a_date_or_name_uses_today_and_ledger() -> None:
    (event,) = push(edit(ledger(deal_lead()), "1001:1", confirmed=True)).events
    assert event.on == TODAY and event.by == "ledger"


def test_fully_paid_moves_to_won_with_the_pipeline() -> None:
    view = ledger(deal_lead())
    edit(view, "1001:1", confirmed=True)
    edit(view, "1001:2", confirmed=True)
    plan = push(view)
    assert [e.seq for e in plan.events] == [1, 1]
    patch = plan.lead_patches[1001]
    assert patch["status_id"] == WON and patch["pipeline_id"] == PIPE
    assert patch["custom_fields_values"][0]["values"] == [{"value": "100000.00"}]
    assert plan.totals.merged_updates()[("deals", "1001")]["balance_due"] == Decimal("0.00")


def test_second_confirmation_is_not_a_first_confirmation() -> None:
    view = ledger(deal_lead(price=200_000))
    edit(view, "1001:1", confirmed=True)
    view = after_push(view, push(view))
    view.tab("deals").rows["1001"] |= {"status_id": FIRST_PAID}
    edit(view, "1001:2", confirmed=True)
    plan = push(view)
    assert [(e.payment_id, e.seq) for e in plan.events] == [("1001:2", 1)]
    assert "status_id" not in plan.lead_patches[1001]  # not fully paid, not the first
    assert plan.lead_patches[1001]["custom_fields_values"][0]["values"] == [{"value": "100000.00"}]


def test_status_never_moves_backwards() -> None:
    view = ledger(deal_lead(status=DELIVERY))  # already past «Платеж подтвержден»
    edit(view, "1001:1", confirmed=True)
    patch = push(view).lead_patches[1001]
    assert "status_id" not in patch and "pipeline_id" not in patch
    assert patch["custom_fields_values"][0]["values"] == [{"value": "30000.00"}]


def test_status_sort_decides_what_is_backwards() -> None:
    view = edit(ledger(deal_lead(status=DELIVERY)), "1001:1", confirmed=True)
    swapped = Lookups(
        LOOKUPS.users,
        LOOKUPS.pipelines,
        LOOKUPS.statuses,
        {**LOOKUPS.status_sort, (PIPE, DELIVERY): 20},
    )
    assert push(view, lookups=swapped).lead_patches[1001]["status_id"] == FIRST_PAID


@pytest.mark.parametrize("closed", [WON, LOST])
def test_never_moves_a_closed_deal(closed: int) -> None:
    view = ledger(deal_lead(status=closed))
    for pid in ("1001:1", "1001:2"):
        edit(view, pid, confirmed=True)
    plan = push(view)
    assert len(plan.events) == 2
    patch = plan.lead_patches[1001]
    assert "status_id" not in patch
    assert patch["custom_fields_values"][0]["values"] == [{"value": "100000.00"}]


def test_received_amount_differs_from_expected() -> None:
    view = edit(ledger(deal_lead()), "1001:1", confirmed=True, received=Decimal("29500.00"))
    plan = push(view)
    (event,) = plan.events
    assert event.amount == Decimal("29500.00") and event.expected == Decimal("30000.00")
    text = note_text(event)
    assert "Ожидалось 30 000,00 ₽, получено 29 500,00 ₽" in text
    assert plan.lead_patches[1001]["custom_fields_values"][0]["values"] == [{"value": "29500.00"}]
    assert plan.totals.merged_updates()[("deals", "1001")] == {
        "confirmed_total": Decimal("29500.00"),
        "balance_due": Decimal("70500.00"),
    }


def test_untick_after_push_reverses() -> None:
    view = edit(ledger(deal_lead()), "1001:1", confirmed=True)
    view = after_push(view, push(view))
    row = view.tab("payments").rows["1001:1"]
    assert row["state"] == "pushed #1" and row["pushed_amount"] == Decimal("30000.00")
    edit(view, "1001:1", confirmed=False)
    plan = push(view)
    (event,) = plan.events
    assert (event.kind, event.seq, event.amount, event.previous) == (
        "reverse",
        2,
        Decimal("0.00"),
        Decimal("30000.00"),
    )
    assert event.marker == "sheetledger:1001:1#2"
    assert "отменено" in note_text(event) and "30 000,00 ₽" in note_text(event)
    assert plan.lead_patches[1001]["custom_fields_values"][0]["values"] == [{"value": "0.00"}]
    assert "status_id" not in plan.lead_patches[1001]  # never backwards
    marks = plan.marks_for(plan.events).merged_updates()[("payments", "1001:1")]
    assert marks == {"state": "reversed #2", "pushed_amount": None}
    view = after_push(view, plan)
    assert push(view).events == []
    # ticked again: a new confirmation, seq 3
    edit(view, "1001:1", confirmed=True)
    (again,) = push(view).events
    assert (again.kind, again.seq) == ("confirm", 3)


def test_untick_before_push_is_nothing() -> None:
    view = edit(ledger(deal_lead()), "1001:1", confirmed=False)
    assert push(view).events == []


def test_received_changed_after_push_corrects() -> None:
    view = edit(ledger(deal_lead()), "1001:1", confirmed=True)
    view = after_push(view, push(view))
    edit(view, "1001:1", received=Decimal("31000.00"))
    plan = push(view)
    (event,) = plan.events
    assert (event.kind, event.seq) == ("correct", 2)
    assert (event.previous, event.amount) == (Decimal("30000.00"), Decimal("31000.00"))
    text = note_text(event)
    assert "было 30 000,00 ₽, стало 31 000,00 ₽" in text and text.endswith("sheetledger:1001:1#2")
    assert plan.marks_for(plan.events).merged_updates()[("payments", "1001:1")] == {
        "state": "pushed #2",
        "pushed_amount": Decimal("31000.00"),
    }
    assert push(after_push(view, plan)).events == []


def test_tick_without_an_amount_is_a_problem_not_an_event() -> None:
    view = ledger(lead(1005, slots=[("много", CASH_TEXT, None)]))
    edit(view, "1005:1", confirmed=True)
    plan = push(view)
    assert plan.events == []
    assert any(p.startswith("1005:1: E_AMOUNT") for p in plan.problems)
    edit(view, "1005:1", received=Decimal("-5.00"))
    assert push(view).events == []


def test_row_without_a_deal_id_is_a_problem() -> None:
    view = ledger(deal_lead())
    edit(view, "1001:1", confirmed=True, deal_id=None)
    plan = push(view)
    assert plan.events == [] and any("E_DEAL" in p for p in plan.problems)


def test_deal_totals_count_ticked_rows_and_partial_receipts() -> None:
    view = ledger(deal_lead(), deal_lead(1002), deal_lead(1003))
    edit(view, "1001:1", confirmed=True, received=Decimal("100.00"))
    edit(view, "1001:2", confirmed=True)
    edit(view, "1002:1", confirmed=False, received=Decimal("5.00"))  # a partial receipt
    edit(view, "1003:1", confirmed=False, received=Decimal("0.00"))
    assert deal_totals(view) == {1001: Decimal("70100.00"), 1002: Decimal("5.00")}


def test_partial_receipt_is_pushed_once_and_follows_its_amount() -> None:
    view = edit(ledger(deal_lead()), "1001:1", received=Decimal("10000.00"))
    plan = push(view)
    (event,) = plan.events
    assert (event.kind, event.seq, event.amount, event.previous) == (
        "partial",
        1,
        Decimal("10000.00"),
        None,
    )
    assert "частично" in note_text(event) and "10 000,00 ₽ из 30 000,00 ₽" in note_text(event)
    assert plan.lead_patches[1001]["custom_fields_values"][0]["values"] == [{"value": "10000.00"}]
    view = after_push(view, plan)
    assert view.tab("payments").rows["1001:1"]["state"] == "partial #1"
    assert push(view).events == []
    edit(view, "1001:1", received=Decimal("12000.00"))
    (more,) = push(view).events
    assert (more.kind, more.seq, more.previous, more.amount) == (
        "partial",
        2,
        Decimal("10000.00"),
        Decimal("12000.00"),
    )
    edit(view, "1001:1", received=None)
    (gone,) = push(view).events
    assert (gone.kind, gone.seq, gone.previous) == ("reverse", 2, Decimal("10000.00"))
    edit(view, "1001:1", confirmed=True, received=None)
    (full,) = push(view).events
    assert (full.kind, full.amount) == ("confirm", Decimal("30000.00"))


def test_untick_after_push_with_a_receipt_left_is_one_partial_event() -> None:
    view = edit(ledger(deal_lead()), "1001:1", confirmed=True)
    view = after_push(view, push(view))
    edit(view, "1001:1", confirmed=False, received=Decimal("100.00"))
    plan = push(view)
    (event,) = plan.events
    assert (event.kind, event.seq, event.previous, event.amount) == (
        "partial",
        2,
        Decimal("30000.00"),
        Decimal("100.00"),
    )
    assert push(after_push(view, plan)).events == []


def test_cancelled_payment_ticked_later_is_confirmed() -> None:
    view = ledger({**deal_lead(), "status_id": LOST})
    edit(view, "1001:1", confirmed=True)
    (event,) = push(view).events
    assert event.kind == "confirm" and event.seq == 1
    assert "status_id" not in push(view).lead_patches[1001]


def test_marks_for_only_the_events_given() -> None:
    view = ledger(deal_lead())
    edit(view, "1001:1", confirmed=True)
    edit(view, "1001:2", confirmed=True)
    plan = push(view)
    marks = plan.marks_for(plan.events[:1]).merged_updates()
    assert marks == {
        ("payments", "1001:1"): {"state": "pushed #1", "pushed_amount": Decimal("30000.00")}
    }
    view = after_push(view, PushPlan(plan.events[:1], totals=plan.totals))
    assert [e.payment_id for e in push(view).events] == ["1001:2"]


def test_no_confirmed_total_field_and_no_status_move_means_no_patch() -> None:
    amo = AMO.model_copy(
        update={
            "fields": FIELDS.model_copy(update={"confirmed_total": None}),
            "status_rules": AMO.status_rules.model_copy(
                update={"on_first_confirmation": None, "on_fully_paid": None}
            ),
        }
    )
    config = CONFIG.model_copy(update={"amocrm": amo})
    view = edit(ledger(deal_lead()), "1001:1", confirmed=True)
    plan = push(view, config=config)
    assert len(plan.events) == 1 and plan.lead_patches == {}


def test_method_labels_use_the_crm_option_text() -> None:
    labels = method_labels(CONFIG)
    assert labels["cash"] == CASH_TEXT and labels["bank"] == BANK_TEXT
    assert set(labels) == {"cash", "card", "terminal", "bank", "credit"}


def test_a_status_of_another_pipeline_is_never_asked_for() -> None:
    # A deal in a second synced pipeline: «Платеж подтвержден» (FIRST_PAID) is not one of its
    # statuses, and amoCRM would refuse the move; the total still goes, fully paid still wins.
    view = edit(ledger(deal_lead()), "1001:1", confirmed=True)
    view.tab("deals").rows["1001"] = view.tab("deals").rows["1001"] | {
        "pipeline_id": OTHER_PIPE,
        "status_id": 7000201,
    }
    patch = push(view).lead_patches[1001]
    assert "status_id" not in patch
    assert patch["custom_fields_values"][0]["values"] == [{"value": "30000.00"}]
    edit(view, "1001:2", confirmed=True)
    assert push(view).lead_patches[1001]["status_id"] == WON
