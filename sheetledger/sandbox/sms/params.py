"""Request parameters as both gateways read them: the query string and a form body, merged."""

from __future__ import annotations

import urllib.parse

from sheetledger.sandbox.server import Request

__all__ = ["first", "request_params"]


def request_params(request: Request, *, charset: str = "utf-8") -> dict[str, list[str]]:
    """Query parameters, then those of an ``application/x-www-form-urlencoded`` body.

    Both gateways take either (GET or POST); the body is decoded with ``charset``, which is
    how SMSC reads a body sent in windows-1251, its default.
    """
    params = {key: list(values) for key, values in request.query.items()}
    if request.body and request.content_type in ("", "application/x-www-form-urlencoded"):
        codec = _codec(charset)
        text = request.body.decode(codec, errors="replace")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, encoding=codec, errors="replace"
        )
        for key, value in pairs:
            params.setdefault(key, []).append(value)
    return params


def first(params: dict[str, list[str]], name: str, default: str = "") -> str:
    values = params.get(name)
    return values[0] if values else default


def _codec(charset: str) -> str:
    try:
        "".encode(charset)
    except LookupError:
        return "utf-8"
    return charset
