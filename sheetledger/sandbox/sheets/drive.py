"""Drive v3 files: create, list, get (``alt=media``), update, delete, copy, export, permissions.

A file is a spreadsheet (the Sheets model) or a ``DriveFile`` (folders, uploaded bytes); the
rules on where files may be created and who sees them are in ``drive_store``, the upload route
in ``drive_upload``, shared drives in ``shared_drives``.
"""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sheets.core import flag
from sheetledger.sandbox.sheets.drive_model import (
    MY_DRIVE_ROOT,
    SHEETS_MIME,
    WRITERS,
    DriveFile,
    Place,
    QueryError,
    evaluate,
    parse_query,
)
from sheetledger.sandbox.sheets.drive_store import (
    Entry,
    app_properties,
    no_permission,
    not_found,
)
from sheetledger.sandbox.sheets.drive_upload import DEFAULT_FIELDS, DriveUploads
from sheetledger.sandbox.sheets.errors import drive_error
from sheetledger.sandbox.sheets.model import Spreadsheet
from sheetledger.sandbox.sheets.shared_drives import SharedDrivesApi
from sheetledger.sandbox.sheets.xlsx import xlsx_workbook

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIST_FIELDS = "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)"
NOT_DOWNLOADABLE = (
    "Only files with binary content can be downloaded. Use Export with Docs Editors files."
)
_SORT_KEYS = {
    "name": "name",
    "name_natural": "name",
    "modifiedTime": "modifiedTime",
    "createdTime": "createdTime",
    "folder": "mimeType",
}


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{offset}".encode()).decode()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])
    except (ValueError, IndexError) as exc:
        raise drive_error(400, "invalid", "Invalid Value", "pageToken") from exc


