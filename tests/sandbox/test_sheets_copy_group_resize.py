"""copyPaste, cutPaste, row/column groups and autoResizeDimensions, through gspread.

Expectations from the request reference (CopyPasteRequest, CutPasteRequest,
AddDimensionGroupRequest, DeleteDimensionGroupRequest) quoted in
``sheetledger/sandbox/sheets/copy_paste.py`` and ``dimension_groups.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gspread
import pytest
import requests
from gspread.utils import PasteOrientation, PasteType, ValueRenderOption
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetledger.ledger.google import connect
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator
from sheetledger.sandbox.sheets.dimension_groups import depth_profile, groups_of
from sheetledger.sandbox.sheets.formulas import shift_references


@pytest.fixture
def served() -> Iterator[tuple[SheetsEmulator, LoopbackServer, gspread.Worksheet]]:
    emulator = SheetsEmulator()
    with LoopbackServer(emulator) as server:
        client = connect(
            emulator.service_account_info(server.url + "/token"), api_base_url=server.url
        )
        ws = client.create("Edits", folder_id=_team_drive(emulator)).sheet1
        yield emulator, server, ws
        assert server.crashes == []


@pytest.fixture
def ws(served: tuple[SheetsEmulator, LoopbackServer, gspread.Worksheet]) -> gspread.Worksheet:
    return served[2]


def grid_cell(ws: gspread.Worksheet, a1: str) -> dict[str, Any]:
    """The CellData of one cell; ``{}`` for an empty one (Google sends no rowData then)."""
    sheet = ws.spreadsheet.fetch_sheet_metadata({"includeGridData": "true", "ranges": a1})
    rows = sheet["sheets"][0]["data"][0].get("rowData") or [{}]
    return (rows[0].get("values") or [{}])[0]  # type: ignore[no-any-return]


def test_copy_paste_copies_values_and_formats_and_repeats_to_fill(ws: gspread.Worksheet) -> None:
    ws.update([[1, "=A1*2"]], "A1", raw=False)
    ws.format("A1", {"textFormat": {"bold": True}})
    ws.copy_range("A1:B1", "D1:G2")  # 2x4 is a multiple of 1x2: the block repeats
    assert ws.get("D1:G2", value_render_option=ValueRenderOption.formula) == [
        [1, "=D1*2", 1, "=F1*2"],  # relative references follow the copy
        [1, "=D2*2", 1, "=F2*2"],
    ]
    assert ws.get("E2", value_render_option=ValueRenderOption.unformatted) == [[2]]
    assert grid_cell(ws, "F2")["userEnteredFormat"]["textFormat"]["bold"] is True
    ws.copy_range("A1:B1", "A5", paste_type=PasteType.values)  # what the formula shows
    assert ws.get("A5:B5", value_render_option=ValueRenderOption.formula) == [[1, 2]]
    assert "userEnteredFormat" not in grid_cell(ws, "A5")
    ws.copy_range(
        "A1:B1", "H1", paste_type=PasteType.values, paste_orientation=PasteOrientation.transpose
    )
    assert ws.get("H1:H2", value_render_option=ValueRenderOption.unformatted) == [[1], [2]]


def test_a_cut_formula_keeps_its_references_a_copied_one_moves_them(
    ws: gspread.Worksheet,
) -> None:
    ws.update([[5, "=A1+$A$1"]], "A1", raw=False)
    ws.copy_range("B1", "B3")
    ws.cut_range("B1", "C1")
    formulas = ws.get("B1:C3", value_render_option=ValueRenderOption.formula)
    assert formulas == [["", "=A1+$A$1"], [], ["=A3+$A$1"]]


@pytest.mark.parametrize(
    ("formula", "rows", "columns", "shifted"),
    [
        ("=A1*2", 0, 1, "=B1*2"),
        ("=SUM(A1:B2)+$C$3+C$3+$C3", 2, 1, "=SUM(B3:C4)+$C$3+D$3+$C5"),
        ('="A1"&A1', 1, 0, '="A1"&A2'),
        ("=LOG10(A1)", 1, 1, "=LOG10(B2)"),
        ("='Other sheet'!A1", 0, 2, "='Other sheet'!C1"),
        ("=A1", -1, 0, "=#REF!"),
    ],
)
def test_references_shift_like_sheets(formula: str, rows: int, columns: int, shifted: str) -> None:
    assert shift_references(formula, rows, columns) == shifted


def test_cut_paste_moves_the_cells_and_leaves_the_source_empty(ws: gspread.Worksheet) -> None:
    ws.update([["id", "done"], ["p1", True], ["p2", False]], "A1")
    ws.format("B2", {"backgroundColor": {"green": 1}})
    ws.cut_range("A2:B2", "A6")
    assert ws.get_all_values() == [
        ["id", "done"],
        ["", ""],
        ["p2", "FALSE"],
        ["", ""],
        ["", ""],
        ["p1", "TRUE"],
    ]
    assert "userEnteredFormat" not in grid_cell(ws, "B2")
    assert grid_cell(ws, "B6")["userEnteredFormat"]["backgroundColor"] == {"green": 1}


def test_row_groups_nest_by_depth_as_google_describes(ws: gspread.Worksheet) -> None:
    """[C:D, 1] + [B:E] -> [B:E, 1], [C:D, 2]; deleting D:E -> [B:D, 1], [C:C, 2]."""
    ws.add_dimension_group_rows(2, 4)
    reply = ws.add_dimension_group_rows(1, 5)
    spans = [
        (g["range"]["startIndex"], g["range"]["endIndex"], g["depth"])
        for g in reply["replies"][0]["addDimensionGroup"]["dimensionGroups"]
    ]
    assert spans == [(1, 5, 1), (2, 4, 2)]
    ws.delete_dimension_group_rows(3, 5)
    listed = ws.list_dimension_group_rows()
    assert [(g["range"]["startIndex"], g["range"]["endIndex"], g["depth"]) for g in listed] == [
        (1, 4, 1),
        (2, 3, 2),
    ]
    assert listed[0]["range"] == {"dimension": "ROWS", "startIndex": 1, "endIndex": 4}
    ws.delete_rows(1)  # the groups follow their rows up
    assert [
        (g["range"]["startIndex"], g["range"]["endIndex"]) for g in ws.list_dimension_group_rows()
    ] == [
        (0, 3),
        (1, 2),
    ]
    with pytest.raises(gspread.exceptions.APIError):
        ws.delete_dimension_group_rows(10, 12)


def test_auto_resize_fits_columns_and_rows_to_what_they_show(ws: gspread.Worksheet) -> None:
    ws.update(
        [["a much longer piece of text than the default width", "x"], ["two\nlines", ""]], "A1"
    )
    ws.columns_auto_resize(0, 3)
    ws.rows_auto_resize(0, 2)
    meta = ws.spreadsheet.fetch_sheet_metadata({"includeGridData": "true", "ranges": "A1:C2"})
    data = meta["sheets"][0]["data"][0]
    widths = [c["pixelSize"] for c in data["columnMetadata"]]
    heights = [r["pixelSize"] for r in data["rowMetadata"]]
    assert widths[0] > 300 and widths[1] < 100  # long text widens, one letter narrows
    assert widths[2] == 100  # an empty column keeps its width
    assert heights == [21, 38]  # one line is the default row; two lines twice as tall


def test_a_person_cuts_a_row_and_pastes_it_elsewhere(
    served: tuple[SheetsEmulator, LoopbackServer, gspread.Worksheet],
) -> None:
    emulator, server, ws = served
    ws.update([["id", "amount"], ["p1", 10], ["p2", 20], ["p3", 30]], "A1")
    emulator.cut_paste_rows(ws.spreadsheet.id, "Sheet1", from_row=2, to_row=6)
    assert emulator.values(ws.spreadsheet.id, "Sheet1") == [
        ["id", "amount"],
        [],
        ["p2", 20],
        ["p3", 30],
        [],
        ["p1", 10],
    ]
    # The HTTP twin, and the same edit scheduled before the daemon's next write.
    body = {
        "spreadsheet_id": ws.spreadsheet.id,
        "sheet_title": "Sheet1",
        "from_row": 3,
        "to_row": 2,
    }
    assert requests.post(f"{server.url}/_sandbox/cut_paste", json=body, timeout=10).ok
    scheduled = body | {
        "op": "cut_paste",
        "match": "values:batchUpdate",
        "from_row": 6,
        "to_row": 3,
    }
    assert (
        requests.post(f"{server.url}/_sandbox/edit", json=scheduled, timeout=10).status_code == 201
    )
    ws.batch_update([{"range": "D1", "values": [["note"]]}])
    assert ws.col_values(1) == ["id", "p2", "p1", "p3"]
    assert emulator.failed_edits == []


spans = st.tuples(st.integers(0, 20), st.integers(1, 8)).map(lambda t: (t[0], t[0] + t[1]))


@settings(deadline=None)  # pure and fast; a loaded CI machine must not fail it on time
@given(st.lists(st.tuples(st.booleans(), spans), max_size=12))
def test_groups_always_rebuild_the_depth_of_every_row(
    edits: list[tuple[bool, tuple[int, int]]],
) -> None:
    """Whatever people group and ungroup, the listed groups say exactly how deep each row is,
    and every group deeper than 1 sits inside one a level up."""
    depth: dict[int, int] = {}
    for adding, (start, end) in edits:
        for index in range(start, end):
            depth[index] = max(0, depth.get(index, 0) + (1 if adding else -1))
    groups = groups_of(depth, 0, "ROWS", [])
    assert depth_profile(groups) == {i: d for i, d in depth.items() if d > 0}
    for group in groups:
        span = group["range"]
        if group["depth"] > 1:
            assert any(
                outer["depth"] == group["depth"] - 1
                and outer["range"]["startIndex"] <= span["startIndex"]
                and span["endIndex"] <= outer["range"]["endIndex"]
                for outer in groups
            )


def _team_drive(emulator: SheetsEmulator) -> str:
    """A shared drive the service account organizes: where it may own files (a My Drive
    refuses it storage, as Google does; tests/sandbox/test_drive_files.py shows that)."""
    return emulator.create_shared_drive("Ledgers", {emulator.service_account_email: "organizer"})
