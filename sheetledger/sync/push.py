"""Push: ticks in the ledger -> amoCRM fields, status and a note in the deal's history. Pure.

A tick is an event (docs/architecture.md, "Exactly once"): ☐ → ☑ confirms, ☑ → ☐ after a
push reverses, a received amount changed after a push corrects. Each event gets the next ``seq``
of its payment and a marker in its note, so a retry after a crash can tell that
the note is already there. Field values are absolute (the deal's confirmed
total), so writing them twice is harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sheetledger.config import Config, Method
from sheetledger.crm.lookups import Lookups
from sheetledger.ledger.records import DealRow, PaymentRow
from sheetledger.ledger.view import LedgerChanges, LedgerView
from sheetledger.model import WON, ZERO, PaymentId, RowCode, money
from sheetledger.money import rub
from sheetledger.sync.state import RowState, SyncStatus, marker


class EventKind(StrEnum):
    """What a push tells amoCRM about a payment."""

    CONFIRM = "confirm"  # ticked: the money arrived
    REVERSE = "reverse"  # unticked after a push: it did not
    CORRECT = "correct"  # the received amount changed after a push
    PARTIAL = "partial"  # part of the money arrived (a received amount, no tick)


# The Sync state each kind of push leaves on its row.
_STATUS_AFTER = {
    EventKind.CONFIRM: SyncStatus.PUSHED,
    EventKind.CORRECT: SyncStatus.PUSHED,
    EventKind.PARTIAL: SyncStatus.PARTIAL,
    EventKind.REVERSE: SyncStatus.REVERSED,
}


@dataclass(frozen=True)
class PushEvent:
    payment_id: PaymentId
    deal_id: int
    kind: EventKind
    seq: int
    amount: Decimal  # what is confirmed now (0 for a reversal)
    previous: Decimal | None  # what was pushed before (reverse/correct)
    expected: Decimal | None
    method: str
    by: str
    on: date
    payment_kind: str
    contract_no: str
    problem: str = ""  # the row's flag, kept when the event is marked

    @property
    def marker(self) -> str:
        return marker(self.payment_id, self.seq)


@dataclass
class PushPlan:
    events: list[PushEvent] = field(default_factory=list)
    lead_patches: dict[int, dict[str, Any]] = field(default_factory=dict)  # deal id -> PATCH body
    totals: LedgerChanges = field(default_factory=LedgerChanges)  # Deals CALC cells, always written
    problems: list[str] = field(default_factory=list)

    def marks_for(self, events: list[PushEvent]) -> LedgerChanges:
        """The ledger cells that record ``events`` as pushed (written after the CRM took them)."""
        changes = LedgerChanges()
        for event in events:
            state = RowState(_STATUS_AFTER[event.kind], event.seq, event.problem).render()
            pushed = None if event.kind == EventKind.REVERSE else event.amount
            changes.update("payments", event.payment_id, {"state": state, "pushed_amount": pushed})
        return changes


def effective_amount(row: PaymentRow) -> Decimal | None:
    """What a confirmed payment brought: the received amount, or the expected one when empty."""
    return row.received if row.received is not None else row.amount


def received_so_far(row: PaymentRow) -> Decimal | None:
    """What the ledger says arrived: all of it when ticked, else a partial receipt."""
    if row.confirmed:
        return effective_amount(row)
    received = row.received
    return received if received is not None and received > 0 else None


def deal_totals(view: LedgerView) -> dict[int, Decimal]:
    """The confirmed total of every deal: ticked payments, plus partial receipts."""
    return _totals(view)[0]


def _totals(view: LedgerView) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per deal: what the ledger says arrived, and what amoCRM was told (one pass)."""
    confirmed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    pushed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in view.tab("payments").typed(PaymentRow).values():
        deal_id = row.deal_id
        if deal_id is None:
            continue
        if row.confirmed or row.received is not None:
            amount = received_so_far(row)
            if amount is not None:
                confirmed[int(deal_id)] += amount
        state, before = row.state, row.pushed_amount
        if state and before is not None and RowState.parse(state).status in ("pushed", "partial"):
            pushed[int(deal_id)] += before
    return dict(confirmed), dict(pushed)


def method_labels(config: Config) -> dict[str, str]:
    """Each method's label as the CRM spells it (the first option mapped to it)."""
    labels: dict[str, str] = {}
    for text, method in config.amocrm.methods.items():
        labels.setdefault(method.value, text)
    for method in Method:
        labels.setdefault(method.value, method.value)
    return labels


def plan_push(view: LedgerView, config: Config, lookups: Lookups, today: date) -> PushPlan:
    """Events to push, the lead PATCHes they need, and the Deals totals to write."""
    plan = PushPlan()
    labels = method_labels(config)
    deals = view.tab("deals").typed(DealRow)
    for row in view.tab("payments").typed(PaymentRow).values():
        if not row.confirmed and not row.state and row.received is None:
            continue  # never ticked, nothing received: most rows (``_event_for`` says None)
        event = _event_for(row, labels, today)
        if isinstance(event, str):
            plan.problems.append(event)
            continue
        if event is not None:
            plan.events.append(event)

    totals, pushed_before = _totals(view)
    event_deals = {e.deal_id for e in plan.events}
    for deal_id_text, deal in deals.items():
        deal_id = int(deal_id_text)
        total = money(totals.get(deal_id, ZERO))
        balance = money((deal.budget or ZERO) - total)
        diff: dict[str, Any] = {}
        if deal.confirmed_total != total:
            diff["confirmed_total"] = total
        if deal.balance_due != balance:
            diff["balance_due"] = balance
        if diff:
            plan.totals.update("deals", deal_id_text, diff)
        if deal_id in event_deals:
            patch = _lead_patch(
                deal_id, deal, total, pushed_before.get(deal_id, ZERO), config, lookups
            )
            if patch:
                plan.lead_patches[deal_id] = patch
    return plan


