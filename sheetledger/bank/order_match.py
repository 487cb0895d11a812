"""Outgoing bank money matched to payment orders, each match with its rule. Pure.

The incoming side (``bank/matching.py``) asks "which contract is this money for?";
this side asks "which bill did this money pay?". An outgoing line is about an order
when its amount is the order's (the paid amount of a paid order, the order's amount of
an open one) and something in the line points at that order:

* ``bill`` — the order's bill number stands in the purpose as a number of its own
  («Оплата по счету № 1045 от 01.12»: 1045, never 10450 or 21045);
* ``contract`` — the contract reference of the order (every spelling of
  ``contract_ref``) is in the purpose;
* ``inn`` — the payee's INN was on an earlier line matched to an order of the same
  supplier (``supplier_inns``: what the Bank tab learnt);
* ``supplier`` — the payee's name is the order's supplier (legal forms and case
  aside, «ООО "Фасады"» is «Фасады»).

A paid order so matched explains the line for sure (``paid order``). An open order is
only suggested (``order to pay``): the accountant ticks Paid herself, unless the config
lets the statement pay it (``bank.auto_pay_orders``). Two orders that fit equally are
suggested together, never chosen between; an order explains one line only, and an order
a Bank row already names is not matched again. Own-account transfers and incoming lines
are never matched here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sheetledger.bank import rub
from sheetledger.bank.matching import Allocation, Match
from sheetledger.bank.statement import StatementLine
from sheetledger.contract_ref import contract_key, find_contract_refs

__all__ = [
    "PAID_ORDER",
    "TO_PAY",
    "OrderToMatch",
    "match_outgoing",
    "supplier_key",
]

PAID_ORDER = "paid order"  # the rule of a sure match to a paid order
TO_PAY = "order to pay"  # the rule of a match to an open order
_STRENGTH = {"bill": 3, "contract": 3, "inn": 2, "supplier": 1}
_LEGAL = re.compile(
    r"\b(?:ип|ооо|оао|зао|пао|нао|ао|тоо|нко|гуп|муп|индивидуальный предприниматель)\b\.?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[0-9a-zа-яё]+", re.IGNORECASE)


@dataclass(frozen=True)
class OrderToMatch:
    """A payment order as the matcher needs it (built from an Invoices row)."""

    id: str
    amount: Decimal  # to match: the paid amount of a paid order, else the order's amount
    supplier: str = ""
    bill_no: str = ""
    contract_no: str = ""
    paid: bool = False
    day: date | None = None  # paid on (a paid order) or due (an open one)


def supplier_key(name: str) -> str:
    """A supplier's name without legal form, quotes, case or spacing: «ООО "Фасады"» → «фасады»."""
    words = _WORD.findall(_LEGAL.sub(" ", name.casefold().replace("ё", "е")))
    return " ".join(words)


def _bill_in(bill_no: str, purpose: str) -> bool:
    bill = bill_no.strip().lstrip("№").strip()
    if not bill:
        return False
    alone = rf"(?<![0-9A-Za-zА-Яа-яЁё]){re.escape(bill)}(?![0-9A-Za-zА-Яа-яЁё])"
    return re.search(alone, purpose, re.IGNORECASE) is not None


def _evidence(
    line: StatementLine,
    order: OrderToMatch,
    refs: set[str],
    payee: str,
    supplier_inns: Mapping[str, frozenset[str]],
) -> list[str]:
    """What in the line points at ``order`` (kinds of ``_STRENGTH``), strongest first."""
    found = []
    if _bill_in(order.bill_no, line.purpose):
        found.append("bill")
    if order.contract_no and contract_key(order.contract_no) in refs:
        found.append("contract")
    key = supplier_key(order.supplier)
    if key and line.counterparty_inn and line.counterparty_inn in supplier_inns.get(key, ()):
        found.append("inn")
    if key and payee and _words_in(key, payee):
        found.append("supplier")
    return found


def _words_in(key: str, payee: str) -> bool:
    """Every word of the supplier's name is a word of the payee's (a longer official name)."""
    words = payee.split()
    return all(w in words for w in key.split())


_SAY = {
    "bill": "bill {bill} in the purpose",
    "contract": "contract {contract} in the purpose",
    "inn": "the payee's INN paid this supplier before",
    "supplier": "the payee is the supplier",
}


def _reason(order: OrderToMatch, kinds: Sequence[str], amount: Decimal) -> str:
    said = ", ".join(_SAY[k].format(bill=order.bill_no, contract=order.contract_no) for k in kinds)
    what = "paid amount" if order.paid else "amount"
    return f"{said}, {rub(amount)} equal to the {what} of order {order.id}"


def match_outgoing(
    lines: Sequence[StatementLine],
    orders: Iterable[OrderToMatch],
    supplier_inns: Mapping[str, frozenset[str]] | None = None,
    *,
    taken: Iterable[str] = (),
) -> list[Match]:
    """A ``Match`` for every outgoing line an order explains, in the lines' order.

    ``supplier_inns``: supplier key → INNs of lines matched to its orders before;
    ``taken``: orders a Bank row already names (never matched again). A ``Match``'s
    allocation is the order and the line's amount; ``sure`` only for a paid order.
    """
    inns = supplier_inns or {}
    by_amount: dict[Decimal, list[OrderToMatch]] = defaultdict(list)
    used = set(taken)
    for order in orders:
        if order.id not in used:
            by_amount[order.amount].append(order)
    found: list[Match] = []
    outgoing = [line for line in lines if not line.incoming and not line.own_transfer]
    for line in sorted(outgoing, key=lambda line: (line.date, line.id)):
        refs = {ref.key for ref in find_contract_refs(line.purpose)}
        payee = supplier_key(line.counterparty)
        scored = []
        for order in by_amount.get(line.amount, ()):
            if order.id in used:
                continue
            kinds = _evidence(line, order, refs, payee, inns)
            if kinds:
                scored.append((max(_STRENGTH[k] for k in kinds), order, kinds))
        if not scored:
            continue
        best = max(score for score, _, _ in scored)
        top = [(order, kinds) for score, order, kinds in scored if score == best]
        # The paid order before an open one: the money already went out for it.
        paid = [(order, kinds) for order, kinds in top if order.paid]
        pool = paid or top
        pool.sort(key=lambda pair: abs(((pair[0].day or line.date) - line.date).days))
        order, kinds = pool[0]
        if len(pool) == 1:
            used.add(order.id)
            found.append(
                Match(
                    line.id,
                    PAID_ORDER if order.paid else TO_PAY,
                    order.paid,
                    _reason(order, kinds, line.amount),
                    (Allocation(order.id, line.amount),),
                    () if order.paid else (order.id,),
                )
            )
        else:
            found.append(
                Match(
                    line.id,
                    PAID_ORDER if paid else TO_PAY,
                    False,
                    f"{rub(line.amount)} fits {len(pool)} orders equally: pick one",
                    (),
                    tuple(o.id for o, _ in pool),
                )
            )
    return found
