"""Google Drive: the one adapter of Drive's files API: bills, created cabinets, statements inbox.

Three uses, one transport (the authorised ``requests`` session google-auth gives;
``ledger/google.py`` builds it, tests/test_layers.py keeps it so), one error mapping, one
retry policy, one ``q`` quoting, one paged list:

* **Bills of payment orders** (``DriveFiles``): ``upload(folder, name, mime, content)`` — a
  ``multipart`` upload (metadata and bytes in one request) into the orders' folder. Before
  it, one ``files.list`` for a file of that very name in that folder: a bill whose upload
  landed but whose answer was lost (or a crash right after) is found, not uploaded twice.
  The caller names files by order ID, so the name is the idempotency key. ``download``
  (``files.get?alt=media``), ``fetch(link)`` (an order's Bill link → its name and bytes),
  ``folder`` (where the folder lies; ``check`` says which set-up is in use).
* **Cabinets init creates** (``ledger/cabinet_files.py``, as the person of
  ``google.oauth_user``): ``create`` a spreadsheet tagged with app properties, find it again by
  them (``tagged``), see who has access (``grantees``) and ``share`` it.
* **The statements inbox** (``DriveInbox``, a thin user of ``DriveFiles``): the files
  waiting directly in a folder people save into (paged, the oldest first), their bytes,
  a subfolder found by name or made (folders take no storage quota, so a service account
  may make one in a person's folder), a file moved into it with a description.

Every call names ``supportsAllDrives``: the folder may be in a My Drive or a shared drive.

Why a shared drive or user credentials for bills: a service account has no storage quota. A
file it would own — one in a My Drive folder, even a folder a person shared with it — is
refused with 403 ``storageQuotaExceeded``. In a shared drive the organisation owns the
file; with OAuth user credentials (``sheetledger auth google``) the person does. That 403
becomes a ``FatalError`` whose hint says both ways out.

Errors: 408, 429, 5xx, Drive's 403 rate limits, timeouts and dropped connections are tried
again under the Google retry policy (``ledger/sheets.py``'s ``SHEETS_RETRY``,
``sheetledger/retry.py``), then ``RetriableError``; 401/403/404 are ``FatalError`` (a
person must share the folder or fix the set-up; a 404 names the setting to check). A POST
is never repeated blindly — its answer may be lost after it landed: an upload or a new
folder is one attempt, and the next try finds by name what the lost one made.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from sheetledger.errors import FatalError, RetriableError
from sheetledger.ledger.sheets import RETRIED_CODES, SHEETS_RETRY
from sheetledger.retry import RetryPolicy, TryAgain

__all__ = [
    "DRIVE",
    "FOLDER_MIME",
    "NO_QUOTA_HINT",
    "SHEETS_MIME",
    "DriveFile",
    "DriveFiles",
    "DriveFolder",
    "DriveInbox",
    "NotFound",
    "quoted",
]

log = logging.getLogger(__name__)

DRIVE = "Google Drive"
BASE = "https://www.googleapis.com"
FILES = f"{BASE}/drive/v3/files"
FOLDER_MIME = "application/vnd.google-apps.folder"
SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
GOOGLE_MIME_PREFIX = "application/vnd.google-apps."  # Docs Editors files: not downloadable
NO_QUOTA_HINT = (
    "a service account cannot own files in a personal Drive: put orders.drive_folder_id "
    "in a shared drive (Google Workspace) and add the service account as a Content manager, "
    "or run `sheetledger auth google` to upload as a person (OAuth user credentials)"
)
FILE_FIELDS = "id,name,mimeType,size,webViewLink"
ALL_DRIVES = {"supportsAllDrives": "true"}
PAGE = 100
ONCE = RetryPolicy(attempts=1)  # a POST: not repeated (see the module's docstring)
RATE_LIMITS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


class NotFound(FatalError):
    """Drive's 404: no such file, or not one this account may see."""


