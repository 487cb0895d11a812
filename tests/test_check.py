"""``sheetledger check`` against a running sandbox: all green, then each problem said clearly.

Real clients against the emulators on loopback; a broken service is a stopped server, a
scripted fault, a wrong secret file or an edited config — what a person would meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sheetledger.cli import main
from sheetledger.config import Tabs
from sheetledger.ledger.tabs import CABINET_PAYMENTS, MASTER_TABS, PAYMENTS
from sheetledger.sandbox.runner import Sandbox

Check = Callable[[], tuple[int, str]]


@pytest.fixture
def ready(box: Sandbox, capsys: pytest.CaptureFixture[str]) -> Sandbox:
    """The sandbox after `sheetledger init`: every tab there, so check is all green."""
    assert main(["-c", str(box.config_path), "init"]) == 0
    capsys.readouterr()
    return box


@pytest.fixture
def check(
    box: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Check:
    """Run `sheetledger -c <sandbox config> check`; its exit code and what it printed."""
    monkeypatch.setenv("COLUMNS", "400")  # no folded table cells: each finding on one line

    def run() -> tuple[int, str]:
        code = main(["-c", str(box.config_path), "check"])
        out, err = capsys.readouterr()
        return code, out + err

    return run


def findings(output: str) -> tuple[list[str], list[str]]:
    """(good, bad) finding lines, as 'service │ detail'."""
    good, bad = [], []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 3 and cells[0] in ("✔", "✘"):
            (good if cells[0] == "✔" else bad).append(f"{cells[1]} │ {cells[2]}")
    return good, bad


def edit_config(box: Sandbox, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(box.config_path.read_text(encoding="utf-8"))
    change(data)
    box.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def header_of(schema: Any, key: str) -> str:
    return str(schema.columns[schema.index[key]].header)


# --------------------------------------------------------------------------- all green


def test_all_green_against_the_sandbox(ready: Sandbox, check: Check) -> None:
    code, output = check()

    good, bad = findings(output)
    assert code == 0, output
    assert bad == []
    assert output.rstrip().endswith("all good")
    assert good == [
        f"config │ {ready.config_path} is valid",
        f"amoCRM │ account «mebel» (id {ready.amo.account['id']})",
        "amoCRM │ pipeline «Продажи» (9 statuses)",
        "amoCRM │ 13 deal fields present with the right types",
        f"Google Sheets │ master spreadsheet: {len(MASTER_TABS) + 3} tabs, headers right",
        "Google Sheets │ cabinet 'cashbox': 3 tabs, headers right",
        "Google Sheets │ cabinet 'accountant': 2 tabs, headers right",
        "Google Sheets │ cabinet 'supply': 1 tabs, headers right",
        "Google Drive │ bills into 'Счета' in a shared drive",
        "Telegram │ bot @sheetledger_sandbox_bot (id 7000000001)",
        f"SMS │ smsru ({ready.urls['sms']}): key accepted, balance 500,00 ₽",
    ]


# --------------------------------------------------------------------------- amoCRM


def test_a_wrong_amocrm_token(ready: Sandbox, check: Check) -> None:
    (ready.folder / "secrets" / "amocrm-token").write_text("not-the-token-1234", encoding="utf-8")

    code, output = check()

    good, bad = findings(output)
    assert code == 1
    assert len(bad) == 1
    assert bad[0].startswith("amoCRM │ amoCRM: GET /api/v4/account: the token was rejected (401)")
    assert "not-the-token-1234" not in output
    assert any(g.startswith("Google Sheets │ master spreadsheet") for g in good)  # checked on
    assert any(g.startswith("Telegram │ bot @") for g in good)
    assert output.rstrip().endswith("1 problem(s)")


def test_amocrm_down_is_reported_at_once_without_retrying(ready: Sandbox, check: Check) -> None:
    ready.servers["amocrm"].stop()

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert bad == [
        "amoCRM │ amoCRM unavailable: GET /api/v4/account: connection lost after 1 attempts "
        "— try again later"
    ]


def test_amocrm_answering_503_is_asked_once(ready: Sandbox, check: Check) -> None:
    """The client's backoff (1+2+4+8 s) is for the daemon; check must answer now."""
    fault = ready.amo.fail_next(503, count=5)

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert bad == [
        "amoCRM │ amoCRM unavailable: GET /api/v4/account: server error 503 after 1 attempts "
        "— try again later"
    ]
    assert fault.count == 4  # one request spent, no retry


