"""Step 9: a bill sent to the bot by the supply manager, to a paid bill in amoCRM.

Павел sends the bill as a PDF with a caption, answers the bot's buttons, and the order is
made with the file kept in the sandbox's shared drive; the Requests tab of his cabinet is
the other door to the same orders (README «Payment orders»).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.panel import Panel
from rich.text import Text

from sheetledger.connect import build_drive, build_google
from sheetledger.demo.base import DemoBase, money_of
from sheetledger.demo.story import BOT_TIMEOUT
from sheetledger.sandbox.runner import ACCOUNTANT_ID, SUPPLY_ID

BILL_NAME = "счёт 77.pdf"
BILL_PDF = (  # a small, well-formed one-page PDF: what a supplier's bill looks like to Drive
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
CATEGORY = "Прочее"  # «фурнитура» is no category's keyword, so the bot asks
SEND = "✅ Отправить бухгалтеру"


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


class OrderSteps(DemoBase):
    """A payment order: asked, told, paid, written back, told again."""

    # 9 ------------------------------------------------------------------------------------

    def payment_order(self) -> None:
        self.step(9, "A payment order: supply sends a bill, the accountant pays, amoCRM learns it")
        deal_id = self.new_deals[0]
        contract = self.new_contracts[deal_id]
        telegram, sms = self.sandbox.telegram, self.sandbox.sms
        for person in (ACCOUNTANT_ID, SUPPLY_ID):  # they have started the bot once
            telegram.open_chat(person)
        told_accountant = len(telegram.sent(ACCOUNTANT_ID))
        sms_before = len(sms.messages())
        amount = Decimal("18500")
        caption = f"18 500 фурнитура для кухни ООО «Фурнитура-Опт» счёт 77 №{contract}"
        asked_at = len(telegram.sent(SUPPLY_ID))
        telegram.send_document(SUPPLY_ID, BILL_NAME, BILL_PDF, "application/pdf", caption)
        self.say(f"Павел sends the bot the bill «{BILL_NAME}» with the caption «{caption}».")
        asked = self.bot_says(asked_at, "", "the bot reads the bill…")
        if CATEGORY in _buttons(asked):
            self.press(asked, CATEGORY)
            asked = self.bot_says(asked_at, "проверьте", "the bot shows the order…")
        self.require(
            "the bot shows the order and asks to send it to the accountant",
            SEND in _buttons(asked),
            str(asked.get("text", "")),
        )
        self.press(asked, SEND)
        done = self.bot_says(asked_at, "отправлена бухгалтеру", "the bot makes the order…")
        self.console.print(
            Panel(
                Text.assemble(
                    ("Павел: ", "bold"),
                    f"📎 {BILL_NAME}  {caption}\n",
                    ("бот: ", "bold"),
                    str(done.get("text", "")),
                ),
                expand=False,
                border_style="blue",
            )
        )
        told_supply = len(telegram.sent(SUPPLY_ID))
        mine = [
            r
            for r in self.tab("invoices").rows
            if str(r.get("Source", "")).startswith(f"tg:{SUPPLY_ID}:")
        ]
        self.require("the bot made one order of the bill", len(mine) == 1, f"{len(mine)} order(s)")
        order_id = str(mine[0][self.tab("invoices").header[0]])
        bill_link = str(mine[0].get("Bill", ""))
        stored = self.sandbox.sheets.files_in(self.cfg.orders.drive_folder_id or "")
        drive = build_drive(self.cfg, build_google(self.cfg))
        self.check(
            "the bill is in the shared drive's folder, byte for byte the PDF he sent",
            len(stored) == 1
            and stored[0].id in bill_link
            and drive.download(stored[0].id) == BILL_PDF,
            stored[0].name if stored else "no file",
        )
        self.say("The Requests tab of his cabinet is the other door: a form row, ticked Submit.")
        self.sync("the new order reaches the accountant")
        self.daemon.notify_job()
        order = self.tab("invoices").by_id().get(order_id, {})
        self.check(
            f"the order {order_id} is in Invoices, linked to the deal of № {contract}",
            order.get("Deal ID") == deal_id and money_of(order.get("Amount")) == amount,
            str(order.get("State", "")),
        )
        cards = telegram.sent(ACCOUNTANT_ID)[told_accountant:]
        self.check(
            "the accountant got one Telegram message and one SMS about it",
            len(cards) == 1 and len(sms.messages()) == sms_before + 1,
            f"{len(cards)} message(s), {len(sms.messages()) - sms_before} SMS",
        )
        orders = self.cabinet_tab("accountant", "cabinet_orders")
        self.require("the order is in the accountant's Orders tab", order_id in orders.by_id())
        self.type(orders, order_id, "Paid", "TRUE")
        self.type(orders, order_id, "Paid from", "р/с Сбер")
        self.say("Ирина pays the bill from the bank and ticks Paid in her Orders tab.")
        self.sync("the paid order goes to amoCRM")
        self.daemon.notify_job()
        notes = [
            str(n["params"].get("text", ""))
            for n in self.notes()
            if n["entity_id"] == deal_id and f"sheetledger:{order_id}#" in str(n["params"])
        ]
        if notes:
            self.console.print(Panel(Text(notes[0]), title="the deal's note", expand=False))
        lead = self.leads()[deal_id]
        costs = self.field_value(lead, self.amo["fields"]["costs_paid"])
        self.check(
            "one note in the deal (supplier, amount, bill) and «costs paid» = the order",
            len(notes) == 1
            and "ООО «Фурнитура-Опт»" in notes[0]
            and bill_link in notes[0]
            and costs is not None
            and Decimal(str(costs)) == amount,
            f"{len(notes)} note(s), costs paid {costs}",
        )
        told = telegram.sent(SUPPLY_ID)[told_supply:]
        self.check(
            "the supply manager was told in Telegram that his order is paid",
            len(told) == 1 and order_id in str(told[0].get("text", "")),
            str(told[0].get("text", "")) if told else "nothing",
        )
        self.result.facts["payment_order"] = order_id
        self.result.facts["order_notes"] = len(notes)

    def bot_says(self, first: int, wanted: str, what: str) -> dict[str, Any]:
        """The bot's first message to Павел after ``first`` once it says ``wanted``."""
        telegram = self.sandbox.telegram

        def ready(message: dict[str, Any]) -> bool:
            ids = telegram.bot_message_ids.get(SUPPLY_ID, [])
            at = len(ids) > first and ids[first] == message["message_id"]
            return at and wanted in str(message.get("text") or "")

        with self.console.status(f"[cyan]{what}"):
            return telegram.wait_for_sent(SUPPLY_ID, 1, BOT_TIMEOUT, ready)[0]

    def press(self, message: dict[str, Any], label: str) -> None:
        """Павел taps ``label`` under the bot's message."""
        self.say(f"Павел taps «{label}».")
        self.sandbox.telegram.press_button(
            SUPPLY_ID, message["message_id"], _buttons(message)[label]
        )
