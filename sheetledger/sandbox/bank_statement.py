"""A bank statement as the bank exports it, for the sandbox's own accounts.

1CClientBankExchange 1.03 in windows-1251 with CRLF line ends, one balance section
for the day — the shape of the real files in tests/fixtures/bank — written from
movements the sandbox knows (the demo's deals), so an import of it has something
real to match. The balance section adds up by construction: the importer's
self-checks are the test that the file is faithful.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = [
    "ACQUIRER",
    "COMPANY",
    "COMPANY_INN",
    "DEMO_ACCOUNT",
    "LENDER",
    "Movement",
    "demo_bank_config",
    "statement_file",
]

COMPANY = 'ООО "Мебельная мастерская"'
COMPANY_INN = "7701000001"
_BANK = "ПАО Сбербанк"
_BIC = "044525225"
_CORR = "30101810400000000225"

# The demo business's one settlement account, its acquiring bank and the lender its
# customers buy on credit from (README «Bank statements»: acquiring and credit rules).
DEMO_ACCOUNT = "40702810938000001045"
ACQUIRER = ("ПАО Сбербанк (эквайринг)", "7707083893", "30233810938000000001")
LENDER = ("АО «ОТП Банк»", "7708001614", "30101810000000000311")


def demo_bank_config() -> dict[str, object]:
    """The ``bank`` section of the demo sandbox's config: our account, acquirer and lender."""
    return {
        "accounts": [DEMO_ACCOUNT],
        "acquiring": {"payer_inns": [ACQUIRER[1]], "fee_percent": "1.8"},
        "credit": {"lender_inns": [LENDER[1]], "discount_percent": "0"},
    }


@dataclass(frozen=True)
class Movement:
    """One document of the statement, seen from our account."""

    amount: Decimal
    number: str
    party: str
    party_inn: str
    party_account: str
    purpose: str
    incoming: bool = True
    kind: str = "Платежное поручение"
    on: date | None = None  # the document's day, when not the statement's last day


def statement_file(
    account: str,
    day: date,
    opening: Decimal,
    movements: Iterable[Movement],
    *,
    start: date | None = None,
) -> bytes:
    """The statement of ``account`` for ``start`` (default: ``day``) to ``day``, one balance
    section, as the bank's export: bytes in windows-1251."""
    moves = list(movements)
    incoming = sum((m.amount for m in moves if m.incoming), Decimal("0"))
    outgoing = sum((m.amount for m in moves if not m.incoming), Decimal("0"))
    shown = day.strftime("%d.%m.%Y")
    first = (start or day).strftime("%d.%m.%Y")
    lines = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        f"Отправитель={_BANK}",
        "Получатель=Бухгалтерия предприятия",
        f"ДатаСоздания={shown}",
        "ВремяСоздания=18:00:00",
        f"ДатаНачала={first}",
        f"ДатаКонца={shown}",
        f"РасчСчет={account}",
        "СекцияРасчСчет",
        f"ДатаНачала={first}",
        f"ДатаКонца={shown}",
        f"РасчСчет={account}",
        f"НачальныйОстаток={_money(opening)}",
        f"ВсегоПоступило={_money(incoming)}",
        f"ВсегоСписано={_money(outgoing)}",
        f"КонечныйОстаток={_money(opening + incoming - outgoing)}",
        "КонецРасчСчет",
    ]
    for move in moves:
        lines += _document(account, move.on.strftime("%d.%m.%Y") if move.on else shown, move)
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def _document(account: str, shown: str, move: Movement) -> list[str]:
    ours = (COMPANY, COMPANY_INN, account)
    theirs = (move.party, move.party_inn, move.party_account)
    payer, receiver = (theirs, ours) if move.incoming else (ours, theirs)
    return [
        f"СекцияДокумент={move.kind}",
        f"Номер={move.number}",
        f"Дата={shown}",
        f"Сумма={_money(move.amount)}",
        f"ПлательщикСчет={payer[2]}",
        f"ДатаСписано={'' if move.incoming else shown}",
        f"Плательщик=ИНН {payer[1]} {payer[0]}",
        f"ПлательщикИНН={payer[1]}",
        f"Плательщик1={payer[0]}",
        f"ПлательщикБанк1={_BANK}",
        f"ПлательщикБИК={_BIC}",
        f"ПлательщикКорсчет={_CORR}",
        f"ПолучательСчет={receiver[2]}",
        f"ДатаПоступило={shown if move.incoming else ''}",
        f"Получатель=ИНН {receiver[1]} {receiver[0]}",
        f"ПолучательИНН={receiver[1]}",
        f"Получатель1={receiver[0]}",
        f"ПолучательБанк1={_BANK}",
        f"ПолучательБИК={_BIC}",
        f"ПолучательКорсчет={_CORR}",
        "ВидПлатежа=электронно",
        "ВидОплаты=01",
        "Очередность=5",
        f"НазначениеПлатежа={move.purpose}",
        "КонецДокумента",
    ]


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")
