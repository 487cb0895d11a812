"""cash on hand, the pull cursor, the Sync state cell."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetledger.ledger.records import PaymentRow
from sheetledger.ledger.view import LedgerView
from sheetledger.sync.cash import plan_cash, unconfirmed_cash
from sheetledger.sync.cursor import next_cursor, pull_from
from sheetledger.sync.state import RowState, marker
from tests.unit.builders import empty_view

# -- cash ---------------------------------------------------------------------------------


def with_payments(*rows: dict[str, Any]) -> LedgerView:
    view = empty_view()
    for row in rows:
        view.tab("payments").rows[row["id"]] = PaymentRow.from_cells(row)
    return view


def pay(
    pid: str, manager: str | None, amount: str | None, day: date | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": pid,
        "deal_id": int(pid.split(":")[0]),
        "manager": manager,
        "method": extra.pop("method", "cash"),
        "amount": Decimal(amount) if amount is not None else None,
        "date": day,
        "confirmed": extra.pop("confirmed", None),
        "state": extra.pop("state", ""),
        **extra,
    }


def test_cash_per_manager() -> None:
    view = with_payments(
        pay("1:1", "Анна", "30000.00", date(2024, 4, 3)),
        pay("2:1", "Анна", "500.50", date(2024, 4, 1)),
        pay("3:1", "Борис", "50000.00", date(2024, 4, 5)),
        pay("4:1", "Анна", "999.00", date(2024, 3, 1), confirmed=True),  # confirmed: not held
        pay("5:1", "Анна", "777.00", date(2024, 3, 1), state="cancelled"),  # lost deal
        pay("6:1", "Анна", "888.00", date(2024, 3, 1), method="bank"),  # not cash
        pay("7:1", "Анна", None, date(2024, 3, 1), state="E_AMOUNT x"),  # no amount
        pay("8:1", None, "10.00", None),
        pay("9:1", "Борис", "1.00", None, state="reversed #2"),  # reversed: held again
    )
    rows = plan_cash(view)
    assert rows == [
        {
            "manager": "Борис",
            "amount": Decimal("50001.00"),
            "count": 2,
            "oldest": date(2024, 4, 5),
            "payment_ids": "3:1, 9:1",
        },
        {
            "manager": "Анна",
            "amount": Decimal("30500.50"),
            "count": 2,
            "oldest": date(2024, 4, 1),
            "payment_ids": "2:1, 1:1",
        },
        {
            "manager": "(no manager)",
            "amount": Decimal("10.00"),
            "count": 1,
            "oldest": None,
            "payment_ids": "8:1",
        },
    ]


def test_partial_receipt_leaves_the_rest_on_the_manager() -> None:
    view = with_payments(
        pay(
            "1:1",
            "Анна",
            "1000.00",
            date(2024, 4, 1),
            received=Decimal("400.00"),
            state="partial #1",
        ),
        pay(
            "2:1", "Анна", "500.00", date(2024, 4, 2), received=Decimal("500.00")
        ),  # all of it arrived
    )
    assert plan_cash(view) == [
        {
            "manager": "Анна",
            "amount": Decimal("600.00"),
            "count": 1,
            "oldest": date(2024, 4, 1),
            "payment_ids": "1:1",
        }
    ]


def test_equal_cash_is_ordered_by_manager_name() -> None:
    view = with_payments(pay("1:1", "Яна", "100.00"), pay("2:1", "Анна", "100.00"))
    assert [r["manager"] for r in plan_cash(view)] == ["Анна", "Яна"]


def test_unconfirmed_cash_is_oldest_first_and_undated_last() -> None:
    view = with_payments(
        pay("3:1", "A", "1.00", None),
        pay("1:1", "A", "1.00", date(2024, 4, 2)),
        pay("2:1", "A", "1.00", date(2024, 4, 1)),
        pay("0:1", "A", "1.00", None),
    )
    assert [r["id"] for r in unconfirmed_cash(view)] == ["2:1", "1:1", "0:1", "3:1"]


def test_cash_dated_after_today_is_not_held_yet() -> None:
    # A remainder due at delivery: the customer has not paid it, nobody holds it.
    view = with_payments(
        pay("1:1", "Анна", "100.00", date(2024, 4, 1)),
        pay("1:2", "Анна", "900.00", date(2024, 4, 20)),  # due after today
        pay("2:1", "Анна", "50.00", date(2024, 4, 10)),  # due today: held
        pay("3:1", "Анна", "7.00", None),  # undated: nobody can say it is not held
    )
    today = date(2024, 4, 10)
    assert [r["id"] for r in unconfirmed_cash(view, today)] == ["1:1", "2:1", "3:1"]
    assert plan_cash(view, today)[0]["amount"] == Decimal("157.00")
    assert plan_cash(view)[0]["amount"] == Decimal("1057.00")  # without a day: every payment


def test_no_cash_no_rows() -> None:
    assert plan_cash(empty_view()) == []


# -- cursor -------------------------------------------------------------------------------


def test_pull_from() -> None:
    assert pull_from(None, 300) is None
    assert pull_from(1000, 300) == 700
    assert pull_from(100, 300) == 0
    assert pull_from(1000, 0) == 1000


def test_next_cursor_cases() -> None:
    assert next_cursor(None, 0, 500) is None  # nothing read, nothing known
    assert next_cursor(None, 400, 500) == 400
    assert next_cursor(None, 600, 500) == 500  # never past the cycle's start
    assert next_cursor(450, 400, 500) == 450  # never backwards
    assert next_cursor(450, 0, 500) == 450


@given(
    st.one_of(st.none(), st.integers(min_value=1, max_value=2**31)),
    st.integers(min_value=0, max_value=2**31),
    st.integers(min_value=1, max_value=2**31),
)
def test_cursor_never_decreases_and_never_passes_the_start(
    old: int | None, newest: int, started: int
) -> None:
    new = next_cursor(old, newest, started)
    if old is not None:
        assert new is not None and new >= old
    if new is not None and (old is None or old <= started):
        assert new <= started
    if newest and newest <= started:
        assert new is not None and new >= newest


@given(
    st.lists(
        st.tuples(st.integers(0, 3600), st.integers(0, 300)), min_size=1, max_size=30
    ),  # (second a lead is saved, seconds before amoCRM lists it: ≤ the overlap)
    st.lists(st.integers(1, 600), min_size=1, max_size=30),  # pauses between cycles
)
def test_every_saved_lead_is_pulled_by_some_cycle(
    saves: list[tuple[int, int]], pauses: list[int]
) -> None:
    """Cycles that pull from the cursor and move it never lose a lead amoCRM lists late.

    amoCRM stamps whole seconds and a lead saved as a cycle starts may be listed a moment
    later; within the overlap (300 s) every save is still read by a later cycle.
    """
    overlap = 300
    cursor: int | None = None
    seen: set[int] = set()
    now = 0
    for pause in [*pauses, 3600 + 2 * overlap]:  # the last cycle comes after every save
        now += pause
        start = pull_from(cursor, overlap)
        listed = [
            (n, saved)
            for n, (saved, lag) in enumerate(saves)
            if saved + lag <= now and (start is None or saved >= start)
        ]
        seen.update(n for n, _ in listed)
        cursor = next_cursor(cursor, max((saved for _, saved in listed), default=0), now)
    assert seen == set(range(len(saves)))


# -- state --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("", RowState()),
        (None, RowState()),
        ("pushed #1", RowState("pushed", 1)),
        ("reversed #2", RowState("reversed", 2)),
        ("cancelled", RowState("cancelled")),
        (
            "E_METHOD unknown payment type 'Бартер'",
            RowState("", 0, "E_METHOD unknown payment type 'Бартер'"),
        ),
        (
            "pushed #1 · E_CHANGED amount changed in CRM to 12000.00 after confirmation",
            RowState("pushed", 1, "E_CHANGED amount changed in CRM to 12000.00 after confirmation"),
        ),
        (
            "cancelled #3 · E_AMOUNT the payment has no amount",
            RowState("cancelled", 3, "E_AMOUNT the payment has no amount"),
        ),
        ("  pushed #12  ", RowState("pushed", 12)),
    ],
)
def test_row_state_parse(text: object, state: RowState) -> None:
    assert RowState.parse(text) == state


PROBLEMS = st.one_of(
    st.just(""),
    st.from_regex(r"E_[A-Z]{2,8}( [^\n·#]{0,40})?", fullmatch=True).map(str.strip),
    st.from_regex(
        r"E_[A-Z]{2,8} [\w .,'\"-]{0,30}(; E_[A-Z]{2,8} [\w .]{0,20})?", fullmatch=True
    ).map(str.strip),
)


@given(
    st.sampled_from(["", "pushed", "partial", "reversed", "cancelled"]),
    st.integers(0, 10_000),
    PROBLEMS,
)
def test_row_state_render_parse_round_trip(status: str, seq: int, problem: str) -> None:
    state = RowState(status, seq, problem)
    assert RowState.parse(state.render()) == state


def test_row_state_transitions() -> None:
    state = RowState("pushed", 1, "E_CHANGED x")
    assert state.next_event("reversed") == RowState("reversed", 2)
    assert state.with_status("cancelled") == RowState("cancelled", 1, "E_CHANGED x")
    assert state.with_problem("") == RowState("pushed", 1)
    assert RowState.new("E_METHOD y") == RowState("", 0, "E_METHOD y")


def test_marker() -> None:
    assert marker("1001:2", 3) == "sheetledger:1001:2#3"
