"""Reconciliation's planner and tracker: one planted case of every code, pure, no I/O.

The world is a sound ledger of twelve deals (one per case) and the amoCRM it was
synced from; each case plants one inconsistency in its own deal, and its repair is
what a person would do about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sheetledger.ledger.tabs import BANK, EXPENSES, INVOICES, RECONCILIATION
from sheetledger.rebuild.notes import NoteRecord
from sheetledger.reconcile.findings import CODES, Snapshot, find_discrepancies
from sheetledger.reconcile.run import same_tab
from sheetledger.reconcile.track import HISTORY_ID, tab_rows, track
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView, TabRows, apply_changes
from sheetledger.sync.pull import plan_pull
from sheetledger.sync.push import deal_totals
from tests.unit.builders import BANK_TEXT, CASH_TEXT, CONFIG, FIELDS, LOOKUPS, WON, empty_view, lead

TODAY = date(2024, 4, 10)
DEALS = range(1001, 1013)


def _lead(deal_id: int, *, price: int = 100_000, status: int = 7000101, **slot: Any) -> Any:
    cash = (slot.get("amount1", 50_000), slot.get("method1", CASH_TEXT), slot.get("date1"))
    bank = (50_000, slot.get("method2", BANK_TEXT), slot.get("date2", TODAY))
    return lead(deal_id, price=price, status=status, slots=[cash, bank])


def _set_total(found: dict[str, Any], total: Decimal) -> None:
    fields = [f for f in found["custom_fields_values"] if f["field_id"] != FIELDS.confirmed_total]
    fields.append({"field_id": FIELDS.confirmed_total, "values": [{"value": str(total)}]})
    found["custom_fields_values"] = fields


@dataclass
class World:
    view: LedgerView
    leads: dict[int, dict[str, Any]]
    records: dict[str, NoteRecord] = field(default_factory=dict)
    unpushed: dict[str, int] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        return Snapshot(self.view, list(self.leads.values()), self.records, TODAY, self.unpushed)

    def ids(self) -> set[str]:
        return {f.id for f in find_discrepancies(self.snapshot(), CONFIG).findings}

    def change(self, tab: str, row_id: str, **values: Any) -> None:
        changes = LedgerChanges()
        changes.update(tab, row_id, values)
        self.view = apply_changes(self.view, changes)

    def pull(self, *deals: int) -> None:
        leads = [self.leads[d] for d in deals] if deals else list(self.leads.values())
        self.view = apply_changes(self.view, plan_pull(self.view, leads, LOOKUPS, CONFIG).changes)

    def confirm(self, pid: str) -> None:
        """The cashier ticks, the sync pushes: the row, the note and amoCRM's total agree."""
        row = self.view.tab("payments").rows[pid]
        seq = self.records[pid].seq + 1 if pid in self.records else 1
        self.change(
            "payments",
            pid,
            confirmed=True,
            confirmed_by="Касса",
            confirmed_at=TODAY,
            pushed_amount=row["amount"],
            state=f"pushed #{seq}",
        )
        self.records[pid] = NoteRecord(pid, seq, "confirm", row["amount"], "Касса", TODAY)
        deal = int(row["deal_id"])
        _set_total(self.leads[deal], deal_totals(self.view)[deal])
        self.unpushed.pop(pid, None)


def sound_world() -> World:
    leads = {d: _lead(d, date1=TODAY - timedelta(days=1)) for d in DEALS}
    view = empty_view()
    view.tabs["expenses"] = TabRows(EXPENSES)
    view.tabs["bank"] = TabRows(BANK)
    view.tabs["invoices"] = TabRows(INVOICES)
    world = World(view, leads)
    world.pull()
    for deal in DEALS:
        world.confirm(f"{deal}:1")
    expense = {"id": "tg:1:1:0", "date": TODAY - timedelta(days=10), "amount": Decimal("3500.00")}
    changes = LedgerChanges()
    changes.replace["expenses"] = [expense | {"category": "Реклама", "comment": "яндекс"}]
    old = TODAY - timedelta(days=10)
    changes.replace["bank"] = [
        {
            "id": "in1",
            "date": old,
            "direction": "in",
            "amount": Decimal(50000),
            "state": "confirmed",
        },
        {"id": "out1", "date": old, "direction": "out", "amount": Decimal(900), "state": "expense"},
    ]
    # A paid order long past its due day, and an open one due today: neither is overdue.
    changes.replace["invoices"] = [
        {"id": "O-240401-aaaa", "amount": Decimal(12000), "supplier": "ООО Фасады",
         "due": TODAY - timedelta(days=5), "paid": True, "paid_on": TODAY - timedelta(days=6)},
        {"id": "O-240409-bbbb", "amount": Decimal(7000), "supplier": "ИП Петров",
         "purpose": "доставка", "due": TODAY, "requested_by": "Анна"},
    ]  # fmt: skip
    world.view = apply_changes(world.view, changes)
    return world


Case = tuple[str, Callable[[World], None], Callable[[World], None]]