@dataclass(frozen=True)
class DriveFile:
    id: str
    name: str
    link: str  # webViewLink: what the order's Bill link column holds
    size: int
    mime_type: str = ""

    @property
    def downloadable(self) -> bool:
        """Bytes to download: not a Google Docs Editors file (those only export)."""
        return not self.mime_type.startswith(GOOGLE_MIME_PREFIX)


@dataclass(frozen=True)
class DriveFolder:
    id: str
    name: str
    drive_id: str | None  # the shared drive it lies in; None: a My Drive folder
    is_folder: bool

    @property
    def shared_drive(self) -> bool:
        return self.drive_id is not None


def quoted(text: str) -> str:
    """``text`` as a string literal of Drive's ``q`` language."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


# A file's ID in the links Drive gives: webViewLink (…/file/d/<id>/view) and open?id=<id>.
_FILE_ID = re.compile(r"/file/d/([A-Za-z0-9_-]+)|[?&]id=([A-Za-z0-9_-]+)")


class DriveFiles:
    """Drive's files API over an authorised ``requests`` session (google-auth's).

    ``setting`` is the config key naming the folder this instance works in: a 404 says
    to check it. ``requests`` counts the HTTP requests made (each attempt).
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy = SHEETS_RETRY,
        setting: str = "orders.drive_folder_id",
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.retry = retry
        self.setting = setting
        self.requests = 0

    # -- bills -----------------------------------------------------------------------------

    def upload(self, folder_id: str, name: str, mime: str, content: bytes) -> DriveFile:
        """``content`` as ``name`` in the folder; the file already there under that name if any.

        One attempt (a person waits in the chat; told Drive is down, they send again and
        the find sees what a lost answer's upload made).
        """
        found = self.find(folder_id, name, retry=ONCE)
        if found is not None:
            log.info("bill file %s is in Drive already (%s)", name, found.id)
            return found
        boundary = "sheetledger-" + uuid.uuid4().hex
        metadata = json.dumps({"name": name, "mimeType": mime, "parents": [folder_id]})
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
                metadata.encode(),
                f"\r\n--{boundary}\r\nContent-Type: {mime}\r\n\r\n".encode(),
                content,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        answer = self._call(
            "POST",
            f"{BASE}/upload/drive/v3/files",
            "upload",
            retry=ONCE,
            params={"uploadType": "multipart", "fields": FILE_FIELDS, **ALL_DRIVES},
            data=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )
        return _file(answer.json(), len(content))

    def find(
        self, folder_id: str, name: str, *, folders: bool = False, retry: RetryPolicy | None = None
    ) -> DriveFile | None:
        """The oldest file (or folder) named ``name`` in the folder, None when there is none."""
        kind = "=" if folders else "!="
        q = f"name = {quoted(name)} and mimeType {kind} '{FOLDER_MIME}'"
        found = self.files_in(folder_id, q, f"find {name}", retry=retry)
        return found[0] if found else None

    def download(self, file_id: str) -> bytes:
        answer = self._call(
            "GET", f"{FILES}/{file_id}", "download", params={"alt": "media", **ALL_DRIVES}
        )
        return answer.content

    def fetch(self, link: str) -> tuple[str, bytes] | None:
        """The file behind a Drive link (an order's Bill): its name and bytes; None for a
        link that is not a Drive file's."""
        match = _FILE_ID.search(link)
        if match is None:
            return None
        file_id = match.group(1) or match.group(2)
        answer = self._call(
            "GET", f"{FILES}/{file_id}", "get", params={"fields": "id,name", **ALL_DRIVES}
        )
        return str(answer.json().get("name") or file_id), self.download(file_id)

    def folder(self, folder_id: str) -> DriveFolder:
        answer = self._call(
            "GET",
            f"{FILES}/{folder_id}",
            "folder",
            params={"fields": "id,name,mimeType,driveId", **ALL_DRIVES},
        )
        data = answer.json()
        return DriveFolder(
            id=str(data.get("id") or folder_id),
            name=str(data.get("name") or ""),
            drive_id=data.get("driveId") or None,
            is_folder=data.get("mimeType") == FOLDER_MIME,
        )

    # -- folders and moves (the inbox) -----------------------------------------------------

    def files_in(
        self, folder_id: str, q: str, what: str, *, retry: RetryPolicy | None = None
    ) -> list[DriveFile]:
        """The files directly in the folder (not trashed) matching ``q``, the oldest first,
        every page."""
        return self.search(f"{quoted(folder_id)} in parents and {q}", what, retry=retry)

    def search(self, q: str, what: str, *, retry: RetryPolicy | None = None) -> list[DriveFile]:
        """Every file (not trashed) the account sees matching ``q``, the oldest first."""
        found: list[DriveFile] = []
        token: str | None = None
        while True:
            params = {
                "q": f"trashed = false and {q}",
                "fields": f"nextPageToken,files({FILE_FIELDS})",
                "pageSize": str(PAGE),
                "orderBy": "createdTime",
                "includeItemsFromAllDrives": "true",
                **ALL_DRIVES,
            }
            if token:
                params["pageToken"] = token
            body = self._call("GET", FILES, what, retry=retry, params=params).json()
            found.extend(_file(data, None) for data in body.get("files") or [])
            token = body.get("nextPageToken")
            if not token:
                return found

    def make_folder(self, parent_id: str, name: str) -> str:
        """A new folder ``name`` in the parent: its ID. One attempt (a POST)."""
        made = self._call(
            "POST",
            FILES,
            f"make the folder {name}",
            retry=ONCE,
            params={"fields": "id", **ALL_DRIVES},
            json={"name": name, "mimeType": FOLDER_MIME, "parents": [parent_id]},
        ).json()
        return str(made["id"])

    def create(self, name: str, mime: str, app_properties: dict[str, str]) -> DriveFile:
        """A new empty file (a Google spreadsheet: ``SHEETS_MIME``) in the account's My Drive,
        tagged with ``app_properties`` so a later search finds it. One attempt (a POST)."""
        made = self._call(
            "POST",
            FILES,
            f"create {name}",
            retry=ONCE,
            params={"fields": FILE_FIELDS, **ALL_DRIVES},
            json={"name": name, "mimeType": mime, "appProperties": app_properties},
        ).json()
        return _file(made, 0)

    def tagged(self, key: str, value: str, mime: str) -> list[DriveFile]:
        """The files of type ``mime`` carrying the app property ``key`` = ``value``."""
        q = f"appProperties has {{ key={quoted(key)} and value={quoted(value)} }}"
        return self.search(f"{q} and mimeType = {quoted(mime)}", f"find {key} {value}")

    def grantees(self, file_id: str) -> dict[str, str]:
        """Who has access to the file: e-mail (lower case) -> role (owner, writer, ...)."""
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            params = {
                "fields": "nextPageToken,permissions(id,type,role,emailAddress)",
                "pageSize": str(PAGE),
                **ALL_DRIVES,
            }
            if token:
                params["pageToken"] = token
            body = self._call(
                "GET", f"{FILES}/{file_id}/permissions", "list who has access", params=params
            ).json()
            for permission in body.get("permissions") or []:
                email = str(permission.get("emailAddress") or "").lower()
                if email:
                    found[email] = str(permission.get("role") or "")
            token = body.get("nextPageToken")
            if not token:
                return found

    def share(self, file_id: str, email: str, role: str, *, notify: bool) -> None:
        """Give ``email`` the ``role`` on the file; ``notify``: Drive e-mails them. One attempt
        (a POST: a second one would e-mail twice)."""
        self._call(
            "POST",
            f"{FILES}/{file_id}/permissions",
            f"share with {email}",
            retry=ONCE,
            params={
                "sendNotificationEmail": "true" if notify else "false",
                "fields": "id",
                **ALL_DRIVES,
            },
            json={"type": "user", "role": role, "emailAddress": email},
        )

    def move(
        self, file: DriveFile, source: str, target: str, *, description: str | None = None
    ) -> None:
        """``file`` from folder ``source`` into folder ``target`` (absolute: a repeat is
        harmless), with a description when given."""
        self._call(
            "PATCH",
            f"{FILES}/{file.id}",
            f"move {file.name}",
            params={"addParents": target, "removeParents": source, "fields": "id", **ALL_DRIVES},
            json={} if description is None else {"description": description},
        )

    # -- one request -----------------------------------------------------------------------

    def _call(
        self, method: str, url: str, what: str, *, retry: RetryPolicy | None = None, **kwargs: Any
    ) -> requests.Response:
        def attempt() -> requests.Response:
            self.requests += 1
            try:
                answer = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TryAgain(type(exc).__name__) from exc
            if answer.status_code < 300:
                return answer
            raise self._refusal(answer, what)

        policy = self.retry if retry is None else retry
        return policy.run(attempt, service=DRIVE, what=what, give_up=_give_up(what))

    def _refusal(self, answer: requests.Response, what: str) -> Exception:
        """Drive's error answer as ``TryAgain`` (it may pass) or a ``FatalError``."""
        status = answer.status_code
        reason, message = _reason(answer)
        problem = f"HTTP {status} {reason or ''} {message}".rstrip()
        if status in RETRIED_CODES or status >= 500 or reason in RATE_LIMITS:
            return TryAgain(problem, asked=_retry_after(answer))
        detail = f"{what}: {problem}"
        if reason == "storageQuotaExceeded":
            return FatalError(DRIVE, detail, hint=NO_QUOTA_HINT)
        if status == 404:
            hint = f"is {self.setting} right, and shared with sheetledger's account?"
            return NotFound(DRIVE, detail, hint=hint)
        return FatalError(DRIVE, detail)


