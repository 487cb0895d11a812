"""Steps 4, 5 and 8: new deals, the cashbox cabinet's handover, and the push back to amoCRM."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich.table import Table

from sheetledger.crm.amocrm import AmoClient
from sheetledger.demo.base import DemoBase, money_of, note_markers, rub, sheet_day
from sheetledger.demo.story import CASH, MORNING_DEALS
from sheetledger.sandbox.amocrm import STATUS_WON
from sheetledger.sandbox.seed import AMO_CITIES, AMO_SALONS


class PaymentSteps(DemoBase):
    """Payments through amoCRM and the cabinets, and what the daemon writes back."""

    # 4 ------------------------------------------------------------------------------------

    def morning_deals(self) -> None:
        self.step(4, "Morning: five new deals are signed in amoCRM")
        amo = self.amo
        today = self.today()
        contract_numbers = [
            int(r["Contract no"])
            for r in self.tab("deals").rows
            if str(r.get("Contract no") or "").isdigit()
        ]
        next_no = max(contract_numbers, default=1000) + 1
        cash_before = self.cash_on_hand()
        payloads = []
        for n, deal in enumerate(MORNING_DEALS):
            contract_no = str(next_no + n)
            values: list[dict[str, Any]] = [
                {"field_id": amo["fields"]["contract_no"], "values": [{"value": contract_no}]},
                {"field_id": amo["fields"]["contract_date"], "values": [{"value": _stamp(today)}]},
                {"field_id": amo["fields"]["product"], "values": [{"value": deal.product}]},
                {"field_id": amo["fields"]["salon"], "values": [{"value": AMO_SALONS[deal.salon]}]},
                {
                    "field_id": amo["fields"]["city"],
                    "values": [{"value": AMO_CITIES[1] if deal.salon == 2 else AMO_CITIES[0]}],
                },
            ]
            for slot, (amount, method, days) in zip(amo["slots"], deal.payments, strict=False):
                values += [
                    {"field_id": slot["amount"], "values": [{"value": str(amount)}]},
                    {"field_id": slot["method"], "values": [{"value": method}]},
                    {
                        "field_id": slot["date"],
                        "values": [{"value": _stamp(today + timedelta(days=days))}],
                    },
                ]
            payloads.append(
                {
                    "name": deal.name,
                    "price": deal.price,
                    "pipeline_id": amo["pipeline_id"],
                    "status_id": amo["statuses"]["Договор заключен"],
                    "responsible_user_id": amo["managers"][deal.manager],
                    "custom_fields_values": values,
                }
            )
        # The managers save the deal cards: POST /api/v4/leads, through the real client.
        managers_ui = AmoClient(self.cfg.amocrm.base_url, self.cfg.amocrm.token.reveal())
        created = managers_ui.create_leads(payloads)
        self.new_deals = [int(c["id"]) for c in created]
        for deal_id, n in zip(self.new_deals, range(len(MORNING_DEALS)), strict=True):
            self.new_contracts[deal_id] = str(next_no + n)
        self.check("amoCRM accepted the five deals (POST /api/v4/leads)", len(self.new_deals) == 5)
        report = self.sync("pull the new deals")

        payments = self.tab("payments").by_id()
        deals = self.tab("deals").by_id()
        table = Table(title="New in the ledger", title_justify="left")
        for column in (
            "deal",
            "contract",
            "manager",
            "budget",
            "payment",
            "method",
            "amount",
            "due",
        ):
            table.add_column(column, justify="right" if column in ("budget", "amount") else "left")
        slots_expected = sum(len(d.payments) for d in MORNING_DEALS)
        found = 0
        for deal_id, deal in zip(self.new_deals, MORNING_DEALS, strict=True):
            row = deals.get(str(deal_id), {})
            for number in range(1, len(deal.payments) + 1):
                pay = payments.get(f"{deal_id}:{number}")
                if pay is None:
                    continue
                found += 1
                due = sheet_day(pay.get("Date"))
                table.add_row(
                    str(row.get("Deal", "")) if number == 1 else "",
                    str(row.get("Contract no", "")) if number == 1 else "",
                    str(row.get("Manager", "")) if number == 1 else "",
                    rub(row.get("Budget")) if number == 1 else "",
                    str(pay.get("Kind")),
                    str(pay.get("Method")),
                    rub(pay.get("Amount")),
                    f"{due:%d.%m}" if due else "—",
                )
        self.console.print(table)
        self.check(
            "the five deals and their payments are in the ledger",
            all(str(i) in deals for i in self.new_deals) and found == slots_expected,
            f"{found} of {slots_expected} payments",
        )
        self.check(
            "the cycle added exactly those rows",
            report.new_rows == 5 + slots_expected,
            f"{report.new_rows} new rows",
        )
        cash_ids = {
            f"{i}:{n}"
            for i, d in zip(self.new_deals, MORNING_DEALS, strict=True)
            for n, p in enumerate(d.payments, start=1)
            if p[1] == CASH
        }
        other_ids = {
            f"{i}:{n}"
            for i, d in zip(self.new_deals, MORNING_DEALS, strict=True)
            for n, p in enumerate(d.payments, start=1)
            if p[1] != CASH
        }
        cashbox = set(self.cabinet_tab("cashbox", "cabinet_payments").by_id())
        accountant = set(self.cabinet_tab("accountant", "cabinet_payments").by_id())
        self.check(
            "cash payments went to the cashier's cabinet, the rest to the accountant's",
            cash_ids <= cashbox
            and other_ids <= accountant
            and not (cash_ids & accountant)
            and not (other_ids & cashbox),
        )
        cash_after = self.cash_on_hand()
        users = {v: k for k, v in amo["users"].items()}
        added: dict[str, Decimal] = defaultdict(Decimal)
        for deal in MORNING_DEALS:
            for amount, method, days in deal.payments:
                if method == CASH and days == 0:  # the remainder due later is not on him yet
                    added[users[amo["managers"][deal.manager]]] += Decimal(amount)
        grew = {
            m: cash_after.get(m, Decimal(0)) - cash_before.get(m, Decimal(0)) for m in cash_after
        }
        self.check(
            "the managers' cash on hand grew by today's cash prepayments",
            {m: v for m, v in grew.items() if v} == dict(added),
            ", ".join(f"{m}: +{rub(v)}" for m, v in added.items()),
        )

    # 5 ------------------------------------------------------------------------------------

    def cash_handover(self) -> None:
        self.step(5, "Evening at the cashbox: a manager hands in the cash collected")
        before = self.cash_on_hand()
        form = self.cabinet_tab("cashbox", "handover")
        held_in_form = {str(r["Manager"]): money_of(r["Cash held"]) for r in form.rows}
        self.check(
            "the cashier's «Cash handover» form shows what each manager holds",
            {m: v for m, v in held_in_form.items() if v} == before,
        )
        manager = max(before, key=lambda m: (before[m], m))
        amount = (before[manager] * Decimal("0.7") // 1000) * 1000
        self.say(
            f"{manager} brings {rub(amount)} in cash. The cashier types it into «Amount received» "
            f"on that manager's line of the «Cash handover» tab and ticks «Accept»."
        )
        self.type(form, manager, "Amount received", str(amount))
        self.type(form, manager, "Accept", "TRUE")
        self.sync("apply the handover")
        after = self.cash_on_hand()
        table = Table(title="Cash on hand, before and after the handover", title_justify="left")
        for column in ("manager", "before", "after", "change"):
            table.add_column(column, justify="left" if column == "manager" else "right")
        for name in sorted(set(before) | set(after)):
            b, a = before.get(name, Decimal(0)), after.get(name, Decimal(0))
            change = f"−{rub(b - a)}" if b > a else ("0" if a == b else f"+{rub(a - b)}")
            style = "bold" if name == manager else ""
            table.add_row(name, rub(b), rub(a), change, style=style)
        self.console.print(table)
        drop = before[manager] - after.get(manager, Decimal(0))
        self.check(
            f"{manager}'s cash dropped by exactly the sum handed in",
            drop == amount,
            f"{rub(before[manager])} → {rub(after.get(manager))}",
        )
        others = {m: v for m, v in after.items() if m != manager}
        self.check(
            "the other managers' cash did not move",
            others == {m: v for m, v in before.items() if m != manager},
        )
        log_tab = self.cabinet_tab("cashbox", "handover_log")
        table = Table(title="Handover log (cashbox cabinet)", title_justify="left")
        for column in ("handover", "manager", "amount", "payments confirmed", "partial receipt"):
            table.add_column(
                column, overflow="fold", justify="right" if column == "amount" else "left"
            )
        for row in log_tab.rows:
            table.add_row(
                str(row["Handover"]),
                str(row["Manager"]),
                rub(row["Amount"]),
                str(row["Payments confirmed"]),
                str(row["Partial receipt"] or "—"),
            )
        self.console.print(table)
        self.check(
            "the handover is in the log, once",
            len(log_tab.rows) == 1 and money_of(log_tab.rows[0]["Amount"]) == amount,
        )
        line = {str(r["Manager"]): r for r in self.cabinet_tab("cashbox", "handover").rows}.get(
            manager, {}
        )
        self.say(f"«Last result» on the form: {line.get('Last result', '')}")
        self.check(
            "the form is reset for the next handover",
            line.get("Amount received") in ("", None)
            and line.get("Accept") is False
            and line.get("Handovers") == 1,
        )
        confirmed = [
            p.strip() for p in str(log_tab.rows[0]["Payments confirmed"]).split(",") if p.strip()
        ]
        payments = self.tab("payments").by_id()
        self.check(
            "the payments it covered are confirmed and pushed",
            bool(confirmed)
            and all(
                payments[p]["Confirmed"] is True
                and str(payments[p]["Sync state"]).startswith("pushed")
                for p in confirmed
            ),
            f"{len(confirmed)} payment(s)",
        )
        self.result.facts["handover"] = {
            "manager": manager,
            "amount": amount,
            "before": before[manager],
            "after": after.get(manager, Decimal(0)),
        }

    # 8 ------------------------------------------------------------------------------------

    def push_back(self) -> None:
        self.step(8, "The daemon pushes the confirmations back to amoCRM")
        leads_before = self.leads()
        report = self.sync("push the accountant's ticks")
        pushed = {e.payment_id: e for e in report.pushed}
        self.check(
            "every tick of the accountant was pushed",
            set(self.ticked) <= set(pushed),
            f"{len(pushed)} confirmation(s)",
        )
        leads = self.leads()
        notes = [n for n in self.notes() if n["id"] > self.notes_before_day]
        table = Table(
            title="Notes the daemon wrote into amoCRM today, after go-live (the deals' history)",
            title_justify="left",
            show_lines=True,
        )
        table.add_column("deal", max_width=28)
        table.add_column("note", overflow="fold")
        for note in notes:
            lead = leads[note["entity_id"]]
            table.add_row(
                f"{lead['name']}\n№ {self.field_value(lead, self.amo['fields']['contract_no'])}",
                str(note["params"].get("text", "")),
            )
        self.console.print(table)
        markers = Counter(m for n in notes for m in note_markers(n))
        self.check(
            "one note per pushed confirmation, with its marker",
            all(markers[e.marker] == 1 for e in report.pushed),
        )
        short_notes = [
            str(n["params"]["text"])
            for n in self.notes()
            if f"sheetledger:{self.short_id}#" in str(n["params"].get("text"))
        ]
        self.check(
            "the short transfer's note says it was received in part, and how much of what",
            len(short_notes) == 1 and "частично" in short_notes[0],
            short_notes[0] if short_notes else "no note",
        )

        moved = Table(title="Deal statuses changed by the daemon", title_justify="left")
        for column in ("deal", "before", "after"):
            moved.add_column(column)
        changed = {
            i: (leads_before[i]["status_id"], lead["status_id"])
            for i, lead in leads.items()
            if lead["status_id"] != leads_before[i]["status_id"]
        }
        for deal_id, (was, now) in changed.items():
            moved.add_row(leads[deal_id]["name"], self.status_name(was), self.status_name(now))
        self.console.print(moved)
        credit_deal, card_deal = self.new_deals[2], self.new_deals[1]
        self.check(
            "the credit deal paid in full is «Успешно реализовано»",
            leads[credit_deal]["status_id"] == STATUS_WON,
        )
        self.check(
            "the card deal's first payment moved it to «Платеж подтвержден»",
            leads[card_deal]["status_id"] == self.amo["statuses"]["Платеж подтвержден"],
        )

        deals = self.tab("deals").by_id()
        payments = self.tab("payments").rows
        confirmed: dict[int, Decimal] = defaultdict(Decimal)
        for row in payments:
            if row.get("Confirmed") is True:
                got = row.get("Received amount")
                confirmed[int(row["Deal ID"])] += money_of(
                    got if got not in ("", None) else row["Amount"]
                )
            elif row.get("Received amount") not in ("", None):
                confirmed[int(row["Deal ID"])] += money_of(row["Received amount"])
        touched = sorted({e.deal_id for e in report.pushed})
        totals = Table(title="Confirmed totals of the deals touched", title_justify="left")
        for column in (
            "deal",
            "budget",
            "confirmed: amoCRM",
            "confirmed: ledger",
            "balance due",
        ):
            totals.add_column(column, justify="left" if column == "deal" else "right")
        field_id = self.amo["fields"]["confirmed_total"]
        mismatched = []
        for deal_id in touched:
            row = deals[str(deal_id)]
            in_crm = money_of(self.field_value(leads[deal_id], field_id))
            totals.add_row(
                str(row["Deal"]),
                rub(row["Budget"]),
                rub(in_crm),
                rub(row["Confirmed total"]),
                rub(row["Balance due"]),
            )
            if not (in_crm == money_of(row["Confirmed total"]) == confirmed[deal_id]):
                mismatched.append(deal_id)
        self.console.print(totals)
        self.check(
            "amoCRM, the Deals tab and the ticked payments agree on every confirmed total",
            not mismatched,
            f"{len(touched)} deals" if not mismatched else f"differ on {mismatched}",
        )
        by_hand = {str(r["Payment ID"]): r for r in payments if str(r["Payment ID"]) in self.ticked}
        self.check(
            "the accountant's cabinet ticks reached the master, confirmed by her cabinet",
            len(by_hand) == len(self.ticked)
            and all(
                r["Confirmed"] is True and r["Confirmed by"] == "Бухгалтер"
                for r in by_hand.values()
            ),
        )

        notes_now = len(self.notes())
        again = self.sync("nothing left to do")
        self.check(
            "the next cycle pushes nothing again (exactly once)",
            not again.events and len(self.notes()) == notes_now,
        )
        self.result.facts["notes_today"] = len(notes)
        self.result.facts["status_changes"] = len(changed)


def _stamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
