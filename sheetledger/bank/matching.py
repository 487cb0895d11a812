"""Incoming bank money matched to unconfirmed non-cash payments, each match with its rule. Pure.

The accountant's question for every credit on the statement is "which contract is
this?". The rules below answer it the way she does, strongest first; each match
carries the rule's name and a sentence, shown in the Bank tab and in the amoCRM note,
so a wrong match can be traced to the rule that made it.

Sure (the payment is confirmed, unless ``auto_confirm`` is off):

* ``contract+amount`` — a contract reference in the purpose (every spelling of
  ``contract_ref``) and the amount equal to what is still open on that contract:
  one payment, or all of the deal's open payments together;
* ``payer+amount`` — the amount equal to one open payment, and the payer already
  paid that deal before (INN or name on an earlier matched line), or the deal's
  client (the surname in the deal's name) is the payer or is named in the purpose;
* ``acquiring`` — a credit from the acquiring bank settles terminal payments of the
  days before it minus the fee: the set of terminal payments whose sum minus the fee
  equals the credit (within the tolerance) is searched; sure when it is the only
  one, suggested otherwise. The fee becomes an expense;
* ``credit`` — a credit from a lender (INN list) naming the contract or the client,
  equal to an open credit payment minus the lender's discount; the discount becomes
  an expense.

Suggested (the accountant picks in her cabinet):

* ``contract`` — a contract reference, but the amount differs (a partial payment,
  an overpayment): the deal's open payments are the candidates;
* ``amount+date`` — the amount within the tolerance of open payments due within the
  date window: one candidate, or several listed.

Sure matches are taken first over the whole statement and use up what they confirm,
so a suggestion never offers a payment another line already paid; suggestions do
not use anything up (she decides). Payments are never matched by outgoing lines or by
transfers between own accounts — a refund to a customer is money out, not in.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sheetledger.bank import rub
from sheetledger.bank.statement import StatementLine
from sheetledger.contract_ref import contract_key, find_contract_refs

__all__ = [
    "AcquiringRules",
    "Allocation",
    "CreditRules",
    "Match",
    "MatchRules",
    "OpenPayment",
    "match_lines",
    "payer_marks",
]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
NON_CASH = frozenset({"bank", "card", "terminal", "credit"})


@dataclass(frozen=True)
class OpenPayment:
    """A non-cash payment not yet confirmed, as the matcher needs it."""

    id: str  # "<deal>:<slot>"
    deal_id: int
    contract_no: str
    method: str  # bank | card | terminal | credit
    amount: Decimal  # expected
    received: Decimal = ZERO  # already received by earlier partial receipts
    date: date | None = None
    deal_name: str = ""

    @property
    def open(self) -> Decimal:
        return self.amount - self.received


@dataclass(frozen=True)
class AcquiringRules:
    payer_inns: tuple[str, ...] = ()  # the acquiring bank(s)
    purpose_words: tuple[str, ...] = ("эквайринг", "возмещение по операциям", "терминал")
    fee_percent: Decimal = Decimal("1.8")
    tolerance: Decimal = Decimal("1.00")  # roubles, for the bank's rounding of the fee
    days_back: int = 5  # a settlement pays terminal payments of these days before it
    max_payments: int = 40  # the search looks at most at this many payments, newest first
    max_steps: int = 200_000  # and gives up (suggesting) after this many steps
    expense_category: str = "Эквайринг"


@dataclass(frozen=True)
class CreditRules:
    lender_inns: tuple[str, ...] = ()
    discount_percent: Decimal = Decimal("0")
    tolerance: Decimal = Decimal("1.00")
    expense_category: str = "Кредит: скидка банка"


@dataclass(frozen=True)
class MatchRules:
    amount_tolerance_percent: Decimal = Decimal("1")  # for the suggested amount+date rule
    date_window_days: int = 14
    acquiring: AcquiringRules = AcquiringRules()
    credit: CreditRules = CreditRules()
    max_candidates: int = 8  # candidates listed in one suggestion


@dataclass(frozen=True)
class Allocation:
    payment_id: str
    amount: Decimal  # what of the line goes to this payment (gross, before a fee)


@dataclass(frozen=True)
class Match:
    line_id: str
    rule: str
    sure: bool
    reason: str  # one sentence, for the Bank tab and the amoCRM note
    allocations: tuple[Allocation, ...] = ()  # what a sure match confirms / a suggestion offers
    candidates: tuple[str, ...] = ()  # payment ids to pick from (suggestions)
    fee: Decimal = ZERO  # acquiring fee or lender's discount: an expense
    fee_category: str = ""

    @property
    def payment_ids(self) -> tuple[str, ...]:
        return tuple(a.payment_id for a in self.allocations)


# --------------------------------------------------------------------------- names

_LEGAL_FORMS = re.compile(
    r"\b(?:ип|ооо|оао|зао|пао|ао|нко|индивидуальный предприниматель|физ\.?\s*лицо)\b\.?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[а-яёa-z]{3,}", re.IGNORECASE)


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


def surname(name: str) -> str:
    """The first word of a person's name, folded: «ИП Иванов Иван» → «иванов»."""
    words = _WORD.findall(_LEGAL_FORMS.sub(" ", name))
    return _fold(words[0]) if words else ""


