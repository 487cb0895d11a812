"""The Sheets emulator end to end: the real gspread + google-auth, through
``sheetledger.ledger.google.connect``, over loopback HTTP."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import gspread
import pytest
import requests
from gspread.utils import ExportFormat, ValueInputOption, ValueRenderOption

from sheetledger.ledger.google import connect
from sheetledger.sandbox.clock import ManualClock
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves (token expiry, per-minute quotas)."""
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def emulator(clock: ManualClock) -> SheetsEmulator:
    return SheetsEmulator(clock=clock)


@pytest.fixture
def server(emulator: SheetsEmulator) -> Iterator[LoopbackServer]:
    with LoopbackServer(emulator) as srv:
        yield srv
        assert srv.crashes == []


@pytest.fixture
def client(emulator: SheetsEmulator, server: LoopbackServer) -> gspread.Client:
    info = emulator.service_account_info(server.url + "/token")
    return connect(info, api_base_url=server.url, timeout=10)


@pytest.fixture
def team_drive(emulator: SheetsEmulator) -> str:
    """A shared drive the service account organizes: it owns no file in a My Drive."""
    return emulator.create_shared_drive("Ledgers", {emulator.service_account_email: "organizer"})


@pytest.fixture
def book(client: gspread.Client, team_drive: str) -> gspread.Spreadsheet:
    return client.create("Ledger", folder_id=team_drive)


