"""A Drive folder used as an inbox: list what is new in it, download it, move it when done.

People save files (bank statements) into a folder they share with the service account; a
job takes each file, and moves it into a subfolder (``imported``) once it is done with it,
so the folder itself shows what is still waiting. A subfolder is found by name, or made
(folders take no storage quota, so a service account may make one in a person's folder).
Every call goes through the Sheets calls' retry policy (429, 5xx, timeouts); the folder
may be in a My Drive or a shared drive (``supportsAllDrives``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gspread
from gspread.urls import DRIVE_FILES_API_V3_URL

from sheetledger.ledger.sheets import SHEETS_RETRY, with_retries
from sheetledger.retry import RetryPolicy

__all__ = ["FOLDER_MIME", "DriveInbox", "InboxFile"]

FOLDER_MIME = "application/vnd.google-apps.folder"
GOOGLE_MIME_PREFIX = "application/vnd.google-apps."  # Docs Editors files: not downloadable
ALL_DRIVES = {"supportsAllDrives": True}
PAGE = 100


@dataclass(frozen=True)
class InboxFile:
    id: str
    name: str
    mime_type: str

    @property
    def downloadable(self) -> bool:
        return not self.mime_type.startswith(GOOGLE_MIME_PREFIX)


def _quoted(text: str) -> str:
    """A value inside a Drive ``q`` string literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


class DriveInbox:
    """One inbox folder, through the gspread client's authorised session."""

    def __init__(
        self, client: gspread.Client, folder_id: str, *, retry: RetryPolicy = SHEETS_RETRY
    ) -> None:
        self._http = client.http_client
        self.folder_id = folder_id
        self.retry = retry
        self.requests = 0
        self._folders: dict[str, str] = {}  # subfolder name -> id

    def _call(self, what: str, method: str, url: str, **kwargs: Any) -> Any:
        def once() -> Any:
            self.requests += 1
            return self._http.request(method, url, **kwargs)

        return with_retries(once, what=what, policy=self.retry)

    def _list(self, q: str, what: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "q": q,
                "fields": "nextPageToken,files(id,name,mimeType)",
                "pageSize": PAGE,
                "orderBy": "createdTime",
                "includeItemsFromAllDrives": True,
                **ALL_DRIVES,
            }
            if token:
                params["pageToken"] = token
            body = self._call(what, "get", DRIVE_FILES_API_V3_URL, params=params).json()
            found.extend(body.get("files") or [])
            token = body.get("nextPageToken")
            if not token:
                return found

    def waiting(self) -> list[InboxFile]:
        """The files directly in the folder (not its subfolders), the oldest first."""
        q = (
            f"'{_quoted(self.folder_id)}' in parents and trashed = false "
            f"and mimeType != '{FOLDER_MIME}'"
        )
        return [
            InboxFile(str(f["id"]), str(f.get("name") or ""), str(f.get("mimeType") or ""))
            for f in self._list(q, "list the Drive inbox")
        ]

    def download(self, item: InboxFile) -> bytes:
        reply = self._call(
            f"download {item.name}",
            "get",
            f"{DRIVE_FILES_API_V3_URL}/{item.id}",
            params={"alt": "media", **ALL_DRIVES},
        )
        return bytes(reply.content)

    def subfolder(self, name: str) -> str:
        """The id of the subfolder ``name`` of the inbox, made when missing."""
        if name in self._folders:
            return self._folders[name]
        q = (
            f"'{_quoted(self.folder_id)}' in parents and trashed = false "
            f"and mimeType = '{FOLDER_MIME}' and name = '{_quoted(name)}'"
        )
        found = self._list(q, f"find the folder {name}")
        if found:
            folder_id = str(found[0]["id"])
        else:
            made = self._call(
                f"make the folder {name}",
                "post",
                DRIVE_FILES_API_V3_URL,
                params={"fields": "id", **ALL_DRIVES},
                json={"name": name, "mimeType": FOLDER_MIME, "parents": [self.folder_id]},
            ).json()
            folder_id = str(made["id"])
        self._folders[name] = folder_id
        return folder_id

    def move(self, item: InboxFile, folder: str, *, description: str | None = None) -> None:
        """Move ``item`` from the inbox into its subfolder ``folder`` (with a description)."""
        target = self.subfolder(folder)
        self._call(
            f"move {item.name} to {folder}",
            "patch",
            f"{DRIVE_FILES_API_V3_URL}/{item.id}",
            params={
                "addParents": target,
                "removeParents": self.folder_id,
                "fields": "id",
                **ALL_DRIVES,
            },
            json={} if description is None else {"description": description},
        )
