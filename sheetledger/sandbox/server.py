"""The plumbing every emulator shares: a loopback HTTP server, a tiny router,
scripted faults, request counters, a control side and state persistence.

An emulator is a stateful object (``Emulator`` subclass) whose routes turn a
``Request`` into a ``Response``. ``LoopbackServer`` serves one emulator on
``127.0.0.1`` from a daemon thread, so the real client libraries (gspread,
requests, python-telegram-bot) talk to it over real sockets.

Every emulator also answers a control side under ``/_sandbox/`` (never counted,
never faulted), so scripts and people can do over HTTP what tests do in-process:

* ``POST /_sandbox/faults``
  ``{"kind": "status", "status": 429, "count": 2, "match": "PATCH /api/v4/leads"}``
  kinds: ``status`` (answer with that status and the service's real error body),
  ``delay`` (``"seconds": 3``, then answer normally), ``drop`` (close the
  connection before doing anything) and ``drop_after_commit`` (do the write,
  then close the connection without an answer).
* ``GET /_sandbox/faults`` the faults still waiting; ``DELETE /_sandbox/faults`` forget them.
* ``GET /_sandbox/counters`` requests by kind (read/write) and by minute;
  ``DELETE /_sandbox/counters`` resets them.
* ``GET /_sandbox/state`` the whole state as JSON.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, cast

__all__ = [
    "DROP",
    "Emulator",
    "Fault",
    "HTTPError",
    "LoopbackServer",
    "Request",
    "Response",
    "route",
]


# --------------------------------------------------------------------------- requests


@dataclass
class Request:
    """One HTTP request as an emulator sees it."""

    method: str
    path: str  # percent-decoded path, without the query string
    raw_path: str  # the path as sent, still percent-encoded
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON; a 400 ``HTTPError`` when it is not."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HTTPError(Response.json({"error": f"invalid JSON body: {exc}"}, 400)) from exc

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of query parameter ``name``."""
        return self.query.get(name, [])

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def form(self) -> dict[str, Any]:
        """A urlencoded or multipart/form-data body as a dict.

        Multipart file parts come back as ``{"filename": ..., "content": bytes,
        "content_type": ...}``; other parts as text.
        """
        ctype = self.content_type
        if ctype == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True)
            return dict(pairs)
        if ctype == "multipart/form-data":
            return _parse_multipart(self.headers.get("Content-Type") or "", self.body)
        if ctype == "application/json":
            data = self.json()
            return data if isinstance(data, dict) else {}
        return {}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    from email.parser import BytesParser
    from email.policy import HTTP

    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    message = BytesParser(policy=HTTP).parsebytes(raw)
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        payload = cast(bytes, part.get_payload(decode=True) or b"")
        if filename is not None:
            out[name] = {
                "filename": filename,
                "content": payload,
                "content_type": part.get_content_type(),
            }
        else:
            charset = part.get_content_charset() or "utf-8"
            out[name] = payload.decode(charset)
    return out


@dataclass
class Response:
    """What an emulator answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls,
        obj: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        indent: int | None = None,
    ) -> Response:
        body = json.dumps(obj, ensure_ascii=False, indent=indent).encode()
        merged = {"Content-Type": "application/json; charset=UTF-8"}
        merged.update(headers or {})
        return cls(status, body, merged)

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status, b"", {})


class HTTPError(Exception):
    """Raised inside a handler to answer with ``response`` at once."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class _Drop:
    """Marker: close the connection without answering."""


DROP = _Drop()

Handler = Callable[..., Response]


def route(method: str, pattern: str, *, kind: str | None = None) -> Callable[[Handler], Handler]:
    """Declare an emulator method as the handler of ``method pattern``.

    ``pattern`` is a regular expression matched against the whole decoded path;
    its named groups become keyword arguments. ``kind`` is ``"read"`` or
    ``"write"`` for the request counters (``None``: not counted).
    """

    def mark(fn: Handler) -> Handler:
        routes = fn.__dict__.setdefault("_routes", [])
        routes.append((method.upper(), pattern, kind))
        return fn

    return mark


# --------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """One scripted fault, applied to the next ``count`` matching requests."""

    kind: str  # status | delay | drop | drop_after_commit | call | call_after
    count: int = 1
    status: int = 500
    seconds: float = 0.0
    match: str = ""  # a substring of "METHOD /path?query"; empty matches everything
    hits: int = 0
    # kind "call": run before the request is handled; "call_after": after, before answering
    callback: Callable[[], None] | None = None

    KINDS: ClassVar[frozenset[str]] = frozenset(
        {"status", "delay", "drop", "drop_after_commit", "call", "call_after"}
    )

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; expected one of {sorted(self.KINDS)}"
            )
        if self.count < 1:
            raise ValueError("a fault needs count >= 1")

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "status": self.status,
            "seconds": self.seconds,
            "match": self.match,
            "hits": self.hits,
        }


