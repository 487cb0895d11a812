"""Drive's state beside the spreadsheets: files, folders, shared drives, and who may do what.

The rules imitated (docs/api-notes.md, "Google: new files"; Google's shared-drives guide):

* A service account has no storage quota: creating a file it would own - one in a My Drive,
  its own or a folder a person shared with it - answers 403 ``storageQuotaExceeded``
  (domain ``usageLimits``). Inside a shared drive the organisation owns the file, so it works.
  Folders take no quota and stay allowed. A person (OAuth user credentials) owns what they create.
* A shared-drive item is invisible to a request without ``supportsAllDrives=true``: Drive
  answers 404 ``File not found`` as if it did not exist.
* Sharing a folder shares what is inside it (roles are inherited from the parents).
"""

from __future__ import annotations

import string
from typing import Any

from sheetledger.sandbox.server import HTTPError, Request, Response
from sheetledger.sandbox.sheets.core import SheetsCore, flag
from sheetledger.sandbox.sheets.drive_model import (
    FOLDER_MIME,
    MY_DRIVE_ROOT,
    SHEETS_MIME,
    WRITERS,
    DriveFile,
    Place,
    SharedDrive,
    rfc3339,
)
from sheetledger.sandbox.sheets.errors import drive_error
from sheetledger.sandbox.sheets.masks import parse_mask, project
from sheetledger.sandbox.sheets.model import Spreadsheet

NO_STORAGE = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
    "or use OAuth delegation (http://support.google.com/a/answer/7281227) instead."
)
Entry = Spreadsheet | DriveFile


def is_service_account(email: str) -> bool:
    return email.endswith(".iam.gserviceaccount.com")


def storage_quota_error() -> HTTPError:
    """Drive's answer to a service account creating a file it would own."""
    item = {"message": NO_STORAGE, "domain": "usageLimits", "reason": "storageQuotaExceeded"}
    body = {"error": {"code": 403, "message": NO_STORAGE, "errors": [item]}}
    return HTTPError(Response.json(body, 403))


PROPERTY_LIMIT = (
    "Properties and app properties are limited to 124 bytes in UTF-8 encoding, counting both "
    "the key and the value."
)


def app_properties(body: dict[str, Any], *, patch: bool = False) -> dict[str, Any]:
    """The ``appProperties`` of a create (or an update: ``patch``, where null removes one),
    refused as Drive refuses them: each key and value together at most 124 bytes of UTF-8."""
    given = body.get("appProperties") or {}
    if not isinstance(given, dict):
        raise drive_error(400, "invalid", "Invalid value for appProperties.", "appProperties")
    out: dict[str, Any] = {}
    for key, value in given.items():
        if value is None and patch:
            out[str(key)] = None
            continue
        text = "" if value is None else str(value)
        if len(str(key).encode()) + len(text.encode()) > 124:
            raise drive_error(403, "propertyLengthLimitExceeded", PROPERTY_LIMIT)
        out[str(key)] = text
    return out


def not_found(fid: str) -> HTTPError:
    return drive_error(404, "notFound", f"File not found: {fid}.", "fileId")


def no_permission() -> HTTPError:
    return drive_error(
        403,
        "insufficientFilePermissions",
        "The user does not have sufficient permissions for this file.",
    )


