"""Repeated IDs, planned: flags on every copy, nothing pushed from them, flags cleared after."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sheetledger.ledger.tabs import CABINET_PAYMENTS
from sheetledger.sync.cabinets import merge_edits, plan_mirror
from sheetledger.sync.duplicates import flagged, hold_copies, plan_copies, unflagged
from sheetledger.sync.ledger_view import LedgerView, TabRows, apply_changes
from sheetledger.sync.pull import plan_pull
from sheetledger.sync.push import plan_push
from tests.unit.builders import CASH_TEXT, CONFIG, LOOKUPS, empty_view, lead

TODAY = date(2024, 4, 10)


def _ledger() -> LedgerView:
    view = empty_view()
    leads = [lead(1001, slots=[(30_000, CASH_TEXT, date(2024, 4, 1))])]
    view = apply_changes(view, plan_pull(view, leads, LOOKUPS, CONFIG).changes)
    pays = view.tab("payments")
    pays.rows["1001:1"] |= {
        "confirmed": True,
        "pushed_amount": Decimal("30000.00"),
        "state": "pushed #1 · E_CHANGED amount changed in CRM",
    }
    return view


def test_the_flag_goes_in_front_of_the_row_s_own_problem_and_comes_off_again():
    text = flagged("E_CHANGED amount changed in CRM", 2)
    assert text.startswith("E_DUPLICATE 2 rows") and text.endswith(
        "E_CHANGED amount changed in CRM"
    )
    assert unflagged(text) == "E_CHANGED amount changed in CRM"
    assert unflagged(flagged(text, 3)) == "E_CHANGED amount changed in CRM"
    assert unflagged(flagged("", 2)) == ""


def test_every_copy_is_flagged_with_the_latest_event_and_none_is_pushed():
    view = _ledger()
    pays = view.tab("payments")
    # A copy pasted from before the push, then unticked: it must not read as "not pushed".
    pays.copies["1001:1"] = [pays.rows["1001:1"] | {"confirmed": False, "state": ""}]
    pays.rows["1001:1"], pays.copies["1001:1"][0] = pays.copies["1001:1"][0], pays.rows["1001:1"]
    plan = plan_copies(view, {"payments": "Payments"})
    [update] = plan.changes.updates
    assert update.row_id == "1001:1"
    assert update.values["state"].startswith("pushed #1 · E_DUPLICATE 2 rows")
    assert update.values["state"].endswith("E_CHANGED amount changed in CRM")
    assert update.values["pushed_amount"] == Decimal("30000.00")
    assert any("tab 'Payments': 2 rows have the ID 1001:1" in p for p in plan.problems)
    after = apply_changes(view, plan.changes)
    push = plan_push(hold_copies(after), CONFIG, LOOKUPS, TODAY)
    assert push.events == []  # the first row met is unticked: without holding it, a reversal
    assert plan_push(after, CONFIG, LOOKUPS, TODAY).events[0].kind == "reverse"
    assert push.totals.updates[0].values["confirmed_total"] == Decimal("30000.00")
    # Flagged already: the next cycle writes nothing more.
    again = apply_changes(after, plan_copies(after).changes)
    again.tab("payments").copies["1001:1"] = [
        r | {"state": after.tab("payments").rows["1001:1"]["state"]}
        for r in again.tab("payments").copies["1001:1"]
    ]
    assert not plan_copies(again).changes


def test_once_one_row_is_left_its_flag_is_cleared_and_its_own_problem_kept():
    view = _ledger()
    row = view.tab("payments").rows["1001:1"]
    view.tab("payments").rows["1001:1"] = row | {"state": f"pushed #1 · {flagged('E_X y', 2)}"}
    view.tab("deals").rows["1001"] |= {"flag": flagged("", 2)}
    plan = plan_copies(view)
    assert {(u.tab, u.row_id): dict(u.values) for u in plan.changes.updates} == {
        ("payments", "1001:1"): {"state": "pushed #1 · E_X y"},
        ("deals", "1001"): {"flag": ""},
    }
    assert plan.problems == []


def test_cabinets_neither_take_nor_mirror_a_row_with_copies():
    view = _ledger()
    cabinet = next(c for c in CONFIG.google.cabinets if c.handover)
    cab_view = LedgerView({"cabinet_payments": TabRows(CABINET_PAYMENTS)})
    mirrored = plan_mirror(view, cab_view, cabinet, TODAY)
    assert [a.row_id for a in mirrored.appends] == ["1001:1"]
    cab_view = apply_changes(cab_view, mirrored)
    cab_rows = cab_view.tab("cabinet_payments")
    cab_rows.rows["1001:1"] = cab_rows.rows["1001:1"] | {"confirmed": False}  # unticked there
    assert merge_edits(view, cab_view, cabinet, TODAY).updates  # normally it flows to the master
    cab_rows.copies["1001:1"] = [dict(cab_rows.rows["1001:1"])]
    assert not merge_edits(view, cab_view, cabinet, TODAY)
    cab_rows.copies.clear()
    view.tab("payments").copies["1001:1"] = [dict(view.tab("payments").rows["1001:1"])]
    assert not merge_edits(view, cab_view, cabinet, TODAY)
    view.tab("payments").rows["1001:1"] |= {"amount": Decimal("1.00")}
    assert not plan_mirror(view, cab_view, cabinet, TODAY)
