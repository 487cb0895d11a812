"""parse_rows gives exactly what reading cell by cell with from_cell gives, problems included."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sheetledger.ledger.cells import CellProblem, from_cell
from sheetledger.ledger.rows import parse_rows
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