def test_pipeline_status_and_field_ids_that_do_not_exist(ready: Sandbox, check: Check) -> None:
    def change(config: dict[str, Any]) -> None:
        config["amocrm"]["pipelines"].append(4242)
        config["amocrm"]["fields"]["contract_no"] = 999001
        config["amocrm"]["payment_slots"][1]["amount"] = 999002
        config["amocrm"]["status_rules"]["on_first_confirmation"]["status_id"] = 999003

    edit_config(ready, change)

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert bad == [
        "amoCRM │ amocrm.status_rules.on_first_confirmation: "
        "status 999003 is not in pipeline «Продажи»",
        "amoCRM │ amocrm.pipelines: no pipeline 4242 (see `sheetledger discover`)",
        "amoCRM │ amocrm.fields.contract_no: no deal field 999001 (see `sheetledger discover`)",
        "amoCRM │ amocrm.payment_slots.1.amount: no deal field 999002 (see `sheetledger discover`)",
    ]
    assert output.rstrip().endswith("4 problem(s)")


def test_a_field_of_the_wrong_type_and_an_unmapped_payment_option(
    ready: Sandbox, check: Check
) -> None:
    info = ready.info["amocrm"]

    def change(config: dict[str, Any]) -> None:
        config["amocrm"]["fields"]["contract_date"] = info["fields"]["contract_no"]  # a text field
        del config["amocrm"]["methods"]["Кредитный договор"]

    edit_config(ready, change)

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert len(bad) == 3, bad
    assert bad[0].startswith(
        f"amoCRM │ amocrm.fields.contract_date: field {info['fields']['contract_no']} «"
    )
    assert bad[0].endswith("is text, expected date or date_time")
    for line in bad[1:]:  # the sandbox's two slots each have their own payment-type field
        assert line.startswith("amoCRM │ amocrm.methods: option(s) Кредитный договор of «")
        assert line.endswith("are not mapped to a method")
    assert bad[1] != bad[2]


# --------------------------------------------------------------------------- Google Sheets


def test_before_init_every_missing_tab_is_named(box: Sandbox, check: Check) -> None:
    code, output = check()

    _good, bad = findings(output)
    tabs = Tabs()  # the sandbox config keeps the default titles
    keys = [*(schema.key for schema in MASTER_TABS), "profit", "pnl", "dimensions"]
    expected_master = ", ".join(f"'{getattr(tabs, key)}'" for key in keys)
    assert code == 1
    assert bad == [
        f"Google Sheets │ master spreadsheet: no tab {expected_master} — run `sheetledger init`",
        "Google Sheets │ cabinet 'cashbox': no tab 'Payments', 'Cash handover', 'Handover log' "
        "— run `sheetledger init`",
        "Google Sheets │ cabinet 'accountant': no tab 'Payments', 'Orders' "
        "— run `sheetledger init`",
        "Google Sheets │ cabinet 'supply': no tab 'Requests' — run `sheetledger init`",
    ]


def test_a_renamed_header(ready: Sandbox, check: Check) -> None:
    master = ready.info["google"]["spreadsheet_id"]
    cashbox = ready.info["google"]["cabinets"]["cashbox"]
    amount = header_of(PAYMENTS, "amount")
    ready.sheets.rename_header(master, "Payments", amount, "Sum")
    confirmed = CABINET_PAYMENTS.columns[1].header
    ready.sheets.rename_header(cashbox, "Payments", confirmed, confirmed + " (old)")

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert len(bad) == 2, bad
    assert bad[0].startswith("Google Sheets │ master spreadsheet, tab 'Payments': column ")
    assert bad[0].endswith(f"should be '{amount}', found 'Sum' (renamed?)")
    assert bad[1] == (
        "Google Sheets │ cabinet 'cashbox', tab 'Payments': column B should be "
        f"'{confirmed}', found '{confirmed} (old)' (renamed?)"
    )


def test_spreadsheets_not_shared_or_not_found(ready: Sandbox, check: Check) -> None:
    unshared = ready.sheets.create_spreadsheet("Касса (личная таблица)")  # not shared
    email = ready.info["google"]["service_account_email"]

    def change(config: dict[str, Any]) -> None:
        config["google"]["cabinets"][0]["spreadsheet_id"] = unshared
        config["google"]["cabinets"][1]["spreadsheet_id"] = "1NoSuchSpreadsheet000000000000"

    edit_config(ready, change)

    code, output = check()

    good, bad = findings(output)
    assert code == 1
    assert bad == [
        f"Google Sheets │ cabinet 'cashbox' ({unshared}): not shared with the service account: "
        f"share it with {email} as an editor",
        "Google Sheets │ cabinet 'accountant' (1NoSuchSpreadsheet000000000000): "
        "not found: check its spreadsheet_id",
    ]
    assert f"Google Sheets │ master spreadsheet: {len(MASTER_TABS) + 3} tabs, headers right" in good


