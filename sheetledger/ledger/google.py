"""The one place outside ``sandbox/`` that builds Google clients.

``connect(info)`` is the production gspread client: a service-account key,
google-auth's ``AuthorizedSession`` (token refresh on 401 included) and
gspread's ``Client`` on top. In the sandbox, ``api_base_url`` (and optionally
``drive_base_url``) point the two Google hosts gspread calls at the emulator;
the token request goes wherever the key's ``token_uri`` says (the emulator's
``/token``), so the production code path runs unchanged.

Why a transport adapter and not gspread's ``http_client=`` seam: gspread-formatting
copies ``gspread.urls`` at import and calls ``client.request`` with full
``https://`` URLs, and Drive URLs are built inline; rewriting at the session's
transport catches every caller (docs/api-notes.md, "Google: base URLs").

google-auth's own errors (the access-token request failing: the token endpoint out of
reach, or refusing the key) are turned into ours here, at the session, so no caller
imports google-auth to tell "Google is down" from "the key is wrong".
"""

from __future__ import annotations

import json
from typing import Any

import gspread
from google.auth import exceptions as auth_errors
from google.auth.credentials import Credentials as AnyCredentials
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials as UserCredentials
from google.oauth2.service_account import Credentials
from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter

from sheetledger.errors import FatalError, RetriableError

__all__ = [
    "DRIVE_HOST",
    "SCOPES",
    "SHEETS_HOST",
    "KeyRefused",
    "NoAccessToken",
    "connect",
    "session_of",
    "user_session",
]

SERVICE = "Google Sheets"
SIGN_IN = "Google sign-in"

SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
)
SHEETS_HOST = "https://sheets.googleapis.com"
DRIVE_HOST = "https://www.googleapis.com"


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout, and optionally sends it to another base URL.

    gspread passes ``timeout=None`` explicitly, which overrides AuthorizedSession's
    default and would let a hung connection block forever (docs/api-notes.md, "Google:
    timeouts").
    """

    def __init__(
        self, timeout: float, host: str | None = None, base_url: str | None = None
    ) -> None:
        super().__init__()
        self._timeout = timeout
        self._host = host
        self._base_url = base_url.rstrip("/") if base_url else None

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if self._base_url and self._host and request.url and request.url.startswith(self._host):
            request.url = self._base_url + request.url[len(self._host) :]
            kwargs["proxies"] = {}  # the sandbox lives on loopback; never through a proxy
        return super().send(request, *args, **kwargs)


class NoAccessToken(RetriableError):
    """The token endpoint did not answer, or answered 429/5xx: nothing reaches Google now.

    ``reachable`` is False when no connection was made at all.
    """

    def __init__(self, detail: str, *, reachable: bool) -> None:
        super().__init__(SERVICE, detail)
        self.reachable = reachable


class KeyRefused(FatalError):
    """The token endpoint refused the service-account key (revoked, deleted, malformed)."""

    def __init__(self, detail: str) -> None:
        super().__init__(SERVICE, detail, hint="check google.service_account (create a new key?)")


def auth_error(exc: auth_errors.GoogleAuthError, token_uri: str) -> RetriableError | FatalError:
    """google-auth's failure to get an access token, as one of our errors."""
    reason = exc.args[0] if exc.args else exc
    if isinstance(exc, auth_errors.TransportError):
        detail = f"no access token from {token_uri} ({type(reason).__name__})"
        return NoAccessToken(detail, reachable=False)
    if isinstance(exc, auth_errors.RefreshError) and getattr(exc, "retryable", False):
        return NoAccessToken(f"no access token from {token_uri}: {reason}", reachable=True)
    return KeyRefused(f"the token endpoint refused the service-account key: {reason}")


class _Session(AuthorizedSession):
    """google-auth's session, raising our errors when the access token cannot be had."""

    def __init__(self, credentials: AnyCredentials) -> None:
        super().__init__(credentials)  # type: ignore[no-untyped-call]
        token_uri = getattr(credentials, "_token_uri", "") or getattr(credentials, "token_uri", "")
        self._token_uri = str(token_uri or "the token endpoint")

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().request(method, url, *args, **kwargs)  # type: ignore[no-untyped-call]
        except auth_errors.GoogleAuthError as exc:
            raise auth_error(exc, self._token_uri) from exc


def _mounted(
    credentials: AnyCredentials,
    api_base_url: str | None,
    drive_base_url: str | None,
    timeout: float,
) -> _Session:
    session = _Session(credentials)
    drive_base = drive_base_url or api_base_url
    session.mount(SHEETS_HOST, _TimeoutAdapter(timeout, SHEETS_HOST, api_base_url))
    session.mount(DRIVE_HOST, _TimeoutAdapter(timeout, DRIVE_HOST, drive_base))
    return session


def session_of(client: gspread.Client) -> Session:
    """The authorised session under a gspread client (Drive calls share its connections)."""
    session: Session = client.http_client.session
    return session


def user_session(
    authorized_user_info: dict[str, Any],
    *,
    api_base_url: str | None = None,
    drive_base_url: str | None = None,
    timeout: float = 60,
) -> Session:
    """A session authorised as a person (OAuth user credentials with a refresh token).

    What ``sheetledger auth google`` keeps: files this session creates are the person's,
    so a bill can go into a folder of a personal Drive.
    """
    info = authorized_user_info
    # Built by hand: ``from_authorized_user_info`` always puts Google's token endpoint in,
    # whatever the JSON says, and the sandbox's endpoint is elsewhere.
    credentials = UserCredentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=info.get("token_uri") or "https://oauth2.googleapis.com/token",
        client_id=info.get("client_id"),
        client_secret=info.get("client_secret"),
        scopes=list(SCOPES),
    )
    return _mounted(credentials, api_base_url, drive_base_url, timeout)


