"""Google's OAuth token endpoint for service accounts, as the emulator plays it.

google-auth's ``service_account.Credentials`` signs a JWT (RS256) with the
account's private key and POSTs it to ``token_uri`` as
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``. The
emulator checks the signature against the public half of the key it handed out
in ``service_account_info``, checks ``iss`` and the lifetime claims, and answers
``{"access_token", "expires_in": 3599, "token_type": "Bearer"}`` like
oauth2.googleapis.com. Errors are the real endpoint's ``invalid_grant`` bodies.

A person's OAuth user credentials (what ``sheetledger auth google`` keeps) are refreshed
with ``grant_type=refresh_token`` (google-auth's ``oauth2.credentials.Credentials``):
``add_user`` hands out the ``authorized_user`` JSON whose refresh token the endpoint
takes; the access token then belongs to the person's e-mail (they own what they upload).
A wrong client secret or an unknown refresh token is ``invalid_grant`` /
``invalid_client`` as Google answers.

The same refresh token can be had the way a person gets it, through the installed-app
flow (google_consent.py): ``add_client`` makes a "Desktop app" OAuth client,
``authorize`` answers the consent request of ``GET /o/oauth2/auth`` for the person
``consent`` says is at the browser, and ``grant_type=authorization_code`` redeems its code.

Key pairs are generated once per process per e-mail (RSA 2048 takes ~50 ms) so
many emulators in one test run stay fast.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sheetledger.sandbox.google_consent import (
    CODE_LIFETIME,
    AuthPage,
    Code,
    Consent,
    InstalledClient,
    check_verifier,
    redirect_matches,
    with_query,
)

__all__ = ["JWT_BEARER", "AuthPage", "ServiceAccount", "TokenError", "TokenIssuer"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH = "refresh_token"
AUTH_CODE = "authorization_code"
TOKEN_LIFETIME = 3599  # what oauth2.googleapis.com answers for a fresh token


class TokenError(Exception):
    """A refused grant: ``status`` and Google's OAuth error body."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


@lru_cache(maxsize=16)
def _key_pair(email: str) -> tuple[str, bytes]:
    """(private PEM, public PEM) for ``email``, generated once per process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


@dataclass
class ServiceAccount:
    """One service account the emulator knows: its e-mail and key."""

    email: str
    project_id: str = "sheetledger-sandbox"
    key_id: str = field(default_factory=lambda: secrets.token_hex(20))
    client_id: str = field(default_factory=lambda: str(secrets.randbelow(10**21)))
    private_key_pem: str = ""  # empty: the process-wide key generated for this e-mail

    def __post_init__(self) -> None:
        if not self.private_key_pem:
            self.private_key_pem = _key_pair(self.email)[0]

    @property
    def public_key_pem(self) -> bytes:
        return _public_pem(self.private_key_pem)

    def as_state(self) -> dict[str, str]:
        return {
            "email": self.email,
            "project_id": self.project_id,
            "key_id": self.key_id,
            "client_id": self.client_id,
            "private_key_pem": self.private_key_pem,
        }

    def info(self, token_uri: str) -> dict[str, str]:
        """The JSON key file Google hands out, with ``token_uri`` pointed where asked."""
        quoted = self.email.replace("@", "%40")
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key_id,
            "private_key": self.private_key_pem,
            "client_email": self.email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{quoted}",
            "universe_domain": "googleapis.com",
        }


@lru_cache(maxsize=64)
def _public_pem(private_pem: str) -> bytes:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _request_problem(query: dict[str, str]) -> str:
    """What Google's error page says of a malformed consent request, or ``""``."""
    if query.get("response_type") != "code":
        return "Invalid response_type: " + query.get("response_type", "")
    if not query.get("scope", "").strip():
        return "Missing required parameter: scope"
    if query.get("code_challenge_method", "plain") not in ("S256", "plain"):
        return "Invalid code_challenge_method: " + query["code_challenge_method"]
    if "code_challenge_method" in query and not query.get("code_challenge"):
        return "Missing required parameter: code_challenge"
    return ""


@dataclass
class _Token:
    email: str
    expires_at: float


