"""Properties of the sync plans: a second plan after the first is applied plans nothing.

Leads are generated with random slots, methods, amounts, statuses and pipelines; a
ledger view is built from earlier versions of them plus random edits by people (ticks,
received amounts, states after earlier pushes). Every check is made twice: on the
in-memory result of ``apply_changes`` and on that result after a trip through the
cells (what a write and the next read of the real sheet produce).
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetledger.ledger.tabs import PAYMENTS, Owner
from sheetledger.ledger.view import LedgerView, apply_changes
from sheetledger.sync.pull import plan_pull
from sheetledger.sync.push import PushPlan, plan_push
from sheetledger.sync.state import RowState
from tests.unit.builders import (
    CONFIG,
    DELIVERY,
    FIRST_PAID,
    LOOKUPS,
    LOST,
    NEW,
    OPTIONS,
    OTHER_PIPE,
    PIPE,
    WON,
    empty_view,
    lead,
    through_sheet,
)

# More examples for a bug hunt: SHEETLEDGER_PROPERTY_EXAMPLES=2000 pytest tests/property
EXAMPLES = int(os.environ.get("SHEETLEDGER_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TODAY = date(2024, 4, 10)
PEOPLE = {c.key for c in PAYMENTS.columns if c.owner is Owner.PEOPLE}
DEAL_IDS = st.integers(min_value=1, max_value=6)

texts = st.one_of(
    st.text(alphabet="'=+-@ aбв1", max_size=6),
    st.text(max_size=8),
)
amounts = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("-100"), max_value=Decimal("10000000"), places=2).map(
        lambda d: format(d, "f")
    ),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=3).map(
        lambda d: format(d, "f")
    ),
    st.integers(min_value=1, max_value=10**6).map(lambda n: f"{n:,}".replace(",", " ")),
    st.sampled_from(["сто", "NaN", "", "1,5"]),
)
methods = st.one_of(st.none(), st.sampled_from([*OPTIONS, "Бартер"]))
days = st.one_of(st.none(), st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
slots = st.lists(st.one_of(st.none(), st.tuples(amounts, methods, days)), max_size=2)


@st.composite
def leads_for(draw: st.DrawFn, deal_id: int, updated_at: st.SearchStrategy[int]) -> dict[str, Any]:
    pipeline = draw(st.sampled_from([PIPE, PIPE, PIPE, OTHER_PIPE]))
    status = (
        draw(st.sampled_from([NEW, FIRST_PAID, DELIVERY, WON, LOST]))
        if pipeline == PIPE
        else 7000201
    )
    return lead(
        deal_id,
        name=draw(texts),
        price=draw(st.integers(min_value=0, max_value=500_000)),
        status=status,
        pipeline=pipeline,
        updated_at=draw(updated_at),
        manager=draw(st.sampled_from([501, 502, 999, None])),
        contract_no=draw(st.one_of(st.none(), texts)),
        contract_date=draw(days),
        product=draw(st.one_of(st.none(), texts)),
        slots=draw(slots),
    )


STAMPS = st.integers(1, 10**9)


@st.composite
def lead_sets(draw: st.DrawFn, updated_at: st.SearchStrategy[int] = STAMPS) -> list[dict[str, Any]]:
    ids = draw(st.lists(DEAL_IDS, unique=True, max_size=5))
    return [draw(leads_for(deal_id, updated_at)) for deal_id in ids]


@st.composite
def people_edits(draw: st.DrawFn, view: LedgerView) -> LedgerView:
    """Ticks, received amounts and earlier push states, as people and past cycles left them."""
    money = st.decimals(min_value=Decimal("-10"), max_value=Decimal("100000"), places=2)
    rows = view.tab("payments").rows
    for row_id, row in list(rows.items()):
        if not draw(st.booleans()):
            continue
        edits: dict[str, Any] = {}
        edits["confirmed"] = draw(st.sampled_from([True, False, None]))
        edits["received"] = draw(st.one_of(st.none(), st.none(), money))
        edits["confirmed_by"] = draw(st.sampled_from([None, "Ольга", "=cmd"]))
        edits["comment"] = draw(st.one_of(st.none(), texts))
        status = draw(st.sampled_from(["", "pushed", "partial", "reversed", "cancelled"]))
        seq = draw(st.integers(0, 4)) if status else 0
        if status in ("pushed", "partial"):
            seq = max(seq, 1)
            edits["pushed_amount"] = draw(st.one_of(money, st.just(row.amount)))
        problem = RowState.parse(row.state).problem
        edits["state"] = RowState(status, seq, problem).render()
        rows[row_id] = row | edits  # rows are never changed in place
    return view


def pull_into(view: LedgerView, leads: list[dict[str, Any]]) -> LedgerView:
    return apply_changes(view, plan_pull(view, leads, LOOKUPS, CONFIG).changes)


@st.composite
def ledgers(draw: st.DrawFn) -> LedgerView:
    """Empty, or an earlier pull of (other versions of) the leads, edited by people."""
    view = empty_view()
    if draw(st.booleans()):
        view = through_sheet(pull_into(view, draw(lead_sets())))
        view = draw(people_edits(view))
    return view


def people_cells(view: LedgerView) -> dict[str, dict[str, Any]]:
    return {rid: {k: row.get(k) for k in PEOPLE} for rid, row in view.tab("payments").rows.items()}


def rows(view: LedgerView) -> dict[str, dict[str, dict[str, Any]]]:
    return {key: tab.rows for key, tab in view.tabs.items()}


# -- pull --------------------------------------------------------------------------------------


@SETTINGS
@given(ledgers(), lead_sets())
def test_second_pull_plans_nothing(view0: LedgerView, leads: list[dict[str, Any]]) -> None:
    first = plan_pull(view0, leads, LOOKUPS, CONFIG)
    for update in first.changes.updates:
        if update.tab == "payments":
            assert not PEOPLE & set(update.values), update
    for append in first.changes.appends:
        assert not PEOPLE & set(append.values), append
    view1 = apply_changes(view0, first.changes)
    assert {
        k: v for k, v in people_cells(view1).items() if k in view0.tab("payments").rows
    } == people_cells(view0)
    for candidate in (view1, through_sheet(view1)):
        again = plan_pull(candidate, leads, LOOKUPS, CONFIG)
        assert again.changes.appends == []
        assert again.changes.updates == []
        assert again.new_rows == again.updated_rows == 0


@SETTINGS
@given(ledgers(), lead_sets(), st.randoms(use_true_random=False), st.data())
def test_pull_order_and_repeats_do_not_matter(
    view0: LedgerView, leads: list[dict[str, Any]], rnd: Any, data: st.DataObject
) -> None:
    reference = pull_into(view0, leads)
    shuffled = (
        list(leads) + data.draw(st.lists(st.sampled_from(leads), max_size=4)) if leads else []
    )
    rnd.shuffle(shuffled)
    plan = plan_pull(view0, shuffled, LOOKUPS, CONFIG).changes
    appended = [(a.tab, a.row_id) for a in plan.appends]
    assert len(appended) == len(set(appended))  # a row appended twice is two rows in the sheet
    updated = [(u.tab, u.row_id) for u in plan.updates]
    assert len(updated) == len(set(updated))
    assert rows(apply_changes(view0, plan)) == rows(reference)


@SETTINGS
@given(ledgers(), st.data())
def test_only_the_newest_copy_of_a_lead_counts(view0: LedgerView, data: st.DataObject) -> None:
    ids = data.draw(st.lists(DEAL_IDS, unique=True, min_size=1, max_size=4))
    stamps = iter(
        data.draw(
            st.lists(
                st.integers(1, 10**9), unique=True, min_size=3 * len(ids), max_size=3 * len(ids)
            )
        )
    )
    copies = [data.draw(leads_for(i, st.just(next(stamps)))) for i in ids for _ in range(3)]
    newest = {}
    for copy in copies:
        if copy["id"] not in newest or copy["updated_at"] > newest[copy["id"]]["updated_at"]:
            newest[copy["id"]] = copy
    order = data.draw(st.permutations(copies))
    assert rows(pull_into(view0, list(order))) == rows(pull_into(view0, list(newest.values())))


# -- push --------------------------------------------------------------------------------------


def after_push(view: LedgerView, plan: PushPlan) -> LedgerView:
    return apply_changes(apply_changes(view, plan.totals), plan.marks_for(plan.events))


@SETTINGS
@given(ledgers(), lead_sets(), st.data())
def test_second_push_after_marks_plans_nothing(
    view0: LedgerView, leads: list[dict[str, Any]], data: st.DataObject
) -> None:
    view = data.draw(people_edits(through_sheet(pull_into(view0, leads))))
    plan = plan_push(view, CONFIG, LOOKUPS, TODAY)
    seqs = {(e.payment_id, e.seq) for e in plan.events}
    assert len(seqs) == len(plan.events)
    for event in plan.events:
        row = view.tab("payments").rows[event.payment_id]
        assert event.seq == RowState.parse(row["state"]).seq + 1
        assert event.marker == f"sheetledger:{event.payment_id}#{event.seq}"
        assert (
            event.deal_id in plan.lead_patches
            or str(event.deal_id) not in view.tab("deals").rows
            or (CONFIG.amocrm.fields.confirmed_total is None)
        )
    for deal_id, patch in plan.lead_patches.items():
        assert patch["id"] == deal_id
        deal = view.tab("deals").rows[str(deal_id)]
        if "status_id" in patch:
            assert deal["status_id"] not in (WON, LOST)
            assert patch["pipeline_id"] == deal["pipeline_id"]
            before = LOOKUPS.status_sort.get((deal["pipeline_id"], deal["status_id"]))
            target = LOOKUPS.status_sort.get((deal["pipeline_id"], patch["status_id"]))
            assert before is None or target is None or target > before
    pushed = after_push(view, plan)
    for candidate in (pushed, through_sheet(pushed)):
        again = plan_push(candidate, CONFIG, LOOKUPS, TODAY)
        assert again.events == []
        assert again.totals.merged_updates() == {}
        assert again.lead_patches == {}


@SETTINGS
@given(ledgers(), lead_sets(), st.data())
def test_full_cycle_is_a_fixed_point(
    view0: LedgerView, leads: list[dict[str, Any]], data: st.DataObject
) -> None:
    """pull, people tick, push and mark; then both plans are empty, cycle after cycle."""
    view = through_sheet(pull_into(view0, leads))
    view = data.draw(people_edits(view))
    for _ in range(2):
        view = through_sheet(pull_into(view, leads))
        view = through_sheet(after_push(view, plan_push(view, CONFIG, LOOKUPS, TODAY)))
    pull = plan_pull(view, leads, LOOKUPS, CONFIG)
    assert not pull.changes.appends and not pull.changes.updates
    push = plan_push(view, CONFIG, LOOKUPS, TODAY)
    assert push.events == [] and push.totals.merged_updates() == {}
