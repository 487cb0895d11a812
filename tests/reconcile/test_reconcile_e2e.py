"""``reconcile`` against the emulators: bulk reads, one write, nothing written twice, the CLI."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from sheetledger.cli import main
from sheetledger.connect import build_google, master_ledger
from sheetledger.orders.book import OrderBook
from sheetledger.orders.model import OrderDraft, Payment
from sheetledger.reconcile.run import run_reconcile
from sheetledger.sandbox.runner import Sandbox
from tests.e2e.world import BANK, CASH, make_world

TODAY = date(2026, 11, 27)


@pytest.fixture
def world(tmp_path):
    made = make_world(tmp_path / "world")
    yield made
    made.box.stop(save=False)
    made.store.close()


def _reconcile(world, today: date = TODAY):
    return run_reconcile(world.config, world.ledger, world.crm, world.store, today=today)


def test_a_deleted_row_and_old_cash_are_found_read_in_bulk_and_written_once(world):
    world.deal("101", payments=((30_000, CASH, date(2026, 11, 20)),))
    second = world.deal("102", payments=((20_000, BANK, date(2026, 11, 26)),))
    world.sync()
    world.box.sheets.delete_rows(
        world.spreadsheet_id,
        world.ledger.tabs["payments"][0],
        world.row_number("payments", f"{second}:1"),
    )
    world.box.amo.counters.reset()
    world.box.sheets.counters.reset()
    report = _reconcile(world)
    ids = {t.finding.id for t in report.plan.tracked}
    assert ids == {
        f"PAYMENT_NOT_IN_LEDGER:{second}:1",
        "CASH_HELD:" + world.rows()[0]["Manager"],
    }
    assert report.plan.errors == 1 and report.written
    # Leads of the pipeline (1 page), the notes (1 page): never a request per deal.
    assert sum(world.box.amo.counters.by_kind.values()) <= 3
    assert world.box.sheets.counters.by_kind.get("write", 0) == 1
    tab = world.rows("reconciliation")
    assert [r["Finding"] for r in tab][:-1] == [t.finding.id for t in report.plan.tracked]
    assert tab[-1]["Finding"] == "history" and "2 open" in tab[-1]["Detail"]

    world.box.sheets.counters.reset()
    again = _reconcile(world)
    assert not again.written and world.box.sheets.counters.by_kind.get("write", 0) == 0

    world.sync(full=True)  # the sync brings the row back: that finding is resolved
    after = _reconcile(world)
    assert {t.finding.code for t in after.plan.tracked} == {"CASH_HELD"}
    assert after.plan.resolved_now == [f"PAYMENT_NOT_IN_LEDGER:{second}:1"]
    assert "1 resolved so far" in world.rows("reconciliation")[-1]["Detail"]


def test_a_seen_tick_in_the_tab_mutes_the_finding(world):
    world.deal("201", payments=((30_000, CASH, date(2026, 11, 1)),))
    world.sync()
    _reconcile(world)
    title = world.ledger.tabs["reconciliation"][0]
    seen = list(world.box.sheets.values(world.spreadsheet_id, title)[0]).index("Seen")
    world.box.sheets.type_cell(world.spreadsheet_id, f"'{title}'!{chr(65 + seen)}2", "TRUE")
    muted = _reconcile(world)
    assert [t.muted for t in muted.plan.tracked] == [True]
    assert world.rows("reconciliation")[0]["Seen"] in (True, "TRUE")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_command_exits_0_when_clean_1_on_errors_and_2_when_it_cannot_run(tmp_path, capsys):
    import json

    box = Sandbox.start(tmp_path / "sandbox")
    try:
        cfg = str(box.config_path)
        assert _run(capsys, "-c", cfg, "init")[0] == 0
        code, out = _run(capsys, "-c", cfg, "reconcile", "--json")
        assert code == 0, out
        assert json.loads(out)["findings"] == []
        config = box.load_config()
        box.sheets.delete_sheet(config.google.spreadsheet_id, config.google.tabs.payments)
        code, out = _run(capsys, "-c", cfg, "reconcile", "--json")
        assert code == 2 and json.loads(out)["ran"] is False
    finally:
        box.stop(save=False)
    code, out = _run(capsys, "-c", str(tmp_path / "nothing.yaml"), "reconcile")
    assert code == 2


def test_an_overdue_order_in_invoices_is_found_and_leaves_when_paid(world):
    world.deal("301", payments=((10_000, BANK, date(2026, 11, 26)),))
    world.sync()
    # A ledger of its own, as the bot's: the world's caches the tab ids from before init.
    book = OrderBook(
        master_ledger(world.config, build_google(world.config)), world.store, today=lambda: TODAY
    )
    draft = OrderDraft(
        source="tg:1:99",
        requested_by="Анна",
        amount=Decimal("4200.00"),
        supplier="ООО Стекло",
        purpose="стекло для витрины",
        due=date(2026, 11, 24),
    )
    order = book.create(draft, datetime(2026, 11, 20, 10, 0))
    report = _reconcile(world)
    overdue = [t.finding for t in report.plan.tracked if t.finding.code == "ORDER_OVERDUE"]
    assert [f.subject for f in overdue] == [order.id]
    assert "4 200,00 ₽ to ООО Стекло «стекло для витрины», due 2026-11-24" in overdue[0].detail
    book.pay(order.id, Payment(on=TODAY, amount=order.amount, by="Бухгалтер"))
    after = _reconcile(world)
    assert "ORDER_OVERDUE" not in {t.finding.code for t in after.plan.tracked}
    assert f"ORDER_OVERDUE:{order.id}" in after.plan.resolved_now
