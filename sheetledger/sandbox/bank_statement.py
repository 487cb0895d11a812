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

__all__ = ["COMPANY", "COMPANY_INN", "Movement", "statement_file"]

COMPANY = 'ООО "Мебельная мастерская"'
COMPANY_INN = "7701000001"
_BANK = "ПАО Сбербанк"
_BIC = "044525225"
_CORR = "30101810400000000225"


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


def statement_file(
    account: str, day: date, opening: Decimal, movements: Iterable[Movement]
) -> bytes:
    """The day's statement of ``account`` as the bank's export: bytes in windows-1251."""
    moves = list(movements)
    incoming = sum((m.amount for m in moves if m.incoming), Decimal("0"))
    outgoing = sum((m.amount for m in moves if not m.incoming), Decimal("0"))
    shown = day.strftime("%d.%m.%Y")
    lines = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        f"Отправитель={_BANK}",
        "Получатель=Бухгалтерия предприятия",
        f"ДатаСоздания={shown}",
        "ВремяСоздания=18:00:00",
        f"ДатаНачала={shown}",
        f"ДатаКонца={shown}",
        f"РасчСчет={account}",
        "СекцияРасчСчет",
        f"ДатаНачала={shown}",
        f"ДатаКонца={shown}",
        f"РасчСчет={account}",
        f"НачальныйОстаток={_money(opening)}",
        f"ВсегоПоступило={_money(incoming)}",
        f"ВсегоСписано={_money(outgoing)}",
        f"КонечныйОстаток={_money(opening + incoming - outgoing)}",
        "КонецРасчСчет",
    ]
    for move in moves:
        lines += _document(account, shown, move)
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
