"""The Sheets emulator's building blocks: A1 notation, USER_ENTERED parsing, number
formats, field masks, formulas, and the speed the benchmark needs."""

from __future__ import annotations

from collections.abc import Iterator

import gspread
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetledger.ledger.google import connect
from sheetledger.sandbox.a1 import (
    Bounds,
    column_index,
    column_letters,
    format_range,
    parse_cells,
    quote_title,
    split_range,
)
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import (
    Formula,
    SheetsEmulator,
    apply_mask,
    format_date,
    format_general,
    format_number,
    parse_mask,
    parse_user_entered,
    project,
)
from sheetledger.sandbox.sheets.model import Sheet

# --------------------------------------------------------------------------- A1


@given(st.integers(min_value=0, max_value=18_277))
def test_column_letters_round_trip(index: int) -> None:
    assert column_index(column_letters(index)) == index


@pytest.mark.parametrize(
    ("text", "title", "cells"),
    [
        ("'My Tab'!A1:C", "My Tab", "A1:C"),
        ("'O''Neil'!A1", "O'Neil", "A1"),
        ("Class Data!A2:E", "Class Data", "A2:E"),
        ("'Payments'", "Payments", None),
        ("A1:B2", None, "A1:B2"),
        ("Sheet1", None, "Sheet1"),
    ],
)
def test_split_range(text: str, title: str | None, cells: str | None) -> None:
    ref = split_range(text)
    assert (ref.title, ref.cells) == (title, cells)


@pytest.mark.parametrize(
    ("cells", "bounds"),
    [
        ("A1", Bounds(0, 1, 0, 1)),
        ("D4:A1", Bounds(0, 4, 0, 4)),
        ("A:C", Bounds(None, None, 0, 3)),
        ("2:5", Bounds(1, 5, None, None)),
        ("A2:Z", Bounds(1, None, 0, 26)),
        ("A2:2", Bounds(1, 2, 0, None)),
        ("$B$3", Bounds(2, 3, 1, 2)),
        ("R2C3:R4C5", Bounds(1, 4, 2, 5)),
    ],
)
def test_parse_cells(cells: str, bounds: Bounds) -> None:
    assert parse_cells(cells) == bounds


@pytest.mark.parametrize("bad", ["", "A", "1", "A0", "Sheet1", "A1:", "!!"])
def test_parse_cells_refuses_what_is_not_a1(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_cells(bad)


def test_response_ranges_like_google() -> None:
    assert format_range("Sheet1", 1, 2, 0, 26) == "Sheet1!A2:Z2"
    assert format_range("Sheet1", 0, 1, 0, 1) == "Sheet1!A1"
    assert format_range("My Tab", 0, 2, 0, 2) == "'My Tab'!A1:B2"
    assert quote_title("Платежи") == "Платежи"
    assert quote_title("CO2") == "'CO2'"  # looks like a cell
    assert quote_title("O'Neil") == "'O''Neil'"


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("typed", "value", "pattern"),
    [
        ("53", 53, None),
        ("0.12", 0.12, None),
        ("1,234.50", 1234.5, "#,##0.00"),
        ("1,5", "1,5", None),  # en_US: not a number
        ("2020-01-01", 43831, "yyyy-mm-dd"),
        ("1/2/2020", 43832, "M/d/yyyy"),
        ("12%", 0.12, "0%"),
        ("TRUE", True, None),
        ("false", False, None),
        ("'=1+1", "=1+1", None),
        ("hello", "hello", None),
    ],
)
def test_user_entered_en_us(typed: str, value: object, pattern: str | None) -> None:
    parsed, number_format = parse_user_entered(typed, "en_US")
    assert parsed == value and type(parsed) is type(value)
    assert (number_format or {}).get("pattern") == pattern


def test_user_entered_ru_ru_and_formulas() -> None:
    assert parse_user_entered("1,5", "ru_RU")[0] == 1.5
    assert parse_user_entered("1 234,5", "ru_RU")[0] == 1234.5
    assert parse_user_entered("01.02.2024", "ru_RU")[0] == 45323
    assert isinstance(parse_user_entered("=A1*2", "en_US")[0], Formula)


def test_number_and_date_formats() -> None:
    assert format_number(1234.5, "#,##0.00") == "1,234.50"
    assert format_number(1234.5, "#,##0.00", "ru_RU") == "1\u00a0234,50"
    assert format_number(2.5, "0") == "3"  # half away from zero, like Sheets
    assert format_number(-1234.567, "#,##0.00") == "-1,234.57"
    assert format_number(0.125, "0.00%") == "12.50%"
    assert format_number(1500, '#,##0" ₽"') == "1,500 ₽"
    assert format_date(43831, "yyyy-mm-dd") == "2020-01-01"
    assert format_date(45323.5, "dd.mm.yyyy hh:mm") == "01.02.2024 12:00"
    assert format_general(1.5) == "1.5" and format_general(53) == "53"
    assert format_general(1 / 3) == "0.3333333333"