def payer_marks(line: StatementLine) -> frozenset[str]:
    """What identifies a payer across payments: ``inn:…`` and ``name:…``."""
    marks = set()
    if line.counterparty_inn.strip("0"):
        marks.add(f"inn:{line.counterparty_inn}")
    if line.counterparty.strip():
        marks.add(f"name:{_fold(' '.join(line.counterparty.split()))}")
    return frozenset(marks)


def _deal_surnames(deal_name: str) -> set[str]:
    """Surnames in a deal's name («Кухня — Смирнова Е.»): capitalised words after a dash,
    or every capitalised word when there is no dash."""
    tail = re.split(r"\s[—–-]\s", deal_name, maxsplit=1)[-1]
    return {_fold(w) for w in re.findall(r"\b[А-ЯЁA-Z][а-яёa-z]{2,}", tail)}


def _words(text: str) -> set[str]:
    return {_fold(w) for w in _WORD.findall(text)}


# --------------------------------------------------------------------------- matching


@dataclass
class _Book:
    """What is still open of each payment while a statement is matched, with the
    indexes that keep a line's look-ups from scanning every payment."""

    payments: dict[str, OpenPayment]
    open: dict[str, Decimal]
    by_contract: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_deal: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    # (client's surname, amount) -> payments: a common surname has many deals, and only
    # the ones with this amount open matter.
    by_name_amount: dict[tuple[str, Decimal], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    day: dict[str, int] = field(default_factory=dict)  # payment -> date ordinal (0: no date)
    terminal: list[str] = field(default_factory=list)
    credit: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, payments: Iterable[OpenPayment]) -> _Book:
        usable = [p for p in payments if p.method in NON_CASH and p.open > 0]
        usable.sort(key=lambda p: (p.date or date.min, p.deal_id, p.id))
        book = cls({p.id: p for p in usable}, {p.id: p.open for p in usable})
        keys: dict[str, str] = {}
        surnames: dict[int, set[str]] = {}
        for p in usable:
            key = keys.get(p.contract_no)
            if key is None:
                key = keys[p.contract_no] = contract_key(p.contract_no)
            if key:
                book.by_contract[key].append(p.id)
            book.by_deal[p.deal_id].append(p.id)
            book.day[p.id] = p.date.toordinal() if p.date else 0
            for name in surnames.get(p.deal_id) or surnames.setdefault(
                p.deal_id, _deal_surnames(p.deal_name)
            ):
                book.by_name_amount[name, p.open].append(p.id)
            if p.method == "terminal":
                book.terminal.append(p.id)
            elif p.method == "credit":
                book.credit.append(p.id)
        return book

    def by_open_amount(self) -> _AmountIndex:
        return _AmountIndex.of(self)

    def still_open(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if self.open[i] > 0]

    def take(self, allocations: Iterable[Allocation]) -> None:
        for allocation in allocations:
            self.open[allocation.payment_id] -= allocation.amount


