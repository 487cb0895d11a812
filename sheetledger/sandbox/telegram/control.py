"""The Telegram emulator's control side over HTTP: people act and tests look, under /_sandbox/.

Never counted, never faulted (see ``sandbox/server.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from sheetledger.sandbox.server import HTTPError, Request, Response, route
from sheetledger.sandbox.telegram.people import People
from sheetledger.sandbox.telegram.wire import JSON, TelegramTimeout, form


class PeopleControl(People):
    """``/_sandbox/users/...`` and ``/_sandbox/chats/...``: the in-process people over HTTP."""

    # -- HTTP control side -----------------------------------------------------------------

    @staticmethod
    def _control_body(request: Request) -> JSON:
        as_json = request.content_type == "application/json"
        body = (request.json() or {}) if as_json else form(request)
        if not isinstance(body, dict):
            raise HTTPError(Response.json({"error": "expected a JSON object"}, 400))
        return body

    @staticmethod
    def _control_call(action: Callable[[], Any], status: int = 201) -> Response:
        try:
            return Response.json(action(), status)
        except (LookupError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 404 if isinstance(exc, LookupError) else 400)

    @staticmethod
    def _optional_int(value: Any) -> int | None:
        return None if value in (None, "") else int(value)

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/messages")
    def _control_send_text(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        if not isinstance(body.get("text"), str):
            return Response.json({"error": "text is required"}, 400)
        return self._control_call(
            lambda: self.send_text(
                int(user_id),
                body["text"],
                chat_id=self._optional_int(body.get("chat_id")),
                chat_type=str(body.get("chat_type", "private")),
                title=body.get("title"),
                first_name=body.get("first_name"),
                username=body.get("username"),
                date=self._optional_int(body.get("date")),
                reply_to_message_id=self._optional_int(body.get("reply_to_message_id")),
            )
        )

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/edits")
    def _control_edit_text(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        return self._control_call(
            lambda: self.edit_text(
                int(user_id),
                int(body["message_id"]),
                str(body["text"]),
                chat_id=self._optional_int(body.get("chat_id")),
            )
        )

    @staticmethod
    def _upload(body: JSON, part: str) -> tuple[bytes, str | None, str | None]:
        upload = body.get(part)
        if isinstance(upload, dict):
            return upload["content"], upload.get("filename"), upload.get("content_type")
        if "content_base64" not in body:
            raise ValueError(f"send a file part {part!r} or content_base64")
        return base64.b64decode(body["content_base64"]), body.get("filename"), body.get("mime_type")

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/documents")
    def _control_send_document(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)

        def act() -> JSON:
            content, filename, mime = self._upload(body, "document")
            return self.send_document(
                int(user_id),
                filename or "file.bin",
                content,
                body.get("mime_type") or mime,
                body.get("caption") or None,
                chat_id=self._optional_int(body.get("chat_id")),
                chat_type=str(body.get("chat_type", "private")),
                first_name=body.get("first_name"),
                username=body.get("username"),
            )

        return self._control_call(act)

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/photos")
    def _control_send_photo(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)

        def act() -> JSON:
            content, _, _ = self._upload(body, "photo")
            return self.send_photo(
                int(user_id),
                content,
                body.get("caption") or None,
                width=self._optional_int(body.get("width")),
                height=self._optional_int(body.get("height")),
                chat_id=self._optional_int(body.get("chat_id")),
                chat_type=str(body.get("chat_type", "private")),
                first_name=body.get("first_name"),
                username=body.get("username"),
            )

        return self._control_call(act)

    @staticmethod
    def _album_files(body: JSON) -> list[tuple[str, bytes]]:
        """Every file part in order, or ``files``: ``[{"filename", "content_base64"}]``."""
        parts = [v for v in body.values() if isinstance(v, dict)]
        if parts:
            return [(str(p.get("filename") or "file.bin"), p["content"]) for p in parts]
        listed = body.get("files")
        if not isinstance(listed, list):
            raise ValueError("send file parts or files: [{filename, content_base64}]")
        if not all(isinstance(f, dict) and "content_base64" in f for f in listed):
            raise ValueError("each of files needs content_base64")
        return [
            (str(f.get("filename") or "file.bin"), base64.b64decode(f["content_base64"]))
            for f in listed
        ]

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/albums")
    def _control_send_album(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)

        def act() -> list[JSON]:
            return self.send_album(
                int(user_id),
                self._album_files(body),
                body.get("caption") or None,
                kind=str(body.get("kind") or "document"),
                chat_id=self._optional_int(body.get("chat_id")),
                chat_type=str(body.get("chat_type", "private")),
                first_name=body.get("first_name"),
                username=body.get("username"),
            )

        return self._control_call(act)

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/press")
    def _control_press(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        return self._control_call(
            lambda: self.press_button(
                int(user_id),
                int(body["message_id"]),
                str(body["callback_data"]),
                chat_id=self._optional_int(body.get("chat_id")),
            )
        )

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/chat")
    def _control_open_chat(self, request: Request, user_id: str) -> Response:
        body = self._control_body(request)
        return self._control_call(
            lambda: self.open_chat(
                int(user_id), first_name=body.get("first_name"), username=body.get("username")
            )
        )

    @route("POST", r"/_sandbox/users/(?P<user_id>\d+)/block")
    def _control_block(self, request: Request, user_id: str) -> Response:
        self.block_bot(int(user_id))
        return Response.empty()

    @route("DELETE", r"/_sandbox/users/(?P<user_id>\d+)/block")
    def _control_unblock(self, request: Request, user_id: str) -> Response:
        self.unblock_bot(int(user_id))
        return Response.empty()

    @route("GET", r"/_sandbox/chats/(?P<chat_id>-?\d+)/sent")
    def _control_sent(self, request: Request, chat_id: str) -> Response:
        count = request.arg("count")
        if count is None:
            return Response.json(self.sent(int(chat_id)))
        timeout = float(request.arg("timeout", "5") or 5)
        try:
            return Response.json(self.wait_for_sent(int(chat_id), int(count), timeout))
        except TelegramTimeout as exc:
            return Response.json({"error": str(exc)}, 408)

    @route("GET", r"/_sandbox/chats/(?P<chat_id>-?\d+)/messages")
    def _control_history(self, request: Request, chat_id: str) -> Response:
        return Response.json(self.chat_history(int(chat_id)))

    @route("GET", r"/_sandbox/callback_answers")
    def _control_answers(self, request: Request) -> Response:
        with self.lock:
            return Response.json(list(self.callback_answers))

    @route("GET", r"/_sandbox/updates")
    def _control_updates(self, request: Request) -> Response:
        with self.lock:
            return Response.json(
                {"pending": self.pending_updates(), "confirmed_offset": self.confirmed_offset}
            )

    @route("GET", r"/_sandbox/files/(?P<file_id>[^/]+)")
    def _control_file(self, request: Request, file_id: str) -> Response:
        with self.lock:
            stored = self.files.get(file_id)
        if stored is None:
            return Response.json({"error": f"no file {file_id}"}, 404)
        mime = stored.get("mime_type") or "application/octet-stream"
        return Response(200, stored["content"], {"Content-Type": mime})

    @route("POST", r"/_sandbox/rate_limit")
    def _control_rate_limit(self, request: Request) -> Response:
        body = self._control_body(request)
        self.rate_limit_next(
            int(body.get("retry_after", 1)), int(body.get("count", 1)), str(body.get("match", ""))
        )
        return Response.json({"retry_after": self.retry_after}, 201)

    @route("POST", r"/_sandbox/webhook")
    def _control_webhook(self, request: Request) -> Response:
        body = self._control_body(request)
        with self.lock:
            self.webhook_url = str(body.get("url", ""))
            self.cond.notify_all()
        return Response.json({"url": self.webhook_url}, 201)
