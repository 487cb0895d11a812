"""The Drive inbox door: statements the accountant saves in a Drive folder are imported.

Through the sandbox's Drive: the accountant's folder in her My Drive, shared with the
service account; the real gspread session lists, downloads and moves the files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sheetledger.bank.inbox import IMPORTED, REFUSED, import_inbox, inbox_of
from sheetledger.config import BankConfig
from sheetledger.connect import build_google
from sheetledger.daemon import Daemon
from sheetledger.errors import SheetledgerError
from sheetledger.ledger.drive import DriveInbox
from sheetledger.retry import RetryPolicy
from sheetledger.sandbox.bank_statement import Movement, statement_file
from tests.e2e.world import BANK, World, make_world

OURS = "40702810938000001045"
ACCOUNTANT = "irina@example.com"
DAY = date(2026, 11, 26)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path / "world")
    try:
        yield world
    finally:
        world.box.stop(save=False)
        world.store.close()


def _setup(world: World) -> tuple[str, str, DriveInbox]:
    """A deal with a bank payment due, synced; the accountant's inbox folder shared with us."""
    deal = world.deal("1045", payments=((158_654, BANK, DAY),), name="Кухня — Петров П.")
    world.sync()
    sheets = world.box.sheets
    folder = sheets.create_folder("Выписки", owner=ACCOUNTANT)
    sheets.share_file(folder, sheets.service_account_email, "writer")
    bank = BankConfig(accounts=(OURS,), inbox_folder_id=folder)
    world.config = world.config.model_copy(update={"bank": bank})
    inbox = inbox_of(world.config, build_google(world.config))
    assert inbox is not None
    inbox.retry = inbox.retry.__class__(attempts=2, base=0, cap=0)  # no waiting in tests
    return folder, f"{deal}:1", inbox


def _statement(amount: str = "158654.00") -> bytes:
    move = Movement(
        Decimal(amount),
        "12",
        "Петров Пётр Петрович",
        "771234567890",
        "40817810000000000123",
        "Оплата по договору № 1045. Без НДС",
    )
    return statement_file(OURS, DAY, Decimal("1000.00"), [move])


def _names(world: World, folder: str) -> list[str]:
    return [f.name for f in world.box.sheets.files_in(folder)]


def _subfolder(world: World, folder: str, name: str) -> str:
    (found,) = [f.id for f in world.box.sheets.files_in(folder) if f.name == name]
    return found


def _import(world: World, inbox: DriveInbox):
    return import_inbox(world.config, world.ledger, inbox, now=world.now(), cabinets=world.cabinets)


def test_a_saved_statement_is_imported_and_moved_a_bad_file_is_set_aside(world: World) -> None:
    folder, payment, inbox = _setup(world)
    world.box.sheets.save_file("kl_to_1c.txt", _statement(), folder, owner=ACCOUNTANT)
    world.box.sheets.save_file("notes.txt", b"hello, not a statement", folder, owner=ACCOUNTANT)

    report = _import(world, inbox)

    assert report.imported == ["kl_to_1c.txt"] and report.refused == ["notes.txt"]
    assert report.confirmed == [payment]
    assert sorted(_names(world, folder)) == sorted([IMPORTED, REFUSED])  # the inbox itself is empty
    done = world.box.sheets.files_in(_subfolder(world, folder, IMPORTED))
    assert [f.name for f in done] == ["kl_to_1c.txt"]
    assert "1 payment(s) confirmed" in done[0].description
    (refused,) = world.box.sheets.files_in(_subfolder(world, folder, REFUSED))
    assert refused.name == "notes.txt" and "1CClientBankExchange" in refused.description
    (line,) = world.rows("bank")
    assert line["State"] == "confirmed"
    # The cycle pushes the tick: one note in the deal.
    world.sync()
    deal = int(payment.split(":")[0])
    assert sum("sheetledger:" in note for note in world.notes(deal)) == 1


def test_an_empty_inbox_costs_one_drive_request_and_no_sheets_request(world: World) -> None:
    _, _, inbox = _setup(world)
    before = world.ledger.requests
    report = _import(world, inbox)
    assert (report.imported, report.refused) == ([], [])
    assert inbox.requests == 1 and world.ledger.requests == before


def test_a_crash_before_the_move_imports_again_writing_nothing_then_moves(world: World) -> None:
    folder, payment, inbox = _setup(world)
    file_id = world.box.sheets.save_file("kl_to_1c.txt", _statement(), folder, owner=ACCOUNTANT)
    # The move fails every attempt (Drive down after the lines were written).
    world.box.sheets.fail_next(503, count=2, match=f"PATCH /drive/v3/files/{file_id}")
    with pytest.raises(SheetledgerError):
        _import(world, inbox)
    assert "kl_to_1c.txt" in _names(world, folder)  # still waiting
    rows_before = world.rows("bank")
    payments_before = world.rows("payments")
    writes = world.ledger.requests

    report = _import(world, inbox)  # the next cycle

    assert report.imported == ["kl_to_1c.txt"] and report.confirmed == []
    assert world.rows("bank") == rows_before and world.rows("payments") == payments_before
    assert world.ledger.requests - writes == 1  # one read, nothing written
    assert "kl_to_1c.txt" not in _names(world, folder)
    world.sync()
    world.sync()
    deal = int(payment.split(":")[0])
    assert sum("sheetledger:" in note for note in world.notes(deal)) == 1  # pushed once


def test_the_daemons_sync_job_reads_the_inbox_first(world: World) -> None:
    folder, payment, _ = _setup(world)
    world.box.sheets.save_file("kl_to_1c.txt", _statement(), folder, owner=ACCOUNTANT)
    daemon = Daemon(world.config, store=world.store, with_bot=False)
    try:
        report = daemon.sync_job()
    finally:
        daemon.close()
    assert report is not None and payment in {e.payment_id for e in report.pushed}
    assert "kl_to_1c.txt" not in _names(world, folder)


def test_a_drive_503_then_success_is_retried_within_the_same_import(world: World) -> None:
    folder, payment, inbox = _setup(world)
    world.box.sheets.save_file("kl_to_1c.txt", _statement(), folder, owner=ACCOUNTANT)
    waits: list[float] = []
    inbox.retry = RetryPolicy(attempts=2, base=1.0, cap=1.0, sleep=waits.append, jitter=lambda: 0)
    world.box.sheets.fail_next(503, count=1, match="GET /drive/v3/files?")  # the listing
    world.box.sheets.fail_next(503, count=1, match="PATCH /drive/v3/files/")  # the move

    report = _import(world, inbox)

    assert report.imported == ["kl_to_1c.txt"] and report.confirmed == [payment]
    assert waits == [0.5, 0.5]  # each refused call waited once, then passed
    assert [f.name for f in world.box.sheets.files_in(folder)] == [IMPORTED]
    # list ×2, download, find the subfolder, make it, move ×2
    assert inbox.requests == 7