def match_lines(
    lines: Sequence[StatementLine],
    payments: Iterable[OpenPayment],
    rules: MatchRules = MatchRules(),
    seen_payers: Mapping[int, frozenset[str]] | None = None,
) -> list[Match]:
    """A ``Match`` for every incoming line something fits, in the lines' order.

    ``seen_payers``: deal id → ``payer_marks`` of lines matched to that deal before.
    Lines with no match get none: the caller shows them as unassigned.
    """
    book = _Book.of(payments)
    seen: dict[str, set[int]] = defaultdict(set)
    for deal_id, marks in (seen_payers or {}).items():
        for mark in marks:
            seen[mark].add(deal_id)
    payers = {mark: frozenset(deals) for mark, deals in seen.items()}
    incoming = [line for line in lines if line.incoming and not line.own_transfer]
    found: dict[str, Match] = {}
    named: dict[str, list[str]] = {}  # line -> the contracts of ours its purpose names
    for line in sorted(incoming, key=lambda line: (line.date, line.id)):
        refs = named[line.id] = _refs(line, book)
        match = (
            _by_contract(line, book, refs)
            or _by_acquiring(line, book, rules.acquiring)
            or _by_credit(line, book, rules.credit)
            # A purpose that names one of our contracts is about that contract: a payer
            # who has another deal of this amount is no reason to book it there.
            or (None if refs else _by_payer(line, book, payers))
        )
        if match is not None:
            found[line.id] = match
            if match.sure:
                book.take(match.allocations)
    amounts = book.by_open_amount()
    for line in incoming:
        if line.id not in found:
            suggestion = _by_contract_any_amount(line, book, named[line.id], rules) or _by_amount(
                line, book, amounts, rules
            )
            if suggestion is not None:
                found[line.id] = suggestion
    return [found[line.id] for line in incoming if line.id in found]


def _refs(line: StatementLine, book: _Book) -> list[str]:
    """Contract keys in the purpose that are contracts of open payments."""
    return [ref.key for ref in find_contract_refs(line.purpose) if ref.key in book.by_contract]


def _by_contract(line: StatementLine, book: _Book, refs: list[str]) -> Match | None:
    for key in refs:
        ids = book.still_open(book.by_contract[key])
        if not ids:
            continue
        exact = [i for i in ids if book.open[i] == line.amount]
        if exact:
            chosen = [exact[0]]  # two equal payments of one deal: the earlier one is due first
        elif len(ids) > 1 and sum(book.open[i] for i in ids) == line.amount:
            chosen = ids
        else:
            continue
        return Match(
            line.id,
            "contract+amount",
            True,
            f"contract {key} in the purpose, amount {rub(line.amount)} equal to what is open",
            tuple(Allocation(i, book.open[i]) for i in chosen),
        )
    return None


def _by_contract_any_amount(
    line: StatementLine, book: _Book, refs: list[str], rules: MatchRules
) -> Match | None:
    for key in refs:
        ids = book.still_open(book.by_contract[key])
        if not ids:
            continue
        left = sum((book.open[i] for i in ids), ZERO)
        first = ids[0]
        return Match(
            line.id,
            "contract",
            False,
            f"contract {key} in the purpose, but {rub(line.amount)} is not what is open "
            f"({rub(left)}): a partial payment or an overpayment?",
            (Allocation(first, min(line.amount, book.open[first])),),
            tuple(ids[: rules.max_candidates]),
        )
    return None


def _by_payer(line: StatementLine, book: _Book, seen: Mapping[str, frozenset[int]]) -> Match | None:
    """``seen``: a payer mark -> the deals that payer paid before."""
    why: dict[str, str] = {}  # payment -> why this line is its client's money
    for mark in payer_marks(line):
        for deal_id in seen.get(mark, ()):
            for payment_id in book.by_deal.get(deal_id, ()):
                why.setdefault(payment_id, "the payer paid this deal before")
    payer = surname(line.counterparty)
    for payment_id in book.by_name_amount.get((payer, line.amount), ()):
        why.setdefault(payment_id, f"the payer is the deal's client ({payer.title()})")
    for word in _words(line.purpose):
        for payment_id in book.by_name_amount.get((word, line.amount), ()):
            why.setdefault(
                payment_id, f"the deal's client ({word.title()}) is named in the purpose"
            )
    hits = [(i, reason) for i, reason in why.items() if book.open[i] == line.amount]
    if len({book.payments[i].deal_id for i, _ in hits}) != 1:
        return None
    payment_id, reason = hits[0]
    return Match(
        line.id,
        "payer+amount",
        True,
        f"amount {rub(line.amount)} equal, {reason}",
        (Allocation(payment_id, line.amount),),
    )


