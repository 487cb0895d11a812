"""A statement's lines turned into ledger changes: Bank rows, ticks, expenses. Pure.

``plan_import`` takes the ledger as read (Bank, Payments, Deals, Expenses) and the
lines of one or more statements, and returns what to write:

* a Bank row for every line the tab does not hold yet — the ID is the bank's natural
  key, so a line seen before (the same file again, or an overlapping statement) is
  left alone and matched no second time: importing twice writes nothing;
* for every sure match (when ``auto_confirm``), the payment's tick, its received
  amount (what arrived, added to a partial receipt typed before), "confirmed by" the
  statement and the rule, the bank reference. The normal sync pushes it to amoCRM,
  and the rule's name is in the note it writes;
* an expense for the acquiring fee or the lender's discount of a match, and for
  outgoing money a configured rule explains; outgoing money that an expense typed to
  the bot already records is linked to it and never doubled;
* outgoing money that paid a payment order (``bank/order_match``) is linked to the
  order; an open order such a line fits is suggested (or, with ``auto_pay_orders``,
  ticked Paid from the statement), and a suggested line whose order has been paid
  since is linked to it (``settle_orders``).

Transfers between own accounts are marked and are neither revenue nor expense.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sheetledger.bank import rub
from sheetledger.bank.matching import (
    NON_CASH,
    ZERO,
    AcquiringRules,
    CreditRules,
    Match,
    MatchRules,
    OpenPayment,
    match_lines,
    payer_marks,
)
from sheetledger.bank.order_match import (
    PAID_ORDER,
    TO_PAY,
    OrderToMatch,
    match_outgoing,
    supplier_key,
)
from sheetledger.bank.statement import StatementLine
from sheetledger.config import BankConfig, BankExpenseRule
from sheetledger.orders.model import Order, OrderState
from sheetledger.orders.rows import orders_of
from sheetledger.sync.ledger_view import LedgerChanges, LedgerView, RowAppend

__all__ = [
    "ImportPlan",
    "LineOutcome",
    "explained_by_order",
    "plan_cabinet",
    "plan_import",
    "rules_from_config",
    "settle_orders",
]

# Rule names as the amoCRM note says them (the managers read Russian).
RULE_WORDS = {
    "contract+amount": "номер договора и сумма",
    "payer+amount": "плательщик и сумма",
    "acquiring": "эквайринг",
    "credit": "кредит банка",
    "contract": "номер договора",
    "amount+date": "сумма и дата",
    PAID_ORDER: "оплаченное поручение",
    TO_PAY: "поручение к оплате",
}

SOURCE = "bank"


@dataclass(frozen=True)
class LineOutcome:
    """What became of one new line (for the command's report and the Bank row)."""

    line: StatementLine
    # confirmed | suggested | unassigned | own transfer | expense | order | outgoing
    state: str
    rule: str = ""
    reason: str = ""
    matched_to: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()


@dataclass
class ImportPlan:
    changes: LedgerChanges = field(default_factory=LedgerChanges)
    outcomes: list[LineOutcome] = field(default_factory=list)
    known: int = 0  # lines the Bank tab already holds (nothing done with them)
    confirmed: list[str] = field(default_factory=list)  # payment ids ticked
    partial: list[str] = field(default_factory=list)  # payment ids with a partial receipt
    expenses: list[str] = field(default_factory=list)  # expense ids added
    orders_paid: list[str] = field(default_factory=list)  # orders ticked Paid (auto_pay_orders)

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)


def rules_from_config(bank: BankConfig | None) -> MatchRules:
    if bank is None:
        return MatchRules()
    return MatchRules(
        amount_tolerance_percent=bank.amount_tolerance_percent,
        date_window_days=bank.date_window_days,
        acquiring=AcquiringRules(
            payer_inns=bank.acquiring.payer_inns,
            purpose_words=bank.acquiring.purpose_words,
            fee_percent=bank.acquiring.fee_percent,
            tolerance=bank.acquiring.tolerance,
            days_back=bank.acquiring.days_back,
            expense_category=bank.acquiring.category,
        ),
        credit=CreditRules(
            lender_inns=bank.credit.lender_inns,
            discount_percent=bank.credit.discount_percent,
            tolerance=bank.credit.tolerance,
            expense_category=bank.credit.category,
        ),
    )


