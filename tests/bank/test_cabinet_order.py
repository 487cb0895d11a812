"""The accountant's Bank tab: waiting lines on top, oldest first; candidates as a dropdown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sheetledger.bank.cabinet import arrange_requests, in_order, order_key
from sheetledger.ledger.tabs import CABINET_BANK

KEYS = [c.key for c in CABINET_BANK.columns]


def _row(state: str, day: int, candidates: str = "") -> dict[str, Any]:
    return {
        "state": state,
        "date": date(2026, 12, day),
        "amount": Decimal("100.00"),
        "candidates": candidates or None,
    }


def test_unassigned_before_suggested_before_assigned_and_the_oldest_first() -> None:
    rows = [_row("assigned", 1), _row("suggested", 3), _row("unassigned", 5), _row("unassigned", 2)]
    ordered = sorted(rows, key=order_key)
    assert [(r["state"], r["date"].day) for r in ordered] == [
        ("unassigned", 2),
        ("unassigned", 5),
        ("suggested", 3),
        ("assigned", 1),
    ]


def test_in_order_reads_the_rows_by_their_place_in_the_sheet() -> None:
    rows = {"a": _row("unassigned", 2), "b": _row("assigned", 1)}
    assert in_order(rows, {"a": 2, "b": 3})
    assert not in_order(rows, {"a": 3, "b": 2})


def test_a_waiting_line_with_candidates_gets_a_loose_dropdown_of_them() -> None:
    rows = {
        "a": _row("suggested", 2, "12:1, 13:2"),
        "b": _row("unassigned", 3),  # no candidates: no dropdown
        "c": _row("assigned", 1, "14:1"),  # done: no dropdown
    }
    requests = arrange_requests(
        rows, {"a": 2, "b": 3, "c": 4}, sheet_id=7, schema=CABINET_BANK, last_row=4, sort=False
    )
    (only,) = requests
    rule = only["setDataValidation"]["rule"]
    assert rule["condition"] == {
        "type": "ONE_OF_LIST",
        "values": [{"userEnteredValue": "12:1"}, {"userEnteredValue": "13:2"}],
    }
    assert rule["strict"] is False and rule["showCustomUi"] is True
    column = KEYS.index("assign_to")
    assert only["setDataValidation"]["range"] == {
        "sheetId": 7,
        "startRowIndex": 1,
        "endRowIndex": 2,
        "startColumnIndex": column,
        "endColumnIndex": column + 1,
    }


def test_the_sort_covers_whole_rows_and_comes_after_the_dropdowns() -> None:
    rows = {"a": _row("assigned", 1), "b": _row("suggested", 2, "12:1")}
    requests = arrange_requests(
        rows, {"a": 2, "b": 3}, sheet_id=7, schema=CABINET_BANK, last_row=3, sort=True
    )
    assert [next(iter(r)) for r in requests] == ["setDataValidation", "sortRange"]
    sort = requests[-1]["sortRange"]
    assert sort["range"] == {"sheetId": 7, "startRowIndex": 1, "endRowIndex": 3}
    assert sort["sortSpecs"] == [
        {"dimensionIndex": KEYS.index("state"), "sortOrder": "DESCENDING"},
        {"dimensionIndex": KEYS.index("date"), "sortOrder": "ASCENDING"},
    ]