def test_field_masks() -> None:
    tree = parse_mask("userEnteredFormat(textFormat,backgroundColor),note,a.b/c")
    assert tree == {
        "userEnteredFormat": {"textFormat": {}, "backgroundColor": {}},
        "note": {},
        "a": {"b": {"c": {}}},
    }
    doc = {"sheets": [{"properties": {"title": "A", "sheetId": 1}, "data": [1]}], "x": 1}
    assert project(doc, parse_mask("sheets.properties.title")) == {
        "sheets": [{"properties": {"title": "A"}}]
    }
    target = {"gridProperties": {"rowCount": 5, "frozenRowCount": 1}, "title": "T"}
    merged = apply_mask(target, {"gridProperties": {}}, parse_mask("gridProperties.frozenRowCount"))
    assert merged == {"gridProperties": {"rowCount": 5}, "title": "T"}
    with pytest.raises(ValueError):
        parse_mask("a(b")


# --------------------------------------------------------------------------- formulas and speed


@pytest.fixture
def served() -> Iterator[tuple[SheetsEmulator, LoopbackServer, gspread.Client]]:
    emulator = SheetsEmulator()
    with LoopbackServer(emulator) as server:
        client = connect(
            emulator.service_account_info(server.url + "/token"), api_base_url=server.url
        )
        yield emulator, server, client


def test_formulas_evaluate_simple_arithmetic_only(
    served: tuple[SheetsEmulator, LoopbackServer, gspread.Client],
) -> None:
    emulator, _, client = served
    team = emulator.create_shared_drive("Team", {emulator.service_account_email: "organizer"})
    ws = client.create("F", folder_id=team).sheet1
    ws.update(
        [[2, 3, "=A1*B1+1", "=SUM(A1:B1)", "=1/0", '=IMPORTRANGE("x","y")', '="a"&A1']],
        "A1",
        raw=False,
    )
    assert ws.get("A1:G1")[0] == ["2", "3", "7", "5", "#DIV/0!", "", "a2"]
    emulator.type_cell(ws.spreadsheet.id, "Sheet1!A1", 10)
    assert ws.get("C1", value_render_option="UNFORMATTED_VALUE") == [[31]]  # computed when read


def test_a_whole_tab_read_and_a_200_range_write_at_the_benchmark_size(
    served: tuple[SheetsEmulator, LoopbackServer, gspread.Client],
) -> None:
    """The benchmark's size: 30,000 payment rows x 15 columns and 10,000 deals.

    How long these take is printed by ``bench/bench_sheets_emulator.py``, not asserted here.
    """
    emulator, _, client = served
    payments = [["id"] + [f"c{i}" for i in range(14)]] + [
        [
            f"pay_{i}",
            i * 1.5,
            45000 + i % 300,
            "cash",
            f"Manager {i % 7}",
            i % 2 == 0,
            "",
            "text",
            12,
            3.25,
            "x",
            "y",
            "z",
            i,
            "note",
        ]
        for i in range(30_000)
    ]
    sid = emulator.create_spreadsheet(
        "Bench",
        [
            {"title": "Payments", "values": payments},
            {"title": "Deals", "values": payments[:10_001]},
        ],
        shared_with=[emulator.service_account_email],
    )
    book = client.open_by_key(sid)
    got = book.values_batch_get(
        ["'Payments'!A:O", "'Deals'!A:O"], params={"valueRenderOption": "UNFORMATTED_VALUE"}
    )
    assert len(got["valueRanges"][0]["values"]) == 30_001
    assert got["valueRanges"][0]["values"][30_000][0] == "pay_29999"
    data = [{"range": f"'Payments'!F{row}", "values": [[True]]} for row in range(2, 30_002, 150)]
    assert len(data) == 200
    reply = book.values_batch_update({"valueInputOption": "RAW", "data": data})
    assert reply["totalUpdatedCells"] == 200


# --------------------------------------------------------------------------- forks


def _tab() -> Sheet:
    sheet = Sheet(7, "Tab", rows=10, cols=5)
    for r in range(4):
        for c in range(3):
            sheet.set_value(r, c, f"{r}{c}")
    sheet.set_extra(1, 1, {"note": "n"})
    sheet.set_extra(2, 0, {"note": "m"})
    return sheet


def _picture(sheet: Sheet) -> tuple[list[list[object]], list[object]]:
    return [row[:] for row in sheet.cells], [dict(ex) if ex else None for ex in sheet.extras]


def test_a_fork_copies_a_row_only_when_it_changes_it_and_leaves_its_origin_be() -> None:
    origin = _tab()
    before = _picture(origin)
    fork = origin.fork()
    fork.set_value(0, 0, "new")
    fork.set_value(0, 4, "wide")
    fork.set_extra(1, 1, None)
    fork.set_extra(3, 2, {"note": "added"})
    fork.insert_cols(1, 1, None)
    fork.delete_cols(0, 1)
    fork.cells[1:3] = [fork.cells[2], fork.cells[1]]  # sortRange moves the row lists
    fork.set_value(1, 0, "moved")
    assert _picture(origin) == before
    assert fork.cells[0] == [None, "01", "02", None, "wide"]
    assert fork.cells[1] == ["moved", "21", "22"] and fork.cells[2] == [None, "11", "12"]
    assert fork.cells[3] is not origin.cells[3]  # changed by the column edits: a copy now
    assert fork.extras[1] == {} and fork.extras[3] == {2: {"note": "added"}}  # columns moved
    same = origin.fork()
    assert all(a is b for a, b in zip(same.cells, origin.cells, strict=True))  # nothing copied
    same.settle()
    same.set_value(0, 0, "in place")  # settled: its rows are its own, changed in place
    assert origin.cells[0][0] == "in place"
