"""The amoCRM emulator answers like amoCRM: shapes of the recorded payloads, paging, filters,
PATCH semantics, validation errors, auth, the rate limit, notes, persistence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from sheetledger.sandbox.amocrm import (
    STATUS_LOST,
    STATUS_WON,
    AmoEmulator,
    AmoValidationFailed,
    ManualClock,
    local_date,
)
from sheetledger.sandbox.seed import AmoSeed, seed_amocrm
from sheetledger.sandbox.server import LoopbackServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amocrm"
TOKEN = "sandbox-long-lived-token-123456"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def assert_shape(actual: Any, expected: Any, where: str = "$") -> None:
    """Every key of the recorded payload is in ours, with a value of the same JSON type."""
    if expected is None:
        return  # null in the recording: the type is not pinned down
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r}"
            assert_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        if expected and actual:
            for index, item in enumerate(actual):
                _shape_of_any(item, expected, f"{where}[{index}]")
    elif isinstance(expected, bool):
        assert isinstance(actual, bool), f"{where}: expected a bool, got {actual!r}"
    elif isinstance(expected, int):
        assert isinstance(actual, int) and not isinstance(actual, bool), (
            f"{where}: expected an int, got {actual!r}"
        )
    elif isinstance(expected, str):
        assert isinstance(actual, str), f"{where}: expected a string, got {actual!r}"


def _shape_of_any(actual: Any, recordings: list[Any], where: str) -> None:
    """``actual`` has the shape of at least one recorded item (fields nullable in some)."""
    failures = []
    for candidate in recordings:
        try:
            assert_shape(actual, candidate, where)
            return
        except AssertionError as exc:
            failures.append(str(exc))
    raise AssertionError(failures[0])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_711_000_000)


@pytest.fixture
def emulator(clock: ManualClock) -> AmoEmulator:
    return AmoEmulator(TOKEN, "mebel", clock=clock, rate_limit=None)


@pytest.fixture
def seed(emulator: AmoEmulator) -> AmoSeed:
    return seed_amocrm(emulator)


@pytest.fixture
def server(emulator: AmoEmulator):
    with LoopbackServer(emulator) as srv:
        yield srv


@pytest.fixture
def api(server: LoopbackServer):
    """requests against the emulator, authorised, with paths relative to its URL."""
    session = requests.Session()
    session.headers.update(AUTH)

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return session.request(method, server.url + path, **kwargs)

    yield call
    session.close()


def card(seed: AmoSeed, contract: str = "Д-1", amount: str = "50000") -> list[dict[str, Any]]:
    return [
        {"field_id": seed.fields["contract_no"], "values": [{"value": contract}]},
        {"field_id": seed.slots[0].amount, "values": [{"value": amount}]},
        {
            "field_id": seed.slots[0].method,
            "values": [{"enum_id": seed.method_enum(0, "Перевод на карту")}],
        },
    ]


def values_of(lead: dict[str, Any], field_id: int) -> list[dict[str, Any]] | None:
    for cf in lead["custom_fields_values"] or []:
        if cf["field_id"] == field_id:
            return cf["values"]
    return None


# --------------------------------------------------------------------------- shapes


def test_lead_list_has_the_shape_of_the_real_recording(seed, emulator, api, clock):
    emulator.add_lead("Кухня", price=150000, custom_fields_values=card(seed))
    emulator.add_lead("Шкаф", price=90000)
    response = api("GET", "/api/v4/leads", params={"page": 1, "limit": 250})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/hal+json"
    assert "\\u041a" in response.text  # non-ASCII escaped, like the real answer
    body = response.json()
    real = recorded("leads_list.real.dmitriichernukho.json")
    assert_shape(body, real)
    assert set(body["_embedded"]["leads"][0]) >= set(real["_embedded"]["leads"][0])
    # custom_fields_values: null when empty; numeric read back as a string.
    shkaf = body["_embedded"]["leads"][1]
    assert shkaf["custom_fields_values"] is None
    kitchen = body["_embedded"]["leads"][0]
    assert values_of(kitchen, seed.slots[0].amount) == [{"value": "50000"}]
    # Embedded links echo the query string, as in the recording.
    href = kitchen["_links"]["self"]["href"]
    assert href.endswith(f"/api/v4/leads/{kitchen['id']}?page=1&limit=250")


def test_pipelines_have_the_real_shape_and_system_statuses(seed, api):
    body = api("GET", "/api/v4/leads/pipelines").json()
    real = recorded("pipelines_embedded.real.cspacesales.json")
    assert_shape(body["_embedded"]["pipelines"], real)
    (pipeline,) = body["_embedded"]["pipelines"]
    statuses = pipeline["_embedded"]["statuses"]
    assert statuses[0]["name"] == "Неразобранное"
    assert (statuses[0]["sort"], statuses[0]["type"], statuses[0]["is_editable"]) == (10, 1, False)
    assert [s["id"] for s in statuses[-2:]] == [STATUS_WON, STATUS_LOST]
    assert [s["name"] for s in statuses[-2:]] == ["Успешно реализовано", "Закрыто и не реализовано"]
    assert all(s["pipeline_id"] == pipeline["id"] for s in statuses)
    one = api("GET", f"/api/v4/leads/pipelines/{pipeline['id']}/statuses/142").json()
    assert one["id"] == 142 and one["pipeline_id"] == pipeline["id"]


def test_every_pipeline_has_its_own_unsorted_and_shares_142_143(emulator):
    first = emulator.add_pipeline("Розница", ["Новая"])
    second = emulator.add_pipeline("Опт", ["Новая"])
    unsorted = [p["_embedded"]["statuses"][0]["id"] for p in (first, second)]
    assert unsorted[0] != unsorted[1]
    for pipeline in (first, second):
        assert {142, 143} <= {s["id"] for s in pipeline["_embedded"]["statuses"]}
    assert first["is_main"] and not second["is_main"]


def test_users_and_custom_fields_have_the_docs_shape(seed, api):
    users = api("GET", "/api/v4/users", params={"with": "role,group"}).json()
    assert_shape(users, recorded("users_list.docs.json"))
    assert users["_total_items"] == 4 and users["_page_count"] == 1
    fields = api("GET", "/api/v4/leads/custom_fields", params={"limit": 2}).json()
    assert_shape(fields, recorded("leads_custom_fields_list.docs.json"))
    assert "last" in fields["_links"] and fields["_page_count"] == 7


def test_account_tolerates_with_and_names_the_token_user(seed, api):
    body = api("GET", "/api/v4/account", params={"with": "datetime_settings,users_groups,x"}).json()
    assert body["current_user_id"] == seed.admin_user_id
    assert body["subdomain"] == "mebel"
    assert body["_embedded"]["datetime_settings"]["timezone"] == "Europe/Moscow"
    assert body["_embedded"]["datetime_settings"]["timezone_offset"] == "+03:00"


# --------------------------------------------------------------------------- paging


def test_paging_links_and_204_past_the_end(emulator, seed, api):
    for index in range(7):
        emulator.add_lead(f"Сделка {index}")
    seen = []
    page = 1
    while True:
        response = api("GET", "/api/v4/leads", params={"limit": 3, "page": page})
        if response.status_code == 204:
            assert response.content == b""
            break
        body = response.json()
        seen += [lead["id"] for lead in body["_embedded"]["leads"]]
        links = body["_links"]
        assert ("next" in links) == (len(body["_embedded"]["leads"]) == 3)
        assert ("prev" in links) == (page > 1)
        if "next" not in links:
            break
        assert f"page={page + 1}" in links["next"]["href"]
        page += 1
    assert seen == sorted(lead["id"] for lead in emulator.leads())
    assert page == 3


def test_a_full_last_page_still_offers_next_which_answers_204(emulator, seed, api):
    # GH#193: `next` is generated even when the next page is empty.
    for index in range(4):
        emulator.add_lead(f"Сделка {index}")
    body = api("GET", "/api/v4/leads", params={"limit": 2, "page": 2}).json()
    assert "next" in body["_links"]
    next_href = body["_links"]["next"]["href"]
    assert requests.get(next_href, headers=AUTH, timeout=5).status_code == 204


def test_empty_list_and_missing_lead_are_204_with_empty_body(seed, api):
    for path in (
        "/api/v4/leads",
        "/api/v4/leads/999",
        "/api/v4/leads/notes",
        "/api/v4/leads/999/notes",
    ):
        response = api("GET", path)
        assert (response.status_code, response.content) == (204, b""), path


def test_limit_over_250_is_refused(seed, api):
    response = api("GET", "/api/v4/leads", params={"limit": 251})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"


def test_custom_fields_come_at_most_50_a_page(emulator, api):
    for index in range(60):
        emulator.add_field(f"Поле {index}", "text")
    first = api("GET", "/api/v4/leads/custom_fields", params={"limit": 250}).json()
    assert len(first["_embedded"]["custom_fields"]) == 50
    assert first["_total_items"] == 60 and "next" in first["_links"]
    second = api("GET", "/api/v4/leads/custom_fields", params={"limit": 250, "page": 2}).json()
    assert len(second["_embedded"]["custom_fields"]) == 10 and "next" not in second["_links"]


# --------------------------------------------------------------------------- filters


def test_filters_by_id_updated_at_status_pipeline_and_order(emulator, seed, api, clock):
    other = emulator.add_pipeline("Опт", ["Новая"])
    ids = []
    for index in range(5):
        clock.advance(10)
        ids.append(emulator.add_lead(f"Сделка {index}")["id"])
    clock.advance(10)
    wholesale = emulator.add_lead("Опт", pipeline_id=other["id"])["id"]
    start = int(clock()) - 50  # the first lead's updated_at

    def listed(**params: Any) -> list[int]:
        response = api("GET", "/api/v4/leads", params=params)
        if response.status_code == 204:
            return []
        return [lead["id"] for lead in response.json()["_embedded"]["leads"]]

    assert listed(**{"filter[id][]": [ids[1], ids[3]]}) == [ids[1], ids[3]]
    assert listed(**{"filter[id]": ids[2]}) == [ids[2]]
    assert listed(**{"filter[id][0]": ids[0], "filter[id][1]": ids[4]}) == [ids[0], ids[4]]
    window = {"filter[updated_at][from]": start + 20, "filter[updated_at][to]": start + 30}
    assert listed(**window) == [ids[2], ids[3]]
    assert listed(**{"filter[pipeline_id]": other["id"]}) == [wholesale]
    assert listed(**{"filter[pipeline_id][]": seed.pipeline_id}) == ids
    new = seed.statuses["Новая заявка"]
    clock.advance(10)
    emulator.update_lead(ids[4], {"status_id": seed.statuses["Замер"]})
    assert (
        listed(
            **{
                "filter[statuses][0][pipeline_id]": seed.pipeline_id,
                "filter[statuses][0][status_id]": new,
            }
        )
        == ids[:4]
    )
    assert listed(**{"order[updated_at]": "desc", "limit": 2}) == [ids[4], wholesale]
    assert listed(**{"order[id]": "desc", "limit": 2}) == [wholesale, ids[4]]
    assert listed(**{"filter[updated_at][from]": int(clock()) + 1}) == []


# --------------------------------------------------------------------------- writes


def test_patch_sets_fields_by_enum_id_and_value_and_moves_updated_at(emulator, seed, api, clock):
    lead = emulator.add_lead("Кухня", price=100000, custom_fields_values=card(seed))
    clock.advance(120)
    wardrobe = seed.enums[seed.fields["product"]]["Шкаф-купе"]
    response = api(
        "PATCH",
        "/api/v4/leads",
        json=[
            {
                "id": lead["id"],
                "price": 120000,
                "custom_fields_values": [
                    {"field_id": seed.fields["product"], "values": [{"enum_id": wardrobe}]},
                    {"field_id": seed.fields["salon"], "values": [{"value": "Салон на Кирова"}]},
                    {"field_id": seed.fields["confirmed_total"], "values": [{"value": "50000.50"}]},
                    {
                        "field_id": seed.fields["contract_date"],
                        "values": [{"value": "2024-04-01T12:30:00+03:00"}],
                    },
                    {"field_id": seed.slots[0].amount, "values": None},
                ],
            }
        ],
    )
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, recorded("leads_patch_batch_response.docs.json"))
    assert body["_embedded"]["leads"][0]["updated_at"] == int(clock())
    after = emulator.lead(lead["id"])
    assert after["updated_at"] == int(clock()) > lead["updated_at"]
    assert after["price"] == 120000
    assert values_of(after, seed.fields["product"]) == [
        {
            "value": "Шкаф-купе",
            "enum_id": seed.enums[seed.fields["product"]]["Шкаф-купе"],
            "enum_code": None,
        }
    ]
    salon = values_of(after, seed.fields["salon"])
    assert salon[0]["enum_id"] == seed.enums[seed.fields["salon"]]["Салон на Кирова"]
    assert values_of(after, seed.fields["confirmed_total"]) == [{"value": "50000.50"}]
    stamp = values_of(after, seed.fields["contract_date"])[0]["value"]
    assert stamp == 1711918800 and str(local_date(stamp)) == "2024-04-01"  # local midnight
    assert values_of(after, seed.slots[0].amount) is None  # cleared by "values": null
    assert values_of(after, seed.fields["contract_no"]) == [{"value": "Д-1"}]  # untouched


def test_a_patch_that_changes_nothing_keeps_updated_at(emulator, seed, api, clock):
    lead = emulator.add_lead("Кухня", price=100000)
    clock.advance(60)
    api("PATCH", f"/api/v4/leads/{lead['id']}", json={"price": 100000})
    assert emulator.lead(lead["id"])["updated_at"] == lead["updated_at"]


def test_single_patch_moves_status_and_sets_closed_at(emulator, seed, api, clock):
    lead = emulator.add_lead("Кухня")
    assert lead["status_id"] == seed.statuses["Новая заявка"]  # first regular status
    clock.advance(30)
    response = api(
        "PATCH",
        f"/api/v4/leads/{lead['id']}",
        json={"status_id": STATUS_WON, "pipeline_id": seed.pipeline_id},
    )
    assert response.status_code == 200
    assert set(response.json()) == {"id", "updated_at", "_links"}
    won = emulator.lead(lead["id"])
    assert (won["status_id"], won["closed_at"]) == (STATUS_WON, int(clock()))
    emulator.update_lead(lead["id"], {"status_id": seed.statuses["Замер"]})
    assert emulator.lead(lead["id"])["closed_at"] is None


def test_checkbox_and_multiselect_fields(emulator, seed, api):
    flag = emulator.add_field("Доставка нужна", "checkbox")
    extras = emulator.add_field("Доп. услуги", "multiselect", ["Сборка", "Подъём", "Вывоз"])
    lead = emulator.add_lead("Кухня")
    enum = {e["value"]: e["id"] for e in extras["enums"]}
    response = api(
        "PATCH",
        "/api/v4/leads",
        json=[
            {
                "id": lead["id"],
                "custom_fields_values": [
                    {"field_id": flag["id"], "values": [{"value": True}]},
                    {
                        "field_id": extras["id"],
                        "values": [{"enum_id": enum["Сборка"]}, {"value": "Вывоз"}],
                    },
                ],
            }
        ],
    )
    assert response.status_code == 200
    after = emulator.lead(lead["id"])
    assert values_of(after, flag["id"]) == [{"value": True}]
    assert [v["enum_id"] for v in values_of(after, extras["id"])] == [enum["Сборка"], enum["Вывоз"]]


def test_post_leads_returns_ids_and_request_ids(seed, api, emulator):
    response = api(
        "POST",
        "/api/v4/leads",
        json=[
            {"name": "Кухня", "price": 1000, "custom_fields_values": card(seed)},
            {"name": "Шкаф", "request_id": "mine"},
        ],
    )
    assert response.status_code == 200
    leads = response.json()["_embedded"]["leads"]
    assert [lead["request_id"] for lead in leads] == ["0", "mine"]
    assert emulator.lead(leads[0]["id"])["name"] == "Кухня"
    assert emulator.lead(leads[1]["id"])["created_by"] == seed.admin_user_id


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        (
            {"custom_fields_values": [{"field_id": 1, "values": [{"value": "x"}]}]},
            "NotSupportedChoice",
            "custom_fields_values.0.field_id",
        ),
        (
            {"custom_fields_values": [{"field_id": "PRODUCT", "values": [{"enum_id": 1}]}]},
            "NotSupportedChoice",
            "custom_fields_values.0.values.0.enum_id",
        ),
        (
            {"custom_fields_values": [{"field_id": "AMOUNT", "values": [{"value": "15 000 руб"}]}]},
            "InvalidType",
            "custom_fields_values.0.values.0.value",
        ),
        (
            {
                "custom_fields_values": [
                    {"field_id": "AMOUNT", "field_name": "x", "values": [{"value": "1"}]}
                ]
            },
            "FieldNotExpected",
            "custom_fields_values.0.field_name",
        ),
        ({"price": "1000"}, "InvalidType", "price"),
        ({"status_id": 12345}, "NotSupportedChoice", "status_id"),
        ({"status_id": "UNSORTED"}, "NotSupportedChoice", "status_id"),
        ({"responsible_user_id": 1}, "NotSupportedChoice", "responsible_user_id"),
        ({"field_nobody_knows": 1}, "FieldNotExpected", "field_nobody_knows"),
    ],
)
def test_invalid_patches_get_the_real_400_and_change_nothing(
    emulator, seed, api, change, code, path
):
    good = emulator.add_lead("Хорошая", price=1)
    bad = emulator.add_lead("Плохая", price=1)
    change = json.loads(json.dumps(change))
    for cf in change.get("custom_fields_values", []):
        if cf["field_id"] == "PRODUCT":
            cf["field_id"] = seed.fields["product"]
        if cf["field_id"] == "AMOUNT":
            cf["field_id"] = seed.slots[0].amount
    if change.get("status_id") == "UNSORTED":
        change["status_id"] = seed.statuses["Неразобранное"]
    response = api(
        "PATCH", "/api/v4/leads", json=[{"id": good["id"], "price": 2}, {"id": bad["id"], **change}]
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert_shape(body, recorded("error_400_validation.docs.json"))
    (item,) = body["validation-errors"]
    assert item["request_id"] == "1"
    assert {"code": code, "path": path} in [
        {"code": e["code"], "path": e["path"]} for e in item["errors"]
    ]
    assert emulator.lead(good["id"])["price"] == 1  # the whole batch was refused


def test_in_process_helpers_validate_like_the_api(emulator, seed):
    with pytest.raises(AmoValidationFailed) as caught:
        emulator.add_lead(
            "x",
            custom_fields_values=[
                {"field_id": seed.slots[0].method, "values": [{"value": "Бартер"}]}
            ],
        )
    assert caught.value.errors[0]["errors"][0]["code"] == "NotSupportedChoice"
    with pytest.raises(AmoValidationFailed):
        emulator.add_field("Плохое", "select")  # a select needs options


def test_post_custom_fields_creates_enums_with_ids(api, emulator):
    response = api(
        "POST",
        "/api/v4/leads/custom_fields",
        json=[
            {
                "name": "Источник",
                "type": "select",
                "enums": [{"value": "Сайт"}, {"value": "Авито"}],
            },
            {"name": "Комментарий", "type": "textarea"},
        ],
    )
    assert response.status_code == 201
    made = response.json()["_embedded"]["custom_fields"]
    assert [f["type"] for f in made] == ["select", "textarea"]
    assert [e["value"] for e in made[0]["enums"]] == ["Сайт", "Авито"]
    assert all(isinstance(e["id"], int) for e in made[0]["enums"])
    bad = api("POST", "/api/v4/leads/custom_fields", json=[{"name": "X", "type": "hologram"}])
    assert bad.status_code == 400
    assert bad.json()["validation-errors"][0]["errors"][0]["path"] == "type"


def test_batch_over_250_and_blank_bodies_are_refused(emulator, seed, api):
    lead = emulator.add_lead("Кухня")
    assert api("PATCH", "/api/v4/leads", json=[{"id": lead["id"]}] * 251).status_code == 422
    blank = api("PATCH", "/api/v4/leads", json=[])
    assert blank.status_code == 400 and blank.json()["detail"] == "Request data can not be blank"


# --------------------------------------------------------------------------- notes


def test_notes_batch_per_lead_listing_and_filters(emulator, seed, api):
    first = emulator.add_lead("Кухня")["id"]
    second = emulator.add_lead("Шкаф")["id"]
    response = api(
        "POST",
        "/api/v4/leads/notes",
        json=[
            {"entity_id": first, "note_type": "common", "params": {"text": "Оплата подтверждена"}},
            {
                "entity_id": first,
                "note_type": "service_message",
                "params": {"service": "sheetledger", "text": "[sl:p1] подтверждено"},
            },
            {"entity_id": second, "note_type": "common", "params": {"text": "Замер"}},
        ],
    )
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, recorded("notes_add_response.docs.json"))
    assert [n["request_id"] for n in body["_embedded"]["notes"]] == ["0", "1", "2"]
    one = api(
        "POST",
        f"/api/v4/leads/{second}/notes",
        json=[{"note_type": "common", "params": {"text": "Ещё"}}],
    )
    assert one.json()["_embedded"]["notes"][0]["entity_id"] == second

    assert [n["params"]["text"] for n in emulator.notes_of(first)] == [
        "Оплата подтверждена",
        "[sl:p1] подтверждено",
    ]
    listed = api(
        "GET",
        "/api/v4/leads/notes",
        params={"filter[entity_id][]": [first], "filter[note_type]": "service_message"},
    )
    notes = listed.json()["_embedded"]["notes"]
    assert [(n["entity_id"], n["note_type"]) for n in notes] == [(first, "service_message")]
    assert {
        "id",
        "entity_id",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "responsible_user_id",
        "group_id",
        "note_type",
        "params",
        "account_id",
        "_links",
    } <= set(notes[0])
    per_lead = api("GET", f"/api/v4/leads/{second}/notes").json()["_embedded"]["notes"]
    assert [n["params"]["text"] for n in per_lead] == ["Замер", "Ещё"]
    single = api("GET", f"/api/v4/leads/{second}/notes/{per_lead[0]['id']}").json()
    assert single["id"] == per_lead[0]["id"]


def test_invalid_notes_are_refused(emulator, seed, api):
    lead = emulator.add_lead("Кухня")["id"]
    response = api(
        "POST",
        "/api/v4/leads/notes",
        json=[
            {"entity_id": lead, "note_type": "service_message", "params": {"text": "нет service"}},
            {"entity_id": 1, "note_type": "common", "params": {"text": "нет сделки"}},
            {"entity_id": lead, "note_type": "letter", "params": {"text": "тип"}},
        ],
    )
    assert response.status_code == 400
    errors = {e["request_id"]: e["errors"][0]["path"] for e in response.json()["validation-errors"]}
    assert errors == {"0": "params.service", "1": "entity_id", "2": "note_type"}
    assert emulator.notes_of(lead) == []


# --------------------------------------------------------------------------- auth, limits, faults


def test_missing_or_wrong_token_gets_the_real_401(seed, server):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.get(server.url + "/api/v4/leads", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json() == {
            "title": "Unauthorized",
            "type": "https://httpstatus.es/401",
            "status": 401,
            "detail": "Неверный логин или пароль",
        }


def test_more_than_7_requests_in_a_second_get_429(clock):
    emulator = AmoEmulator(TOKEN, clock=clock)
    seed_amocrm(emulator)
    with LoopbackServer(emulator) as server:

        def get() -> requests.Response:
            return requests.get(server.url + "/api/v4/account", headers=AUTH, timeout=5)

        assert [get().status_code for _ in range(7)] == [200] * 7
        refused = get()
        assert refused.status_code == 429
        assert "Retry-After" not in refused.headers
        assert refused.headers["Content-Type"] == "text/html"  # the gateway's page (GH#526)
        clock.advance(0.5)
        assert get().status_code == 429  # still within the same sliding second
        clock.advance(0.51)
        assert get().status_code == 200
        assert emulator.rate_limited == 2
        assert emulator.counters.by_kind["read"] == 8  # refused requests are not counted


def test_scripted_faults_carry_the_real_bodies(seed, emulator, api):
    emulator.fail_next(429)
    assert api("GET", "/api/v4/account").text.startswith("<html>")
    emulator.fail_next(500)
    assert api("GET", "/api/v4/account").json()["title"] == "ErrInternalServer"
    emulator.fail_next(402)
    paid = api("GET", "/api/v4/account")
    assert (paid.status_code, paid.json()["title"]) == (402, "Payment Required")
    emulator.fail_next(403)
    blocked = api("GET", "/api/v4/account")
    assert blocked.status_code == 403 and "403 Forbidden" in blocked.text
    emulator.blocked = True
    assert api("GET", "/api/v4/leads").status_code == 403
    emulator.blocked = False
    emulator.paid = False
    assert api("GET", "/api/v4/leads").status_code == 402


def test_users_need_an_admin_token(clock):
    emulator = AmoEmulator(TOKEN, clock=clock, rate_limit=None)
    emulator.add_user("Менеджер")
    with LoopbackServer(emulator) as server:
        response = requests.get(server.url + "/api/v4/users", headers=AUTH, timeout=5)
    assert response.status_code == 403


def test_reads_and_writes_are_counted(seed, emulator, api):
    lead = emulator.add_lead("Кухня")
    api("GET", "/api/v4/leads")
    api("PATCH", "/api/v4/leads", json=[{"id": lead["id"], "price": 5}])
    api(
        "POST",
        "/api/v4/leads/notes",
        json=[{"entity_id": lead["id"], "note_type": "common", "params": {"text": "x"}}],
    )
    assert emulator.counters.by_kind == {"read": 1, "write": 2}


# --------------------------------------------------------------------------- state, scale


def test_state_round_trips_and_ids_continue(emulator, seed, clock, tmp_path):
    lead = emulator.add_lead("Кухня", custom_fields_values=card(seed))
    emulator.add_note(lead["id"], "common", {"text": "Замер назначен"})
    emulator.save(tmp_path)
    restored = AmoEmulator("other", clock=clock, rate_limit=None)
    assert restored.load(tmp_path)
    assert restored.lead(lead["id"]) == emulator.lead(lead["id"])
    assert restored.notes_of(lead["id"]) == emulator.notes_of(lead["id"])
    assert restored.add_lead("Новая")["id"] == emulator.add_lead("Новая")["id"]


def test_ten_thousand_leads_page_through_by_updated_at(emulator, seed, api, clock):
    for index in range(10_000):
        if index % 10 == 0:
            clock.advance(1)
        emulator.add_lead(f"Сделка {index}", price=index)
    cursor = int(clock()) - 500  # the last 5,010 leads
    count, page = 0, 1
    while True:
        response = api(
            "GET",
            "/api/v4/leads",
            params={
                "order[updated_at]": "asc",
                "filter[updated_at][from]": cursor,
                "limit": 250,
                "page": page,
            },
        )
        if response.status_code == 204:
            break
        leads = response.json()["_embedded"]["leads"]
        assert all(lead["updated_at"] >= cursor for lead in leads)
        count += len(leads)
        page += 1
    assert count == 5_010
    assert page == 22  # 21 pages with leads, then the 204
