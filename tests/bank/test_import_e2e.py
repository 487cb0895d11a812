"""``sheetledger import-statement`` against the sandbox, with the real statement files.

The real files' payments have no contract numbers in them («Оплата по договору»), so
the deals here are the payers' own: the sure matches come from the payer being the
deal's client, the rest are suggested or left unassigned — as they would be for real.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from sheetledger.cli import main
from sheetledger.sandbox.runner import Sandbox
from tests.bank.conftest import FIXTURES
from tests.e2e.world import BANK, _ts

ACCOUNTS = (
    "40802000000000000055",  # Sber
    "40802000000000000043",  # Tinkoff
    "40802000000000000071",  # two accounts
    "40802000000000000069",
    "40802000000000000011",  # UniCredit
    "40702810200000000001",  # VTB24
)  # the VTB «Банк Клиент Онлайн» account is left out: its file must be refused


@pytest.fixture
def box(tmp_path: Path) -> Any:
    sandbox = Sandbox.start(tmp_path / "sandbox")
    raw = yaml.safe_load(sandbox.config_path.read_text(encoding="utf-8"))
    raw["bank"] = {"accounts": list(ACCOUNTS)}
    for cabinet in raw["google"]["cabinets"]:
        cabinet["bank"] = cabinet["name"] == "accountant"
    sandbox.config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    for name in FIXTURES.glob("*.txt"):
        shutil.copy(name, tmp_path / name.name)
    yield sandbox
    sandbox.stop(save=False)


def _run(capsys: Any, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def _deal(box: Sandbox, name: str, contract: str, amount: str, paid_on: date) -> int:
    amo = box.info["amocrm"]
    slot = amo["slots"][0]
    lead = box.amo.add_lead(
        name,
        price=int(float(amount)) + 1,
        pipeline_id=amo["pipeline_id"],
        status_id=amo["statuses"]["Договор заключен"],
        responsible_user_id=amo["managers"][0],
        custom_fields_values=[
            {"field_id": amo["fields"]["contract_no"], "values": [{"value": contract}]},
            {"field_id": slot["amount"], "values": [{"value": amount}]},
            {"field_id": slot["method"], "values": [{"value": BANK}]},
            {"field_id": slot["date"], "values": [{"value": _ts(paid_on)}]},
        ],
    )
    return int(lead["id"])


def _rows(box: Sandbox, tab: str, spreadsheet: str | None = None) -> list[dict[str, Any]]:
    config = box.load_config()
    if spreadsheet is None:
        spreadsheet, title = config.google.spreadsheet_id, getattr(config.google.tabs, tab)
    else:
        title = tab
    values = box.sheets.values(spreadsheet, title)
    header = [str(h) for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:] if row]


def _notes(box: Sandbox, deal_id: int) -> list[str]:
    return [
        str(n["params"].get("text", ""))
        for n in box.amo.notes_of(deal_id)
        if n.get("note_type") == "common"
    ]


def test_statements_confirm_payments_once_and_say_the_rule(
    box: Sandbox, capsys: Any, tmp_path: Path
) -> None:
    cfg = str(box.config_path)
    assert _run(capsys, "-c", cfg, "init")[0] == 0
    petrov = _deal(box, "Кухня — Петров П.", "1045", "158654.52", date(2024, 4, 26))
    petrova = _deal(box, "Шкаф — Петрова Г.", "1046", "207459", date(2024, 2, 29))
    random_one = _deal(box, "Прихожая — Сидоров С.", "1047", "14000", date(2016, 1, 11))
    assert _run(capsys, "-c", cfg, "sync", "--once")[0] == 0
    sber = str(tmp_path / "sber-business-online_daily-balances_1.03.txt")
    unicredit = str(tmp_path / "unicredit_korschet-case_foreign.txt")
    vtb24 = str(tmp_path / "vtb24_one_day_1.02.txt")

    code, out = _run(capsys, "-c", cfg, "import-statement", "--dry-run", sber, unicredit, vtb24)
    assert code == 0, out
    assert "dry run: nothing written" in out
    assert _rows(box, "bank") == []

    box.sheets.counters.reset()
    code, out = _run(capsys, "-c", cfg, "import-statement", sber, unicredit, vtb24)
    assert code == 0, out
    assert "Sheets requests: 3" in out  # read, locate, one batch write
    payments = {r["Payment ID"]: r for r in _rows(box, "payments")}
    assert payments[f"{petrov}:1"]["Confirmed"] in (True, "TRUE")
    assert payments[f"{petrova}:1"]["Confirmed"] in (True, "TRUE")
    assert payments[f"{random_one}:1"]["Confirmed"] in ("", False, "FALSE", None)
    assert "правило «плательщик и сумма»" in payments[f"{petrov}:1"]["Confirmed by"]
    bank = _rows(box, "bank")
    assert len(bank) == 2 + 2 + 13
    by_state: dict[str, list[dict[str, Any]]] = {}
    for row in bank:
        by_state.setdefault(row["State"], []).append(row)
    assert {r["Matched to"] for r in by_state["confirmed"]} == {f"{petrov}:1", f"{petrova}:1"}
    suggested = [r for r in by_state["suggested"] if r["Candidates"] == f"{random_one}:1"]
    assert len(suggested) == 1 and suggested[0]["Rule"] == "amount+date"
    assert by_state["unassigned"]  # the other VTB24 credits
    # The accountant's cabinet lists the incoming lines left to her, and only those.
    accountant = box.info["google"]["cabinets"]["accountant"]
    to_assign = _rows(box, "Bank", accountant)
    assert {r["Line ID"] for r in to_assign} == {
        r["Line ID"]
        for r in bank
        if r["State"] in ("suggested", "unassigned") and r["Direction"] == "in"
    }
    assert "Assign to" in to_assign[0] and "Own account" not in to_assign[0]
    (note,) = _notes(box, petrov)
    assert "выписка 26.04.2024" in note and "плательщик и сумма" in note

    # She assigns the suggested line in her cabinet: the next sync confirms and pushes it.
    title_values = box.sheets.values(accountant, "Bank")
    header = [str(h) for h in title_values[0]]
    row_number = next(
        n
        for n, row in enumerate(title_values, start=1)
        if row and row[0] == suggested[0]["Line ID"]
    )
    column = chr(ord("A") + header.index("Assign"))
    box.sheets.type_cell(accountant, f"'Bank'!{column}{row_number}", "TRUE")
    code, out = _run(capsys, "-c", cfg, "sync", "--once")
    assert code == 0, out
    payments = {r["Payment ID"]: r for r in _rows(box, "payments")}
    assert payments[f"{random_one}:1"]["Confirmed"] is True
    assert suggested[0]["Line ID"] in payments[f"{random_one}:1"]["Bank ref"]
    (note,) = _notes(box, random_one)
    assert "разнесено в кабинете «Бухгалтер»" in note
    assigned = {r["Line ID"]: r for r in _rows(box, "Bank", accountant)}
    assert assigned[suggested[0]["Line ID"]]["State"] == "assigned"
    code, out = _run(capsys, "-c", cfg, "sync", "--once")
    assert len(_notes(box, random_one)) == 1

    # The same files again: nothing new, no second note.
    code, out = _run(capsys, "-c", cfg, "import-statement", sber, unicredit, vtb24)
    assert code == 0, out
    assert "0 new, 17 already in the Bank tab" in out
    assert len(_rows(box, "bank")) == 17
    assert len(_rows(box, "Bank", accountant)) == len(to_assign)
    assert len(_notes(box, petrov)) == 1
    assert len(_notes(box, petrova)) == 1


def test_a_bad_file_is_refused_and_nothing_is_written(
    box: Sandbox, capsys: Any, tmp_path: Path
) -> None:
    cfg = str(box.config_path)
    assert _run(capsys, "-c", cfg, "init")[0] == 0
    stranger = str(tmp_path / "vtb_bank-client-online_kl_to_1c.txt")
    code, out = _run(capsys, "-c", cfg, "import-statement", stranger)
    assert code == 1
    assert "40702810000000074935 is not one of ours" in out
    tinkoff = str(tmp_path / "tinkoff_bank-orders_1.02.txt")
    code, out = _run(capsys, "-c", cfg, "import-statement", tinkoff)
    assert code == 1
    assert "off by 1 000,00 ₽" in out and "--accept-unbalanced" in out
    cut = tmp_path / "cut.txt"
    cut.write_bytes((tmp_path / "tinkoff_bank-orders_1.02.txt").read_bytes()[:3000])
    code, out = _run(capsys, "-c", cfg, "import-statement", str(cut))
    assert code == 1 and "cut off" in out
    assert _rows(box, "bank") == []

    code, out = _run(capsys, "-c", cfg, "import-statement", "--accept-unbalanced", tinkoff)
    assert code == 0, out
    assert "(accepted)" in out
    assert len(_rows(box, "bank")) == 9


def test_own_transfers_are_marked_and_never_revenue(
    box: Sandbox, capsys: Any, tmp_path: Path
) -> None:
    cfg = str(box.config_path)
    assert _run(capsys, "-c", cfg, "init")[0] == 0
    two = str(tmp_path / "two-accounts_windows-1251.txt")
    code, out = _run(capsys, "-c", cfg, "import-statement", "--accept-unbalanced", two)
    assert code == 0, out
    states = [r["State"] for r in _rows(box, "bank")]
    assert states.count("own transfer") == 4
    assert "confirmed" not in states
