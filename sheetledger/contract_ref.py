"""Contract references in free text, as people and banks write them. Pure: no I/O.

One recognizer for every place a contract number is typed: an expense line to the
bot, a payment order, the purpose of a bank payment. ``find_contract_refs`` returns
the references in the order they stand; ``contract_key`` turns a contract number as
written anywhere (the Deals tab, a reference) into the key two spellings share.

A reference is a **marker** followed by a number:

* ``#1045``, ``№1045``, ``№ 1045``, ``N 1045``, ``No. 1045``;
* a contract word, abbreviated or declined: ``дог. 1045``, ``дог.1045``, ``дог-р 1045``,
  ``д-р 1045``, ``договор 1045``, ``по договору №1045 от 12.11.2026``, ``контракт 1045``,
  ``договор поставки 1045``;
* an invoice word (a small business bills under the contract's number):
  ``Оплата по счету 1045``, ``сч. 1045``, ``счёт на оплату 1045``;
* glued to the words around it: ``дог1045``, ``договор№1045``, ``№1045от12.11``.

Plural words (``по договорам 1045, 1046 и 1047``, ``№№ 1045, 1046``) take a list.

The number is one to ten digits, with an optional tail: a letter (``1045А``) or
groups after ``-`` or ``/`` (``1045-А``, ``1045/2``). What is *not* a reference, on
purpose, because a bank's purpose is full of numbers: a bare number (``15000`` may
be the amount), a date after the marker (``договор от 12.11.2026``), a decimal
(``счет 1045.50``), an INN or an account (no marker), ``расчет`` (which holds the
letters of ``счет``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["ContractRef", "contract_key", "find_contract_refs", "reference_span"]


@dataclass(frozen=True)
class ContractRef:
    """One reference found in a text."""

    key: str  # contract_key(number): compare this with contract_key(deal's contract no)
    number: str  # the number as written (``1045-А``)
    marker: str  # hash | numero | contract | invoice
    start: int  # the span of the whole reference (marker included) in the text
    end: int


_LETTER = "A-Za-zА-Яа-яЁё"
# The number: digits, then a lone letter or -/ groups; never the head of a date or a
# decimal, never cut out of a longer run of digits.
_NUMBER = (
    rf"[0-9]{{1,10}}"
    rf"(?:[-/](?!от(?![{_LETTER}]))[0-9{_LETTER}]{{1,4}}(?![0-9{_LETTER}]))*"
    rf"(?:[{_LETTER}](?![{_LETTER}]))?"
    r"(?![0-9]|[.,][0-9])"
)
_NUMERO_SIGN = r"(?:№|(?<![" + _LETTER + r"])(?-i:N)(?:[oO°º]\.?)?)"
# A word that stands between a contract word and its number (``договор поставки 1045``).
_QUALIFIER = (
    r"(?:поставки|подряда|купли-продажи|оказания\s+услуг|на\s+оплату|клиента|оферты"
    r"|займа|кредита|рассрочки)"
)
_CONTRACT_WORD = (
    r"(?:договор(?:а|у|ом|е)?|контракт(?:а|у|ом|е)?"
    rf"|(?<![{_LETTER}])(?:дог-р\.?|д-р\.?|дог\.?))"
)
_CONTRACT_PLURAL = r"(?:договор(?:ы|ам|ов|ами|ах)|контракт(?:ы|ам|ов|ами|ах))"
_INVOICE_WORD = r"(?<![" + _LETTER + r"])(?:сч[её]т(?:а|у|ом|е)?|сч\.?)"
_INVOICE_PLURAL = r"(?<![" + _LETTER + r"])(?:сч[её]т(?:ам|ов|ами|ах)|сч[её]та)"
_FILLER = r"[\s.:]*"
_SEPARATOR = r"\s*(?:,|;|\sи\s)\s*"

_SINGLE = re.compile(
    rf"""
    (?P<marker>
        (?P<hash>\#)
      | (?P<numero>{_NUMERO_SIGN})
      | (?P<contract>{_CONTRACT_WORD})(?:{_FILLER}{_QUALIFIER})?
      | (?P<invoice>{_INVOICE_WORD})(?:{_FILLER}{_QUALIFIER})?
    )
    {_FILLER}(?:(?:№|\#|(?-i:N)(?:[oO°º]\.?)?){_FILLER})?
    (?P<number>{_NUMBER})
    """,
    re.IGNORECASE | re.VERBOSE,
)
_LIST = re.compile(
    rf"""
    (?P<marker>
        (?P<numero>№\s?№)
      | (?P<contract>{_CONTRACT_PLURAL})
      | (?P<invoice>{_INVOICE_PLURAL})
    )
    {_FILLER}(?:(?:№\s?№|№|\#){_FILLER})?
    (?P<numbers>{_NUMBER}(?:{_SEPARATOR}(?:[№\#]\s?)?{_NUMBER})+)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_NUMBER_ONLY = re.compile(_NUMBER, re.IGNORECASE)


def find_contract_refs(text: str) -> list[ContractRef]:
    """Every contract reference in ``text``, in reading order, each number once."""
    found: list[ContractRef] = []
    taken: list[tuple[int, int]] = []
    for match in _LIST.finditer(text):
        kind = _kind(match)
        body_start = match.start("numbers")
        for number in _NUMBER_ONLY.finditer(match.group("numbers")):
            found.append(
                ContractRef(
                    contract_key(number.group()),
                    number.group(),
                    kind,
                    match.start(),
                    body_start + number.end(),
                )
            )
        taken.append(match.span())
    for match in _SINGLE.finditer(text):
        if any(start <= match.start() < end for start, end in taken):
            continue
        written = match.group("number")
        found.append(
            ContractRef(contract_key(written), written, _kind(match), match.start(), match.end())
        )
    found.sort(key=lambda ref: ref.start)
    unique: list[ContractRef] = []
    seen: set[str] = set()
    for ref in found:
        if ref.key not in seen:
            seen.add(ref.key)
            unique.append(ref)
    return unique


def _kind(match: re.Match[str]) -> str:
    for kind in ("hash", "numero", "contract", "invoice"):
        if match.groupdict().get(kind):
            return kind
    return "numero"


# Latin letters that look like Cyrillic ones: a contract typed «1045-A» on a Latin
# keyboard is the same contract as «1045-А».
_LOOKALIKES = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")
_SEPARATORS = re.compile(r"[\s\-–—/_\\.]+")
_DIGIT_LETTER = re.compile(rf"(?<=[0-9])(?=[{_LETTER}])|(?<=[{_LETTER}])(?=[0-9])")
_LEADING = re.compile(r"^(?:[#№]|N(?:[OО°º]\.?)?(?=[\s0-9]))\s*")


@lru_cache(maxsize=1 << 15)  # (a ledger's 10,000 contract numbers, keyed again each cycle)
def contract_key(number: str) -> str:
    """The key two spellings of one contract number share; ``''`` for no number.

    ``1045``, `` №01045 ``, ``#1045`` → ``1045``; ``1045-А``, ``1045а``, ``1045 A``,
    ``1045/а`` → ``1045-А``. Leading zeros of the first group are dropped (banks pad
    numbers), separators become one ``-``, letters are upper-case Cyrillic.
    """
    text = number.strip().upper().translate(_LOOKALIKES)
    text = _LEADING.sub("", text)
    text = _DIGIT_LETTER.sub("-", text)
    parts = [part for part in _SEPARATORS.split(text) if part]
    if not parts:
        return ""
    if parts[0].isdigit():
        parts[0] = parts[0].lstrip("0") or "0"
    return "-".join(parts)


_DATE_AFTER = re.compile(
    r"\s*от\s+[0-9]{1,2}(?:\.[0-9]{1,2}(?:\.[0-9]{2,4})?|\s?[А-Яа-яЁё]{3,8}\.?(?:\s[0-9]{4})?)"
    r"(?:\s?(?:года|год|г)\.?)?(?![0-9])",
    re.IGNORECASE,
)
_WORDS_BEFORE = re.compile(r"(?<![\w])(?:оплата\s+по|по)\s+$", re.IGNORECASE)


def reference_span(text: str, ref: ContractRef) -> tuple[int, int]:
    """The span of ``ref`` in ``text`` with the words that belong to it: ``по`` before it,
    ``от 12.11.2026`` (the contract's date, never the text's own date) after it."""
    start, end = ref.start, ref.end
    before = _WORDS_BEFORE.search(text, 0, start)
    if before is not None:
        start = before.start()
    after = _DATE_AFTER.match(text, end)
    if after is not None:
        end = after.end()
    return start, end