def _regrow(w: World, deal: int, **slot: Any) -> None:
    """amoCRM's deal and the ledger's rows both changed (the sync brought the change)."""
    total = deal_totals(w.view).get(deal, Decimal(0))
    w.leads[deal] = _lead(deal, date1=TODAY - timedelta(days=1), **slot)
    _set_total(w.leads[deal], total)
    w.pull(deal)


def _set_lead(w: World, deal: int, **values: Any) -> None:
    w.leads[deal] = w.leads[deal] | values


CASES: list[Case] = [
    (
        "PAYMENT_NOT_IN_LEDGER:1001:2",
        lambda w: setattr(w, "view", apply_changes(w.view, _remove("1001:2"))),
        lambda w: w.pull(),
    ),
    (
        "TICK_NOT_PUSHED:1002:2",
        lambda w: (
            w.change("payments", "1002:2", confirmed=True),
            w.unpushed.update({"1002:2": 1}),
        ),
        lambda w: w.confirm("1002:2"),
    ),
    (
        "AMOUNT_CHANGED:1003:1",
        lambda w: _regrow_crm_only(w, 1003, amount1=45_000),
        lambda w: _regrow_crm_only(w, 1003),
    ),
    (
        "TOTAL_DIFFERS:1004",
        lambda w: _set_total(w.leads[1004], Decimal("60000")),
        lambda w: _set_total(w.leads[1004], Decimal("50000")),
    ),
    (
        "MARKER_WITHOUT_CONFIRMATION:1005:1",
        lambda w: w.change(
            "payments", "1005:1", confirmed=False, state="", pushed_amount=None, confirmed_by=None
        ),
        lambda w: w.change(
            "payments", "1005:1", confirmed=True, state="pushed #1", pushed_amount=Decimal(50_000)
        ),
    ),
    (
        "CONFIRMATION_WITHOUT_MARKER:1006:1",
        lambda w: w.records.pop("1006:1"),
        lambda w: w.records.update(
            {"1006:1": NoteRecord("1006:1", 1, "confirm", Decimal(50_000), "Касса", TODAY)}
        ),
    ),
    (
        "DUPLICATE_ID:1007:2",
        lambda w: w.view.tab("payments").copies.update(
            {"1007:2": [dict(w.view.tab("payments").rows["1007:2"])]}
        ),
        lambda w: w.view.tab("payments").copies.clear(),
    ),
    (
        "CASH_HELD:Анна",
        lambda w: _regrow(w, 1008, method2=CASH_TEXT, date2=TODAY - timedelta(days=10)),
        lambda w: w.confirm("1008:2"),
    ),
    (
        "UNCONFIRMED:1009:2",
        lambda w: _regrow(w, 1009, date2=TODAY - timedelta(days=10)),
        lambda w: w.confirm("1009:2"),
    ),
    (
        "WON_NOT_PAID:1010",
        lambda w: _set_lead(w, 1010, status_id=WON),
        lambda w: w.confirm("1010:2"),
    ),
    (
        "OVERPAID:1011",
        lambda w: _set_lead(w, 1011, price=40_000),
        lambda w: _set_lead(w, 1011, price=100_000),
    ),
    (
        "DEAL_GONE:1012",
        lambda w: w.__setattr__("gone", w.leads.pop(1012)),
        lambda w: w.leads.__setitem__(1012, w.gone),  # type: ignore[attr-defined]
    ),
    (
        "BANK_UNASSIGNED:in1",
        lambda w: w.change("bank", "in1", state="unassigned", matched_to=None),
        lambda w: w.change("bank", "in1", state="confirmed", matched_to="1001:2"),
    ),
    (
        "BANK_OUT_UNEXPLAINED:out1",
        lambda w: w.change("bank", "out1", state="outgoing"),
        lambda w: w.change("bank", "out1", state="expense"),
    ),
    (
        "ORDER_OVERDUE:O-240409-bbbb",
        lambda w: w.change("invoices", "O-240409-bbbb", due=TODAY - timedelta(days=2)),
        lambda w: w.change("invoices", "O-240409-bbbb", paid=True, paid_on=TODAY),
    ),
    (
        "EXPENSE_UNCATEGORISED:tg:1:1:0",
        lambda w: w.change("expenses", "tg:1:1:0", category=CONFIG.expenses.default_category),
        lambda w: w.change("expenses", "tg:1:1:0", category="Реклама"),
    ),
]


def _remove(pid: str) -> LedgerChanges:
    changes = LedgerChanges()
    changes.removes.append(("payments", pid))
    return changes


def _regrow_crm_only(w: World, deal: int, **slot: Any) -> None:
    total = deal_totals(w.view).get(deal, Decimal(0))
    w.leads[deal] = _lead(deal, date1=TODAY - timedelta(days=1), **slot)
    _set_total(w.leads[deal], total)


def test_a_sound_ledger_has_no_finding():
    assert sound_world().ids() == set()


def test_every_code_has_a_case():
    assert {case[0].split(":", 1)[0] for case in CASES} == set(CODES)


