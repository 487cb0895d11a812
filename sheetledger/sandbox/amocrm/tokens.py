"""Long-lived tokens as amoCRM issues them: RS256 JWTs that clients decode.

A long-lived token ("долгосрочный токен", KOMMO:llt, docs/api-notes.md) is not an
opaque string: it is a JWT signed with RS256, and clients read its claims without checking
the signature — the PHP SDK reads ``exp`` (``LongLivedAccessToken.php``), aioamocrm reads
``api_domain``. A real one decoded (values aside) has the header
``{"typ": "JWT", "alg": "RS256", "jti": <the jti>}`` and the claims ``aud`` (the private
integration's id, a UUID), ``jti`` (80 hex digits), ``iat``, ``nbf``, ``exp``, ``sub`` (the
admin's user id, as a string), ``grant_type`` (empty: no OAuth grant made it), ``account_id``,
``base_domain``, ``version`` (2), ``scopes``, ``hash_uuid`` and ``api_domain``. Its ``exp`` is
a midnight (UTC): the person picks an expiry *date*, from one day to five years ahead.

Only the emulator's own key signs; nothing outside the sandbox trusts it.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "LONG_LIVED_SCOPES",
    "expiry_of",
    "mint_long_lived_token",
    "public_key_pem",
    "token_claims",
]

LONG_LIVED_SCOPES = ("crm", "files", "files_delete", "notifications", "push_notifications")
API_DOMAIN = "api-b.amocrm.ru"  # the claim newer tokens carry (aioamocrm README: since 21.08.2024)


@lru_cache(maxsize=1)
def _signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per process: generating one costs tens of milliseconds."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_key_pem() -> bytes:
    """The key that verifies the sandbox's tokens (what amoCRM keeps to itself)."""
    return (
        _signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def expiry_of(expires_on: date) -> int:
    """``exp`` for an expiry date picked in the settings: that day's midnight, UTC."""
    return int(datetime.combine(expires_on, time(0), tzinfo=UTC).timestamp())


def mint_long_lived_token(
    *,
    account_id: int,
    user_id: int,
    issued_at: int,
    expires_at: int,
    client_id: str | None = None,
    base_domain: str = "amocrm.ru",
) -> str:
    """A signed long-lived token with the header and claims of a real one."""
    jti = secrets.token_hex(40)
    header = {"typ": "JWT", "alg": "RS256", "jti": jti}
    claims = {
        "aud": client_id or str(uuid.uuid4()),
        "jti": jti,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires_at,
        "sub": str(user_id),
        "grant_type": "",
        "account_id": account_id,
        "base_domain": base_domain,
        "version": 2,
        "scopes": list(LONG_LIVED_SCOPES),
        "hash_uuid": str(uuid.uuid4()),
        "api_domain": API_DOMAIN,
    }
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    signature = _signing_key().sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT read the way clients read them (no signature check); None if not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None