def new_lines(view: LedgerView, lines: Iterable[StatementLine]) -> tuple[list[StatementLine], int]:
    """The lines the Bank tab does not hold yet (each once), and how many it holds."""
    held = view.tab("bank").rows
    fresh: dict[str, StatementLine] = {}
    known = 0
    for line in lines:
        if line.id in held:
            known += 1
        else:
            fresh.setdefault(line.id, line)
    return list(fresh.values()), known


def open_payments(view: LedgerView) -> list[OpenPayment]:
    deals = view.tab("deals").rows
    found = []
    for row in view.tab("payments"):
        method, amount, deal_id = row.get("method"), row.get("amount"), row.get("deal_id")
        if row.get("confirmed") or method not in NON_CASH or amount is None or deal_id is None:
            continue
        received = row.get("received")
        deal = deals.get(str(deal_id)) or {}
        found.append(
            OpenPayment(
                id=str(row["id"]),
                deal_id=int(deal_id),
                contract_no=str(row.get("contract_no") or deal.get("contract_no") or ""),
                method=str(method),
                amount=amount,
                received=received if received is not None and received > 0 else ZERO,
                date=row.get("date"),
                deal_name=str(deal.get("name") or ""),
            )
        )
    return found


def assigned_lines(view: LedgerView) -> dict[str, list[str]]:
    """Bank line ID -> the payments whose «Bank ref» names it (assigned in the cabinet)."""
    found: dict[str, list[str]] = defaultdict(list)
    for row in view.tab("payments"):
        for ref in str(row.get("bank_ref") or "").split(";"):
            if ref.strip():
                found[ref.strip()].append(str(row["id"]))
    return found


def settle_assigned(view: LedgerView) -> LedgerChanges:
    """The master's Bank rows of lines the accountant assigned in her cabinet since.

    The sync confirms her assignments from the cabinet (``bank/assign``) and links each
    payment to its line by «Bank ref»; the Bank row learns it here, where the Bank tab
    is read with its header checked.
    """
    changes = LedgerChanges()
    links = assigned_lines(view)
    for line_id, row in view.tab("bank").rows.items():
        if row.get("state") in ("suggested", "unassigned") and line_id in links:
            changes.update(
                "bank",
                line_id,
                {
                    "state": "confirmed",
                    "rule": "assigned",
                    "matched_to": ", ".join(links[line_id]),
                    "reason": "assigned in the accountant's cabinet",
                },
            )
    return changes


def seen_payers(view: LedgerView) -> dict[int, frozenset[str]]:
    """Who paid each deal before, from the Bank rows matched to its payments."""
    deal_of = {
        str(row["id"]): int(row["deal_id"])
        for row in view.tab("payments")
        if row.get("deal_id") is not None
    }
    marks: dict[int, set[str]] = defaultdict(set)
    links = assigned_lines(view)
    for row in view.tab("bank"):
        matched = str(row.get("matched_to") or "").replace(" ", "").split(",")
        matched += links.get(str(row.get("id")), [])
        if row.get("direction") != "in":
            continue
        line = _payer_only(row)
        for payment_id in matched:
            if payment_id in deal_of:
                marks[deal_of[payment_id]] |= payer_marks(line)
    return {deal: frozenset(found) for deal, found in marks.items()}


def _payer_only(row: Mapping[str, Any]) -> StatementLine:
    return StatementLine(
        account="",
        date=date.min,
        direction="in",
        amount=ZERO,
        number="",
        kind="",
        counterparty=str(row.get("counterparty") or ""),
        counterparty_inn=str(row.get("inn") or ""),
        counterparty_account="",
        counterparty_bank="",
        purpose="",
    )


