"""Drive's media upload route: ``POST /upload/drive/v3/files?uploadType=media|multipart|resumable``.

* ``media``: the body is the file's bytes, its type the ``Content-Type``; name "Untitled".
* ``multipart``: a ``multipart/related`` body of two parts, the JSON metadata then the media
  (google-api-python-client writes ``\\n`` line ends, others ``\\r\\n``; a media part may be
  ``Content-Transfer-Encoding: base64``). The sandbox's multipart/form-data reader does not
  cover this, hence ``parse_related`` here.
* ``resumable``: the first POST carries the metadata and answers 200 with the session URI in
  ``Location``; the bytes follow by PUT, whole or in chunks with ``Content-Range: bytes
  a-b/total`` (``*`` while the total is unknown). An unfinished session answers 308 with
  ``Range: bytes=0-n``; ``Content-Range: bytes */total`` with no body asks where it stands.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.sheets.drive_store import DriveStore
from sheetledger.sandbox.sheets.errors import drive_error

DEFAULT_FIELDS = "kind,id,name,mimeType"


@dataclass
class Part:
    """One part of a multipart/related body."""

    headers: dict[str, str]
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/octet-stream").split(";")[0].strip()


def _boundary(content_type: str) -> str | None:
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type, re.IGNORECASE)
    return (match.group(1) or match.group(2)) if match else None


def _strip_line_end(chunk: bytes, *, leading: bool) -> bytes:
    for end in (b"\r\n", b"\n"):
        if leading and chunk.startswith(end):
            return chunk[len(end) :]
        if not leading and chunk.endswith(end):
            return chunk[: -len(end)]
    return chunk


def parse_related(content_type: str, body: bytes) -> list[Part]:
    """The parts of a ``multipart/related`` body (RFC 2046), CRLF or LF line ends alike."""
    boundary = _boundary(content_type)
    if not boundary:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + boundary.encode()
    pieces = body.split(delimiter)
    if len(pieces) < 3:
        raise ValueError("multipart body without parts")
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # the close delimiter
        piece = _strip_line_end(_strip_line_end(piece, leading=True), leading=False)
        head, separator, content = piece.partition(b"\r\n\r\n")
        if not separator:
            head, separator, content = piece.partition(b"\n\n")
        if not separator:  # a part with no headers at all
            head, content = b"", piece
        headers = {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip().lower()] = value.strip()
        if headers.get("content-transfer-encoding", "").lower() == "base64":
            content = base64.b64decode(content)
        parts.append(Part(headers, content))
    return parts


@dataclass
class UploadSession:
    """A resumable upload under way: its metadata and the bytes received so far."""

    metadata: dict[str, Any]
    content_type: str | None
    query: dict[str, list[str]]
    caller: str
    received: bytearray = field(default_factory=bytearray)
    total: int | None = None


_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")


class DriveUploads(DriveStore):
    """The upload route, its three upload types, and the resumable sessions."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.upload_sessions: dict[str, UploadSession] = {}

    @route("POST", r"/upload/drive/v3/files", kind="drive")
    def drive_upload(self, request: Request) -> Response:
        kind = request.arg("uploadType") or "media"
        if kind == "media":
            metadata: dict[str, Any] = {}
            return self._finish_upload(request, metadata, request.body, request.content_type)
        if kind == "multipart":
            metadata, content, content_type = self._split_multipart(request)
            return self._finish_upload(request, metadata, content, content_type)
        if kind == "resumable":
            return self._open_session(request)
        raise drive_error(400, "invalid", f"Invalid value for uploadType: {kind}", "uploadType")

    def _split_multipart(self, request: Request) -> tuple[dict[str, Any], bytes, str]:
        header = request.headers.get("Content-Type") or ""
        if request.content_type != "multipart/related":
            raise drive_error(400, "badContent", f"Unsupported content with type: {header}")
        try:
            parts = parse_related(header, request.body)
        except ValueError as exc:
            raise drive_error(400, "badContent", "Malformed multipart body.") from exc
        if len(parts) != 2:
            raise drive_error(400, "badContent", "Malformed multipart body.")
        try:
            metadata = json.loads(parts[0].content or b"{}")
        except ValueError as exc:
            raise drive_error(400, "parseError", "Parse Error") from exc
        if not isinstance(metadata, dict):
            raise drive_error(400, "parseError", "Parse Error")
        return metadata, parts[1].content, parts[1].content_type

    def _finish_upload(
        self,
        request: Request,
        metadata: dict[str, Any],
        content: bytes,
        content_type: str | None,
    ) -> Response:
        with self.lock:
            item = self._store_file(request, metadata, content, content_type or None)
            return self._drive_reply(request, self._entry_json(item), DEFAULT_FIELDS)

    def _open_session(self, request: Request) -> Response:
        metadata = self._body(request)
        with self.lock:
            # Where the file goes is checked now: Google refuses the session, not the bytes.
            mime = metadata.get("mimeType") or request.headers.get("X-Upload-Content-Type")
            self._target(request, metadata.get("parents"), str(mime or ""))
            upload_id = "ABPtcP" + "".join(
                self.random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                for _ in range(60)
            )
            length = request.headers.get("X-Upload-Content-Length")
            self.upload_sessions[upload_id] = UploadSession(
                metadata=metadata,
                content_type=request.headers.get("X-Upload-Content-Type"),
                query={k: list(v) for k, v in request.query.items() if k != "uploadType"},
                caller=self._caller(request),
                total=int(length) if length else None,
            )
        host = request.headers.get("Host") or "127.0.0.1"
        query = "&".join(
            f"{k}={v}" for k, values in request.query.items() for v in values if k != "uploadType"
        )
        location = f"http://{host}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
        if query:
            location += "&" + query
        return Response(200, b"", {"Location": location, "X-GUploader-UploadID": upload_id})

    @route("PUT", r"/upload/drive/v3/files", kind="drive")
    def drive_upload_chunk(self, request: Request) -> Response:
        upload_id = request.arg("upload_id") or ""
        with self.lock:
            session = self.upload_sessions.get(upload_id)
            if session is None or session.caller != self._caller(request):
                raise drive_error(404, "notFound", "Upload session not found.")
            start, total = self._chunk_range(request, session)
            if start is not None:
                if start != len(session.received):
                    return self._incomplete(session)  # the client resends from our Range
                session.received.extend(request.body)
            if total is not None:
                session.total = total
            if session.total is None or len(session.received) < session.total:
                return self._incomplete(session)
            if len(session.received) > session.total:
                raise drive_error(400, "badContent", "Too many bytes for the declared length.")
            del self.upload_sessions[upload_id]
            return self._finish_upload(
                request, session.metadata, bytes(session.received), session.content_type
            )

    @staticmethod
    def _chunk_range(request: Request, session: UploadSession) -> tuple[int | None, int | None]:
        """(first byte of this chunk or None for a status query, the declared total)."""
        header = request.headers.get("Content-Range")
        if not header:
            return len(session.received), len(session.received) + len(request.body)
        match = _RANGE.fullmatch(header.strip())
        if match is None:
            raise drive_error(400, "badRequest", f"Invalid Content-Range: {header}")
        total = None if match.group(3) == "*" else int(match.group(3))
        if match.group(1) is None:
            return None, total
        start, end = int(match.group(1)), int(match.group(2))
        if end - start + 1 != len(request.body):
            raise drive_error(400, "badRequest", "Content-Range does not match the body length.")
        return start, total

    @staticmethod
    def _incomplete(session: UploadSession) -> Response:
        headers = {"X-GUploader-UploadID": "sandbox"}
        if session.received:
            headers["Range"] = f"bytes=0-{len(session.received) - 1}"
        return Response(308, b"", headers)
