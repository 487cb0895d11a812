"""Google's installed-app OAuth flow (a consent in the browser), as the emulator plays it.

What ``sheetledger auth google`` does with google-auth-oauthlib's ``InstalledAppFlow``:
the person opens ``GET /o/oauth2/auth?response_type=code&client_id=..&redirect_uri=
http://localhost:PORT/&scope=..&state=..&code_challenge=..&code_challenge_method=S256
&access_type=offline``; Google answers 302 to ``redirect_uri`` with ``state`` and ``code``
(or ``error=access_denied`` when the person declines); the app's local server takes the
code and POSTs ``grant_type=authorization_code`` to the token endpoint with its client
credentials (HTTP Basic), the same ``redirect_uri`` and the PKCE ``code_verifier``.

The emulator's "browser" is told from the control side who is signed in and whether they
allow (``Consent``). A request Google cannot trust to redirect (an unknown client, a
redirect URI the client does not have, a malformed request) gets Google's error page, not
a redirect. A loopback redirect URI matches the client's ``http://localhost`` whatever its
port (RFC 8252, section 7.3). A code is single-use, lives 10 minutes, and is redeemed only by its
client with its redirect URI and a verifier whose S256 hash is the challenge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import urllib.parse
from dataclasses import dataclass

__all__ = [
    "AUTH_URI",
    "CODE_LIFETIME",
    "AuthPage",
    "Code",
    "Consent",
    "InstalledClient",
    "check_verifier",
    "redirect_matches",
    "with_query",
]

AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
CODE_LIFETIME = 600.0  # seconds an authorization code can be redeemed in
LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


class AuthPage(Exception):
    """Google's error page at the authorization endpoint (no redirect to the app)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"Error {status}: {error}")
        self.status = status
        self.error = error
        self.description = description

    def html(self) -> bytes:
        return (
            "<!doctype html><title>Error " + str(self.status) + ": " + self.error + "</title>"
            "<h1>Access blocked: authorisation error</h1>"
            f"<p>{html.escape(self.description)}</p>"
            f"<p>Error {self.status}: {self.error}</p>"
        ).encode()


@dataclass(frozen=True)
class InstalledClient:
    """An OAuth client of type "Desktop app" (what Cloud Console hands out)."""

    client_id: str
    client_secret: str
    project_id: str = "sheetledger-sandbox"
    redirect_uris: tuple[str, ...] = ("http://localhost",)

    @classmethod
    def new(cls) -> InstalledClient:
        return cls(
            f"{secrets.randbelow(10**12)}-sandbox.apps.googleusercontent.com",
            "GOCSPX-" + secrets.token_urlsafe(18),
        )

    def secrets_json(self, auth_uri: str, token_uri: str) -> dict[str, dict[str, object]]:
        """The client secrets file, its URIs pointed where asked."""
        return {
            "installed": {
                "client_id": self.client_id,
                "project_id": self.project_id,
                "auth_uri": auth_uri,
                "token_uri": token_uri,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_secret": self.client_secret,
                "redirect_uris": list(self.redirect_uris),
            }
        }


@dataclass
class Consent:
    """The person at the browser: who is signed in, and whether they allow the app."""

    email: str | None = None
    allow: bool = True


@dataclass(frozen=True)
class Code:
    """An authorization code waiting to be redeemed."""

    email: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    method: str
    expires_at: float


def redirect_matches(redirect_uri: str, registered: tuple[str, ...]) -> bool:
    """``redirect_uri`` is one the client has; a loopback one whatever its port."""
    if redirect_uri in registered:
        return True
    asked = urllib.parse.urlsplit(redirect_uri)
    if asked.scheme != "http" or asked.query or asked.fragment:
        return False
    try:
        asked.port  # noqa: B018 - a malformed port raises
    except ValueError:
        return False
    for uri in registered:
        known = urllib.parse.urlsplit(uri)
        if (
            known.scheme == "http"
            and known.hostname in LOOPBACK
            and asked.hostname in LOOPBACK
            and (known.path or "/") == (asked.path or "/")
        ):
            return True
    return False


def challenge_of(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check_verifier(code: Code, verifier: str) -> str:
    """Why the PKCE ``code_verifier`` fails ``code``'s challenge, or ``""``."""
    if not code.challenge:
        return ""
    if not verifier:
        return "Missing code verifier."
    if not hmac.compare_digest(challenge_of(verifier, code.method), code.challenge):
        return "Invalid code verifier."
    return ""


def with_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` added to its query (what the browser is redirected to)."""
    parts = urllib.parse.urlsplit(uri)
    query = urllib.parse.urlencode(
        [*urllib.parse.parse_qsl(parts.query), *params.items()], quote_via=urllib.parse.quote
    )
    return urllib.parse.urlunsplit(parts._replace(query=query))