def installed_app_flow(client_secrets_file: str, *, open_browser: bool = True) -> dict[str, Any]:
    """``sheetledger auth google``: a person signs in once in the browser (the installed-app
    flow, a local redirect); the ``authorized_user`` JSON with the refresh token is returned."""
    # optional dependency: only this one-time command needs google-auth-oauthlib
    from google_auth_oauthlib.flow import InstalledAppFlow
    from oauthlib.oauth2 import OAuth2Error

    flow = InstalledAppFlow.from_client_secrets_file(client_secrets_file, scopes=list(SCOPES))
    try:
        credentials = flow.run_local_server(port=0, open_browser=open_browser)
    except OAuth2Error as exc:
        raise sign_in_refused(exc.error, exc.description) from exc
    info: dict[str, Any] = json.loads(credentials.to_json())
    info.pop("token", None)  # the access token is short-lived; the refresh token is the secret
    info.pop("expiry", None)
    return info


def sign_in_refused(error: str, description: str) -> FatalError:
    """The installed-app flow's OAuth error (``access_denied``, ``invalid_grant``...) as ours."""
    if error == "access_denied":
        return FatalError(
            SIGN_IN, "access was declined in the browser (access_denied); nothing was saved"
        )
    hint = "check the --client-secrets file (a Desktop app client of your project)"
    if error == "insecure_transport":
        hint = "the sandbox's emulator is plain http: set OAUTHLIB_INSECURE_TRANSPORT=1"
    return FatalError(SIGN_IN, f"Google refused the sign-in: {error}: {description}", hint=hint)


def connect(
    service_account_info: dict[str, Any],
    *,
    api_base_url: str | None = None,
    drive_base_url: str | None = None,
    timeout: float = 60,
) -> gspread.Client:
    """A gspread client authorised as the service account in ``service_account_info``.

    ``api_base_url`` replaces ``https://sheets.googleapis.com`` and, unless
    ``drive_base_url`` is given, ``https://www.googleapis.com`` (Drive) too. Without
    them this is the plain production client. ``timeout`` (seconds) applies to
    every request.
    """
    credentials = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        service_account_info, scopes=list(SCOPES)
    )
    session = _mounted(credentials, api_base_url, drive_base_url, timeout)
    client = gspread.Client(auth=credentials, session=session)
    client.set_timeout(timeout)
    return client
