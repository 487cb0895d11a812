"""Bot API methods that carry files: sendDocument, sendPhoto, getFile and downloads."""

from __future__ import annotations

import mimetypes

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.telegram.files import (
    MAX_DOWNLOAD_BYTES,
    document_object,
    photo_sizes,
)
from sheetledger.sandbox.telegram.state import TelegramState
from sheetledger.sandbox.telegram.wire import (
    JSON,
    TOKEN_IN_PATH,
    BotAPIError,
    Params,
    api,
    bad,
    ok,
)


class BotMedia(TelegramState):
    """The bot sends and fetches files."""

    def _file_from_param(self, value: JSON | str | None, kind: str) -> JSON:
        if isinstance(value, dict):
            content = value.get("content", b"")
            if not content:
                raise bad("file must be non-empty")
            return self._store_file(
                content,
                kind=kind,
                file_name=value.get("filename"),
                mime_type=value.get("content_type")
                or mimetypes.guess_type(value.get("filename") or "")[0],
            )
        if not value:
            raise bad(f"there is no {kind} in the request")
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            raise bad("failed to get HTTP URL content")  # no internet in the sandbox
        raise bad("wrong file identifier/HTTP URL specified")

    @api("sendDocument", kind="write")
    def send_document_api(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            caption = self._caption(params)
            self._check_can_write(chat)
            stored = self._file_from_param(params.upload("document"), "document")
            extra = {"document": document_object(stored), **caption}
            return ok(self._bot_message(chat, extra, params))

    @api("sendPhoto", kind="write")
    def send_photo_api(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            caption = self._caption(params)
            self._check_can_write(chat)
            stored = self._file_from_param(params.upload("photo"), "photo")
            if stored["kind"] != "photo":
                raise bad("wrong file identifier/HTTP URL specified")
            extra = {"photo": photo_sizes(stored), **caption}
            return ok(self._bot_message(chat, extra, params))

    @api("getFile", kind="read")
    def get_file(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            file_id = params.text("file_id") or ""
            stored = self.files.get(file_id)
            if stored is None:
                raise bad("wrong file_id or the file is temporarily unavailable")
            if stored["file_size"] > MAX_DOWNLOAD_BYTES:
                raise bad("file is too big")
            return ok(
                {
                    "file_id": stored["file_id"],
                    "file_unique_id": stored["file_unique_id"],
                    "file_size": stored["file_size"],
                    "file_path": stored["file_path"],
                }
            )

    @route("GET", rf"/file/bot{TOKEN_IN_PATH}/(?P<file_path>.+)", kind="read")
    def download_file(self, request: Request, token: str, file_path: str) -> Response:
        with self.lock:
            stored = next((f for f in self.files.values() if f["file_path"] == file_path), None)
        if stored is None:
            raise BotAPIError(404, "Not Found")
        mime = stored.get("mime_type") or "application/octet-stream"
        return Response(200, stored["content"], {"Content-Type": mime})
