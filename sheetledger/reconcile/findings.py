"""What reconciliation finds: the ledger against amoCRM and against itself. Pure.

Inputs are snapshots (the ledger's tabs, every lead of the synced pipelines, the
latest marker note of each payment, today); the output is a list of ``Finding``s,
each with a stable ID ``<code>:<subject>`` so a finding seen again tomorrow is the
same finding, and a person's "Seen" stays on it until its detail changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.bank.plan import explained_by_order
from sheetledger.config import Config, Method
from sheetledger.crm.parse import confirmed_total, parse_deal, parse_payments
from sheetledger.model import WON, ZERO, Deal, money
from sheetledger.money import rub as money_rub
from sheetledger.orders.rows import orders_of
from sheetledger.rebuild.notes import NoteRecord
from sheetledger.sync.cash import plan_cash
from sheetledger.sync.ledger_view import LedgerView
from sheetledger.sync.pull import Lookups
from sheetledger.sync.push import deal_totals, plan_push, received_so_far
from sheetledger.sync.state import RowState

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Code:
    severity: str
    title: str
    todo: str


# Every finding code, with what a person does about it (the README lists the same).
CODES: dict[str, Code] = {
    "PAYMENT_NOT_IN_LEDGER": Code(
        ERROR,
        "a payment filled in amoCRM is missing from the ledger",
        "run `sheetledger sync --full`; if the row was deleted by hand, `sheetledger rebuild` "
        "brings it back with its confirmation",
    ),
    "TICK_NOT_PUSHED": Code(
        ERROR,
        "a confirmation ticked in the ledger has not reached amoCRM",
        "fix the reason shown (amount, deal id, amoCRM access); the next sync pushes it — "
        "`sheetledger status` shows the last push error",
    ),
    "AMOUNT_CHANGED": Code(
        ERROR,
        "the amount was changed in amoCRM after the payment was confirmed",
        "ask the manager why; if the new amount is right, type it in Received amount (the sync "
        "records the correction), otherwise put the old amount back in amoCRM",
    ),
    "TOTAL_DIFFERS": Code(
        ERROR,
        "the deal's confirmed total in amoCRM differs from the ledger's",
        "someone edited the field in amoCRM by hand: the ledger's total is the one confirmed; "
        "tick or untick a payment of the deal (or run `sheetledger rebuild`) to write it again",
    ),
    "MARKER_WITHOUT_CONFIRMATION": Code(
        ERROR,
        "amoCRM recorded a confirmation the ledger no longer has",
        "a row was deleted, a tick removed or a cell cleared outside the daemon: "
        "`sheetledger rebuild` restores it; if the money never came, tick it back and then "
        "untick it so a reversal is recorded",
    ),
    "CONFIRMATION_WITHOUT_MARKER": Code(
        ERROR,
        "a confirmation the ledger says was pushed has no note in amoCRM",
        "the note was deleted in amoCRM: check the deal; untick and tick the payment again to "
        "record the confirmation anew",
    ),
    "DUPLICATE_ID": Code(
        ERROR,
        "the same payment ID stands on two ledger rows",
        "delete the pasted copy of the row and keep the one with the right confirmation; "
        "nothing of that payment is synced until one row is left",
    ),
    "CASH_HELD": Code(
        WARNING,
        "a manager holds cash too long or too much",
        "ask the manager to hand the cash to the cashier; the cashier accepts it in the "
        "cashbox (Cash handover) or in Telegram",
    ),
    "UNCONFIRMED": Code(
        WARNING,
        "a non-cash payment is still unconfirmed long after its date",
        "look for the money in the bank or terminal statement; tick Confirmed if it came, "
        "otherwise call the client or move the date in amoCRM",
    ),
    "WON_NOT_PAID": Code(
        WARNING,
        "a won deal is not fully paid",
        "collect the balance, or correct the budget or the payments in amoCRM",
    ),
    "OVERPAID": Code(
        ERROR,
        "a deal's confirmed payments exceed its budget",
        "look for a payment confirmed twice or a wrong received amount; or raise the budget "
        "in amoCRM if the client bought more",
    ),
    "DEAL_GONE": Code(
        ERROR,
        "ledger rows belong to a deal that no longer exists in amoCRM",
        "restore the deal from amoCRM's recycle bin; if it was a mistake, delete its rows",
    ),
    "BANK_UNASSIGNED": Code(
        WARNING,
        "money came into the bank and is assigned to no contract",
        "find whose money it is and put the payment IDs in «Assign to» in the accountant's "
        "Bank tab (or tick the right payment); a refund or a loan goes to an expense",
    ),
    "BANK_OUT_UNEXPLAINED": Code(
        WARNING,
        "money left the bank and no paid order or expense explains it",
        "find the bill: mark the payment order paid, or record the expense (the bot, or a "
        "row in Expenses)",
    ),
    "ORDER_OVERDUE": Code(
        WARNING,
        "a payment order is unpaid after its due day",
        "pay the bill and tick Paid on the order (Invoices, or the accountant's Orders tab), "
        "or tick Reject with the reason; move Due if the supplier agreed to wait",
    ),
    "EXPENSE_UNCATEGORISED": Code(
        INFO,
        "an expense is still in the default category",
        "choose its category in the Expenses tab (or with the bot's category buttons)",
    ),
}

_MONEY_IN = ("confirm", "partial", "correct")


@dataclass(frozen=True)
class Finding:
    code: str
    subject: str
    detail: str
    link: str = ""

    @property
    def id(self) -> str:
        return f"{self.code}:{self.subject}"

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    @property
    def todo(self) -> str:
        return CODES[self.code].todo


@dataclass(frozen=True)
class Snapshot:
    """What reconciliation compares, read once."""

    view: LedgerView
    leads: Sequence[Mapping[str, Any]]  # the synced pipelines' leads, and any ledger deal found
    records: Mapping[str, NoteRecord]  # per payment, its latest event in amoCRM's notes
    today: date
    unpushed_runs: Mapping[str, int] = field(default_factory=dict)  # payment -> runs seen so far


@dataclass
class Found:
    findings: list[Finding]
    unpushed_runs: dict[str, int]  # to remember for the next run


def rub(amount: Decimal | None) -> str:
    """``12 500,00 ₽``: the one money formatter, kopeks always shown (amounts compared)."""
    return money_rub(amount, kopeks=True)


def find_discrepancies(snapshot: Snapshot, config: Config) -> Found:
    """Every inconsistency of the snapshot, in a stable order (code, subject)."""
    view, today = snapshot.view, snapshot.today
    tz = ZoneInfo(config.timezone)
    link = _linker(config.amocrm.base_url)
    deals = {int(lead["id"]): parse_deal(lead, config.amocrm, tz) for lead in snapshot.leads}
    payments_tab = view.tab("payments")
    findings: list[Finding] = []
    findings += _missing_payments(snapshot.leads, view, config, tz, link)
    unpushed = _unpushed(view, config, today, snapshot.unpushed_runs)
    findings += [
        Finding("TICK_NOT_PUSHED", pid, reason, link(payments_tab.rows[pid].get("deal_id")))
        for pid, (runs, reason) in unpushed.items()
        if runs >= config.reconcile.unpushed_after_runs
    ]
    findings += _amounts_changed(snapshot.leads, view, config, tz, link)
    pending_deals = {
        int(row["deal_id"])
        for pid, row in payments_tab.rows.items()
        if pid in unpushed and row.get("deal_id") is not None
    }
    markers = _markers(view, snapshot.records, link)
    # A lost confirmation or note explains the deal's totals disagreeing: one cause, one finding.
    explained = pending_deals | {int(f.subject.split(":", 1)[0]) for f in markers}
    findings += _totals_differ(snapshot.leads, view, config, explained, link)
    findings += markers
    findings += [
        Finding(
            "DUPLICATE_ID",
            pid,
            f"payment {pid} stands on {1 + len(copies)} rows of the Payments tab",
        )
        for pid, copies in payments_tab.copies.items()
        if copies
    ]
    findings += _cash(view, config, today)
    findings += _unconfirmed(view, config, today, link)
    findings += _deal_balances(view, deals, link)
    findings += _gone(view, deals)
    if "expenses" in view.tabs:
        findings += _uncategorised(view, config, today)
    if "bank" in view.tabs:
        findings += _bank(view, config, today)
    if "invoices" in view.tabs:
        findings += _orders_overdue(view, today, link)
    findings.sort(key=lambda f: (f.code, f.subject))
    runs = {pid: runs for pid, (runs, _) in unpushed.items()}
    return Found(findings, runs)


# --------------------------------------------------------------------------- the checks


def _linker(base_url: str) -> Any:
    def link(deal_id: Any) -> str:
        return f"{base_url}/leads/detail/{deal_id}" if deal_id is not None else ""

    return link


def _missing_payments(
    leads: Iterable[Mapping[str, Any]], view: LedgerView, config: Config, tz: ZoneInfo, link: Any
) -> list[Finding]:
    pipelines = set(config.amocrm.pipelines)
    rows = view.tab("payments").rows
    found = []
    for lead in leads:
        if lead.get("pipeline_id") not in pipelines:
            continue
        for payment in parse_payments(lead, config.amocrm, tz):
            if payment.id not in rows:
                found.append(
                    Finding(
                        "PAYMENT_NOT_IN_LEDGER",
                        payment.id,
                        f"{payment.kind} {rub(payment.amount)} "
                        f"({payment.method.value if payment.method else 'no method'}) "
                        f"of deal {payment.deal_id} has no row in Payments",
                        link(payment.deal_id),
                    )
                )
    return found


def _unpushed(
    view: LedgerView, config: Config, today: date, before: Mapping[str, int]
) -> dict[str, tuple[int, str]]:
    """Per payment whose tick amoCRM has not got yet: (runs seen in a row, the reason)."""
    plan = plan_push(view, config, Lookups(), today)
    waiting: dict[str, str] = {}
    for event in plan.events:
        reason = f"{event.kind} of {rub(event.amount)} waits to be pushed"
        if event.problem:
            reason += f" — Sync state: {event.problem}"
        waiting[event.payment_id] = reason
    for problem in plan.problems:
        pid, _, reason = problem.partition(": ")
        waiting[pid] = f"cannot be pushed: {reason}"
    return {pid: (int(before.get(pid, 0)) + 1, reason) for pid, reason in waiting.items()}


def _amounts_changed(
    leads: Iterable[Mapping[str, Any]], view: LedgerView, config: Config, tz: ZoneInfo, link: Any
) -> list[Finding]:
    rows = view.tab("payments").rows
    found = []
    for lead in leads:
        for payment in parse_payments(lead, config.amocrm, tz):
            row = rows.get(payment.id)
            if row is None or payment.amount is None or row.get("amount") is None:
                continue
            state = RowState.parse(row.get("state"))
            confirmed = bool(row.get("confirmed")) or state.status in ("pushed", "partial")
            if confirmed and payment.amount != row["amount"]:
                found.append(
                    Finding(
                        "AMOUNT_CHANGED",
                        payment.id,
                        f"confirmed at {rub(row['amount'])}; amoCRM now says {rub(payment.amount)}",
                        link(payment.deal_id),
                    )
                )
    return found


def _totals_differ(
    leads: Iterable[Mapping[str, Any]],
    view: LedgerView,
    config: Config,
    pending: set[int],
    link: Any,
) -> list[Finding]:
    field_id = config.amocrm.fields.confirmed_total
    if field_id is None:
        return []
    totals = deal_totals(view)
    deals = view.tab("deals").rows
    found = []
    for lead in leads:
        deal_id = int(lead["id"])
        if str(deal_id) not in deals or deal_id in pending:
            continue  # a tick on its way: TICK_NOT_PUSHED says so
        ledger = money(totals.get(deal_id, ZERO))
        crm = confirmed_total(lead, field_id)
        if (crm or ZERO) != ledger:
            found.append(
                Finding(
                    "TOTAL_DIFFERS",
                    str(deal_id),
                    f"amoCRM says {rub(crm)} confirmed, the ledger {rub(ledger)}",
                    link(deal_id),
                )
            )
    return found


def _markers(view: LedgerView, records: Mapping[str, NoteRecord], link: Any) -> list[Finding]:
    rows = view.tab("payments").rows
    found = []
    for pid, record in records.items():
        if record.kind not in _MONEY_IN:
            continue
        row = rows.get(pid)
        state = RowState.parse(row.get("state")) if row else RowState()
        kept = row is not None and (
            received_so_far(row) is not None or state.status in ("pushed", "partial")
        )
        if not kept or state.seq < record.seq:
            where = "has no row" if row is None else "shows no such confirmation"
            found.append(
                Finding(
                    "MARKER_WITHOUT_CONFIRMATION",
                    pid,
                    f"amoCRM's note #{record.seq} records {record.kind} of {rub(record.amount)}"
                    f"{' by ' + record.by if record.by else ''}"
                    f"{' on ' + record.on.isoformat() if record.on else ''}; the ledger {where}",
                    link(pid.split(":", 1)[0]),
                )
            )
    for pid, row in rows.items():
        state = RowState.parse(row.get("state"))
        if state.status not in ("pushed", "partial") or not state.seq:
            continue
        latest = records.get(pid)
        if latest is None or latest.seq < state.seq:
            found.append(
                Finding(
                    "CONFIRMATION_WITHOUT_MARKER",
                    pid,
                    f"Sync state says {state.status} #{state.seq} "
                    f"({rub(row.get('pushed_amount'))}); amoCRM's notes "
                    + (f"stop at #{latest.seq}" if latest else "have no marker of it"),
                    link(row.get("deal_id")),
                )
            )
    return found


def _cash(view: LedgerView, config: Config, today: date) -> list[Finding]:
    rules = config.reconcile
    found = []
    for entry in plan_cash(view, today):
        oldest = entry["oldest"]
        days = (today - oldest).days if oldest is not None else None
        too_long = days is not None and days > rules.cash_days
        too_much = entry["amount"] > rules.cash_limit
        if too_long or too_much:
            found.append(
                Finding(
                    "CASH_HELD",
                    str(entry["manager"]),
                    f"{rub(entry['amount'])} in {entry['count']} payments"
                    + (f", the oldest {days} days ago ({oldest.isoformat()})" if oldest else "")
                    + f": {entry['payment_ids']}",
                )
            )
    return found


def _unconfirmed(view: LedgerView, config: Config, today: date, link: Any) -> list[Finding]:
    days = config.reconcile.unconfirmed_days
    found = []
    for pid, row in view.tab("payments").rows.items():
        method, day = row.get("method"), row.get("date")
        if not method or method == Method.CASH.value or day is None or row.get("confirmed"):
            continue
        if RowState.parse(row.get("state")).status in ("cancelled", "partial"):
            continue
        late = (today - day).days
        if late > days:
            found.append(
                Finding(
                    "UNCONFIRMED",
                    pid,
                    f"{row.get('kind') or 'payment'} {rub(row.get('amount'))} by {method}, "
                    f"due {day.isoformat()}, unconfirmed for {late} days",
                    link(row.get("deal_id")),
                )
            )
    return found


def _deal_balances(view: LedgerView, deals: Mapping[int, Deal], link: Any) -> list[Finding]:
    totals = deal_totals(view)
    found = []
    for key, row in view.tab("deals").rows.items():
        deal_id = int(key)
        deal = deals.get(deal_id)
        budget = deal.budget if deal is not None else (row.get("budget") or ZERO)
        total = money(totals.get(deal_id, ZERO))
        if budget > 0 and total > budget:
            found.append(
                Finding(
                    "OVERPAID",
                    key,
                    f"confirmed {rub(total)}, budget {rub(budget)}: {rub(total - budget)} over",
                    link(deal_id),
                )
            )
        elif deal is not None and deal.status_id == WON and total < budget:
            found.append(
                Finding(
                    "WON_NOT_PAID",
                    key,
                    f"won, budget {rub(budget)}, confirmed {rub(total)}: {rub(budget - total)} due",
                    link(deal_id),
                )
            )
    return found


def _gone(view: LedgerView, deals: Mapping[int, Deal]) -> list[Finding]:
    rows_of: dict[int, list[str]] = {}
    for key in view.tab("deals").rows:
        rows_of.setdefault(int(key), []).append(f"Deals {key}")
    for pid, row in view.tab("payments").rows.items():
        if row.get("deal_id") is not None:
            rows_of.setdefault(int(row["deal_id"]), []).append(f"Payments {pid}")
    return [
        Finding("DEAL_GONE", str(deal_id), "rows: " + ", ".join(rows))
        for deal_id, rows in sorted(rows_of.items())
        if deal_id not in deals
    ]


def _uncategorised(view: LedgerView, config: Config, today: date) -> list[Finding]:
    default = config.expenses.default_category
    days = config.reconcile.uncategorised_days
    found = []
    for eid, row in view.tab("expenses").rows.items():
        day = row.get("date")
        if row.get("void") or row.get("category") != default or day is None:
            continue
        age = (today - day).days
        if age > days:
            found.append(
                Finding(
                    "EXPENSE_UNCATEGORISED",
                    eid,
                    f"{rub(row.get('amount'))} on {day.isoformat()} "
                    f"«{row.get('comment') or ''}» in '{default}' for {age} days",
                )
            )
    return found


def _bank(view: LedgerView, config: Config, today: date) -> list[Finding]:
    """Bank lines nothing took after ``bank_days``: money in unassigned, money out unexplained
    (by no expense and no paid order: a suggested order counts once it is paid)."""
    days = config.reconcile.bank_days
    paid = (
        {o.id for o in orders_of(view.tab("invoices"), today) if o.payment is not None}
        if "invoices" in view.tabs
        else set()
    )
    found = []
    for line_id, row in view.tab("bank").rows.items():
        day, state, direction = row.get("date"), str(row.get("state") or ""), row.get("direction")
        if day is None or (today - day).days <= days:
            continue
        if direction == "in" and state in ("unassigned", "suggested"):
            code = "BANK_UNASSIGNED"
        elif direction == "out" and (
            state == "outgoing"
            # an order suggested for it and not paid yet: still unexplained
            or (state == "suggested" and explained_by_order(row, paid) is None)
        ):
            code = "BANK_OUT_UNEXPLAINED"
        else:
            continue
        found.append(
            Finding(
                code,
                line_id,
                f"{rub(row.get('amount'))} on {day.isoformat()} "
                f"{'from' if direction == 'in' else 'to'} {row.get('counterparty') or '—'}: "
                f"«{row.get('purpose') or ''}» ({state}, {(today - day).days} days)",
            )
        )
    return found


def _orders_overdue(view: LedgerView, today: date, link: Any) -> list[Finding]:
    """Payment orders unpaid after their due day (the Invoices tab's ``E_OVERDUE``)."""
    found = []
    for order in orders_of(view.tab("invoices"), today):
        due = order.draft.due
        if not order.overdue(today) or due is None:
            continue
        draft = order.draft
        found.append(
            Finding(
                "ORDER_OVERDUE",
                order.id,
                f"{rub(order.amount)} to {draft.supplier or '—'} «{draft.purpose}», "
                f"due {due.isoformat()}, unpaid for {(today - due).days} days"
                + (f"; requested by {draft.requested_by}" if draft.requested_by else "")
                + (f"; bill {draft.bill_link}" if draft.bill_link else ""),
                link(draft.deal_id) if draft.deal_id is not None else "",
            )
        )
    return found