def confirmed_by(line: StatementLine, rule: str) -> str:
    """The «Confirmed by» cell, which the amoCRM note quotes."""
    return (
        f"выписка {line.date.strftime('%d.%m.%Y')} № {line.number or '—'}, "
        f"правило «{RULE_WORDS.get(rule, rule)}»"
    )


def _orders(view: LedgerView, today: date) -> list[Order]:
    return orders_of(view.tab("invoices"), today) if "invoices" in view.tabs else []


def _order_ids(text: object) -> list[str]:
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


def orders_to_match(orders: Iterable[Order]) -> list[OrderToMatch]:
    """Paid orders (at their paid amount) and open ones; rejected orders pay nothing."""
    found = []
    for order in orders:
        if order.state is OrderState.REJECTED:
            continue
        payment, draft = order.payment, order.draft
        found.append(
            OrderToMatch(
                id=order.id,
                amount=payment.amount if payment is not None else order.amount,
                supplier=draft.supplier,
                bill_no=draft.bill_no,
                contract_no=draft.contract_no,
                paid=payment is not None,
                day=payment.on if payment is not None else draft.due,
            )
        )
    return found


def linked_orders(view: LedgerView) -> set[str]:
    """Orders an outgoing Bank row already names as what it paid."""
    return {
        oid
        for row in view.tab("bank")
        if row.get("direction") == "out" and row.get("state") == "order"
        for oid in _order_ids(row.get("matched_to"))
    }


def supplier_inns(view: LedgerView, orders: Iterable[Order]) -> dict[str, frozenset[str]]:
    """Supplier key -> the INNs of outgoing lines linked to that supplier's orders."""
    supplier = {str(o.id): supplier_key(o.draft.supplier) for o in orders}
    found: dict[str, set[str]] = defaultdict(set)
    for row in view.tab("bank"):
        inn = str(row.get("inn") or "")
        if row.get("direction") != "out" or row.get("state") != "order" or not inn.strip("0"):
            continue
        for oid in _order_ids(row.get("matched_to")):
            if supplier.get(oid):
                found[supplier[oid]].add(inn)
    return {key: frozenset(inns) for key, inns in found.items()}


def explained_by_order(row: Mapping[str, Any], paid: Set[str]) -> str | None:
    """The paid order a suggested outgoing Bank row offered, when it is paid now."""
    if row.get("direction") != "out" or row.get("state") != "suggested":
        return None
    candidates = _order_ids(row.get("candidates"))
    return candidates[0] if len(candidates) == 1 and candidates[0] in paid else None


def settle_orders(view: LedgerView, today: date) -> LedgerChanges:
    """Suggested outgoing lines whose order the accountant has ticked Paid since: linked."""
    changes = LedgerChanges()
    if "invoices" not in view.tabs:
        return changes
    paid = {str(o.id) for o in _orders(view, today) if o.state is OrderState.PAID}
    for line_id, row in view.tab("bank").rows.items():
        oid = explained_by_order(row, paid)
        if oid is not None:
            changes.update(
                "bank",
                line_id,
                {
                    "state": "order",
                    "rule": PAID_ORDER,
                    "matched_to": oid,
                    "reason": f"order {oid} was paid since",
                },
            )
    return changes


