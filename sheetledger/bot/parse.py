"""Expense messages as people type them, turned into expense lines (pure: no I/O).

One non-empty line of a message is one expense: ``3500 реклама яндекс``,
``1 200,50 такси вчера``, ``45к аренда #1045``. Each line yields either an
``ExpenseLine`` or a ``LineError`` (one error per line, in Russian for the user);
the bot records the first, replies with the second plus ``HELP_EXAMPLES``. The
line's index in the message (``line_no``, 0-based, empty lines counted) is part of
its dedup key ``tg:<chat>:<message>:<line>``, so it must not depend on the other
lines. The text is data: nothing in it is ever evaluated, and a comment that starts
with ``=`` is kept as typed (the sheet writer neutralises formulas).

How a line is read, in this order:

0. Keycap emoji digits (``5️⃣0️⃣0️⃣``, ``🔟``) become plain digits.
1. A list marker at the start (``-``, ``•``, ``*``, ``1.``, ``2)`` followed by a
   space) is dropped, so a pasted list reads as lines.
2. **Deal reference**: ``#`` followed by a contract number that holds a digit
   (``#1045``, ``#1045-А``). A hashtag without a digit (``#реклама``) is ordinary
   text. Two references in one line are an error (``several_deals``).
3. **Date**: ``сегодня``, ``вчера``, ``позавчера``, ``25.11``, ``25.11.26``,
   ``25.11.2026`` (``г.`` after the year is allowed), ``25 ноября [2026]``,
   ``25 нояб``. Without one the date is ``today`` — the caller passes the date the
   message was *sent* in the configured zone, never the processing time.
   A day.month without a year is this year's or last year's date, whichever is
   nearer to today: ``25.12`` typed on 5 January is last December, while ``28.11``
   typed on 27 November is tomorrow and refused (``future_date``), not silently
   moved back a year. An explicit date after today (also ``завтра``,
   ``послезавтра``) is ``future_date``; a date that does not exist (``31.04``,
   ``30.02.2026``) is ``bad_date``, a real one before 2000 ``old_date`` (a typo in
   the year); two dates in one line are ``several_dates``. ``d.m`` with a day
   up to 31 and a month up to 12 reads as a date, so kopeks that look like a date
   are written with a comma (``10,05``) or a currency marker (``10.05р``).
4. **Amount** — the numbers left once dates, ``#refs`` and ``№`` numbers are taken
   out. A number glued to letters (``45км``, ``аи92``), a percentage, a time
   (``10:30``), a ratio (``1/2``) or a range (``500-600``) is never an amount.

   * Digits: ``3500``; thousands grouped by a space (also the no-break spaces bank
     apps paste), ``3 500``, ``1 200 000``; the decimal separator is a comma or a
     dot: ``1 200,50``, ``1200.50``. A single dot or comma followed by exactly
     three digits groups thousands (``1.200`` = ``1,200`` = 1200: kopeks never
     have three digits) unless a multiplier follows, where it is a decimal point
     (``1,250 млн`` = 1 250 000). ``1.200,50`` and ``1,200.50`` both read 1200.50.
   * Multipliers: ``к``/``k`` glued to the number (``3.5к``, ``45к``) or alone at
     the end of the line (``3,5 к``) — never ``3000 к празднику``, where ``к`` is a
     preposition; ``тыс``, ``тысяч``, ``тыщ``, ``тр``/``т.р.`` (thousand roubles);
     ``млн``, ``миллион``, ``кк``.
   * Currency markers: ``р``, ``р.``, ``руб``, ``руб.``, ``рублей``, ``₽``.
   * A ``-`` right before the number, after a space or at the start of the line,
     makes it negative (``negative_amount``); after a letter (``такси-500``) it is
     a separator.

   Which number is the amount when there are several: a number with a currency
   marker or a multiplier (two such numbers are ``several_amounts``: one expense
   per line); otherwise a number at the start or the end of the line — the larger
   if both, since the other is usually a count (``2 такси 700``); otherwise the
   largest number in the line (``такси 2 поездки 700 туда-обратно``). The other
   numbers stay in the comment. Write ``300р счёт 4521`` or ``счёт №4521 300`` when
   a reference number is larger than the amount.

   The amount is rounded half-up to kopeks (``Decimal("3500.00")``) and must be
   above zero (``zero_amount``, ``negative_amount``) and at most the configured
   ceiling (``over_ceiling``: probably a typo). No number at all is ``no_amount``.
5. **Comment**: the line without the amount (with its marker), the date and the
   ``#ref``; stray punctuation left behind is dropped and the ends trimmed.
6. **Category** (``match_category``) from the comment: each category's name and
   keywords are aliases; matching is case-insensitive, ``ё`` = ``е``, on word stems
   (``рекламу``, ``рекламы``, ``рекламная`` match ``реклама``; ``налоговая`` matches
   ``налог``; a keyword of two letters such as ``вк`` must match a whole word), and
   a multi-word alias must match consecutive words. When several aliases match,
   the one with more words wins (an alias ``яндекс такси`` beats ``яндекс``), then
   the one earliest in the text (Russian puts the head noun first: ``такси до
   офиса`` is transport), then the category listed first. No match: the default
   category with ``category_guessed=True`` (the bot offers buttons).

When one line has several problems, amount problems are reported first, then date
problems, then ``several_deals``. A message with no non-empty line is ``empty``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sheetledger.config import Category
from sheetledger.contract_ref import (
    ContractRef,
    contract_key,
    find_contract_refs,
    reference_span,
)
from sheetledger.money import rub, to_kopeks

__all__ = [
    "ERROR_CODES",
    "HELP_EXAMPLES",
    "ExpenseLine",
    "LineError",
    "ParseResult",
    "dedup_key",
    "match_category",
    "parse_message",
    "read_amount",
    "result_records",
]

HELP_EXAMPLES = """\
Как записать расход: сумма и пара слов, одна строка — один расход.
Примеры:
  3500 реклама яндекс
  1 200,50 такси вчера
  45к аренда #1045  — расход по договору № 1045
  кофе в офис 850р 25.11