class DriveStore(SheetsCore):
    """Drive files and shared drives, their places, access and persistence."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drive_files: dict[str, DriveFile] = {}
        self.shared_drives: dict[str, SharedDrive] = {}
        self.sheet_places: dict[str, Place] = {}
        # The sharing e-mails Drive would send (permissions.create, sendNotificationEmail).
        self.share_notices: list[dict[str, str]] = []

    # ------------------------------------------------------------------ ids and lookups

    def _new_file_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self.random.choice(alphabet) for _ in range(32))

    def _new_drive_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "0A" + "".join(self.random.choice(alphabet) for _ in range(11)) + "Uk9PVA"

    def _entry(self, fid: str) -> Entry | None:
        book = self.spreadsheets.get(fid)
        if book is not None:
            return None if book.trashed else book
        return self.drive_files.get(fid)

    def _place(self, entry: Entry) -> Place:
        if isinstance(entry, DriveFile):
            return Place(tuple(entry.parents), entry.drive_id)
        return self.sheet_places.get(entry.id, Place())

    def _role(self, caller: str, entry: Entry, depth: int = 0) -> str | None:
        """The caller's role on a file: own, given, or inherited from a folder or shared drive."""
        place = self._place(entry)
        if place.drive_id is not None:
            drive = self.shared_drives.get(place.drive_id)
            member = drive.members.get(caller) if drive else None
            if member is not None:
                return member
        if isinstance(entry, Spreadsheet):
            role = entry.role_of(caller)
        else:
            role = "owner" if entry.owner == caller else None
            for permission in entry.permissions:
                if role is None and permission.get("emailAddress") == caller:
                    role = str(permission["role"])
                if role is None and permission.get("type") == "anyone":
                    role = str(permission["role"])
        if role is not None or depth > 20:
            return role
        for parent_id in place.parents:
            parent = self.drive_files.get(parent_id)
            if parent is not None:
                inherited = self._role(caller, parent, depth + 1)
                if inherited is not None:
                    return inherited
        return None

    def _visible(
        self, request: Request, fid: str, *, write: bool = False, any_drive: bool = False
    ) -> Entry:
        """The file ``fid`` as the caller may see it, or Drive's 404 / 403.

        ``any_drive``: the method has no ``supportsAllDrives`` parameter (``files.export``).
        """
        entry = self._entry(fid)
        if entry is None:
            raise not_found(fid)
        hidden = not (any_drive or flag(request.arg("supportsAllDrives")))
        if self._place(entry).drive_id is not None and hidden:
            raise not_found(fid)
        role = self._role(self._caller(request), entry)
        if role is None:
            raise not_found(fid)
        if write and role not in WRITERS:
            raise no_permission()
        return entry

    # ------------------------------------------------------------------ where new files go

    def _target(self, request: Request, parents: list[str] | None, mime: str) -> Place:
        """The place a new file lands in; refuses what Google refuses (see module docstring)."""
        caller = self._caller(request)
        if parents and len(parents) > 1:
            raise drive_error(
                403,
                "cannotAddParent",
                "Increasing the number of parents is not allowed.",
            )
        parent = parents[0] if parents else "root"
        if parent in ("root", MY_DRIVE_ROOT):
            place = Place()
        elif parent in self.shared_drives:
            drive = self.shared_drives[parent]
            if not flag(request.arg("supportsAllDrives")) or caller not in drive.members:
                raise not_found(parent)
            if drive.members[caller] not in WRITERS:
                raise no_permission()
            place = Place((parent,), parent)
        else:
            folder = self._visible(request, parent, write=True)
            if not isinstance(folder, DriveFile) or not folder.is_folder:
                raise drive_error(400, "badRequest", "The specified parent is not a folder.")
            place = Place((folder.id,), folder.drive_id)
        if (
            place.drive_id is None
            and mime != FOLDER_MIME
            and self.service_accounts_have_no_storage
            and is_service_account(caller)
        ):
            raise storage_quota_error()
        return place

    def _store_file(
        self,
        request: Request,
        metadata: dict[str, Any],
        content: bytes = b"",
        content_type: str | None = None,
    ) -> DriveFile:
        """A new non-spreadsheet file from ``files.create`` metadata (and uploaded bytes)."""
        mime = str(metadata.get("mimeType") or content_type or "application/octet-stream")
        mime = mime.split(";")[0].strip()
        place = self._target(request, metadata.get("parents"), mime)
        caller = self._caller(request)
        now = self.clock()
        item = DriveFile(
            id=self._new_file_id(),
            name=str(metadata.get("name") or "Untitled"),
            mime_type=mime,
            parents=list(place.parents),
            owner=None if place.drive_id else caller,
            created=now,
            drive_id=place.drive_id,
            content=content if mime != FOLDER_MIME else b"",
            description=str(metadata.get("description") or ""),
            app_properties=app_properties(metadata),
        )
        self.drive_files[item.id] = item
        return item

    # ------------------------------------------------------------------ JSON

    def _entry_json(self, entry: Entry) -> dict[str, Any]:
        if isinstance(entry, Spreadsheet):
            return self._book_json(entry)
        out: dict[str, Any] = {
            "kind": "drive#file",
            "id": entry.id,
            "name": entry.name,
            "mimeType": entry.mime_type,
            "starred": False,
            "trashed": entry.trashed,
            "explicitlyTrashed": entry.trashed,
            "parents": list(entry.parents),
            "version": str(entry.version),
            "webViewLink": (
                f"https://drive.google.com/drive/folders/{entry.id}"
                if entry.is_folder
                else f"https://drive.google.com/file/d/{entry.id}/view?usp=drivesdk"
            ),
            "createdTime": rfc3339(entry.created),
            "modifiedTime": rfc3339(entry.modified),
            "shared": bool(entry.permissions) or entry.drive_id is not None,
        }
        if entry.description:
            out["description"] = entry.description
        if entry.app_properties:
            out["appProperties"] = dict(entry.app_properties)
        if entry.downloadable:
            out["webContentLink"] = f"https://drive.google.com/uc?id={entry.id}&export=download"
        out.update(entry.binary_fields())
        self._add_ownership(out, entry.owner, entry.drive_id)
        return out

    def _book_json(self, book: Spreadsheet) -> dict[str, Any]:
        place = self._place(book)
        out: dict[str, Any] = {
            "kind": "drive#file",
            "id": book.id,
            "name": book.title,
            "mimeType": SHEETS_MIME,
            "starred": False,
            "trashed": book.trashed,
            "parents": list(place.parents),
            "version": str(book.version),
            "webViewLink": f"https://docs.google.com/spreadsheets/d/{book.id}/edit?usp=drivesdk",
            "createdTime": rfc3339(book.created),
            "modifiedTime": rfc3339(book.modified),
            "shared": bool(book.permissions) or place.drive_id is not None,
        }
        if book.app_properties:
            out["appProperties"] = dict(book.app_properties)
        self._add_ownership(out, book.owner, place.drive_id)
        return out

    @staticmethod
    def _add_ownership(out: dict[str, Any], owner: str | None, drive_id: str | None) -> None:
        if drive_id is not None:
            out["driveId"] = drive_id
        elif owner:
            out["owners"] = [{"kind": "drive#user", "emailAddress": owner, "me": False}]

    def _drive_reply(self, request: Request, body: dict[str, Any], default_fields: str) -> Response:
        fields = request.arg("fields") or default_fields
        try:
            mask = parse_mask(fields)
        except ValueError as exc:
            raise drive_error(400, "invalidParameter", f"Invalid field selection {fields}") from exc
        return Response.json(project(body, mask))

    # ------------------------------------------------------------------ control side

    def create_shared_drive(self, name: str, members: dict[str, str] | None = None) -> str:
        """A shared drive made by a person (Workspace), with ``{email: role}`` members."""
        with self.lock:
            drive = SharedDrive(self._new_drive_id(), name, self.clock(), dict(members or {}))
            self.shared_drives[drive.id] = drive
            return drive.id

    def create_folder(
        self, name: str, parent: str | None = None, *, owner: str = "owner@example.com"
    ) -> str:
        """A folder made by a person in their My Drive, or in a shared drive (``parent``)."""
        with self.lock:
            place = Place()
            if parent is not None:
                found = self.drive_files.get(parent)
                drive_id = parent if parent in self.shared_drives else None
                drive_id = found.drive_id if found is not None else drive_id
                place = Place((parent,), drive_id)
            folder = DriveFile(
                id=self._new_file_id(),
                name=name,
                mime_type=FOLDER_MIME,
                parents=list(place.parents),
                owner=None if place.drive_id else owner,
                created=self.clock(),
                drive_id=place.drive_id,
            )
            self.drive_files[folder.id] = folder
            return folder.id

    def save_file(
        self,
        name: str,
        content: bytes,
        parent: str,
        *,
        mime_type: str = "text/plain",
        owner: str = "owner@example.com",
    ) -> str:
        """A person saves a file into a folder (the bank's export into the statements inbox)."""
        with self.lock:
            folder = self.drive_files[parent]
            item = DriveFile(
                id=self._new_file_id(),
                name=name,
                mime_type=mime_type,
                parents=[parent],
                owner=None if folder.drive_id else owner,
                created=self.clock(),
                drive_id=folder.drive_id,
                content=content,
            )
            self.drive_files[item.id] = item
            return item.id

    def share_file(self, file_id: str, email: str, role: str = "writer") -> None:
        """A person shares a folder or file (its contents inherit the role)."""
        with self.lock:
            item = self.drive_files[file_id]
            item.permissions.append(
                {
                    "kind": "drive#permission",
                    "id": str(self.random.randrange(10**19, 10**20)),
                    "type": "user",
                    "role": role,
                    "emailAddress": email,
                    "deleted": False,
                }
            )

    def file_bytes(self, file_id: str) -> bytes:
        """What is stored for an uploaded file (tests compare it byte for byte)."""
        with self.lock:
            return self.drive_files[file_id].content

    def files_in(self, parent: str) -> list[DriveFile]:
        """The files directly in a folder or shared drive, oldest first."""
        with self.lock:
            found = [f for f in self.drive_files.values() if parent in f.parents]
            return sorted(found, key=lambda f: f.created)

    # ------------------------------------------------------------------ persistence

    def state(self) -> dict[str, Any]:
        with self.lock:
            out = super().state()
            out["drive"] = {
                "files": [f.as_state() for f in self.drive_files.values()],
                "sharedDrives": [d.as_state() for d in self.shared_drives.values()],
                "sheetPlaces": [
                    {"id": sid, "parents": list(p.parents), "driveId": p.drive_id}
                    for sid, p in self.sheet_places.items()
                ],
            }
            return out

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            super().load_state(state)
            drive = state.get("drive") or {}
            self.drive_files = {f["id"]: DriveFile.from_state(f) for f in drive.get("files") or []}
            self.shared_drives = {
                d["id"]: SharedDrive.from_state(d) for d in drive.get("sharedDrives") or []
            }
            self.sheet_places = {
                p["id"]: Place(tuple(p["parents"]), p["driveId"])
                for p in drive.get("sheetPlaces") or []
            }