def test_an_unshared_master_does_not_hide_the_cabinets(ready: Sandbox, check: Check) -> None:
    unshared = ready.sheets.create_spreadsheet("Учёт (не расшарен)")
    edit_config(ready, lambda config: config["google"].__setitem__("spreadsheet_id", unshared))

    code, output = check()

    good, bad = findings(output)
    assert code == 1
    assert len(bad) == 1
    assert bad[0].startswith(f"Google Sheets │ master spreadsheet ({unshared}): not shared")
    assert "Google Sheets │ cabinet 'cashbox': 3 tabs, headers right" in good
    assert "Google Sheets │ cabinet 'accountant': 2 tabs, headers right" in good


def test_google_down_is_said_once(ready: Sandbox, check: Check) -> None:
    ready.servers["google"].stop()

    code, output = check()

    _good, bad = findings(output)
    master = ready.info["google"]["spreadsheet_id"]
    assert code == 1
    assert bad == [
        f"Google Sheets │ master spreadsheet ({master}): not reachable: no access token from "
        f"{ready.urls['google']}/token (ConnectionError)"
    ]


def test_a_broken_service_account_key(ready: Sandbox, check: Check) -> None:
    (ready.folder / "secrets" / "service-account.json").write_text('{"type": "x"}', "utf-8")

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert bad == [
        "Google Sheets │ google.service_account: the JSON has no client_email/private_key "
        "(is it a service-account key?)"
    ]


# --------------------------------------------------------------------------- Telegram


def test_a_wrong_bot_token(ready: Sandbox, check: Check) -> None:
    wrong = "7000000001:" + "B" * 35
    (ready.folder / "secrets" / "telegram-token").write_text(wrong, encoding="utf-8")

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert bad == [
        "Telegram │ Telegram: the bot token was rejected by Telegram — take the token from "
        "@BotFather again"
    ]
    assert "B" * 35 not in output


def test_telegram_down(ready: Sandbox, check: Check) -> None:
    ready.servers["telegram"].stop()

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert len(bad) == 1
    assert bad[0].startswith("Telegram │ Telegram unavailable: not reachable: ")
    assert bad[0].endswith("— try again later")


# --------------------------------------------------------------------------- all at once


def test_several_problems_are_all_printed(ready: Sandbox, check: Check) -> None:
    (ready.folder / "secrets" / "amocrm-token").write_text("not-the-token-1234", encoding="utf-8")
    unshared = ready.sheets.create_spreadsheet("Кабинет бухгалтера (копия)")
    edit_config(
        ready,
        lambda config: config["google"]["cabinets"][1].__setitem__("spreadsheet_id", unshared),
    )
    ready.sheets.rename_header(
        ready.info["google"]["spreadsheet_id"], "Payments", header_of(PAYMENTS, "amount"), "Sum"
    )
    ready.servers["telegram"].stop()

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert [line.split(" │ ")[0] for line in bad] == [
        "amoCRM",
        "Google Sheets",
        "Google Sheets",
        "Telegram",
    ]
    assert "the token was rejected (401)" in bad[0]
    assert "master spreadsheet, tab 'Payments'" in bad[1]
    assert f"cabinet 'accountant' ({unshared}): not shared" in bad[2]
    assert "Telegram unavailable" in bad[3]
    assert output.rstrip().endswith("4 problem(s)")


def test_a_finding_prints_as_text_not_markup(ready: Sandbox, check: Check) -> None:
    """A name from amoCRM or a sheet is data: "[bold]" must print as is."""
    pipeline = int(ready.amo.add_pipeline("Сервис [bold]VIP[/bold]")["id"])
    edit_config(ready, lambda config: config["amocrm"]["pipelines"].append(pipeline))

    _code, output = check()

    assert "pipeline «Сервис [bold]VIP[/bold]»" in output


def test_a_rejected_sms_key_is_a_finding_and_nothing_is_sent(ready: Sandbox, check: Check) -> None:
    (ready.folder / "secrets" / "sms-api-key").write_text("NOT-THE-KEY", encoding="utf-8")

    code, output = check()

    _good, bad = findings(output)
    assert code == 1
    assert bad == ["SMS │ SMS (sms.ru): the api_id was refused (200) — check orders.sms.api_key"]
    assert ready.sms.messages(include_tests=True) == []
    assert "NOT-THE-KEY" not in output