Сумма: 3500, 3 500, 3500р, 1 200,50, 3.5к, 45 тыс, 1,2 млн.
Дата: по умолчанию сегодня; вчера, позавчера, 25.11, 25.11.2026.
Категорию узнаю по словам (реклама, аренда, такси…); если не узнаю — предложу выбрать."""

ERROR_CODES = (
    "empty",
    "no_amount",
    "several_amounts",
    "negative_amount",
    "zero_amount",
    "over_ceiling",
    "bad_date",
    "old_date",
    "future_date",
    "several_dates",
    "several_deals",
)


@dataclass(frozen=True)
class ExpenseLine:
    """One expense read from one line of a message."""

    line_no: int  # 0-based index of the line in the message (empty lines counted)
    amount: Decimal  # > 0, two decimal places
    date: date
    category: str
    category_guessed: bool  # True when no alias matched and the default category was used
    comment: str
    deal_ref: str | None  # the contract number after '#', without the '#'
    source_text: str


@dataclass(frozen=True)
class LineError:
    """A line that cannot be recorded; ``message`` is Russian, for the person who typed it."""

    line_no: int
    text: str
    code: str
    message: str


@dataclass(frozen=True)
class ParseResult:
    expenses: tuple[ExpenseLine, ...]
    errors: tuple[LineError, ...]

    @property
    def ok(self) -> bool:
        """True when every non-empty line became an expense (and there was one)."""
        return bool(self.expenses) and not self.errors


def dedup_key(chat_id: int, message_id: int, line_no: int) -> str:
    """The natural key of a bot expense: a redelivered update never makes a second row."""
    return f"tg:{chat_id}:{message_id}:{line_no}"


# --------------------------------------------------------------------------- patterns

# Thousands separators: a space, and the no-break spaces that bank apps and phones paste.
_GROUP_SPACE = "[ \u00a0\u202f]"
# Atomic, so a number is never cut short to make the rest of the pattern match
# (``1,5кг`` must not yield ``1``).
_NUMBER = (
    rf"(?>[0-9]{{1,3}}(?:{_GROUP_SPACE}[0-9]{{3}}(?![0-9]))+(?:[.,][0-9]+)?"
    r"|[0-9]+(?:[.,][0-9]+)*)"
)
_AMOUNT = re.compile(
    rf"""
    (?<![\w#№+/:])            # not the tail of a word, a #ref, a № number, a ratio or a time
    (?<![0-9][.,\-−])          # nor the tail of a decimal, a date or a range
    (?P<number>{_NUMBER})
    (?:
        \s?(?P<thousand>тысяч[аи]?|тыс\.?|тыщ[иа]?|т\.?\s?р\.?)
      | \s?(?P<million>млн\.?|миллион(?:а|ов)?|кк|kk)
      | (?P<k>[кk])
      | \s(?P<k_alone>[кk])(?=\s*(?:$|[,.;:!?)]))   # '3,5 к' at the end, not '3000 к празднику'
    )?
    (?:\s?(?P<currency>руб(?:л(?:ь|я|ей))?\.?|р\.?|₽|rub\.?|rur))?
    (?![\w%:/]|[.,][0-9]|[-−][\w])
    """,
    re.IGNORECASE | re.VERBOSE,
)
# '№ 4521' is an invoice or receipt number: kept in the comment, never the amount.
_NUMERO = re.compile(r"№\s?[0-9][\w/\-]*")
_NUMERIC_DATE = re.compile(
    r"""
    (?<![\w.,/:#№\-−])
    (?P<day>[0-9]{1,2})\.(?P<month>[0-9]{1,2})
    (?:\.(?P<year>[0-9]{4}|[0-9]{2})(?:\s?(?:года|год|г)\.?)?)?
    (?![\w]|[.,][0-9])
    """,
    re.IGNORECASE | re.VERBOSE,
)
_MONTHS = {
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "мая": 5, "май": 5, "июн": 6,
    "июл": 7, "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
}  # fmt: skip
_NAMED_DATE = re.compile(
    r"""
    (?<![\w.,/:#№\-−])
    (?P<day>[0-9]{1,2})\s?
    (?P<month>января|февраля|марта|апреля|мая|май|июня|июля|августа|сентября|октября
      |ноября|декабря|янв|фев|мар|апр|июн|июл|авг|сент|сен|окт|нояб|ноя|дек)\.?
    (?:\s(?P<year>[0-9]{4})(?:\s?(?:года|год|г)\.?)?)?
    (?!\w)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_DATE_WORD = re.compile(
    r"(?<!\w)(?P<word>позавчера|вчера|сегодня|послезавтра|завтра)(?!\w)", re.IGNORECASE
)
# 'завтра' is read (not left in the comment) so that it is refused like any future date.
_DAYS_BACK = {"сегодня": 0, "вчера": 1, "позавчера": 2, "завтра": -1, "послезавтра": -2}
# Keycap digits as phones offer them: '5️⃣' is 5, U+FE0F (optional), U+20E3; '🔟' is 10.
_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")
_KEYCAP_TEN = "\U0001f51f"
_LIST_MARKER = re.compile(r"^\s*(?:[-–—•*·]|[0-9]{1,2}[.)])\s+")
# Punctuation that may be left dangling once the amount and the date are cut out.
_STRAY = ",.;:!?—–-−•*\x00"
_MASK = "\x00"
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")  # ``(дог. 1045)`` once the reference is out
_EARLIEST_YEAR = 2000

# --------------------------------------------------------------------------- the message


def parse_message(
    text: str,
    *,
    today: date,
    categories: Sequence[Category],
    default_category: str,
    ceiling: Decimal,
) -> ParseResult:
    """Read every non-empty line of ``text`` as one expense dated ``today`` unless it says.

    ``today`` is the day the message was sent in the configured time zone.
    """
    expenses: list[ExpenseLine] = []
    errors: list[LineError] = []
    for line_no, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        parsed = _parse_line(line, line_no, today, categories, default_category, ceiling)
        if isinstance(parsed, LineError):
            errors.append(parsed)
        else:
            expenses.append(parsed)
    if not expenses and not errors:
        errors.append(
            LineError(0, text.strip(), "empty", "Пустое сообщение: нет ни одного расхода.")
        )
    return ParseResult(tuple(expenses), tuple(errors))


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


@dataclass(frozen=True)
class _AmountFound(_Span):
    value: Decimal  # signed, not yet rounded
    marked: bool  # a currency marker or a multiplier says this is money


@dataclass(frozen=True)
class _DateFound(_Span):
    value: date | None  # None: no such day
    problem: str | None  # "bad_date" or "future_date"


def _parse_line(
    raw_line: str,
    line_no: int,
    today: date,
    categories: Sequence[Category],
    default_category: str,
    ceiling: Decimal,
) -> ExpenseLine | LineError:
    source = raw_line.strip()
    line = _LIST_MARKER.sub("", _plain_digits(raw_line), count=1).rstrip()

    def fail(code: str, message: str) -> LineError:
        return LineError(line_no, source, code, message)

    found_refs = _all_refs(line)
    refs = [
        (*reference_span(line, ref), ref.number) for ref in found_refs if ref.marker != "invoice"
    ]
    # A bill's or receipt's number (``счёт 4521``) is never the amount; it stays in the comment.
    bills = [_Span(ref.start, ref.end) for ref in found_refs if ref.marker == "invoice"]
    masked = _mask(line, [_Span(start, end) for start, end, _ in refs] + bills)
    masked = _mask(masked, [_Span(m.start(), m.end()) for m in _NUMERO.finditer(masked)])
    dates = _find_dates(masked, today)
    masked = _mask(masked, dates)

    amounts = _find_amounts(masked)
    chosen = _choose_amount(amounts, masked)
    if chosen is None:
        return fail("no_amount", f"Не нашёл сумму в строке «{source}».")
    if isinstance(chosen, tuple):
        listed = ", ".join(rub(a.value) for a in chosen)
        return fail(
            "several_amounts",
            f"В строке «{source}» несколько сумм ({listed}). "
            "Напишите каждый расход отдельной строкой.",
        )
    if chosen.value < 0:
        return fail(
            "negative_amount",
            f"Сумма отрицательная: «{source}». Расход пишется положительным числом.",
        )
    if chosen.value > ceiling:
        return fail(
            "over_ceiling",
            f"Сумма {rub(chosen.value)} больше предела {rub(ceiling)} — "
            f"похоже на опечатку: «{source}».",
        )
    amount = to_kopeks(chosen.value)
    if amount == 0:
        return fail("zero_amount", f"Сумма равна нулю: «{source}».")

    if len(dates) > 1:
        return fail("several_dates", f"В строке «{source}» несколько дат; оставьте одну.")
    when = today
    if dates:
        found = dates[0]
        if found.problem == "old_date":
            return fail(
                "old_date",
                f"Дата «{line[found.start : found.end]}» слишком давняя: расходы записываются "
                f"с {_EARLIEST_YEAR} года. Проверьте год.",
            )
        if found.problem == "bad_date" or found.value is None:
            return fail(
                "bad_date",
                f"Не понял дату «{line[found.start : found.end]}»: такого дня нет. "
                "Пример: 25.11 или 25.11.2026.",
            )
        if found.problem == "future_date":
            return fail(
                "future_date",
                f"Дата {found.value:%d.%m.%Y} ещё не наступила: «{source}». "
                "Расход записывается задним числом или сегодняшним.",
            )
        when = found.value

    if len({contract_key(number) for _, _, number in refs}) > 1:
        return fail(
            "several_deals",
            f"В строке «{source}» несколько договоров; один расход — один договор.",
        )
    deal_ref = refs[0][2] if refs else None

    cut = [chosen, *dates, *(_Span(start, end) for start, end, _ in refs)]
    comment = _tidy(_mask(line, cut))
    category, guessed = match_category(comment, categories, default_category)
    return ExpenseLine(
        line_no=line_no,
        amount=amount,
        date=when,
        category=category,
        category_guessed=guessed,
        comment=comment,
        deal_ref=deal_ref,
        source_text=source,
    )


def _all_refs(line: str) -> list[ContractRef]:
    """Every contract reference, a number written twice (``#10 … #10``) each time."""
    found: list[ContractRef] = []
    text = line
    while more := find_contract_refs(text):
        found += more
        text = _mask(text, [_Span(ref.start, ref.end) for ref in more])
    return sorted(found, key=lambda ref: ref.start)


def _plain_digits(text: str) -> str:
    """Keycap emoji digits as plain digits: '5️⃣0️⃣0️⃣ такси' is 500, not 5."""
    return _KEYCAP.sub(r"\1", text).replace(_KEYCAP_TEN, "10")


def _mask(text: str, spans: Sequence[_Span]) -> str:
    """``text`` with each span blanked out, keeping every other position where it was."""
    chars = list(text)
    for span in spans:
        chars[span.start : span.end] = _MASK * (span.end - span.start)
    return "".join(chars)


def _tidy(text: str) -> str:
    """Drop blanked spans and punctuation left dangling by them; trim the ends."""
    text = _EMPTY_BRACKETS.sub(" ", text.replace(_MASK, " "))
    words = [word for word in text.split() if word.strip(_STRAY)]
    return " ".join(words).strip(_STRAY + " ")


# --------------------------------------------------------------------------- amounts


def _find_amounts(masked: str) -> list[_AmountFound]:
    found = []
    for match in _AMOUNT.finditer(masked):
        multiplier = Decimal(1)
        if match.group("thousand") or match.group("k") or match.group("k_alone"):
            multiplier = Decimal(1000)
        elif match.group("million"):
            multiplier = Decimal(1_000_000)
        number = _number_value(match.group("number"), multiplied=multiplier != 1)
        if number is None:
            continue
        start = match.start()
        # '-500' after a space or at the start is negative; 'такси-500' is a separator.
        before = masked[max(start - 2, 0) : start]
        if before.endswith(("-", "−")) and (len(before) == 1 or not before[0].isalnum()):
            start -= 1
            number = -number
        marked = multiplier != 1 or bool(match.group("currency"))
        found.append(_AmountFound(start, match.end(), number * multiplier, marked))
    return found


def _number_value(raw: str, *, multiplied: bool) -> Decimal | None:
    """The number as written, or None when its separators make no sense (``1,2.3``)."""
    digits = re.sub(_GROUP_SPACE, "", raw)
    separators = {ch for ch in digits if ch in ".,"}
    if not separators:
        return Decimal(digits)
    if len(separators) == 2:
        # '1.200,50' or '1,200.50': the last separator is the decimal point.
        point = digits[max(digits.rfind("."), digits.rfind(","))]
        head, _, fraction = digits.rpartition(point)
        whole = _ungroup(head, "," if point == "." else ".")
        return None if whole is None or point in head else Decimal(f"{whole}.{fraction}")
    separator = separators.pop()
    parts = digits.split(separator)
    if len(parts) > 2:
        whole = _ungroup(digits, separator)
        return None if whole is None else Decimal(whole)
    head, fraction = parts
    # Kopeks never have three digits, so '1.200' groups thousands — but '1,250 млн' is 1.25.
    if len(fraction) == 3 and not multiplied and _ungroup(digits, separator) is not None:
        return Decimal(head + fraction)
    return Decimal(f"{head}.{fraction}")


def _ungroup(text: str, separator: str) -> str | None:
    """``'1.200.000'`` → ``'1200000'`` when grouped by threes, else None."""
    head, *groups = text.split(separator)
    if not 1 <= len(head) <= 3 or head.startswith("0") or any(len(g) != 3 for g in groups):
        return None
    return head + "".join(groups)


def _choose_amount(
    amounts: Sequence[_AmountFound], masked: str
) -> _AmountFound | tuple[_AmountFound, ...] | None:
    """The amount of the line; a tuple when several are equally marked as money."""
    if not amounts:
        return None
    marked = [a for a in amounts if a.marked]
    if len(marked) > 1:
        return tuple(marked)
    if marked:
        return marked[0]
    edges = [
        a
        for a in amounts
        if not masked[: a.start].strip(_STRAY + " \t") or not masked[a.end :].strip(_STRAY + " \t")
    ]
    return max(edges or amounts, key=lambda a: abs(a.value))


@dataclass(frozen=True)
class AmountRead:
    """The amount of a free text (a payment order's caption), by the expense lines' rules."""

    value: Decimal | None  # rounded to kopeks; None with ``problem``
    start: int
    end: int
    problem: str = ""  # "" | no_amount | several_amounts | negative_amount | zero_amount


def read_amount(masked: str) -> AmountRead:
    """The amount in ``masked`` (text whose dates and references are already blanked out
    with ``\\x00``), chosen as for an expense line; its span, or the problem."""
    chosen = _choose_amount(_find_amounts(masked), masked)
    if chosen is None:
        return AmountRead(None, 0, 0, "no_amount")
    if isinstance(chosen, tuple):
        return AmountRead(None, chosen[0].start, chosen[0].end, "several_amounts")
    if chosen.value < 0:
        return AmountRead(None, chosen.start, chosen.end, "negative_amount")
    value = to_kopeks(chosen.value)
    if value == 0:
        return AmountRead(None, chosen.start, chosen.end, "zero_amount")
    return AmountRead(value, chosen.start, chosen.end)


# --------------------------------------------------------------------------- dates


def _find_dates(masked: str, today: date) -> list[_DateFound]:
    found: list[_DateFound] = []
    for match in _NUMERIC_DATE.finditer(masked):
        day, month = int(match.group("day")), int(match.group("month"))
        year = match.group("year")
        if year is None:
            if not (1 <= day <= 31 and 1 <= month <= 12):
                continue  # '12.50' is money, not a date
            amount = _AMOUNT.match(masked, match.start())
            if amount and _is_marked(amount):
                continue  # '3.5 тыс' is money
        full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
        found.append(_resolve(match.start(), match.end(), day, month, full_year, today))
    masked = _mask(masked, found)
    for match in _NAMED_DATE.finditer(masked):
        month = _MONTHS[match.group("month")[:3].casefold()]
        year = match.group("year")
        full_year = None if year is None else int(year)
        day = int(match.group("day"))
        found.append(_resolve(match.start(), match.end(), day, month, full_year, today))
    masked = _mask(masked, found)
    for match in _DATE_WORD.finditer(masked):
        days_back = _DAYS_BACK[match.group("word").casefold()]
        value = date.fromordinal(today.toordinal() - days_back)
        problem = "future_date" if value > today else None
        found.append(_DateFound(match.start(), match.end(), value, problem))
    return sorted(found, key=lambda d: d.start)


def _is_marked(match: re.Match[str]) -> bool:
    groups = ("thousand", "million", "k", "k_alone", "currency")
    return any(match.group(name) for name in groups)


def _resolve(
    start: int, end: int, day: int, month: int, year: int | None, today: date
) -> _DateFound:
    """A typed day/month[/year] as a date, or the reason it cannot be one."""
    if year is not None:
        value = _safe_date(year, month, day)
        if value is None:
            return _DateFound(start, end, None, "bad_date")
        if year < _EARLIEST_YEAR:
            return _DateFound(start, end, value, "old_date")
        return _DateFound(start, end, value, "future_date" if value > today else None)
    # This year's or last year's, whichever is nearer: '25.12' on 5 January is last
    # December, '28.11' on 27 November is a typo for the future and is refused.
    candidates = [
        value
        for value in (_safe_date(today.year, month, day), _safe_date(today.year - 1, month, day))
        if value is not None
    ]
    if not candidates:  # 31.04, or 29.02 in neither this nor last year
        return _DateFound(start, end, None, "bad_date")
    value = min(candidates, key=lambda v: abs(v.toordinal() - today.toordinal()))
    return _DateFound(start, end, value, "future_date" if value > today else None)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --------------------------------------------------------------------------- categories

# Russian inflection endings, longest first; stripping one gives a stem good enough
# to match 'рекламу', 'рекламы', 'рекламой' against the keyword 'реклама'.
_ENDINGS = (
    "ами", "ями", "ого", "его", "ому", "ему", "ыми", "ими",
    "ая", "яя", "ое", "ее", "ые", "ие", "ый", "ий", "ой", "ей", "ую", "юю",
    "ом", "ем", "ам", "ям", "ах", "ях", "ов", "ев", "ых", "их",
    "а", "я", "ы", "и", "у", "ю", "е", "о", "ь", "й",
)  # fmt: skip
_MIN_STEM = 3
# A word may extend a keyword's stem by a derivational suffix: 'рекламная', 'налоговая',
# 'таргетинг', 'таргетолог' — but 'директор' does not match 'директ', nor 'премиум' 'премия'.
_DERIVED_TAIL = re.compile(r"(?:н|ов|ев|ск|инг|олог)\w{0,5}")
_MIN_PREFIX_STEM = 4
_WORD = re.compile(r"\w+")


def match_category(text: str, categories: Sequence[Category], default: str) -> tuple[str, bool]:
    """The category whose name or keyword occurs in ``text``: ``(name, guessed)``.

    ``guessed`` is True when nothing matched and ``default`` is returned.
    """
    words = _words(text)
    best: tuple[int, int, int] | None = None
    best_name = default
    for index, category in enumerate(categories):
        for alias in (category.name, *category.keywords):
            alias_words = _words(alias)
            if not alias_words:
                continue
            position = _find_phrase(words, alias_words)
            if position is None:
                continue
            rank = (-len(alias_words), position, index)
            if best is None or rank < best:
                best, best_name = rank, category.name
    return (best_name, False) if best is not None else (default, True)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("ё", "е"))


def _find_phrase(words: Sequence[str], phrase: Sequence[str]) -> int | None:
    for start in range(len(words) - len(phrase) + 1):
        if all(_word_matches(words[start + i], kw) for i, kw in enumerate(phrase)):
            return start
    return None


def _word_matches(word: str, keyword: str) -> bool:
    if word == keyword:
        return True
    stem = _stem(keyword)
    if _stem(word) == stem:
        return True
    return (
        len(stem) >= _MIN_PREFIX_STEM
        and word.startswith(stem)
        and _DERIVED_TAIL.fullmatch(word[len(stem) :]) is not None
    )


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


# --------------------------------------------------------------------------- output


def result_records(result: ParseResult) -> list[dict[str, object]]:
    """The result as JSON-ready objects, one per non-empty line, in line order.

    An expense: ``line``, ``amount`` (a string, ``"3500.00"``), ``date`` (ISO),
    ``category``, ``category_guessed``, ``comment``, ``deal_ref``. A line that cannot
    be recorded: ``line``, ``error`` (the code), ``message`` (Russian), ``text``.
    """
    records: list[tuple[int, dict[str, object]]] = [
        (
            e.line_no,
            {
                "line": e.line_no,
                "amount": str(e.amount),
                "date": e.date.isoformat(),
                "category": e.category,
                "category_guessed": e.category_guessed,
                "comment": e.comment,
                "deal_ref": e.deal_ref,
            },
        )
        for e in result.expenses
    ]
    records += [
        (
            err.line_no,
            {"line": err.line_no, "error": err.code, "message": err.message, "text": err.text},
        )
        for err in result.errors
    ]
    return [record for _, record in sorted(records, key=lambda pair: pair[0])]
