"""1CClientBankExchange statements (versions 1.02/1.03) parsed into typed lines. Pure.

The format (docs/api-notes.md, and tests/fixtures/bank/) is ``Key=Value`` lines:
a header, balance sections ``СекцияРасчСчет … КонецРасчСчет``, documents
``СекцияДокумент=<kind> … КонецДокумента`` and ``КонецФайла``. Real files bend it,
and each bend seen in the wild is handled here:

* the encoding is sniffed, not read from ``Кодировка``: files that say ``Windows``
  are sometimes UTF-8, and ``windows-1251`` is a spelling of ``Windows`` too;
* CRLF or LF, blank lines between sections, trailing spaces in values, keys whose
  case varies (``ПлательщикКорСчет``) — keys are matched case-insensitively;
* one balance section per day (Sber) or one per file (VTB, Tinkoff), several own
  accounts in one file;
* the direction is not a field. A document is incoming when the receiver's account
  is ours, outgoing when the payer's is, a transfer between two own accounts when
  both are (then it is a line on each side); only when neither is ours (banks
  anonymise their samples) do the dates say it: ``ДатаПоступило`` alone is in,
  ``ДатаСписано`` alone is out. Tinkoff writes ``ДатаСписано`` on incoming orders,
  so the dates are never asked first;
* any document kind, also ones outside the spec (``Прочее``), and numbers that are
  not numbers (``FDC240``).

Self-checks: per balance section ``opening + in − out = closing``, and the lines'
sums against the section's turnovers. A file that fails them raises
``StatementError`` naming each section and the difference, unless the caller
accepts an unbalanced file (a bank's export trimmed to a few documents fails the
second check honestly). A file of an account that is not ours, a truncated file and
a file that is not 1CClientBankExchange at all raise ``StatementError`` too: the
caller writes nothing then.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property

from sheetledger.bank import rub
from sheetledger.errors import SheetledgerError

__all__ = [
    "BalanceSection",
    "Statement",
    "StatementError",
    "StatementLine",
    "decode_statement",
    "parse_statement",
]

MAGIC = "1CClientBankExchange"
_CENT = Decimal("0.01")
_SHOWN = 12  # self-check failures listed in an error; a trimmed file fails every day


class StatementError(SheetledgerError):
    """The file cannot be imported; ``problems`` says why, one line each.

    ``unbalanced`` is True when the only problems are failed self-checks, which
    ``--accept-unbalanced`` lets through.
    """

    def __init__(self, source: str, problems: Iterable[str], *, unbalanced: bool = False) -> None:
        self.source = source
        self.problems = list(problems)
        self.unbalanced = unbalanced
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: not imported\n{lines}")


@dataclass(frozen=True)
class BalanceSection:
    """One ``СекцияРасчСчет``: an account's balances over a period (a day, or the file's)."""

    account: str
    start: date
    end: date
    opening: Decimal
    incoming: Decimal
    outgoing: Decimal
    closing: Decimal

    @property
    def label(self) -> str:
        period = _ru(self.start) if self.start == self.end else f"{_ru(self.start)}–{_ru(self.end)}"
        return f"account {self.account} {period}"


@dataclass(frozen=True)
class StatementLine:
    """One movement of money on one own account."""

    account: str  # the own account the money moved on
    date: date
    direction: str  # "in" | "out"
    amount: Decimal  # > 0, two places
    number: str  # the document's number as the bank wrote it
    kind: str  # Платежное поручение, Банковский ордер, Прочее…
    counterparty: str
    counterparty_inn: str
    counterparty_account: str
    counterparty_bank: str
    purpose: str
    own_transfer: bool = False  # both sides are our accounts: never revenue, never expense
    occurrence: int = 1  # the n-th line of the file with the same natural key

    @cached_property
    def id(self) -> str:
        """The bank's natural key: the same line from two overlapping statements is one row."""
        key = ":".join(
            (
                self.account,
                self.date.isoformat(),
                self.number,
                format(self.amount, "f"),
                self.counterparty_account or "-",
            )
        )
        return key if self.occurrence == 1 else f"{key}#{self.occurrence}"

    @property
    def incoming(self) -> bool:
        return self.direction == "in"


