"""The Bot API's wire format: routes, parameters from any body form, answers and errors.

Telegram accepts a method's parameters as a query string, an urlencoded or multipart form
(what PTB sends, non-string values JSON-encoded) or a JSON body, and answers
``{"ok": true, "result": ...}``; an error carries the real HTTP status because PTB ignores
``ok`` and maps the status code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from sheetledger.sandbox.server import HTTPError, Request, Response, route

JSON = dict[str, Any]

TOKEN_IN_PATH = r"(?P<token>[^/]+)"

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


# --------------------------------------------------------------------------- parameters


class Params:
    """A Bot API call's parameters, from query string, form, multipart or JSON alike."""

    def __init__(self, request: Request) -> None:
        values: dict[str, Any] = {k: v[0] for k, v in request.query.items() if v}
        values.update(request.form())
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

    def upload(self, name: str) -> JSON | str | None:
        """A multipart upload (dict) or a file_id/URL string."""
        value = self.values.get(name)
        return value if isinstance(value, dict | str) else None
