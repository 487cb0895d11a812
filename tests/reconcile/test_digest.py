"""The daily digest: its figures (pure) and once a day through the Telegram emulator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sheetledger.ledger.tabs import EXPENSES, RECONCILIATION
from sheetledger.reconcile.digest import (
    TEXT_LIMIT,
    cashier_message,
    fit,
    owner_message,
    send_due,
    telegram_sender,
)
from sheetledger.reconcile.jobs import digest_job
from sheetledger.sandbox.runner import CASHIER_ID, OWNER_ID
from sheetledger.store import LocalState
from sheetledger.sync.ledger_view import LedgerChanges, TabRows, apply_changes
from tests.e2e.world import make_world
from tests.unit.builders import empty_view

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
    parts = fit(text)
    assert all(len(p) <= TEXT_LIMIT for p in parts) and len(parts) > 1
    assert "\n".join(parts) == text
    assert fit("я" * 5000) == ["я" * TEXT_LIMIT, "я" * 904]


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
