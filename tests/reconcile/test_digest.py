"""The daily digest: its figures (pure) and once a day through the Telegram emulator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sheetledger.ledger.tabs import BANK, EXPENSES, INVOICES, RECONCILIATION
from sheetledger.ledger.view import RowAppend
from sheetledger.reconcile.digest import (
    CHART_FILE,
    SENT_KEY,
    TEXT_LIMIT,
    accountant_message,
    bank_lines,
    cashier_message,
    month_net_profit,
    orders_due,
    overdue_orders,
    owner_message,
    send_due,
    telegram_photo_sender,
    telegram_sender,
)
from sheetledger.reconcile.jobs import digest_job
from sheetledger.reports.figures import Period
from sheetledger.reports.terminal import period_report
from sheetledger.sandbox.runner import ACCOUNTANT_ID, CASHIER_ID, OWNER_ID
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerChanges, TabRows, apply_changes
from sheetledger.texts import split_text
from tests.e2e.world import make_world
from tests.unit.builders import CONFIG, empty_view

TODAY = date(2026, 11, 27)


def _view():
    view = empty_view()
    view.tabs["expenses"] = TabRows(EXPENSES)
    view.tabs["reconciliation"] = TabRows(RECONCILIATION)
    changes = LedgerChanges()
    day = timedelta(days=1)
    changes.replace["payments"] = [
        # confirmed yesterday, in full and with a different received amount
        {"id": "1:1", "deal_id": 1, "amount": Decimal(30000), "confirmed": True,
         "confirmed_at": TODAY - day, "method": "cash", "manager": "Анна"},
        {"id": "2:1", "deal_id": 2, "amount": Decimal(10000), "received": Decimal(9500),
         "confirmed": True, "confirmed_at": TODAY - day, "method": "bank", "manager": "Анна"},
        # earlier this month, and the same days of last month
        {"id": "3:1", "deal_id": 3, "amount": Decimal(5000), "confirmed": True,
         "confirmed_at": date(2026, 11, 3), "method": "card", "manager": "Борис"},
        {"id": "4:1", "deal_id": 4, "amount": Decimal(7000), "confirmed": True,
         "confirmed_at": date(2026, 10, 20), "method": "card", "manager": "Борис"},
        {"id": "5:1", "deal_id": 5, "amount": Decimal(9000), "confirmed": True,
         "confirmed_at": date(2026, 10, 30), "method": "card", "manager": "Борис"},
        # cash still on Борис since the 20th
        {"id": "6:1", "deal_id": 6, "amount": Decimal(12000), "date": date(2026, 11, 20),
         "method": "cash", "manager": "Борис"},
    ]  # fmt: skip
    changes.replace["expenses"] = [
        {"id": "e1", "date": TODAY - day, "amount": Decimal(3500), "category": "Реклама"},
        {"id": "e2", "date": TODAY - day, "amount": Decimal(999), "void": True},
        {"id": "e3", "date": date(2026, 10, 2), "amount": Decimal(1000)},
    ]
    changes.replace["reconciliation"] = [
        {"id": f"CASH_HELD:{n}", "severity": "warning", "code": "CASH_HELD", "subject": str(n),
         "detail": f"held {n}"} for n in range(6)
    ] + [
        {"id": "OVERPAID:9", "severity": "error", "code": "OVERPAID", "subject": "9",
         "detail": "over"},
        {"id": "DEAL_GONE:8", "severity": "error", "code": "DEAL_GONE", "subject": "8",
         "detail": "gone", "seen": True},
        {"id": "history", "detail": "7 open"},
    ]  # fmt: skip
    return apply_changes(view, changes)


def test_the_owner_reads_yesterday_the_month_cash_and_the_worst_findings():
    text = owner_message(_view(), TODAY)
    lines = text.split("\n")
    assert lines[0] == "📊 Сводка за 26.11.2026"
    assert "Выручка (подтверждено): 39 500,00 ₽" in lines
    assert "Расходы: 3 500,00 ₽" in lines  # the void expense does not count
    assert (
        "С начала месяца (по 26.11): выручка 44 500,00 ₽, расходы 3 500,00 ₽, итог 41 000,00 ₽"
        in lines
    )
    # 1–26 October: the 20th counts, the 30th does not
    assert (
        "Те же дни прошлого месяца: выручка 7 000,00 ₽, расходы 1 000,00 ₽, итог 6 000,00 ₽"
        in lines
    )
    assert "• Борис: 12 000,00 ₽ (1 пл.), 7 дн. (с 20.11)" in lines
    assert "🔎 Сверка: 7 расхождений, главные:" in lines  # the muted one is left out
    worst = lines[lines.index("🔎 Сверка: 7 расхождений, главные:") + 1 :]
    assert len(worst) == 5 and worst[0] == "❗ OVERPAID 9: over"
    assert len(text) <= TEXT_LIMIT


def test_the_cashier_reads_only_the_cash_on_the_managers():
    assert cashier_message(_view(), TODAY) == (
        "💵 Наличные у менеджеров на 27.11.2026\n• Борис: 12 000,00 ₽ (1 пл.), 7 дн. (с 20.11)"
    )


def test_a_long_digest_is_cut_between_lines_within_telegrams_limit():
    text = "\n".join(f"строка {n} " + "ж" * 90 for n in range(200))
    parts = split_text(text)
    assert all(len(p) <= TEXT_LIMIT for p in parts) and len(parts) > 1
    assert "\n".join(parts) == text
    assert split_text("я" * 5000) == ["я" * TEXT_LIMIT, "я" * 904]


def test_sent_once_a_day_at_its_minute_across_a_restart(tmp_path):
    world = make_world(tmp_path / "world")
    try:
        config = world.config  # digest.at 09:00, Europe/Moscow
        for user in (OWNER_ID, CASHIER_ID):
            world.box.telegram.open_chat(user)
        send = telegram_sender(config)
        db = tmp_path / "digest.db"
        store = LocalState(db)

        def at(day: int, hh: int, mm: int) -> datetime:
            return datetime(2026, 11, day, hh, mm, tzinfo=config.tz).astimezone(UTC)

        def tick(store: LocalState, when: datetime) -> None:
            digest_job(config, world.ledger, send, store, when)

        tick(store, at(27, 8, 59))
        assert world.box.telegram.sent(OWNER_ID) == []
        tick(store, at(27, 9, 0))
        owner = world.box.telegram.sent(OWNER_ID)
        assert len(owner) == 1 and owner[0]["text"].startswith("📊 Сводка за 26.11.2026")
        assert len(world.box.telegram.sent(CASHIER_ID)) == 1
        tick(store, at(27, 9, 1))
        store.close()  # the daemon restarts
        store = LocalState(db)
        tick(store, at(27, 9, 2))
        tick(store, at(27, 23, 59))
        assert len(world.box.telegram.sent(OWNER_ID)) == 1
        assert len(world.box.telegram.sent(CASHIER_ID)) == 1
        tick(store, at(28, 9, 0))
        assert len(world.box.telegram.sent(OWNER_ID)) == 2
        # On demand: sent whatever the memory says, and the memory is left alone.
        forced = send_due(
            config, world.ledger.read, send, store, at(28, 9, 5), force=True, only=[OWNER_ID]
        )
        assert forced == [OWNER_ID] and len(world.box.telegram.sent(OWNER_ID)) == 3
        store.close()
    finally:
        world.box.stop(save=False)
        world.store.close()


# --------------------------------------------------------------------------- net profit, bank,
# the accountant, the chart


def _full_view():
    """``_view`` with the Deals and Bank tabs the owner's net profit and bank lines read."""
    view = _view()
    view.tabs["bank"] = TabRows(BANK)
    changes = LedgerChanges()
    changes.replace["deals"] = [
        {"id": str(n), "name": f"Сделка {n}", "manager": "Анна", "salon": "Ленина",
         "budget": Decimal(50000)} for n in range(1, 7)
    ]  # fmt: skip
    changes.replace["bank"] = [
        {"id": "b1", "date": date(2026, 11, 22), "direction": "in", "amount": Decimal("13777"),
         "counterparty": "Смирнов А. В.", "state": "unassigned"},
        {"id": "b2", "date": date(2026, 11, 25), "direction": "in", "amount": Decimal("5000.50"),
         "counterparty": "Петров П. П.", "state": "suggested"},
        {"id": "b3", "date": date(2026, 11, 25), "direction": "in", "amount": Decimal("9999"),
         "counterparty": "Гусев Т.", "state": "confirmed"},
        {"id": "b4", "date": date(2026, 11, 25), "direction": "out", "amount": Decimal("700"),
         "counterparty": "Банк", "state": "outgoing"},
    ]  # fmt: skip
    return apply_changes(view, changes)


