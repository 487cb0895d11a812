"""What a bank statement costs: parsing, matching, planning (run by hand or by ``make bench``).

A statement of ``--lines`` lines (most of them payments for contracts, some by
payers without a reference, acquiring settlements, fees) is matched against
``--payments`` open payments. Target (docs/architecture.md): 10,000 lines against 30,000
open payments matched in ≤ 2 s of CPU.

    .venv/bin/python bench/bench_bank.py [--lines 10000] [--payments 30000] [--import-lines 5000]

Then a statement of ``--import-lines`` lines is imported into the sandbox's ledger
through the real clients, twice: the first import costs ≤ 3 Sheets requests (read,
locate, one batch write), the second writes nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sheetledger.bank.matching import MatchRules, OpenPayment, match_lines
from sheetledger.bank.plan import plan_import
from sheetledger.bank.statement import parse_statement
from sheetledger.config import BankConfig
from sheetledger.ledger.tabs import BANK, DEALS, EXPENSES, PAYMENTS
from sheetledger.sync.ledger_view import LedgerView, TabRows

OURS = "40702810900000001045"
DAY = date(2026, 12, 1)
PURPOSES = (
    "Оплата по договору № {c} от 12.11.2026. Без НДС",
    "Оплата по дог.{c} за кухню",
    "Оплата по счету {c}",
    "Предоплата по договору поставки {c}-А",
    "Оплата за мебель, НДС не облагается",
)
SURNAMES = (
    "Смирнов", "Иванов", "Кузнецов", "Соколов", "Попов", "Лебедев", "Козлов", "Новиков",
    "Морозов", "Петров", "Волков", "Соловьёв", "Васильев", "Зайцев", "Павлов", "Семёнов",
    "Голубев", "Виноградов", "Богданов", "Воробьёв", "Фёдоров", "Михайлов", "Беляев",
    "Тарасов", "Белов", "Комаров", "Орлов", "Киселёв", "Макаров", "Андреев",
)  # fmt: skip
T = TypeVar("T")


def cpu(call: Callable[[], T]) -> tuple[T, float]:
    start = time.process_time()
    result = call()
    return result, time.process_time() - start


def payments(count: int, rng: random.Random) -> list[OpenPayment]:
    found = []
    for n in range(count):
        method = rng.choices(("bank", "card", "terminal", "credit"), (60, 15, 20, 5))[0]
        amount = Decimal(rng.randrange(5, 400) * 500)
        found.append(
            OpenPayment(
                f"{100000 + n // 2}:{1 + n % 2}",
                100000 + n // 2,
                str(1000 + n // 2),
                method,
                amount,
                date=DAY - timedelta(days=rng.randrange(0, 30)),
                deal_name=f"Кухня — {SURNAMES[(n // 2) % len(SURNAMES)]} А.",
            )
        )
    return found


def statement(lines: int, open_payments: list[OpenPayment], rng: random.Random) -> bytes:
    docs: list[list[str]] = []
    total_in = total_out = Decimal(0)
    for n in range(lines):
        roll = rng.random()
        if roll < 0.85:
            p = rng.choice(open_payments)
            amount = p.amount if rng.random() < 0.8 else p.amount - 500
            purpose = rng.choice(PURPOSES).format(c=p.contract_no)
            incoming = True
        elif roll < 0.95:
            amount = Decimal(rng.randrange(100, 100000))
            purpose = "Перевод средств"
            incoming = True
        else:
            amount = Decimal(rng.randrange(10, 5000))
            purpose = "Комиссия банка за ведение счета"
            incoming = False
        day = (DAY - timedelta(days=rng.randrange(0, 10))).strftime("%d.%m.%Y")
        party = f"4080281000000{n:07d}"
        payer, receiver = (party, OURS) if incoming else (OURS, party)
        docs.append(
            [
                "СекцияДокумент=Платежное поручение",
                f"Номер={n + 1}",
                f"Дата={day}",
                f"Сумма={amount}",
                f"ПлательщикСчет={payer}",
                f"ДатаСписано={'' if incoming else day}",
                f"Плательщик1={rng.choice(SURNAMES)} Иван Петрович",
                f"ПлательщикИНН=77{n:010d}",
                f"ПолучательСчет={receiver}",
                f"ДатаПоступило={day if incoming else ''}",
                "Получатель1=ООО Мебель",
                f"НазначениеПлатежа={purpose}",
                "КонецДокумента",
            ]
        )
        if incoming:
            total_in += amount
        else:
            total_out += amount
    start = (DAY - timedelta(days=10)).strftime("%d.%m.%Y")
    head = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        f"ДатаНачала={start}",
        f"ДатаКонца={DAY:%d.%m.%Y}",
        f"РасчСчет={OURS}",
        "СекцияРасчСчет",
        f"ДатаНачала={start}",
        f"ДатаКонца={DAY:%d.%m.%Y}",
        f"РасчСчет={OURS}",
        "НачальныйОстаток=0",
        f"ВсегоПоступило={total_in}",
        f"ВсегоСписано={total_out}",
        f"КонечныйОстаток={total_in - total_out}",
        "КонецРасчСчет",
    ]
    text = "\r\n".join([*head, *(line for doc in docs for line in doc), "КонецФайла", ""])
    return text.encode("cp1251")


def ledger_view(open_payments: list[OpenPayment]) -> LedgerView:
    def tab(schema: Any, rows: list[dict[str, Any]]) -> TabRows:
        found = TabRows(schema)
        for row in rows:
            found.rows[str(row["id"])] = row
        return found

    payment_rows = [
        {
            "id": p.id,
            "deal_id": p.deal_id,
            "contract_no": p.contract_no,
            "method": p.method,
            "amount": p.amount,
            "date": p.date,
            "confirmed": None,
            "received": None,
        }
        for p in open_payments
    ]
    deal_rows = [
        {"id": p.deal_id, "name": p.deal_name, "contract_no": p.contract_no} for p in open_payments
    ]
    return LedgerView(
        {
            "deals": tab(DEALS, deal_rows),
            "payments": tab(PAYMENTS, payment_rows),
            "expenses": tab(EXPENSES, []),
            "bank": tab(BANK, []),
        }
    )


def sandbox_import(lines: int, rng: random.Random) -> None:
    """A statement of ``lines`` lines imported into the sandbox's ledger, then again."""
    from sheetledger.bank.importer import import_statements
    from sheetledger.connect import build_google, master_ledger
    from sheetledger.ledger.setup import prepare
    from sheetledger.sandbox.runner import Sandbox

    folder = Path(tempfile.mkdtemp(prefix="bench-bank-"))
    box = Sandbox.start(folder / "sandbox")
    try:
        config = box.load_config().model_copy(update={"bank": BankConfig(accounts=(OURS,))})
        ledger = master_ledger(config, build_google(config))
        prepare(ledger)
        data = statement(lines, payments(lines, rng), rng)
        now = datetime.now(UTC)
        for attempt in ("first import", "same file again"):
            box.sheets.counters.reset()
            started = time.perf_counter()
            report = import_statements(config, ledger, [("bench.txt", data)], now=now)
            seconds = time.perf_counter() - started
            kinds = box.sheets.counters.as_dict()["by_kind"]
            print(
                f"  {attempt:<16} {report.requests} Sheets requests (target ≤ 3; "
                f"{kinds.get('write', 0)} writes), {len(report.plan.outcomes):,} new rows, "
                f"{seconds:.1f} s wall"
            )
    finally:
        box.stop(save=False)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--payments", type=int, default=30_000)
    parser.add_argument(
        "--import-lines", type=int, default=5_000, help="lines imported into the sandbox"
    )
    args = parser.parse_args()
    rng = random.Random(1045)
    open_payments = payments(args.payments, rng)
    data = statement(args.lines, open_payments, rng)

    parsed, parse_cpu = cpu(lambda: parse_statement(data, own_accounts={OURS}))
    matches, match_cpu = cpu(lambda: match_lines(parsed.lines, open_payments, MatchRules()))
    view = ledger_view(open_payments)
    config = BankConfig(accounts=(OURS,))
    plan, plan_cpu = cpu(lambda: plan_import(view, parsed.lines, config, now=datetime.now(UTC)))
    sure = sum(1 for m in matches if m.sure)
    print(
        f"bank statement: {len(parsed.lines):,} lines ({len(data) / 1e6:.1f} MB), "
        f"{len(open_payments):,} open payments"
    )
    print(f"  parse + self-checks   {parse_cpu:6.2f} s CPU")
    print(
        f"  match                 {match_cpu:6.2f} s CPU  (target ≤ 2 s; {sure:,} sure, "
        f"{len(matches) - sure:,} suggested, {len(parsed.lines) - len(matches):,} left)"
    )
    print(
        f"  plan (whole import)   {plan_cpu:6.2f} s CPU  ({len(plan.confirmed):,} payments "
        f"confirmed, {len(plan.changes.appends):,} rows to append)"
    )
    print(f"import into the sandbox: a statement of {args.import_lines:,} lines")
    sandbox_import(args.import_lines, rng)


if __name__ == "__main__":
    main()
