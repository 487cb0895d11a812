"""The backup and the restore against the Sheets emulator."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from sheetledger.connect import build_google
from sheetledger.reconcile.backup import Book, prune, read_book, save_backup, take_backup
from sheetledger.reconcile.restore import run_restore
from tests.e2e.world import BANK, CASH, make_world


@pytest.fixture
def world(tmp_path):
    made = make_world(tmp_path / "world")
    yield made
    made.box.stop(save=False)
    made.store.close()


def _books(world):
    http = build_google(world.config).http_client
    books = {"master": (http, world.spreadsheet_id)}
    for name, cabinet in world.cabinets.items():
        books[name] = (http, cabinet.spreadsheet_id)
    return books


def test_deleted_rows_come_back_exactly_and_a_sync_afterwards_pushes_nothing(world, tmp_path):
    deals = [
        world.deal(str(300 + n), payments=((10_000 + n, CASH, date(2026, 11, 20)),))
        for n in range(4)
    ]
    world.deal("399", payments=((5_000, BANK, date(2026, 11, 25)),))
    world.sync()
    world.tick(f"{deals[0]}:1", by="Касса")
    world.tick(f"{deals[1]}:1", received="9000")
    assert len(world.sync().pushed) == 2
    title = world.ledger.tabs["payments"][0]
    before = world.box.sheets.values(world.spreadsheet_id, title)

    world.box.sheets.counters.reset()
    folder = tmp_path / "backups"
    path, _ = take_backup(_books(world), folder, world.now(), keep=3)
    spreadsheets = 1 + len(world.cabinets)
    assert sum(world.box.sheets.counters.by_kind.values()) <= 2 * spreadsheets

    # A person deletes two rows (one confirmed, one not) and edits a row that stays.
    for pid in (f"{deals[0]}:1", f"{deals[2]}:1"):
        world.box.sheets.delete_rows(world.spreadsheet_id, title, world.row_number("payments", pid))
    kept = world.row_number("payments", f"{deals[3]}:1")
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!O{kept}", "позвонить")

    dry = run_restore(world.fresh_ledger(), path, "Payments", None, dry_run=True)
    assert sorted(dry.restored) == sorted([f"{deals[0]}:1", f"{deals[2]}:1"])
    assert len(world.box.sheets.values(world.spreadsheet_id, title)) == len(before) - 2

    plan = run_restore(world.fresh_ledger(), path, "payments", None)
    assert sorted(plan.restored) == sorted([f"{deals[0]}:1", f"{deals[2]}:1"])
    after = world.box.sheets.values(world.spreadsheet_id, title)
    assert sorted(map(str, after)) == sorted(
        map(str, [row for row in before if row[0] != f"{deals[3]}:1"] + [after[kept - 1]])
    )
    assert "позвонить" in after[kept - 1]  # the row that stayed is not overwritten
    notes = sum(len(world.notes(d)) for d in deals)
    report = world.sync()
    assert report.pushed == [] and report.events == []
    assert sum(len(world.notes(d)) for d in deals) == notes


def test_restore_by_id_brings_back_only_those_rows(world, tmp_path):
    deals = [world.deal(str(400 + n)) for n in range(3)]
    world.sync()
    path = save_backup(
        [read_book(build_google(world.config).http_client, "master", world.spreadsheet_id)],
        tmp_path,
        world.now(),
    )
    title = world.ledger.tabs["payments"][0]
    for deal in deals:
        world.box.sheets.delete_rows(
            world.spreadsheet_id, title, world.row_number("payments", f"{deal}:1")
        )
    plan = run_restore(world.fresh_ledger(), path, title, [f"{deals[1]}:1", "9:9"])
    assert plan.restored == [f"{deals[1]}:1"] and plan.unknown == ["9:9"]
    assert [r["Payment ID"] for r in world.rows()] == [f"{deals[1]}:1"]


def test_a_backup_is_an_xlsx_and_json_lines_and_old_ones_are_pruned(world, tmp_path):
    world.deal("501", name='=HYPERLINK("http://x")')
    world.sync()
    folder = tmp_path / "b"
    start = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    paths = [
        take_backup(_books(world), folder, start + timedelta(days=n), keep=2)[0] for n in range(3)
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths[1:])
    latest = paths[-1]
    deals_title = world.ledger.tabs["deals"][0]
    book = load_workbook(latest / "master.xlsx")
    sheet = book[deals_title]
    held = world.box.sheets.values(world.spreadsheet_id, deals_title)[1][1]
    assert sheet["B2"].value == held and sheet["B2"].data_type == "s"
    lines = [json.loads(x) for x in (latest / "master.jsonl").read_text("utf-8").splitlines()]
    assert {"tab": deals_title, "row": 1} == {k: lines[0][k] for k in ("tab", "row")}
    assert {p.name for p in latest.iterdir()} >= {"master.jsonl", "master.xlsx", "manifest.json"}
    assert prune(folder, 1) == [paths[1]]


def test_text_that_looks_like_a_formula_is_saved_as_text(tmp_path):
    book = Book("master", "sid", {"Expenses": [["Comment", "Amount"], ["=SUM(B1:B9)", 12.5]]})
    path = save_backup([book], tmp_path, datetime(2026, 11, 27, tzinfo=UTC))
    sheet = load_workbook(path / "master.xlsx")["Expenses"]
    assert (sheet["A2"].value, sheet["A2"].data_type, sheet["B2"].value) == (
        "=SUM(B1:B9)",
        "s",
        12.5,
    )
