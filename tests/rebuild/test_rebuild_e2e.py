"""A deleted Payments tab, end to end: the sync refuses, `rebuild` brings every row back."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sheetledger.errors import FatalError
from sheetledger.ledger.setup import prepare
from sheetledger.rebuild.guard import LedgerLost, lost_on_init
from sheetledger.rebuild.run import run_rebuild
from tests.e2e.world import BANK, CARD, CASH, TERMINAL, World, make_world


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    w.ledger.sleep = lambda seconds: None
    yield w
    w.store.close()
    w.box.stop(save=False)


def _payments(world: World) -> dict[str, dict[str, Any]]:
    return {row["Payment ID"]: row for row in world.rows("payments") if row["Payment ID"]}


def _deals(world: World) -> dict[Any, dict[str, Any]]:
    return {row["Deal ID"]: row for row in world.rows("deals") if row["Deal ID"]}


def _type(world: World, payment_id: str, header: str, value: str) -> None:
    """A person types into a cell of the master's Payments row (found by header)."""
    title = world.ledger.tabs["payments"][0]
    header_row = world.box.sheets.values(world.spreadsheet_id, title)[0]
    column = chr(65 + header_row.index(header))
    row = world.row_number("payments", payment_id)
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!{column}{row}", value)


def _all_notes(world: World, deals: list[int]) -> list[str]:
    return [n for deal in deals for n in world.notes(deal)]


@pytest.fixture
def confirmed(world: World) -> tuple[list[int], dict[str, dict[str, Any]]]:
    """Three deals with a confirmation, a different received sum, a partial and a reversal."""
    a = world.deal("1045", price=100_000, payments=((30_000, CASH, date(2026, 11, 20)),))
    b = world.deal("1046", price=50_000, payments=((20_000, CARD, None), (30_000, CARD, None)))
    c = world.deal(
        "1047",
        price=80_000,
        payments=((40_000, CASH, date(2026, 11, 21)), (40_000, TERMINAL, None)),
    )
    d = world.deal("1048", price=10_000, payments=((10_000, BANK, None),))
    world.sync()
    world.tick(f"{a}:1", by="Светлана")
    world.tick(f"{b}:1", received="19500", by="Ольга")
    world.tick(f"{b}:2")  # nobody signed it
    _type(world, f"{c}:1", "Received amount", "15000")  # a partial receipt, not ticked
    _type(world, f"{c}:1", "Confirmed by", "Касса")
    assert world.sync().ok
    world.untick(f"{b}:2")  # a reversal
    assert world.sync().ok
    world.sync()
    payments = _payments(world)
    assert payments[f"{a}:1"]["Sync state"] == "pushed #1"
    assert payments[f"{b}:2"]["Sync state"] == "reversed #2"
    assert payments[f"{c}:1"]["Sync state"] == "partial #1"
    return [a, b, c, d], payments


def test_a_deleted_payments_tab_is_refused_by_sync_and_restored_by_rebuild(
    world: World, confirmed: tuple[list[int], dict[str, dict[str, Any]]]
):
    deals, before = confirmed
    deals_before = _deals(world)
    notes_before = _all_notes(world, deals)
    title = world.ledger.tabs["payments"][0]
    world.box.sheets.delete_sheet(world.spreadsheet_id, title)

    with pytest.raises(FatalError) as missing:
        world.sync()
    assert "sheetledger rebuild" in str(missing.value)

    # `init` recreates the tab empty, and says that a rebuild is due.
    setup = prepare(world.ledger)
    assert setup.created == [title]
    titles = {key: t for key, (t, _) in world.ledger.tabs.items()}
    [said] = lost_on_init(world.store, setup.created, titles)
    assert "sheetledger rebuild" in said and f"had {len(before)} rows" in said

    # The sync refuses to fill a fraction of it, and writes nothing anywhere.
    world.box.sheets.counters.reset()
    with pytest.raises(LedgerLost) as lost:
        world.sync()
    assert "sheetledger rebuild" in str(lost.value) and title in str(lost.value)
    assert world.box.sheets.counters.by_kind.get("write", 0) == 0
    assert _payments(world) == {}

    # A dry run says what it would restore and writes nothing.
    world.box.sheets.counters.reset()
    dry = run_rebuild(
        world.config, world.ledger, world.crm, world.store, now=world.now(), dry_run=True
    )
    assert world.box.sheets.counters.by_kind.get("write", 0) == 0
    assert _payments(world) == {}
    assert dry.plan.new_rows == len(before)
    assert {r.payment_id: f"{r.status} #{r.seq}" for r in dry.plan.restored} == {
        pid: row["Sync state"] for pid, row in before.items() if row["Sync state"]
    }

    report = run_rebuild(world.config, world.ledger, world.crm, world.store, now=world.now())
    assert report.ok, report.plan.problems
    assert report.plan.pending == []
    after = _payments(world)
    assert set(after) == set(before)
    for payment_id, row in before.items():
        restored = after[payment_id]
        # "Confirmed at" of a tick nobody dated comes back as the day amoCRM's note gives.
        if row["Confirmed at"] == "" and row["Sync state"] and "reversed" not in row["Sync state"]:
            assert restored["Confirmed at"] != ""
            restored = restored | {"Confirmed at": ""}
        assert restored == row, payment_id
    assert {k: (v["Confirmed total"], v["Balance due"]) for k, v in _deals(world).items()} == {
        k: (v["Confirmed total"], v["Balance due"]) for k, v in deals_before.items()
    }

    # The daemon goes on as before: nothing to push, and amoCRM got no note at all.
    again = world.sync()
    assert again.ok, again.problems
    assert again.events == []
    assert _all_notes(world, deals) == notes_before


