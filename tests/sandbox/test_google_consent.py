"""The emulator's installed-app OAuth flow with google-auth-oauthlib's real ``Flow``.

The flow builds the consent URL (PKCE S256) and redeems the code (HTTP Basic client
credentials); the test plays the browser. Each refusal is the one Google gives: an error
page (no redirect) for an unknown client or a foreign redirect URI, the sign-in page when
nobody is signed in, and ``invalid_grant`` / ``redirect_uri_mismatch`` / ``invalid_client``
at the token endpoint for a spent, late or foreign code, a wrong verifier or a wrong secret.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2 import OAuth2Error

from sheetledger.sandbox.clock import ManualClock
from sheetledger.sandbox.google_consent import CODE_LIFETIME, redirect_matches
from sheetledger.sandbox.server import LoopbackServer
from sheetledger.sandbox.sheets import SheetsEmulator

PERSON = "olga@gmail.com"
SCOPES = ["https://www.googleapis.com/auth/drive"]
REDIRECT = "http://localhost:53682/"


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator is http on loopback


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def emulator(clock: ManualClock) -> SheetsEmulator:
    emulator = SheetsEmulator(clock=clock)
    emulator.issuer.sign_in(PERSON)
    return emulator


@pytest.fixture
def base(emulator: SheetsEmulator) -> Iterator[str]:
    with LoopbackServer(emulator) as server:
        yield server.url
        assert server.crashes == []


def new_flow(emulator: SheetsEmulator, base: str, **change: Any) -> Flow:
    config = emulator.installed_app_secrets(base)
    config["installed"].update(change)
    flow = Flow.from_client_config(config, scopes=SCOPES)
    flow.redirect_uri = REDIRECT
    return flow


def browse(url: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(url, allow_redirects=False, timeout=10)


def consent_code(flow: Flow) -> str:
    url, state = flow.authorization_url(access_type="offline")
    answer = browse(url)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]


def test_a_code_is_redeemed_once_for_a_refresh_token_that_refreshes(
    emulator: SheetsEmulator, base: str
) -> None:
    flow = new_flow(emulator, base)
    code = consent_code(flow)

    token = flow.fetch_token(code=code)

    assert token["refresh_token"] and token["access_token"] and token["expires_in"] == 3599
    assert token["scope"] == SCOPES
    who, _ = emulator.issuer.who(token["access_token"], emulator.clock())
    assert who == PERSON
    refreshed = requests.post(
        f"{base}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": flow.client_config["client_id"],
            "client_secret": flow.client_config["client_secret"],
        },
        timeout=10,
    ).json()
    assert emulator.issuer.who(refreshed["access_token"], emulator.clock())[0] == PERSON
    with pytest.raises(OAuth2Error) as again:
        flow.fetch_token(code=code)
    assert again.value.error == "invalid_grant"


def test_a_wrong_code_verifier_is_refused(emulator: SheetsEmulator, base: str) -> None:
    flow = new_flow(emulator, base)
    code = consent_code(flow)
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code, code_verifier="x" * 64)
    assert (caught.value.error, caught.value.description) == (
        "invalid_grant",
        "Invalid code verifier.",
    )


def test_a_late_code_is_refused(emulator: SheetsEmulator, base: str, clock: ManualClock) -> None:
    flow = new_flow(emulator, base)
    code = consent_code(flow)
    clock.advance(CODE_LIFETIME + 1)
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code)
    assert caught.value.error == "invalid_grant"


def test_the_token_request_needs_the_same_redirect_uri(emulator: SheetsEmulator, base: str) -> None:
    flow = new_flow(emulator, base)
    code = consent_code(flow)
    flow.redirect_uri = "http://localhost:1/"
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code)
    assert caught.value.error == "redirect_uri_mismatch"


def test_a_wrong_client_secret_is_invalid_client(emulator: SheetsEmulator, base: str) -> None:
    flow = new_flow(emulator, base)
    code = consent_code(flow)
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code, client_secret="GOCSPX-wrong")
    assert caught.value.error == "invalid_client"


def test_a_declined_consent_redirects_with_access_denied(
    emulator: SheetsEmulator, base: str
) -> None:
    emulator.issuer.sign_in(PERSON, allow=False)
    url, state = new_flow(emulator, base).authorization_url()
    answer = browse(url)
    assert answer.status_code == 302
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": [state]}


def test_an_unknown_client_gets_an_error_page(emulator: SheetsEmulator, base: str) -> None:
    url, _ = new_flow(
        emulator, base, client_id="1-nobody.apps.googleusercontent.com"
    ).authorization_url()
    answer = browse(url)
    assert answer.status_code == 401 and "Location" not in answer.headers
    assert "Error 401: invalid_client" in answer.text


def test_a_foreign_redirect_uri_gets_an_error_page(emulator: SheetsEmulator, base: str) -> None:
    flow = new_flow(emulator, base)
    flow.redirect_uri = "https://evil.example/callback"
    answer = browse(flow.authorization_url()[0])
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "Error 400: redirect_uri_mismatch" in answer.text


def test_nobody_signed_in_gets_the_sign_in_page(emulator: SheetsEmulator, base: str) -> None:
    emulator.issuer.sign_in(None)
    answer = browse(new_flow(emulator, base).authorization_url()[0])
    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "Sign in" in answer.text


@pytest.mark.parametrize(
    ("uri", "matches"),
    [
        ("http://localhost:8080/", True),
        ("http://127.0.0.1:40000/", True),
        ("http://localhost", True),
        ("http://localhost:8080/other", False),
        ("https://localhost:8080/", False),
        ("http://example.com:8080/", False),
        ("http://localhost:8080/?next=x", False),
    ],
)
def test_a_loopback_redirect_matches_whatever_its_port(uri: str, matches: bool) -> None:
    assert redirect_matches(uri, ("http://localhost",)) is matches


def test_the_control_side_hands_out_a_client_and_signs_a_person_in(
    emulator: SheetsEmulator, base: str
) -> None:
    emulator.issuer.sign_in(None)
    session = requests.Session()
    session.trust_env = False
    config = session.post(f"{base}/_sandbox/oauth_client", timeout=10).json()
    signed = session.post(f"{base}/_sandbox/sign_in", json={"email": "kassa@gmail.com"}, timeout=10)
    assert signed.json() == {"email": "kassa@gmail.com", "allow": True}

    installed = config["installed"]
    assert installed["auth_uri"] == f"{base}/o/oauth2/auth"
    assert installed["token_uri"] == f"{base}/token"
    assert installed["redirect_uris"] == ["http://localhost"]
    flow = Flow.from_client_config(config, scopes=SCOPES)
    flow.redirect_uri = REDIRECT
    token = flow.fetch_token(code=consent_code(flow))
    assert emulator.issuer.who(token["access_token"], emulator.clock())[0] == "kassa@gmail.com"
