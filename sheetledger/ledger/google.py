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
transport catches every caller (reference/google-sheets-api.md §1.5-1.6).
"""

from __future__ import annotations

from typing import Any

import gspread
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.service_account import Credentials
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

__all__ = ["DRIVE_HOST", "SCOPES", "SHEETS_HOST", "connect"]

SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
)
SHEETS_HOST = "https://sheets.googleapis.com"
DRIVE_HOST = "https://www.googleapis.com"


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout, and optionally sends it to another base URL.

    gspread passes ``timeout=None`` explicitly, which overrides AuthorizedSession's
    default and would let a hung connection block forever (reference §1.2).
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
    session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    drive_base = drive_base_url or api_base_url
    session.mount(SHEETS_HOST, _TimeoutAdapter(timeout, SHEETS_HOST, api_base_url))
    session.mount(DRIVE_HOST, _TimeoutAdapter(timeout, DRIVE_HOST, drive_base))
    client = gspread.Client(auth=credentials, session=session)
    client.set_timeout(timeout)
    return client
