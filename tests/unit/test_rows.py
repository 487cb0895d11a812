"""parse_rows gives exactly what reading cell by cell with from_cell gives, problems included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sheetledger.ledger.cells import CellProblem, from_cell
from sheetledger.ledger.records import PaymentRow
from sheetledger.ledger.rows import RowCache, parse_rows
from sheetledger.ledger.tabs import PAYMENTS, TabSchema
from tests.unit.builders import TZ

# What a values read can hold in any cell: what people type is not up to the column.
CELLS = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(-5, 50_000),
    st.sampled_from([0.0, -0.0, 1.0, 1500.5, 46000.0, 12.345, 1e30]),
    st.sampled_from(["abc", "'=1+1", "=SUM(A1)", "1 200,50", "да", "31.12.2024", "x1", "TRUE"]),
)
IDS = st.one_of(st.sampled_from(["1:1", "1:2", "2:1", "", "'=bad"]), st.integers(1, 3), st.none())


def reference(schema: TabSchema, rows: list[list[Any]]) -> tuple[dict, dict, dict, dict]:
    """The cell-by-cell reading parse_rows replaced."""
    found: dict[str, dict[str, Any]] = {}
    positions: dict[str, int] = {}
    problems: dict[str, dict[str, str]] = {}
    copies: dict[str, list[dict[str, Any]]] = {}
    for number, raw in enumerate(rows[1:], start=2):
        if not raw or raw[0] in ("", None):
            continue
        try:
            row_id = str(from_cell(schema.id_column.kind, raw[0], TZ))
        except CellProblem:
            continue
        values: dict[str, Any] = dict.fromkeys(c.key for c in schema.columns)
        cell_problems = {}
        for column, cell in zip(schema.columns, raw, strict=False):
            if cell is None or cell == "":
                continue
            try:
                values[column.key] = from_cell(column.kind, cell, TZ)
            except CellProblem as exc:
                cell_problems[column.key] = str(exc)
        if row_id in found:
            copies.setdefault(row_id, []).append(values)
            continue
        if cell_problems:
            problems[row_id] = cell_problems
        found[row_id] = values
        positions[row_id] = number
    return found, positions, problems, copies


@given(
    st.lists(st.tuples(IDS, st.lists(CELLS, max_size=PAYMENTS.width - 1)), min_size=0, max_size=12)
)
def test_parse_rows_reads_like_from_cell(data: list[tuple[Any, list[Any]]]) -> None:
    rows: list[list[Any]] = [PAYMENTS.headers] + [[row_id, *cells] for row_id, cells in data]
    parsed = parse_rows(PAYMENTS, rows, TZ)
    found, positions, problems, copies = reference(PAYMENTS, rows)
    assert parsed.rows == found
    assert parsed.positions == positions
    assert parsed.problems == problems
    assert parsed.copies == copies
    assert sorted(parsed.duplicates) == sorted(i for i, extra in copies.items() for _ in extra)
    for row_id, values in found.items():  # -0.0 and 0.0 are equal amounts, not the same
        for key, value in values.items():
            assert str(parsed.rows[row_id][key]) == str(value)


def test_an_empty_tab_and_short_rows() -> None:
    assert parse_rows(PAYMENTS, [PAYMENTS.headers], TZ).rows == {}
    parsed = parse_rows(PAYMENTS, [PAYMENTS.headers, ["7:1"], [], ["7:2", 7]], TZ)
    assert list(parsed.rows) == ["7:1", "7:2"] and parsed.positions == {"7:1": 2, "7:2": 4}
    assert parsed.rows["7:1"]["amount"] is None and parsed.rows["7:2"]["deal_id"] == 7


def _same(a: Any, b: Any) -> bool:
    """Equal, and alike to the sign of a zero (``-0.0 == 0.0``) and the type of a value."""
    return a.problems == b.problems and {k: repr(v) for k, v in a.rows.items()} == {
        k: repr(v) for k, v in b.rows.items()
    }


@settings(deadline=None)  # (a busy machine is no failure)
@given(
    st.lists(
        st.lists(st.tuples(IDS, st.lists(CELLS, max_size=PAYMENTS.width - 1)), max_size=8),
        min_size=1,
        max_size=4,
    )
)
def test_a_row_cache_changes_nothing_read(reads: list[list[tuple[Any, list[Any]]]]) -> None:
    """Read after read of a tab, the rows kept by their raw cells are what a fresh parse gives."""
    cache = RowCache()
    for data in reads:
        rows: list[list[Any]] = [PAYMENTS.headers] + [[row_id, *cells] for row_id, cells in data]
        cached, fresh = parse_rows(PAYMENTS, rows, TZ, cache=cache), parse_rows(PAYMENTS, rows, TZ)
        assert _same(cached, fresh)
        assert (cached.positions, cached.copies, cached.duplicates) == (
            fresh.positions,
            fresh.copies,
            fresh.duplicates,
        )


def test_a_row_whose_cells_did_not_change_is_the_row_read_before() -> None:
    cache = RowCache()
    first = [
        PAYMENTS.headers,
        ["7:1", 7, "", "", "", "cash", 500],
        ["7:2", 7, "", "", "", "bank", 9],
    ]
    before = parse_rows(PAYMENTS, first, TZ, cache=cache)
    second = [first[0], first[1], ["7:2", 7, "", "", "", "bank", 10], [True, 1], ["7:3", 7, 1.0]]
    after = parse_rows(PAYMENTS, second, TZ, cache=cache)
    assert after.rows["7:1"] is before.rows["7:1"]  # unchanged: not converted again
    assert after.rows["7:2"].amount == Decimal("10.00") and after.rows["7:3"].deal_id == 7
    assert isinstance(after.rows["7:1"], PaymentRow)
    # A tick is no number and -0.0 is no 0.0, though they compare equal: a row that holds
    # one is never taken for a row read before that held the other.
    for was, now in ((True, 1), (1, True), (0.0, -0.0), (-0.0, 0.0)):
        cache = RowCache()
        parse_rows(
            PAYMENTS, [first[0], ["7:1", 7, "", "", "", "cash", was, "", was]], TZ, cache=cache
        )
        rows = [first[0], ["7:1", 7, "", "", "", "cash", now, "", now]]
        assert _same(parse_rows(PAYMENTS, rows, TZ, cache=cache), parse_rows(PAYMENTS, rows, TZ))


def test_a_row_read_again_keeps_one_copy_of_its_text() -> None:
    """The cache keeps a row under the cells it was converted from, not the latest read's
    equal copies: the row and its key share one copy of the text."""
    cache = RowCache()
    name = "".join(["Ива", "нова"])  # an object of its own, as each read's JSON gives
    parse_rows(PAYMENTS, [PAYMENTS.headers, ["7:1", 7, "", name]], TZ, cache=cache)
    again = "".join(["Ива", "нова"])
    assert again == name and again is not name
    after = parse_rows(PAYMENTS, [PAYMENTS.headers, ["7:1", 7, "", again]], TZ, cache=cache)
    assert after.rows["7:1"].manager is name
    [(key, (kept_key, _))] = cache.rows.items()
    assert key[3] is name and kept_key is key
