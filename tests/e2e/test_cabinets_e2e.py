"""Cabinets end to end: the cashier and the accountant confirm in their own spreadsheets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.e2e.world import BANK, CARD, CASH, CREDIT, TERMINAL, World, make_world

CABINET_COLUMNS = [
    "Payment ID",
    "Deal",
    "Contract no",
    "Manager",
    "Kind",
    "Method",
    "Amount",
    "Date",
    "Confirmed",
    "Received amount",
    "Comment",
    "Synced",
]


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    w.ledger.sleep = lambda seconds: None
    yield w
    w.store.close()
    w.box.stop(save=False)


def _by_id(rows):
    return {r["Payment ID"]: r for r in rows if r.get("Payment ID")}


def _seed_mixed(world: World) -> list[int]:
    return [
        world.deal("101", payments=((20_000, CASH, date(2026, 11, 20)), (30_000, BANK, None))),
        world.deal(
            "102", manager=1, payments=((15_000, CARD, date(2026, 11, 21)), (5_000, CASH, None))
        ),
        world.deal("103", manager=2, payments=((40_000, TERMINAL, None), (60_000, CREDIT, None))),
    ]


def test_a_cabinet_shows_its_methods_only_with_only_its_columns(world: World):
    _seed_mixed(world)
    world.sync()
    master = _by_id(world.rows("payments"))
    deals = {r["Deal ID"]: r for r in world.rows("deals")}
    for name, methods in (
        ("cashbox", {"cash"}),
        ("accountant", {"card", "terminal", "bank", "credit"}),
    ):
        sheets = world.cabinets[name]
        values = world.box.sheets.values(sheets.spreadsheet_id, "Payments")
        assert values[0] == CABINET_COLUMNS  # no budget, no profit, nothing else
        rows = _by_id(world.cabinet_rows(name))
        expected = {pid for pid, row in master.items() if row["Method"] in methods}
        assert set(rows) == expected
        for pid, row in rows.items():  # every cell agrees with the master
            m = master[pid]
            assert row["Deal"] == deals[m["Deal ID"]]["Deal"]
            for header in (
                "Contract no",
                "Manager",
                "Kind",
                "Method",
                "Amount",
                "Date",
                "Confirmed",
            ):
                assert row[header] == m[header], (name, pid, header)
    # The cashbox also shows who holds how much cash.
    handover = {r["Manager"]: r for r in world.cabinet_rows("cashbox", "handover")}
    cash = {r["Manager"]: r for r in world.rows("cash")}
    assert {m: r["Cash held"] for m, r in handover.items()} == {
        m: r["Cash held"] for m, r in cash.items()
    }


def test_a_tick_in_a_cabinet_reaches_amocrm_once(world: World):
    deals = _seed_mixed(world)
    world.sync()
    pid = f"{deals[0]}:2"  # bank transfer: the accountant's
    world.cabinet_type("accountant", "cabinet_payments", pid, "Confirmed", "TRUE")
    world.cabinet_type("accountant", "cabinet_payments", pid, "Received amount", "29000")
    report = world.sync()
    assert [e.payment_id for e in report.pushed] == [pid]
    master = _by_id(world.rows("payments"))[pid]
    assert master["Confirmed"] is True and master["Received amount"] == 29000
    assert master["Confirmed by"] == "Бухгалтер"
    notes = world.notes(deals[0])
    assert len(notes) == 1 and "получено 29 000,00 ₽" in notes[0]
    assert world.confirmed_total(deals[0]) == Decimal("29000")
    for _ in range(2):
        assert world.sync().events == []
    assert len(world.notes(deals[0])) == 1


def test_a_tick_in_the_master_shows_in_the_cabinet(world: World):
    deals = _seed_mixed(world)
    world.sync()
    pid = f"{deals[1]}:1"  # card
    world.tick(pid)
    world.sync()
    assert _by_id(world.cabinet_rows("accountant"))[pid]["Confirmed"] is True
    assert len(world.notes(deals[1])) == 1


def test_simultaneous_ticks_in_both_make_one_confirmation(world: World):
    deals = _seed_mixed(world)
    world.sync()
    pid = f"{deals[2]}:1"  # terminal
    world.tick(pid)
    world.cabinet_type("accountant", "cabinet_payments", pid, "Confirmed", "TRUE")
    report = world.sync()
    assert [e.payment_id for e in report.pushed] == [pid]
    assert len(world.notes(deals[2])) == 1
    assert world.sync().events == []


def test_an_untick_in_the_cabinet_reverses_the_confirmation(world: World):
    deals = _seed_mixed(world)
    world.sync()
    pid = f"{deals[2]}:2"
    world.cabinet_type("accountant", "cabinet_payments", pid, "Confirmed", "TRUE")
    world.sync()
    world.cabinet_type("accountant", "cabinet_payments", pid, "Confirmed", "FALSE")
    report = world.sync()
    assert [e.kind for e in report.pushed] == ["reverse"]
    assert _by_id(world.rows("payments"))[pid]["Confirmed"] is False


def test_a_handover_writes_off_the_managers_cash_oldest_first(world: World):
    deal_a = world.deal("201", payments=((20_000, CASH, date(2026, 11, 18)),))
    deal_b = world.deal("202", payments=((15_000, CASH, date(2026, 11, 19)),))
    deal_c = world.deal("203", payments=((15_000, CASH, date(2026, 11, 20)),))
    world.sync()
    manager = world.rows("cash")[0]["Manager"]
    assert world.rows("cash")[0]["Cash held"] == 50000
    world.cabinet_type("cashbox", "handover", manager, "Amount received", "45000")
    world.cabinet_type("cashbox", "handover", manager, "Accept", "TRUE")
    report = world.sync()
    assert report.ok, report.problems
    master = _by_id(world.rows("payments"))
    assert master[f"{deal_a}:1"]["Confirmed"] is True
    assert master[f"{deal_b}:1"]["Confirmed"] is True
    third = master[f"{deal_c}:1"]
    assert third["Confirmed"] is False and third["Received amount"] == 10000
    assert third["Sync state"] == "partial #1"
    # The system writes it off the manager: exactly 45,000 less on him.
    assert world.rows("cash")[0]["Cash held"] == 5000
    form = {r["Manager"]: r for r in world.cabinet_rows("cashbox", "handover")}[manager]
    assert form["Cash held"] == 5000 and form["Amount received"] == "" and form["Accept"] is False
    assert form["Handovers"] == 1 and "2 payment(s) confirmed" in form["Last result"]
    log = world.cabinet_rows("cashbox", "handover_log")
    assert len(log) == 1 and log[0]["Amount"] == 45000 and log[0]["Manager"] == manager
    assert "10000" in log[0]["Partial receipt"]
    notes_c = world.notes(deal_c)
    assert (
        len(notes_c) == 1
        and "частично" in notes_c[0]
        and "10 000,00 ₽ из 15 000,00 ₽" in notes_c[0]
    )
    assert world.confirmed_total(deal_c) == Decimal("10000")
    # The remaining 5,000 handed over later completes the third payment.
    world.cabinet_type("cashbox", "handover", manager, "Amount received", "5000")
    world.cabinet_type("cashbox", "handover", manager, "Accept", "TRUE")
    world.sync()
    assert _by_id(world.rows("payments"))[f"{deal_c}:1"]["Confirmed"] is True
    assert world.rows("cash") == []
    assert world.confirmed_total(deal_c) == Decimal("15000")
    assert len(world.cabinet_rows("cashbox", "handover_log")) == 2


def test_a_handover_is_not_applied_twice_after_a_crash_before_the_form_reset(world: World):
    deal = world.deal("301", payments=((20_000, CASH, date(2026, 11, 18)),))
    world.sync()
    manager = world.rows("cash")[0]["Manager"]
    world.cabinet_type("cashbox", "handover", manager, "Amount received", "20000")
    world.cabinet_type("cashbox", "handover", manager, "Accept", "TRUE")
    cashbox = world.cabinets["cashbox"].spreadsheet_id
    world.box.sheets.fail_next(503, count=5, match=f"{cashbox}:batchUpdate")
    report = world.sync()  # master written, cabinet not
    assert any("cashbox" in p for p in report.problems)
    assert _by_id(world.rows("payments"))[f"{deal}:1"]["Confirmed"] is True
    world.sync()
    form = {r["Manager"]: r for r in world.cabinet_rows("cashbox", "handover")}[manager]
    assert form["Handovers"] == 1 and form["Accept"] is False
    assert len(world.cabinet_rows("cashbox", "handover_log")) == 1
    assert len(world.notes(deal)) == 1


def test_sorting_a_cabinet_between_read_and_write_breaks_nothing(world: World):
    deals = [world.deal(str(400 + n), payments=((1000 * (n + 1), BANK, None),)) for n in range(5)]
    world.sync()
    sheets = world.cabinets["accountant"]
    world.cabinet_type("accountant", "cabinet_payments", f"{deals[3]}:1", "Confirmed", "TRUE")
    slot = world.amo_info["slots"][0]
    world.crm.update_leads(
        [
            {
                "id": deals[0],
                "custom_fields_values": [
                    {"field_id": slot["amount"], "values": [{"value": "999"}]}
                ],
            }
        ]
    )

    def cashier_sorts() -> None:
        world.box.sheets.sort_range(sheets.spreadsheet_id, "Payments", "G", ascending=False)

    world.box.amo.before_next(cashier_sorts, match="PATCH /api/v4/leads")
    world.sync()
    rows = _by_id(world.cabinet_rows("accountant"))
    master = _by_id(world.rows("payments"))
    assert set(rows) == {f"{d}:1" for d in deals}
    for pid, row in rows.items():
        assert (
            row["Amount"] == master[pid]["Amount"] and row["Confirmed"] == master[pid]["Confirmed"]
        )
    assert rows[f"{deals[0]}:1"]["Amount"] == 999
    assert master[f"{deals[3]}:1"]["Sync state"] == "pushed #1"


def test_an_unreachable_cabinet_does_not_stop_the_others(world: World):
    deals = _seed_mixed(world)
    world.sync()
    cashbox = world.cabinets["cashbox"].spreadsheet_id
    world.box.sheets.fail_next(503, count=5, match=f"{cashbox}/values:batchGet")
    pid = f"{deals[0]}:2"
    world.cabinet_type("accountant", "cabinet_payments", pid, "Confirmed", "TRUE")
    report = world.sync()
    assert any("cabinet 'cashbox' skipped" in p for p in report.problems)
    assert [e.payment_id for e in report.pushed] == [pid]
    # Back the next cycle, with nothing lost.
    world.tick(f"{deals[0]}:1")
    report = world.sync()
    assert [e.payment_id for e in report.pushed] == [f"{deals[0]}:1"]
    assert _by_id(world.cabinet_rows("cashbox"))[f"{deals[0]}:1"]["Confirmed"] is True


def test_confirmed_rows_leave_the_cabinet_after_two_weeks(world: World):
    deals = _seed_mixed(world)
    world.sync()
    pid = f"{deals[1]}:1"
    world.tick(pid)
    title = world.ledger.tabs["payments"][0]
    row = world.row_number("payments", pid)
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!L{row}", "2026-10-01")
    world.sync()
    assert pid not in _by_id(world.cabinet_rows("accountant"))
    assert pid in _by_id(world.rows("payments"))


def test_a_daemon_that_remembers_keeps_idle_cycles_idle_and_still_sees_every_change(world: World):
    from sheetledger.sync.cycle import CycleMemory

    memory = CycleMemory()
    deals = _seed_mixed(world)
    world.sync(memory=memory)  # imports and writes
    world.sync(memory=memory)  # reads afresh after its own writes, plans nothing: settled
    world.box.sheets.counters.reset()
    report = world.sync(memory=memory)
    assert report.idle
    assert world.box.sheets.counters.by_kind.get("read", 0) == 0  # Drive said: nothing changed
    # A tick in a cabinet changes its version: the next cycle plans and pushes it.
    pid = f"{deals[0]}:2"
    world.cabinet_type("accountant", "cabinet_payments", pid, "Confirmed", "TRUE")
    report = world.sync(memory=memory)
    assert not report.idle and [e.payment_id for e in report.pushed] == [pid]
    # A change in amoCRM alone (the sheets untouched) is seen too.
    world.sync(memory=memory)
    assert world.sync(memory=memory).idle
    world.crm.update_leads([{"id": deals[1], "name": "Переименованная сделка"}])
    report = world.sync(memory=memory)
    assert not report.idle and report.updated_rows == 1
    # A new day re-plans even when nothing changed (cash dated today starts to count).
    world.sync(memory=memory)
    assert world.sync(memory=memory).idle
    world.clock.advance(86400)
    assert not world.sync(memory=memory).idle


def test_a_postponed_push_is_never_skipped_as_idle(world: World):
    from sheetledger.sync.cycle import CycleMemory

    memory = CycleMemory()
    deals = _seed_mixed(world)
    world.sync(memory=memory)
    world.sync(memory=memory)
    world.tick(f"{deals[2]}:1")
    world.sync(memory=memory)  # sees the tick (the master changed) ...
    world.untick(f"{deals[2]}:1")
    world.sync(memory=memory)
    world.box.amo.fail_next(503, count=5, match="PATCH")  # every attempt of the client
    world.tick(f"{deals[2]}:2")
    report = world.sync(memory=memory)
    assert report.unsettled and report.pushed == []
    report = world.sync(memory=memory)  # nothing changed in the sheets, but the push is owed
    assert not report.idle and [e.payment_id for e in report.pushed] == [f"{deals[2]}:2"]


def test_a_cycle_that_died_half_way_is_planned_again_not_skipped(world: World):
    from sheetledger.config import StatusRules
    from sheetledger.errors import RetriableError
    from sheetledger.sync.cycle import CycleMemory

    # Notes only (no confirmed-total field, no status rules): a push leaves the deals as they
    # were, so amoCRM brings nothing new that would make the next cycle plan anyway.
    fields = world.config.amocrm.fields.model_copy(update={"confirmed_total": None})
    amocrm = world.config.amocrm.model_copy(
        update={"fields": fields, "status_rules": StatusRules()}
    )
    world.config = world.config.model_copy(update={"amocrm": amocrm})
    memory = CycleMemory()
    deals = _seed_mixed(world)
    world.sync(memory=memory)
    world.sync(memory=memory)
    assert world.sync(memory=memory).idle
    world.cabinet_type("accountant", "cabinet_payments", f"{deals[0]}:2", "Confirmed", "TRUE")
    # The CRM takes the push, then Google refuses every write of the master: the cycle dies.
    master = world.spreadsheet_id
    world.box.sheets.fail_next(503, count=5, match=f"{master}:batchUpdate")
    with pytest.raises(RetriableError):
        world.sync(memory=memory)
    # The sheets look unchanged (no write landed), but the mark is owed: no idle skip.
    report = world.sync(memory=memory)
    assert not report.idle and report.events == []  # the journaled push: found in amoCRM
    assert _by_id(world.rows("payments"))[f"{deals[0]}:2"]["Sync state"] == "pushed #1"
    assert len(world.notes(deals[0])) == 1


def _unseen_by_drive(world: World, spreadsheet_id: str, edit: Callable[[], None]) -> None:
    """A person's edit that Drive's ``version`` does not reflect (yet)."""
    books = world.box.sheets.spreadsheets
    version = books[spreadsheet_id].version
    edit()
    books[spreadsheet_id].version = version


def test_a_settled_daemon_reads_everything_every_15_minutes_whatever_drive_says(world: World):
    from sheetledger.sync.cycle import CycleMemory

    assert world.config.schedule.full_read_minutes == 15
    memory = CycleMemory()
    deals = _seed_mixed(world)
    read_all_at = world.now() + timedelta(seconds=60)  # the cycle's time (World.sync adds 60 s)
    world.sync(memory=memory)  # a daemon that just started reads everything
    world.sync(memory=memory)
    assert world.sync(memory=memory).idle
    pid = f"{deals[0]}:2"
    accountant = world.cabinets["accountant"].spreadsheet_id
    _unseen_by_drive(
        world,
        accountant,
        lambda: world.cabinet_type("accountant", "cabinet_payments", pid, "Confirmed", "TRUE"),
    )
    world.box.sheets.counters.reset()
    for _ in range(20):  # a cycle a minute, for 20 minutes at most
        at = world.now() + timedelta(seconds=60)
        report = world.sync(memory=memory)
        if not report.idle:
            break
        assert world.box.sheets.counters.by_kind.get("read", 0) == 0  # trusting Drive
        assert at - read_all_at < timedelta(minutes=15)
    else:
        pytest.fail("the tick Drive did not announce was never seen")
    # The first cycle 15 minutes after the last full read reads everything and sees the tick.
    assert timedelta(minutes=15) <= at - read_all_at < timedelta(minutes=16)
    assert [e.payment_id for e in report.pushed] == [pid]
    assert len(world.notes(deals[0])) == 1
