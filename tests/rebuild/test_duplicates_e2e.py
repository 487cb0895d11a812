"""A pasted copy of a payment row, end to end: flagged, held back, normal again once deleted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.world import CARD, CASH, World, make_world


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    w.ledger.sleep = lambda seconds: None
    yield w
    w.store.close()
    w.box.stop(save=False)


def _title(world: World) -> str:
    return world.ledger.tabs["payments"][0]


def _paste_copy_above(world: World, payment_id: str) -> int:
    """A person copies the row of ``payment_id`` and pastes it into a new row above it."""
    title = _title(world)
    at = world.row_number("payments", payment_id)
    values = world.box.sheets.values(world.spreadsheet_id, title)[at - 1]
    world.box.sheets.insert_rows(world.spreadsheet_id, title, at)
    for column, value in enumerate(values):
        if value not in ("", None):
            a1 = f"'{title}'!{chr(65 + column)}{at}"
            world.box.sheets.type_cell(world.spreadsheet_id, a1, value, user_entered=False)
    return at


def _cell(world: World, row: int, header: str) -> Any:
    values = world.box.sheets.values(world.spreadsheet_id, _title(world))
    return dict(zip(values[0], values[row - 1], strict=False)).get(header, "")


def _set(world: World, row: int, header: str, value: str) -> None:
    title = _title(world)
    header_row = world.box.sheets.values(world.spreadsheet_id, title)[0]
    a1 = f"'{title}'!{chr(65 + header_row.index(header))}{row}"
    world.box.sheets.type_cell(world.spreadsheet_id, a1, value)


def test_a_pasted_copy_is_flagged_and_held_until_it_is_deleted(world: World):
    deal = world.deal("1045", price=100_000, payments=((30_000, CASH, date(2026, 11, 20)),))
    other = world.deal("1046", price=20_000, payments=((20_000, CARD, None),))
    world.sync()
    payment = f"{deal}:1"
    world.tick(payment, by="Светлана")
    assert world.sync().ok
    assert len(world.notes(deal)) == 1

    copy_row = _paste_copy_above(world, payment)
    original_row = copy_row + 1
    report = world.sync()
    assert report.events == []
    assert any("2 rows have the ID" in p and payment in p for p in report.problems)
    for row in (copy_row, original_row):
        assert str(_cell(world, row, "Sync state")).startswith("pushed #1 · E_DUPLICATE")

    # Unticking the copy (the row the daemon meets first) reverses nothing; ticking it again
    # confirms nothing; the rest of the ledger goes on meanwhile.
    _set(world, copy_row, "Confirmed", "FALSE")
    world.tick(f"{other}:1", by="Ольга")
    report = world.sync()
    assert [e.payment_id for e in report.pushed] == [f"{other}:1"]
    assert len(world.notes(deal)) == 1
    assert world.confirmed_total(deal) == Decimal("30000")
    deals = {r["Deal ID"]: r for r in world.rows("deals")}
    assert deals[deal]["Confirmed total"] == 30000
    _set(world, copy_row, "Confirmed", "TRUE")
    _set(world, copy_row, "Received amount", "25000")
    assert world.sync().events == []
    _set(world, copy_row, "Confirmed", "FALSE")
    assert world.sync().events == []
    assert len(world.notes(deal)) == 1

    # The copy goes: the row left is the pushed one, unflagged, and nothing is sent.
    world.box.sheets.delete_rows(world.spreadsheet_id, _title(world), copy_row)
    report = world.sync()
    assert report.ok, report.problems
    assert report.events == []
    row = {r["Payment ID"]: r for r in world.rows("payments")}[payment]
    assert (row["Sync state"], row["Confirmed"]) == ("pushed #1", True)
    assert len(world.notes(deal)) == 1
    assert world.confirmed_total(deal) == Decimal("30000")


def test_a_copy_of_an_unpushed_row_pushes_nothing_until_one_row_is_left(world: World):
    deal = world.deal("2001", price=40_000, payments=((40_000, CARD, None),))
    world.sync()
    payment = f"{deal}:1"
    copy_row = _paste_copy_above(world, payment)
    _set(world, copy_row, "Confirmed", "TRUE")
    report = world.sync()
    assert report.events == []
    assert str(_cell(world, copy_row + 1, "Sync state")).startswith("E_DUPLICATE")
    assert world.notes(deal) == []
    # The person deletes the unticked original and keeps the ticked copy: it is pushed once.
    world.box.sheets.delete_rows(world.spreadsheet_id, _title(world), copy_row + 1)
    report = world.sync()
    assert [(e.payment_id, e.kind, e.seq) for e in report.pushed] == [(payment, "confirm", 1)]
    assert len(world.notes(deal)) == 1
    row = {r["Payment ID"]: r for r in world.rows("payments")}[payment]
    assert row["Sync state"] == "pushed #1"


def test_a_copy_in_cash_on_hand_is_rewritten_away_without_a_word(world: World):
    world.deal("3001", price=30_000, payments=((30_000, CASH, date(2026, 11, 20)),))
    world.sync()
    title = world.ledger.tabs["cash"][0]
    values = world.box.sheets.values(world.spreadsheet_id, title)
    assert len(values) == 2
    for column, value in enumerate(values[1]):
        a1 = f"'{title}'!{chr(65 + column)}3"
        world.box.sheets.type_cell(world.spreadsheet_id, a1, value, user_entered=False)
    report = world.sync()
    assert report.ok, report.problems
    assert world.box.sheets.values(world.spreadsheet_id, title) == values