def api(
    server: LoopbackServer, emulator: SheetsEmulator, method: str, path: str, **kw: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {emulator.access_token()}"}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kw)


# --------------------------------------------------------------------------- values


def test_open_update_get_append_batch(client: gspread.Client, book: gspread.Spreadsheet) -> None:
    ws = client.open_by_key(book.id).sheet1
    ws.update([["id", "amount"], ["p1", 100]], "A1")
    assert ws.get_all_values() == [["id", "amount"], ["p1", "100"]]
    ws.append_rows([["p2", 250.5]], value_input_option="RAW")
    assert ws.get("A3:B3", value_render_option=ValueRenderOption.unformatted) == [["p2", 250.5]]
    ws.batch_update([{"range": "B2", "values": [[111]]}, {"range": "A4:B4", "values": [["p3", 7]]}])
    got = ws.batch_get(["A2:B2", "A4:B4"], value_render_option=ValueRenderOption.unformatted)
    assert [list(r) for r in got] == [[["p1", 111]], [["p3", 7]]]
    payments = book.add_worksheet("Payments", rows=50, cols=5)
    assert payments.row_count == 50 and [w.title for w in book.worksheets()] == [
        "Sheet1",
        "Payments",
    ]


def test_response_ranges_are_clipped_and_values_trimmed(
    client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    ws.update([["A1", "B1", "", "D1"], ["", "", "", ""], ["", ""], ["A4", "B4", "", "D4"]], "A1")
    raw = ws.spreadsheet.values_get("'Sheet1'!A1:D4")
    assert raw["range"] == "Sheet1!A1:D4"
    assert raw["values"] == [["A1", "B1", "", "D1"], [], [], ["A4", "B4", "", "D4"]]
    assert book.values_get("'Sheet1'!A2:2")["range"] == "Sheet1!A2:Z2"
    assert "values" not in book.values_get("'Sheet1'!A2:2")
    cols = book.values_get("'Sheet1'!A1:D4", params={"majorDimension": "COLUMNS"})
    assert cols["values"] == [["A1", "", "", "A4"], ["B1", "", "", "B4"], [], ["D1", "", "", "D4"]]
    whole = book.values_get("'Sheet1'")
    assert whole["range"] == "Sheet1!A1:Z1000"


def test_raw_vs_user_entered(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.update([["=1+1", "TRUE", "2020-01-01", "12%", "'007"]], "A1", raw=True)
    ws.update(
        [["=1+1", "TRUE", "2020-01-01", "12%", "'007"]],
        "A2",
        value_input_option=ValueInputOption.user_entered,
    )
    unformatted = ws.get("A1:E2", value_render_option=ValueRenderOption.unformatted)
    assert unformatted[0] == ["=1+1", "TRUE", "2020-01-01", "12%", "'007"]
    assert unformatted[1] == [2, True, 43831, 0.12, "007"]
    assert ws.get("A2:E2", value_render_option=ValueRenderOption.formula)[0][0] == "=1+1"
    assert ws.get("A2:E2")[0] == ["2", "TRUE", "2020-01-01", "12%", "007"]


def test_number_formats_and_date_render_options(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.update([[1234.5, 45000, 3]], "A1")
    ws.format("A1", {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}})
    ws.format("B1", {"numberFormat": {"type": "DATE", "pattern": "dd.mm.yyyy"}})
    ws.format("C1", {"numberFormat": {"type": "NUMBER", "pattern": "0"}})
    assert ws.get("A1:C1")[0] == ["1,234.50", "15.03.2023", "3"]
    assert ws.get("A1:C1", value_render_option=ValueRenderOption.unformatted)[0] == [
        1234.5,
        45000,
        3,
    ]
    formatted_dates = ws.get(
        "A1:C1",
        value_render_option=ValueRenderOption.unformatted,
        date_time_render_option="FORMATTED_STRING",
    )
    assert formatted_dates[0] == [1234.5, "15.03.2023", 3]


def test_write_beyond_grid_fails_but_append_grows(book: gspread.Spreadsheet) -> None:
    ws = book.add_worksheet("Small", rows=2, cols=2)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        ws.update([["x"]], "A3")
    assert caught.value.code == 400
    assert "exceeds grid limits. Max rows: 2, max columns: 2" in caught.value.error["message"]
    ws.update([["h1", "h2"], ["a", "b"]], "A1")
    reply = ws.append_rows([["c", "d", "e"]], value_input_option="RAW")
    assert (
        reply["tableRange"] == "Small!A1:B2" and reply["updates"]["updatedRange"] == "Small!A3:C3"
    )
    props = book.fetch_sheet_metadata()["sheets"][1]["properties"]["gridProperties"]
    assert props == {"rowCount": 3, "columnCount": 3}


def test_append_insert_rows_shifts_rows_below(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.update([["h"], ["a"], ["b"], [""], ["tail"]], "A1")
    reply = book.values_append(
        "'Sheet1'!A1:A3",
        {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        {"values": [["new"]]},
    )
    assert reply["tableRange"] == "Sheet1!A1:A3"
    assert reply["updates"]["updatedRange"] == "Sheet1!A4"
    assert ws.col_values(1) == ["h", "a", "b", "new", "", "tail"]


def test_checkbox_validation_reads_booleans_and_person_ticks(
    emulator: SheetsEmulator, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    ws.update([["id", "confirmed"], ["p1", False], ["p2", ""]], "A1")
    ws.add_validation("B2:B3", gspread.utils.ValidationConditionType.boolean, [], showCustomUi=True)
    emulator.tick(book.id, "Sheet1!B3")
    assert ws.get("B2:B3", value_render_option=ValueRenderOption.unformatted) == [[False], [True]]
    assert ws.get("B2:B3") == [["FALSE"], ["TRUE"]]
    emulator.type_cell(book.id, "Sheet1!B2", "TRUE")
    assert emulator.values(book.id, "Sheet1")[1] == ["p1", True]
    grid = book.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Sheet1!B2"})
    cell = grid["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert cell["dataValidation"] == {"condition": {"type": "BOOLEAN"}, "showCustomUi": True}
    assert cell["effectiveValue"] == {"boolValue": True} and cell["formattedValue"] == "TRUE"


# --------------------------------------------------------------------------- structure


def row_metadata(book: gspread.Spreadsheet, sheet_id: int, row: int, value: str) -> dict[str, Any]:
    return {
        "createDeveloperMetadata": {
            "developerMetadata": {
                "metadataKey": "sheetledger.row_id",
                "metadataValue": value,
                "visibility": "DOCUMENT",
                "location": {
                    "dimensionRange": {
                        "sheetId": sheet_id,
                        "dimension": "ROWS",
                        "startIndex": row,
                        "endIndex": row + 1,
                    }
                },
            }
        }
    }


def test_filter_write_lands_on_the_right_row_after_a_person_sorted(
    emulator: SheetsEmulator, client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    ws.update([["id", "amount", "confirmed"], ["p3", 30, ""], ["p1", 10, ""], ["p2", 20, ""]], "A1")
    book.batch_update(
        {"requests": [row_metadata(book, 0, r, f"p{v}") for r, v in ((1, 3), (2, 1), (3, 2))]}
    )
    # The daemon read the rows; a person sorts by id before its write arrives.
    sorted_by_person = threading.Event()

    def person_sorts() -> None:
        emulator.sort_range(book.id, "Sheet1", "A")
        sorted_by_person.set()

    emulator.before_next(person_sorts, match="values:batchUpdateByDataFilter")
    lookup = {
        "developerMetadataLookup": {"metadataKey": "sheetledger.row_id", "metadataValue": "p3"}
    }
    reply = client.http_client.request(
        "post",
        f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}/values:batchUpdateByDataFilter",
        json={
            "valueInputOption": "RAW",
            "data": [{"dataFilter": lookup, "values": [["p3", 30, True]]}],
        },
    ).json()
    assert sorted_by_person.is_set()
    assert reply["responses"][0]["updatedRange"] == "Sheet1!A4:C4"
    assert emulator.values(book.id, "Sheet1") == [
        ["id", "amount", "confirmed"],
        ["p1", 10],
        ["p2", 20],
        ["p3", 30, True],
    ]
    found = client.http_client.request(
        "post",
        f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}/developerMetadata:search",
        json={"dataFilters": [lookup]},
    ).json()
    location = found["matchedDeveloperMetadata"][0]["developerMetadata"]["location"]
    assert location == {
        "locationType": "ROW",
        "dimensionRange": {"dimension": "ROWS", "startIndex": 3, "endIndex": 4},
    }
    got = client.http_client.request(
        "post",
        f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}/values:batchGetByDataFilter",
        json={"dataFilters": [lookup], "valueRenderOption": "UNFORMATTED_VALUE"},
    ).json()
    assert got["valueRanges"][0]["valueRange"]["values"] == [["p3", 30, True]]


def test_insert_and_delete_dimension_shift_values_metadata_and_protection(
    emulator: SheetsEmulator, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    ws.update([["h"], ["a"], ["b"], ["c"]], "A1")
    ws.add_protected_range("A3", warning_only=True)
    book.batch_update({"requests": [row_metadata(book, 0, 2, "b")]})
    ws.insert_row(["new"], 2)  # insertDimension + append, like gspread does it
    assert ws.col_values(1) == ["h", "new", "a", "b", "c"]
    assert emulator.metadata(book.id)[0]["location"]["dimensionRange"]["startIndex"] == 3
    protected = book.fetch_sheet_metadata()["sheets"][0]["protectedRanges"][0]["range"]
    assert protected == {
        "startRowIndex": 3,
        "endRowIndex": 4,
        "startColumnIndex": 0,
        "endColumnIndex": 1,
    }
    ws.delete_rows(4)  # the row holding "b": its metadata and protection go with it
    assert ws.col_values(1) == ["h", "new", "a", "c"]
    assert emulator.metadata(book.id) == []
    assert "protectedRanges" not in book.fetch_sheet_metadata()["sheets"][0]
    emulator.insert_rows(book.id, "Sheet1", at_row=2, count=2)
    emulator.delete_rows(book.id, "Sheet1", at_row=5)
    assert emulator.values(book.id, "Sheet1") == [["h"], [], [], ["new"], ["c"]]


def test_protected_and_named_ranges_in_metadata(
    emulator: SheetsEmulator, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    ws.add_protected_range(
        "A1:C1", editor_users_emails=[emulator.service_account_email], description="header"
    )
    ws.define_named_range("A1:C100", "payments_tbl")
    meta = book.fetch_sheet_metadata()
    protected = meta["sheets"][0]["protectedRanges"][0]
    assert protected["description"] == "header" and protected["requestingUserCanEdit"] is True
    assert protected["editors"]["users"] == [emulator.service_account_email]
    assert meta["namedRanges"][0]["name"] == "payments_tbl"
    assert isinstance(meta["namedRanges"][0]["namedRangeId"], str)
    book.values_update("payments_tbl", {"valueInputOption": "RAW"}, {"values": [[1, 2, 3]]})
    assert ws.get("A1:C1", value_render_option=ValueRenderOption.unformatted) == [[1, 2, 3]]


def test_protection_stops_a_service_account_that_is_not_an_editor(
    emulator: SheetsEmulator, server: LoopbackServer, client: gspread.Client
) -> None:
    sid = emulator.create_spreadsheet(
        "Cabinet", ["Payments"], shared_with=[emulator.service_account_email]
    )
    owner_token = emulator.access_token("owner@example.com")
    body = {
        "requests": [
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                        "editors": {"users": []},
                    }
                }
            }
        ]
    }
    made = requests.post(
        f"{server.url}/v4/spreadsheets/{sid}:batchUpdate",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {owner_token}"},
    )
    assert made.status_code == 200
    ws = client.open_by_key(sid).sheet1
    with pytest.raises(gspread.exceptions.APIError) as caught:
        ws.update([["x"]], "A1")
    assert caught.value.code == 400 and "protected cell" in caught.value.error["message"]
    ws.update([["fine"]], "A2")


def test_batch_update_is_all_or_nothing(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    before = book.fetch_sheet_metadata()
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "Expenses"}}},
                    {
                        "updateSheetProperties": {
                            "properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 1}},
                            "fields": "gridProperties.frozenRowCount",
                        }
                    },
                    {"deleteSheet": {"sheetId": 424242}},
                ]
            }
        )
    assert caught.value.code == 400
    assert (
        caught.value.error["message"] == "Invalid requests[2].deleteSheet: No grid with id: 424242"
    )
    assert book.fetch_sheet_metadata() == before
    with pytest.raises(gspread.exceptions.APIError) as unknown:
        book.batch_update({"requests": [{"frobnicate": {}}]})
    assert (
        unknown.value.code == 400 and 'Unknown name "frobnicate"' in unknown.value.error["message"]
    )
    ws.freeze(rows=1)
    assert (
        book.fetch_sheet_metadata()["sheets"][0]["properties"]["gridProperties"]["frozenRowCount"]
        == 1
    )


