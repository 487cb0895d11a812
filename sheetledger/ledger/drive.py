"""Google Drive for the bills of payment orders: upload, find again, download, and where.

The one module that talks to Drive's files API (``ledger/google.py`` builds the
authorised session it is given; tests/test_layers.py keeps it so). Three calls:

* ``upload(folder, name, mime, content)`` — a ``multipart`` upload (metadata and bytes
  in one request, ``supportsAllDrives=true``) into the orders' folder. Before it, one
  ``files.list`` for a file of that very name in that folder: a bill whose upload
  landed but whose answer was lost (or a crash right after) is found, not uploaded
  twice. The caller names files by order ID, so the name is the idempotency key.
* ``download(file_id)`` — ``files.get?alt=media``: the bytes as uploaded.
* ``folder(folder_id)`` — the folder and whether it lies in a shared drive; ``check``
  uses it to say which set-up is in use and when an upload would fail.

Why a shared drive or user credentials: a service account has no storage quota. A file
it would own — one in a My Drive folder, even a folder a person shared with it — is
refused with 403 ``storageQuotaExceeded``. In a shared drive the organisation owns the
file; with OAuth user credentials (``sheetledger auth google``) the person does. That
403 becomes a ``FatalError`` whose hint says both ways out.

Errors: 429, 5xx, timeouts and dropped connections are ``RetriableError``; 401/403/404
are ``FatalError`` (a person must share the folder or fix the set-up).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from sheetledger.errors import FatalError, RetriableError

__all__ = ["DRIVE", "NO_QUOTA_HINT", "DriveFile", "DriveFiles", "DriveFolder"]

log = logging.getLogger(__name__)

DRIVE = "Google Drive"
BASE = "https://www.googleapis.com"
FOLDER_MIME = "application/vnd.google-apps.folder"
NO_QUOTA_HINT = (
    "a service account cannot own files in a personal Drive: put orders.drive_folder_id "
    "in a shared drive (Google Workspace) and add the service account as a Content manager, "
    "or run `sheetledger auth google` to upload as a person (OAuth user credentials)"
)
FILE_FIELDS = "id,name,mimeType,size,webViewLink,driveId"


@dataclass(frozen=True)
class DriveFile:
    id: str
    name: str
    link: str  # webViewLink: what the order's Bill link column holds
    size: int


@dataclass(frozen=True)
class DriveFolder:
    id: str
    name: str
    drive_id: str | None  # the shared drive it lies in; None: a My Drive folder
    is_folder: bool

    @property
    def shared_drive(self) -> bool:
        return self.drive_id is not None


# A file's ID in the links Drive gives: webViewLink (…/file/d/<id>/view) and open?id=<id>.
_FILE_ID = re.compile(r"/file/d/([A-Za-z0-9_-]+)|[?&]id=([A-Za-z0-9_-]+)")


class DriveFiles:
    """Drive's files API over an authorised ``requests`` session (google-auth's)."""

    def __init__(self, session: requests.Session, *, timeout: float = 60.0) -> None:
        self.session = session
        self.timeout = timeout

    # -- the three calls -----------------------------------------------------------------

    def upload(self, folder_id: str, name: str, mime: str, content: bytes) -> DriveFile:
        """``content`` as ``name`` in the folder; the file already there under that name if any."""
        found = self.find(folder_id, name)
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
            params={"uploadType": "multipart", "supportsAllDrives": "true", "fields": FILE_FIELDS},
            data=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )
        return _file(answer.json(), len(content))

    def find(self, folder_id: str, name: str) -> DriveFile | None:
        """The file named ``name`` in the folder (not trashed), None when there is none."""
        quoted = name.replace("\\", "\\\\").replace("'", "\\'")
        answer = self._call(
            "GET",
            f"{BASE}/drive/v3/files",
            "list",
            params={
                "q": f"name = '{quoted}' and '{folder_id}' in parents and trashed = false",
                "supportsAllDrives": "true",
                "includeItemsFromAllDrives": "true",
                "fields": f"files({FILE_FIELDS})",
            },
        )
        files = answer.json().get("files") or []
        return _file(files[0], None) if files else None

    def download(self, file_id: str) -> bytes:
        answer = self._call(
            "GET",
            f"{BASE}/drive/v3/files/{file_id}",
            "download",
            params={"alt": "media", "supportsAllDrives": "true"},
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
            "GET",
            f"{BASE}/drive/v3/files/{file_id}",
            "get",
            params={"supportsAllDrives": "true", "fields": "id,name"},
        )
        return str(answer.json().get("name") or file_id), self.download(file_id)

    def folder(self, folder_id: str) -> DriveFolder:
        answer = self._call(
            "GET",
            f"{BASE}/drive/v3/files/{folder_id}",
            "folder",
            params={"supportsAllDrives": "true", "fields": "id,name,mimeType,driveId"},
        )
        data = answer.json()
        return DriveFolder(
            id=str(data.get("id") or folder_id),
            name=str(data.get("name") or ""),
            drive_id=data.get("driveId") or None,
            is_folder=data.get("mimeType") == FOLDER_MIME,
        )

    # -- one request -----------------------------------------------------------------------

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        try:
            answer = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableError(DRIVE, f"{what}: {type(exc).__name__}") from exc
        if answer.status_code < 300:
            return answer
        reason, message = _reason(answer)
        detail = f"{what}: HTTP {answer.status_code} {reason or ''} {message}".rstrip()
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RetriableError(DRIVE, detail)
        if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
            raise RetriableError(DRIVE, detail)
        if reason == "storageQuotaExceeded":
            raise FatalError(DRIVE, detail, hint=NO_QUOTA_HINT)
        if answer.status_code == 404:
            raise FatalError(
                DRIVE,
                detail,
                hint="is orders.drive_folder_id right, and shared with sheetledger's account?",
            )
        raise FatalError(DRIVE, detail)


def _reason(answer: requests.Response) -> tuple[str, str]:
    try:
        error = answer.json().get("error") or {}
    except ValueError:
        return "", answer.text[:200]
    items = error.get("errors") or [{}]
    return str(items[0].get("reason") or ""), str(error.get("message") or "")[:300]


def _file(data: dict[str, Any], size: int | None) -> DriveFile:
    return DriveFile(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        link=str(data.get("webViewLink") or f"https://drive.google.com/file/d/{data['id']}/view"),
        size=size if size is not None else int(data.get("size") or 0),
    )
