"""Drive v3: files create / list / get / delete / copy / export, and permissions."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sheets.core import SheetsCore
from sheetledger.sandbox.sheets.errors import drive_error
from sheetledger.sandbox.sheets.masks import parse_mask, project
from sheetledger.sandbox.sheets.model import Spreadsheet
from sheetledger.sandbox.sheets.xlsx import xlsx_workbook

SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rfc3339(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class DriveApi(SheetsCore):
    """The Drive v3 subset gspread uses: files and their sharing."""

    def _drive_file(self, request: Request, fid: str, *, write: bool = False) -> Spreadsheet:
        book = self.spreadsheets.get(fid)
        message = f"File not found: {fid}."
        if book is None or book.trashed:
            raise drive_error(404, "notFound", message, "fileId")
        role = book.role_of(self._caller(request))
        if role is None:
            raise drive_error(404, "notFound", message, "fileId")
        if write and role == "reader":
            raise drive_error(
                403,
                "insufficientFilePermissions",
                "The user does not have sufficient permissions for this file.",
            )
        return book

    def _file_json(self, book: Spreadsheet) -> dict[str, Any]:
        return {
            "kind": "drive#file",
            "id": book.id,
            "name": book.title,
            "mimeType": SHEETS_MIME,
            "starred": False,
            "trashed": book.trashed,
            "parents": ["0AJsandboxRootFolder"],
            "version": str(book.version),
            "webViewLink": f"https://docs.google.com/spreadsheets/d/{book.id}/edit?usp=drivesdk",
            "createdTime": _rfc3339(book.created),
            "modifiedTime": _rfc3339(book.modified),
            "owners": [{"kind": "drive#user", "emailAddress": book.owner, "me": False}],
            "shared": bool(book.permissions),
        }

    def _drive_reply(self, request: Request, body: dict[str, Any], default_fields: str) -> Response:
        fields = request.arg("fields") or default_fields
        return Response.json(project(body, parse_mask(fields)))

    @route("POST", r"/drive/v3/files", kind="drive")
    def drive_create(self, request: Request) -> Response:
        body = self._body(request)
        if body.get("mimeType") != SHEETS_MIME:
            raise drive_error(
                400, "badRequest", "The sandbox Drive only creates Google Sheets files."
            )
        with self.lock:
            if self.service_accounts_have_no_storage and self._caller(request).endswith(
                ".iam.gserviceaccount.com"
            ):
                raise drive_error(
                    403, "storageQuotaExceeded", "The user's Drive storage quota has been exceeded."
                )
            book = self._new_book(body.get("name") or "Untitled spreadsheet", self._caller(request))
            return self._drive_reply(request, self._file_json(book), "kind,id,name,mimeType")

    @route("POST", r"/drive/v3/files/(?P<fid>[^/]+)/copy", kind="drive")
    def drive_copy(self, request: Request, fid: str) -> Response:
        body = self._body(request)
        with self.lock:
            source = self._drive_file(request, fid)
            twin = source.clone()
            twin.id = self._new_spreadsheet_id()
            twin.title = body.get("name") or f"Copy of {source.title}"
            twin.owner = self._caller(request)
            twin.permissions = []
            twin.created = twin.modified = self.clock()
            twin.version = 1
            self.spreadsheets[twin.id] = twin
            return self._drive_reply(request, self._file_json(twin), "kind,id,name,mimeType")

    @route("GET", r"/drive/v3/files", kind="drive")
    def drive_list(self, request: Request) -> Response:
        conditions = self._parse_drive_query(request.arg("q") or "")
        with self.lock:
            caller = self._caller(request)
            files = []
            for book in self.spreadsheets.values():
                if book.role_of(caller) is None:
                    continue
                info = self._file_json(book)
                if all(self._drive_condition(info, c) for c in conditions):
                    files.append(info)
            files.sort(key=lambda f: f["modifiedTime"], reverse=True)
            body = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
            fields = request.arg("fields") or "kind,incompleteSearch,files(kind,id,name,mimeType)"
            return Response.json(project(body, parse_mask(fields)))

    @staticmethod
    def _parse_drive_query(query: str) -> list[tuple[str, str, str]]:
        """The ``q`` gspread sends: ``mimeType="..." and name = "..." and "x" in parents``."""
        conditions = []
        for clause in re.split(r"\s+and\s+", query.strip()) if query.strip() else []:
            match = re.fullmatch(r"""\s*(\w+)\s*(=|!=|contains)\s*(["'])(.*)\3\s*""", clause)
            if match:
                conditions.append(
                    (match.group(1), match.group(2), match.group(4).replace("\\'", "'"))
                )
                continue
            match = re.fullmatch(r"""\s*(["'])(.*)\1\s+in\s+(\w+)\s*""", clause)
            if match:
                conditions.append((match.group(3), "in", match.group(2)))
                continue
            match = re.fullmatch(r"\s*(\w+)\s*=\s*(true|false)\s*", clause)
            if match:
                conditions.append((match.group(1), "=", match.group(2)))
                continue
            raise drive_error(400, "invalid", "Invalid Value", "q")
        return conditions

    @staticmethod
    def _drive_condition(info: dict[str, Any], condition: tuple[str, str, str]) -> bool:
        field, op, value = condition
        if op == "in":
            return value in (info.get(field) or [])
        actual = info.get(field)
        if isinstance(actual, bool):
            actual = "true" if actual else "false"
        if op == "=":
            return str(actual) == value
        if op == "!=":
            return str(actual) != value
        return value.lower() in str(actual).lower()

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)", kind="drive")
    def drive_get(self, request: Request, fid: str) -> Response:
        with self.lock:
            book = self._drive_file(request, fid)
            return self._drive_reply(request, self._file_json(book), "kind,id,name,mimeType")

    @route("DELETE", r"/drive/v3/files/(?P<fid>[^/]+)", kind="drive")
    def drive_delete(self, request: Request, fid: str) -> Response:
        with self.lock:
            book = self._drive_file(request, fid, write=True)
            if book.role_of(self._caller(request)) != "owner":
                raise drive_error(
                    403,
                    "insufficientFilePermissions",
                    "The user does not have sufficient permissions for this file.",
                )
            del self.spreadsheets[fid]
            return Response.empty(204)

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)/export", kind="drive")
    def drive_export(self, request: Request, fid: str) -> Response:
        mime = request.arg("mimeType") or ""
        with self.lock:
            book = self._drive_file(request, fid)
            if mime == XLSX_MIME:
                return Response(200, xlsx_workbook(book), {"Content-Type": XLSX_MIME})
            if mime in ("text/csv", "text/tab-separated-values"):
                sheet = book.sheets[0]
                rows = self._render_rows(
                    book,
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

    @route("POST", r"/drive/v3/files/(?P<fid>[^/]+)/permissions", kind="drive")
    def drive_share(self, request: Request, fid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._drive_file(request, fid, write=True)
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
            permission = self._add_permission(
                book, kind, role, body.get("emailAddress"), body.get("domain")
            )
            self._touch(book)
            return self._drive_reply(request, permission, "kind,id,type,role")

    def _add_permission(
        self, book: Spreadsheet, kind: str, role: str, email: str | None, domain: str | None = None
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
            book = self._drive_file(request, fid)
            owner = {
                "kind": "drive#permission",
                "id": "owner-" + str(abs(hash(book.owner)) % 10**19),
                "type": "user",
                "emailAddress": book.owner,
                "role": "owner",
                "deleted": False,
            }
            body = {
                "kind": "drive#permissionList",
                "permissions": [owner] + [dict(p) for p in book.permissions],
            }
            return self._drive_reply(request, body, "kind,permissions(kind,id,type,role)")

    @route("DELETE", r"/drive/v3/files/(?P<fid>[^/]+)/permissions/(?P<pid>[^/]+)", kind="drive")
    def drive_unshare(self, request: Request, fid: str, pid: str) -> Response:
        with self.lock:
            book = self._drive_file(request, fid, write=True)
            before = len(book.permissions)
            book.permissions = [p for p in book.permissions if p["id"] != pid]
            if len(book.permissions) == before:
                raise drive_error(404, "notFound", f"Permission not found: {pid}.", "permissionId")
            return Response.empty(204)