def test_hide_dimension_chart_and_pivot_are_stored(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.hide_columns(0, 1)
    report = book.add_worksheet("Report", 20, 5)
    chart = {
        "spec": {
            "title": "Spend",
            "basicChart": {"chartType": "LINE", "domains": [], "series": []},
        },
        "position": {
            "overlayPosition": {
                "anchorCell": {"sheetId": report.id, "rowIndex": 0, "columnIndex": 3}
            }
        },
    }
    pivot = {
        "source": {"sheetId": 0, "startRowIndex": 0, "startColumnIndex": 0, "endColumnIndex": 3},
        "rows": [{"sourceColumnOffset": 0, "showTotals": True, "sortOrder": "ASCENDING"}],
        "values": [{"summarizeFunction": "SUM", "sourceColumnOffset": 2}],
    }
    reply = book.batch_update(
        {
            "requests": [
                {"addChart": {"chart": chart}},
                {
                    "updateCells": {
                        "start": {"sheetId": report.id, "rowIndex": 0, "columnIndex": 0},
                        "fields": "pivotTable",
                        "rows": {"values": [{"pivotTable": pivot}]},
                    }
                },
            ]
        }
    )
    chart_id = reply["replies"][0]["addChart"]["chart"]["chartId"]
    meta = book.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Report!A1"})
    assert meta["sheets"][0]["charts"][0]["chartId"] == chart_id
    assert meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]["pivotTable"] == pivot
    columns = book.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Sheet1!A1:B1"})
    assert columns["sheets"][0]["data"][0]["columnMetadata"][0] == {
        "pixelSize": 100,
        "hiddenByUser": True,
    }


