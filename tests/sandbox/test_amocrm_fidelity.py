"""amoCRM emulator fidelity: long-lived tokens are RS256 JWTs, loss reasons, bulk note lookups.

Each test shows what the real service does (``docs/api-notes.md``): a token
clients can decode (``exp``, ``api_domain``), that expires and can be revoked; the loss-reason
list and the lead's ``loss_reason_id`` rules (GH#88); and the notes list read in bulk by lead
ids and note type, page after page by ``_links.next``.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sheetledger.sandbox.amocrm import (
    STATUS_LOST,
    STATUS_WON,
    AmoEmulator,
    ManualClock,
    public_key_pem,
    token_claims,
)
from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.server import LoopbackServer

START = 1_711_000_000  # 2024-03-21 05:46:40 UTC
REAL_CLAIMS = {  # the claim names of a real long-lived token, decoded
    "aud",
    "jti",
    "iat",
    "nbf",
    "exp",
    "sub",
    "grant_type",
    "account_id",
    "base_domain",
    "version",
    "scopes",
    "hash_uuid",
    "api_domain",
}


def _segment(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> AmoEmulator:
    amo = AmoEmulator(subdomain="mebel", clock=clock, rate_limit=None)
    amo.add_user("Ольга", "owner@example.ru", is_admin=True)
    return amo


@pytest.fixture
def server(emulator: AmoEmulator):
    with LoopbackServer(emulator) as srv:
        yield srv


def _get(server: LoopbackServer, token: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(server.url + path, headers=headers, timeout=5, **kwargs)


# --------------------------------------------------------------------------- tokens


def test_a_long_lived_token_is_an_rs256_jwt_with_the_real_claims(emulator):
    token = emulator.issue_long_lived_token()
    header_part, claims_part, signature_part = token.split(".")
    header, claims = _segment(header_part), _segment(claims_part)
    assert header == {"typ": "JWT", "alg": "RS256", "jti": claims["jti"]}
    assert set(claims) == REAL_CLAIMS
    assert len(claims["jti"]) == 80 and int(claims["jti"], 16) >= 0
    assert claims["iat"] == claims["nbf"] == START
    # The person picks an expiry date: one year ahead by default, at midnight UTC.
    assert datetime.fromtimestamp(claims["exp"], UTC) == datetime(2025, 3, 21, tzinfo=UTC)
    assert claims["sub"] == str(emulator.current_user_id)  # a string, as in real tokens
    assert claims["account_id"] == emulator.account["id"]
    assert (claims["grant_type"], claims["version"], claims["base_domain"]) == ("", 2, "amocrm.ru")
    assert "crm" in claims["scopes"] and claims["api_domain"].endswith(".amocrm.ru")
    assert token_claims(token) == claims
    # A genuine RS256 signature, not a decoration: it verifies, and fails on a changed claim.
    key = serialization.load_pem_public_key(public_key_pem())
    assert isinstance(key, rsa.RSAPublicKey)
    signature = base64.urlsafe_b64decode(signature_part + "=" * (-len(signature_part) % 4))
    signed = f"{header_part}.{claims_part}".encode()
    key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "exp": 4_102_444_800}).encode())
    with pytest.raises(InvalidSignature):
        key.verify(
            signature,
            f"{header_part}.{forged.rstrip(b'=').decode()}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )


def test_a_token_works_until_its_expiry_date_and_not_after_revocation(emulator, server, clock):
    token = emulator.issue_long_lived_token(expires_on=date(2024, 3, 23))
    other = emulator.issue_long_lived_token()
    assert _get(server, token, "/api/v4/account").status_code == 200
    clock.set(datetime(2024, 3, 22, 23, 59, 59, tzinfo=UTC).timestamp())
    assert _get(server, token, "/api/v4/account").status_code == 200
    clock.advance(1)  # midnight UTC of the chosen date
    expired = _get(server, token, "/api/v4/account")
    assert expired.status_code == 401
    assert expired.json()["detail"] == "Неверный логин или пароль"
    assert _get(server, other, "/api/v4/account").status_code == 200
    emulator.revoke_token(other)
    assert _get(server, other, "/api/v4/account").status_code == 401
    assert _get(server, other[:-2] + "xx", "/api/v4/account").status_code == 401


def test_a_token_lasts_one_day_to_five_years(emulator):
    with pytest.raises(ValueError, match="one day to five years"):
        emulator.issue_long_lived_token(expires_on=date(2024, 3, 21))
    with pytest.raises(ValueError, match="one day to five years"):
        emulator.issue_long_lived_token(expires_on=date(2029, 3, 22))
    longest = emulator.issue_long_lived_token(expires_on=date(2029, 3, 21))
    assert token_claims(longest)["exp"] == datetime(2029, 3, 21, tzinfo=UTC).timestamp()


def test_the_control_side_issues_and_revokes_tokens(emulator, server):
    control = server.url + "/_sandbox/tokens"
    made = requests.post(control, json={"expires_on": "2024-04-01"}, timeout=5)
    assert made.status_code == 201
    token = made.json()["token"]
    assert made.json()["exp"] == token_claims(token)["exp"] == 1_711_929_600  # 2024-04-01 UTC
    assert _get(server, token, "/api/v4/account").status_code == 200
    too_long = requests.post(control, json={"expires_on": "2030-01-01"}, timeout=5)
    assert too_long.status_code == 400 and "five years" in too_long.json()["error"]
    assert requests.delete(control, json={"token": token}, timeout=5).status_code == 204
    assert _get(server, token, "/api/v4/account").status_code == 401


def test_issued_tokens_survive_a_save_and_load(emulator, clock, tmp_path):
    token = emulator.issue_long_lived_token()
    emulator.save(tmp_path)
    restored = AmoEmulator(clock=clock, rate_limit=None)
    assert restored.load(tmp_path)
    with LoopbackServer(restored) as server:
        assert _get(server, token, "/api/v4/account").status_code == 200
        assert _get(server, "anything-else", "/api/v4/account").status_code == 401


def test_the_sandbox_issues_a_jwt_and_a_resumed_one_keeps_it(tmp_path):
    first = Sandbox.start(tmp_path)
    token = (tmp_path / "secrets" / "amocrm-token").read_text(encoding="utf-8")
    try:
        claims = token_claims(token)
        assert claims is not None and claims["exp"] > claims["iat"]
        assert claims["sub"] == str(first.amo.current_user_id)
        assert json.loads((tmp_path / "sandbox.json").read_text())["amocrm"]["token"] == token
        assert _get(first.servers["amocrm"], token, "/api/v4/users").status_code == 200
    finally:
        first.stop(save=True)
    second = Sandbox.start(tmp_path)
    try:
        assert (tmp_path / "secrets" / "amocrm-token").read_text(encoding="utf-8") == token
        assert _get(second.servers["amocrm"], token, "/api/v4/account").status_code == 200
    finally:
        second.stop(save=False)


# --------------------------------------------------------------------------- loss reasons


@pytest.fixture
def token(emulator: AmoEmulator) -> str:
    return emulator.issue_long_lived_token()


def test_loss_reasons_list_pages_like_every_list(emulator, server, token):
    assert _get(server, token, "/api/v4/leads/loss_reasons").status_code == 204
    names = ["Дорого", "Выбрали другую фабрику", "Не дозвонились"]
    made = [emulator.add_loss_reason(name) for name in names]
    first = _get(server, token, "/api/v4/leads/loss_reasons", params={"limit": 2})
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/hal+json"
    body = first.json()
    assert (body["_total_items"], body["_page"], body["_page_count"]) == (3, 1, 2)
    reasons = body["_embedded"]["loss_reasons"]
    assert [r["name"] for r in reasons] == names[:2]
    assert set(reasons[0]) == {"id", "name", "sort", "created_at", "updated_at", "_links"}
    assert reasons[0]["created_at"] == START
    assert reasons[0]["_links"]["self"]["href"].endswith(f"/leads/loss_reasons/{made[0]['id']}")
    following = requests.get(
        body["_links"]["next"]["href"], headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).json()
    assert [r["name"] for r in following["_embedded"]["loss_reasons"]] == names[2:]
    assert "next" not in following["_links"]
    single = _get(server, token, f"/api/v4/leads/loss_reasons/{made[1]['id']}").json()
    assert single["name"] == "Выбрали другую фабрику"
    assert _get(server, token, "/api/v4/leads/loss_reasons/1").status_code == 204


def test_a_loss_reason_is_given_to_a_lost_lead_only(emulator, server, token):
    emulator.add_pipeline("Продажи", ["Замер"])
    reason = emulator.add_loss_reason("Дорого")
    lead = emulator.add_lead("Кухня")
    pipeline = lead["pipeline_id"]
    auth = {"Authorization": f"Bearer {token}"}

    def patch(body: list[dict[str, Any]]) -> requests.Response:
        return requests.patch(server.url + "/api/v4/leads", json=body, headers=auth, timeout=5)

    refused = patch([{"id": lead["id"], "loss_reason_id": reason["id"], "price": 7}])
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": {str(lead["id"]): "Loss reason can be specified only for lost lead"},
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Invalid request body",
    }
    assert emulator.lead(lead["id"])["price"] == 0  # nothing applied
    won = patch([{"id": lead["id"], "status_id": STATUS_WON, "loss_reason_id": reason["id"]}])
    assert won.status_code == 400 and "errors" in won.json()
    unknown = patch([{"id": lead["id"], "status_id": STATUS_LOST, "loss_reason_id": 99}])
    assert unknown.json()["validation-errors"][0]["errors"][0]["path"] == "loss_reason_id"
    lost = patch(
        [
            {
                "id": lead["id"],
                "pipeline_id": pipeline,
                "status_id": STATUS_LOST,
                "loss_reason_id": reason["id"],
            }
        ]
    )
    assert lost.status_code == 200
    shown = _get(server, token, f"/api/v4/leads/{lead['id']}", params={"with": "loss_reason"})
    body = shown.json()
    assert body["loss_reason_id"] == reason["id"]
    assert [r["name"] for r in body["_embedded"]["loss_reason"]] == ["Дорого"]


# --------------------------------------------------------------------------- bulk notes


def test_notes_are_looked_up_in_bulk_by_lead_ids_and_type(emulator, server, token):
    emulator.add_pipeline("Продажи", ["Замер"])
    leads = [emulator.add_lead(f"Сделка {i}")["id"] for i in range(6)]
    wanted, others = leads[:4], leads[4:]
    for index in range(300):
        lead = leads[index % len(leads)]
        emulator.add_note(lead, "common", {"text": f"#{index}"})
        if index % 50 == 0:
            params = {"service": "sheetledger", "text": f"служебное {index}"}
            emulator.add_note(lead, "service_message", params)
    query: list[tuple[str, Any]] = [("filter[entity_id][]", lead) for lead in wanted]
    query += [("filter[note_type]", "common"), ("limit", 250), ("page", 1)]
    first = _get(server, token, "/api/v4/leads/notes", params=query)
    assert first.status_code == 200
    body = first.json()
    assert body["_page"] == 1 and len(body["_embedded"]["notes"]) == 200
    assert "next" not in body["_links"]  # 200 of 250: the last page
    found = body["_embedded"]["notes"]
    assert {n["entity_id"] for n in found} == set(wanted)
    assert {n["note_type"] for n in found} == {"common"}
    # A smaller page: `_links.next` carries every filter, and the walk ends on a 204.
    texts: list[str] = []
    url: str | None = server.url + "/api/v4/leads/notes"
    params: list[tuple[str, Any]] | None = [*query[:-2], ("limit", 100)]
    pages = 0
    while url is not None:
        answer = requests.get(
            url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        if answer.status_code == 204:
            break
        pages += 1
        page = answer.json()
        texts += [n["params"]["text"] for n in page["_embedded"]["notes"]]
        url, params = page["_links"].get("next", {}).get("href"), None
    assert pages == 2
    expected = [f"#{i}" for i in range(300) if leads[i % len(leads)] in wanted]
    assert sorted(texts) == sorted(expected) and len(texts) == len(set(texts))
    both_types = _get(
        server,
        token,
        "/api/v4/leads/notes",
        params=[("filter[entity_id][]", others[0]), ("filter[note_type][]", "service_message")],
    ).json()["_embedded"]["notes"]
    assert [n["params"]["text"] for n in both_types] == ["служебное 100", "служебное 250"]
