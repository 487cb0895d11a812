"""Step 6: the accountant sends the day's bank statement to the bot, and ticks a card payment."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sheetledger.demo.base import DemoBase, SheetTab, money_of, rub, sheet_day
from sheetledger.demo.story import (
    BANK_FEE,
    BOT_TIMEOUT,
    MORNING_DEALS,
    STATEMENT_FILE,
    STRANGER_DAYS,
)
from sheetledger.sandbox.bank_statement import (
    ACQUIRER,
    DEMO_ACCOUNT,
    LENDER,
    Movement,
    statement_file,
)
from sheetledger.sandbox.runner import ACCOUNTANT_ID


class BankSteps(DemoBase):
    """The bank statement: its lines matched, one assigned by hand, a card ticked."""

    # 6 ------------------------------------------------------------------------------------

    def accountant_ticks(self) -> None:
        self.step(6, "The accountant sends the day's bank statement to the bot")
        cabinet = self.cabinet_tab("accountant", "cabinet_payments")
        today = self.today()
        open_rows = [
            r
            for r in cabinet.rows
            if r.get("Confirmed") is not True and (sheet_day(r.get("Date")) or today) <= today
        ]
        new_ids = {f"{i}:1" for i in self.new_deals}
        older_bank = sorted(
            (r for r in open_rows if r["Method"] == "bank" and str(r["Payment ID"]) not in new_ids),
            key=lambda r: (r.get("Date") or 0, str(r["Payment ID"])),
        )
        self.require("three older bank transfers are open", len(older_bank) >= 3)
        plan = demo_statement(
            today,
            terminal=money_of(self.payment_row(cabinet, self.new_deals[4])["Amount"]),
            credit=(
                money_of(self.payment_row(cabinet, self.new_deals[2])["Amount"]),
                MORNING_DEALS[2].name,
            ),
            transfers=[
                (money_of(r["Amount"]), str(r["Contract no"]), str(r["Deal"]))
                for r in older_bank[:3]
            ],
            short_by=BANK_FEE,
        )
        name = STATEMENT_FILE
        data = statement_file(
            DEMO_ACCOUNT,
            today,
            Decimal("1250000"),
            plan,
            start=today - timedelta(days=STRANGER_DAYS),
        )
        (self.folder / name).write_bytes(data)  # next to the state, to look at
        lines = Table(title=f"The statement «{name}» (1CClientBankExchange, cp1251)")
        for column in ("№", "from", "purpose", "amount"):
            lines.add_column(column, justify="right" if column == "amount" else "left")
        for move in plan:
            lines.add_row(move.number, move.party, move.purpose, rub(move.amount))
        self.console.print(lines)
        telegram = self.sandbox.telegram
        sent_before = len(telegram.sent(ACCOUNTANT_ID))
        telegram.send_document(ACCOUNTANT_ID, name, data, "text/plain")
        with self.console.status("[cyan]the bot imports the statement…"):
            answers = telegram.wait_for_sent(
                ACCOUNTANT_ID, count=sent_before + 1, timeout=BOT_TIMEOUT
            )
        reply = str(answers[-1].get("text", ""))
        self.console.print(
            Panel(
                Text.assemble(("Ирина: ", "bold"), f"📎 {name}\n", ("бот: ", "bold"), reply),
                expand=False,
                border_style="blue",
            )
        )
        bank = self.tab("bank")
        states = Counter(str(r["State"]) for r in bank.rows)
        self.check(
            "the statement's six lines are Bank rows: four confirmed, one suggested, one not",
            len(bank.rows) == len(plan)
            and states == Counter({"confirmed": 4, "suggested": 1, "unassigned": 1}),
            ", ".join(f"{n} {s}" for s, n in states.items()),
        )
        rules = {str(r["Rule"]) for r in bank.rows if r["State"] == "confirmed"}
        self.check(
            "sure matches by the acquiring batch, the credit, the contract number and the payer",
            rules == {"acquiring", "credit", "contract+amount", "payer+amount"},
            ", ".join(sorted(rules)),
        )
        bank_tab = self.cabinet_tab("accountant", "cabinet_bank")
        shown = Table(title="Her cabinet's Bank tab (what waits for her is on top)")
        headers = ("State", "Amount", "Counterparty", "Why", "Candidates")
        for column in headers:
            shown.add_column(
                column, overflow="fold", justify="right" if column == "Amount" else "left"
            )
        for row in bank_tab.rows:
            shown.add_row(*(rub(row[c]) if c == "Amount" else str(row[c]) for c in headers))
        self.console.print(shown)
        order = [str(r["State"]) for r in bank_tab.rows]
        self.check(
            "the unassigned line is on top of her Bank tab, the suggested one next",
            order[:2] == ["unassigned", "suggested"],
            ", ".join(order),
        )
        suggested = next(r for r in bank_tab.rows if r["State"] == "suggested")
        short = older_bank[0]
        self.short_id = str(short["Payment ID"])
        self.check(
            "the short transfer is suggested with its payment as the candidate",
            self.short_id in str(suggested["Candidates"]),
            str(suggested["Candidates"]),
        )
        self.say(
            f"The transfer for contract {short['Contract no']} came {rub(BANK_FEE)} short: "
            f"no rule may confirm it alone. She picks {self.short_id} in «Assign to» "
            "and ticks «Assign»."
        )
        line_id = str(suggested[bank_tab.header[0]])
        self.type(bank_tab, line_id, "Assign to", self.short_id)
        self.type(bank_tab, line_id, "Assign", "TRUE")
        self.sync("the statement's confirmations and her assignment")
        payments = self.tab("payments").by_id()
        by_statement = [
            str(r["Payment ID"])
            for r in payments.values()
            if "выписка" in str(r.get("Confirmed by") or "")
            and sheet_day(r.get("Confirmed at")) == today
        ]
        short_row = payments[self.short_id]
        self.check(
            "five payments got their money from the statement, each pushed",
            len(by_statement) == 5
            and all(
                str(payments[p]["Sync state"]).startswith(("pushed", "partial"))
                for p in by_statement
            ),
            ", ".join(by_statement),
        )
        self.check(
            "the short one holds what arrived, as a partial receipt with the line's ID",
            money_of(short_row["Received amount"]) == money_of(short["Amount"]) - BANK_FEE
            and str(suggested[bank_tab.header[0]]) in str(short_row["Bank ref"]),
            rub(short_row["Received amount"]),
        )
        expenses = [r for r in self.tab("expenses").rows if r["Category"] == "Эквайринг"]
        self.check(
            "the acquiring fee became an expense «Эквайринг»",
            len(expenses) == 1,
            rub(expenses[0]["Amount"]) if expenses else "none",
        )
        rows_before = len(self.tab("bank").rows)
        telegram.send_document(ACCOUNTANT_ID, name, data, "text/plain")
        with self.console.status("[cyan]the same file again…"):
            again = telegram.wait_for_sent(
                ACCOUNTANT_ID, count=sent_before + 2, timeout=BOT_TIMEOUT
            )
        self.check(
            "the same file sent twice adds nothing",
            len(self.tab("bank").rows) == rows_before and "уже были" in str(again[-1].get("text")),
        )
        unassigned = next(r for r in bank_tab.rows if r["State"] == "unassigned")
        self.say(
            f"One line stays unassigned: {rub(unassigned['Amount'])} from "
            f"{unassigned['Counterparty']} — the evening's reconciliation will say it."
        )
        self.result.facts["bank_confirmed"] = by_statement

        card = self.payment_row(
            self.cabinet_tab("accountant", "cabinet_payments"), self.new_deals[1]
        )
        card_id = str(card["Payment ID"])
        self.say(f"The card payment {card_id} she ticks by hand, from the card terminal's report.")
        self.type(self.cabinet_tab("accountant", "cabinet_payments"), card_id, "Confirmed", "TRUE")
        self.ticked[card_id] = money_of(card["Amount"])

    def payment_row(self, cabinet: SheetTab, deal_id: int) -> dict[str, Any]:
        """The first payment of a morning deal, as a cabinet shows it."""
        return cabinet.by_id()[f"{deal_id}:1"]


def demo_statement(
    day: date,
    *,
    terminal: Decimal,
    credit: tuple[Decimal, str],
    transfers: list[tuple[Decimal, str, str]],
    short_by: Decimal,
) -> list[Movement]:
    """The day's statement of the demo account, from the day's deals.

    The acquirer settles the morning's terminal payment minus its 1.8 % fee; the lender
    pays the credit naming the customer; of the older bank transfers (amount, contract,
    deal) the first came short and the second names its contract; the third comes
    from the deal's client without a contract number; and a stranger's transfer of a
    few days ago matches nothing (the statement covers the days since).
    """
    fee = (terminal * Decimal("0.018")).quantize(Decimal("0.01"))
    shown = f"{day:%d.%m.%Y}"
    (short, short_no, short_deal), (exact, exact_no, exact_deal), (third, _, third_deal) = (
        transfers[:3]
    )
    return [
        Movement(
            terminal - fee,
            "501",
            ACQUIRER[0],
            ACQUIRER[1],
            ACQUIRER[2],
            f"Возмещение по операциям эквайринга за {shown}, комиссия {fee}. Без НДС",
            kind="Банковский ордер",
        ),
        Movement(
            credit[0],
            "7731",
            LENDER[0],
            LENDER[1],
            LENDER[2],
            f"Перечисление кредита по кредитному договору, клиент {_client(credit[1])}. Без НДС",
        ),
        Movement(
            short - short_by,
            "318",
            _client(short_deal),
            "",
            "40817810500000000318",
            f"Оплата по договору № {short_no} от {shown}. Без НДС",
        ),
        Movement(
            exact,
            "412",
            _client(exact_deal),
            "",
            "40817810500000000412",
            f"Оплата по дог.{exact_no}, мебель. Без НДС",
        ),
        Movement(
            third,
            "77",
            _client(third_deal),
            "",
            "40817810500000000077",
            "Оплата за мебель. Без НДС",
        ),
        Movement(
            Decimal("13777.00"),
            "9",
            "Смирнов Аркадий Валентинович",
            "",
            "40817810500000000009",
            "Перевод средств",
            on=day - timedelta(days=STRANGER_DAYS),
        ),
    ]


def _client(deal_name: str) -> str:
    """The customer of a deal («Шкаф-купе — Гусев Т.» → «Гусев Т.»)."""
    return deal_name.split(" — ", 1)[-1]