class FaultScript:
    """The faults waiting for requests, first added first served."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[dict[str, Any]] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, line: str) -> Fault | None:
        """The fault that applies to this request line, if any (consumes one use)."""
        with self._lock:
            for fault in self._faults:
                if fault.match in line:
                    fault.hits += 1
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    self.fired.append({"kind": fault.kind, "status": fault.status, "request": line})
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class RequestCounters:
    """Requests by kind, and by kind per minute (what Google's quotas count)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()
        self.by_minute: Counter[tuple[int, str]] = Counter()
        self.by_route: Counter[str] = Counter()

    def record(self, kind: str, route_name: str) -> None:
        with self._lock:
            self.by_kind[kind] += 1
            self.by_minute[(int(self._clock() // 60), kind)] += 1
            self.by_route[route_name] += 1

    def in_current_minute(self, kind: str) -> int:
        with self._lock:
            return self.by_minute[(int(self._clock() // 60), kind)]

    def reset(self) -> None:
        with self._lock:
            self.by_kind.clear()
            self.by_minute.clear()
            self.by_route.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "by_kind": dict(self.by_kind),
                "by_route": dict(self.by_route),
                "by_minute": [
                    {"minute": minute, "kind": kind, "count": count}
                    for (minute, kind), count in sorted(self.by_minute.items())
                ],
            }


# --------------------------------------------------------------------------- emulator


class Emulator:
    """Base of the three emulators: routing, faults, counters, control, persistence.

    Subclasses declare handlers with ``@route``, keep their state in plain
    JSON-able structures, guard it with ``self.lock``, and override
    ``fault_response`` so scripted faults carry the service's real error body.
    """

    name: ClassVar[str] = "emulator"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.faults = FaultScript()
        self.counters = RequestCounters(clock)
        self.log: list[str] = []  # request lines, newest last (bounded)
        self.changed = threading.Event()  # set on every write; waiters clear it
        self._routes = self._collect_routes()

    # -- routing -----------------------------------------------------------------

    def _collect_routes(self) -> list[tuple[str, re.Pattern[str], str | None, Handler]]:
        found = []
        for klass in reversed(type(self).__mro__):
            for attr in vars(klass).values():
                for method, pattern, kind in getattr(attr, "_routes", ()):
                    found.append((method, re.compile(pattern + r"\Z"), kind, attr))
        # Longer (more specific) patterns first, so /x/:batchGet beats /x/(?P<rest>.*).
        found.sort(key=lambda item: -len(item[1].pattern))
        return found

    def _match(self, request: Request) -> tuple[Handler, str | None, dict[str, str]] | None:
        path_allowed = False
        for method, pattern, kind, handler in self._routes:
            matched = pattern.match(request.path)
            if matched is None:
                continue
            path_allowed = True
            if method == request.method:
                groups = {k: v for k, v in matched.groupdict().items() if v is not None}
                return handler, kind, groups
        if path_allowed:
            raise HTTPError(self.error_response(405, f"Method {request.method} not allowed"))
        return None

    def dispatch(self, request: Request) -> Response | _Drop:
        """Answer one request: control side, faults, counters, then the handler."""
        line = f"{request.method} {request.raw_path}"
        if request.query:
            line += "?" + urllib.parse.urlencode(request.query, doseq=True)
        control = request.path.startswith("/_sandbox/")
        try:
            found = self._match(request)
            if found is None:
                return self.error_response(404, f"Not found: {request.path}")
            handler, kind, groups = found
            fault = None if control else self.faults.take(line)
            if fault is not None:
                if fault.kind == "drop":
                    return DROP
                if fault.kind == "status":
                    return self.fault_response(fault.status, request)
                if fault.kind == "delay":
                    time.sleep(fault.seconds)
                if fault.kind == "call" and fault.callback is not None:
                    # A person acting between two requests of the daemon (sort, insert, tick...).
                    fault.callback()
            if not control:
                self._remember(line)
                refused = self.refuse(request, kind)
                if refused is not None:
                    return refused
                if kind is not None:
                    self.counters.record(kind, handler.__name__)
            response = handler(self, request, **groups)
            if kind == "write" and response.status < 400:
                self.changed.set()
            if fault is not None and fault.kind == "drop_after_commit":
                return DROP
            if fault is not None and fault.kind == "call_after" and fault.callback is not None:
                # The request is done (a message sent) and its client still waits for the
                # answer: the moment a test kills the client "between sending and recording".
                fault.callback()
            return response
        except HTTPError as exc:
            return exc.response

    def _remember(self, line: str) -> None:
        with self.lock:
            self.log.append(line)
            if len(self.log) > 2000:
                del self.log[:1000]

    def refuse(self, request: Request, kind: str | None) -> Response | None:
        """A chance for subclasses to refuse before handling (auth, rate limits)."""
        return None

    def error_response(self, status: int, message: str) -> Response:
        """The service's error body for ``status``; subclasses imitate their service."""
        return Response.json({"error": {"code": status, "message": message}}, status)

    def fault_response(self, status: int, request: Request) -> Response:
        """What a scripted ``status`` fault answers; defaults to ``error_response``."""
        return self.error_response(status, "Scripted fault")

    # -- in-process control --------------------------------------------------------

    def fail_next(self, status: int = 500, count: int = 1, match: str = "") -> Fault:
        """The next ``count`` requests matching ``match`` get ``status`` with a real body."""
        return self.faults.add(Fault("status", count=count, status=status, match=match))

    def delay_next(self, seconds: float, count: int = 1, match: str = "") -> Fault:
        return self.faults.add(Fault("delay", count=count, seconds=seconds, match=match))

    def drop_next(self, count: int = 1, match: str = "", *, after_commit: bool = True) -> Fault:
        """Close the connection of the next matching request, by default after its write."""
        kind = "drop_after_commit" if after_commit else "drop"
        return self.faults.add(Fault(kind, count=count, match=match))

    def before_next(self, callback: Callable[[], None], match: str = "", count: int = 1) -> Fault:
        """Run ``callback`` just before the next matching request is handled.

        This is how tests play a person editing between the daemon's read and its write.
        """
        return self.faults.add(Fault("call", count=count, match=match, callback=callback))

    def after_next(self, callback: Callable[[], None], match: str = "", count: int = 1) -> Fault:
        """Run ``callback`` once the next matching request is handled, before it is answered."""
        return self.faults.add(Fault("call_after", count=count, match=match, callback=callback))

    # -- state ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the emulator holds, JSON-able. Subclasses override."""
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        """Replace the state with one from ``state()``. Subclasses override."""

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.name}.json"
        with self.lock:
            text = json.dumps(self.state(), ensure_ascii=False)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        return target

    def load(self, folder: Path) -> bool:
        source = folder / f"{self.name}.json"
        if not source.exists():
            return False
        with self.lock:
            self.load_state(json.loads(source.read_text(encoding="utf-8")))
        return True

    # -- HTTP control side ---------------------------------------------------------

    @route("POST", r"/_sandbox/faults")
    def _control_add_fault(self, request: Request) -> Response:
        body = request.json() or {}
        try:
            fault = Fault(
                kind=str(body.get("kind", "status")),
                count=int(body.get("count", 1)),
                status=int(body.get("status", 500)),
                seconds=float(body.get("seconds", 0)),
                match=str(body.get("match", "")),
            )
        except (TypeError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        self.faults.add(fault)
        return Response.json(fault.as_dict(), 201)

    @route("GET", r"/_sandbox/faults")
    def _control_list_faults(self, request: Request) -> Response:
        return Response.json(
            {"pending": [f.as_dict() for f in self.faults.pending()], "fired": self.faults.fired}
        )

    @route("DELETE", r"/_sandbox/faults")
    def _control_clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response.empty()

    @route("GET", r"/_sandbox/counters")
    def _control_counters(self, request: Request) -> Response:
        return Response.json(self.counters.as_dict())

    @route("DELETE", r"/_sandbox/counters")
    def _control_reset_counters(self, request: Request) -> Response:
        self.counters.reset()
        return Response.empty()

    @route("GET", r"/_sandbox/state")
    def _control_state(self, request: Request) -> Response:
        with self.lock:
            return Response.json(self.state())


# --------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client's delayed
    # ACK then costs ~40 ms per answer (TCP_NODELAY, as real servers set it).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the emulator keeps its own request log; stderr stays quiet

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(parsed.path),
            raw_path=parsed.path,
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
        )
        try:
            response = self.server.emulator.dispatch(request)
        except Exception as exc:  # an emulator bug must not look like a hang
            response = Response.json({"error": f"emulator crashed: {exc!r}"}, 500)
            self.server.crashes.append(repr(exc))
        if isinstance(response, _Drop):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        headers = dict(response.headers)
        headers.setdefault("Content-Length", str(len(response.body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator
        self.crashes: list[str] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-answer (timeouts, drops) are expected here


class LoopbackServer:
    """Serve one emulator on 127.0.0.1 from a daemon thread."""

    def __init__(self, emulator: Emulator, port: int = 0, host: str = "127.0.0.1") -> None:
        self.emulator = emulator
        self._server = _Server((host, port), emulator)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{emulator.name}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def crashes(self) -> list[str]:
        """Exceptions raised by handlers (a test asserting fidelity wants none)."""
        return self._server.crashes

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(emulator: Emulator) -> Iterator[LoopbackServer]:
    """A generator-style helper for pytest fixtures: yield a started server, then stop it."""
    server = LoopbackServer(emulator).start()
    try:
        yield server
    finally:
        server.stop()