@dataclass(frozen=True)
class _AmountIndex:
    """Open non-terminal payments by amount, each amount's payments sorted by date, so
    "which payments of about this amount are due near this day" costs a few bisections
    however many payments share a round amount."""

    amounts: list[Decimal]
    days: dict[Decimal, list[int]]  # date ordinals, sorted (0: no date, first)
    ids: dict[Decimal, list[str]]  # in the same order

    @classmethod
    def of(cls, book: _Book) -> _AmountIndex:
        pairs: dict[Decimal, list[tuple[int, str]]] = defaultdict(list)
        for payment_id, left in book.open.items():
            if left > 0 and book.payments[payment_id].method != "terminal":
                pairs[left].append((book.day[payment_id], payment_id))
        days, ids = {}, {}
        for amount, found in pairs.items():
            found.sort()
            days[amount] = [d for d, _ in found]
            ids[amount] = [i for _, i in found]
        return cls(sorted(pairs), days, ids)

    def near(
        self, amount: Decimal, tolerance: Decimal, day: int, window: int, limit: int
    ) -> tuple[int, list[str]]:
        """How many payments fit, and up to ``limit`` of them, closest amounts first."""
        first = bisect_left(self.amounts, amount - tolerance)
        last = bisect_right(self.amounts, amount + tolerance)
        count, shown = 0, list[str]()
        for value in sorted(self.amounts[first:last], key=lambda v: abs(v - amount)):
            days, ids = self.days[value], self.ids[value]
            undated = bisect_right(days, 0)
            low, high = bisect_left(days, day - window), bisect_right(days, day + window)
            fitting = ids[:undated] + ids[max(low, undated) : high]
            count += len(fitting)
            shown.extend(fitting[: limit - len(shown)])
        return count, shown


def _by_amount(
    line: StatementLine, book: _Book, index: _AmountIndex, rules: MatchRules
) -> Match | None:
    tolerance = (line.amount * rules.amount_tolerance_percent / 100).quantize(CENT)
    window = rules.date_window_days
    count, ids = index.near(
        line.amount, tolerance, line.date.toordinal(), window, rules.max_candidates
    )
    if not count:
        return None
    if count == 1:
        reason = f"amount {rub(line.amount)} close to {ids[0]} due within {window} days"
    else:
        reason = (
            f"amount {rub(line.amount)} fits {count} payments due within {window} days: pick one"
        )
    return Match(
        line.id,
        "amount+date",
        False,
        reason,
        (Allocation(ids[0], min(line.amount, book.open[ids[0]])),) if count == 1 else (),
        tuple(ids),
    )


# --------------------------------------------------------------------------- acquiring


def _is_acquiring(line: StatementLine, rules: AcquiringRules) -> bool:
    if line.counterparty_inn and line.counterparty_inn in rules.payer_inns:
        return True
    purpose = _fold(line.purpose)
    return bool(rules.payer_inns or rules.purpose_words) and any(
        _fold(word) in purpose for word in rules.purpose_words
    )