class TokenIssuer:
    """Verifies JWT grants and remembers the access tokens it issued."""

    def __init__(self) -> None:
        self.accounts: dict[str, ServiceAccount] = {}
        self.users: dict[str, tuple[str, str, str]] = {}  # refresh token -> email, id, secret
        self._tokens: dict[str, _Token] = {}
        self.clients: dict[str, InstalledClient] = {}
        self.consent = Consent()
        self._codes: dict[str, Code] = {}
        self._lock = threading.Lock()

    def add_account(self, email: str) -> ServiceAccount:
        with self._lock:
            account = self.accounts.get(email)
            if account is None:
                account = self.accounts[email] = ServiceAccount(email)
            return account

    def add_user(self, email: str, token_uri: str) -> dict[str, str]:
        """A person's ``authorized_user`` credentials (client id/secret and refresh token)."""
        with self._lock:
            client_id = f"{secrets.randbelow(10**12)}-sandbox.apps.googleusercontent.com"
            client_secret = "GOCSPX-" + secrets.token_urlsafe(18)
            refresh = "1//sandbox-" + secrets.token_urlsafe(32)
            self.users[refresh] = (email, client_id, client_secret)
        return {
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh,
            "token_uri": token_uri,
        }

    def add_client(self) -> InstalledClient:
        """A new OAuth client of type "Desktop app" (its secrets: ``client.secrets_json``)."""
        client = InstalledClient.new()
        with self._lock:
            self.clients[client.client_id] = client
        return client

    def sign_in(self, email: str | None, *, allow: bool = True) -> None:
        """Who is signed in at the browser, and whether they allow the app (or decline)."""
        with self._lock:
            self.consent = Consent(email, allow)

    def authorize(self, query: dict[str, str], now: float) -> str:
        """The URL ``GET /o/oauth2/auth`` redirects the browser to, or raise ``AuthPage``.

        ``AuthPage`` with status 200 is the sign-in page: nobody is signed in.
        """
        with self._lock:
            client = self.clients.get(query.get("client_id", ""))
            consent = self.consent
        if client is None:
            raise AuthPage(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_matches(redirect_uri, client.redirect_uris):
            raise AuthPage(
                400,
                "redirect_uri_mismatch",
                "You can't sign in to this app because it doesn't comply with Google's OAuth "
                "2.0 policy. If you're the app developer, register the redirect URI in the "
                "Google Cloud Console. Request details: redirect_uri=" + redirect_uri,
            )
        refused = _request_problem(query)
        if refused:
            raise AuthPage(400, "invalid_request", refused)
        if consent.email is None:
            raise AuthPage(200, "sign_in", "Sign in - Google Accounts")
        answer = {"state": query["state"]} if "state" in query else {}
        if not consent.allow:
            return with_query(redirect_uri, {"error": "access_denied", **answer})
        code = "4/0sandbox-" + secrets.token_urlsafe(32)
        scope = " ".join(query["scope"].split())
        with self._lock:
            self._codes[code] = Code(
                consent.email,
                client.client_id,
                redirect_uri,
                scope,
                query.get("code_challenge", ""),
                query.get("code_challenge_method", "plain"),
                now + CODE_LIFETIME,
            )
        return with_query(redirect_uri, {**answer, "code": code, "scope": scope})

    def _exchange(self, form: dict[str, Any], now: float) -> dict[str, Any]:
        with self._lock:
            client = self.clients.get(str(form.get("client_id") or ""))
            # single use: whatever comes of this try, the code is spent
            code = self._codes.pop(str(form.get("code") or ""), None)
        if client is None:
            raise TokenError("invalid_client", "The OAuth client was not found.", status=401)
        if form.get("client_secret") != client.client_secret:
            raise TokenError("invalid_client", "Unauthorized", status=401)
        if code is None:
            raise TokenError("invalid_grant", "Malformed auth code.")
        if code.client_id != client.client_id or now >= code.expires_at:
            raise TokenError("invalid_grant", "Bad Request")
        if form.get("redirect_uri") != code.redirect_uri:
            raise TokenError("redirect_uri_mismatch", "Bad Request")
        problem = check_verifier(code, str(form.get("code_verifier") or ""))
        if problem:
            raise TokenError("invalid_grant", problem)
        refresh = "1//sandbox-" + secrets.token_urlsafe(32)
        token = "ya29.sandbox-" + secrets.token_urlsafe(24)
        with self._lock:
            self.users[refresh] = (code.email, client.client_id, client.client_secret)
            self._tokens[token] = _Token(code.email, now + TOKEN_LIFETIME)
        return {
            "access_token": token,
            "expires_in": TOKEN_LIFETIME,
            "refresh_token": refresh,
            "scope": code.scope,
            "token_type": "Bearer",
        }

    def _refresh(self, form: dict[str, Any], now: float) -> dict[str, Any]:
        with self._lock:
            user = self.users.get(str(form.get("refresh_token") or ""))
        if user is None:
            raise TokenError("invalid_grant", "Token has been expired or revoked.")
        email, client_id, client_secret = user
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            raise TokenError("invalid_client", "Unauthorized", status=401)
        token = "ya29.sandbox-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Token(email, now + TOKEN_LIFETIME)
        return {
            "access_token": token,
            "expires_in": TOKEN_LIFETIME,
            "token_type": "Bearer",
            "scope": str(form.get("scope") or ""),
        }

    def load_accounts(self, accounts: list[dict[str, str]]) -> None:
        """Accounts saved by ``ServiceAccount.as_state`` (keys survive a sandbox restart)."""
        with self._lock:
            self.accounts = {a["email"]: ServiceAccount(**a) for a in accounts}
            self._tokens.clear()

    def grant(
        self, form: dict[str, Any], now: float, *, wall: float | None = None
    ) -> dict[str, Any]:
        """Answer a token request body, or raise ``TokenError``.

        ``now`` is the emulator's clock (token expiry, so tests can age tokens);
        ``wall`` the real time the client signed its JWT with (``iat``/``exp``).
        """
        signed_now = now if wall is None else wall
        if form.get("grant_type") == REFRESH:
            return self._refresh(form, now)
        if form.get("grant_type") == AUTH_CODE:
            return self._exchange(form, now)
        if form.get("grant_type") != JWT_BEARER:
            raise TokenError(
                "unsupported_grant_type", "Invalid grant_type: " + str(form.get("grant_type", ""))
            )
        assertion = str(form.get("assertion") or "")
        parts = assertion.split(".")
        if len(parts) != 3:
            raise TokenError("invalid_request", "Invalid JWT: bad format.")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except ValueError as exc:
            raise TokenError("invalid_request", "Invalid JWT: bad format.") from exc
        account = self.accounts.get(str(claims.get("iss", "")))
        if account is None:
            raise TokenError("invalid_grant", "Invalid grant: account not found")
        if header.get("alg") != "RS256":
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        public_key = serialization.load_pem_public_key(account.public_key_pem)
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        try:
            public_key.verify(
                signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature as exc:
            raise TokenError("invalid_grant", "Invalid JWT Signature.") from exc
        issued, expires = float(claims.get("iat", 0)), float(claims.get("exp", 0))
        # Google accepts a small clock skew but refuses assertions living > 1 h.
        if not (issued - 300 <= signed_now <= expires + 300) or expires - issued > 3600:
            raise TokenError(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim.",
            )
        token = "ya29.sandbox-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Token(account.email, now + TOKEN_LIFETIME)
        return {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}

    def who(self, token: str, now: float) -> tuple[str | None, str]:
        """The e-mail a bearer token belongs to, or ``(None, reason)``."""
        with self._lock:
            found = self._tokens.get(token)
        if found is None:
            return None, "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        if now >= found.expires_at:
            return None, "ACCESS_TOKEN_EXPIRED"
        return found.email, ""

    def issue_for_tests(self, email: str, now: float) -> str:
        """A token without the JWT dance (for raw ``requests`` in tests and scripts)."""
        self.add_account(email)
        token = "ya29.sandbox-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Token(email, now + TOKEN_LIFETIME)
        return token
