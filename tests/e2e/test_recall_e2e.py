"""People's edits that make the sheet forget or mix up a push: amoCRM's markers set it right.

Each test makes its edit through the Sheets API with gspread, as a person's browser
would, runs a sync, and then looks at amoCRM's notes and fields and at the ledger
(``rebuild/recall.py`` is what they exercise).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import gspread
import pytest

from sheetledger.connect import build_google
from sheetledger.sync.push import deal_totals
from tests.e2e.world import BANK, CARD, CASH, World, make_world

OUT_OF_OVERLAP = 3600  # seconds: the deals' leads are no longer in the pull's window


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    w = make_world(tmp_path)
    w.ledger.sleep = lambda seconds: None
    yield w
    w.store.close()
    w.box.stop(save=False)


@pytest.fixture
def book(world: World) -> gspread.Spreadsheet:
    return build_google(world.config).open_by_key(world.spreadsheet_id)


def _title(world: World) -> str:
    return str(world.ledger.tabs["payments"][0])


def _sheet_id(book: gspread.Spreadsheet, title: str) -> int:
    for sheet in book.fetch_sheet_metadata()["sheets"]:
        if sheet["properties"]["title"] == title:
            return int(sheet["properties"]["sheetId"])
    raise KeyError(title)


def _payments(world: World) -> dict[str, dict[str, Any]]:
    return {row["Payment ID"]: row for row in world.rows("payments") if row["Payment ID"]}


def _markers(world: World, deal: int) -> Counter[str]:
    found: Counter[str] = Counter()
    for text in world.notes(deal):
        found.update(re.findall(r"sheetledger:(\S+#\d+)", text))
    return found


def _ledger_total(world: World, deal: int) -> Decimal:
    view = world.fresh_ledger().read(["deals", "payments"])
    return deal_totals(view).get(deal, Decimal(0))


def test_a_cleared_state_after_three_events_comes_back_and_the_next_event_is_number_four(
    world: World, book: gspread.Spreadsheet
) -> None:
    deal = world.deal("9701", payments=((1000, CARD, None),))
    world.sync()
    world.tick(f"{deal}:1")
    world.sync()
    world.untick(f"{deal}:1")
    world.sync()
    world.tick(f"{deal}:1")
    world.sync()
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "pushed #3"
    # A person pastes over the daemon's two cells (Pushed amount, Sync state).
    row = world.row_number("payments", f"{deal}:1")
    book.values_batch_clear(body={"ranges": [f"'{_title(world)}'!O{row}:P{row}"]})
    report = world.sync()
    assert report.events == []  # confirmation #1 is not "pushed" again
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "pushed #3"
    # The next event follows amoCRM's last one: a reversal #4, in a note of its own.
    world.untick(f"{deal}:1")
    report = world.sync()
    assert [e.seq for e in report.pushed] == [4]
    assert _markers(world, deal) == Counter({f"{deal}:1#{n}": 1 for n in (1, 2, 3, 4)})
    assert world.confirmed_total(deal) == Decimal(0) == _ledger_total(world, deal)


def test_a_deleted_confirmed_row_comes_back_confirmed_without_a_second_note(
    world: World, book: gspread.Spreadsheet
) -> None:
    deal = world.deal("9702", price=90_000, payments=((40_000, CASH, None), (50_000, BANK, None)))
    world.sync()
    world.tick(f"{deal}:1", received="35000", by="Ольга")
    world.sync()
    assert world.confirmed_total(deal) == Decimal(35_000)
    world.clock.advance(OUT_OF_OVERLAP)
    row = world.row_number("payments", f"{deal}:1")
    book.batch_update(
        {
            "requests": [
                {
                    "deleteDimension": {
                        "range": {
                            "sheetId": _sheet_id(book, _title(world)),
                            "dimension": "ROWS",
                            "startIndex": row - 1,
                            "endIndex": row,
                        }
                    }
                }
            ]
        }
    )
    assert f"{deal}:1" not in _payments(world)
    report = world.sync()
    assert report.events == []
    back = _payments(world)[f"{deal}:1"]
    assert back["Sync state"] == "pushed #1" and back["Confirmed"] is True
    assert back["Received amount"] == 35000 and back["Confirmed by"] == "Ольга"
    assert _markers(world, deal) == Counter({f"{deal}:1#1": 1})
    assert world.confirmed_total(deal) == Decimal(35_000) == _ledger_total(world, deal)
    assert world.sync().events == []


def test_a_range_sorted_away_from_the_daemons_columns_is_set_right_from_the_markers(
    world: World, book: gspread.Spreadsheet
) -> None:
    deals = [world.deal(str(9710 + n), payments=((1000 * (n + 1), CARD, None),)) for n in range(3)]
    world.sync()
    world.tick(f"{deals[0]}:1")
    world.sync()
    world.clock.advance(OUT_OF_OVERLAP)
    # A person selects the first eight columns (ID .. Date) and sorts them descending: the
    # IDs move, the ticks and the daemon's states stay on their old lines.
    book.batch_update(
        {
            "requests": [
                {
                    "sortRange": {
                        "range": {
                            "sheetId": _sheet_id(book, _title(world)),
                            "startRowIndex": 1,
                            "startColumnIndex": 0,
                            "endColumnIndex": 8,
                        },
                        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}],
                    }
                }
            ]
        }
    )
    rows = _payments(world)
    assert rows[f"{deals[0]}:1"]["Sync state"] == ""  # its state now stands on another row
    assert rows[f"{deals[2]}:1"]["Sync state"] == "pushed #1"
    world.sync()
    world.sync()
    rows = _payments(world)
    # amoCRM's marker gives the first payment its confirmation back on its new line (whose
    # confirmation cells were empty): nothing is lost, nothing reversed. The tick that stayed
    # on the old line now stands beside the third payment's ID: the people's word, pushed as
    # that payment's own first event (its row had taken the first payment's "pushed #1").
    assert rows[f"{deals[0]}:1"]["Sync state"] == "pushed #1"
    assert rows[f"{deals[0]}:1"]["Confirmed"] is True
    assert rows[f"{deals[2]}:1"]["Sync state"] == "pushed #1"
    assert _markers(world, deals[0]) == Counter({f"{deals[0]}:1#1": 1})
    assert _markers(world, deals[2]) == Counter({f"{deals[2]}:1#1": 1})
    assert _markers(world, deals[1]) == Counter()
    for deal in deals:
        assert (world.confirmed_total(deal) or Decimal(0)) == _ledger_total(world, deal)


def test_a_deleted_tab_rebuilt_says_only_what_amocrm_has(
    world: World, book: gspread.Spreadsheet
) -> None:
    from sheetledger.rebuild.run import run_rebuild  # import cycle: rebuild imports the cycle

    deal = world.deal("9720", payments=((1000, CARD, None), (2000, CASH, None)))
    world.sync()
    world.tick(f"{deal}:1")
    world.tick(f"{deal}:2")
    world.sync()
    world.untick(f"{deal}:2")
    world.sync()
    book.batch_update({"requests": [{"deleteSheet": {"sheetId": _sheet_id(book, _title(world))}}]})
    ledger = world.fresh_ledger()
    run_rebuild(world.config, ledger, world.crm, world.store, now=world.now())
    world.ledger = ledger
    world.sync()
    rows = _payments(world)
    assert rows[f"{deal}:1"]["Sync state"] == "pushed #1" and rows[f"{deal}:1"]["Confirmed"]
    assert rows[f"{deal}:2"]["Sync state"] == "reversed #2"
    assert _markers(world, deal) == Counter({f"{deal}:1#1": 1, f"{deal}:2#1": 1, f"{deal}:2#2": 1})
    assert world.confirmed_total(deal) == Decimal(1000) == _ledger_total(world, deal)


def test_a_total_amocrm_took_without_its_note_is_written_again_when_the_tick_goes(
    world: World, book: gspread.Spreadsheet
) -> None:
    deal = world.deal("9730", payments=((1000, CARD, None),))
    world.sync()
    world.tick(f"{deal}:1")
    # amoCRM takes the deal's PATCH, then refuses every try of the note.
    world.box.amo.fail_next(503, count=50, match="POST /api/v4/leads/notes")
    report = world.sync()
    world.box.amo.faults.clear()
    assert report.pushed == [] and world.confirmed_total(deal) == Decimal(1000)
    # Before the next sync, the person takes the tick back: no event is left to push.
    row = world.row_number("payments", f"{deal}:1")
    book.values_update(
        f"'{_title(world)}'!I{row}",
        params={"valueInputOption": "USER_ENTERED"},
        body={"values": [["FALSE"]]},
    )
    report = world.sync()
    assert report.events == [] and world.notes(deal) == []
    assert world.confirmed_total(deal) == Decimal(0) == _ledger_total(world, deal)
    assert world.store.journal_size() == 0  # nothing is on its way any more
    world.box.amo.counters.reset()
    world.sync()
    assert world.box.amo.counters.by_route.get("_get_notes", 0) == 0  # settled: no more looks


def test_a_copied_row_sorted_apart_is_set_right_once_the_copies_are_deleted(
    world: World, book: gspread.Spreadsheet
) -> None:
    deals = [world.deal(str(9740 + n), payments=((1000 * (n + 1), CARD, None),)) for n in range(3)]
    world.sync()
    for deal in deals:
        world.tick(f"{deal}:1")
    world.sync()
    world.untick(f"{deals[0]}:1")
    world.sync()
    world.tick(f"{deals[0]}:1")
    world.sync()  # the first payment: confirmation #3 of 1,000
    world.clock.advance(OUT_OF_OVERLAP)
    title = _title(world)
    first = world.row_number("payments", f"{deals[0]}:1")
    copied = book.values_get(
        f"'{title}'!A{first}:P{first}", params={"valueRenderOption": "UNFORMATTED_VALUE"}
    )
    book.values_update(
        f"'{title}'!A5", params={"valueInputOption": "RAW"}, body={"values": copied["values"]}
    )
    world.sync()  # both copies flagged E_DUPLICATE
    # While the copies stand, a sort of the first six columns puts both copies' IDs beside
    # other payments' amounts, ticks and states ("pushed #1" of 2,000 and of 3,000).
    book.batch_update(
        {
            "requests": [
                {
                    "sortRange": {
                        "range": {
                            "sheetId": _sheet_id(book, title),
                            "startRowIndex": 1,
                            "endRowIndex": 5,
                            "startColumnIndex": 0,
                            "endColumnIndex": 6,
                        },
                        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}],
                    }
                }
            ]
        }
    )
    world.sync()
    rows = [r for r in world.rows("payments") if r["Payment ID"] == f"{deals[0]}:1"]
    assert len(rows) == 2 and all("E_DUPLICATE" in r["Sync state"] for r in rows)
    assert {r["Amount"] for r in rows} != {1000}  # the sort left other amounts beside them
    # A person deletes the lower copy, as the flag asks.
    lower = max(
        n
        for n, r in enumerate(world.rows("payments"), start=2)
        if r["Payment ID"] == f"{deals[0]}:1"
    )
    world.box.sheets.delete_rows(world.spreadsheet_id, title, lower)
    world.sync()
    world.sync()
    back = _payments(world)[f"{deals[0]}:1"]
    assert back["Sync state"] == "pushed #3" and back["Amount"] == 1000
    marks = _markers(world, deals[0])
    assert marks == Counter({f"{deals[0]}:1#{n}": 1 for n in (1, 2, 3)})
    for deal in deals:
        assert (world.confirmed_total(deal) or Decimal(0)) == _ledger_total(world, deal)