def _config():
    return CONFIG


def _with_orders(view):
    """``view`` with an Invoices tab: two orders overdue, one due soon, one later, one paid,
    one rejected."""
    view.tabs["invoices"] = TabRows(INVOICES)
    changes = LedgerChanges()
    changes.replace["invoices"] = [
        {"id": "O-1", "amount": Decimal(12000), "supplier": "ООО Фасады", "purpose": "фасады",
         "due": date(2026, 11, 20)},
        {"id": "O-2", "amount": Decimal("500.50"), "supplier": "ИП Петров",
         "due": date(2026, 11, 26)},
        {"id": "O-3", "amount": Decimal(3000), "supplier": "Доставка", "due": date(2026, 11, 29)},
        {"id": "O-4", "amount": Decimal(9000), "supplier": "Позже", "due": date(2026, 12, 15)},
        {"id": "O-5", "amount": Decimal(7000), "supplier": "Оплачено", "due": date(2026, 11, 1),
         "paid": True, "paid_on": date(2026, 11, 2)},
        {"id": "O-6", "amount": Decimal(100), "supplier": "Отказ", "due": date(2026, 11, 1),
         "reject": True, "reason": "дубль"},
        {"id": "O-7", "amount": "сто", "supplier": "Текст в сумме", "due": date(2026, 11, 1)},
    ]  # fmt: skip
    return apply_changes(view, changes)


