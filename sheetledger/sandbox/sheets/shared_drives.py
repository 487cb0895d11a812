"""Drive v3 ``drives``: create, list and get shared drives (Google Workspace).

``drives.create`` needs a ``requestId`` (its idempotency key: the same id answers the same
drive); the caller becomes the drive's organizer. Members are given by the control side
(``create_shared_drive(name, {email: role})``), as an administrator would add them.
"""

from __future__ import annotations

from typing import Any

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sheets.drive_model import SharedDrive
from sheetledger.sandbox.sheets.drive_store import DriveStore
from sheetledger.sandbox.sheets.errors import drive_error

DRIVE_FIELDS = "kind,id,name"


class SharedDrivesApi(DriveStore):
    """``/drive/v3/drives``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drive_requests: dict[str, str] = {}  # requestId -> drive id

    @route("POST", r"/drive/v3/drives", kind="drive")
    def drives_create(self, request: Request) -> Response:
        request_id = request.arg("requestId")
        if not request_id:
            raise drive_error(400, "required", "Required parameter: requestId", "requestId")
        body = self._body(request)
        with self.lock:
            known = self.drive_requests.get(request_id)
            if known is None:
                name = str(body.get("name") or "Untitled shared drive")
                members = {self._caller(request): "organizer"}
                known = self.create_shared_drive(name, members)
                self.drive_requests[request_id] = known
            return self._drive_reply(request, self.shared_drives[known].as_json(), DRIVE_FIELDS)

    @route("GET", r"/drive/v3/drives", kind="drive")
    def drives_list(self, request: Request) -> Response:
        with self.lock:
            caller = self._caller(request)
            drives = [d for d in self.shared_drives.values() if caller in d.members]
            drives.sort(key=lambda d: d.created)
            query = (request.arg("q") or "").strip()
            if query:
                drives = [d for d in drives if self._drive_matches(d, query)]
            body: dict[str, Any] = {
                "kind": "drive#driveList",
                "drives": [d.as_json() for d in drives],
            }
            return self._drive_reply(request, body, "kind,drives(kind,id,name)")

    @staticmethod
    def _drive_matches(drive: SharedDrive, query: str) -> bool:
        """The one ``drives.list`` query people use: ``name = '...'`` (or ``contains``)."""
        for op in ("=", "contains"):
            head, found, value = query.partition(op)
            if found and head.strip() == "name":
                text = value.strip().strip("'\"")
                return drive.name == text if op == "=" else text.lower() in drive.name.lower()
        raise drive_error(400, "invalid", "Invalid Value", "q")

    @route("GET", r"/drive/v3/drives/(?P<drive_id>[^/]+)", kind="drive")
    def drives_get(self, request: Request, drive_id: str) -> Response:
        with self.lock:
            drive = self.shared_drives.get(drive_id)
            if drive is None or self._caller(request) not in drive.members:
                raise drive_error(404, "notFound", f"Shared drive not found: {drive_id}", "driveId")
            return self._drive_reply(request, drive.as_json(), DRIVE_FIELDS)
