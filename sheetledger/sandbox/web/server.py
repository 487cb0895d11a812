"""The page's HTTP server: loopback only, every request carrying the sandbox page's token.

Routes (``token`` is a query parameter or the ``X-Sandbox-Token`` header):

* ``GET /?token=..&view=sheets|amocrm|telegram|services&...`` the whole page;
* ``GET /view?..`` the live part only, which the script swaps in when it changed;
* ``GET /changes?..`` a fingerprint of what the current view shows (the script asks every
  half second and fetches ``/view`` when it differs);
* ``POST /act`` a JSON action (``actions.py``), answered ``{"ok", "message"}``;
* ``GET /?file=<file_id>`` a Telegram file (photos and documents in the chats);
* ``GET /static/<name>`` the stylesheet and the script, from the package.

It binds 127.0.0.1 and answers only a ``Host`` of 127.0.0.1 or localhost (a page on
another site cannot reach it by DNS rebinding); without the token it answers 403. No
cookies: the token must be in each request, so another page cannot act through it.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from sheetledger.sandbox.runner import Sandbox
from sheetledger.sandbox.web.actions import ActionError, perform
from sheetledger.sandbox.web.chat_view import chat_fingerprint, chat_view
from sheetledger.sandbox.web.crm_view import crm_fingerprint, crm_view
from sheetledger.sandbox.web.html import Markup, h, link, render
from sheetledger.sandbox.web.service_view import service_fingerprint, service_view
from sheetledger.sandbox.web.sheets_view import books, sheets_fingerprint, sheets_view

__all__ = ["VIEWS", "WebPage"]

VIEWS = {
    "sheets": "Таблицы",
    "amocrm": "amoCRM",
    "telegram": "Telegram",
    "services": "SMS и запросы",
}
MAX_BODY = 30 * 1024 * 1024  # an uploaded file, base64


class _Query:
    def __init__(self, raw: str) -> None:
        self.values = urllib.parse.parse_qs(raw, keep_blank_values=True)

    def get(self, name: str) -> str:
        found = self.values.get(name)
        return found[0] if found else ""

    def number(self, name: str) -> int | None:
        text = self.get(name)
        return int(text) if text.lstrip("-").isdigit() else None


class WebPage:
    """The sandbox seen in a browser, served from the sandbox's own process."""

    def __init__(self, box: Sandbox, port: int = 0, *, token: str | None = None) -> None:
        self.box = box
        self.token = token or secrets.token_urlsafe(18)
        self._server = _Server(("127.0.0.1", port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-web",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The address to open, with the token."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def start(self) -> WebPage:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebPage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the routes answer ----------------------------------------------------------

    def authorised(self, query: _Query, header: str | None) -> bool:
        given = query.get("token") or header or ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    def fingerprint(self, query: _Query) -> str:
        view = query.get("view") or "sheets"
        if view == "amocrm":
            return crm_fingerprint(self.box)
        if view == "telegram":
            return chat_fingerprint(self.box)
        if view == "services":
            return service_fingerprint(self.box)
        book = query.get("book") or next((b.id for b in books(self.box)), "")
        return sheets_fingerprint(self.box, book)

    def live(self, query: _Query) -> Markup:
        view = query.get("view") or "sheets"
        if view == "amocrm":
            return crm_view(self.box, query.number("deal"), query.get("q"))
        if view == "telegram":
            return chat_view(self.box, query.number("user"))
        if view == "services":
            return service_view(self.box)
        return sheets_view(self.box, query.get("book") or None, query.get("tab") or None)

    def page(self, query: _Query) -> Markup:
        current = query.get("view") or "sheets"
        menu = [
            h(
                "a",
                {
                    "href": link(view=key),
                    "data-nav": "1",
                    "class": "current" if key == current else None,
                    "data-view": key,
                },
                label,
            )
            for key, label in VIEWS.items()
        ]
        return render(
            "page.html",
            title=f"Песочница sheetledger — {VIEWS.get(current, '')}",
            menu=h("nav", {"class": "views"}, menu),
            live=self.live(query),
            fingerprint=self.fingerprint(query),
            folder=str(self.box.folder),
        )

    def file(self, file_id: str) -> tuple[bytes, str] | None:
        telegram = self.box.telegram
        with telegram.lock:
            stored = telegram.files.get(file_id)
            if stored is None:
                return None
            return bytes(stored["content"]), str(stored.get("mime_type") or "")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the URL carries the token: nothing is logged

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json")

    def _html(self, markup: str) -> None:
        self._send(
            200,
            markup.encode(),
            "text/html; charset=utf-8",
            Content_Security_Policy=(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; frame-ancestors 'none'"
            ),
        )

    def _guard(self) -> _Query | None:
        """The query when the request may be answered; answers the refusal otherwise."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost"):
            self._text(403, "this page answers on 127.0.0.1 only")
            return None
        parsed = urllib.parse.urlsplit(self.path)
        query = _Query(parsed.query)
        if parsed.path.startswith("/static/"):
            return query  # the package's own stylesheet and script
        if not self.server.page.authorised(query, self.headers.get("X-Sandbox-Token")):
            self._text(
                403,
                "the page's token is missing or wrong: open the address printed "
                "by `sheetledger sandbox`",
            )
            return None
        return query

    def do_GET(self) -> None:
        try:
            self._get()
        except Exception as exc:  # a bug in a view shows as an error, not as a hang
            self._text(500, f"the page failed: {exc!r}")

    def _get(self) -> None:
        query = self._guard()
        if query is None:
            return
        page = self.server.page
        path = urllib.parse.urlsplit(self.path).path
        routes: dict[str, Callable[[], None]] = {
            "/": lambda: self._root(query),
            "/view": lambda: self._html(page.live(query)),
            "/changes": lambda: self._json(200, {"fingerprint": page.fingerprint(query)}),
        }
        if path.startswith("/static/"):
            self._static(path.removeprefix("/static/"))
        elif path in routes:
            routes[path]()
        else:
            self._text(404, "not found")

    do_HEAD = do_GET

    def _root(self, query: _Query) -> None:
        page = self.server.page
        file_id = query.get("file")
        if not file_id:
            self._html(page.page(query))
            return
        found = page.file(file_id)
        if found is None:
            self._text(404, "no such file")
            return
        content, mime = found
        self._send(200, content, mime or "application/octet-stream")

    def _static(self, name: str) -> None:
        if "/" in name or name.startswith("."):
            self._text(404, "not found")
            return
        resource = resources.files("sheetledger.sandbox.web").joinpath("static", name)
        if not resource.is_file():
            self._text(404, "not found")
            return
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        self._send(200, resource.read_bytes(), kind)

    def do_POST(self) -> None:
        query = self._guard()
        if query is None:
            return
        if urllib.parse.urlsplit(self.path).path != "/act":
            self._text(404, "not found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"ok": False, "message": "слишком большой запрос"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"ok": False, "message": "тело запроса — не JSON"})
            return
        if not isinstance(body, dict):
            self._json(400, {"ok": False, "message": "ожидался объект JSON"})
            return
        try:
            message = perform(self.server.page.box, body)
        except ActionError as exc:
            self._json(400, {"ok": False, "message": str(exc)})
            return
        self._json(200, {"ok": True, "message": message})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], page: WebPage) -> None:
        super().__init__(address, _Handler)
        self.page = page

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing a connection mid-answer is expected