def test_the_owner_reads_the_overdue_payment_orders():
    view = _with_orders(_full_view())
    lines = overdue_orders(view, TODAY)
    assert lines == [
        "⏰ Просрочены поручения на оплату (E_OVERDUE): 2 на 12 500,50 ₽",
        "• O-1 ООО Фасады: 12 000,00 ₽, срок 20.11, просрочено 7 дн. (фасады)",
        "• O-2 ИП Петров: 500,50 ₽, срок 26.11, просрочено 1 дн.",
    ]
    text = owner_message(view, TODAY).split("\n")
    assert text[text.index(lines[0]) - 1].startswith("🏦")  # after the bank, before the findings
    # every order paid: said so, once
    paid = LedgerChanges()
    for oid in ("O-1", "O-2"):
        paid.update("invoices", oid, {"paid": True, "paid_on": TODAY})
    assert overdue_orders(apply_changes(view, paid), TODAY) == [
        "⏰ Просроченных поручений на оплату нет"
    ]


def test_the_accountant_reads_the_orders_to_pay():
    view = _with_orders(_full_view())
    assert orders_due(view, TODAY) == [
        "• O-1 ООО Фасады: 12 000,00 ₽, срок 20.11, просрочено 7 дн. (фасады)",
        "• O-2 ИП Петров: 500,50 ₽, срок 26.11, просрочено 1 дн.",
        "• O-3 Доставка: 3 000,00 ₽, срок 29.11",
    ]
    text = accountant_message(view, TODAY).split("\n")
    assert text[-4:] == ["Оплатить поручения (срок до 30.11):", *orders_due(view, TODAY)]
    assert "Оплатить поручения" not in accountant_message(_full_view(), TODAY)


def test_the_owners_net_profit_is_the_reports_to_the_kopeck():
    config = _config()
    view = _full_view()
    yesterday = TODAY - timedelta(days=1)
    sources = {key: list(view.tab(key)) for key in ("deals", "payments", "expenses")}
    period = Period("m", yesterday.replace(day=1), yesterday)
    report = period_report(config, sources, period, ())
    net = month_net_profit(view, config, TODAY)
    assert net == report.pnl[-1]["net_profit"] == Decimal("41000.00")
    text = owner_message(view, TODAY, config)
    assert "Чистая прибыль с начала месяца (как в отчёте): 41 000,00 ₽" in text.split("\n")
    # Without the Deals tab (an old job's read) the line is left out, nothing else moves.
    no_deals = _view()
    del no_deals.tabs["deals"]
    assert "Чистая прибыль" not in owner_message(no_deals, TODAY, config)


def test_money_in_the_bank_not_assigned_is_said_to_the_owner():
    lines = bank_lines(_full_view(), TODAY)
    # unassigned and suggested money in; what is confirmed or went out is not waiting
    assert lines == [
        "🏦 В банке не разнесено по договорам: 18 777,50 ₽ (2 стр., самое давнее с 22.11 (5 дн.))"
    ]
    assert bank_lines(_view(), TODAY) == ["🏦 Все поступления в банк разнесены по договорам"]
    assert overdue_orders(_full_view(), TODAY) == []  # no payment orders yet: nothing to say


def test_the_accountant_reads_what_she_has_to_do():
    view = _full_view()
    changes = LedgerChanges()
    changes.replace["payments"] = [
        *view.tab("payments"),
        {"id": "7:1", "deal_id": 6, "amount": Decimal(20000), "date": date(2026, 11, 20),
         "method": "bank", "contract_no": "1045", "manager": "Анна"},
        {"id": "7:2", "deal_id": 6, "amount": Decimal(30000), "date": date(2026, 12, 20),
         "method": "bank", "manager": "Анна"},  # not due yet
        {"id": "8:1", "deal_id": 6, "amount": Decimal(1000), "date": date(2026, 11, 1),
         "method": "card", "state": "cancelled", "manager": "Анна"},  # a lost deal's
    ]  # fmt: skip
    text = accountant_message(apply_changes(view, changes), TODAY)
    assert text.split("\n") == [
        "🧾 Дела бухгалтера на 27.11.2026",
        "Безнал не подтверждён: 1 пл. на 20 000,00 ₽",
        "• 7:1 № 1045 bank: 20 000,00 ₽, срок 20.11",
        "Разнести в кабинете (вкладка Bank): 2 стр. на 18 777,50 ₽",
        "• 22.11 13 777,00 ₽ от Смирнов А. В. (unassigned)",
        "• 25.11 5 000,50 ₽ от Петров П. П. (suggested)",
    ]
    assert accountant_message(_view(), TODAY).split("\n")[1:] == [
        "Весь безнал подтверждён",
        "Банк: разносить нечего",
    ]


