"""A bill as people describe it to the bot, read into the parts of an order. Pure: no I/O.

``parse_bill`` reads the caption of a bill (or a message with no file at all), e.g.
``12 000 фурнитура ООО «Фурнитура-Опт» счёт 77 до 10.12 №1045``:

* **contract reference** and **bill number**, by the one recognizer of references
  (``contract_ref.find_contract_refs``): a reference written with an invoice word
  (``счёт 77``, ``сч. 77``, ``счет на оплату 77``) is the bill's number; any other
  (``№1045``, ``#1045``, ``дог. 1045``, ``по договору №1045 от 12.11.2026``) is the
  contract the bill is for. Several contracts are kept in order (the bot asks which).
* **due day**: a date after ``до``, ``срок``, ``оплатить до``, ``не позднее``
  (``до 10.12``, ``до 10.12.2026``, ``до 10 декабря``). Without a year it is the
  next such day from ``today`` (a due day a month or less behind is this year's: a
  bill overdue already). Other dates (``от 01.12``) stay in the purpose.
* **supplier**: a legal form and its name (``ООО «Фурнитура-Опт»``, ``ИП Иванов И.И.``,
  ``АО "Мебель"``), or a name in «quotes» alone.
* **amount**: what is left, by the expense lines' rules (``bot.parse.read_amount``):
  ``12 000``, ``12к``, ``12 000,50 руб``.
* **purpose**: the words left; the **category** is matched on it (the expenses'
  categories and keywords, ``bot.parse.match_category``), then on the supplier's name.
  No match: ``category`` is empty and the bot offers the categories as buttons.

Nothing here is an error: what is missing stays empty (``BillText.missing``) and the bot
asks for it. Text is data; it is never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sheetledger.bot.parse import AmountRead, match_category, read_amount
from sheetledger.config import Category
from sheetledger.contract_ref import ContractRef, find_contract_refs, reference_span

__all__ = ["BillText", "parse_bill"]

_MASK = "\x00"
_LEGAL = r"(?:ООО|ОАО|ЗАО|ПАО|НАО|АО|ИП|ТОО|НКО|ГУП|МУП)"
_QUOTED = r"(?:«[^»\n]{1,80}»|\"[^\"\n]{1,80}\"|“[^”\n]{1,80}”|„[^“\n]{1,80}“)"
_SUPPLIER = re.compile(
    rf"""
    (?<![\w]){_LEGAL}\s*
    (?:{_QUOTED}
      | [A-Za-zА-Яа-яЁё][\w\-]*(?:\s+[А-ЯЁA-Z]\.\s?(?:[А-ЯЁA-Z]\.)?)?
    )
    | {_QUOTED}
    """,
    re.VERBOSE,
)
_MONTHS = {
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "мая": 5, "май": 5, "июн": 6,
    "июл": 7, "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
}  # fmt: skip
_DATE = (
    r"(?P<day>[0-9]{1,2})(?:\.(?P<month>[0-9]{1,2})(?:\.(?P<year>[0-9]{4}|[0-9]{2}))?"
    r"|\s?(?P<named>января|февраля|марта|апреля|мая|май|июня|июля|августа|сентября"
    r"|октября|ноября|декабря|янв|фев|мар|апр|июн|июл|авг|сент|сен|окт|нояб|ноя|дек)\.?"
    r"(?:\s(?P<named_year>[0-9]{4}))?)"
    r"(?:\s?(?:года|год|г)\.?)?(?![\w]|[.,][0-9])"
)
_DUE = re.compile(
    rf"(?<![\w])(?:оплатить\s+до|оплата\s+до|не\s+позднее|срок(?:\s+оплаты)?:?|до)\s+{_DATE}",
    re.IGNORECASE,
)
_ANY_DATE = re.compile(rf"(?<![\w.,/:#№\-]){_DATE}", re.IGNORECASE)
_STRAY = ",.;:!?—–-−•*()[]"
# How far behind today a due day without a year may be and still be this year's.
_OVERDUE_DAYS = 31


@dataclass(frozen=True)
class BillText:
    """What a bill's caption says; empty where it says nothing."""

    amount: AmountRead
    supplier: str = ""
    purpose: str = ""
    category: str = ""  # '' when no keyword matched: the bot asks
    due: date | None = None
    bad_due: str = ""  # a due date as written that is no day (``до 31.04``)
    bill_no: str = ""
    contracts: tuple[ContractRef, ...] = field(default=())

    @property
    def missing(self) -> tuple[str, ...]:
        """What the bot must still ask for: ``amount``, ``category``."""
        wanted = []
        if self.amount.value is None:
            wanted.append("amount")
        if not self.category:
            wanted.append("category")
        return tuple(wanted)

    @property
    def contract_no(self) -> str:
        """The contract as written (the first one), '' for none."""
        return self.contracts[0].number if self.contracts else ""


def parse_bill(text: str, *, today: date, categories: Sequence[Category]) -> BillText:
    """Read a bill's caption (see the module docstring); ``today`` in the business's zone."""
    line = " ".join(text.split())
    masked = line
    refs = find_contract_refs(masked)
    bill_no = next((ref.number for ref in refs if ref.marker == "invoice"), "")
    contracts = tuple(ref for ref in refs if ref.marker != "invoice")
    masked = _blank(masked, [reference_span(line, ref) for ref in refs])

    due: date | None = None
    bad_due = ""
    due_match = _DUE.search(masked)
    if due_match is not None:
        due = _due_day(due_match, today)
        if due is None:
            bad_due = line[due_match.start() : due_match.end()]
        masked = _blank(masked, [due_match.span()])
    dates = [m.span() for m in _ANY_DATE.finditer(masked) if _is_date(m)]

    supplier = ""
    supplier_match = _SUPPLIER.search(masked)
    if supplier_match is not None:
        supplier = supplier_match.group().strip()
        masked = _blank(masked, [supplier_match.span()])

    amount = read_amount(_blank(masked, dates))
    if amount.value is not None:
        masked = _blank(masked, [(amount.start, amount.end)])
    purpose = _tidy(masked)
    category, guessed = match_category(purpose, categories, "")
    if guessed or not category:
        category, guessed = match_category(_plain_name(supplier), categories, "")
    return BillText(
        amount=amount,
        supplier=supplier,
        purpose=purpose,
        category="" if guessed else category,
        due=due,
        bad_due=bad_due,
        bill_no=bill_no,
        contracts=contracts,
    )


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = _MASK * (end - start)
    return "".join(chars)


def _tidy(text: str) -> str:
    words = [w for w in text.replace(_MASK, " ").split() if w.strip(_STRAY)]
    return " ".join(words).strip(_STRAY + " ")


def _plain_name(supplier: str) -> str:
    return re.sub(rf"^{_LEGAL}\s*", "", supplier).strip('«»"“”„ ')


def _is_date(match: re.Match[str]) -> bool:
    """A day.month (``01.12``) or a named month; a bare number is no date."""
    return bool(match.group("month") or match.group("named"))


def _due_day(match: re.Match[str], today: date) -> date | None:
    day = int(match.group("day"))
    if match.group("named"):
        month = _MONTHS[match.group("named")[:3].casefold()]
        year_text = match.group("named_year")
    elif match.group("month"):
        month = int(match.group("month"))
        year_text = match.group("year")
    else:
        return None
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _safe(year, month, day)
    this_year = _safe(today.year, month, day)
    if this_year is None:
        return _safe(today.year + 1, month, day)
    if (today - this_year).days > _OVERDUE_DAYS:
        return _safe(today.year + 1, month, day)
    return this_year


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
