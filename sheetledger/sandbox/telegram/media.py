"""Bot API methods that carry files: sendDocument, sendPhoto, sendMediaGroup, getFile, downloads.

A file field takes an uploaded part, ``attach://<part>``, a file_id or (refused here, no
internet) a URL, as the Bot API does; uploads are stored, photos in Telegram's sizes.
"""

from __future__ import annotations

from sheetledger.sandbox.server import Request, Response, route
from sheetledger.sandbox.telegram.files import (
    MAX_DOWNLOAD_BYTES,
    document_mime,
    document_object,
    image_size,
)
from sheetledger.sandbox.telegram.state import MAX_ALBUM, TelegramState, caption_field
from sheetledger.sandbox.telegram.wire import (
    JSON,
    TOKEN_IN_PATH,
    BotAPIError,
    Params,
    api,
    bad,
    ok,
)

# A photo's width and height must not exceed 10000 in total, their ratio at most 20.
MAX_PHOTO_SIDES_SUM = 10_000
MAX_PHOTO_RATIO = 20


class BotMedia(TelegramState):
    """The bot sends and fetches files."""

    def _known_file(self, value: str | None, kind: str) -> JSON:
        """A file given by file_id (or URL, which the sandbox cannot fetch)."""
        if not value:
            raise bad(f"there is no {kind} in the request")
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            raise bad("failed to get HTTP URL content")  # no internet in the sandbox
        raise bad("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _upload_content(upload: JSON) -> bytes:
        content = upload.get("content", b"")
        if not content:
            raise bad("file must be non-empty")
        return bytes(content)

    def _document(self, value: JSON | str | None) -> JSON:
        """The Document of a ``document`` field; an upload is stored."""
        if not isinstance(value, dict):
            return document_object(self._known_file(value, "document"))
        name = value.get("filename")
        stored = self._store_file(
            self._upload_content(value),
            kind="document",
            file_name=name,
            mime_type=document_mime(value.get("content_type"), name),
        )
        return document_object(stored)

    def _photo(self, value: JSON | str | None) -> list[JSON]:
        """The PhotoSize list of a ``photo`` field; an upload is stored in Telegram's sizes."""
        if not isinstance(value, dict):
            stored = self._known_file(value, "photo")
            if stored["kind"] != "photo":
                raise bad("wrong file identifier/HTTP URL specified")
            return self._photo_sizes(stored)
        content = self._upload_content(value)
        size = image_size(content)
        if size is None:
            raise bad("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > MAX_PHOTO_SIDES_SUM or max(size) > MAX_PHOTO_RATIO * min(size):
            raise bad("PHOTO_INVALID_DIMENSIONS")
        return self._photo_sizes(self._store_photo(content, width, height))

    @api("sendDocument", kind="write")
    def send_document_api(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            caption = self._caption(params)
            self._check_can_write(chat)
            extra = {"document": self._document(params.upload("document")), **caption}
            return ok(self._bot_message(chat, extra, params))

    @api("sendPhoto", kind="write")
    def send_photo_api(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            caption = self._caption(params)
            self._check_can_write(chat)
            extra = {"photo": self._photo(params.upload("photo")), **caption}
            return ok(self._bot_message(chat, extra, params))

    @staticmethod
    def _album(params: Params) -> list[JSON]:
        """``media`` of sendMediaGroup, checked as Telegram does before anything is sent."""
        media = params.structured("media", "media")
        if not isinstance(media, list) or not all(isinstance(m, dict) for m in media):
            raise bad("can't parse media JSON object")
        if not media:
            raise bad('parameter "media" is required')
        if len(media) > MAX_ALBUM:
            raise bad("too much messages to send as an album")
        kinds = {str(m.get("type")) for m in media}
        if kinds - {"photo", "document"}:
            # Telegram also takes video and audio; the emulator stores no such files.
            raise bad(f"can't parse InputMedia: type {sorted(kinds)} is not emulated")
        if "document" in kinds and len(kinds) > 1:
            raise bad("document can't be mixed with other media types")
        for item in media:
            if params.file(item.get("media")) is None:
                raise bad("can't parse InputMedia: media not found")
        return media

    @api("sendMediaGroup", kind="write")
    def send_media_group(self, request: Request, token: str) -> Response:
        params = Params(request)
        with self.lock:
            chat = self._chat(params.values.get("chat_id"))
            album = self._album(params)
            captions = [caption_field(m.get("caption"), m.get("parse_mode")) for m in album]
            self._check_can_write(chat)
            contents: list[JSON] = []
            for item in album:
                value = params.file(item["media"])
                if item["type"] == "photo":
                    contents.append({"photo": self._photo(value)})
                else:
                    contents.append({"document": self._document(value)})
            group_id = str(13_000_000_000_000_000 + self._next_seq())
            messages = [
                self._bot_message(chat, {"media_group_id": group_id, **content, **caption}, params)
                for content, caption in zip(contents, captions, strict=True)
            ]
            return ok(messages)

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
