"""plan_cycle's decisions, pure: when a cycle may skip planning, and what a settled push marks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sheetledger.crm.pusher import PushOutcome
from sheetledger.ledger.view import apply_changes
from sheetledger.sync.cursor import CURSOR_KEY
from sheetledger.sync.plan import CycleInput, must_read_all, plan_cycle, settle
from tests.unit.builders import CASH_TEXT, CONFIG, LOOKUPS, empty_view, lead, through_sheet

TODAY = date(2026, 11, 27)
STARTED = int(datetime(2026, 11, 27, 9, tzinfo=UTC).timestamp())


def settled_input(**changes: object) -> CycleInput:
    """A daemon's cycle on a ledger that already shows lead 7: nothing new anywhere."""
    first = plan_cycle(
        CycleInput(
            CONFIG,
            empty_view(),
            [lead(7, slots=[(1000, CASH_TEXT, None)])],
            LOOKUPS,
            TODAY,
            STARTED,
        )
    )
    assert first.planned is not None
    view = apply_changes(first.planned, first.changes)
    given = CycleInput(
        CONFIG,
        view,
        [lead(7, slots=[(1000, CASH_TEXT, None)])],
        LOOKUPS,
        TODAY,
        STARTED + 60,
        master_unchanged=True,
        settled_on=TODAY,
        may_idle=True,
    )
    return replace(given, **changes)  # type: ignore[arg-type]


def test_a_settled_day_with_nothing_changed_is_idle() -> None:
    assert plan_cycle(settled_input()).idle


def test_anything_new_anywhere_is_planned() -> None:
    assert not plan_cycle(settled_input(master_unchanged=False)).idle  # the master changed
    assert not plan_cycle(settled_input(settled_on=TODAY - timedelta(days=1))).idle  # a new day
    assert not plan_cycle(settled_input(settled_on=None)).idle  # the last cycle left work
    assert not plan_cycle(settled_input(all_cabinets_read=False)).idle  # a cabinet missed
    assert not plan_cycle(settled_input(read_all=True)).idle  # the periodic full read
    assert not plan_cycle(settled_input(may_idle=False)).idle  # `sync` without a daemon
    renamed = [lead(7, name="Шкаф", slots=[(1000, CASH_TEXT, None)])]
    assert not plan_cycle(settled_input(leads=renamed)).idle  # amoCRM changed


def test_the_full_read_comes_every_n_minutes_whatever_drive_says() -> None:
    every = timedelta(minutes=15)
    start = datetime(2026, 11, 27, 9, tzinfo=UTC)
    assert must_read_all(None, start, every)  # a daemon that just started reads everything
    assert not must_read_all(start, start + timedelta(minutes=14, seconds=59), every)
    assert must_read_all(start, start + every, every)


def test_a_lone_cursor_move_is_held_back_an_hour() -> None:
    leads = [lead(7, updated_at=STARTED - 60, slots=[(1000, CASH_TEXT, None)])]
    given = CycleInput(CONFIG, empty_view(), leads, LOOKUPS, TODAY, STARTED)
    written = settle(plan_cycle(given), PushOutcome(), given).changes
    shown = through_sheet(apply_changes(given.master, written))  # the ledger shows the lead

    def cycle_from(cursor: int) -> dict[str, str]:
        view = replace(shown, state={CURSOR_KEY: str(cursor)})
        given = CycleInput(CONFIG, view, leads, LOOKUPS, TODAY, STARTED + 60)
        plan = plan_cycle(given)
        assert plan.cursor == STARTED - 60 and not plan.push.events
        changes = settle(plan, PushOutcome(), given).changes
        assert not (changes.updates or changes.appends or changes.replace)
        return changes.state

    assert cycle_from(STARTED - 600) == {}  # moved 9 minutes: not worth a write of its own
    assert cycle_from(STARTED - 7200) == {CURSOR_KEY: str(STARTED - 60)}  # two hours: written
