"""The accountant's Bank tab kept workable: what waits on top, the candidates as a dropdown. Pure.

Her job in this tab is the lines no rule could assign, so they must not sink under
the ones she already did: after an import the tab is sorted by state — ``unassigned``
first, then ``suggested``, then what is ``assigned`` — and by date within, the oldest
first (the money that has waited longest). The sort is Google's own ``sortRange`` over
whole rows, so what she typed into a row moves with it, and so does its dropdown.

«Assign to» of a waiting line offers the line's candidate payment IDs as a dropdown
(``ONE_OF_LIST``). It is not strict: she may still type another payment ID, or several.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sheetledger.bank.plan import TO_ASSIGN
from sheetledger.ledger.tabs import TabSchema

__all__ = ["arrange_requests", "in_order", "order_key"]

_IDS = re.compile(r"[0-9]+:[0-9]+")
_RANK = {"unassigned": 0, "suggested": 1, "assigned": 2}


def order_key(row: Mapping[str, Any]) -> tuple[int, bool, date]:
    """Where a row belongs: its state's rank, then its date (a row without one last)."""
    day = row.get("date")
    dated = isinstance(day, date)
    return (
        _RANK.get(str(row.get("state") or ""), 3),
        not dated,
        day if isinstance(day, date) else date.min,
    )


def in_order(rows: Mapping[str, Mapping[str, Any]], positions: Mapping[str, int]) -> bool:
    placed = sorted((at, line_id) for line_id, at in positions.items() if line_id in rows)
    keys = [order_key(rows[line_id]) for _, line_id in placed]
    return keys == sorted(keys)


def arrange_requests(
    rows: Mapping[str, Mapping[str, Any]],
    positions: Mapping[str, int],
    *,
    sheet_id: int,
    schema: TabSchema,
    last_row: int,
    sort: bool,
) -> list[dict[str, Any]]:
    """The batchUpdate requests: a dropdown on each waiting line with candidates (set at
    the row it is in now), then, when ``sort``, the sort that moves rows and dropdowns."""
    column = [c.key for c in schema.columns].index("assign_to")
    requests: list[dict[str, Any]] = []
    for line_id, row in rows.items():
        at = positions.get(line_id)
        candidates = _IDS.findall(str(row.get("candidates") or ""))
        if at is None or not candidates or row.get("state") not in TO_ASSIGN:
            continue
        requests.append(
            {
                "setDataValidation": {
                    "range": _cell(sheet_id, at, column),
                    "rule": {
                        "condition": {
                            "type": "ONE_OF_LIST",
                            "values": [{"userEnteredValue": c} for c in candidates],
                        },
                        "inputMessage": "a candidate payment, or type payment ID(s)",
                        "strict": False,
                        "showCustomUi": True,
                    },
                }
            }
        )
    if sort and last_row > 2:
        keys = [c.key for c in schema.columns]
        requests.append(
            {
                "sortRange": {
                    # Whole rows (no column bounds): what she typed moves with its line.
                    "range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": last_row},
                    "sortSpecs": [
                        # Text descending: unassigned, suggested, assigned.
                        {"dimensionIndex": keys.index("state"), "sortOrder": "DESCENDING"},
                        {"dimensionIndex": keys.index("date"), "sortOrder": "ASCENDING"},
                    ],
                }
            }
        )
    return requests


def _cell(sheet_id: int, row: int, column: int) -> dict[str, int]:
    return {
        "sheetId": sheet_id,
        "startRowIndex": row - 1,
        "endRowIndex": row,
        "startColumnIndex": column,
        "endColumnIndex": column + 1,
    }