def test_owners_get_the_chart_as_a_picture_the_accountant_her_list(tmp_path):
    world = make_world(tmp_path / "world")
    try:
        config = world.config.model_copy(update={"state_dir": tmp_path / "state"})
        for user in (OWNER_ID, CASHIER_ID, ACCOUNTANT_ID):
            world.box.telegram.open_chat(user)
        _seed_ledger(world.ledger)
        store = LocalState(tmp_path / "digest.db")
        at = datetime(2026, 11, 27, 9, 0, tzinfo=config.tz).astimezone(UTC)
        digest_job(
            config,
            world.ledger,
            telegram_sender(config),
            store,
            at,
            telegram_photo_sender(config),
        )
        owner = world.box.telegram.sent(OWNER_ID)
        assert [bool(m.get("photo")) for m in owner] == [False, True]
        assert owner[1]["caption"] == "📈 Маркетинг и выручка по месяцам, 2026 (по 26.11)"
        chart = config.state_dir / CHART_FILE
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "Чистая прибыль с начала месяца" in owner[0]["text"]
        assert "В банке не разнесено по договорам: 13 777,00 ₽" in owner[0]["text"]
        (accountant,) = world.box.telegram.sent(ACCOUNTANT_ID)
        assert accountant["text"].startswith("🧾 Дела бухгалтера на 27.11.2026")
        assert "Смирнов" in accountant["text"]
        (cashier,) = world.box.telegram.sent(CASHIER_ID)  # text only: no chart for the cashier
        assert not cashier.get("photo")
        digest_job(config, world.ledger, telegram_sender(config), store, at, None)
        assert len(world.box.telegram.sent(OWNER_ID)) == 2  # once a day, picture included
        store.close()
    finally:
        world.box.stop(save=False)
        world.store.close()


def test_a_chat_that_cannot_be_reached_does_not_stop_the_others(tmp_path, caplog):
    world = make_world(tmp_path / "world")
    try:
        config = world.config
        world.box.telegram.open_chat(OWNER_ID)  # the cashier and the accountant never did
        store = LocalState(tmp_path / "digest.db")
        at = datetime(2026, 11, 27, 9, 0, tzinfo=config.tz).astimezone(UTC)
        send = telegram_sender(config)
        digest_job(config, world.ledger, send, store, at)
        assert len(world.box.telegram.sent(OWNER_ID)) == 1
        assert store.get(SENT_KEY) == {str(OWNER_ID): "2026-11-27"}
        said = [r for r in caplog.records if "digest not sent" in r.getMessage()]
        assert len(said) == 2  # the cashier and the accountant, once each
        world.box.telegram.open_chat(CASHIER_ID)
        digest_job(config, world.ledger, send, store, at + timedelta(minutes=1))
        assert len(world.box.telegram.sent(CASHIER_ID)) == 1  # tried again, reached now
        assert len(world.box.telegram.sent(OWNER_ID)) == 1
        said = [r for r in caplog.records if "digest not sent" in r.getMessage()]
        assert len(said) == 2  # the accountant's second failure that day is not said again
        store.close()
    finally:
        world.box.stop(save=False)
        world.store.close()


def _seed_ledger(ledger):
    """Deals, payments confirmed this month and an unassigned bank line, written to the sheet."""
    changes = LedgerChanges()
    for n in (1, 2):
        deal = {"id": n, "name": f"Сделка {n}", "manager": "Анна", "budget": Decimal(50000)}
        payment = {"id": f"{n}:1", "deal_id": n, "amount": Decimal(20000 * n),
                   "method": "card", "confirmed": True, "confirmed_at": date(2026, 11, 10 + n),
                   "manager": "Анна"}  # fmt: skip
        changes.appends += [
            RowAppend("deals", str(n), deal),
            RowAppend("payments", f"{n}:1", payment),
        ]
    line = {"id": "b1", "date": date(2026, 11, 22), "direction": "in", "amount": Decimal("13777"),
            "counterparty": "Смирнов А. В.", "state": "unassigned"}  # fmt: skip
    changes.appends.append(RowAppend("bank", "b1", line))
    ledger.write(changes)
