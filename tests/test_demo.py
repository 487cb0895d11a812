"""``sheetledger demo``: its seed, and the whole scenario against the real daemon."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from sheetledger.cli import main as cli_main
from sheetledger.demo import DemoResult, run_demo
from sheetledger.errors import SheetledgerError
from sheetledger.sandbox.amocrm import STATUS_LOST, STATUS_WON, ManualClock
from sheetledger.sandbox.demo_seed import DEMO_DEALS, DEMO_TIMEZONE, plan_demo
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.seed import AMO_PAYMENT_METHODS

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 09:00 in Екатеринбург


# --------------------------------------------------------------------------- the seed


def _seeded(folder: Path) -> Sandbox:
    return Sandbox.start(folder, seed="demo", clock=ManualClock(NOW.timestamp()))


def _values(lead: dict[str, Any]) -> dict[int, Any]:
    return {cf["field_id"]: cf["values"][0]["value"] for cf in lead["custom_fields_values"] or ()}


@pytest.fixture
def seeded(tmp_path: Path):
    box = _seeded(tmp_path / "a")
    yield box
    box.stop(save=False)


def test_the_seed_is_a_furniture_business_of_two_months(seeded: Sandbox) -> None:
    box = seeded
    amo = box.info["amocrm"]
    leads = box.amo.leads()
    assert len(leads) == DEMO_DEALS
    tz = ZoneInfo(DEMO_TIMEZONE)
    today = NOW.astimezone(tz).date()
    created = [datetime.fromtimestamp(lead["created_at"], tz).date() for lead in leads]
    assert today - timedelta(days=60) <= min(created) and max(created) < today
    assert (max(created) - min(created)).days >= 50
    for lead in leads:  # times a real account would show
        assert lead["created_at"] <= lead["updated_at"] < NOW.timestamp()
        if lead["status_id"] in (STATUS_WON, STATUS_LOST):
            assert lead["created_at"] <= lead["closed_at"] < NOW.timestamp()

    fields = amo["fields"]
    managers, salons, cities = set(), set(), set()
    methods: Counter[tuple[int, str]] = Counter()
    one_slot_contracts = 0
    for lead in leads:
        values = _values(lead)
        managers.add(lead["responsible_user_id"])
        salons.add(values[fields["salon"]])
        cities.add(values[fields["city"]])
        filled = [i for i, slot in enumerate(amo["slots"]) if slot["method"] in values]
        for i in filled:
            methods[(i, values[amo["slots"][i]["method"]])] += 1
            assert int(values[amo["slots"][i]["amount"]]) > 0 and amo["slots"][i]["date"] in values
        if fields["contract_no"] in values and filled == [0]:
            one_slot_contracts += 1
        if fields["contract_no"] in values and lead["status_id"] != STATUS_LOST:
            slots_total = sum(int(values[amo["slots"][i]["amount"]]) for i in filled)
            assert slots_total <= lead["price"]
    assert managers == set(amo["managers"]) and len(salons) == 3 and len(cities) == 2
    for slot in (0, 1):  # prepayments and remainders, each by every method
        assert {m for (i, m) in methods if i == slot} == set(AMO_PAYMENT_METHODS)
    assert one_slot_contracts >= 5  # remainders not filled yet (or a credit for the whole price)

    statuses = Counter(lead["status_id"] for lead in leads)
    assert statuses[STATUS_WON] >= 20 and 1 <= statuses[STATUS_LOST] <= 15
    assert statuses[amo["statuses"]["Договор заключен"]] >= 1
    assert statuses[amo["statuses"]["Новая заявка"]] + statuses[amo["statuses"]["Замер"]] >= 1


def test_the_old_records_agree_with_the_statuses_in_amocrm(seeded: Sandbox) -> None:
    box = seeded
    amo = box.info["amocrm"]
    leads = {lead["id"]: lead for lead in box.amo.leads()}
    received = box.info["demo"]["received_before_go_live"]
    assert 100 <= len(received) < 330
    got: dict[int, int] = Counter()
    tz = ZoneInfo(DEMO_TIMEZONE)
    for item in received:
        lead = leads[item["deal_id"]]
        values = _values(lead)
        slot = amo["slots"][item["slot"] - 1]
        assert int(values[slot["amount"]]) == item["amount"]
        assert values[slot["method"]] == item["method"]
        assert datetime.fromisoformat(item["received_on"]).date() < NOW.astimezone(tz).date()
        got[item["deal_id"]] += item["amount"]
    confirmed_or_later = {
        amo["statuses"][s] for s in ("Платеж подтвержден", "Производство", "Доставка и сборка")
    }
    for lead_id, lead in leads.items():
        paid = got.get(lead_id, 0)
        if lead["status_id"] == STATUS_WON:
            assert paid >= lead["price"], lead  # closed won: the old records say it is paid
        elif lead["status_id"] == STATUS_LOST:
            assert paid == 0
        elif paid:
            assert lead["status_id"] in confirmed_or_later and paid < lead["price"]
        else:
            assert lead["status_id"] not in confirmed_or_later
    # No confirmation of sheetledger's is in amoCRM yet: no notes, no confirmed totals.
    assert box.amo.state()["notes"] == []
    assert all(amo["fields"]["confirmed_total"] not in _values(lead) for lead in leads.values())


def test_the_seed_is_deterministic(seeded: Sandbox, tmp_path: Path) -> None:
    other = _seeded(tmp_path / "b")
    try:
        assert other.amo.leads() == seeded.amo.leads()
        assert other.info["demo"] == seeded.info["demo"]
    finally:
        other.stop(save=False)
    today = NOW.astimezone(ZoneInfo(DEMO_TIMEZONE)).date()
    assert plan_demo(today) == plan_demo(today)
    assert plan_demo(today, seed=1) != plan_demo(today)


# --------------------------------------------------------------------------- the day


def _play(folder: Path) -> tuple[DemoResult, str]:
    out = io.StringIO()
    result = run_demo(folder, Console(file=out, width=160, highlight=False))
    return result, out.getvalue()


def test_the_demo_plays_the_day_and_every_check_passes(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result, printed = _play(folder)
    failed = [f"{c.step}: {c.what} — {c.detail}" for c in result.failed]
    assert failed == [], "\n".join(failed) + "\n" + printed[-4000:]
    assert result.exit_code == 0 and len(result.checks) >= 40

    # The handover wrote exactly the handed sum off the manager's cash.
    handover = result.facts["handover"]
    assert handover["amount"] > 0
    assert handover["before"] - handover["after"] == handover["amount"]
    assert result.facts["expenses"] == ["45000.00", "3500.00", "1200.50"]
    assert result.facts["order_notes"] == 1
    assert result.facts["opening_confirmations"] > 100 and result.facts["status_changes"] >= 1
    # The statement: five payments got their money from it; the evening's reconciliation.
    assert len(result.facts["bank_confirmed"]) == 5
    assert {"AMOUNT_CHANGED", "BANK_UNASSIGNED", "CASH_HELD"} <= set(result.facts["findings"])
    assert (folder / "marketing-vs-turnover.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "kl_to_1c.txt").read_bytes().startswith(b"1CClientBankExchange")

    for text in (
        "Cash on hand",
        "Handover log",
        "Оплата подтверждена",
        "Записал расход",
        "Выписка «kl_to_1c.txt»",
        "Чистая прибыль с начала месяца",
        "Дела бухгалтера",
        "Net profit by salon",
        f"sheetledger sandbox --state-dir {folder}",
        f"sheetledger -c {folder}/config.yaml status",
    ):
        assert text in printed, text

    # What it left behind is a sandbox one can resume and look around in.
    assert sorted(p.name for p in (folder / "state").iterdir()) == [
        "amocrm.json",
        "sheets.json",
        "sms.json",
        "telegram.json",
    ]
    assert (folder / "state-daemon" / "state.db").exists()
    info = json.loads((folder / "sandbox.json").read_text(encoding="utf-8"))
    box = Sandbox.start(folder)
    try:
        assert len(box.amo.leads()) == DEMO_DEALS + 5
        assert box.info["google"] == info["google"]
        notes = box.amo.state()["notes"]
        assert len(notes) == (
            result.facts["opening_confirmations"]
            + result.facts["notes_today"]
            + result.facts["order_notes"]  # the payment order's note (step 9)
        )
    finally:
        box.stop(save=False)
    # The day leaves one problem for a person (the amount a manager changed after it was
    # confirmed): status says so with its exit code.
    assert cli_main(["-c", str(folder / "config.yaml"), "status"]) == 1


def test_a_failed_check_makes_the_exit_code_1() -> None:
    from sheetledger.demo import Check

    result = DemoResult(Path("."), [Check("1", "fine", True), Check("2", "broken", False, "why")])
    assert result.exit_code == 1 and [c.what for c in result.failed] == ["broken"]
    assert DemoResult(Path(".")).exit_code == 1  # no check ran: nothing was shown to work
    assert DemoResult(Path("."), [Check("1", "fine", True)]).exit_code == 0


def test_the_demo_never_wipes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("mine", encoding="utf-8")
    with pytest.raises(SheetledgerError, match="did not make"):
        run_demo(tmp_path, Console(file=io.StringIO()))
    assert precious.read_text(encoding="utf-8") == "mine"
