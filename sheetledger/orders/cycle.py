"""The orders' step of a sync cycle: plan, push to amoCRM, tell. The thin I/O shell.

``sync/cycle.py`` calls ``run_orders`` after the payments are settled, with the master as
it will stand after the write; what it returns joins that one write, and each cabinet's
mirror joins that cabinet's write (``order_mirror``). Every decision is ``orders/plan.py``'s
and ``orders/cabinets.py``'s; amoCRM's side of a push is ``crm/pusher.py``'s (journal first,
marker looked for before a note is posted), so a crash between the push and the write
leaves one note: the next cycle plans the same event and finds its marker.

What people must be told goes to an ``OrderNews`` before the write that records it in
Notified; should the write fail, the next cycle tells again and the news' own outbox
(one message per order, event and channel) keeps it once. With no ``OrderNews`` given
nothing is recorded as told, so nothing is lost for the day one is wired in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sheetledger.config import Cabinet, Config
from sheetledger.crm.lookups import Lookups
from sheetledger.crm.pusher import CrmPusher, NotesCrm, PushOutcome
from sheetledger.ledger.view import LedgerChanges, LedgerView, RowUpdate, apply_changes
from sheetledger.orders.cabinets import plan_order_mirror
from sheetledger.orders.model import OrderEvent, OrderNews
from sheetledger.orders.plan import OrdersInput, plan_orders
from sheetledger.store import LocalState
from sheetledger.sync.plan import lead_marks
from sheetledger.sync.push import PushPlan

__all__ = ["OrdersDone", "order_mirror", "reminder_due", "run_orders"]

log = logging.getLogger(__name__)


@dataclass
class OrdersDone:
    changes: LedgerChanges  # the master's part of the cycle's one write
    final: LedgerView  # the master once that write landed (what the cabinets mirror)
    delivered: list[tuple[str, int]] = field(default_factory=list)  # journal keys to settle
    told: list[tuple[str, OrderEvent]] = field(default_factory=list)
    pushes: int = 0
    problems: list[str] = field(default_factory=list)


def user_names(config: Config) -> dict[int, str]:
    return {user.id: user.name for user in config.telegram.users}


def run_orders(
    config: Config,
    master: LedgerView,
    cabinets: Sequence[tuple[Cabinet, LedgerView]],
    lookups: Lookups,
    crm: NotesCrm,
    store: LocalState,
    news: OrderNews | None,
    *,
    now: datetime,
    dry_run: bool = False,
) -> OrdersDone:
    """Plan the orders against ``master``, push the paid ones, tell the news."""
    local = now.astimezone(config.tz)
    plan = plan_orders(
        OrdersInput(config, master, cabinets, lookups, local.date(), local, user_names(config))
    )
    assert plan.planned is not None
    outcome = PushOutcome()
    if plan.pushes and not dry_run:
        outcome = CrmPusher(crm, store).push(list(plan.lead_patches.values()), plan.notes())
    marks = plan.marks_for(outcome.delivered, local.date())
    # The deals amoCRM took a PATCH for: their new updated_at and status, as payments do.
    for deal_id, values in lead_marks(
        PushPlan(lead_patches=plan.lead_patches), outcome, lookups
    ).items():
        marks.update("deals", str(deal_id), values)
    changes = LedgerChanges()
    changes.extend(plan.changes)
    changes.extend(marks)
    told: list[tuple[str, OrderEvent]] = []
    if news is None or dry_run:
        changes.updates = [_without_notified(u) for u in changes.updates]
    else:
        failed = False
        for order, event in plan.news:
            try:
                news.tell(order, event)
            except Exception:  # the news' own store failed: told again next cycle
                log.warning("could not queue %s of order %s", event, order.id, exc_info=True)
                failed = True
                continue
            told.append((order.id, event))
        if failed:
            changes.updates = [_without_notified(u) for u in changes.updates]
    final = apply_changes(plan.planned, marks)
    delivered: list[tuple[str, int]] = [
        (str(p.order.id), p.seq) for p in plan.pushes if (p.order.id, p.seq) in outcome.delivered
    ]
    return OrdersDone(
        changes,
        final,
        delivered,
        told,
        pushes=len(delivered),
        problems=[*plan.problems, *outcome.problems],
    )


def _without_notified(update: RowUpdate) -> RowUpdate:
    if "notified" not in update.values:
        return update
    values: Mapping[str, Any] = {k: v for k, v in update.values.items() if k != "notified"}
    return RowUpdate(update.tab, update.row_id, values)


def order_mirror(
    config: Config, final: LedgerView, cabinet: Cabinet, view: LedgerView, today: date
) -> LedgerChanges:
    """A cabinet's Orders / Requests writes (nothing for a cabinet without them)."""
    if "cabinet_orders" not in view.tabs and "requests" not in view.tabs:
        return LedgerChanges()
    return plan_order_mirror(final, view, cabinet, config, today, user_names(config))


def reminder_due(config: Config, now: datetime, reminded_on: date | None) -> bool:
    """Whether today's overdue reminders are still to plan (the cycle must not idle)."""
    local = now.astimezone(config.tz)
    hour = datetime.strptime(config.orders.remind_at, "%H:%M").time()
    return reminded_on != local.date() and local.time() >= hour