class DriveApi(DriveUploads, SharedDrivesApi):
    """The Drive v3 files gspread and the product use, and their sharing."""

    # ------------------------------------------------------------------ create and copy

    @route("POST", r"/drive/v3/files", kind="drive")
    def drive_create(self, request: Request) -> Response:
        body = self._body(request)
        with self.lock:
            if body.get("mimeType") != SHEETS_MIME:
                item = self._store_file(request, body)
                return self._drive_reply(request, self._entry_json(item), DEFAULT_FIELDS)
            place = self._target(request, body.get("parents"), SHEETS_MIME)
            properties = app_properties(body)
            book = self._new_book(body.get("name") or "Untitled spreadsheet", self._caller(request))
            book.app_properties = properties
            if place != Place():
                self.sheet_places[book.id] = place
            return self._drive_reply(request, self._entry_json(book), DEFAULT_FIELDS)

    @route("POST", r"/drive/v3/files/(?P<fid>[^/]+)/copy", kind="drive")
    def drive_copy(self, request: Request, fid: str) -> Response:
        body = self._body(request)
        with self.lock:
            source = self._visible(request, fid)
            parents = body.get("parents") or list(self._place(source).parents)
            mime = SHEETS_MIME if isinstance(source, Spreadsheet) else source.mime_type
            place = self._target(request, parents, mime)
            if isinstance(source, DriveFile):
                metadata = {"name": body.get("name") or f"Copy of {source.name}", "mimeType": mime}
                metadata["parents"] = list(place.parents)
                twin_file = self._store_file(request, metadata, source.content)
                return self._drive_reply(request, self._entry_json(twin_file), DEFAULT_FIELDS)
            twin = source.clone()
            twin.id = self._new_spreadsheet_id()
            twin.title = body.get("name") or f"Copy of {source.title}"
            twin.owner = self._caller(request)
            twin.permissions = []
            twin.created = twin.modified = self.clock()
            twin.version = 1
            self.spreadsheets[twin.id] = twin
            if place != Place():
                self.sheet_places[twin.id] = place
            return self._drive_reply(request, self._entry_json(twin), DEFAULT_FIELDS)

    # ------------------------------------------------------------------ list

    @route("GET", r"/drive/v3/files", kind="drive")
    def drive_list(self, request: Request) -> Response:
        try:
            tree = parse_query(request.arg("q") or "")
        except QueryError as exc:
            raise drive_error(400, "invalid", "Invalid Value", "q") from exc
        corpora, drive_id, all_drives = self._corpora(request)
        size = min(int(request.arg("pageSize") or 100), 1000)
        offset = _page_offset(request.arg("pageToken"))
        with self.lock:
            caller = self._caller(request)
            found = []
            entries: list[Entry] = [b for b in self.spreadsheets.values() if not b.trashed]
            entries.extend(self.drive_files.values())
            for entry in entries:
                place = self._place(entry)
                if place.drive_id is not None and not all_drives:
                    continue
                if corpora == "drive" and place.drive_id != drive_id:
                    continue
                if self._role(caller, entry) is None:
                    continue
                info = self._entry_json(entry)
                if evaluate(tree, {**info, "parents": self._with_root_alias(info["parents"])}):
                    found.append(info)
            self._order_files(found, request.arg("orderBy") or "modifiedTime desc")
            body: dict[str, Any] = {
                "kind": "drive#fileList",
                "incompleteSearch": False,
                "files": found[offset : offset + size],
            }
            if offset + size < len(found):
                body["nextPageToken"] = _page_token(offset + size)
            return self._drive_reply(request, body, LIST_FIELDS)

    @staticmethod
    def _with_root_alias(parents: list[str]) -> list[str]:
        return [*parents, "root"] if MY_DRIVE_ROOT in parents else parents

    def _corpora(self, request: Request) -> tuple[str, str | None, bool]:
        """(corpora, driveId, include shared-drive items), refused where Drive refuses."""
        corpora = request.arg("corpora") or "user"
        drive_id = request.arg("driveId")
        all_drives = flag(request.arg("includeItemsFromAllDrives"))
        if all_drives and not flag(request.arg("supportsAllDrives")):
            raise drive_error(
                403,
                "teamDrivesParameterNotSupported",
                "The includeItemsFromAllDrives parameter can only be set to true if "
                "supportsAllDrives is also set to true.",
                "includeItemsFromAllDrives",
            )
        if (corpora == "drive") != bool(drive_id):
            raise drive_error(
                400,
                "invalid",
                "The driveId parameter must be specified if and only if corpora is set to drive.",
                "driveId",
            )
        if corpora == "drive" and not all_drives:
            raise drive_error(
                403,
                "teamDrivesParameterNotSupported",
                "The includeItemsFromAllDrives parameter must be set to true when corpora is "
                "set to drive.",
                "includeItemsFromAllDrives",
            )
        if corpora not in ("user", "drive", "allDrives", "domain"):
            raise drive_error(400, "invalid", "Invalid Value", "corpora")
        return corpora, drive_id, all_drives

    @staticmethod
    def _order_files(found: list[dict[str, Any]], order_by: str) -> None:
        for clause in reversed([c.strip() for c in order_by.split(",") if c.strip()]):
            key, _, direction = clause.partition(" ")
            if key not in _SORT_KEYS:
                raise drive_error(400, "invalid", "Invalid Value", "orderBy")
            field_name = _SORT_KEYS[key]
            found.sort(
                key=lambda f, name=field_name: str(f.get(name, "")).casefold(),  # type: ignore[misc]
                reverse=direction.strip().lower() == "desc",
            )

    # ------------------------------------------------------------------ get, update, delete

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)", kind="drive")
    def drive_get(self, request: Request, fid: str) -> Response:
        with self.lock:
            entry = self._visible(request, fid)
            if request.arg("alt") == "media":
                return self._media(request, entry)
            return self._drive_reply(request, self._entry_json(entry), DEFAULT_FIELDS)

    @staticmethod
    def _media(request: Request, entry: Entry) -> Response:
        if not isinstance(entry, DriveFile) or not entry.downloadable:
            raise drive_error(403, "fileNotDownloadable", NOT_DOWNLOADABLE, "alt")
        content, total = entry.content, len(entry.content)
        headers = {"Content-Type": entry.mime_type}
        wanted = (request.headers.get("Range") or "").strip()
        if wanted.startswith("bytes=") and total:
            first, _, last = wanted[6:].partition("-")
            start = int(first or 0)
            end = min(int(last) if last else total - 1, total - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
            return Response(206, content[start : end + 1], headers)
        return Response(200, content, headers)

    @route("PATCH", r"/drive/v3/files/(?P<fid>[^/]+)", kind="drive")
    def drive_update(self, request: Request, fid: str) -> Response:
        body = self._body(request)
        if "parents" in body:
            raise drive_error(
                403,
                "fieldNotWritable",
                "The parents field is not directly writable in update requests. Use the "
                "addParents and removeParents parameters instead.",
            )
        changes = app_properties(body, patch=True)
        with self.lock:
            entry = self._visible(request, fid, write=True)
            self._move(request, entry)
            for key, value in changes.items():  # a null value removes the property
                if value is None:
                    entry.app_properties.pop(key, None)
                else:
                    entry.app_properties[key] = value
            if isinstance(entry, Spreadsheet):
                entry.title = str(body.get("name") or entry.title)
                self._touch(entry)
            else:
                entry.name = str(body.get("name") or entry.name)
                if "description" in body:
                    entry.description = str(body["description"] or "")
                if "trashed" in body:
                    entry.trashed = bool(body["trashed"])
                entry.modified = self.clock()
                entry.version += 1
            return self._drive_reply(request, self._entry_json(entry), DEFAULT_FIELDS)

    def _move(self, request: Request, entry: Entry) -> None:
        """``addParents`` / ``removeParents``: a file has one parent, in one drive."""
        adding = [p for p in (request.arg("addParents") or "").split(",") if p]
        removing = [p for p in (request.arg("removeParents") or "").split(",") if p]
        if not adding and not removing:
            return
        place = self._place(entry)
        parents = [p for p in place.parents if p not in removing]
        for parent in adding:
            target = self._target(request, [parent], "application/vnd.google-apps.folder")
            if target.drive_id != place.drive_id:
                raise drive_error(
                    403,
                    "cannotMoveItemBetweenDrives",
                    "The sandbox does not move files between My Drive and shared drives.",
                )
            parents.append(target.parents[0])
        if len(parents) > 1:
            raise drive_error(
                403, "cannotAddParent", "Increasing the number of parents is not allowed."
            )
        if isinstance(entry, DriveFile):
            entry.parents = parents
        else:
            self.sheet_places[entry.id] = Place(tuple(parents), place.drive_id)

    @route("DELETE", r"/drive/v3/files/(?P<fid>[^/]+)", kind="drive")
    def drive_delete(self, request: Request, fid: str) -> Response:
        with self.lock:
            entry = self._visible(request, fid, write=True)
            role = self._role(self._caller(request), entry)
            if role not in ("owner", "organizer", "fileOrganizer"):
                raise no_permission()
            self._forget(entry)
            return Response.empty(204)

    def _forget(self, entry: Entry) -> None:
        """Deleting a folder deletes what is in it, as Drive does."""
        if isinstance(entry, Spreadsheet):
            del self.spreadsheets[entry.id]
            self.sheet_places.pop(entry.id, None)
            return
        del self.drive_files[entry.id]
        children: list[Entry] = [f for f in self.drive_files.values() if entry.id in f.parents]
        children.extend(
            book for book in self.spreadsheets.values() if entry.id in self._place(book).parents
        )
        for child in children:
            self._forget(child)

    # ------------------------------------------------------------------ export

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)/export", kind="drive")
    def drive_export(self, request: Request, fid: str) -> Response:
        mime = request.arg("mimeType") or ""
        with self.lock:
            entry = self._visible(request, fid, any_drive=True)
            if not isinstance(entry, Spreadsheet):
                raise drive_error(
                    403, "fileNotExportable", "Export only supports Docs Editors files."
                )
            if mime == XLSX_MIME:
                return Response(200, xlsx_workbook(entry), {"Content-Type": XLSX_MIME})
            if mime in ("text/csv", "text/tab-separated-values"):
                sheet = entry.sheets[0]
                rows = self._render_rows(
                    entry,
                    sheet,
                    0,
                    sheet.row_count,
                    0,
                    sheet.column_count,
                    "FORMATTED_VALUE",
                    "SERIAL_NUMBER",
                )
                out = io.StringIO()
                writer = csv.writer(
                    out, delimiter="," if mime == "text/csv" else "\t", lineterminator="\r\n"
                )
                writer.writerows(rows)
                return Response(200, out.getvalue().encode(), {"Content-Type": mime})
            raise drive_error(
                400, "badRequest", f"The requested conversion is not supported: {mime}"
            )

    # ------------------------------------------------------------------ permissions

    @route("POST", r"/drive/v3/files/(?P<fid>[^/]+)/permissions", kind="drive")
    def drive_share(self, request: Request, fid: str) -> Response:
        body = self._body(request)
        with self.lock:
            entry = self._visible(request, fid, write=True)
            kind, role = body.get("type"), body.get("role")
            if kind not in ("user", "group", "domain", "anyone") or role not in (
                "owner",
                "organizer",
                "fileOrganizer",
                "writer",
                "commenter",
                "reader",
            ):
                raise drive_error(400, "invalid", "Invalid permission type or role.")
            if kind in ("user", "group") and not body.get("emailAddress"):
                raise drive_error(400, "required", "Permission emailAddress is required.")
            # sendNotificationEmail: Drive e-mails the person by default (users and groups).
            notify = kind in ("user", "group") and flag(
                request.arg("sendNotificationEmail"), default=True
            )
            permission = self._add_permission(
                entry, kind, role, body.get("emailAddress"), body.get("domain")
            )
            if notify:  # the e-mail Drive sends ("… shared a spreadsheet with you")
                self.share_notices.append(
                    {"fileId": entry.id, "emailAddress": body["emailAddress"], "role": role}
                )
            if isinstance(entry, Spreadsheet):
                self._touch(entry)
            return self._drive_reply(request, permission, "kind,id,type,role")

    def _add_permission(
        self, book: Entry, kind: str, role: str, email: str | None, domain: str | None = None
    ) -> dict[str, Any]:
        for existing in book.permissions:
            if existing.get("emailAddress") == email and existing.get("type") == kind and email:
                existing["role"] = role
                return dict(existing)
        permission: dict[str, Any] = {
            "kind": "drive#permission",
            "id": str(self.random.randrange(10**19, 10**20)),
            "type": kind,
            "role": role,
            "deleted": False,
        }
        if email:
            permission["emailAddress"] = email
        if domain:
            permission["domain"] = domain
        if kind == "anyone":
            permission["id"] = "anyoneWithLink"
        book.permissions.append(permission)
        return dict(permission)

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)/permissions", kind="drive")
    def drive_permissions(self, request: Request, fid: str) -> Response:
        with self.lock:
            entry = self._visible(request, fid)
            inherited = []
            place = self._place(entry)
            drive = self.shared_drives.get(place.drive_id or "")
            if drive is not None:
                for email, role in drive.members.items():
                    inherited.append(self._user_permission(email, role))
            elif entry.owner:
                inherited.append(self._user_permission(entry.owner, "owner"))
            body = {
                "kind": "drive#permissionList",
                "permissions": inherited + [dict(p) for p in entry.permissions],
            }
            return self._drive_reply(request, body, "kind,permissions(kind,id,type,role)")

    @staticmethod
    def _user_permission(email: str, role: str) -> dict[str, Any]:
        return {
            "kind": "drive#permission",
            "id": role + "-" + str(abs(hash(email)) % 10**19),
            "type": "user",
            "emailAddress": email,
            "role": role,
            "deleted": False,
        }

    @route("DELETE", r"/drive/v3/files/(?P<fid>[^/]+)/permissions/(?P<pid>[^/]+)", kind="drive")
    def drive_unshare(self, request: Request, fid: str, pid: str) -> Response:
        with self.lock:
            entry = self._visible(request, fid, write=True)
            if self._role(self._caller(request), entry) not in WRITERS:
                raise not_found(fid)
            before = len(entry.permissions)
            entry.permissions = [p for p in entry.permissions if p["id"] != pid]
            if len(entry.permissions) == before:
                raise drive_error(404, "notFound", f"Permission not found: {pid}.", "permissionId")
            return Response.empty(204)
