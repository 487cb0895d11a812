"""The Sheets emulator against real recordings: every interaction of every cassette in
``tests/fixtures/gsheets/`` is replayed over HTTP and the parsed bodies must be equal.

Normalisation (the only differences allowed, and why):

* **Ids Google invents** (spreadsheet ids from Drive ``files.create``,
  ``protectedRangeId``, ``namedRangeId``, new ``sheetId``s) are random on both
  sides. The first time a recorded id meets the emulator's id at the same place
  in a reply, the pair is learnt; later request URIs/bodies get the emulator's
  id and responses get the recorded one before comparing.
* **Spreadsheets the cassette did not create** (gspread's test fixture created
  them outside the recording) are created beforehand as the service account and
  their ids mapped the same way. The unknown id ``test`` stays unknown.
* **The service account** is the one of the recording
  (``telegram-budgeter@...``), so protected-range editors compare as recorded.
* **Tokens**: the cassettes hold ``<ACCESS_TOKEN>``; the replay sends a real
  bearer token issued by the emulator.
* **Hosts**: ``https://sheets.googleapis.com`` and ``https://www.googleapis.com``
  become the loopback server.
* Response **headers and formatting** (Google pretty-prints) are not compared;
  status codes and parsed JSON bodies are, and empty bodies must stay empty.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gsheets"
RECORDED_ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"
HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
INVENTED_IDS = (
    "id",
    "spreadsheetId",
    "protectedRangeId",
    "namedRangeId",
    "sheetId",
    "chartId",
    "metadataId",
)
CASSETTES = sorted(FIXTURES.glob("*.json"))


class IdMap:
    """Recorded id <-> emulator id, learnt from replies."""

    def __init__(self) -> None:
        self.to_emulator: dict[str, str] = {}

    def learn(self, expected: Any, actual: Any) -> None:
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key, value in expected.items():
                if key in INVENTED_IDS and key in actual and not isinstance(value, dict | list):
                    recorded, mine = str(value), str(actual[key])
                    if recorded != mine and recorded not in self.to_emulator:
                        self.to_emulator[recorded] = mine
                elif key in actual:
                    self.learn(value, actual[key])
        elif isinstance(expected, list) and isinstance(actual, list):
            for left, right in zip(expected, actual, strict=False):
                self.learn(left, right)

    def outbound(self, text: str) -> str:
        for recorded, mine in self.to_emulator.items():
            text = text.replace(recorded, mine)
        return text

    def inbound(self, text: str) -> str:
        for recorded, mine in self.to_emulator.items():
            text = text.replace(mine, recorded)
        return text


def recorded_spreadsheet_ids(cassette: dict[str, Any]) -> list[str]:
    """Ids the cassette uses without creating them first."""
    created: set[str] = set()
    used: list[str] = []
    for interaction in cassette["interactions"]:
        request, response = interaction["request"], interaction["response"]
        uri = request["uri"]
        if (
            uri.startswith("https://www.googleapis.com/drive/v3/files?")
            and request["method"] == "POST"
        ):
            created.add(json.loads(response["body"]["string"])["id"])
            continue
        if "/v4/spreadsheets/" in uri:
            sid = uri.split("/v4/spreadsheets/", 1)[1].split("?")[0].split("/")[0].split(":")[0]
            if sid not in created and sid not in used:
                used.append(sid)
    return used


@pytest.fixture
def emulator() -> SheetsEmulator:
    emu = SheetsEmulator()
    emu.service_account_email = RECORDED_ACCOUNT
    return emu


@pytest.mark.parametrize("path", CASSETTES, ids=[p.stem for p in CASSETTES])
def test_cassette_replays_identically(path: Path, emulator: SheetsEmulator) -> None:
    cassette = json.loads(path.read_text(encoding="utf-8"))
    ids = IdMap()
    for sid in recorded_spreadsheet_ids(cassette):
        if sid == "test":  # the cassette's deliberately unknown id
            continue
        book = emulator._new_book(f"Recorded {sid[:6]}", RECORDED_ACCOUNT)
        ids.to_emulator[sid] = book.id
    token = emulator.access_token()
    with LoopbackServer(emulator) as server:
        for number, interaction in enumerate(cassette["interactions"]):
            request, recorded = interaction["request"], interaction["response"]
            url = ids.outbound(request["uri"])
            for host in HOSTS:
                url = url.replace(host, server.url)
            body = ids.outbound(request["body"]) if request["body"] else None
            headers = {"Authorization": f"Bearer {token}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            answer = requests.request(
                request["method"], url, data=body, headers=headers, timeout=10
            )
            where = f"{path.stem} interaction {number}: {request['method']} {request['uri']}"
            assert answer.status_code == recorded["status"]["code"], f"{where}\n{answer.text}"
            expected_text = recorded["body"]["string"]
            if not expected_text:
                assert answer.content == b"", where
                continue
            expected = json.loads(expected_text)
            ids.learn(expected, answer.json())
            actual = json.loads(ids.inbound(answer.text))
            assert actual == expected, where
        assert server.crashes == []


def test_every_cassette_is_replayed() -> None:
    """The fixtures folder is found and holds the six recordings SOURCES.md lists."""
    assert len(CASSETTES) == 6
