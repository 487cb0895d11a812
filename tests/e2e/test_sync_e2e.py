"""The payments sync end to end: real gspread and requests against the sandbox emulators."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sheetledger.errors import RetriableError
from sheetledger.ledger.sheets import HeaderProblem
from tests.e2e.world import BANK, CARD, CASH, CREDIT, World, make_world


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    w.ledger.sleep = lambda seconds: None  # backoff waits cost nothing in tests
    yield w
    w.store.close()
    w.box.stop(save=False)


def _payments(world: World) -> dict[str, dict]:
    return {row["Payment ID"]: row for row in world.rows("payments") if row["Payment ID"]}


def test_import_puts_every_filled_slot_in_the_ledger_once(world: World):
    a = world.deal(
        "1045", price=120_000, payments=((40_000, CASH, date(2026, 11, 20)), (80_000, BANK, None))
    )
    b = world.deal("1046", price=50_000, manager=1, payments=((50_000, CARD, date(2026, 11, 21)),))
    c = world.deal("1047", price=10_000, payments=())  # no payment filled yet
    report = world.sync()
    assert report.ok, report.problems
    deals = {row["Deal ID"]: row for row in world.rows("deals")}
    assert set(deals) == {a, b, c}
    assert deals[a]["Contract no"] == "1045"
    assert deals[a]["Budget"] == 120000
    assert deals[a]["Status"] == "Договор заключен"
    names = {user_id: name for name, user_id in world.amo_info["users"].items()}
    assert deals[b]["Manager"] == names[world.amo_info["managers"][1]]
    payments = _payments(world)
    assert set(payments) == {f"{a}:1", f"{a}:2", f"{b}:1"}
    first = payments[f"{a}:1"]
    assert (first["Kind"], first["Method"], first["Amount"]) == ("Предоплата", "cash", 40000)
    assert first["Confirmed"] is False
    assert payments[f"{a}:2"]["Method"] == "bank"
    cash = world.rows("cash")
    assert [(r["Manager"], r["Cash held"], r["Payments"]) for r in cash] == [
        (deals[a]["Manager"], 40000, 1)
    ]


def test_an_idle_cycle_reads_once_and_writes_nothing(world: World):
    world.deal("1045")
    world.sync()
    world.sync()  # the first cycle wrote the cabinets; this one reads them afresh
    before = _payments(world)
    world.box.sheets.counters.reset()
    requests_before = world.crm.requests_made
    report = world.sync()
    assert report.cells_written == 0
    assert world.box.sheets.counters.by_kind.get("write", 0) == 0
    # One batchGet of the master; the cabinets, untouched since the last cycle, only cost
    # a Drive version check each (not a Sheets read).
    assert world.box.sheets.counters.by_kind.get("read", 0) == 1
    assert all(c.reads_skipped >= 1 for c in world.cabinets.values())
    assert world.crm.requests_made - requests_before == 1
    assert _payments(world) == before


def test_a_tick_reaches_amocrm_once_with_fields_status_and_note(world: World):
    deal = world.deal(
        "1045", price=100_000, payments=((30_000, CASH, date(2026, 11, 20)), (70_000, BANK, None))
    )
    world.sync()
    world.tick(f"{deal}:1", by="Светлана")
    report = world.sync()
    assert report.ok, report.problems
    assert [e.payment_id for e in report.pushed] == [f"{deal}:1"]
    assert world.confirmed_total(deal) == Decimal("30000")
    lead = world.crm.lead(deal)
    assert lead["status_id"] == world.amo_info["statuses"]["Платеж подтвержден"]
    notes = world.notes(deal)
    assert len(notes) == 1
    assert (
        "30 000,00 ₽" in notes[0]
        and "Светлана" in notes[0]
        and f"sheetledger:{deal}:1#1" in notes[0]
    )
    row = _payments(world)[f"{deal}:1"]
    assert row["Sync state"] == "pushed #1"
    deal_row = {r["Deal ID"]: r for r in world.rows("deals")}[deal]
    assert (deal_row["Confirmed total"], deal_row["Balance due"]) == (30000, 70000)
    assert deal_row["Status"] == "Платеж подтвержден"
    assert world.rows("cash") == []  # the only cash payment is confirmed
    # Nothing more happens, however often the daemon runs.
    for _ in range(2):
        again = world.sync()
        assert again.events == [] and again.cells_written == 0
    assert len(world.notes(deal)) == 1


def test_full_payment_wins_the_deal_and_a_different_received_amount_is_said(world: World):
    deal = world.deal("2001", price=50_000, payments=((20_000, CARD, None), (30_000, CARD, None)))
    world.sync()
    world.tick(f"{deal}:1", received="19500")
    world.tick(f"{deal}:2", received="30500")
    report = world.sync()
    assert report.ok, report.problems
    lead = world.crm.lead(deal)
    assert lead["status_id"] == 142 and lead["pipeline_id"] == world.amo_info["pipeline_id"]
    assert world.confirmed_total(deal) == Decimal("50000")
    notes = world.notes(deal)
    assert len(notes) == 2
    assert any("Ожидалось 20 000,00 ₽, получено 19 500,00 ₽" in n for n in notes)


def test_an_untick_after_push_is_a_reversal_never_silence(world: World):
    deal = world.deal("3001", price=40_000, payments=((40_000, BANK, None),))
    world.sync()
    world.tick(f"{deal}:1")
    world.sync()
    world.untick(f"{deal}:1")
    report = world.sync()
    assert [e.kind for e in report.pushed] == ["reverse"]
    assert world.confirmed_total(deal) == Decimal("0")
    notes = world.notes(deal)
    assert len(notes) == 2 and "отменено" in notes[1] and f"sheetledger:{deal}:1#2" in notes[1]
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "reversed #2"
    # Ticking it again confirms it a second time, with the next marker.
    world.tick(f"{deal}:1")
    world.sync()
    assert f"sheetledger:{deal}:1#3" in world.notes(deal)[-1]


def test_unknown_method_flags_the_row_and_the_rest_goes_on(world: World):
    # The admin has not mapped «Кредитный договор» in amocrm.methods yet.
    methods = {k: v for k, v in world.config.amocrm.methods.items() if k != CREDIT}
    amocrm = world.config.amocrm.model_copy(update={"methods": methods})
    world.config = world.config.model_copy(update={"amocrm": amocrm})
    good = world.deal("4001", payments=((10_000, CASH, None),))
    bad = world.deal("4002", payments=((10_000, CASH, None), (5_000, CREDIT, None)))
    report = world.sync()
    payments = _payments(world)
    assert payments[f"{bad}:2"]["Sync state"].startswith("E_METHOD")
    assert payments[f"{good}:1"]["Sync state"] == ""
    assert any("E_METHOD" in p for p in report.problems)


def test_lost_deal_cancels_its_unconfirmed_payments(world: World):
    deal = world.deal("5001", payments=((10_000, CASH, None),))
    world.sync()
    world.crm.update_leads(
        [{"id": deal, "status_id": 143, "pipeline_id": world.amo_info["pipeline_id"]}]
    )
    world.sync()
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "cancelled"
    assert world.rows("cash") == []


def test_text_from_the_crm_cannot_become_a_formula(world: World):
    deal = world.deal("6001", name='=HYPERLINK("http://evil","x")')
    world.sync()
    row = {r["Deal ID"]: r for r in world.rows("deals")}[deal]
    assert row["Deal"] == '\'=HYPERLINK("http://evil","x")'
    values = world.box.sheets.values(world.spreadsheet_id, world.ledger.tabs["deals"][0])
    assert not any(isinstance(v, str) and v.startswith("=") for line in values for v in line)


def test_full_resync_changes_nothing_on_a_ledger_that_is_right(world: World):
    for number in range(5):
        world.deal(str(7000 + number))
    world.sync()
    world.tick(world.rows("payments")[0]["Payment ID"])
    world.sync()
    before = (world.rows("deals"), world.rows("payments"), world.rows("cash"))
    report = world.sync(full=True)
    assert report.cells_written == 0 and report.events == []
    assert (world.rows("deals"), world.rows("payments"), world.rows("cash")) == before


# --------------------------------------------------------------------------- people and faults


def test_writes_land_on_their_rows_when_people_sort_insert_and_delete_mid_cycle(world: World):
    ids = [world.deal(str(8000 + n), payments=((1000 * (n + 1), CASH, None),)) for n in range(6)]
    world.sync()
    # The CRM changes two amounts; a person ticks a third payment.
    slot = world.amo_info["slots"][0]
    world.crm.update_leads(
        [
            {
                "id": ids[1],
                "custom_fields_values": [
                    {"field_id": slot["amount"], "values": [{"value": "2222"}]}
                ],
            },
            {
                "id": ids[4],
                "custom_fields_values": [
                    {"field_id": slot["amount"], "values": [{"value": "5555"}]}
                ],
            },
        ]
    )
    world.tick(f"{ids[2]}:1")
    title = world.ledger.tabs["payments"][0]
    sheets = world.box.sheets

    def people_at_work() -> None:
        sheets.sort_range(world.spreadsheet_id, title, "G", ascending=False)
        sheets.insert_rows(world.spreadsheet_id, title, 3, 2)
        sheets.type_cell(world.spreadsheet_id, f"'{title}'!N3", "строка, вставленная человеком")
        sheets.delete_rows(world.spreadsheet_id, title, 5, 1)  # one of the daemon's rows goes

    # While the daemon talks to amoCRM (after its read, before its write), people edit.
    world.box.amo.before_next(people_at_work, match="PATCH /api/v4/leads")
    world.sync()
    rows = _payments(world)
    expected_amounts = {ids[n]: 1000 * (n + 1) for n in range(6)} | {ids[1]: 2222, ids[4]: 5555}
    assert len(rows) == 5  # one of the six was deleted by the person, none duplicated
    for payment_id, row in rows.items():
        deal_id = int(payment_id.split(":")[0])
        assert row["Deal ID"] == deal_id
        assert row["Contract no"] == str(8000 + ids.index(deal_id))
        assert row["Amount"] == expected_amounts[deal_id], payment_id
    if f"{ids[2]}:1" in rows:
        assert rows[f"{ids[2]}:1"]["Sync state"] == "pushed #1"
        assert rows[f"{ids[2]}:1"]["Confirmed"] is True
    assert any(r.get("Comment") == "строка, вставленная человеком" for r in world.rows("payments"))
    # The next cycle brings the deleted payment back from the CRM, and nothing else changes.
    world.sync()
    assert set(_payments(world)) == {f"{d}:1" for d in ids}


def test_a_renamed_column_stops_writes_to_that_tab_and_writes_nothing_elsewhere(world: World):
    deal = world.deal("9001", payments=((1000, CASH, None),))
    world.sync()
    title = world.ledger.tabs["payments"][0]
    world.box.sheets.rename_header(world.spreadsheet_id, title, "Amount", "Сумма")
    world.tick(f"{deal}:1")
    world.crm.update_leads([{"id": deal, "name": "renamed deal"}])
    before_deals = world.rows("deals")
    with pytest.raises(HeaderProblem) as caught:
        world.sync()
    assert "Amount" in str(caught.value) and title in str(caught.value)
    assert world.rows("deals") == before_deals
    assert world.notes(deal) == []


def test_429_and_500_bursts_are_retried_and_lose_nothing(world: World):
    deal = world.deal("9101", payments=((1000, BANK, None),))
    world.box.sheets.fail_next(429, count=2)
    world.box.amo.fail_next(503, count=2, match="GET /api/v4/leads")
    world.sync()
    world.tick(f"{deal}:1")
    world.box.amo.fail_next(429, count=1, match="PATCH")
    world.box.amo.fail_next(500, count=1, match="PATCH")
    world.box.sheets.fail_next(500, count=1, match=":batchUpdate")
    report = world.sync()
    assert [e.payment_id for e in report.pushed] == [f"{deal}:1"]
    assert len(world.notes(deal)) == 1
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "pushed #1"


def test_crash_between_the_crm_write_and_the_mark_does_not_write_a_second_note(world: World):
    deal = world.deal("9201", payments=((1000, BANK, None),))
    world.sync()
    world.tick(f"{deal}:1")
    # Google is down for the whole write: the CRM got the push, the ledger did not get the mark.
    world.box.sheets.fail_next(503, count=5, match=":batchUpdate")
    with pytest.raises(RetriableError):
        world.sync()
    assert len(world.notes(deal)) == 1
    assert world.store.journal_size() == 1
    # The next cycle looks the journaled push up: amoCRM has its note, the row takes it back.
    report = world.sync()
    assert report.events == []
    assert len(world.notes(deal)) == 1
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "pushed #1"
    assert world.store.journal_size() == 0


def test_a_note_whose_answer_was_lost_is_found_not_doubled(world: World):
    deal = world.deal("9301", payments=((1000, CARD, None),))
    world.sync()
    world.tick(f"{deal}:1")
    world.box.amo.drop_next(match="POST /api/v4/leads/notes")  # committed, answer lost
    report = world.sync()
    assert report.pushed == [] and any("will check" in p for p in report.problems)
    assert len(world.notes(deal)) == 1
    report = world.sync()  # the journaled push is looked up and found: the row is marked
    assert report.events == [] and _payments(world)[f"{deal}:1"]["Sync state"] == "pushed #1"
    assert len(world.notes(deal)) == 1


def test_a_lost_state_file_costs_a_marker_check_not_a_duplicate(world: World, tmp_path):
    from sheetledger.store import LocalState

    deal = world.deal("9401", payments=((1000, CARD, None),))
    world.sync()
    world.tick(f"{deal}:1")
    world.box.sheets.fail_next(503, count=5, match=":batchUpdate")
    with pytest.raises(RetriableError):
        world.sync()
    world.store.close()
    world.store = LocalState(tmp_path / "new-state.db")  # the file was lost
    report = world.sync()
    assert report.notes_found == 1
    assert len(world.notes(deal)) == 1


def test_a_write_too_large_for_one_request_goes_in_order_in_several(world: World, monkeypatch):
    import sheetledger.ledger.sheets as sheets_module

    monkeypatch.setattr(sheets_module, "MAX_BODY_BYTES", 4000)
    ids = [
        world.deal(str(9500 + n), payments=((1000 + n, CASH, None), (2000 + n, BANK, None)))
        for n in range(8)
    ]
    world.box.sheets.counters.reset()
    report = world.sync()
    assert report.ok, report.problems
    assert world.box.sheets.counters.by_route.get("batch_update", 0) > 3  # master and cabinets, cut
    payments = _payments(world)
    assert set(payments) == {f"{d}:{slot}" for d in ids for slot in (1, 2)}
    assert [payments[f"{d}:1"]["Amount"] for d in ids] == [1000 + n for n in range(8)]
    assert world.sync().cells_written == 0


def test_a_row_a_person_typed_below_the_table_is_never_written_over(world: World):
    world.deal("9601", payments=((1000, CASH, None),))
    world.sync()
    title = world.ledger.tabs["payments"][0]
    # No ID: a note the accountant left under the table, in a column of her own (Comment).
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!N3", "сверить с банком")
    world.deal("9602", payments=((2000, CASH, None),))
    world.sync()
    values = world.box.sheets.values(world.spreadsheet_id, title)
    assert values[2][13] == "сверить с банком" and values[2][0] in ("", None)
    assert [row[0] for row in values[1:] if row and row[0]] == list(_payments(world))
    assert len(_payments(world)) == 2


def test_a_lead_amocrm_refuses_holds_back_its_own_push_only(world: World):
    good = world.deal("9701", payments=((1000, CARD, None),))
    bad = world.deal("9702", payments=((2000, CARD, None),))
    world.sync()
    world.tick(f"{good}:1")
    world.tick(f"{bad}:1")

    def a_manager_deletes_the_deal() -> None:  # in amoCRM, while the cycle runs
        state = world.box.amo.state()
        state["leads"] = [lead for lead in state["leads"] if lead["id"] != bad]
        world.box.amo.load_state(state)

    # amoCRM refuses the batch PATCH for the deal it no longer has (400 NotSupportedChoice).
    world.box.amo.before_next(a_manager_deletes_the_deal, match="PATCH /api/v4/leads")
    report = world.sync()
    assert [e.payment_id for e in report.pushed] == [f"{good}:1"]
    assert [e.payment_id for e in report.events] == [f"{good}:1", f"{bad}:1"]
    assert report.unsettled and report.lead_patches == 1
    refused = [p for p in report.problems if "refused" in p]
    assert len(refused) == 1 and f"refused the update of deal {bad}" in refused[0]
    payments = _payments(world)
    assert payments[f"{good}:1"]["Sync state"] == "pushed #1"
    assert payments[f"{bad}:1"]["Sync state"] == ""
    assert len(world.notes(good)) == 1 and world.confirmed_total(good) == Decimal("1000")
    assert world.crm.lead(bad) is None
    # Held back it stays, cycle after cycle; the pushed one is never sent again.
    report = world.sync()
    assert report.pushed == [] and [e.payment_id for e in report.events] == [f"{bad}:1"]
    assert len(world.notes(good)) == 1


# -- amoCRM is the second record of every confirmation ------------------------------------


def test_a_cleared_sync_state_is_taken_back_from_the_marker_not_pushed_again(world: World):
    deal = world.deal("9801", payments=((1000, CARD, None),))
    world.sync()
    world.tick(f"{deal}:1")
    world.sync()
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "pushed #1"
    # A person pastes over the row's daemon cells: the sheet forgets the push, amoCRM does not.
    title = world.ledger.tabs["payments"][0]
    row = world.row_number("payments", f"{deal}:1")
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!P{row}", "")
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!O{row}", "")
    assert _payments(world)[f"{deal}:1"]["Sync state"] == ""
    report = world.sync()
    assert report.events == []  # the state came back from amoCRM's marker before planning
    assert len(world.notes(deal)) == 1
    assert _payments(world)[f"{deal}:1"]["Sync state"] == "pushed #1"
    assert world.sync().events == []


def test_rows_deleted_and_ticked_again_make_no_duplicate_notes(world: World):
    deals = [world.deal(str(9810 + n), payments=((1000 + n, CARD, None),)) for n in range(8)]
    world.sync()
    pushed = deals[:3]
    for deal in pushed:
        world.tick(f"{deal}:1")
    world.sync()
    # Someone deletes the three confirmed rows; the sync brings them back, confirmed as
    # amoCRM's markers say (who and when too), without a note.
    title = world.ledger.tabs["payments"].title
    for deal in pushed:
        world.box.sheets.delete_rows(
            world.spreadsheet_id, title, world.row_number("payments", f"{deal}:1")
        )
    world.sync(full=True)
    assert set(_payments(world)) == {f"{d}:1" for d in deals}
    assert {_payments(world)[f"{d}:1"]["Sync state"] for d in pushed} == {"pushed #1"}
    assert {_payments(world)[f"{d}:1"]["Confirmed"] for d in pushed} == {True}
    for deal in pushed:  # ticked again by someone who did not see it was back: no event
        world.tick(f"{deal}:1")
    report = world.sync()
    assert report.events == []
    assert [len(world.notes(d)) for d in deals] == [1, 1, 1, 0, 0, 0, 0, 0]
    assert {_payments(world)[f"{d}:1"]["Sync state"] for d in pushed} == {"pushed #1"}


def test_markers_are_looked_up_in_bulk_one_request_per_50_pushes(world: World):
    deals = [world.deal(str(9900 + n), payments=((100 + n, CARD, None),)) for n in range(60)]
    world.sync()
    for deal in deals:
        world.tick(f"{deal}:1")
    world.box.amo.counters.reset()
    report = world.sync()
    assert len(report.pushed) == 60 and report.notes_found == 0
    assert world.box.amo.counters.by_route["_get_notes"] == 2  # ⌈60 / 50⌉
    assert [len(world.notes(d)) for d in deals] == [1] * 60
