"""Tab schemas, the pure helpers of ledger/sheets.py, and LedgerView changes."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetledger.ledger.batch import column_runs
from sheetledger.ledger.sheets import check_header, column_letter
from sheetledger.ledger.tabs import CASH, DEALS, MASTER_TABS, PAYMENTS, STATE, Owner
from sheetledger.ledger.view import LedgerChanges, RowAppend, apply_changes, differing
from tests.unit.builders import CONFIG, empty_view

# -- tabs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", MASTER_TABS)
def test_schemas_are_well_formed(schema) -> None:  # type: ignore[no-untyped-def]
    keys = [c.key for c in schema.columns]
    assert len(set(keys)) == len(keys)
    assert len(set(schema.headers)) == len(schema.headers)
    assert schema.id_column.owner is Owner.KEY
    assert [c for c in schema.columns if c.owner is Owner.KEY] == [schema.id_column]
    assert all(schema.column(k).key == k for k in keys)
    assert schema.width == len(keys)
    assert hasattr(CONFIG.google.tabs, schema.key)


def test_people_columns_are_never_daemon_written() -> None:
    people = {c.key for c in PAYMENTS.columns if c.owner is Owner.PEOPLE}
    assert people == {
        "confirmed",
        "received",
        "confirmed_by",
        "confirmed_at",
        "bank_ref",
        "comment",
    }
    assert not any(PAYMENTS.column(k).daemon_writes for k in people)
    assert not PAYMENTS.id_column.daemon_writes
    assert DEALS.column("confirmed_total").daemon_writes and DEALS.column("flag").daemon_writes
    assert STATE.hidden and not CASH.hidden


# -- column letters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "letters"),
    [
        (0, "A"),
        (1, "B"),
        (25, "Z"),
        (26, "AA"),
        (27, "AB"),
        (51, "AZ"),
        (52, "BA"),
        (701, "ZZ"),
        (702, "AAA"),
        (16383, "XFD"),
    ],
)
def test_column_letter(index: int, letters: str) -> None:
    assert column_letter(index) == letters


def _index(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number - 1


@given(st.integers(min_value=0, max_value=100_000))
def test_column_letter_is_bijective(index: int) -> None:
    letters = column_letter(index)
    assert letters.isalpha() and letters.isupper()
    assert _index(letters) == index


# -- header check ---------------------------------------------------------------------------


def test_header_in_order_is_fine_and_extra_columns_are_allowed() -> None:
    assert check_header(PAYMENTS, PAYMENTS.headers) == ""
    assert check_header(PAYMENTS, [*PAYMENTS.headers, "Моя заметка", ""]) == ""
    assert check_header(PAYMENTS, [f" {h} " for h in PAYMENTS.headers]) == ""


def test_renamed_column() -> None:
    header = PAYMENTS.headers
    header[6] = "Сумма"
    assert check_header(PAYMENTS, header) == "column G should be 'Amount', found 'Сумма' (renamed?)"


def test_moved_column() -> None:
    header = PAYMENTS.headers
    header.insert(2, "Inserted")
    assert check_header(PAYMENTS, header) == "column 'Contract no' moved from C to D"


def test_missing_column() -> None:
    header = PAYMENTS.headers[:-1]
    assert check_header(PAYMENTS, header) == "column 'Sync state' (P) is missing"
    header = PAYMENTS.headers
    header[3] = None
    assert check_header(PAYMENTS, header) == "column 'Manager' (D) is missing"
    assert check_header(DEALS, []) == "column 'Deal ID' (A) is missing"


def test_swapped_columns_are_caught() -> None:
    header = DEALS.headers
    header[1], header[2] = header[2], header[1]
    assert check_header(DEALS, header) != ""


# -- runs and grid rows -----------------------------------------------------------------------


def test_runs_group_contiguous_columns_and_skip_the_id() -> None:
    values = {"id": "x", "amount": 1, "date": 2, "state": "s", "kind": "k", "unknown": 0}
    assert column_runs(PAYMENTS, values) == [
        (PAYMENTS.index["kind"], ["k"]),
        (PAYMENTS.index["amount"], [1, 2]),
        (PAYMENTS.index["state"], ["s"]),
    ]
    assert column_runs(PAYMENTS, {}) == []


@given(st.sets(st.sampled_from([c.key for c in PAYMENTS.columns])))
def test_runs_cover_each_written_column_once(keys: set[str]) -> None:
    values = {k: f"v:{k}" for k in keys}
    runs = column_runs(PAYMENTS, values)
    written = {}
    for start, run in runs:
        for offset, value in enumerate(run):
            written[PAYMENTS.columns[start + offset].key] = value
    assert written == {k: v for k, v in values.items() if k != "id"}
    for (a, run_a), (b, _) in pairwise(runs):
        assert a + len(run_a) < b  # separate runs are not adjacent


# -- ledger view ------------------------------------------------------------------------------


def test_apply_changes_does_not_modify_the_view_given() -> None:
    view = empty_view()
    changes = LedgerChanges()
    changes.appends.append(RowAppend("payments", "1:1", {"id": "1:1", "amount": Decimal("5.00")}))
    changes.state["k"] = "v"
    after = apply_changes(view, changes)
    assert len(view.tab("payments")) == 0 and view.state == {}
    row = after.tab("payments").get("1:1")
    assert row is not None
    assert row["amount"] == Decimal("5.00") and row["confirmed"] is None
    assert set(row) == {c.key for c in PAYMENTS.columns}
    assert after.state == {"k": "v"}
    changes2 = LedgerChanges()
    changes2.update("payments", "1:1", {"amount": Decimal("6.00")})
    changes2.update("payments", "1:1", {"amount": Decimal("7.00"), "state": "x"})
    changes2.update("payments", "nope", {"amount": Decimal("1.00")})
    changes2.update("payments", "1:1", {})
    assert len(changes2.updates) == 3
    again = apply_changes(after, changes2)
    assert again.tab("payments").rows["1:1"]["amount"] == Decimal("7.00")
    assert after.tab("payments").rows["1:1"]["amount"] == Decimal("5.00")
    assert "nope" not in again.tab("payments").rows


def test_apply_replace_and_extend() -> None:
    changes = LedgerChanges()
    assert not changes and changes.count() == 0
    changes.replace["cash"] = [{"manager": "Анна", "amount": Decimal("1.00")}]
    other = LedgerChanges()
    other.update("deals", "1", {"flag": "x"})
    changes.extend(other)
    assert changes and changes.count() == 2
    after = apply_changes(empty_view(), changes)
    assert list(after.tab("cash").rows) == ["Анна"]


def test_differing_treats_empty_as_none() -> None:
    current = {"a": None, "b": "", "c": Decimal("1.00"), "d": "x"}
    wanted = {"a": "", "b": None, "c": Decimal("1.0"), "d": "y", "e": 1}
    assert differing(current, wanted, ["a", "b", "c", "d", "e", "f"]) == {"d": "y", "e": 1}
    assert differing(current, wanted, ["a"]) == {}
