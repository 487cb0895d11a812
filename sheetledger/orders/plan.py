"""Payment orders in the sync cycle, as pure plans: snapshot in, operations out.

``plan_orders`` takes the master (its Invoices and Deals tabs) and the cabinets as the
cycle read them, and decides what a cycle decides about orders:

1. the accountant's Orders tab: Paid / Reject ticks and the payment's cells merged into
   the master (``merge_order_edits``, a three-way merge like the payments': the hidden
   ``Synced`` cell remembers what the daemon last wrote, so a change is the side's that
   made it);
2. a requester's Requests tab: each submitted row becomes an order (its Order ID was in
   the row already, so a crash between the two writes cannot give it a second one);
3. every Invoices row: the deal found from its contract number, Paid on filled with the
   day it was ticked, its State (``new``, ``paid on DATE``, ``rejected: REASON``,
   ``E_OVERDUE …``), and what to tell whom (``OrderEvent``), recorded in Notified so it is
   told once (``overdue:<day>``: once a day);
4. amoCRM: a paid order linked to a deal is an event with a number, its marker
   ``sheetledger:<order id>#n`` in a note; unticking Paid after the push is a reversal. The
   deal's «costs paid» field is the absolute sum of its paid orders (repeating it is
   harmless), and the optional status rule moves the deal on its first paid order, never
   backwards and never out of a closed status. Orders with no deal change nothing there.

``plan_order_mirror`` (``orders/cabinets.py``, with ``merge_order_edits``) then writes each
cabinet from the master as it stands after the write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sheetledger.config import Cabinet, Config
from sheetledger.contract_ref import contract_key
from sheetledger.crm.lookups import Lookups
from sheetledger.crm.pusher import OutgoingNote
from sheetledger.ledger.view import (
    LedgerChanges,
    LedgerView,
    RowAppend,
    TabRows,
    apply_changes,
)
from sheetledger.model import LOST, WON, RowCode, money
from sheetledger.money import rub
from sheetledger.orders.cabinets import form_id, merge_order_edits, notified_tokens
from sheetledger.orders.model import (
    Order,
    OrderEvent,
    OrderId,
    OrderSource,
    OrderState,
    state_text,
)
from sheetledger.orders.rows import order_from_cells, ticks_conflict

__all__ = [
    "OrderPush",
    "OrdersInput",
    "OrdersPlan",
    "PushKind",
    "Pushed",
    "marked_orders",
    "plan_orders",
]

TAB = "invoices"


class PushKind(StrEnum):
    PAY = "paid"  # ticked Paid: the deal's costs grew
    REVERSE = "reversed"  # unticked after the push
    CORRECT = "corrected"  # the paid amount changed after the push


_PUSHED = re.compile(r"^(paid|reversed|corrected) #(\d+)(?: ([0-9.]+))?")


@dataclass(frozen=True)
class Pushed:
    """What amoCRM was told of an order (the Pushed cell: ``paid #2 12000.00``)."""

    kind: PushKind | None = None
    seq: int = 0
    amount: Decimal | None = None

    @classmethod
    def parse(cls, text: object) -> Pushed:
        found = _PUSHED.match(str(text or ""))
        if found is None:
            return cls()
        amount = Decimal(found.group(3)) if found.group(3) else None
        return cls(PushKind(found.group(1)), int(found.group(2)), amount)

    @property
    def paid(self) -> bool:
        return self.kind in (PushKind.PAY, PushKind.CORRECT)

    def render(self) -> str:
        assert self.kind is not None
        tail = f" {self.amount:f}" if self.amount is not None and self.paid else ""
        return f"{self.kind.value} #{self.seq}{tail}"


@dataclass(frozen=True)
class OrderPush:
    """One order event for amoCRM: a note with its marker in the order's deal."""

    order: Order
    kind: PushKind
    seq: int
    amount: Decimal  # paid now (0 for a reversal)
    previous: Decimal | None

    @property
    def deal_id(self) -> int:
        assert self.order.deal_id is not None
        return self.order.deal_id

    @property
    def marker(self) -> str:
        return f"sheetledger:{self.order.id}#{self.seq}"

    @property
    def pushed(self) -> Pushed:
        return Pushed(
            self.kind, self.seq, self.amount if self.kind is not PushKind.REVERSE else None
        )

    def note(self) -> OutgoingNote:
        return OutgoingNote((self.order.id, self.seq), self.deal_id, self.marker, note_text(self))


@dataclass(frozen=True)
class OrdersInput:
    config: Config
    master: LedgerView  # its "invoices" and "deals" tabs
    cabinets: Sequence[tuple[Cabinet, LedgerView]]
    lookups: Lookups
    today: date
    now: datetime  # in the business's time zone (the overdue reminder's hour)
    names: Mapping[int, str] = field(default_factory=dict)  # Telegram user id -> name


@dataclass
class OrdersPlan:
    changes: LedgerChanges = field(default_factory=LedgerChanges)  # written whatever amoCRM does
    planned: LedgerView | None = None  # the master with ``changes``
    pushes: list[OrderPush] = field(default_factory=list)
    lead_patches: dict[int, dict[str, Any]] = field(default_factory=dict)
    news: list[tuple[Order, OrderEvent]] = field(default_factory=list)
    created: list[OrderId] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def notes(self) -> list[OutgoingNote]:
        return [p.note() for p in self.pushes]

    def marks_for(self, delivered: frozenset[tuple[str, int]], today: date) -> LedgerChanges:
        """The Pushed (and State) cells of the events amoCRM took (written after it took them)."""
        marks = LedgerChanges()
        for push in self.pushes:
            if (push.order.id, push.seq) in delivered:
                values = {
                    "pushed": push.pushed.render(),
                    "state": _state_text(push.order, today, push.pushed),
                }
                marks.update(TAB, push.order.id, values)
        return marks


# --------------------------------------------------------------------------- the plan


def plan_orders(given: OrdersInput) -> OrdersPlan:
    """The orders' part of a cycle; see the module's docstring."""
    plan = OrdersPlan()
    planned = given.master
    if TAB not in planned.tabs:
        plan.planned = planned
        return plan
    for cabinet, view in given.cabinets:
        if "cabinet_orders" in view.tabs:
            edits = merge_order_edits(planned, view, cabinet, given.today)
            plan.changes.extend(edits)
            planned = apply_changes(planned, edits)
        if "requests" in view.tabs:
            made = _requests_to_orders(planned, view, cabinet, given)
            plan.changes.extend(made)
            plan.created.extend(OrderId(a.row_id) for a in made.appends)
            planned = apply_changes(planned, made)
    rows = _plan_rows(planned, given, plan)
    plan.changes.extend(rows)
    planned = apply_changes(planned, rows)
    _plan_pushes(planned, given, plan)
    plan.planned = planned
    return plan


def _requests_to_orders(
    master: LedgerView, view: LedgerView, cabinet: Cabinet, given: OrdersInput
) -> LedgerChanges:
    """Invoices rows for the Requests rows ticked Submit that are not orders yet."""
    changes = LedgerChanges()
    invoices = master.tab(TAB)
    requests = view.tab("requests")
    who = requester_name(cabinet, given.names)
    deals = _DealIndex(master)
    # A row typed below the ready ones has no ID: its content gives it one (``form_id``), so
    # should the cabinet's write of that ID fail, the next cycle finds this order again.
    typed = {form_id(cabinet, row, given.today): row for row in requests.unkeyed.values()}
    made: set[str] = set()
    for row_id, row in [*requests.rows.items(), *typed.items()]:
        if not row.get("submit") or invoices.get(row_id) is not None or row_id in made:
            continue
        if row_id in requests.copies:
            continue  # a pasted copy of a form row: held until one is left
        amount = row.get("amount")
        if not isinstance(amount, Decimal) or amount <= 0:
            continue  # the mirror says what is missing on the row
        made.add(row_id)
        contract = str(row.get("contract_no") or "")
        values = {
            "id": row_id,
            "created": given.now.replace(tzinfo=None, microsecond=0),
            "requested_by": who,
            "supplier": row.get("supplier"),
            "purpose": row.get("purpose"),
            "category": row.get("category"),
            "amount": money(amount),
            "due": row.get("due"),
            "contract_no": contract or None,
            "deal_id": deals.get(contract_key(contract)) if contract else None,
            "bill_link": row.get("bill_link"),
            "paid": False,
            "reject": False,
            "source": f"{OrderSource.REQUESTS.value}:{cabinet.name}:{row_id}",
        }
        changes.appends.append(RowAppend(TAB, row_id, values))
    return changes


def requester_name(cabinet: Cabinet, names: Mapping[int, str]) -> str:
    """Who asks through this cabinet: its first user's name, else the cabinet's title."""
    for user in cabinet.users:
        if user in names:
            return names[user]
    return cabinet.title or cabinet.name


class _DealIndex:
    """Contract key -> deal id, for the contract numbers that name exactly one deal.

    Built on the first lookup: most cycles have no order that names a contract, and the
    index walks every Deals row (10,000 in bench/bench_sync.py).
    """

    def __init__(self, master: LedgerView) -> None:
        self._master = master
        self._index: dict[str, int] | None = None

    def get(self, key: str) -> int | None:
        if self._index is None:
            self._index = _deal_index(self._master)
        return self._index.get(key)


def _deal_index(master: LedgerView) -> dict[str, int]:
    found: dict[str, int | None] = {}
    if "deals" not in master.tabs:
        return {}
    for row in master.tab("deals"):
        key = contract_key(str(row.get("contract_no") or ""))
        deal = row.get("id")
        if key and isinstance(deal, int):
            found[key] = None if key in found and found[key] != deal else deal
    return {k: v for k, v in found.items() if v is not None}


def _plan_rows(master: LedgerView, given: OrdersInput, plan: OrdersPlan) -> LedgerChanges:
    """Each Invoices row's daemon cells: deal, paid on, state, notified; and the news."""
    changes = LedgerChanges()
    invoices = master.tab(TAB)
    deals = _DealIndex(master)
    config = given.config.orders
    remind = time.fromisoformat(config.remind_at)
    reminding = given.now.time() >= remind
    for row_id, row in invoices.rows.items():
        if row_id in invoices.copies:
            continue
        values: dict[str, Any] = {}
        source = str(row.get("source") or "")
        if not source:  # a row a person typed into Invoices
            values["source"] = source = OrderSource.SHEET.value + ":" + row_id
            if row.get("created") is None:
                values["created"] = given.now.replace(tzinfo=None, microsecond=0)
        contract = str(row.get("contract_no") or "")
        if row.get("deal_id") is None and contract:
            deal = deals.get(contract_key(contract))
            if deal:
                values["deal_id"] = deal
        if row.get("paid") is True and row.get("paid_on") is None:
            values["paid_on"] = given.today
        if row.get("paid") is True and not row.get("paid_by"):
            values["paid_by"] = "ledger"
        cells = {**row, **values}
        order = order_from_cells(cells, given.today)
        if order is not None and order.draft.requester_chat is None:
            order = _with_requester(order, given)
        notified = notified_tokens(row.get("notified"))
        if order is None:
            state = RowCode.E_AMOUNT.because("no amount: type the bill's amount")
        elif ticks_conflict(cells):
            state = RowCode.E_TICKS.because("Paid and Reject are both ticked: untick one")
        else:
            state = _state_text(order, given.today, Pushed.parse(row.get("pushed")))
            notified = _news(order, source, notified, given.today, reminding, plan)
        if str(row.get("state") or "") != state:
            values["state"] = state
        text = " ".join(notified)
        if str(row.get("notified") or "") != text:
            values["notified"] = text
        if values:
            changes.update(TAB, row_id, values)
    return changes


def _with_requester(order: Order, given: OrdersInput) -> Order:
    """The order with its requester's Telegram chat, to tell them when it is paid or rejected.

    A Requests order's requester is its cabinet's first user; a row typed into Invoices
    names its requester in «Requested by» (a name from ``telegram.users``).
    """
    source = order.draft.source
    chat: int | None = None
    if source.startswith(OrderSource.REQUESTS.value + ":"):
        name = source.split(":")[1]
        cabinet = next((c for c in given.config.google.cabinets if c.name == name), None)
        chat = cabinet.users[0] if cabinet is not None and cabinet.users else None
    else:
        by = order.draft.requested_by
        chat = next((user for user, name in given.names.items() if name == by), None)
    if chat is None:
        return order
    return replace(order, draft=replace(order.draft, requester_chat=chat))


def _state_text(order: Order, today: date, pushed: Pushed) -> str:
    text = state_text(order)
    if order.overdue(today):
        due = order.draft.due
        assert due is not None
        text = RowCode.E_OVERDUE.because(f"due {due:%d.%m.%Y}, not paid") + " · " + text
    if pushed.kind is not None:
        text += f" · amoCRM {pushed.render()}"
    return text


def _news(
    order: Order,
    source: str,
    notified: list[str],
    today: date,
    reminding: bool,
    plan: OrdersPlan,
) -> list[str]:
    """What to tell of ``order`` now, given what was told (``notified``); the new tokens."""
    told = set(notified)
    tokens = [t for t in notified if not t.startswith(("overdue:", "paid", "rejected"))]
    if "created" not in told:
        # The bot tells of its own orders as it makes them; the cycle of the others.
        if not source.startswith(OrderSource.BOT.value + ":"):
            plan.news.append((order, OrderEvent.CREATED))
        tokens.append("created")
    if order.state is OrderState.PAID:
        if "paid" not in told:
            plan.news.append((order, OrderEvent.PAID))
        tokens.append("paid")
    elif order.state is OrderState.REJECTED:
        earlier = next((t for t in notified if t.startswith("rejected")), "")
        if not earlier:
            plan.news.append((order, OrderEvent.REJECTED))
        tokens.append(earlier or f"rejected:{today.isoformat()}")
    last = next((t for t in notified if t.startswith("overdue:")), "")
    if order.overdue(today):
        if reminding and last != f"overdue:{today.isoformat()}":
            plan.news.append((order, OrderEvent.OVERDUE))
            last = f"overdue:{today.isoformat()}"
        if last:
            tokens.append(last)
    return tokens


# --------------------------------------------------------------------------- amoCRM


def marked_orders(invoices: TabRows) -> dict[str, int]:
    """Order ID -> the last event amoCRM is known to hold (its Pushed ``#n``)."""
    marked = {}
    for row_id, row in invoices.rows.items():
        pushed = Pushed.parse(row.get("pushed"))
        if pushed.seq:
            marked[row_id] = pushed.seq
    return marked


def _plan_pushes(master: LedgerView, given: OrdersInput, plan: OrdersPlan) -> None:
    """The order events for amoCRM and the PATCH of each deal they touch."""
    paid_total: dict[int, Decimal] = {}
    pushed_total: dict[int, Decimal] = {}
    invoices = master.tab(TAB)
    for row_id, row in invoices.rows.items():
        if row.get("deal_id") is None or row_id in invoices.copies or ticks_conflict(row):
            continue  # most orders have no deal: nothing for amoCRM, decided at once
        order = order_from_cells(row, given.today)
        if order is None or order.deal_id is None:
            continue
        deal = order.deal_id
        pushed = Pushed.parse(row.get("pushed"))
        paid_now = order.payment.amount if order.payment is not None else None
        if paid_now is not None:
            paid_total[deal] = paid_total.get(deal, Decimal(0)) + paid_now
        if pushed.paid and pushed.amount is not None:
            pushed_total[deal] = pushed_total.get(deal, Decimal(0)) + pushed.amount
        push: OrderPush | None = None
        if paid_now is not None and not pushed.paid:
            push = OrderPush(order, PushKind.PAY, pushed.seq + 1, money(paid_now), None)
        elif paid_now is not None and pushed.amount != money(paid_now):
            push = OrderPush(
                order, PushKind.CORRECT, pushed.seq + 1, money(paid_now), pushed.amount
            )
        elif paid_now is None and pushed.paid:
            push = OrderPush(order, PushKind.REVERSE, pushed.seq + 1, Decimal(0), pushed.amount)
        if push is not None:
            plan.pushes.append(push)
    deals = master.tab("deals") if "deals" in master.tabs else TabRows(invoices.schema)
    for deal_id in sorted({p.deal_id for p in plan.pushes}):
        total = money(paid_total.get(deal_id, Decimal(0)))
        patch = _deal_patch(
            deal_id, deals.get(str(deal_id)), total, pushed_total.get(deal_id), given
        )
        if patch:
            plan.lead_patches[deal_id] = patch


def _deal_patch(
    deal_id: int,
    deal: Mapping[str, Any] | None,
    total: Decimal,
    before: Decimal | None,
    given: OrdersInput,
) -> dict[str, Any]:
    """The deal's «costs paid» (absolute) and, on its first paid order, the status rule."""
    patch: dict[str, Any] = {}
    amo = given.config.amocrm
    if amo.fields.costs_paid is not None:
        patch["custom_fields_values"] = [
            {"field_id": amo.fields.costs_paid, "values": [{"value": format(total, "f")}]}
        ]
    rule = amo.status_rules.on_first_paid_order
    if rule is not None and deal is not None and not before and total > 0:
        target = _forward_status(deal, rule.status_id, given.lookups)
        if target is not None:
            patch["status_id"] = target
            patch["pipeline_id"] = int(deal["pipeline_id"])
    if patch:
        patch["id"] = deal_id
    return patch


def _forward_status(deal: Mapping[str, Any], target: int, lookups: Lookups) -> int | None:
    """``target`` when it moves the deal forward in its pipeline; never out of 142/143."""
    pipeline_id, status_id = deal.get("pipeline_id"), deal.get("status_id")
    if pipeline_id is None or status_id is None or status_id in (WON, LOST):
        return None
    if target == status_id or (int(pipeline_id), target) not in lookups.statuses:
        return None
    current = lookups.status_sort.get((int(pipeline_id), int(status_id)))
    wanted = lookups.status_sort.get((int(pipeline_id), target))
    if current is None or wanted is None or current >= wanted:
        return None
    return target


def note_text(push: OrderPush) -> str:
    """The note left in the deal (Russian: the managers read it in amoCRM)."""
    order, draft = push.order, push.order.draft
    what = f"{draft.supplier or 'поставщик не указан'}"
    if draft.purpose:
        what += f" — {draft.purpose}"
    if draft.bill_no:
        what += f", счёт № {draft.bill_no}"
    payment = order.payment
    who = payment.by if payment is not None and payment.by else "бухгалтер"
    on = f", {payment.on:%d.%m.%Y}" if payment is not None else ""
    amount = rub(push.amount, kopeks=True)
    if push.kind is PushKind.PAY:
        text = f"💸 Оплачен счёт поставщику: {what} — {amount}. Оплатил(а): {who}{on}."
        if payment is not None and payment.paid_from:
            text += f" Откуда: {payment.paid_from}."
    elif push.kind is PushKind.CORRECT:
        previous = rub(push.previous, kopeks=True)
        text = f"✏️ Сумма оплаты счёта изменена: {what} — было {previous}, стало {amount}."
    else:
        previous = rub(push.previous, kopeks=True)
        text = f"↩️ Оплата счёта отменена: {what} — {previous}. Заказ {order.id} снова не оплачен."
    if draft.bill_link:
        text += f"\nСчёт: {draft.bill_link}"
    return f"{text}\nЗаявка {order.id}\n{push.marker}"