def test_update_cells_gives_each_cell_its_own_format_and_note(book: gspread.Spreadsheet) -> None:
    # One row of header cells, each with its own colour and note, over cells with no format yet
    # (what ``init`` sends): each must keep its own, not the first cell's.
    blue, yellow = (
        {"red": 0.85, "green": 0.89, "blue": 0.95},
        {"red": 1, "green": 0.95, "blue": 0.7},
    )
    cells = [
        {"userEnteredValue": {"stringValue": "ID"}, "userEnteredFormat": {"backgroundColor": blue}},
        {
            "userEnteredValue": {"stringValue": "Confirmed"},
            "userEnteredFormat": {"backgroundColor": yellow},
            "note": "tick it",
        },
        {
            "userEnteredValue": {"stringValue": "Synced"},
            "userEnteredFormat": {"backgroundColor": blue},
        },
    ]
    book.batch_update(
        {
            "requests": [
                {
                    "updateCells": {
                        "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0},
                        "rows": [{"values": cells}],
                        "fields": "userEnteredValue,userEnteredFormat.backgroundColor,note",
                    }
                }
            ]
        }
    )
    meta = book.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Sheet1!A1:C1"})
    got = meta["sheets"][0]["data"][0]["rowData"][0]["values"]
    assert [c["userEnteredFormat"]["backgroundColor"] for c in got] == [blue, yellow, blue]
    assert [c.get("note") for c in got] == [None, "tick it", None]


# --------------------------------------------------------------------------- errors, auth, quota


