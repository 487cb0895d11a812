"""`sheetledger init` creates a cabinet's spreadsheet as a person (google.oauth_user).

Through the CLI against a running sandbox, with the real clients: google-auth's user
credentials create the spreadsheet in the person's Drive and share it; the daemon's
service account (which the Sheets emulator lets open only what was shared with it) then
prepares it and `sync` writes into it. A second init creates nothing; a create whose answer
was lost is found again, not made twice; a share that failed is made by the next init.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from sheetledger.cli import main
from sheetledger.connect import CABINET_TITLES
from sheetledger.ledger.cabinet_files import TAG_KEY, state_key, tag_of
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.sheets import PERSON
from sheetledger.sandbox.sheets.model import Spreadsheet
from sheetledger.store import LocalState
from tests.e2e.world import add_cash_deal

CASHIER_EMAIL = "kassa@gmail.com"
CREATE = "POST /drive/v3/files?"  # files.create (the bills' uploads go to /upload/...)
SHARE = "POST /drive/v3/files/"  # permissions.create: /drive/v3/files/<id>/permissions


@pytest.fixture
def box(tmp_path, monkeypatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("COLUMNS", "300")  # no folded lines in what the commands print
    sandbox = Sandbox.start(tmp_path / "sandbox")
    yield sandbox
    sandbox.stop(save=False)


def run(capsys, box: Sandbox, *argv: str) -> tuple[int, str]:
    code = main(["-c", str(box.config_path), *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def without_cashbox_id(box: Sandbox, *, oauth: bool = True) -> None:
    """The config as an owner writes it: the cash cabinet is to be made by init, as them."""
    data = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
    if oauth:
        user = box.sheets.issuer.add_user(PERSON, f"{box.urls['google']}/token")
        (box.folder / "secrets" / "google-user.json").write_text(json.dumps(user), "utf-8")
        data["google"]["oauth_user"] = {"credentials_file": "secrets/google-user.json"}
    cashbox = data["google"]["cabinets"][0]
    assert cashbox["name"] == "cashbox"
    del cashbox["spreadsheet_id"]
    cashbox["email"] = CASHIER_EMAIL
    box.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def recorded(box: Sandbox) -> str | None:
    store = LocalState(box.load_config().state_dir / "state.db")
    try:
        value = store.get(state_key("cashbox"))
    finally:
        store.close()
    return str(value) if value else None


def tagged(box: Sandbox) -> list[str]:
    """The spreadsheets init made for the cash cabinet (by their app property)."""
    tag = tag_of(box.info["google"]["spreadsheet_id"], "cashbox")
    books = box.sheets.spreadsheets.values()
    return [b.id for b in books if b.app_properties.get(TAG_KEY) == tag]


def book_of(box: Sandbox, sid: str) -> Spreadsheet:
    return box.sheets.spreadsheets[sid]  # as it is now (an edit replaces the object)


def requests_to(box: Sandbox, prefix: str) -> int:
    return sum(line.startswith(prefix) for line in box.sheets.log)


def test_init_creates_the_cabinet_as_the_person_and_sync_writes_into_it(box, capsys) -> None:
    without_cashbox_id(box)
    seeded = box.info["google"]["cabinets"]["cashbox"]  # the spreadsheet the config no longer names
    code, out = run(capsys, box, "check")
    assert "cabinet 'cashbox': not created yet — run `sheetledger init`" in out

    code, out = run(capsys, box, "init")

    assert code == 0, out
    [sid] = tagged(box)
    book = book_of(box, sid)
    assert recorded(box) == sid
    assert "cabinet 'cashbox': created in your Google Drive" in out
    assert f"ID {sid}  https://docs.google.com/spreadsheets/d/{sid}/edit" in out
    assert f"spreadsheet_id: {sid}" in out
    assert book.owner == PERSON  # the person's file, in their My Drive
    assert book.title == "Учёт — мебельная компания — Касса"
    robot = box.sheets.service_account_email
    assert {p["emailAddress"]: p["role"] for p in book.permissions} == {
        robot: "writer",
        CASHIER_EMAIL: "writer",
    }
    assert box.sheets.share_notices == [  # the cashier is e-mailed, the robot is not
        {"fileId": sid, "emailAddress": CASHIER_EMAIL, "role": "writer"}
    ]
    titles = [s.title for s in book_of(box, sid).sheets]
    assert titles == [CABINET_TITLES[k] for k in ("cabinet_payments", "handover", "handover_log")]
    assert box.sheets.spreadsheets[seeded].sheets[0].title == "Sheet1"  # left alone
    code, out = run(capsys, box, "check")
    assert "cabinet 'cashbox' (created by init): 3 tabs, headers right" in out

    lead = add_cash_deal(box)
    code, out = run(capsys, box, "sync")

    assert code == 0, out
    rows = box.sheets.values(sid, CABINET_TITLES["cabinet_payments"])
    assert [r[0] for r in rows[1:]] == [f"{lead}:1"]  # written by the service account

    creates, shares = requests_to(box, CREATE), requests_to(box, SHARE)
    code, out = run(capsys, box, "init")

    assert code == 0, out
    assert "cabinet 'cashbox': created by an earlier init" in out
    assert (requests_to(box, CREATE), requests_to(box, SHARE)) == (creates, shares)
    assert tagged(box) == [sid] and recorded(box) == sid


def test_without_oauth_user_a_cabinet_needs_its_spreadsheet_id(box, capsys) -> None:
    without_cashbox_id(box, oauth=False)

    code, out = run(capsys, box, "init")

    assert code == 2
    assert (
        "google.cabinets.0.spreadsheet_id: missing — set it, or set google.oauth_user so "
        "`sheetledger init` creates the spreadsheet"
    ) in out
    assert requests_to(box, "POST ") == 0


def test_a_create_whose_answer_was_lost_is_found_not_made_twice(box, capsys) -> None:
    without_cashbox_id(box)
    box.sheets.drop_next(match=CREATE, after_commit=True)  # made in Drive; the answer lost

    code, out = run(capsys, box, "init")

    assert code == 1
    assert "cabinet 'cashbox' (made by init)" in out
    [sid] = tagged(box)
    assert recorded(box) is None and book_of(box, sid).permissions == []
    code, out = run(capsys, box, "sync")
    assert "cabinet 'cashbox' has no spreadsheet yet — run `sheetledger init`" in out

    code, out = run(capsys, box, "init")

    assert code == 0, out
    assert "cabinet 'cashbox': found in your Google Drive (an earlier init created it)" in out
    assert tagged(box) == [sid] and recorded(box) == sid
    assert requests_to(box, CREATE) == 1
    book = book_of(box, sid)
    robot = box.sheets.service_account_email
    assert {p["emailAddress"] for p in book.permissions} == {robot, CASHIER_EMAIL}
    assert CABINET_TITLES["cabinet_payments"] in [s.title for s in book.sheets]


def test_a_share_that_failed_is_made_by_the_next_init(box, capsys) -> None:
    without_cashbox_id(box)
    box.sheets.fail_next(503, match=SHARE)  # Drive down for the share with the robot

    code, out = run(capsys, box, "init")

    assert code == 1
    [sid] = tagged(box)
    assert recorded(box) == sid  # kept at once: the next init does not make another
    # Unshared, the spreadsheet is closed to the service account: its tabs are not made.
    assert "Run `sheetledger init` again: it shares the spreadsheet with" in out
    assert [s.title for s in book_of(box, sid).sheets] == ["Sheet1"]

    code, out = run(capsys, box, "init")

    assert code == 0, out
    assert f"shared now with {box.sheets.service_account_email}, {CASHIER_EMAIL}" in out
    assert tagged(box) == [sid] and requests_to(box, CREATE) == 1
    assert CABINET_TITLES["cabinet_payments"] in [s.title for s in book_of(box, sid).sheets]


def test_a_cabinet_deleted_for_good_is_made_again(box, capsys) -> None:
    without_cashbox_id(box)
    assert run(capsys, box, "init")[0] == 0
    gone = recorded(box)
    assert gone is not None
    with box.sheets.lock:
        del box.sheets.spreadsheets[gone]  # emptied from the person's trash

    code, out = run(capsys, box, "init")

    assert code == 0, out
    assert f"cabinet 'cashbox': created in your Google Drive (its spreadsheet {gone} was" in out
    [sid] = tagged(box)
    assert recorded(box) == sid != gone
