"""Statements written in the bank's format, for the tests that need a particular one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

OURS = "40702810900000001045"
OTHER = "40702810500000009999"


@dataclass(frozen=True)
class Doc:
    amount: Decimal
    incoming: bool = True
    number: str = "1"
    on: date = date(2026, 12, 1)
    purpose: str = "Оплата по договору"
    party: str = "ИП Иванов Иван Иванович"
    party_inn: str = "771234567890"
    party_account: str = "40802810000000000123"
    kind: str = "Платежное поручение"
    account: str = OURS
    extra: Mapping[str, str] = field(default_factory=dict)


def doc_text(doc: Doc) -> list[str]:
    payer = (
        (doc.party, doc.party_inn, doc.party_account)
        if doc.incoming
        else ('ООО "Мебель"', "7701000001", doc.account)
    )
    receiver = (
        ('ООО "Мебель"', "7701000001", doc.account)
        if doc.incoming
        else (doc.party, doc.party_inn, doc.party_account)
    )
    day = doc.on.strftime("%d.%m.%Y")
    lines = [
        f"СекцияДокумент={doc.kind}",
        f"Номер={doc.number}",
        f"Дата={day}",
        f"Сумма={doc.amount}",
        f"ПлательщикСчет={payer[2]}",
        f"ДатаСписано={'' if doc.incoming else day}",
        f"Плательщик=ИНН {payer[1]} {payer[0]}",
        f"ПлательщикИНН={payer[1]}",
        f"Плательщик1={payer[0]}",
        f"ПолучательСчет={receiver[2]}",
        f"ДатаПоступило={day if doc.incoming else ''}",
        f"Получатель1={receiver[0]}",
        f"ПолучательИНН={receiver[1]}",
        f"НазначениеПлатежа={doc.purpose}",
    ]
    lines += [f"{k}={v}" for k, v in doc.extra.items()]
    return [*lines, "КонецДокумента"]


def statement_text(
    docs: Iterable[Doc],
    *,
    opening: Decimal = Decimal("1000.00"),
    account: str = OURS,
    start: date = date(2026, 12, 1),
    end: date = date(2026, 12, 1),
    closing_delta: Decimal = Decimal("0"),
    turnover_delta: Decimal = Decimal("0"),
) -> str:
    docs = list(docs)
    incoming = sum((d.amount for d in docs if d.incoming), Decimal("0"))
    outgoing = sum((d.amount for d in docs if not d.incoming), Decimal("0"))
    first, last = start.strftime("%d.%m.%Y"), end.strftime("%d.%m.%Y")
    lines = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        "Отправитель=Тест-Банк",
        f"ДатаНачала={first}",
        f"ДатаКонца={last}",
        f"РасчСчет={account}",
        "СекцияРасчСчет",
        f"ДатаНачала={first}",
        f"ДатаКонца={last}",
        f"РасчСчет={account}",
        f"НачальныйОстаток={opening}",
        f"ВсегоПоступило={incoming + turnover_delta}",
        f"ВсегоСписано={outgoing}",
        f"КонечныйОстаток={opening + incoming + turnover_delta - outgoing + closing_delta}",
        "КонецРасчСчет",
    ]
    for doc in docs:
        lines += doc_text(doc)
    return "\r\n".join([*lines, "КонецФайла", ""])


def statement_bytes_for(docs: Iterable[Doc], encoding: str = "cp1251", **kwargs: object) -> bytes:
    return statement_text(docs, **kwargs).encode(encoding)  # type: ignore[arg-type]