@dataclass(frozen=True)
class Statement:
    version: str
    encoding: str  # what the bytes were (sniffed), not what the header says
    sender: str
    accounts: tuple[str, ...]  # the own accounts the file is about
    start: date | None
    end: date | None
    sections: tuple[BalanceSection, ...]
    lines: tuple[StatementLine, ...]
    documents: int
    problems: tuple[str, ...] = field(default=())  # failed self-checks (when accepted)


# --------------------------------------------------------------------------- bytes


def decode_statement(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: UTF-8 when the bytes are valid UTF-8, else cp866 for a file
    that says ``Кодировка=DOS`` (in cp866), else windows-1251.

    The header's claim is not trusted: UTF-8 files labelled ``Windows`` are common
    (exports saved by a text editor), and valid UTF-8 is practically never cp1251
    Cyrillic by accident.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if re.search("Кодировка=DOS".encode("cp866"), data, re.IGNORECASE):
        return data.decode("cp866", errors="replace"), "cp866"
    return data.decode("cp1251", errors="replace"), "cp1251"


# --------------------------------------------------------------------------- grammar


@dataclass
class _Block:
    kind: str  # header | balance | document
    title: str  # the document kind
    line_no: int
    values: dict[str, str] = field(default_factory=dict)  # casefolded key -> value
    repeated: dict[str, list[str]] = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.values.get(key.casefold(), "")

    def all(self, key: str) -> list[str]:
        return self.repeated.get(key.casefold(), [])


def _blocks(text: str, source: str) -> Iterator[_Block]:
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise StatementError(source, ["the file is empty"])
    if lines[first].strip().lstrip("\ufeff") != MAGIC:
        shown = lines[first].strip()[:40]
        raise StatementError(
            source,
            [
                f"not a 1CClientBankExchange statement: the first line is {shown!r}; "
                "export the statement from the bank as «1С» (1CClientBankExchange, .txt)"
            ],
        )
    header = _Block("header", "", first + 1)
    current = header
    ended = False
    for number, raw in enumerate(lines[first + 1 :], start=first + 2):
        line = raw.strip()
        if not line:
            continue
        key, has_value, value = line.partition("=")
        key, value = key.strip(), value.strip()
        tag = key.casefold()
        if tag == "конецфайла":
            ended = True
            break
        if tag in ("секциярасчсчет", "секциядокумент"):
            if current is not header:
                raise StatementError(
                    source, [f"line {number}: a section opens before line {current.line_no}'s ends"]
                )
            current = _Block("balance" if tag == "секциярасчсчет" else "document", value, number)
            continue
        if tag in ("конецрасчсчет", "конецдокумента"):
            if current is header or (tag == "конецрасчсчет") != (current.kind == "balance"):
                raise StatementError(source, [f"line {number}: {key} without its section"])
            yield current
            current = header
            continue
        if not has_value:
            continue  # a flag line the spec does not know: nothing to read from it
        current.values.setdefault(tag, value)
        current.repeated.setdefault(tag, []).append(value)
    if current is not header:
        raise StatementError(
            source,
            [
                f"the file is cut off: the section that starts on line {current.line_no} "
                "never ends; download the statement again"
            ],
        )
    if not ended:
        raise StatementError(
            source, ["the file is cut off: no КонецФайла at the end; download the statement again"]
        )
    yield header


# --------------------------------------------------------------------------- values


def _date(value: str, what: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%d.%m.%Y").date()
    except ValueError:
        problems.append(f"{what}: {value!r} is not a date (дд.мм.гггг)")
        return None


def _amount(value: str, what: str, problems: list[str]) -> Decimal:
    text = value.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        amount = Decimal(text or "0")
    except InvalidOperation:
        problems.append(f"{what}: {value!r} is not an amount")
        return Decimal("0.00")
    if not amount.is_finite():
        problems.append(f"{what}: {value!r} is not an amount")
        return Decimal("0.00")
    return amount.quantize(_CENT)


def _ru(day: date) -> str:
    return day.strftime("%d.%m.%Y")


_INN_PREFIX = re.compile(r"^\s*(?:ИНН\s*)?[0-9]{10,12}\s*[,;]?\s+")


def _party(block: _Block, side: str) -> tuple[str, str, str, str]:
    """(name, INN, account, bank) of the payer (``Плательщик``) or the receiver."""
    name = block.get(f"{side}1") or _INN_PREFIX.sub("", block.get(side))
    account = block.get(f"{side}Счет") or block.get(f"{side}РасчСчет")
    bank = block.get(f"{side}Банк1") or block.get(f"{side}БИК")
    return name.strip(), block.get(f"{side}ИНН"), account, bank


def _purpose(block: _Block) -> str:
    text = block.get("НазначениеПлатежа")
    if not text:
        text = " ".join(p for p in (block.get(f"НазначениеПлатежа{i}") for i in range(1, 7)) if p)
    return " ".join(text.split())


# --------------------------------------------------------------------------- the file


def parse_statement(
    data: bytes,
    *,
    own_accounts: Collection[str] | None = None,
    accept_unbalanced: bool = False,
    source: str = "statement",
) -> Statement:
    """Parse and check a statement file; raise ``StatementError`` when it must not be imported.

    ``own_accounts`` are the configured accounts of the business: a file about any
    other account is refused, naming it. ``None`` takes the file's own word (tests,
    benchmarks, a dry look at a file).
    """
    text, encoding = decode_statement(data)
    balances: list[_Block] = []
    documents: list[_Block] = []
    header: _Block | None = None
    for block in _blocks(text, source):
        if block.kind == "balance":
            balances.append(block)
        elif block.kind == "document":
            documents.append(block)
        else:
            header = block
    assert header is not None
    problems: list[str] = []
    accounts = list(dict.fromkeys(a for a in header.all("РасчСчет") if a))
    for block in balances:
        account = block.get("РасчСчет")
        if account and account not in accounts:
            accounts.append(account)
    if not accounts:
        raise StatementError(source, ["the header names no account (РасчСчет)"])
    if own_accounts is not None:
        strangers = [a for a in accounts if a not in own_accounts]
        if strangers:
            raise StatementError(
                source,
                [
                    f"account {a} is not one of ours (bank.accounts in the config); "
                    "add it there if it is"
                    for a in strangers
                ],
            )
    ours = set(accounts) | set(own_accounts or ())
    sections = tuple(_section(block, problems) for block in balances)
    lines = _lines(documents, accounts, ours, problems, source)
    if problems:
        raise StatementError(source, problems)
    checks = _balance_problems(sections) + _turnover_problems(sections, lines)
    if checks and not accept_unbalanced:
        shown = checks[:_SHOWN] + (
            [f"… and {len(checks) - _SHOWN} more"] if len(checks) > _SHOWN else []
        )
        raise StatementError(
            source,
            [
                *shown,
                "the statement does not add up: download it again, or import it as it is "
                "with --accept-unbalanced",
            ],
            unbalanced=True,
        )
    ignored: list[str] = []  # the header's period is informative: a bad one blocks nothing
    return Statement(
        version=header.get("ВерсияФормата"),
        encoding=encoding,
        sender=header.get("Отправитель"),
        accounts=tuple(accounts),
        start=_date(header.get("ДатаНачала"), "ДатаНачала", ignored),
        end=_date(header.get("ДатаКонца"), "ДатаКонца", ignored),
        sections=sections,
        lines=lines,
        documents=len(documents),
        problems=tuple(checks),
    )


def _section(block: _Block, problems: list[str]) -> BalanceSection:
    where = f"balance section on line {block.line_no}"
    start = _date(block.get("ДатаНачала"), f"{where}: ДатаНачала", problems)
    end = _date(block.get("ДатаКонца"), f"{where}: ДатаКонца", problems) or start
    if start is None:
        problems.append(f"{where}: no ДатаНачала")
    return BalanceSection(
        account=block.get("РасчСчет"),
        start=start or date.min,
        end=end or date.min,
        opening=_amount(block.get("НачальныйОстаток"), f"{where}: НачальныйОстаток", problems),
        incoming=_amount(block.get("ВсегоПоступило"), f"{where}: ВсегоПоступило", problems),
        outgoing=_amount(block.get("ВсегоСписано"), f"{where}: ВсегоСписано", problems),
        closing=_amount(block.get("КонечныйОстаток"), f"{where}: КонечныйОстаток", problems),
    )


def _lines(
    documents: list[_Block],
    accounts: list[str],
    ours: set[str],
    problems: list[str],
    source: str,
) -> tuple[StatementLine, ...]:
    lines: list[StatementLine] = []
    seen: Counter[str] = Counter()
    in_file = set(accounts)
    for block in documents:
        where = (
            f"document {block.title or '?'} № {block.get('Номер') or '?'} (line {block.line_no})"
        )
        amount = _amount(block.get("Сумма"), f"{where}: Сумма", problems)
        if amount <= 0:
            problems.append(f"{where}: the amount {block.get('Сумма')!r} is not above zero")
            continue
        payer, receiver = _party(block, "Плательщик"), _party(block, "Получатель")
        sides: list[tuple[str, str]] = []  # (own account, direction)
        if receiver[2] in in_file:
            sides.append((receiver[2], "in"))
        if payer[2] in in_file:
            sides.append((payer[2], "out"))
        if not sides:
            direction = _direction_from_dates(block)
            if direction is None or len(accounts) != 1:
                problems.append(
                    f"{where}: neither the payer's nor the receiver's account is ours, "
                    "and the dates do not tell the direction"
                )
                continue
            sides.append((accounts[0], direction))
        transfer = payer[2] in ours and receiver[2] in ours
        for account, direction in sides:
            other = payer if direction == "in" else receiver
            when = _line_date(block, direction, where, problems)
            if when is None:
                continue
            line = StatementLine(
                account=account,
                date=when,
                direction=direction,
                amount=amount,
                number=block.get("Номер"),
                kind=block.title,
                counterparty=other[0],
                counterparty_inn=other[1],
                counterparty_account=other[2],
                counterparty_bank=other[3],
                purpose=_purpose(block),
                own_transfer=transfer,
            )
            seen[line.id] += 1
            if seen[line.id] > 1:
                # Two lines alike in every field of the key (two equal bank fees on
                # one day): the n-th of them in a file is the n-th in an overlap too.
                line = replace(line, occurrence=seen[line.id])
            lines.append(line)
    return tuple(lines)


def _direction_from_dates(block: _Block) -> str | None:
    credited, debited = block.get("ДатаПоступило"), block.get("ДатаСписано")
    if credited and not debited:
        return "in"
    if debited and not credited:
        return "out"
    return None


def _line_date(block: _Block, direction: str, where: str, problems: list[str]) -> date | None:
    keys = (
        ("ДатаПоступило", "ДатаСписано") if direction == "in" else ("ДатаСписано", "ДатаПоступило")
    )
    for key in (*keys, "Дата"):
        if block.get(key):
            return _date(block.get(key), f"{where}: {key}", problems)
    problems.append(f"{where}: no date")
    return None


# --------------------------------------------------------------------------- self-checks


def _balance_problems(sections: Iterable[BalanceSection]) -> list[str]:
    problems = []
    for s in sections:
        computed = s.opening + s.incoming - s.outgoing
        if computed != s.closing:
            problems.append(
                f"{s.label}: opening {rub(s.opening)} + in {rub(s.incoming)} − out "
                f"{rub(s.outgoing)} = {rub(computed)}, but the closing balance is "
                f"{rub(s.closing)} (off by {rub(s.closing - computed)})"
            )
    return problems


def _turnover_problems(
    sections: Iterable[BalanceSection], lines: Iterable[StatementLine]
) -> list[str]:
    """Each section's turnovers against the lines of its account and period."""
    totals: dict[tuple[str, date, str], Decimal] = {}
    for line in lines:
        key = (line.account, line.date, line.direction)
        totals[key] = totals.get(key, Decimal("0.00")) + line.amount
    by_account: dict[str, list[tuple[date, str, Decimal]]] = {}
    for (account, day, direction), amount in totals.items():
        by_account.setdefault(account, []).append((day, direction, amount))
    problems = []
    for s in sections:
        found = {"in": Decimal("0.00"), "out": Decimal("0.00")}
        for day, direction, amount in by_account.get(s.account, ()):
            if s.start <= day <= s.end:
                found[direction] += amount
        for direction, stated, word in (
            ("in", s.incoming, "ВсегоПоступило"),
            ("out", s.outgoing, "ВсегоСписано"),
        ):
            if found[direction] != stated:
                problems.append(
                    f"{s.label}: the documents bring {'in' if direction == 'in' else 'out'} "
                    f"{rub(found[direction])}, {word} says {rub(stated)} "
                    f"(off by {rub(stated - found[direction])})"
                )
    return problems