class DriveInbox:
    """One folder used as an inbox: what waits in it, its bytes, moved into a subfolder
    when done (so the folder itself shows what is still waiting)."""

    def __init__(self, files: DriveFiles, folder_id: str) -> None:
        self.files = files
        self.folder_id = folder_id
        self._folders: dict[str, str] = {}  # subfolder name -> id

    @property
    def retry(self) -> RetryPolicy:
        return self.files.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self.files.retry = policy

    @property
    def requests(self) -> int:
        return self.files.requests

    def waiting(self) -> list[DriveFile]:
        """The files directly in the folder (not its subfolders), the oldest first."""
        q = f"mimeType != '{FOLDER_MIME}'"
        return self.files.files_in(self.folder_id, q, "list the Drive inbox")

    def download(self, item: DriveFile) -> bytes:
        return self.files.download(item.id)

    def subfolder(self, name: str) -> str:
        """The id of the subfolder ``name`` of the inbox, made when missing."""
        if name not in self._folders:
            found = self.files.find(self.folder_id, name, folders=True)
            made = found.id if found else self.files.make_folder(self.folder_id, name)
            self._folders[name] = made
        return self._folders[name]

    def move(self, item: DriveFile, folder: str, *, description: str | None = None) -> None:
        """Move ``item`` from the inbox into its subfolder ``folder`` (with a description)."""
        self.files.move(item, self.folder_id, self.subfolder(folder), description=description)


def _give_up(what: str) -> Callable[[TryAgain, int], Exception]:
    def give_up(again: TryAgain, attempts: int) -> Exception:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return RetriableError(DRIVE, f"{what}: {again.problem}{tries}")

    return give_up


def _reason(answer: requests.Response) -> tuple[str, str]:
    try:
        error = answer.json().get("error") or {}
    except ValueError:
        return "", answer.text[:200]
    items = error.get("errors") or [{}]
    return str(items[0].get("reason") or ""), str(error.get("message") or "")[:300]


def _retry_after(answer: requests.Response) -> float | None:
    try:
        return float(answer.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _file(data: dict[str, Any], size: int | None) -> DriveFile:
    return DriveFile(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        link=str(data.get("webViewLink") or f"https://drive.google.com/file/d/{data['id']}/view"),
        size=size if size is not None else int(data.get("size") or 0),
        mime_type=str(data.get("mimeType") or ""),
    )