def test_errors_have_googles_codes(
    emulator: SheetsEmulator, client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        client.open_by_key("does-not-exist")
    private = emulator.create_spreadsheet("Somebody's", ["Sheet1"])
    with pytest.raises(PermissionError) as denied:
        client.open_by_key(private)
    assert denied.value.__cause__.code == 403  # type: ignore[union-attr]
    assert denied.value.__cause__.error["status"] == "PERMISSION_DENIED"  # type: ignore[union-attr]
    with pytest.raises(gspread.exceptions.APIError) as bad:
        book.values_get("'Nope'!A1")
    assert (
        bad.value.code == 400 and bad.value.error["message"] == "Unable to parse range: 'Nope'!A1"
    )
    with pytest.raises(gspread.exceptions.APIError) as batch:
        book.values_batch_update(
            {"valueInputOption": "RAW", "data": [{"range": "'Nope'!A1", "values": [[1]]}]}
        )
    assert batch.value.error["message"] == "Invalid data[0]: Unable to parse range: 'Nope'!A1"
    emulator.share(private, emulator.service_account_email, role="reader")
    read_only = client.open_by_key(private).sheet1
    with pytest.raises(gspread.exceptions.APIError) as reader:
        read_only.update([["x"]], "A1")
    assert reader.value.code == 403


def test_scripted_429_and_per_minute_quota(
    emulator: SheetsEmulator, clock: ManualClock, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    emulator.fail_next(429, match="values:batchGet")
    with pytest.raises(gspread.exceptions.APIError) as limited:
        ws.batch_get(["A1"])
    error = limited.value.error
    assert limited.value.code == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert error["details"][0]["metadata"]["quota_metric"] == "sheets.googleapis.com/read_requests"
    emulator.quota_per_minute = {"write": 2}
    clock.set((clock() // 60 + 1) * 60)  # a fresh minute
    ws.update([["a"]], "A1")
    ws.update([["b"]], "A1")
    with pytest.raises(gspread.exceptions.APIError) as quota:
        ws.update([["c"]], "A1")
    assert quota.value.code == 429
    assert (
        quota.value.error["details"][0]["metadata"]["quota_limit"]
        == "WriteRequestsPerMinutePerUser"
    )
    assert ws.acell("A1").value == "b"  # reads are not limited; the refused write changed nothing
    clock.advance(60)
    ws.update([["c"]], "A1")


def test_counters_tell_reads_from_writes(
    emulator: SheetsEmulator, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1  # gspread fetches metadata for this: one more read
    emulator.counters.reset()
    ws.batch_get(["A1:B2", "C1"])
    ws.batch_update([{"range": "A1", "values": [[1]]}, {"range": "B1", "values": [[2]]}])
    book.batch_update(
        {
            "requests": [
                {
                    "updateSheetProperties": {
                        "properties": {"sheetId": 0, "title": "Renamed"},
                        "fields": "title",
                    }
                }
            ]
        }
    )
    assert emulator.counters.by_kind["read"] == 1
    assert emulator.counters.by_kind["write"] == 2


def test_token_endpoint_and_401(
    emulator: SheetsEmulator,
    server: LoopbackServer,
    clock: ManualClock,
    client: gspread.Client,
    book: gspread.Spreadsheet,
) -> None:
    missing = requests.get(f"{server.url}/v4/spreadsheets/{book.id}", timeout=10)
    assert missing.status_code == 401
    assert missing.json()["error"]["status"] == "UNAUTHENTICATED"
    assert missing.json()["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    forged = requests.get(
        f"{server.url}/v4/spreadsheets/{book.id}",
        timeout=10,
        headers={"Authorization": "Bearer ya29.forged"},
    )
    assert forged.status_code == 401
    bad_grant = requests.post(
        f"{server.url}/token",
        timeout=10,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "a.b.c"},
    )
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] in (
        "invalid_grant",
        "invalid_request",
    )
    stranger = dict(emulator.service_account_info(server.url + "/token"))
    stranger["client_email"] = "stranger@elsewhere.iam.gserviceaccount.com"
    with pytest.raises(Exception, match="account not found"):
        connect(stranger, api_base_url=server.url).open_by_key(book.id)
    # An expired token is refused with 401; google-auth refreshes it and retries by itself.
    grants = emulator.counters.by_route["oauth_token"]
    clock.advance(3600)
    assert client.open_by_key(book.id).title == "Ledger"
    assert emulator.counters.by_route["oauth_token"] == grants  # /token is not counted (kind None)
    assert [line for line in emulator.log if line.startswith("POST /token")]


# --------------------------------------------------------------------------- Drive


def test_drive_create_list_share_export_delete(
    emulator: SheetsEmulator, client: gspread.Client, team_drive: str
) -> None:
    made = client.create("Cashbox", folder_id=team_drive)
    made.sheet1.update([["id", "amount", "ok"], ["p1", 10.5, True], ["=1+2"]], "A1", raw=False)
    assert client.open("Cashbox").id == made.id
    assert [f["name"] for f in client.list_spreadsheet_files()] == ["Cashbox"]
    made.share("cashier@example.com", perm_type="user", role="writer", notify=False)
    emails = {p.get("emailAddress") for p in made.list_permissions()}
    assert emails == {emulator.service_account_email, "cashier@example.com"}
    assert made.get_lastUpdateTime().endswith("Z")
    xlsx = client.export(made.id, ExportFormat.EXCEL)
    assert xlsx[:2] == b"PK"
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        assert archive.testzip() is None
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "p1" in sheet_xml and "<v>10.5</v>" in sheet_xml and "<f>1+2</f><v>3</v>" in sheet_xml
    client.del_spreadsheet(made.id)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        client.open_by_key(made.id)


# --------------------------------------------------------------------------- people and persistence


def test_people_controls_in_process(emulator: SheetsEmulator, client: gspread.Client) -> None:
    sid = emulator.create_spreadsheet(
        "Ledger",
        [{"title": "Payments", "values": [["id", "amount"], ["b", 2], ["a", 1], ["c", 3]]}],
        shared_with=[emulator.service_account_email],
    )
    emulator.sort_range(sid, "Payments", "B", ascending=False)
    assert emulator.values(sid, "Payments") == [["id", "amount"], ["c", 3], ["b", 2], ["a", 1]]
    emulator.rename_header(sid, "Payments", "amount", "sum")
    emulator.type_cell(sid, "Payments!C2", "=B2*2")
    ws = client.open_by_key(sid).worksheet("Payments")
    assert ws.get_all_values()[:2] == [["id", "sum", ""], ["c", "3", "6"]]
    with pytest.raises(KeyError):
        emulator.rename_header(sid, "Nope", "a", "b")
    with pytest.raises(ValueError, match="no header"):
        emulator.rename_header(sid, "Payments", "missing", "b")


def test_people_controls_over_http(
    emulator: SheetsEmulator, server: LoopbackServer, client: gspread.Client
) -> None:
    made = requests.post(
        f"{server.url}/_sandbox/spreadsheets",
        timeout=10,
        json={
            "title": "Ledger",
            "sheets": [{"title": "Payments", "values": [["id"], ["b"], ["a"]]}],
            "shared_with": [emulator.service_account_email],
        },
    )
    sid = made.json()["spreadsheetId"]
    assert requests.post(
        f"{server.url}/_sandbox/type",
        timeout=10,
        json={"spreadsheet_id": sid, "a1": "Payments!B1", "value": "ok"},
    ).ok
    scheduled = requests.post(
        f"{server.url}/_sandbox/edit",
        timeout=10,
        json={
            "match": "values:batchGet",
            "op": "sort",
            "spreadsheet_id": sid,
            "sheet_title": "Payments",
            "column": "A",
        },
    )
    assert scheduled.status_code == 201
    ws = client.open_by_key(sid).worksheet("Payments")
    assert ws.batch_get(["A1:B3"])[0] == [["id", "ok"], ["a"], ["b"]]  # sorted just before the read
    values = requests.get(
        f"{server.url}/_sandbox/values",
        timeout=10,
        params={"spreadsheet_id": sid, "sheet_title": "Payments"},
    ).json()
    assert values == {"values": [["id", "ok"], ["a"], ["b"]]}

    def control(op: str, **body: Any) -> requests.Response:
        return requests.post(
            f"{server.url}/_sandbox/{op}", json={"spreadsheet_id": sid, **body}, timeout=10
        )

    assert control("insert_rows", sheet_title="Payments", at_row=2, count=1).ok
    assert control("rename_header", sheet_title="Payments", old="ok", new="seen").ok
    assert control("tick", a1="Payments!B2").ok
    assert control("delete_rows", sheet_title="Payments", at_row=3).ok
    assert control("share", email="cashier@example.com", role="reader").ok
    assert (
        control("rename_header", sheet_title="Payments", old="missing", new="x").status_code == 400
    )
    assert emulator.values(sid, "Payments") == [["id", "seen"], ["", True], ["b"]]
    assert requests.put(f"{server.url}/_sandbox/quota", json={"read": 5}, timeout=10).ok
    assert emulator.quota_per_minute == {"read": 5}
    assert requests.put(f"{server.url}/_sandbox/quota", json={}, timeout=10).ok
    assert emulator.quota_per_minute is None
    token = requests.post(f"{server.url}/_sandbox/token", json={}, timeout=10).json()[
        "access_token"
    ]
    assert requests.get(
        f"{server.url}/v4/spreadsheets/{sid}",
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    ).ok
    info = requests.get(f"{server.url}/_sandbox/service_account", timeout=10).json()
    assert info["token_uri"] == f"{server.url}/token"
    assert connect(info, api_base_url=server.url).open_by_key(sid).title == "Ledger"


def test_state_round_trip_keeps_data_and_the_key(
    emulator: SheetsEmulator,
    server: LoopbackServer,
    client: gspread.Client,
    book: gspread.Spreadsheet,
    tmp_path: Any,
) -> None:
    ws = book.sheet1
    ws.update([["id", "when"], ["p1", "2024-02-01"], ["=1+1"]], "A1", raw=False)
    ws.add_validation("C2", gspread.utils.ValidationConditionType.boolean, [])
    book.batch_update({"requests": [row_metadata(book, 0, 1, "p1")]})
    ws.define_named_range("A1:B2", "tbl")
    emulator.save(tmp_path)
    info = emulator.service_account_info(server.url + "/token")

    revived = SheetsEmulator()
    assert revived.load(tmp_path)
    assert revived.state() == emulator.state()
    with LoopbackServer(revived) as again:  # a restarted sandbox on another port
        other = connect({**info, "token_uri": again.url + "/token"}, api_base_url=again.url)
        sheet = other.open_by_key(book.id).sheet1
        assert sheet.get_all_values() == [["id", "when"], ["p1", "2024-02-01"], ["2", ""]]
        assert sheet.get("A3", value_render_option=ValueRenderOption.formula) == [["=1+1"]]
        assert revived.metadata(book.id)[0]["metadataValue"] == "p1"


def test_more_structure_requests_and_partial_responses(
    client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    ws = book.sheet1
    ws.update([["id", "status"], ["b", "new"], ["a", "paid"], ["c", ""]], "A1")
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}"
    reply = book.batch_update(
        {
            "requests": [
                {
                    "sortRange": {
                        "range": {"sheetId": 0, "startRowIndex": 1},
                        "sortSpecs": [{"dimensionIndex": 0}],
                    }
                },
                {
                    "setDataValidation": {
                        "range": {
                            "sheetId": 0,
                            "startRowIndex": 1,
                            "startColumnIndex": 1,
                            "endColumnIndex": 2,
                        },
                        "rule": {
                            "condition": {
                                "type": "ONE_OF_LIST",
                                "values": [
                                    {"userEnteredValue": "new"},
                                    {"userEnteredValue": "paid"},
                                ],
                            },
                            "strict": True,
                            "showCustomUi": True,
                        },
                    }
                },
                {
                    "updateDimensionProperties": {
                        "range": {
                            "sheetId": 0,
                            "dimension": "COLUMNS",
                            "startIndex": 0,
                            "endIndex": 1,
                        },
                        "properties": {"pixelSize": 200},
                        "fields": "pixelSize",
                    }
                },
                {"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 2}},
                {"duplicateSheet": {"sourceSheetId": 0, "newSheetName": "Copy"}},
                {
                    "createDeveloperMetadata": {
                        "developerMetadata": {
                            "metadataKey": "schema",
                            "metadataValue": "1",
                            "location": {"spreadsheet": True},
                            "visibility": "DOCUMENT",
                        }
                    }
                },
            ],
            "includeSpreadsheetInResponse": True,
        }
    )
    assert ws.col_values(1) == ["id", "a", "b", "c"]
    copy_id = reply["replies"][4]["duplicateSheet"]["properties"]["sheetId"]
    assert reply["updatedSpreadsheet"]["developerMetadata"][0]["metadataKey"] == "schema"
    props = book.fetch_sheet_metadata(
        {"fields": "sheets.properties(sheetId,title,gridProperties.columnCount)"}
    )
    assert props == {
        "sheets": [
            {
                "properties": {
                    "sheetId": 0,
                    "title": "Sheet1",
                    "gridProperties": {"columnCount": 28},
                }
            },
            {
                "properties": {
                    "sheetId": copy_id,
                    "title": "Copy",
                    "gridProperties": {"columnCount": 28},
                }
            },
        ]
    }
    grid = book.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Copy!A2:B2"})["sheets"][
        0
    ]["data"][0]
    assert grid["startRow"] == 1 and grid["columnMetadata"][0]["pixelSize"] == 200
    assert grid["rowData"][0]["values"][1]["dataValidation"]["condition"]["type"] == "ONE_OF_LIST"
    by_filter = client.http_client.request(
        "post", f"{url}:getByDataFilter", json={"dataFilters": [{"a1Range": "Copy!A1"}]}
    ).json()
    assert [s["properties"]["title"] for s in by_filter["sheets"]] == ["Copy"]
    cleared = client.http_client.request(
        "post",
        f"{url}/values:batchClearByDataFilter",
        json={
            "dataFilters": [
                {"gridRange": {"sheetId": copy_id, "startRowIndex": 3, "endRowIndex": 4}}
            ]
        },
    ).json()
    assert cleared["clearedRanges"] == ["Copy!A4:AB4"]
    deleted = book.batch_update(
        {
            "requests": [
                {
                    "deleteDeveloperMetadata": {
                        "dataFilter": {"developerMetadataLookup": {"metadataKey": "schema"}}
                    }
                },
                {"deleteSheet": {"sheetId": copy_id}},
            ]
        }
    )
    assert (
        deleted["replies"][0]["deleteDeveloperMetadata"]["deletedDeveloperMetadata"][0][
            "metadataValue"
        ]
        == "1"
    )
    assert [w.title for w in book.worksheets()] == ["Sheet1"]


def test_gspread_formatting_batches_and_grid_reads(book: gspread.Spreadsheet) -> None:
    import gspread_formatting as gf

    ws = book.sheet1
    ws.update([["amount"], [1234.5]], "A1")
    with gf.batch_updater(book) as batch:  # sends a list of lists of requests
        batch.format_cell_range(
            ws, "A2:A", gf.CellFormat(numberFormat=gf.NumberFormat("NUMBER", "#,##0.00"))
        )
        batch.set_frozen(ws, rows=1)
        batch.set_data_validation_for_cell_range(
            ws, "B2:B", gf.DataValidationRule(gf.BooleanCondition("BOOLEAN", []), showCustomUi=True)
        )
    assert ws.acell("A2").value == "1,234.50"
    assert gf.get_frozen_row_count(ws) == 1
    rule = gf.get_data_validation_rule(ws, "B5")
    assert rule is not None and rule.condition.type == "BOOLEAN"
    assert gf.get_effective_format(ws, "A2").numberFormat.pattern == "#,##0.00"
    gf.set_data_validation_for_cell_range(ws, "B2:B", None)
    assert gf.get_data_validation_rule(ws, "B5") is None


def test_append_cells_lands_after_the_last_row_with_data_in_any_column(
    client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    ws = client.open_by_key(book.id).sheet1
    ws.resize(rows=4, cols=5)
    ws.update([["id", "amount"], ["p1", 100]], "A1")
    ws.update([["a note without an id"]], "E3")  # a person's row below the table
    cells = [{"values": [{"userEnteredValue": {"stringValue": f"p{n}"}}]} for n in (2, 3, 4)]
    request = {"appendCells": {"sheetId": ws.id, "rows": cells, "fields": "userEnteredValue"}}
    book.batch_update({"requests": [request]})
    assert ws.col_values(1) == ["id", "p1", "", "p2", "p3", "p4"]
    assert ws.acell("E3").value == "a note without an id"
    assert client.open_by_key(book.id).sheet1.row_count == 6  # grown "if necessary"
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.batch_update({"requests": [{"appendCells": {"sheetId": ws.id, "rows": cells}}]})
    assert caught.value.code == 400


def test_a_field_mask_decides_whether_grid_data_comes_back(
    client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    ws = client.open_by_key(book.id).sheet1
    ws.update([["id"], ["p1"], [7]], "A1", value_input_option="RAW")
    fields = "sheets(properties(sheetId,title),data(startRow,rowData(values(effectiveValue))))"
    meta = book.fetch_sheet_metadata({"ranges": ["Sheet1!A:A"], "fields": fields})
    rows = meta["sheets"][0]["data"][0]["rowData"]
    assert [r["values"][0]["effectiveValue"] for r in rows] == [
        {"stringValue": "id"},
        {"stringValue": "p1"},
        {"numberValue": 7},
    ]
    bare = book.fetch_sheet_metadata({"ranges": ["Sheet1!A:A"], "fields": "sheets.properties"})
    assert "data" not in bare["sheets"][0]
