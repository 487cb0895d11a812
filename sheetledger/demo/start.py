"""Steps 1–3: the demo business on the sandbox, ``init``, and go-live with the old records."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from sheetledger.config import Every, Schedule
from sheetledger.connect import build_google, cabinet_ledgers, master_ledger
from sheetledger.daemon import Daemon, DaemonThread
from sheetledger.demo.base import DemoBase, money_of, note_markers, rub
from sheetledger.demo.output import cash_table, cash_text
from sheetledger.demo.story import CASH, OPENING_BY
from sheetledger.ledger.setup import prepare
from sheetledger.reports.pivots import ensure_pivots
from sheetledger.sandbox.amocrm import STATUS_LOST
from sheetledger.sandbox.demo_seed import DEMO_DEALS
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.seed import AMO_CITIES, AMO_PAYMENT_METHODS, AMO_SALONS


class StartSteps(DemoBase):
    """The sandbox, the spreadsheets, the daemon's first import and the owner's old ticks."""

    # 1 ------------------------------------------------------------------------------------

    def start_sandbox(self) -> None:
        self.step(1, "A furniture business on the sandbox (amoCRM, Google Sheets, Telegram)")
        self.box = Sandbox.start(self.folder, seed="demo", fresh=True)
        base = self.sandbox.load_config()
        # The demo triggers each sync itself, when the story needs one (as the minute
        # timer would); the timers are set far apart so none fires on its own meanwhile.
        hourly = Every(every_seconds=3600)
        # The management table is recomputed after every sync (not at most every five
        # minutes), so the owner's figures follow the story.
        self.config = base.model_copy(
            update={
                "schedule": Schedule(sync=hourly, outbox_flush=hourly),
                "reports": base.reports.model_copy(update={"every_seconds": 0}),
            }
        )
        services = Table(
            title="Emulators on loopback (real clients, real HTTP)", title_justify="left"
        )
        for column in ("service", "base URL", "stands for"):
            services.add_column(column)
        roles = {
            "amocrm": "amoCRM API v4",
            "google": "Google Sheets v4 + Drive + OAuth",
            "telegram": "Telegram Bot API",
        }
        for name, url in self.sandbox.urls.items():
            services.add_row(name, url, roles.get(name, ""))
        self.console.print(services)

        leads = list(self.leads().values())
        amo = self.amo
        fields = amo["fields"]
        users = {v: k for k, v in amo["users"].items()}
        per_manager: dict[str, Counter[str]] = defaultdict(Counter)
        methods: Counter[str] = Counter()
        sums: dict[str, Decimal] = defaultdict(Decimal)
        kinds: Counter[str] = Counter()
        one_slot_contracts = 0
        for lead in leads:
            manager = users.get(lead["responsible_user_id"], "?")
            per_manager[manager]["deals"] += 1
            per_manager[manager][str(self.field_value(lead, fields["salon"]))] += 1
            filled = 0
            for slot in amo["slots"]:
                method = self.field_value(lead, slot["method"])
                if method:
                    filled += 1
                    methods[method] += 1
                    sums[method] += money_of(self.field_value(lead, slot["amount"]))
                    kinds[slot["name"]] += 1
                    per_manager[manager]["payments"] += 1
            if self.field_value(lead, fields["contract_no"]) and filled == 1:
                one_slot_contracts += 1
        statuses = Counter(self.status_name(lead["status_id"]) for lead in leads)
        created = [datetime.fromtimestamp(lead["created_at"], self.cfg.tz).date() for lead in leads]

        people = Table(title="Managers", title_justify="left")
        for column in ("manager", "salon", "city", "deals", "payments"):
            people.add_column(
                column, justify="right" if column in ("deals", "payments") else "left"
            )
        for manager, counts in sorted(per_manager.items()):
            salon = next((s for s in AMO_SALONS if counts[s]), "—")
            city = AMO_CITIES[1] if salon == AMO_SALONS[2] else AMO_CITIES[0]
            people.add_row(manager, salon, city, str(counts["deals"]), str(counts["payments"]))
        money = Table(title="Payments expected, by method", title_justify="left")
        for column in ("method", "payments", "sum"):
            money.add_column(column, justify="left" if column == "method" else "right")
        for method in AMO_PAYMENT_METHODS:
            money.add_row(method, str(methods[method]), rub(sums[method]))
        stages = Table(title="Deals by status", title_justify="left")
        stages.add_column("status")
        stages.add_column("deals", justify="right")
        for name, count in statuses.most_common():
            stages.add_row(name, str(count))
        self.console.print(people)
        self.console.print(money)
        self.console.print(stages)
        opening = self.sandbox.info["demo"]["received_before_go_live"]
        self.say(
            f"{len(leads)} deals created {min(created):%d.%m} – {max(created):%d.%m.%Y}; "
            f"{len(opening)} payments were received before today (the owner's old records)."
        )

        salons = {self.field_value(lead, fields["salon"]) for lead in leads}
        cities = {self.field_value(lead, fields["city"]) for lead in leads}
        self.check(
            f"about 200 deals over two months ({len(leads)})",
            len(leads) == DEMO_DEALS and (max(created) - min(created)).days >= 50,
        )
        self.check(
            "3 managers, 3 salons, 2 cities",
            len(per_manager) == 3 and len(salons) == 3 and len(cities) == 2,
        )
        self.check(
            "every payment method is used",
            all(methods[m] for m in AMO_PAYMENT_METHODS),
            ", ".join(f"{m}: {methods[m]}" for m in AMO_PAYMENT_METHODS),
        )
        self.check(
            "prepayments and remainders, some remainders not filled yet",
            kinds["Предоплата"] > 0 and kinds["Остаток"] > 0 and one_slot_contracts > 0,
            f"{kinds['Предоплата']} prepayments, {kinds['Остаток']} remainders, "
            f"{one_slot_contracts} contracts with one payment so far",
        )
        self.check(
            "some deals won, a few lost, some still open",
            statuses["Успешно реализовано"] > 0
            and 0 < statuses["Закрыто и не реализовано"] < 20
            and statuses["Договор заключен"] > 0,
        )

    # 2 ------------------------------------------------------------------------------------

    def init_spreadsheets(self) -> None:
        self.step(2, "sheetledger init: the master spreadsheet and the cabinets")
        client = build_google(self.cfg)
        targets = [("master (the ledger)", master_ledger(self.cfg, client))]
        cabinets = cabinet_ledgers(self.cfg, client)
        targets += [
            (f"cabinet «{c.title or c.name}»", cabinets[c.name])
            for c in self.cfg.google.cabinets
            if c.name in cabinets
        ]
        table = Table(
            title="Tabs prepared (headers, formats, checkboxes, protection)", title_justify="left"
        )
        table.add_column("spreadsheet")
        table.add_column("tabs created")
        problems: list[str] = []
        for index, (label, sheets) in enumerate(targets):
            report = prepare(sheets)
            if index == 0:  # as ``init`` does: the pivots and the chart of the master
                report.created.extend(ensure_pivots(sheets, self.cfg.google.tabs.pivots).added)
            table.add_row(label, ", ".join(report.created) or "—")
            problems.extend(f"{label}: {p}" for p in report.problems)
        self.console.print(table)
        self.require(
            "every spreadsheet prepared without a problem", not problems, "; ".join(problems)
        )
        again = [prepare(sheets).changed for _, sheets in targets]
        again.append(bool(ensure_pivots(targets[0][1], self.cfg.google.tabs.pivots).added))
        self.check("init run again changes nothing (safe to repeat)", not any(again))

    # 3 ------------------------------------------------------------------------------------

    def go_live(self) -> None:
        self.step(3, "Go-live: the daemon starts and imports two months of deals")
        daemon = Daemon(self.cfg)
        self.serving = DaemonThread(daemon)
        self.serving.start()
        self.require(
            "the daemon started (sync job + Telegram bot)",
            self.serving.error is None and self.serving.thread.is_alive(),
            "" if self.serving.error is None else repr(self.serving.error),
        )
        self.say("The daemon runs its first sync as it starts.")
        report = self.wait_cycle(1, "first import")
        leads = self.leads()
        slots = sum(
            1
            for lead in leads.values()
            for s in self.amo["slots"]
            if self.field_value(lead, s["method"])
        )
        deals_tab, payments_tab = self.tab("deals"), self.tab("payments")
        imported = Table(title="Imported", title_justify="left")
        imported.add_column("what")
        imported.add_column("rows", justify="right")
        imported.add_row("amoCRM leads read", str(report.leads_read))
        imported.add_row("Deals rows", str(len(deals_tab.rows)))
        imported.add_row("Payments rows", str(len(payments_tab.rows)))
        cash_rows = len(self.cabinet_tab("cashbox", "cabinet_payments").rows)
        bank_rows = len(self.cabinet_tab("accountant", "cabinet_payments").rows)
        imported.add_row("cashbox cabinet rows (cash)", str(cash_rows))
        imported.add_row("accountant cabinet rows (card, terminal, bank, credit)", str(bank_rows))
        self.console.print(imported)
        self.check(
            "every amoCRM deal is a Deals row",
            set(deals_tab.by_id()) == {str(i) for i in leads},
            f"{len(deals_tab.rows)} rows, {len(leads)} deals",
        )
        self.check(
            "every filled payment slot is a Payments row",
            len(payments_tab.rows) == slots,
            f"{len(payments_tab.rows)} rows, {slots} slots",
        )
        self.check("the cycle reported no problem", report.ok, "; ".join(report.problems[:3]))

        opening = self.sandbox.info["demo"]["received_before_go_live"]
        self.say(
            f"The owner copies her old records into the ledger: she ticks the {len(opening)} "
            "payments received before today, with the day each arrived."
        )
        statuses_before = {i: lead["status_id"] for i, lead in leads.items()}
        payments_tab = self.tab("payments")
        progress = Progress(
            TextColumn("  [cyan]ticking[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.console,
            transient=True,
        )
        with progress:
            for item in progress.track(opening, description="ticking"):
                row_id = f"{item['deal_id']}:{item['slot']}"
                self.type(payments_tab, row_id, "Confirmed", "TRUE")
                self.type(payments_tab, row_id, "Confirmed by", OPENING_BY)
                self.type(payments_tab, row_id, "Confirmed at", item["received_on"])
        report = self.sync("confirmations from the old records")
        pushed_ids = {e.payment_id for e in report.pushed}
        wanted_ids = {f"{i['deal_id']}:{i['slot']}" for i in opening}
        self.check(
            f"all {len(wanted_ids)} old confirmations pushed to amoCRM",
            pushed_ids == wanted_ids,
            f"{len(pushed_ids)} pushed",
        )
        notes = self.notes()
        markers = Counter(m for n in notes for m in note_markers(n))
        self.check(
            "one note per payment in the deals' history",
            len(notes) == len(wanted_ids)
            and all(markers[f"sheetledger:{pid}#1"] == 1 for pid in wanted_ids),
            f"{len(notes)} notes",
        )
        leads = self.leads()
        moved = [i for i, lead in leads.items() if lead["status_id"] != statuses_before[i]]
        self.check(
            "no deal status moved: amoCRM already knew these payments",
            not moved,
            f"{len(moved)} moved",
        )
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for item in opening:
            totals[item["deal_id"]] += Decimal(item["amount"])
        field_id = self.amo["fields"]["confirmed_total"]
        wrong = [
            i
            for i, total in totals.items()
            if money_of(self.field_value(leads[i], field_id)) != total
        ]
        self.check(
            "each deal's confirmed total in amoCRM is the sum of its received payments",
            not wrong,
            f"{len(totals)} deals" if not wrong else f"wrong on {wrong[:5]}",
        )
        self.notes_before_day = max((n["id"] for n in notes), default=0)

        expected = self.expected_cash(leads, opening)
        shown = self.cash_on_hand()
        self.console.print(cash_table("Cash on hand (the ledger's tab)", self.tab("cash").rows))
        self.check(
            "Cash on hand = the cash payments not handed in yet, per manager",
            shown == expected,
            "" if shown == expected else f"expected {cash_text(expected)}",
        )
        self.result.facts["deals_imported"] = len(deals_tab.rows)
        self.result.facts["opening_confirmations"] = len(pushed_ids)

    def expected_cash(
        self, leads: Mapping[int, Mapping[str, Any]], opening: list[dict[str, Any]]
    ) -> dict[str, Decimal]:
        """Cash on the managers by amoCRM and the old records, worked out apart from the daemon.

        A cash payment is on its manager from its date (a remainder due next week is not)
        until it reaches the cashbox; a lost deal's payments are on nobody.
        """
        users = {v: k for k, v in self.amo["users"].items()}
        received = {(i["deal_id"], i["slot"]) for i in opening}
        today = self.today()
        held: dict[str, Decimal] = defaultdict(Decimal)
        for lead_id, lead in leads.items():
            if lead["status_id"] == STATUS_LOST:
                continue
            for number, slot in enumerate(self.amo["slots"], start=1):
                if self.field_value(lead, slot["method"]) != CASH or (lead_id, number) in received:
                    continue
                due = self.field_value(lead, slot["date"])
                if due is not None and datetime.fromtimestamp(int(due), self.cfg.tz).date() > today:
                    continue
                held[users[lead["responsible_user_id"]]] += money_of(
                    self.field_value(lead, slot["amount"])
                )
        return {k: v for k, v in held.items() if v}
