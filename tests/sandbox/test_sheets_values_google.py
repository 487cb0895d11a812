"""The values API where replaying real exchanges found the emulator answering differently.

Sources: gspread's cassette ``WorksheetTest.test_batch_update`` (burnash/gspread
``tests/cassettes/``), Google's "append values" sample (range ``A1:E1`` over data in
``A1:D2`` -> ``tableRange A1:D2``, ``updatedRange A3:D4``) and the A1 notation guide
(``Sheet1!MyNamedRange``).
"""

from __future__ import annotations

from collections.abc import Iterator

import gspread
import pytest
from gspread.utils import InsertDataOption, ValueInputOption

from sheetledger.ledger.google import connect
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator


@pytest.fixture
def ws() -> Iterator[gspread.Worksheet]:
    emulator = SheetsEmulator()
    with LoopbackServer(emulator) as server:
        client = connect(
            emulator.service_account_info(server.url + "/token"), api_base_url=server.url
        )
        yield client.create("Values", folder_id=_team_drive(emulator)).sheet1
        assert server.crashes == []


def test_batch_update_totals_count_distinct_rows_and_columns(ws: gspread.Worksheet) -> None:
    reply = ws.batch_update(
        [
            {"range": "A1:D1", "values": [["A1", "B1", "", "D1"]]},
            {"range": "A4:D4", "values": [["A4", "B4", "", "D4"]]},
        ]
    )
    totals = {k: v for k, v in reply.items() if k.startswith("total")}
    assert totals == {  # as recorded
        "totalUpdatedRows": 2,
        "totalUpdatedColumns": 4,
        "totalUpdatedCells": 8,
        "totalUpdatedSheets": 1,
    }
    reply = ws.batch_update(
        [{"range": "A1:B1", "values": [[1, 2]]}, {"range": "B3:C3", "values": [[3, 4]]}]
    )
    assert (reply["totalUpdatedRows"], reply["totalUpdatedColumns"]) == (2, 3)  # B counted once


def test_a_named_range_is_a_range(ws: gspread.Worksheet) -> None:
    ws.update([["id", "amount"], ["p1", 100]], "A1")
    ws.define_named_range("A1:B2", "Payments")
    book = ws.spreadsheet
    for text in ("Payments", "'Sheet1'!Payments", "Sheet1!payments"):
        got = book.values_get(text)
        assert got["range"] == "Sheet1!A1:B2", text
        assert got["values"] == [["id", "amount"], ["p1", "100"]]
    book.values_update("'Sheet1'!Payments", {"valueInputOption": "RAW"}, {"values": [["x"]]})
    assert ws.acell("A1").value == "x"
    book.add_worksheet("Other", rows=5, cols=5)
    with pytest.raises(gspread.exceptions.APIError) as refused:
        book.values_get("'Other'!Payments")
    assert "Unable to parse range: 'Other'!Payments" in str(refused.value)


def test_append_with_a_range_narrower_than_the_table_writes_below_all_of_it(
    ws: gspread.Worksheet,
) -> None:
    """Google's sample: the table is found past the one-row range; nothing is overwritten."""
    ws.update([["Item", "Cost", "Stocked", "Ship Date"], ["Wheel", 20.5, 4, "3/1/2016"]], "A1")
    reply = ws.append_rows(
        [["Door", 15, 2, "3/15/2016"], ["Engine", 100, 1, "3/20/2016"]],
        value_input_option=ValueInputOption.user_entered,
        table_range="A1:E1",
    )
    assert reply["tableRange"] == "Sheet1!A1:D2"
    assert reply["updates"]["updatedRange"] == "Sheet1!A3:D4"
    assert [row[0] for row in ws.get_all_values()] == ["Item", "Wheel", "Door", "Engine"]


def test_append_finds_a_table_whose_rows_start_with_empty_cells(ws: gspread.Worksheet) -> None:
    ws.update([["id", "note", "sum"], ["", "first", 1], ["", "", 2]], "A1")
    reply = ws.append_rows([["p4", "fourth", 4]], table_range="A1")
    assert reply["tableRange"] == "Sheet1!A1:C3"
    assert reply["updates"]["updatedRange"] == "Sheet1!A4:C4"
    assert ws.get_all_values()[1:3] == [["", "first", "1"], ["", "", "2"]]


def test_append_insert_rows_from_a1_lands_after_the_table_not_under_the_header(
    ws: gspread.Worksheet,
) -> None:
    ws.update([["id"], ["p1"], ["p2"], [""], ["total"]], "A1")
    reply = ws.append_rows(
        [["p3"]], insert_data_option=InsertDataOption.insert_rows, table_range="A1"
    )
    assert reply["updates"]["updatedRange"] == "Sheet1!A4"
    assert ws.col_values(1) == ["id", "p1", "p2", "p3", "", "total"]


def _team_drive(emulator: SheetsEmulator) -> str:
    """A shared drive the service account organizes: where it may own files (a My Drive
    refuses it storage, as Google does; tests/sandbox/test_drive_files.py shows that)."""
    return emulator.create_shared_drive("Ledgers", {emulator.service_account_email: "organizer"})
