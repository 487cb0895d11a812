"""The recall's pure parts: who is a suspect, and what a suspect row takes from amoCRM."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sheetledger.ledger.records import PaymentRow
from sheetledger.ledger.tabs import DEALS, PAYMENTS
from sheetledger.ledger.view import LedgerView, TabRows
from sheetledger.rebuild.notes import NoteRecord
from sheetledger.rebuild.recall import (
    Recall,
    plan_recall,
    recall_cells,
    stale_pushes,
    state_key,
    suspects,
    total_patches,
)
from tests.unit.builders import CONFIG

CONFIRMED = NoteRecord("1001:1", 3, "confirm", Decimal("30000.00"), "Ольга", date(2026, 11, 2))


def row(payment_id: str = "1001:1", **cells: Any) -> dict[str, Any]:
    deal_id = int(payment_id.split(":")[0])
    return {"id": payment_id, "deal_id": deal_id, "amount": Decimal(30000)} | cells


def payments(
    *rows: dict[str, Any], copies: dict[str, list[dict[str, Any]]] | None = None
) -> TabRows:
    return TabRows(PAYMENTS, {r["id"]: r for r in rows}, copies=copies or {})


def test_a_state_is_compared_by_status_number_and_amount_not_by_its_problem_text() -> None:
    pushed = row(state="pushed #1", pushed_amount=Decimal("30000"))
    flagged = row(state="pushed #1 · E_CHANGED amount changed", pushed_amount=Decimal("30000.00"))

    def key(cells: dict[str, Any]) -> str:
        return state_key(PaymentRow.from_cells(cells))

    assert key(pushed) == key(flagged) == "pushed|1|30000.00|30000.00"
    assert key(row()) == key(row(state="E_METHOD unknown")) == "|0||30000.00"
    assert key({"id": "1001:1"}) == ""


def test_suspects_are_rows_not_as_the_daemon_left_them_and_rows_that_are_gone() -> None:
    left = {
        "1001:1": "pushed|1|30000.00|30000.00",
        "1002:1": "|0||30000.00",
        "1003:1": "reversed|2||30000.00",
        "1004:1": "|0||30000.00",
        "1006:1": "|0||30000.00",
    }
    tab = payments(
        row("1001:1", state=""),  # pasted over
        row("1002:1", state="pushed #1", pushed_amount=Decimal(30000)),  # a sort moved it here
        row("1004:1", state="E_METHOD unknown"),  # as it was (its problem is the pull's)
        row("1005:1"),  # a row the daemon never wrote (pasted with an ID): looked up
        row("1006:1", amount=Decimal(999)),  # a sort left another payment's amount beside it
    )
    assert suspects(tab, left) == {"1001:1", "1002:1", "1003:1", "1005:1", "1006:1"}
    assert suspects(tab, None) == set()  # the first cycle: nothing remembered yet
    copied = payments(row("1001:1", state=""), copies={"1001:1": [row("1001:1", state="")]})
    assert suspects(copied, {"1001:1": "pushed|1|30000.00|30000.00"}) == set()  # duplicates'


def test_a_row_behind_amocrm_takes_the_last_event_and_empty_people_cells_too() -> None:
    assert recall_cells(row(), CONFIRMED) == {
        "state": "pushed #3",
        "pushed_amount": Decimal("30000.00"),
        "confirmed": True,
        "confirmed_by": "Ольга",
        "confirmed_at": date(2026, 11, 2),
    }
    # A person's tick is still there (only the daemon's cells were pasted over): kept.
    ticked = row(confirmed=True, confirmed_by="Игорь")
    assert recall_cells(ticked, CONFIRMED) == {
        "state": "pushed #3",
        "pushed_amount": Decimal("30000.00"),
    }


def test_a_row_ahead_of_amocrm_loses_the_state_a_sort_put_on_it() -> None:
    moved = row(state="pushed #2 · E_CHANGED x", pushed_amount=Decimal(5), confirmed=True)
    assert recall_cells(moved, None) == {"state": "E_CHANGED x", "pushed_amount": None}
    cancelled = row(state="cancelled #2", pushed_amount=None)
    assert recall_cells(cancelled, None) == {"state": "cancelled"}
    unreadable = NoteRecord("1001:1", 3, "", None, "", None)  # edited by hand in amoCRM
    assert recall_cells(moved, unreadable) == {}


def test_recall_plans_only_rows_that_are_there_and_have_no_copies() -> None:
    view = LedgerView({"payments": payments(row("1001:1"))})
    recall = Recall({"1001:1": CONFIRMED, "1009:1": None})
    changes = plan_recall(view, recall)
    assert [(u.row_id, u.values["state"]) for u in changes.updates] == [("1001:1", "pushed #3")]
    assert not plan_recall(view, Recall())


def test_stale_pushes_are_journaled_pushes_of_recalled_payments_no_longer_planned() -> None:
    journaled = {("1001:1", 2), ("1002:1", 1), ("1003:1", 4)}
    recall = Recall({"1001:1": None, "1002:1": None})
    assert stale_pushes(journaled, recall, [("1002:1", 1)]) == {("1001:1", 2)}


def test_a_suspect_deal_whose_amocrm_total_differs_gets_the_ledgers_total() -> None:
    deals = TabRows(DEALS, {"1001": {"id": 1001}, "1002": {"id": 1002}})
    view = LedgerView(
        {
            "deals": deals,
            "payments": payments(
                row("1001:1", confirmed=True, state="pushed #1"),
                row("1002:1", confirmed=True, state="pushed #1"),
            ),
        }
    )
    recall = Recall({}, {1001: Decimal("54000.00"), 1002: Decimal("30000.00")})
    field_id = CONFIG.amocrm.fields.confirmed_total
    assert total_patches(view, recall, CONFIG) == {
        1001: {
            "id": 1001,
            "custom_fields_values": [{"field_id": field_id, "values": [{"value": "30000.00"}]}],
        }
    }
