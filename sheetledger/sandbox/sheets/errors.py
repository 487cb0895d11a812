"""Google's error bodies: status names, standard messages, and the helpers that raise them."""

from __future__ import annotations

import json
from typing import Any

from sheetledger.sandbox.server import HTTPError, Response

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
STANDARD_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "The operation was aborted.",
    500: "Internal error encountered.",
    502: "The service is currently unavailable.",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}
MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
PROTECTED = (
    "You are trying to edit a protected cell or object. Please contact the spreadsheet "
    "owner to remove protection if you need to edit."
)
PROJECT_NUMBER = "498586711441"


class InvalidRequest(Exception):
    """A batchUpdate request Google would refuse; becomes ``Invalid requests[i].kind: ...``."""


def google_error(
    status: int, message: str | None = None, details: list[dict[str, Any]] | None = None
) -> Response:
    error: dict[str, Any] = {
        "code": status,
        "message": message or STANDARD_MESSAGES.get(status, ""),
        "status": STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return Response.json({"error": error}, status)


def fail(
    status: int, message: str | None = None, details: list[dict[str, Any]] | None = None
) -> HTTPError:
    return HTTPError(google_error(status, message, details))


def bad_field(field: str, message: str) -> HTTPError:
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}],
        }
    ]
    return fail(400, message, details)


def drive_error(status: int, reason: str, message: str, location: str | None = None) -> HTTPError:
    item: dict[str, Any] = {"message": message, "domain": "global", "reason": reason}
    if location:
        item.update({"location": location, "locationType": "parameter"})
    return HTTPError(
        Response.json({"error": {"code": status, "message": message, "errors": [item]}}, status)
    )


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