def _event_for(row: PaymentRow, labels: Mapping[str, str], today: date) -> PushEvent | str | None:
    if not row.confirmed and not row.state and row.received is None:
        return None  # never ticked, nothing received: most rows, decided at once
    state = RowState.parse(row.state)
    confirmed = bool(row.confirmed)
    amount = effective_amount(row)
    pushed = row.pushed_amount
    partial = row.received if not confirmed else None
    kind: EventKind
    if confirmed and state.status != SyncStatus.PUSHED:
        kind, previous = EventKind.CONFIRM, None
    elif not confirmed and state.status == SyncStatus.PUSHED and (partial is None or partial <= 0):
        kind, previous = EventKind.REVERSE, pushed
    elif (
        confirmed and state.status == SyncStatus.PUSHED and amount is not None and pushed != amount
    ):
        kind, previous = EventKind.CORRECT, pushed
    elif partial is not None and partial > 0 and (state.status != "partial" or pushed != partial):
        # Money arrived, but not all of it (e.g. a cash handover that ran out mid-payment).
        # Unticked after a push with a receipt left: one partial event, not a reversal then a
        # partial in the next cycle (two notes, and a CRM total that contradicts the first).
        kind, previous, amount = (
            EventKind.PARTIAL,
            pushed if state.status in ("partial", "pushed") else None,
            partial,
        )
    elif not confirmed and state.status == SyncStatus.PARTIAL and (partial is None or partial <= 0):
        kind, previous = EventKind.REVERSE, pushed
    else:
        return None
    if kind != EventKind.REVERSE and (amount is None or amount <= 0):
        return f"{row.id}: " + RowCode.E_AMOUNT.because("ticked, but there is no amount to confirm")
    if row.deal_id is None:
        return f"{row.id}: " + RowCode.E_DEAL.because("the row has no deal id")
    method = str(row.method or "")
    return PushEvent(
        payment_id=PaymentId(str(row.id)),
        deal_id=int(row.deal_id),
        kind=kind,
        seq=state.seq + 1,
        amount=money(amount) if kind != EventKind.REVERSE and amount is not None else ZERO,
        previous=previous,
        expected=row.amount,
        method=labels.get(method, method),
        by=str(row.confirmed_by or "ledger"),
        on=row.confirmed_at or today,
        payment_kind=str(row.kind or ""),
        contract_no=str(row.contract_no or ""),
        problem=state.problem,
    )


def _lead_patch(
    deal_id: int,
    deal: DealRow,
    total: Decimal,
    total_before: Decimal,
    config: Config,
    lookups: Lookups,
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    field_id = config.amocrm.fields.confirmed_total
    if field_id is not None:
        patch["custom_fields_values"] = [
            {"field_id": field_id, "values": [{"value": format(total, "f")}]}
        ]
    target = _target_status(deal, total, total_before, config, lookups)
    if target is not None:
        patch["status_id"] = target
        patch["pipeline_id"] = int(deal.pipeline_id or 0)
    if patch:
        patch["id"] = deal_id
    return patch


def _target_status(
    deal: DealRow, total: Decimal, total_before: Decimal, config: Config, lookups: Lookups
) -> int | None:
    """The status the rules ask for, or None. Never moves a closed deal, never moves back."""
    pipeline_id, status_id = deal.pipeline_id, deal.status_id
    if pipeline_id is None or status_id is None or status_id in (WON, 143):
        return None
    rules = config.amocrm.status_rules
    budget = deal.budget or ZERO
    target = None
    if rules.on_fully_paid and budget > 0 and total >= budget:
        target = rules.on_fully_paid.status_id
    elif rules.on_first_confirmation and total_before <= 0 < total:
        target = rules.on_first_confirmation.status_id
    if target is None or target == status_id:
        return None
    if target != WON and (int(pipeline_id), target) not in lookups.statuses:
        return None  # the rule's status belongs to another pipeline: moving there would fail
    current_sort = lookups.status_sort.get((int(pipeline_id), int(status_id)))
    target_sort = lookups.status_sort.get(
        (int(pipeline_id), target), 10_000 if target == WON else None
    )
    if current_sort is not None and target_sort is not None and current_sort >= target_sort:
        return None
    return target


def note_text(event: PushEvent) -> str:
    """The note left in the deal's history (Russian: it is read in amoCRM by the managers)."""
    what = f"{event.payment_kind or 'Платёж'}"
    if event.contract_no:
        what += f" по договору № {event.contract_no}"
    who = f"{event.by}, {event.on.strftime('%d.%m.%Y')}"
    # Kopeks always: the accountant compares these with a bank statement.
    amount, expected, previous = (
        rub(value, kopeks=True) for value in (event.amount, event.expected, event.previous)
    )
    if event.kind == EventKind.CONFIRM:
        text = f"✅ Оплата подтверждена: {what} — {amount} ({event.method}). Подтвердил(а): {who}."
        if event.expected is not None and event.expected != event.amount:
            text += f" Ожидалось {expected}, получено {amount}."
    elif event.kind == EventKind.REVERSE:
        text = (
            f"↩️ Подтверждение оплаты отменено: {what} — {previous} ({event.method}). "
            f"Отметку снял(а): {who}."
        )
    elif event.kind == EventKind.PARTIAL:
        text = (
            f"💵 Оплата получена частично: {what} — {amount} из {expected} "
            f"({event.method}). Принял(а): {who}."
        )
    else:
        text = (
            f"✏️ Сумма подтверждённой оплаты изменена: {what} ({event.method}) — "
            f"было {previous}, стало {amount}. Изменил(а): {who}."
        )
    return f"{text}\n{event.marker}"