def plan_import(
    view: LedgerView,
    lines: Sequence[StatementLine],
    bank: BankConfig | None,
    *,
    now: datetime,
) -> ImportPlan:
    """What importing ``lines`` writes into a ledger that reads as ``view``."""
    plan = ImportPlan()
    plan.changes.extend(settle_assigned(view))
    plan.changes.extend(settle_orders(view, now.date()))
    fresh, plan.known = new_lines(view, lines)
    if not fresh:
        return plan
    rules = rules_from_config(bank)
    auto_confirm = bank.auto_confirm if bank is not None else True
    matches = {
        m.line_id: m for m in match_lines(fresh, open_payments(view), rules, seen_payers(view))
    }
    payments = view.tab("payments").rows
    receipts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    receipt_line: dict[str, tuple[StatementLine, str]] = {}
    typed = _typed_expenses(view)
    orders = _orders(view, now.date())
    for_orders = {
        m.line_id: m
        for m in match_outgoing(
            fresh,
            orders_to_match(orders),
            supplier_inns(view, orders),
            taken=linked_orders(view),
        )
    }
    auto_pay = bank.auto_pay_orders if bank is not None else False
    for line in fresh:
        match = matches.get(line.id)
        if line.own_transfer:
            outcome = LineOutcome(line, "own transfer", reason="between our own accounts")
        elif match is not None and match.sure and auto_confirm:
            outcome = LineOutcome(line, "confirmed", match.rule, match.reason, match.payment_ids)
            for allocation in match.allocations:
                receipts[allocation.payment_id] += allocation.amount
                receipt_line.setdefault(allocation.payment_id, (line, match.rule))
            _fee_expense(plan, line, match, now)
        elif match is not None:
            outcome = LineOutcome(
                line,
                "suggested",
                match.rule,
                match.reason,
                (),
                match.candidates or match.payment_ids,
            )
        elif line.incoming:
            outcome = LineOutcome(line, "unassigned", reason="no contract, payer or amount fits")
        elif line.id in for_orders:
            outcome = _order_outcome(plan, line, for_orders[line.id], auto_pay)
        else:
            outcome = _outgoing(plan, line, typed, bank, now)
        plan.outcomes.append(outcome)
        plan.changes.appends.append(_bank_row(outcome))
    for payment_id, amount in receipts.items():
        row = payments[payment_id]
        line, rule = receipt_line[payment_id]
        before = row.get("received") if not row.get("confirmed") else None
        total = (before if before is not None and before > 0 else ZERO) + amount
        values: dict[str, Any] = {
            "received": total,
            "confirmed_by": confirmed_by(line, rule),
            "confirmed_at": line.date,
            "bank_ref": line.id,
        }
        if total >= row["amount"]:
            values["confirmed"] = True
            plan.confirmed.append(payment_id)
        else:
            plan.partial.append(payment_id)
        plan.changes.update("payments", payment_id, values)
    return plan


TO_ASSIGN = ("suggested", "unassigned")


def plan_cabinet(plan: ImportPlan, cabinet_view: LedgerView) -> LedgerChanges:
    """The accountant's Bank tab: the incoming lines no rule confirmed, for her to assign.

    Only lines not already there are added (the import is idempotent here too); a
    line she has dealt with stays as she left it.
    """
    held = cabinet_view.tab("cabinet_bank").rows
    changes = LedgerChanges()
    for outcome in plan.outcomes:
        if outcome.state in TO_ASSIGN and outcome.line.incoming and outcome.line.id not in held:
            row = _bank_row(outcome, "cabinet_bank")
            values = {k: v for k, v in row.values.items() if k != "account"}
            changes.appends.append(RowAppend("cabinet_bank", row.row_id, values))
    return changes


def _bank_row(outcome: LineOutcome, tab: str = "bank") -> RowAppend:
    line = outcome.line
    return RowAppend(
        tab,
        line.id,
        {
            "id": line.id,
            "date": line.date,
            "direction": line.direction,
            "amount": line.amount,
            "counterparty": line.counterparty,
            "inn": line.counterparty_inn,
            "purpose": line.purpose,
            "account": line.account,
            "matched_to": ", ".join(outcome.matched_to) or None,
            "rule": outcome.rule or None,
            "state": outcome.state,
            "reason": outcome.reason or None,
            "candidates": ", ".join(outcome.candidates) or None,
        },
    )


def _expense(
    plan: ImportPlan,
    expense_id: str,
    line: StatementLine,
    amount: Decimal,
    category: str,
    comment: str,
    now: datetime,
) -> None:
    plan.changes.appends.append(
        RowAppend(
            "expenses",
            expense_id,
            {
                "id": expense_id,
                "date": line.date,
                "amount": amount,
                "category": category,
                "comment": comment,
                "entered_by": "statement",
                "source": SOURCE,
                "recorded_at": now,
            },
        )
    )
    plan.expenses.append(expense_id)


