"""Step 7: the owner types three expenses to the Telegram bot."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from rich.panel import Panel
from rich.text import Text

from sheetledger.demo.base import DemoBase, money_of, sheet_day
from sheetledger.demo.story import BOT_TIMEOUT
from sheetledger.sandbox.runner import OWNER_ID
from sheetledger.sandbox.seed import AMO_CITIES, AMO_SALONS


class BotSteps(DemoBase):
    """Expenses written in Telegram, as the owner writes them."""

    # 7 ------------------------------------------------------------------------------------

    def owner_expenses(self) -> None:
        self.step(7, "The owner records three expenses in Telegram")
        contract = self.new_contracts[self.new_deals[0]]
        messages = (
            "45к аренда @Ленина",
            "3500 реклама яндекс вчера",
            f"1 200,50 такси #{contract}",
        )
        telegram = self.sandbox.telegram
        sent_before = len(telegram.sent(OWNER_ID))
        replies: list[str] = []
        for n, text in enumerate(messages, start=1):
            telegram.send_text(OWNER_ID, text)
            with self.console.status("[cyan]the bot is writing the expense…"):
                answers = telegram.wait_for_sent(
                    OWNER_ID, count=sent_before + n, timeout=BOT_TIMEOUT
                )
            reply = str(answers[-1].get("text", ""))
            replies.append(reply)
            buttons = [
                b["text"]
                for row in (answers[-1].get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ]
            body = Text.assemble(("Ольга: ", "bold"), text, "\n", ("бот: ", "bold"), reply)
            if buttons:
                body.append("\n" + "  ".join(f"[{b}]" for b in buttons), style="dim")
            self.console.print(Panel(body, expand=False, border_style="blue"))
        today = self.today()
        rows = [r for r in self.tab("expenses").rows if str(r["Expense ID"]).startswith("tg:")]
        wanted = (
            (Decimal("45000"), "Аренда", today, None),
            (Decimal("3500"), "Реклама", today - timedelta(days=1), None),
            (Decimal("1200.50"), "Транспорт", today, self.new_deals[0]),
        )
        got = [
            (
                money_of(r["Amount"]),
                str(r["Category"]),
                sheet_day(r["Date"]),
                r["Deal ID"] if r.get("Deal ID") not in ("", None) else None,
            )
            for r in rows
        ]
        self.check("the bot answered each message", all(r.startswith("Записал") for r in replies))
        self.check(
            "«@Ленина» tagged the rent with its salon and city",
            (rows[0].get("Salon"), rows[0].get("City")) == (AMO_SALONS[0], AMO_CITIES[0]),
            f"{rows[0].get('Salon')}, {rows[0].get('City')}",
        )
        self.check(
            "three Expenses rows: amount, category, date («вчера»), the deal of #" + contract,
            got == list(wanted),
            "; ".join(f"{a} {c} {d}" for a, c, d, _ in got),
        )
        self.result.facts["expenses"] = [str(a) for a, *_ in got]