def test_an_emptied_payments_tab_is_refused_and_rebuild_keeps_the_rows_people_kept(
    world: World, confirmed: tuple[list[int], dict[str, dict[str, Any]]]
):
    deals, before = confirmed
    notes_before = _all_notes(world, deals)
    title = world.ledger.tabs["payments"][0]
    kept = next(pid for pid, row in before.items() if row["Sync state"] == "pushed #1")
    _type(world, kept, "Comment", "звонили клиенту")
    world.sync()
    rows = len(world.box.sheets.values(world.spreadsheet_id, title))
    keep_at = world.row_number("payments", kept)
    # A person deletes every row but one (the one with a comment).
    if keep_at < rows:
        world.box.sheets.delete_rows(world.spreadsheet_id, title, keep_at + 1, rows - keep_at)
    if keep_at > 2:
        world.box.sheets.delete_rows(world.spreadsheet_id, title, 2, keep_at - 2)
    assert list(_payments(world)) == [kept]

    with pytest.raises(LedgerLost):
        world.sync()

    report = run_rebuild(world.config, world.ledger, world.crm, world.store, now=world.now())
    assert report.ok, report.plan.problems
    after = _payments(world)
    assert set(after) == set(before)
    assert after[kept]["Comment"] == "звонили клиенту"
    for payment_id, row in before.items():
        for header in ("Confirmed", "Received amount", "Pushed amount", "Sync state"):
            assert after[payment_id][header] == row[header], (payment_id, header)
    assert world.sync().events == []
    assert _all_notes(world, deals) == notes_before


def test_rebuild_of_a_sound_ledger_writes_nothing(
    world: World, confirmed: tuple[list[int], dict[str, dict[str, Any]]]
):
    world.box.sheets.counters.reset()
    report = run_rebuild(world.config, world.ledger, world.crm, world.store, now=world.now())
    assert report.ok, report.plan.problems
    assert (report.plan.new_rows, report.plan.restored, report.cells_written) == (0, [], 0)
    assert world.box.sheets.counters.by_kind.get("write", 0) == 0


def test_a_deleted_deals_tab_comes_back_with_its_totals(
    world: World, confirmed: tuple[list[int], dict[str, dict[str, Any]]]
):
    before = _deals(world)
    world.box.sheets.delete_sheet(world.spreadsheet_id, world.ledger.tabs["deals"][0])
    with pytest.raises(FatalError):
        world.sync()
    report = run_rebuild(world.config, world.ledger, world.crm, world.store, now=world.now())
    assert report.ok, report.plan.problems
    assert report.plan.restored == []  # Payments kept every confirmation
    assert _deals(world) == before
    assert world.sync().events == []


def test_a_tab_cleared_header_and_all_is_restored_too(
    world: World, confirmed: tuple[list[int], dict[str, dict[str, Any]]]
):
    _, before = confirmed
    title = world.ledger.tabs["payments"][0]
    rows = len(world.box.sheets.values(world.spreadsheet_id, title))
    world.box.sheets.delete_rows(world.spreadsheet_id, title, 1, rows)
    with pytest.raises(FatalError):
        world.sync()
    report = run_rebuild(world.config, world.ledger, world.crm, world.store, now=world.now())
    assert report.ok, report.plan.problems
    after = _payments(world)
    assert {k: v["Sync state"] for k, v in after.items()} == {
        k: v["Sync state"] for k, v in before.items()
    }
    assert world.sync().events == []
