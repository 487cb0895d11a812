"""pull: amoCRM leads -> Deals and Payments rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sheetledger.crm.lookups import Lookups
from sheetledger.ledger.tabs import DEALS, PAYMENTS
from sheetledger.ledger.view import LedgerView, apply_changes
from sheetledger.sync.pull import PullResult, plan_pull
from sheetledger.sync.state import RowState
from tests.unit.builders import (
    BANK_TEXT,
    CASH_TEXT,
    CONFIG,
    DELIVERY,
    LOOKUPS,
    LOST,
    MANAGERS,
    OTHER_PIPE,
    PIPE,
    SLOTS,
    empty_view,
    lead,
    through_sheet,
)

PEOPLE_KEYS = {c.key for c in PAYMENTS.columns if c.owner.value == "people"}
DEAL_WRITABLE = {c.key for c in DEALS.columns if c.daemon_writes}
PAY_WRITABLE = {c.key for c in PAYMENTS.columns if c.daemon_writes}


def pull(view: LedgerView, *leads: dict[str, Any], lookups: Lookups = LOOKUPS) -> PullResult:
    return plan_pull(view, list(leads), lookups, CONFIG)


def pulled(*leads: dict[str, Any]) -> LedgerView:
    view = empty_view()
    return through_sheet(apply_changes(view, pull(view, *leads).changes))


def updates_of(result: PullResult) -> dict[tuple[str, str], dict[str, Any]]:
    return result.changes.merged_updates()


def tick(view: LedgerView, payment_id: str, **values: Any) -> LedgerView:
    rows = view.tab("payments").rows
    rows[payment_id] = rows[payment_id] | values  # rows are never changed in place
    return view


BASE = lead(
    1001,
    name="Кухня «Модерн»",
    price=100_000,
    manager=501,
    slots=[("30000", CASH_TEXT, date(2024, 4, 1)), ("70000", BANK_TEXT, date(2024, 5, 1))],
    updated_at=1_711_900_000,
)


def test_new_deal_appends_a_deal_and_its_payments() -> None:
    result = pull(empty_view(), BASE)
    appends = {(a.tab, a.row_id): a.values for a in result.changes.appends}
    assert set(appends) == {("deals", "1001"), ("payments", "1001:1"), ("payments", "1001:2")}
    assert result.changes.updates == []
    deal = appends[("deals", "1001")]
    assert deal["name"] == "Кухня «Модерн»"
    assert deal["manager"] == MANAGERS[501]
    assert deal["status"] == "Новая" and deal["pipeline"] == "Продажи"
    assert deal["budget"] == Decimal("100000.00")
    assert deal["link"] == "https://example.amocrm.ru/leads/detail/1001"
    assert deal["flag"] == ""
    first = appends[("payments", "1001:1")]
    assert first["amount"] == Decimal("30000.00")
    assert first["method"] == "cash"
    assert first["kind"] == SLOTS[0].name
    assert first["manager"] == MANAGERS[501] and first["contract_no"] == "Д-1045"
    assert first["date"] == date(2024, 4, 1)
    assert first["state"] == ""
    for values in appends.values():
        assert not PEOPLE_KEYS & set(values)
    assert result.new_rows == 3 and result.deals_seen == 1
    assert result.max_updated_at == 1_711_900_000


def test_nothing_changed_plans_nothing() -> None:
    view = pulled(BASE)
    result = pull(view, BASE)
    assert not result.changes
    assert result.new_rows == result.updated_rows == 0


def test_crm_change_updates_only_crm_cells_and_keeps_peoples_cells() -> None:
    view = pulled(BASE)
    tick(
        view,
        "1001:1",
        confirmed=True,
        received=Decimal("29000.00"),
        confirmed_by="Касса",
        comment="недостача 1000",
        bank_ref="PP-1",
    )
    changed = lead(
        1001,
        name="Кухня «Модерн» XL",
        price=120_000,
        manager=502,
        status=DELIVERY,
        slots=[("30000", CASH_TEXT, date(2024, 4, 2)), ("90000", BANK_TEXT, date(2024, 5, 1))],
        updated_at=1_711_999_999,
    )
    result = pull(view, changed)
    assert result.changes.appends == []
    updates = updates_of(result)
    deal = updates[("deals", "1001")]
    assert deal["name"] == "Кухня «Модерн» XL"
    assert deal["budget"] == Decimal("120000.00")
    assert deal["status"] == "Доставка" and deal["status_id"] == DELIVERY
    assert deal["manager"] == MANAGERS[502]
    assert deal["crm_updated_at"] == 1_711_999_999
    assert "confirmed_total" not in deal and "balance_due" not in deal
    assert updates[("payments", "1001:1")] == {"manager": MANAGERS[502], "date": date(2024, 4, 2)}
    assert updates[("payments", "1001:2")] == {
        "manager": MANAGERS[502],
        "amount": Decimal("90000.00"),
    }
    for (tab, _), values in updates.items():
        assert set(values) <= (DEAL_WRITABLE if tab == "deals" else PAY_WRITABLE)
    after = apply_changes(view, result.changes).tab("payments").get("1001:1")
    assert after is not None
    assert after["received"] == Decimal("29000.00") and after["comment"] == "недостача 1000"
    assert after["confirmed"] is True and after["bank_ref"] == "PP-1"


def test_amount_changed_after_push_is_flagged_not_overwritten() -> None:
    view = pulled(BASE)
    tick(view, "1001:1", confirmed=True, state="pushed #1", pushed_amount=Decimal("30000.00"))
    changed = lead(
        1001, slots=[("35000", CASH_TEXT, date(2024, 4, 1)), ("70000", BANK_TEXT, date(2024, 5, 1))]
    )
    result = pull(view, changed)
    row = updates_of(result)[("payments", "1001:1")]
    assert "amount" not in row
    state = RowState.parse(row["state"])
    assert state.status == "pushed" and state.seq == 1
    assert state.problem.startswith("E_CHANGED") and "35000.00" in state.problem
    assert any("E_CHANGED" in p for p in result.problems)
    # the flag is stable: the next cycle plans nothing more
    view2 = through_sheet(apply_changes(view, result.changes))
    assert not pull(view2, changed).changes
    # and it clears when the CRM goes back to the confirmed amount
    back = pull(view2, BASE)
    assert updates_of(back)[("payments", "1001:1")] == {"state": "pushed #1"}


def test_amount_changed_under_an_unpushed_tick_is_flagged_not_overwritten() -> None:
    # The person confirmed the amount they saw; the CRM moving it must not change what
    # gets confirmed behind their back.
    view = pulled(BASE)
    tick(view, "1001:1", confirmed=True)  # ticked but not pushed yet
    changed = lead(
        1001, slots=[("35000", CASH_TEXT, date(2024, 4, 1)), ("70000", BANK_TEXT, date(2024, 5, 1))]
    )
    row = updates_of(pull(view, changed))[("payments", "1001:1")]
    assert "amount" not in row
    assert row["state"].startswith("E_CHANGED") and "35000.00" in row["state"]


def test_an_emptied_slot_cancels_an_unconfirmed_payment_and_flags_a_confirmed_one() -> None:
    view = pulled(BASE)
    tick(view, "1001:2", confirmed=True)
    only_first = lead(1001, slots=[("30000", CASH_TEXT, date(2024, 4, 1))])
    updates = updates_of(pull(view, only_first))
    assert "1001:1" not in {k[1] for k in updates}
    assert updates[("payments", "1001:2")]["state"].startswith("E_GONE")
    none_left = lead(1001, slots=[])
    cancelled = updates_of(pull(view, none_left))[("payments", "1001:1")]
    assert cancelled["state"].startswith("cancelled") and "E_GONE" in cancelled["state"]


def test_lost_deal_cancels_unconfirmed_payments_only() -> None:
    view = pulled(
        BASE,
        lead(1002, slots=[("500", CASH_TEXT, None)]),
        lead(1003, slots=[("700", CASH_TEXT, None)]),
    )
    tick(view, "1001:1", confirmed=True, state="pushed #1", pushed_amount=Decimal("30000.00"))
    tick(view, "1003:1", state="reversed #2")
    lost = {**BASE, "status_id": LOST}
    result = pull(view, lost, {**lead(1003, slots=[("700", CASH_TEXT, None)]), "status_id": LOST})
    updates = updates_of(result)
    assert ("payments", "1001:1") not in updates  # confirmed money stays confirmed
    assert RowState.parse(updates[("payments", "1001:2")]["state"]).status == "cancelled"
    # a confirmation reversed earlier is unconfirmed too; the seq survives for a later re-tick
    assert RowState.parse(updates[("payments", "1003:1")]["state"]) == RowState("cancelled", 2)
    after = through_sheet(apply_changes(view, result.changes))
    assert not pull(after, lost).changes
    # the deal comes back to life: the payment is open again
    revived = pull(after, BASE)
    assert updates_of(revived)[("payments", "1001:2")]["state"] == ""


def test_lost_deal_does_not_cancel_a_pending_reversal() -> None:
    view = pulled(BASE)
    tick(view, "1001:1", confirmed=False, state="pushed #1", pushed_amount=Decimal("30000.00"))
    result = pull(view, {**BASE, "status_id": LOST})
    assert ("payments", "1001:1") not in updates_of(result)  # push must still send the reversal


def test_new_payments_of_a_lost_deal_arrive_cancelled() -> None:
    result = pull(empty_view(), {**BASE, "status_id": LOST})
    states = {
        a.row_id: a.values.get("state") for a in result.changes.appends if a.tab == "payments"
    }
    assert states == {"1001:1": "cancelled", "1001:2": "cancelled"}


def test_deal_moved_out_of_the_pipelines_is_flagged_and_left_alone() -> None:
    view = pulled(BASE)
    moved = lead(
        1001,
        pipeline=OTHER_PIPE,
        status=7000201,
        price=1,
        slots=[("1", CASH_TEXT, None)],
        updated_at=1_712_000_000,
    )
    result = pull(view, moved)
    assert updates_of(result) == {
        ("deals", "1001"): {"flag": "moved out of the synced pipelines (now in Сервис)"}
    }
    assert result.changes.appends == []
    assert result.max_updated_at == 1_712_000_000
    after = through_sheet(apply_changes(view, result.changes))
    assert not pull(after, moved).changes
    # moved back: the flag goes
    assert updates_of(pull(after, BASE))[("deals", "1001")] == {"flag": ""}


def test_lead_outside_the_pipelines_and_not_in_the_ledger_is_ignored() -> None:
    stranger = lead(
        2002, pipeline=OTHER_PIPE, status=7000201, slots=[("1", CASH_TEXT, None)], updated_at=5
    )
    result = pull(empty_view(), stranger)
    assert not result.changes
    assert result.deals_seen == 0
    assert result.max_updated_at == 5  # still read: the cursor may pass it


def test_problem_rows_are_appended_with_their_code() -> None:
    bad = lead(1005, slots=[("100", "Бартер", None), ("много", CASH_TEXT, None)])
    result = pull(empty_view(), bad)
    states = {a.row_id: a.values["state"] for a in result.changes.appends if a.tab == "payments"}
    assert states["1005:1"].startswith("E_METHOD")
    assert states["1005:2"].startswith("E_AMOUNT")
    assert len(result.problems) == 2
    # fixed in the CRM: the problem clears
    view = through_sheet(apply_changes(empty_view(), result.changes))
    fixed = lead(1005, slots=[("100", CASH_TEXT, None), ("200", CASH_TEXT, None)])
    updates = updates_of(pull(view, fixed))
    assert updates[("payments", "1005:1")] == {"method": "cash", "state": ""}
    assert updates[("payments", "1005:2")] == {"amount": Decimal("200.00"), "state": ""}


def test_same_lead_twice_in_a_pull_is_planned_once_as_its_newest_copy() -> None:
    old = lead(1001, name="old", slots=[("100", CASH_TEXT, None)], updated_at=100)
    new = lead(1001, name="new", slots=[("200", CASH_TEXT, None)], updated_at=200)
    for order in ([old, new], [new, old], [new, new]):
        result = pull(empty_view(), *order)
        assert [(a.tab, a.row_id) for a in result.changes.appends] == [
            ("deals", "1001"),
            ("payments", "1001:1"),
        ]
        view = apply_changes(empty_view(), result.changes)
        assert view.tab("deals").rows["1001"]["name"] == "new"
        assert view.tab("payments").rows["1001:1"]["amount"] == Decimal("200.00")
    existing = pulled(lead(1001, name="first", updated_at=50))
    updates = updates_of(pull(existing, new, old))
    assert updates[("deals", "1001")]["name"] == "new"


def test_unknown_user_and_pipeline_fall_back() -> None:
    result = pull(empty_view(), lead(7, manager=999), lookups=Lookups())
    deal = next(a.values for a in result.changes.appends if a.tab == "deals")
    assert deal["manager"] == ""
    assert deal["pipeline"] == str(PIPE)
    assert deal["status"] == str(deal["status_id"])


def test_lookups_json_round_trip_and_from_api() -> None:
    again = Lookups.from_json(LOOKUPS.as_json())
    assert again == LOOKUPS
    api = Lookups.from_api(
        [{"id": 501, "name": "Анна"}],
        [
            {
                "id": PIPE,
                "name": "Продажи",
                "_embedded": {"statuses": [{"id": 142, "name": "Won", "sort": 10000}]},
            }
        ],
    )
    assert api.users == {501: "Анна"}
    assert api.statuses == {(PIPE, 142): "Won"}
    assert api.status_sort == {(PIPE, 142): 10000}
