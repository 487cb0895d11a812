"""A second, independent client against the Sheets emulator: google-api-python-client.

Google's own library, built from its bundled (static) discovery document and
pointed at the loopback server with ``client_options={"api_endpoint": ...}``,
authenticating with the same service-account JWT grant as gspread. If the emulator
only answered what gspread happens to send, this is where it would show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.oauth2.service_account import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]


@pytest.fixture
def served() -> Iterator[tuple[SheetsEmulator, Any]]:
    emulator = SheetsEmulator()
    with LoopbackServer(emulator) as server:
        info = emulator.service_account_info(server.url + "/token")
        service = build(
            "sheets",
            "v4",
            credentials=Credentials.from_service_account_info(info, scopes=SCOPES),
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": server.url + "/"},
        )
        yield emulator, service
        service.close()
        assert server.crashes == []


def test_get_values_update_and_batch_update_through_google_api_python_client(
    served: tuple[SheetsEmulator, Any],
) -> None:
    emulator, service = served
    sid = emulator.create_spreadsheet(
        "Peer", ["Payments"], shared_with=[emulator.service_account_email]
    )
    book = service.spreadsheets()
    got = book.get(spreadsheetId=sid, fields="properties.title,sheets.properties.title").execute()
    assert got == {
        "properties": {"title": "Peer"},
        "sheets": [{"properties": {"title": "Payments"}}],
    }

    updated = (
        book.values()
        .update(
            spreadsheetId=sid,
            range="'Payments'!A1:B2",
            valueInputOption="USER_ENTERED",
            body={"values": [["id", "amount"], ["p1", "1,250.50"]]},
        )
        .execute()
    )
    assert updated["updatedRange"] == "Payments!A1:B2" and updated["updatedCells"] == 4
    read = (
        book.values()
        .get(spreadsheetId=sid, range="Payments", valueRenderOption="UNFORMATTED_VALUE")
        .execute()
    )
    assert read["values"] == [["id", "amount"], ["p1", 1250.5]]

    reply = book.batchUpdate(
        spreadsheetId=sid,
        body={
            "requests": [
                {"addSheet": {"properties": {"title": "Expenses"}}},
                {
                    "mergeCells": {
                        "range": {"sheetId": 0, "endRowIndex": 2, "endColumnIndex": 2},
                        "mergeType": "MERGE_ROWS",
                    }
                },
            ]
        },
    ).execute()
    assert reply["replies"][0]["addSheet"]["properties"]["title"] == "Expenses"
    assert reply["replies"][1] == {}
    titles = book.get(spreadsheetId=sid, fields="sheets.properties.title").execute()
    assert [s["properties"]["title"] for s in titles["sheets"]] == ["Payments", "Expenses"]


def test_errors_reach_google_api_python_client_as_google_sends_them(
    served: tuple[SheetsEmulator, Any],
) -> None:
    emulator, service = served
    sid = emulator.create_spreadsheet(
        "Peer", ["Payments"], shared_with=[emulator.service_account_email]
    )
    with pytest.raises(HttpError) as refused:
        service.spreadsheets().values().get(spreadsheetId=sid, range="'Nope'!A1").execute()
    assert refused.value.status_code == 400
    assert refused.value.reason == "Unable to parse range: 'Nope'!A1"
    with pytest.raises(HttpError) as missing:
        service.spreadsheets().get(spreadsheetId="not-a-spreadsheet").execute()
    assert missing.value.status_code == 404
