"""The Bot API's wire format: routes, parameters from any body form, answers and errors.

Telegram accepts a method's parameters as a query string, an urlencoded or multipart form
(what PTB sends, non-string values JSON-encoded) or a JSON body, and answers
``{"ok": true, "result": ...}``; an error carries the real HTTP status because PTB ignores
``ok`` and maps the status code.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from sheetledger.sandbox.server import HTTPError, Request, Response, route

JSON = dict[str, Any]

TOKEN_IN_PATH = r"(?P<token>[^/]+)"
ATTACH = "attach://"  # a file field naming the multipart part that carries the file
# One parameter of a header such as Content-Disposition: name, then a quoted or bare value.
HEADER_PARAM = re.compile(r"""\s*;\s*([!#$%&'*+.^`|~\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)""")
# How browsers, urllib3 and httpx escape a quoted multipart file name (the HTML5 rule).
HTML5_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


class TelegramTimeout(TimeoutError):
    """``wait_for_sent``/``wait_until_confirmed`` gave up; the message says what was seen."""


class BotAPIError(HTTPError):
    """A Bot API error answer: real status and ``{"ok": false, ...}`` body."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        body: JSON = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        super().__init__(Response.json(body, status))
        self.description = description


T = TypeVar("T")


def copy_json(value: T) -> T:
    """A deep copy of JSON data, so callers never hold the emulator's live objects."""
    copied: T = json.loads(json.dumps(value))
    return copied


def ok(result: Any) -> Response:
    return Response.json({"ok": True, "result": result})


def bad(description: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {description}")


Handler = Callable[..., Response]


def api(name: str, kind: str | None) -> Callable[[Handler], Handler]:
    """Route Bot API method ``name`` (case-insensitive, GET or POST) to the decorated handler."""
    pattern = rf"/bot{TOKEN_IN_PATH}/(?i:{name})"

    def mark(fn: Handler) -> Handler:
        return route("GET", pattern, kind=kind)(route("POST", pattern, kind=kind)(fn))

    return mark


# --------------------------------------------------------------------------- multipart


def header_params(value: str) -> dict[str, str]:
    """The ``; key=value`` parameters of a header, names lower-cased, values unquoted.

    A file name arrives in one of three spellings: RFC 2231's ``filename*=utf-8''%D0%BF...``
    (aiohttp, so aiogram), a quoted UTF-8 string with HTML5 escapes (urllib3, httpx), or
    plain ASCII; the starred form wins when both are sent.
    """
    params: dict[str, str] = {}
    for key, raw in HEADER_PARAM.findall(value):
        text = raw.strip()
        if text.startswith('"'):
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
            for escaped, char in HTML5_ESCAPES.items():
                text = text.replace(escaped, char)
        name = key.lower()
        if name.endswith("*"):
            charset, _, encoded = text.partition("''")
            if not encoded:
                continue
            name = name[:-1]
            try:
                text = urllib.parse.unquote(encoded.split("'", 1)[-1], charset or "utf-8")
            except LookupError:  # an unknown charset: keep the plain spelling, if any
                continue
            params[name + "*"] = text
        params.setdefault(name, text)
    for name in [k for k in params if k.endswith("*")]:
        params[name[:-1]] = params.pop(name)
    return params


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """A ``multipart/form-data`` body: file parts as dicts, the other parts as text.

    A file part is ``{"filename", "content", "content_type"}``, where ``content_type`` is
    None when the part carries no Content-Type header: requests sends none for a bare
    ``(name, bytes)`` tuple, and the MIME default (text/plain) would be a lie about a PDF.
    A repeated name keeps its last part.
    """
    boundary = header_params(content_type).get("boundary", "")
    if not boundary:
        raise bad("can't parse multipart form: no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    out: dict[str, Any] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        head, separator, payload = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            continue
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        disposition = header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        content = payload.removesuffix(b"\r\n")
        part_type = headers.get("content-type")
        if "filename" in disposition:
            out[name] = {
                "filename": disposition["filename"],
                "content": content,
                "content_type": part_type.split(";")[0].strip().lower() if part_type else None,
            }
        else:
            charset = header_params(part_type or "").get("charset", "utf-8")
            out[name] = content.decode(charset, "replace")
    return out


def form(request: Request) -> dict[str, Any]:
    """The body's parameters, whatever form they came in (Telegram's multipart reading)."""
    if request.content_type == "multipart/form-data":
        return parse_multipart(request.headers.get("Content-Type") or "", request.body)
    return request.form()


# --------------------------------------------------------------------------- parameters


class Params:
    """A Bot API call's parameters, from query string, form, multipart or JSON alike."""

    def __init__(self, request: Request) -> None:
        values: dict[str, Any] = {k: v[0] for k, v in request.query.items() if v}
        values.update(form(request))
        self.values = values

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, dict):
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return int(float(value)) if isinstance(value, str) and "." in value else int(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def structured(self, name: str, what: str) -> Any:
        """A structured field: PTB sends it as a JSON string, a JSON body sends it as is."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad(f"can't parse {what} JSON object") from None

    def file(self, value: Any) -> JSON | str | None:
        """A file: a multipart part, ``attach://<part name>`` or a file_id/URL string.

        aiogram always uploads the second way; the Bot API takes it on every file field,
        including the ``media`` of InputMedia objects. An ``attach://`` naming no file part
        is no file at all.
        """
        if isinstance(value, str) and value.startswith(ATTACH):
            part = self.values.get(value[len(ATTACH) :])
            return part if isinstance(part, dict) else None
        return value if isinstance(value, dict | str) else None

    def upload(self, name: str) -> JSON | str | None:
        """The file of parameter ``name`` (see ``file``)."""
        return self.file(self.values.get(name))
