"""Steps 10 and 11: reconciliation, the digest and the reports, then the end of the day."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sheetledger.commands import report as report_command
from sheetledger.crm.amocrm import AmoClient
from sheetledger.demo.base import DemoBase, money_of, rub, sheet_day
from sheetledger.demo.story import CHART_PNG
from sheetledger.reconcile.command import digest as digest_command
from sheetledger.reconcile.command import reconcile as reconcile_command
from sheetledger.reconcile.digest import CHART_FILE
from sheetledger.sandbox.runner import ACCOUNTANT_ID, CASHIER_ID, OWNER_ID


class EveningSteps(DemoBase):
    """The evening's findings and figures, and the day in numbers."""

    # 10 -----------------------------------------------------------------------------------

    def evening(self) -> None:
        self.step(10, "Evening: reconciliation, the digest and the owner's figures")
        card_id = next(iter(self.ticked))
        deal_id, number = (int(part) for part in card_id.split(":"))
        slot = self.amo["slots"][number - 1]
        raised = self.ticked[card_id] + 5000
        self.say(
            f"A manager raises the confirmed prepayment {card_id} to {rub(raised)} in amoCRM "
            "(the client added a mirror) — after the money was confirmed."
        )
        managers_ui = AmoClient(self.cfg.amocrm.base_url, self.cfg.amocrm.token.reveal())
        managers_ui.update_leads(
            [
                {
                    "id": deal_id,
                    "custom_fields_values": [
                        {"field_id": slot["amount"], "values": [{"value": str(int(raised))}]}
                    ],
                }
            ]
        )
        self.sync("pull the manager's change")
        row = self.tab("payments").by_id()[card_id]
        self.check(
            "the confirmed payment keeps the amount it was confirmed at, and is flagged",
            money_of(row["Amount"]) == self.ticked[card_id]
            and "after confirmation" in str(row["Sync state"]),
            str(row["Sync state"]),
        )

        config_file = self.folder / "config.yaml"
        self.console.print(Text(f"$ sheetledger -c {config_file} reconcile", style="bold"))
        code = reconcile_command(self.cfg, self.console)
        findings = {str(r["Code"]): r for r in self.tab("reconciliation").rows if r.get("Code")}
        self.check("reconcile ran and found errors to act on (exit code 1)", code == 1, str(code))
        wanted = {"AMOUNT_CHANGED", "BANK_UNASSIGNED", "CASH_HELD"}
        self.check(
            "it found what the day left: the changed amount, the unassigned bank line, "
            "the cash still on a manager",
            wanted <= set(findings),
            ", ".join(sorted(findings)),
        )
        self.check(
            "the changed amount's finding names the payment",
            card_id in str(findings.get("AMOUNT_CHANGED", {}).get("Finding", "")),
        )

        telegram = self.sandbox.telegram
        for user in (OWNER_ID, CASHIER_ID, ACCOUNTANT_ID):
            telegram.open_chat(user)
        before = {user: len(telegram.sent(user)) for user in (OWNER_ID, ACCOUNTANT_ID)}
        self.console.print(Text(f"$ sheetledger -c {config_file} digest --now", style="bold"))
        digest_command(self.cfg, self.console, now=True, to=None)
        owner = telegram.sent(OWNER_ID)[before[OWNER_ID] :]
        texts = [str(m.get("text")) for m in owner if m.get("text")]
        photos = [m for m in owner if m.get("photo")]
        for text in texts:
            self.console.print(
                Panel(Text(text), title="the owner's digest", title_align="left", expand=False)
            )
        chart = self.cfg.state_dir / CHART_FILE
        self.check(
            "the owner's digest: net profit, money not assigned in the bank, the findings",
            bool(texts)
            and "Чистая прибыль" in texts[0]
            and "В банке не разнесено" in texts[0]
            and "Сверка" in texts[0],
        )
        self.check(
            "the marketing-versus-turnover chart came with it as a picture",
            len(photos) == 1 and chart.exists(),
            str(chart),
        )
        accountant = [
            str(m.get("text"))
            for m in telegram.sent(ACCOUNTANT_ID)[before[ACCOUNTANT_ID] :]
            if m.get("text")
        ]
        for text in accountant:
            self.console.print(
                Panel(Text(text), title="the accountant's digest", title_align="left", expand=False)
            )
        self.check(
            "the accountant's digest lists the bank line she still has to assign",
            bool(accountant) and "Смирнов" in accountant[0],
        )

        png = self.folder / CHART_PNG
        first = min(
            (d for r in self.tab("deals").rows if (d := sheet_day(r.get("Contract date")))),
            default=self.today(),
        )
        self.console.print(
            Text(
                f"$ sheetledger -c {config_file} report --from {first.replace(day=1)} "
                f"--to {self.today()} --by salon --png {png}",
                style="bold",
            )
        )
        report_command(
            self.cfg,
            self.console,
            start=first.replace(day=1),
            end=self.today(),
            by="salon",
            png=png,
        )
        self.check("the owner's chart is saved as a PNG next to the state", png.exists())
        profit = self.tab("profit").rows
        self.check(
            "the Profit tab has a row per deal, written by the daemon",
            len(profit) == len(self.tab("deals").rows),
            f"{len(profit)} rows",
        )
        month = f"{self.today():%Y-%m}"
        pnl = {str(r[self.tab("pnl").header[0]]): r for r in self.tab("pnl").rows}
        confirmed_this_month = sum(
            (
                money_of(
                    r["Received amount"]
                    if r.get("Received amount") not in ("", None)
                    else r["Amount"]
                )
                for r in self.tab("payments").rows
                if (r.get("Confirmed") is True or r.get("Received amount") not in ("", None))
                and (day := sheet_day(r.get("Confirmed at"))) is not None
                and f"{day:%Y-%m}" == month
            ),
            Decimal(0),
        )
        shown = money_of(pnl.get(month, {}).get("Revenue"))
        self.check(
            "the P&L's revenue this month = the received amounts confirmed this month, "
            "to the kopeck",
            shown == confirmed_this_month,
            f"{rub(shown)} / {rub(confirmed_this_month)}",
        )
        self.result.facts["findings"] = sorted(findings)

    # 11 -----------------------------------------------------------------------------------

    def finish(self) -> None:
        self.step(11, "End of the day")
        payments = self.tab("payments").rows
        today = self.today()
        confirmed_today = [
            r
            for r in payments
            if r.get("Confirmed") is True and sheet_day(r.get("Confirmed at")) == today
        ]
        confirmed_sum = sum(
            (money_of(r["Received amount"] or r["Amount"]) for r in confirmed_today), Decimal(0)
        )
        expenses = [r for r in self.tab("expenses").rows if str(r["Expense ID"]).startswith("tg:")]
        cash = self.cash_on_hand()
        summary = Table(title="The day in numbers", title_justify="left", show_header=False)
        summary.add_column("")
        summary.add_column("", justify="right")
        rows = [
            ("deals in the ledger", str(len(self.tab("deals").rows))),
            ("payments in the ledger", str(len(payments))),
            (
                "confirmed today (cashbox + accountant)",
                f"{len(confirmed_today)} · {rub(confirmed_sum)}",
            ),
            ("cash still on the managers", rub(sum(cash.values(), Decimal(0)))),
            (
                "expenses recorded by the bot",
                rub(sum((money_of(r["Amount"]) for r in expenses), Decimal(0))),
            ),
            ("notes written into amoCRM (go-live + today)", str(len(self.notes()))),
            ("sync cycles run by the daemon", str(self.daemon.cycles)),
            (
                "requests: amoCRM · Google · Telegram",
                " · ".join(
                    str(_requests(e))
                    for e in (self.sandbox.amo, self.sandbox.sheets, self.sandbox.telegram)
                ),
            ),
        ]
        for name, value in rows:
            summary.add_row(name, value)
        self.console.print(summary)
        stopped_in = time.monotonic()
        with self.console.status("[cyan]stopping the daemon (it finishes the running job first)…"):
            stopped = self.serving.stop() if self.serving else False
        took = time.monotonic() - stopped_in
        self.check(
            "the daemon stopped cleanly: scheduler shut down, bot stopped polling",
            stopped and not self.daemon.scheduler.running,
            f"{took:.1f}s",
        )
        runs = {r["job"]: r for r in self.daemon.store.job_runs()}
        last = runs.get("sync", {})
        error = str(last.get("error") or "")
        self.check(
            "its local state records the last sync, its one problem the changed amount",
            last.get("finished") is not None and error.count("E_") == error.count("E_CHANGED") == 1,
            error or str(last.get("detail", "")),
        )


def _requests(emulator: Any) -> int:
    """Requests the emulator answered (its control side is never counted)."""
    return int(sum(emulator.counters.by_kind.values()))