def _fee_expense(plan: ImportPlan, line: StatementLine, match: Match, now: datetime) -> None:
    if match.fee <= 0:
        return
    what = "комиссия эквайринга" if match.rule == "acquiring" else "скидка банка по кредиту"
    _expense(
        plan,
        f"bank:{line.id}:fee",
        line,
        match.fee,
        match.fee_category,
        f"{what}: {', '.join(match.payment_ids)} ({rub(line.amount)} зачислено)",
        now,
    )


def _typed_expenses(view: LedgerView) -> dict[Decimal, list[Mapping[str, Any]]]:
    """Expenses people recorded (the bot, by hand) not yet linked to a bank line, by amount."""
    linked = {
        str(row.get("matched_to"))
        for row in view.tab("bank")
        if row.get("direction") == "out" and row.get("matched_to")
    }
    found: dict[Decimal, list[Mapping[str, Any]]] = defaultdict(list)
    for row in view.tab("expenses"):
        if (
            row.get("source") != SOURCE
            and not row.get("void")
            and row.get("amount") is not None
            and isinstance(row.get("date"), date)
            and str(row.get("id")) not in linked
        ):
            found[row["amount"]].append(row)
    return found


def _outgoing(
    plan: ImportPlan,
    line: StatementLine,
    typed: dict[Decimal, list[Mapping[str, Any]]],
    bank: BankConfig | None,
    now: datetime,
) -> LineOutcome:
    window = bank.expense_window_days if bank is not None else 3
    rows = typed.get(line.amount, [])
    for row in sorted(rows, key=lambda r: abs((r["date"] - line.date).days)):
        if abs((row["date"] - line.date).days) <= window:
            rows.remove(row)  # one expense explains one line
            expense_id = str(row.get("id"))
            return LineOutcome(
                line,
                "expense",
                "expense",
                f"already recorded as expense {expense_id} ({row.get('category') or '—'})",
                (expense_id,),
            )
    rule = _expense_rule(line, bank.expense_rules if bank is not None else ())
    if rule is not None:
        expense_id = f"bank:{line.id}"
        _expense(plan, expense_id, line, line.amount, rule.category, line.purpose, now)
        return LineOutcome(
            line, "expense", "expense rule", f"{rule.category} by the rule", (expense_id,)
        )
    return LineOutcome(line, "outgoing", reason="outgoing, not explained")


def _order_outcome(
    plan: ImportPlan, line: StatementLine, match: Match, auto_pay: bool
) -> LineOutcome:
    """An outgoing line an order explains: linked (a paid order), paid from the statement
    (an open one, with ``auto_pay_orders``), or suggested to the accountant."""
    if match.sure:
        return LineOutcome(line, "order", match.rule, match.reason, match.payment_ids)
    if auto_pay and match.rule == TO_PAY and match.allocations:
        (oid,) = match.payment_ids
        plan.changes.update(
            "invoices",
            oid,
            {
                "paid": True,
                "paid_on": line.date,
                "paid_amount": line.amount,
                "payment_ref": f"п/п № {line.number or '—'} от {line.date:%d.%m.%Y}",
                "paid_by": "statement",
            },
        )
        plan.orders_paid.append(oid)
        return LineOutcome(
            line, "order", match.rule, match.reason + "; paid from the statement", (oid,)
        )
    return LineOutcome(
        line, "suggested", match.rule, match.reason, (), match.candidates or match.payment_ids
    )


def _expense_rule(line: StatementLine, rules: Iterable[BankExpenseRule]) -> BankExpenseRule | None:
    purpose = line.purpose.casefold().replace("ё", "е")
    for rule in rules:
        if line.counterparty_inn and line.counterparty_inn in rule.inns:
            return rule
        if any(word.casefold().replace("ё", "е") in purpose for word in rule.words):
            return rule
    return None