def _by_acquiring(line: StatementLine, book: _Book, rules: AcquiringRules) -> Match | None:
    if not _is_acquiring(line, rules):
        return None
    earliest = line.date - timedelta(days=rules.days_back)
    ids = [
        i
        for i in book.still_open(book.terminal)
        if (book.payments[i].date or line.date) <= line.date
        and (book.payments[i].date or line.date) >= earliest
    ]
    ids = ids[-rules.max_payments :]  # the newest: a settlement pays the latest days
    keep = 1 - rules.fee_percent / 100
    low = _cents((line.amount - rules.tolerance) / keep)
    high = _cents((line.amount + rules.tolerance) / keep)
    amounts = [_cents(book.open[i]) for i in ids]
    solutions, complete = subsets_within(amounts, low, high, limit=2, max_steps=rules.max_steps)
    if not solutions:
        return None
    chosen = [ids[k] for k in solutions[0]]
    gross = sum((book.open[i] for i in chosen), ZERO)
    fee = gross - line.amount
    sure = len(solutions) == 1 and complete
    if sure:
        reason = (
            f"acquiring settlement of {len(chosen)} terminal payments ({rub(gross)}) "
            f"minus the fee {rub(fee)}"
        )
        candidates: tuple[str, ...] = ()
    else:
        union = sorted({ids[k] for s in solutions for k in s}, key=ids.index)
        reason = (
            f"acquiring settlement: more than one set of terminal payments minus the fee "
            f"makes {rub(line.amount)}; check the terminal's report"
            if len(solutions) > 1
            else "acquiring settlement: the search stopped early; check the terminal's report"
        )
        candidates = tuple(union)
    return Match(
        line.id,
        "acquiring",
        sure,
        reason,
        tuple(Allocation(i, book.open[i]) for i in chosen),
        candidates,
        fee,
        rules.expense_category,
    )


def _cents(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def subsets_within(
    amounts: Sequence[int], low: int, high: int, *, limit: int = 2, max_steps: int = 200_000
) -> tuple[list[tuple[int, ...]], bool]:
    """Up to ``limit`` index sets of positive ``amounts`` whose sum is in ``[low, high]``.

    A depth-first search, largest amounts first, cut when the rest cannot reach
    ``low`` or the sum passes ``high``. Returns the sets found and whether the search
    finished within ``max_steps`` (False: there may be more sets than found).
    """
    order = sorted(range(len(amounts)), key=lambda k: -amounts[k])
    values = [amounts[k] for k in order]
    rest = [0] * (len(values) + 1)
    for k in range(len(values) - 1, -1, -1):
        rest[k] = rest[k + 1] + values[k]
    found: list[tuple[int, ...]] = []
    steps = 0
    chosen: list[int] = []

    def walk(k: int, total: int) -> bool:
        nonlocal steps
        steps += 1
        if steps > max_steps:
            return False
        if low <= total <= high and chosen:
            found.append(tuple(sorted(order[c] for c in chosen)))
            if len(found) >= limit:
                return False
        if k == len(values) or total + rest[k] < low:
            return True
        for j in range(k, len(values)):
            if total + values[j] > high:
                continue
            if total + rest[j] < low:
                break
            chosen.append(j)
            going = walk(j + 1, total + values[j])
            chosen.pop()
            if not going:
                return False
        return True

    finished = walk(0, 0)
    return found, finished and steps <= max_steps


# --------------------------------------------------------------------------- credit


def _by_credit(line: StatementLine, book: _Book, rules: CreditRules) -> Match | None:
    if not line.counterparty_inn or line.counterparty_inn not in rules.lender_inns:
        return None
    keep = 1 - rules.discount_percent / 100
    refs = {ref.key for ref in find_contract_refs(line.purpose)}
    purpose = _words(line.purpose)
    hits = []
    for payment_id in book.still_open(book.credit):
        payment, left = book.payments[payment_id], book.open[payment_id]
        named = contract_key(payment.contract_no) in refs or bool(
            _deal_surnames(payment.deal_name) & purpose
        )
        if named and abs(left * keep - line.amount) <= rules.tolerance:
            hits.append(payment_id)
    if len(hits) != 1:
        return None
    (payment_id,) = hits
    left = book.open[payment_id]
    discount = left - line.amount
    return Match(
        line.id,
        "credit",
        True,
        f"credit from the lender for contract {book.payments[payment_id].contract_no or '?'}: "
        f"{rub(left)} minus the lender's discount {rub(discount)}",
        (Allocation(payment_id, left),),
        fee=discount,
        fee_category=rules.expense_category,
    )
