"""What ``spreadsheets.get`` shows, shaped like Google's answers (gspread against the emulator).

Each expectation comes from a real recorded exchange: gspread's own cassettes
(``tests/cassettes/<name>.json`` in burnash/gspread, named in each test) or
``tests/fixtures/gsheets/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gspread
import pytest

from sheetledger.ledger.google import connect
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator


@pytest.fixture
def book() -> Iterator[gspread.Spreadsheet]:
    emulator = SheetsEmulator()
    with LoopbackServer(emulator) as server:
        client = connect(
            emulator.service_account_info(server.url + "/token"), api_base_url=server.url
        )
        yield client.create("Shapes", folder_id=_team_drive(emulator))
        assert server.crashes == []


def first_sheet(book: gspread.Spreadsheet, **params: Any) -> dict[str, Any]:
    return book.fetch_sheet_metadata(params)["sheets"][0]  # type: ignore[no-any-return]


def test_merge_rows_makes_one_merge_per_row_and_merge_all_replaces_them(
    book: gspread.Spreadsheet,
) -> None:
    """CellTest.test_merge_cells: MERGE_ROWS over A1:B2, then MERGE_ALL over the same."""
    ws = book.sheet1
    ws.update([[42, 43], [43, 44]], "A1:B2")
    ws.merge_cells("A1:B2", merge_type="MERGE_ROWS")
    sheet = first_sheet(book)
    assert sheet["merges"] == [
        {"startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 2},
        {"startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2},
    ]
    assert sheet["properties"] == {
        "sheetId": 0,
        "title": "Sheet1",
        "index": 0,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26},
    }
    ws.merge_cells("A1:B2", merge_type="MERGE_ALL")
    assert first_sheet(book)["merges"] == [
        {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}
    ]


def test_merge_columns_makes_one_merge_per_column_and_unmerge_leaves_no_trace(
    book: gspread.Spreadsheet,
) -> None:
    ws = book.sheet1
    ws.merge_cells("A1:C2", merge_type="MERGE_COLUMNS")
    assert [(m["startColumnIndex"], m["endColumnIndex"]) for m in first_sheet(book)["merges"]] == [
        (0, 1),
        (1, 2),
        (2, 3),
    ]
    ws.unmerge_cells("A1:C2")
    sheet = first_sheet(book)
    assert "merges" not in sheet
    assert not any(key.startswith("_") for key in sheet["properties"])


def test_a_merge_that_cuts_through_another_is_refused(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.merge_cells("A1:B2")
    with pytest.raises(gspread.exceptions.APIError) as refused:
        ws.merge_cells("B2:C3")
    assert "You must select all cells in a merged range" in str(refused.value)
    assert len(first_sheet(book)["merges"]) == 1


def test_tab_color_shows_both_twins_and_clearing_it_removes_both(
    book: gspread.Spreadsheet,
) -> None:
    """WorksheetTest.test_clear_tab_color: after ``{"rgbColor": null}`` the read has neither."""
    ws = book.sheet1
    ws.update_tab_color("#FF8000")
    props = first_sheet(book)["properties"]
    orange = {"red": 1, "green": 128 / 255}
    assert props["tabColor"] == pytest.approx(orange)
    assert props["tabColorStyle"]["rgbColor"] == pytest.approx(orange)  # blue 0 is omitted
    ws.clear_tab_color()
    got = book.fetch_sheet_metadata({"fields": "sheets.properties.tabColorStyle"})
    assert got == {"sheets": [{"properties": {}}]}
    assert "tabColor" not in first_sheet(book)["properties"]


def test_cell_colours_are_mirrored_into_their_style_twins_and_the_newest_wins(
    book: gspread.Spreadsheet,
) -> None:
    ws = book.sheet1
    ws.update([["x"]], "A1")
    ws.format("A1", {"backgroundColor": {"red": 1, "green": 0, "blue": 0}})  # the legacy field
    params = {"includeGridData": "true", "ranges": "A1"}
    cell = first_sheet(book, **params)["data"][0]["rowData"][0]["values"][0]
    assert cell["userEnteredFormat"]["backgroundColor"] == {"red": 1}
    assert cell["userEnteredFormat"]["backgroundColorStyle"] == {"rgbColor": {"red": 1}}
    assert cell["effectiveFormat"]["backgroundColorStyle"] == {"rgbColor": {"red": 1}}
    ws.format("A1", {"backgroundColorStyle": {"themeColor": "ACCENT1"}})  # only the twin
    cell = first_sheet(book, **params)["data"][0]["rowData"][0]["values"][0]
    assert cell["userEnteredFormat"]["backgroundColorStyle"] == {"themeColor": "ACCENT1"}
    assert cell["userEnteredFormat"]["backgroundColor"]["blue"] == pytest.approx(0.95686275)


def test_ranges_on_the_first_sheet_carry_no_sheet_id_0(book: gspread.Spreadsheet) -> None:
    """Proto3 omits defaults: fixtures' protected range replies lack ``"sheetId": 0`` too."""
    ws = book.sheet1
    ws.set_basic_filter("A1:C5")
    sheet = first_sheet(book)
    assert sheet["basicFilter"] == {
        "range": {"startRowIndex": 0, "endRowIndex": 5, "startColumnIndex": 0, "endColumnIndex": 3}
    }
    other = book.add_worksheet("Other", rows=10, cols=5)
    other.set_basic_filter("A1:B2")
    second = book.fetch_sheet_metadata()["sheets"][1]
    assert second["basicFilter"]["range"]["sheetId"] == other.id


def test_replies_and_grid_properties_omit_defaults_too(book: gspread.Spreadsheet) -> None:
    source = {"startRowIndex": 0, "endRowIndex": 3, "startColumnIndex": 0, "endColumnIndex": 1}
    chart = {
        "spec": {
            "basicChart": {
                "chartType": "LINE",
                "series": [{"series": {"sourceRange": {"sources": [{"sheetId": 0, **source}]}}}],
            }
        },
        "position": {
            "overlayPosition": {"anchorCell": {"sheetId": 0, "rowIndex": 0, "columnIndex": 3}}
        },
    }
    reply = book.batch_update({"requests": [{"addChart": {"chart": chart}}]})
    added = reply["replies"][0]["addChart"]["chart"]
    assert added["spec"]["basicChart"]["series"][0]["series"]["sourceRange"]["sources"] == [source]
    for hidden, shown in ((False, {}), (True, {"hideGridlines": True})):
        book.batch_update(
            {
                "requests": [
                    {
                        "updateSheetProperties": {
                            "properties": {
                                "sheetId": 0,
                                "gridProperties": {"hideGridlines": hidden},
                            },
                            "fields": "gridProperties.hideGridlines",
                        }
                    }
                ]
            }
        )
        grid = first_sheet(book)["properties"]["gridProperties"]
        assert grid == {"rowCount": 1000, "columnCount": 26, **shown}


def _team_drive(emulator: SheetsEmulator) -> str:
    """A shared drive the service account organizes: where it may own files (a My Drive
    refuses it storage, as Google does; tests/sandbox/test_drive_files.py shows that)."""
    return emulator.create_shared_drive("Ledgers", {emulator.service_account_email: "organizer"})
