"""Step 9: a payment order from the supply manager's Requests tab to a paid bill in amoCRM."""

from __future__ import annotations

from decimal import Decimal

from rich.panel import Panel
from rich.text import Text

from sheetledger.demo.base import DemoBase, money_of
from sheetledger.sandbox.runner import ACCOUNTANT_ID, SUPPLY_ID


class OrderSteps(DemoBase):
    """A payment order: asked, told, paid, written back, told again."""

    # 9 ------------------------------------------------------------------------------------

    def payment_order(self) -> None:
        self.step(9, "A payment order: supply asks, the accountant pays, amoCRM learns it")
        deal_id = self.new_deals[0]
        contract = self.new_contracts[deal_id]
        telegram, sms = self.sandbox.telegram, self.sandbox.sms
        for person in (ACCOUNTANT_ID, SUPPLY_ID):  # they have started the bot once
            telegram.open_chat(person)
        told_accountant = len(telegram.sent(ACCOUNTANT_ID))
        told_supply = len(telegram.sent(SUPPLY_ID))
        sms_before = len(sms.messages())
        requests = self.cabinet_tab("supply", "requests")
        empty = [r for r in requests.rows if r.get("Submit") is not True]
        self.require("the supply manager's Requests tab has an empty row", bool(empty))
        order_id = str(empty[0]["Order ID"])
        amount = Decimal("18500")
        form = (
            ("Amount", str(amount)),
            ("Supplier", "ООО «Фурнитура-Опт»"),
            ("Purpose", "фурнитура для кухни"),
            ("Contract no", contract),
            ("Bill link", "https://drive.google.com/file/d/demo-bill-77/view"),
            ("Submit", "TRUE"),
        )
        for header, value in form:
            self.type(requests, order_id, header, value)
        self.say(
            f"Павел fills a row of his Requests tab for contract № {contract} and ticks Submit."
        )
        self.sync("the Requests row becomes an order")
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
            and "demo-bill-77" in notes[0]
            and costs is not None
            and Decimal(str(costs)) == amount,
            f"{len(notes)} note(s), costs paid {costs}",
        )
        state = str(self.cabinet_tab("supply", "requests").by_id()[order_id].get("State", ""))
        told = telegram.sent(SUPPLY_ID)[told_supply:]
        self.check(
            "the supply manager sees «paid on …» in his tab and was told in Telegram",
            state.startswith("paid on") and len(told) == 1,
            state,
        )
        self.result.facts["payment_order"] = order_id
        self.result.facts["order_notes"] = len(notes)
