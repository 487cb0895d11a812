"""The seeded furniture account: every id a config needs, select options exactly as cards show."""

from __future__ import annotations

import requests

from sheetledger.sandbox.amocrm import AmoEmulator, ManualClock
from sheetledger.sandbox.seed import (
    AMO_LOSS_REASONS,
    AMO_PAYMENT_METHODS,
    AmoSeed,
    seed_amocrm,
)
from sheetledger.sandbox.server import LoopbackServer

TOKEN = "seed-test-token-123456"


def fresh() -> tuple[AmoEmulator, AmoSeed]:
    emulator = AmoEmulator(TOKEN, "mebel", clock=ManualClock(), rate_limit=None)
    return emulator, seed_amocrm(emulator)


def test_seed_has_the_pipeline_statuses_and_users():
    emulator, seed = fresh()
    assert {"Новая заявка", "Замер", "Договор заключен", "Платеж подтвержден"} <= set(seed.statuses)
    assert seed.statuses["Успешно реализовано"] == 142
    assert seed.statuses["Закрыто и не реализовано"] == 143
    pipeline = emulator.state()["pipelines"][0]
    assert pipeline["id"] == seed.pipeline_id and pipeline["name"] == "Продажи"
    assert len(seed.managers) == 3 and len(seed.users) == 4
    assert seed.admin_user_id == emulator.account["current_user_id"]
    assert seed.admin_user_id not in seed.managers
    assert all(any("а" <= ch <= "я" for ch in name.lower()) for name in seed.users)


def test_seed_fields_have_the_right_types_and_exact_options():
    emulator, seed = fresh()
    by_id = {f["id"]: f for f in emulator.state()["fields"]}
    roles = {
        "contract_no": "text",
        "contract_date": "date",
        "product": "select",
        "salon": "select",
        "city": "select",
        "confirmed_total": "numeric",
    }
    for role, kind in roles.items():
        assert by_id[seed.fields[role]]["type"] == kind, role
    assert [
        (s.name, by_id[s.amount]["name"], by_id[s.method]["name"], by_id[s.date]["name"])
        for s in seed.slots
    ] == [
        ("Предоплата", "Сумма предоплаты", "Тип оплаты (предоплата)", "Дата предоплаты"),
        ("Остаток", "Сумма остатка", "Тип оплаты (остаток)", "Дата остатка"),
    ]
    for slot in seed.slots:
        assert (
            by_id[slot.amount]["type"],
            by_id[slot.method]["type"],
            by_id[slot.date]["type"],
        ) == ("numeric", "select", "date")
        assert (
            tuple(seed.enums[slot.method])
            == AMO_PAYMENT_METHODS
            == (
                "Наличными в кассу",
                "Перевод на карту",
                "Оплата по терминалу",
                "Безналичный перевод",
                "Кредитный договор",
            )
        )
        options = [e["value"] for e in by_id[slot.method]["enums"]]
        assert options == list(AMO_PAYMENT_METHODS)
        assert [e["id"] for e in by_id[slot.method]["enums"]] == list(
            seed.enums[slot.method].values()
        )
    assert len(seed.enums[seed.fields["salon"]]) == 3
    assert len(seed.enums[seed.fields["city"]]) == 2
    assert len(seed.enums[seed.fields["product"]]) >= 3
    assert seed.slots[0].method != seed.slots[1].method
    assert (
        seed.method_enum(1, "Кредитный договор")
        == seed.enums[seed.slots[1].method]["Кредитный договор"]
    )


def test_seed_is_deterministic_and_has_no_deals():
    first_emulator, first = fresh()
    _, second = fresh()
    assert first == second
    assert first_emulator.leads() == []


def test_seed_is_what_the_api_shows():
    emulator, seed = fresh()
    with LoopbackServer(emulator) as server:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        fields = requests.get(
            f"{server.url}/api/v4/leads/custom_fields", headers=headers, timeout=5
        ).json()["_embedded"]["custom_fields"]
        users = requests.get(f"{server.url}/api/v4/users", headers=headers, timeout=5).json()[
            "_embedded"
        ]["users"]
    assert {f["id"] for f in fields} == (
        set(seed.fields.values()) | {i for s in seed.slots for i in (s.amount, s.method, s.date)}
    )
    assert {u["name"]: u["id"] for u in users} == dict(seed.users)


def test_seed_has_the_loss_reasons_a_lost_deal_can_give():
    emulator, _ = fresh()
    with LoopbackServer(emulator) as server:
        listed = requests.get(
            server.url + "/api/v4/leads/loss_reasons",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        ).json()
    assert [r["name"] for r in listed["_embedded"]["loss_reasons"]] == list(AMO_LOSS_REASONS)
