"""The notes read back, and the rebuild plan: pure, no I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sheetledger.rebuild.guard import lost_tabs, shrunk
from sheetledger.rebuild.notes import NoteRecord, latest_records, read_note
from sheetledger.rebuild.plan import plan_rebuild
from sheetledger.sync.ledger_view import LedgerView, apply_changes
from sheetledger.sync.pull import plan_pull
from sheetledger.sync.push import PushEvent, note_text
from sheetledger.sync.state import marker, read_markers
from tests.unit.builders import BANK_TEXT, CASH_TEXT, CONFIG, LOOKUPS, empty_view, lead

TODAY = date(2024, 4, 10)


def event(kind: str, amount: str, **kw: Any) -> PushEvent:
    values: dict[str, Any] = {
        "payment_id": "1001:1",
        "deal_id": 1001,
        "kind": kind,
        "seq": 3,
        "amount": Decimal(amount),
        "previous": Decimal("30000.00"),
        "expected": Decimal("30000.00"),
        "method": "Наличными в кассу",
        "by": "Иванова, касса",
        "on": date(2024, 4, 2),
        "payment_kind": "Предоплата",
        "contract_no": "Д-1045",
    }
    return PushEvent(**(values | kw))


@pytest.mark.parametrize(
    ("pushed", "amount"),
    [
        (event("confirm", "30000.00"), Decimal("30000.00")),
        (event("confirm", "29500.50"), Decimal("29500.50")),  # "Ожидалось …, получено …"
        (event("partial", "1250000.00"), Decimal("1250000.00")),
        (event("correct", "31000.00"), Decimal("31000.00")),
        (event("reverse", "0"), None),
    ],
)
def test_every_kind_of_note_reads_back_as_the_event_it_records(pushed: PushEvent, amount: Any):
    record = read_note(note_text(pushed))
    assert record == NoteRecord("1001:1", 3, pushed.kind, amount, "Иванова, касса", pushed.on)


def test_a_name_typed_over_two_lines_reads_back_whole():
    record = read_note(note_text(event("confirm", "30000.00", by="Иванова\nкасса")))
    assert record is not None and (record.by, record.on) == ("Иванова\nкасса", date(2024, 4, 2))


def test_an_unsigned_tick_reads_back_unsigned_and_other_notes_are_not_ours():
    record = read_note(note_text(event("confirm", "30000.00", by="ledger")))
    assert record is not None and record.by == ""
    assert read_note("Позвонить клиенту #1") is None
    edited = read_note(f"подтвердили, сумму уточнить\n{marker('1001:2', 1)}")
    assert edited is not None and (edited.kind, edited.seq, edited.amount) == ("", 1, None)


def test_markers_are_read_whole_never_as_a_prefix():
    text = f"{marker('1001:1', 10)} and {marker('7:2', 1)}"
    assert read_markers(text) == [("1001:1", 10), ("7:2", 1)]
    assert read_markers("sheetledger:1001:1#") == []


def test_the_latest_event_of_each_payment_wins_whatever_the_order_of_the_notes():
    notes = [
        {"params": {"text": note_text(event("reverse", "0", seq=2))}},
        {"params": {"text": note_text(event("confirm", "30000.00", seq=1))}},
        {"params": {"text": "обычная заметка"}},
        {"params": {"text": note_text(event("confirm", "30000.00", seq=1, payment_id="9:1"))}},
    ]
    latest = latest_records(notes)
    assert {k: (v.kind, v.seq) for k, v in latest.items()} == {
        "1001:1": ("reverse", 2),
        "9:1": ("confirm", 1),
    }


def _records(*events: PushEvent) -> dict[str, NoteRecord]:
    return latest_records({"params": {"text": note_text(e)}} for e in events)


LEADS = [
    lead(
        1001,
        price=100_000,
        slots=[(30_000, CASH_TEXT, date(2024, 4, 1)), (70_000, BANK_TEXT, None)],
    ),
    lead(1002, price=40_000, slots=[(40_000, CASH_TEXT, date(2024, 4, 3))]),
]


def _rebuild(view: LedgerView, records: dict[str, NoteRecord]) -> tuple[Any, LedgerView]:
    plan = plan_rebuild(view, LEADS, records, LOOKUPS, CONFIG, today=TODAY)
    return plan, apply_changes(view, plan.changes)


def test_an_empty_ledger_gets_every_row_and_every_confirmation_and_pushes_nothing():
    records = _records(
        event("confirm", "29500.00", seq=1, payment_id="1001:1", by="Светлана"),
        event("partial", "10000.00", seq=1, payment_id="1001:2", deal_id=1001),
        event("reverse", "0", seq=2, payment_id="1002:1", deal_id=1002),
    )
    plan, after = _rebuild(empty_view(), records)
    assert plan.problems == [] and plan.pending == []
    pays = after.tab("payments")
    assert set(pays.rows) == {"1001:1", "1001:2", "1002:1"}
    first = pays.rows["1001:1"]
    assert (first["confirmed"], first["received"], first["pushed_amount"], first["state"]) == (
        True,
        Decimal("29500.00"),
        Decimal("29500.00"),
        "pushed #1",
    )
    assert (first["confirmed_by"], first["confirmed_at"]) == ("Светлана", date(2024, 4, 2))
    partial = pays.rows["1001:2"]
    assert (partial["confirmed"], partial["received"], partial["state"]) == (
        False,
        Decimal("10000.00"),
        "partial #1",
    )
    gone = pays.rows["1002:1"]
    assert (gone["confirmed"], gone["pushed_amount"], gone["state"]) == (False, None, "reversed #2")
    deal = after.tab("deals").rows["1001"]
    assert deal["confirmed_total"] == Decimal("39500.00")
    assert [r["manager"] for r in after.tab("cash").rows.values()] == ["Анна"]  # 1002:1 is cash


def test_a_row_that_knows_its_event_is_left_alone_and_people_cells_are_never_overwritten():
    view = empty_view()
    view = apply_changes(view, plan_pull(view, LEADS, LOOKUPS, CONFIG).changes)
    pays = view.tab("payments").rows
    pays["1001:1"] = pays["1001:1"] | {"confirmed": True, "state": "pushed #1", "comment": "ок"}
    # 1001:2: its state cell was pasted over, but a person's comment survived.
    pays["1001:2"] = pays["1001:2"] | {"comment": "ждём банк", "state": ""}
    records = _records(
        event("confirm", "30000.00", seq=1, payment_id="1001:1"),
        event("confirm", "70000.00", seq=1, payment_id="1001:2", by="Ольга"),
        event("confirm", "5.00", seq=1, payment_id="1003:1", deal_id=1003),
    )
    plan, after = _rebuild(view, records)
    rows = after.tab("payments").rows
    assert rows["1001:1"]["comment"] == "ок" and rows["1001:1"]["state"] == "pushed #1"
    assert [r.payment_id for r in plan.restored] == ["1001:2"]
    assert rows["1001:2"]["state"] == "pushed #1"
    assert rows["1001:2"]["confirmed"] is True and rows["1001:2"]["comment"] == "ждём банк"
    assert [p.split(":")[0] for p in plan.problems] == ["1003"]  # no such payment any more


def test_a_person_tick_newer_than_amocrm_is_kept_and_said():
    view = empty_view()
    view = apply_changes(view, plan_pull(view, LEADS, LOOKUPS, CONFIG).changes)
    pays = view.tab("payments").rows
    pays["1002:1"] = pays["1002:1"] | {"confirmed": True, "confirmed_by": "Касса"}
    plan, after = _rebuild(view, _records(event("reverse", "0", seq=2, payment_id="1002:1")))
    assert after.tab("payments").rows["1002:1"]["state"] == "reversed #2"
    assert after.tab("payments").rows["1002:1"]["confirmed"] is True
    assert [(e.payment_id, e.kind, e.seq) for e in plan.pending] == [("1002:1", "confirm", 3)]


@pytest.mark.parametrize(
    ("now", "had", "lost"),
    [(0, 1, True), (0, 0, False), (1, 2, False), (1, 3, True), (7, 355, True), (300, 355, False)],
)
def test_a_tab_is_lost_when_more_than_half_of_its_rows_are_gone(now: int, had: int, lost: bool):
    assert shrunk(now, had) is lost
    view = empty_view()
    view.tab("payments").rows.update({str(n): {"id": str(n)} for n in range(now)})
    assert bool(lost_tabs(view, {"payments": had})) is lost
