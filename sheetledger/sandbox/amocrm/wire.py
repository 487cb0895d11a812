"""The amoCRM wire format: HAL and problem bodies, query parsing, validation problems.

Shared by every resource of the emulator; nothing here holds state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from sheetledger.sandbox.clock import ManualClock as ManualClock  # the shared clock, re-exported
from sheetledger.sandbox.server import Request, Response

PAGE_LIMIT_MAX = 250  # leads, notes, users: `limit` above this is a 422
FIELDS_PAGE_MAX = 50  # custom fields: "до 50 полей за один запрос" (DOC:cf)
BATCH_MAX = 250  # entities per POST/PATCH (KOMMO:limits)
DEFAULT_LIMIT = 50
RATE_LIMIT_PER_SECOND = 7  # KOMMO:limits, DOC:errors

# Real validation details (DOC:errors, KOMMO:codes, Krukov/amocrm_api#112).
_NOT_A_CHOICE = "The value you selected is not a valid choice."
_NOT_EXPECTED = "This field was not expected."
_NOT_BLANK = "This value should not be blank."

_NGINX_PAGE = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class AmoValidationFailed(ValueError):
    """An in-process helper was given what the API would refuse with a 400."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        first = errors[0]["errors"][0] if errors and errors[0]["errors"] else {}
        super().__init__(f"{first.get('code')} at {first.get('path')!r}: {first.get('detail')}")


class _Problems:
    """Validation errors of one request, grouped by the item's ``request_id``."""

    def __init__(self) -> None:
        self.by_request: dict[str, list[dict[str, str]]] = {}
        # Refusals amoCRM reports in its other 400 shape, ``{"errors": {key: text}}`` (GH#88).
        self.invalid: dict[str, str] = {}

    def add(self, request_id: str, code: str, path: str, detail: str) -> None:
        self.by_request.setdefault(request_id, []).append(
            {"code": code, "path": path, "detail": detail}
        )

    def refuse(self, key: str, text: str) -> None:
        self.invalid[key] = text

    def __bool__(self) -> bool:
        return bool(self.by_request or self.invalid)

    def as_list(self) -> list[dict[str, Any]]:
        listed = [{"request_id": rid, "errors": errs} for rid, errs in self.by_request.items()]
        return listed + [
            {"request_id": key, "errors": [{"code": "InvalidRequest", "path": "", "detail": text}]}
            for key, text in self.invalid.items()
        ]


# --------------------------------------------------------------------------- bodies


def _dumps(obj: Any) -> bytes:
    # Real answers escape non-ASCII as \uXXXX (fixture leads_list.real.*); clients must decode.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


def _hal(obj: Any, status: int = 200) -> Response:
    return Response(status, _dumps(obj), {"Content-Type": "application/hal+json"})


def _problem(status: int, detail: str, **extra: Any) -> Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {
        "title": title,
        "type": f"https://httpstatus.es/{status}",
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(status, _dumps(body), {"Content-Type": "application/problem+json"})


def _validation_failed(problems: _Problems) -> Response:
    if problems.invalid and not problems.by_request:
        return _problem(400, "Invalid request body", errors=problems.invalid)
    body = {
        "validation-errors": problems.as_list(),
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Request validation failed",
    }
    return Response(400, _dumps(body), {"Content-Type": "application/problem+json"})


def _nginx(status: int) -> Response:
    page = _NGINX_PAGE.format(code=status, phrase=HTTPStatus(status).phrase)
    return Response(status, page.encode(), {"Content-Type": "text/html"})


# --------------------------------------------------------------------------- query parsing


def _ints(values: Iterable[str]) -> list[int]:
    out = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part.lstrip("-").isdigit():
                out.append(int(part))
    return out


def _array_param(query: Mapping[str, list[str]], name: str) -> list[str] | None:
    """Values of ``name``, ``name[]`` and ``name[N]`` (PHP bracket arrays); None if absent."""
    found: list[str] | None = None
    prefix = name + "["
    for key, values in query.items():
        if (
            key == name
            or key == name + "[]"
            or (key.startswith(prefix) and key.endswith("]") and key[len(prefix) : -1].isdigit())
        ):
            found = (found or []) + list(values)
    return found


def _range_param(query: Mapping[str, list[str]], name: str) -> tuple[int | None, int | None]:
    """``name[from]``/``name[to]``, or an exact ``name=ts`` (both ends)."""
    exact = query.get(name)
    if exact and exact[0].lstrip("-").isdigit():
        value = int(exact[0])
        return value, value
    low = query.get(f"{name}[from]")
    high = query.get(f"{name}[to]")
    return (
        int(low[0]) if low and low[0].lstrip("-").isdigit() else None,
        int(high[0]) if high and high[0].lstrip("-").isdigit() else None,
    )


_STATUS_FILTER = re.compile(r"^filter\[statuses\]\[(\d+)\]\[(pipeline_id|status_id)\]$")
_ORDER = re.compile(r"^order\[(\w+)\]$")


def _status_pairs(query: Mapping[str, list[str]]) -> list[tuple[int, int]]:
    pairs: dict[str, dict[str, int]] = {}
    for key, values in query.items():
        matched = _STATUS_FILTER.match(key)
        if matched and values and values[0].isdigit():
            pairs.setdefault(matched.group(1), {})[matched.group(2)] = int(values[0])
    # Both keys are required per element (DOC:filters); a half pair is ignored.
    return [
        (p["pipeline_id"], p["status_id"])
        for p in pairs.values()
        if "pipeline_id" in p and "status_id" in p
    ]


def _order(query: Mapping[str, list[str]], allowed: Sequence[str]) -> tuple[str, bool]:
    for key, values in query.items():
        matched = _ORDER.match(key)
        if matched and matched.group(1) in allowed:
            return matched.group(1), (values[0].lower() if values else "asc") == "desc"
    return "id", False


def _with(request: Request) -> set[str]:
    return {w.strip() for v in request.args("with") for w in v.split(",") if w.strip()}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- helpers


def _request_id(item: Any, index: int) -> str:
    """The item's own ``request_id`` if it sent one, else its 0-based position (DOC:errors)."""
    if isinstance(item, dict) and item.get("request_id") is not None:
        return str(item["request_id"])
    return str(index)


def _single_error(code: str, path: str, detail: str) -> list[dict[str, Any]]:
    return [{"request_id": "0", "errors": [{"code": code, "path": path, "detail": detail}]}]


_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def _is_number(text: str) -> bool:
    if not _NUMBER.match(text):
        return False
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return True


def _timestamp(value: Any) -> int | None:
    if _is_int(value):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return int(parsed.timestamp()) if parsed.tzinfo else None
    return None


def local_date(stamp: int, timezone: str = "Europe/Moscow") -> date:
    """The calendar day a date field's timestamp stands for in the account's zone."""
    return datetime.fromtimestamp(stamp, ZoneInfo(timezone)).date()