@pytest.mark.parametrize(("expected", "plant", "repair"), CASES, ids=[c[0] for c in CASES])
def test_one_planted_case_gives_exactly_its_finding_and_none_after_repair(
    expected: str, plant: Callable[[World], None], repair: Callable[[World], None]
):
    world = sound_world()
    plant(world)
    assert world.ids() == {expected}
    repair(world)
    assert world.ids() == set()


def test_every_case_planted_at_once_gives_exactly_those_findings():
    world = sound_world()
    for _, plant, _ in CASES:
        plant(world)
    assert world.ids() == {case[0] for case in CASES}
    for _, _, repair in CASES:
        repair(world)
    assert world.ids() == set()


def test_a_tick_is_reported_only_after_it_waited_the_configured_number_of_runs():
    world = sound_world()
    world.change("payments", "1002:2", confirmed=True)
    first = find_discrepancies(world.snapshot(), CONFIG)
    assert first.findings == [] and first.unpushed_runs == {"1002:2": 1}
    world.unpushed = first.unpushed_runs
    second = find_discrepancies(world.snapshot(), CONFIG)
    assert [f.id for f in second.findings] == ["TICK_NOT_PUSHED:1002:2"]
    assert "confirm of 50 000,00 ₽ waits to be pushed" in second.findings[0].detail


# --------------------------------------------------------------------------- tracking


def _tab(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The tab as the next run reads it back (every column, blanks as None)."""
    blank = {c.key: None for c in RECONCILIATION.columns}
    return {str(r["id"]): blank | r for r in rows}


def test_running_twice_changes_nothing():
    world = sound_world()
    for _, plant, _ in CASES[:4]:
        plant(world)
    findings = find_discrepancies(world.snapshot(), CONFIG).findings
    first = track(findings, {}, {}, TODAY, 0)
    rows = tab_rows(first)
    second = track(findings, first.memory, _tab(rows), TODAY, first.resolved_total)
    assert second.memory == first.memory and second.resolved_now == []
    assert same_tab(_tab(rows), tab_rows(second))
    assert rows[-1]["id"] == HISTORY_ID and rows[0]["severity"] == "error"


def test_a_resolved_finding_leaves_the_tab_and_is_counted_in_the_history_line():
    world = sound_world()
    CASES[3][1](world)
    plan = track(find_discrepancies(world.snapshot(), CONFIG).findings, {}, {}, TODAY, 4)
    CASES[3][2](world)
    later = TODAY + timedelta(days=1)
    after = track(find_discrepancies(world.snapshot(), CONFIG).findings, plan.memory, {}, later, 4)
    assert after.tracked == [] and after.resolved_now == ["TOTAL_DIFFERS:1004"]
    assert [r["id"] for r in tab_rows(after)] == [HISTORY_ID]
    assert "5 resolved so far" in tab_rows(after)[0]["detail"]


def test_a_muted_finding_stays_muted_until_its_detail_changes():
    world = sound_world()
    _set_total(world.leads[1004], Decimal("60000"))
    findings = find_discrepancies(world.snapshot(), CONFIG).findings
    plan = track(findings, {}, {}, TODAY, 0)
    assert plan.errors == 1
    tab = _tab(tab_rows(plan))
    tab["TOTAL_DIFFERS:1004"]["seen"] = True  # a person ticks Seen
    day2 = TODAY + timedelta(days=1)
    muted = track(findings, plan.memory, tab, day2, 0)
    assert muted.errors == 0 and muted.tracked[0].muted
    assert muted.tracked[0].first_seen == TODAY and muted.tracked[0].last_seen == day2
    # The tick may be gone from the tab (rewritten, sorted away): the memory keeps it muted.
    again = track(findings, muted.memory, {}, day2, 0)
    assert again.errors == 0
    _set_total(world.leads[1004], Decimal("70000"))  # the detail changes: it counts again
    changed = find_discrepancies(world.snapshot(), CONFIG).findings
    back = track(changed, again.memory, _tab(tab_rows(again)), day2, 0)
    assert back.errors == 1 and not back.tracked[0].muted
    assert tab_rows(back)[0]["seen"] is False


def test_an_overdue_order_says_amount_supplier_due_and_what_to_do():
    world = sound_world()
    world.change("invoices", "O-240409-bbbb", due=TODAY - timedelta(days=2))
    (finding,) = find_discrepancies(world.snapshot(), CONFIG).findings
    assert finding.code == "ORDER_OVERDUE" and finding.severity == "warning"
    assert "7 000,00 ₽ to ИП Петров «доставка»" in finding.detail
    assert "due 2024-04-08, unpaid for 2 days" in finding.detail
    assert "requested by Анна" in finding.detail
    assert "tick Paid" in finding.todo


def test_a_rejected_order_is_never_overdue():
    world = sound_world()
    world.change(
        "invoices", "O-240409-bbbb", due=TODAY - timedelta(days=9), reject=True, reason="дубль"
    )
    assert world.ids() == set()
