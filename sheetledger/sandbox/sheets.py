"""The Google Sheets API v4 emulator (+ the OAuth token endpoint and a Drive v3 subset).

One loopback server answers every Google host the clients use; the client side
(``sheetledger.ledger.google.connect(..., api_base_url=...)``) rewrites
``https://sheets.googleapis.com`` and ``https://www.googleapis.com`` to it, and
the service-account key handed out by ``service_account_info(token_uri)`` sends
google-auth's JWT grant to ``POST /token`` here.

What it serves (details and the quirks imitated are documented where they are
implemented; sources: reference/google-sheets-api.md and fixtures/gsheets/):

* ``POST /token`` - the service-account JWT bearer grant (RS256 signature checked).
  Sheets and Drive routes without a valid ``Authorization: Bearer`` answer 401
  UNAUTHENTICATED; an expired token (the emulator's ``clock``) too, so
  google-auth's refresh-and-retry runs for real.
* Sheets v4 ``/v4/spreadsheets``: create, get (``fields``, ``ranges``,
  ``includeGridData``), values get / batchGet / update / batchUpdate / append /
  clear / batchClear and the ``...ByDataFilter`` variants, ``:batchUpdate`` (all or
  nothing), ``:getByDataFilter``, ``developerMetadata:search`` and
  ``developerMetadata/{id}``.
* Drive v3: files create / list / get / delete / copy / export (xlsx, csv),
  permissions create / list / delete.
* Sharing: a spreadsheet created through the API belongs to the calling service
  account; ``create_spreadsheet(..., shared_with=[...])`` creates one "as a person";
  anyone else gets 403 PERMISSION_DENIED.
* Quotas: ``quota_per_minute = {"read": 60, "write": 60}`` (off by default) answers
  429 RESOURCE_EXHAUSTED with the real ErrorInfo; a scripted ``fail_next(429)``
  answers the same body.

The control side - people editing the sheet. In-process methods (tests) and the
HTTP routes that call them (scripts, ``sheetledger sandbox``); every edit goes
through the same code as the API, so validations, formats, protected and named
ranges and developer metadata move with rows exactly like the API moves them:

Each in-process method, then its HTTP twin (JSON body; GET takes a query):

* ``create_spreadsheet(title, sheets=..., shared_with=[...], owner=..., locale=...)``
  -> ``POST /_sandbox/spreadsheets {"title", "sheets", "shared_with", "owner", "locale"}``
  answering ``{"spreadsheetId"}``;
* ``share(spreadsheet_id, email, role="writer")``
  -> ``POST /_sandbox/share {"spreadsheet_id", "email", "role"}``;
* ``type_cell(spreadsheet_id, a1, value, user_entered=True)``
  -> ``POST /_sandbox/type {"spreadsheet_id", "a1", "value", "user_entered"}``;
* ``tick(spreadsheet_id, a1, checked=True)``
  -> ``POST /_sandbox/tick {"spreadsheet_id", "a1", "checked"}``;
* ``insert_rows(spreadsheet_id, sheet_title, at_row, count=1)`` and ``delete_rows(...)``
  -> ``POST /_sandbox/insert_rows`` / ``delete_rows``
  ``{"spreadsheet_id", "sheet_title", "at_row", "count"}``;
* ``sort_range(spreadsheet_id, sheet_title, column_letter, ascending=True, header_rows=1)``
  -> ``POST /_sandbox/sort {"spreadsheet_id", "sheet_title", "column", "ascending",
  "header_rows"}``;
* ``rename_header(spreadsheet_id, sheet_title, old, new)``
  -> ``POST /_sandbox/rename_header {"spreadsheet_id", "sheet_title", "old", "new"}``;
* ``values(spreadsheet_id, sheet_title)`` (unformatted, trimmed)
  -> ``GET /_sandbox/values?spreadsheet_id=...&sheet_title=...``;
* ``metadata(spreadsheet_id)`` every developer metadata entry (in-process only);
* ``service_account_info(token_uri)`` -> ``GET /_sandbox/service_account`` (token_uri =
  this server); ``access_token(email=None)`` -> ``POST /_sandbox/token {"email"}``;
* ``quota_per_minute = {"read": 60, "write": 60}`` -> ``PUT /_sandbox/quota {...}``.

Rows are 1-based like the sheet's row numbers (``at_row=2`` is the first row
under a header). ``POST /_sandbox/edit {"match": "values:batchUpdate", "op": "sort", ...}``
(op: type, tick, insert_rows, delete_rows, sort, rename_header, share; plus the op's keys)
schedules one of these edits to run just before the next request matching
``match`` (the HTTP twin of ``before_next(callback, match=...)``).

Formulas: the formula text is kept; plain arithmetic (numbers, cell references,
``+ - * / ^ &``, parentheses, ``SUM/MIN/MAX/AVERAGE/COUNT/ROUND/ABS``) is evaluated
when read; any other formula reads as empty (there is no full formula engine),
and references in formulas are not rewritten when rows move.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import math
import random
import re
import string
import time
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, ClassVar
from xml.sax.saxutils import escape as xml_escape

from sheetledger.sandbox.a1 import (
    Bounds,
    column_index,
    column_letters,
    format_range,
    is_cell_reference,
    parse_cells,
    shift_on_delete,
    shift_on_insert,
    split_range,
)
from sheetledger.sandbox.google_auth import TokenError, TokenIssuer
from sheetledger.sandbox.server import Emulator, HTTPError, Request, Response, route

__all__ = ["DEFAULT_SERVICE_ACCOUNT", "Formula", "SheetsEmulator"]

DEFAULT_SERVICE_ACCOUNT = "sheetledger@sheetledger-sandbox.iam.gserviceaccount.com"
PERSON = "owner@example.com"  # who "creates" spreadsheets by hand
SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EPOCH = date(1899, 12, 30)  # Sheets date serials count days from here

# --------------------------------------------------------------------------- cell values
#
# A cell value is stored as a plain Python value: None (empty), str, bool, int or
# float (integral floats are kept as int so JSON shows 53, not 53.0, like Google),
# or a Formula. Formats, validations, notes and pivot tables live beside the
# values (Sheet.extras), so a 30,000-row tab is a list of small lists.


class Formula(str):
    """A formula as entered (``=4/2``); its value is computed when read."""

    __slots__ = ()


def _number(value: float | int) -> float | int:
    """Integral floats as int (Google's JSON shows ``53``, not ``53.0``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


_LOCALES: dict[str, dict[str, str]] = {
    # decimal and grouping separators, default date / time / date-time patterns
    "en_US": {
        "dec": ".",
        "group": ",",
        "date": "M/d/yyyy",
        "time": "h:mm:ss am/pm",
        "datetime": "M/d/yyyy H:mm:ss",
    },
    "en_GB": {
        "dec": ".",
        "group": ",",
        "date": "dd/MM/yyyy",
        "time": "HH:mm:ss",
        "datetime": "dd/MM/yyyy HH:mm:ss",
    },
    "ru_RU": {
        "dec": ",",
        "group": "\u00a0",
        "date": "dd.MM.yyyy",
        "time": "H:mm:ss",
        "datetime": "dd.MM.yyyy H:mm:ss",
    },
}


def _locale(name: str) -> dict[str, str]:
    return _LOCALES.get(name, _LOCALES["en_US"])


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DOT_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def date_serial(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> float | int:
    """Days since 1899-12-30, the fraction being the time of day (Sheets' date serial)."""
    serial = (day - EPOCH).days + (hour * 3600 + minute * 60 + second) / 86400
    return _number(serial)


def serial_to_datetime(serial: float) -> datetime:
    return datetime(1899, 12, 30) + timedelta(days=serial)


def _number_pattern(text: str, grouped: bool) -> str:
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    core = "#,##0" if grouped else "0"
    return core + ("." + "0" * decimals if decimals else "")


def parse_user_entered(text: str, locale: str) -> tuple[Any, dict[str, str] | None]:
    """What a person typing ``text`` stores: (value, number format it implies or None).

    USER_ENTERED in the spreadsheet's locale: ``'x`` forces text, ``=...`` is a
    formula, TRUE/FALSE are booleans, numbers (with the locale's separators),
    percentages, ISO and locale dates and times become numbers with a format
    that shows them as typed (fixtures: ``2020-01-01`` reads back formatted as
    ``2020-01-01`` and unformatted as 43831).
    """
    if text == "":
        return None, None
    if text.startswith("'"):
        return text[1:], None
    if text.startswith("=") and len(text) > 1:
        return Formula(text), None
    stripped = text.strip()
    upper = stripped.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE", None
    loc = _locale(locale)
    number = _parse_locale_number(stripped, loc)
    if number is not None:
        value, canonical, grouped = number
        if grouped:  # "1,234.50" keeps showing its separators: Sheets adds a number format
            return value, {"type": "NUMBER", "pattern": _number_pattern(canonical, True)}
        return value, None
    if stripped.endswith("%"):
        number = _parse_locale_number(stripped[:-1].strip(), loc)
        if number is not None:
            value, canonical, _ = number
            decimals = len(canonical.split(".", 1)[1]) if "." in canonical else 0
            pattern = "0." + "0" * max(decimals, 2) + "%" if decimals else "0%"
            return _number(float(Decimal(canonical) / 100)), {"type": "PERCENT", "pattern": pattern}
    parsed = _parse_date(stripped, locale)
    if parsed is not None:
        return parsed
    return text, None


def _parse_locale_number(text: str, loc: dict[str, str]) -> tuple[float | int, str, bool] | None:
    """(value, canonical '1234.5' text, used grouping) or None."""
    dec, group = loc["dec"], loc["group"]
    body = text
    sign = ""
    if body[:1] in "+-":
        sign, body = ("-" if body[0] == "-" else ""), body[1:]
    grouped = False
    groups = {group, " "} if group == "\u00a0" else {group}
    for g in groups:
        if g in body:
            int_part = body.split(dec, 1)[0]
            chunks = int_part.split(g)
            if not (1 <= len(chunks[0]) <= 3 and all(len(c) == 3 for c in chunks[1:])):
                return None
            body = body.replace(g, "")
            grouped = True
    if dec != ".":
        if "." in body:
            return None
        body = body.replace(dec, ".")
    if not re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", body):
        return None
    canonical = sign + body
    try:
        value = float(canonical)
    except ValueError:
        return None
    if re.fullmatch(r"-?\d+", canonical) and abs(int(canonical)) < 2**53:
        return int(canonical), canonical, grouped
    return _number(value), canonical, grouped


def _parse_date(text: str, locale: str) -> tuple[Any, dict[str, str]] | None:
    match = _ISO_DATE.fullmatch(text)
    order = "ymd"
    pattern = "yyyy-mm-dd"
    if match is None and locale == "en_US":
        match, order, pattern = _US_DATE.fullmatch(text), "mdy", "M/d/yyyy"
    if match is None and locale in ("en_GB",):
        match, order, pattern = _US_DATE.fullmatch(text), "dmy", "dd/MM/yyyy"
    if match is None:
        match, order, pattern = _DOT_DATE.fullmatch(text), "dmy", "dd.mm.yyyy"
    if match is not None:
        a, b, c = (int(x) for x in match.groups()[:3])
        year, month, day = {"ymd": (a, b, c), "mdy": (c, a, b), "dmy": (c, b, a)}[order]
        try:
            when = date(year, month, day)
        except ValueError:
            return None
        hour, minute, second = (int(x) if x else 0 for x in match.groups()[3:])
        if match.group(4) is not None:
            if hour > 23 or minute > 59 or second > 59:
                return None
            return date_serial(when, hour, minute, second), {
                "type": "DATE_TIME",
                "pattern": pattern + " hh:mm:ss",
            }
        return date_serial(when), {"type": "DATE", "pattern": pattern}
    match = _TIME.fullmatch(text)
    if match is not None:
        hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            return None
        return _number((hour * 3600 + minute * 60 + second) / 86400), {
            "type": "TIME",
            "pattern": "h:mm:ss" if match.group(3) else "h:mm",
        }
    return None


# --------------------------------------------------------------------------- rendering


def format_general(value: float | int, locale: str = "en_US") -> str:
    """A number in a cell without a number format ("automatic"), as Sheets shows it."""
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        text = str(int(value))
    elif value != 0 and (abs(value) >= 1e15 or abs(value) < 1e-10):
        text = f"{value:.5E}".replace("E+0", "E+").replace("E-0", "E-")
        mantissa, _, exponent = text.partition("E")
        text = mantissa.rstrip("0").rstrip(".") + "E" + exponent
    else:
        text = f"{round(value, 10):.10f}".rstrip("0").rstrip(".")
    dec = _locale(locale)["dec"]
    return text.replace(".", dec) if dec != "." else text


_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|\.0+|.',
    re.IGNORECASE,
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@lru_cache(maxsize=256)
def _date_tokens(pattern: str) -> tuple[tuple[str, str], ...]:
    """Tokens of a date/time pattern, ``m``/``mm`` resolved to month or minute."""
    raw = _DATE_TOKEN.findall(pattern)
    kinds: list[tuple[str, str]] = []
    for token in raw:
        low = token.lower()
        if token.startswith('"'):
            kinds.append(("lit", token[1:-1]))
        elif token.startswith("\\"):
            kinds.append(("lit", token[1:]))
        elif low in (
            "yyyy",
            "yy",
            "mmmm",
            "mmm",
            "mm",
            "m",
            "dddd",
            "ddd",
            "dd",
            "d",
            "hh",
            "h",
            "ss",
            "s",
            "am/pm",
            "a/p",
        ) or low.startswith(".0"):
            kinds.append(("tok", low))
        else:
            kinds.append(("lit", token))
    # m/mm after an hour or before seconds are minutes (the Sheets/Excel rule).
    resolved: list[tuple[str, str]] = []
    for i, (kind, token) in enumerate(kinds):
        if kind == "tok" and token in ("m", "mm"):
            before = [t for k, t in kinds[:i] if k == "tok"]
            after = [t for k, t in kinds[i + 1 :] if k == "tok"]
            if (before and before[-1] in ("h", "hh")) or (after and after[0] in ("s", "ss")):
                token = "min" if token == "m" else "mins"
        resolved.append((kind, token))
    return tuple(resolved)


def format_date(serial: float, pattern: str) -> str:
    """A date serial through a date/time pattern (``yyyy-mm-dd``, ``dd.mm.yyyy``, ...)."""
    moment = serial_to_datetime(serial + 0.5 / 86400)  # round to the second
    tokens = _date_tokens(pattern)
    twelve = any(t in ("am/pm", "a/p") for k, t in tokens if k == "tok")
    out = []
    for kind, token in tokens:
        if kind == "lit":
            out.append(token)
            continue
        hour = moment.hour
        if twelve:
            hour = hour % 12 or 12
        out.append(
            {
                "yyyy": f"{moment.year:04d}",
                "yy": f"{moment.year % 100:02d}",
                "mmmm": _MONTHS[moment.month - 1],
                "mmm": _MONTHS[moment.month - 1][:3],
                "mm": f"{moment.month:02d}",
                "m": str(moment.month),
                "dddd": _DAYS[moment.weekday()],
                "ddd": _DAYS[moment.weekday()][:3],
                "dd": f"{moment.day:02d}",
                "d": str(moment.day),
                "hh": f"{hour:02d}",
                "h": str(hour),
                "mins": f"{moment.minute:02d}",
                "min": str(moment.minute),
                "ss": f"{moment.second:02d}",
                "s": str(moment.second),
                "am/pm": "AM" if moment.hour < 12 else "PM",
                "a/p": "A" if moment.hour < 12 else "P",
            }.get(token, token)
        )
    return "".join(out)


@lru_cache(maxsize=256)
def _numeric_pattern(section: str) -> tuple[str, str, int, int, int, bool, bool]:
    """(prefix, suffix, min int digits, min decimals, max decimals, grouping, percent)."""
    literal = []
    core_start = core_end = -1
    i = 0
    text = section
    while i < len(text):
        char = text[i]
        if char == '"':
            end = text.index('"', i + 1) if '"' in text[i + 1 :] else len(text)
            literal.append((i, text[i + 1 : end]))
            i = end + 1
            continue
        if char in "#0,." or char == "?":
            if core_start < 0:
                core_start = i
            core_end = i + 1
        i += 1
    if core_start < 0:
        return section, "", 1, 0, 0, False, "%" in section
    core = text[core_start:core_end]

    def clean(part: str) -> str:
        return re.sub(r'"([^"]*)"', r"\1", part).replace("\\", "")

    prefix, suffix = clean(text[:core_start]), clean(text[core_end:])
    int_part, _, dec_part = core.partition(".")
    return (
        prefix,
        suffix,
        int_part.count("0"),
        dec_part.count("0"),
        len(dec_part.replace(",", "")),
        "," in int_part,
        "%" in suffix or "%" in prefix,
    )


def format_number(value: float | int, pattern: str, locale: str = "en_US") -> str:
    """A number through a numeric pattern (``#,##0.00``, ``0``, ``0.00%``, ``"₽"#,##0``)."""
    sections = pattern.split(";")
    section = sections[0]
    negative = value < 0
    if negative and len(sections) > 1 and sections[1]:
        section, negative_sign = sections[1], ""
    else:
        negative_sign = "-" if negative else ""
    prefix, suffix, min_int, min_dec, max_dec, grouping, percent = _numeric_pattern(section)
    number = Decimal(repr(abs(value))) * (100 if percent else 1)
    quantum = Decimal(1).scaleb(-max_dec)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP)
    int_text, _, dec_text = f"{rounded:f}".partition(".")
    int_text = int_text.lstrip("0")
    int_text = int_text.rjust(min_int, "0")
    dec_text = dec_text[:max_dec]
    while len(dec_text) > min_dec and dec_text.endswith("0"):
        dec_text = dec_text[:-1]
    loc = _locale(locale)
    if grouping and int_text:
        groups: list[str] = []
        while len(int_text) > 3:
            groups.insert(0, int_text[-3:])
            int_text = int_text[:-3]
        groups.insert(0, int_text)
        int_text = loc["group"].join(groups)
    body = int_text + (loc["dec"] + dec_text if dec_text else "")
    if not body:
        body = "0"
    if negative_sign and rounded == 0:
        negative_sign = ""
    return f"{negative_sign}{prefix}{body}{suffix}"


def render_formatted(value: Any, number_format: dict[str, Any] | None, locale: str) -> str:
    """FORMATTED_VALUE of a computed value (strings for everything)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if number_format:
        kind = number_format.get("type", "NUMBER")
        pattern = number_format.get("pattern") or ""
        loc = _locale(locale)
        try:
            if kind in ("DATE", "TIME", "DATE_TIME"):
                default = {"DATE": loc["date"], "TIME": loc["time"], "DATE_TIME": loc["datetime"]}
                return format_date(float(value), pattern or default[kind])
            if pattern and kind != "TEXT":
                return format_number(value, pattern, locale)
            if kind == "PERCENT":
                return format_number(value, "0.00%", locale)
        except (ValueError, OverflowError, InvalidOperation):
            pass
    return format_general(value, locale)


def _is_date_format(number_format: dict[str, Any] | None) -> bool:
    return number_format is not None and number_format.get("type") in ("DATE", "TIME", "DATE_TIME")


# --------------------------------------------------------------------------- formulas

_FORMULA_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)"
    r"|(?P<ref>\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)"
    r"|(?P<func>[A-Za-z][A-Za-z0-9.]*)\s*\("
    r'|(?P<str>"(?:[^"]|"")*")'
    r"|(?P<op><>|<=|>=|[-+*/^&(),=<>]))"
)


class FormulaError(Exception):
    """A formula we cannot evaluate (unsupported, or a Sheets error like #DIV/0!)."""

    def __init__(self, code: str | None) -> None:
        super().__init__(code)
        self.code = code  # "#DIV/0!" etc.; None = unsupported (reads as empty)


class _FormulaEval:
    """Recursive descent over a formula's arithmetic, reading cells from ``lookup``."""

    FUNCTIONS = frozenset({"SUM", "MIN", "MAX", "COUNT", "AVERAGE", "ABS", "ROUND"})

    def __init__(self, text: str, lookup: Callable[[int, int], Any]) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.lookup = lookup

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _FORMULA_TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise FormulaError(None)
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FormulaError(None)
        self.pos += 1
        return token

    def run(self) -> Any:
        value = self.expr()
        if self.peek() is not None:
            raise FormulaError(None)
        return self.scalar(value)

    def scalar(self, value: Any) -> Any:
        if isinstance(value, list):
            flat = [v for row in value for v in row]
            return flat[0] if flat else None
        return value

    def num(self, value: Any) -> float:
        value = self.scalar(value)
        if value is None or value == "":
            return 0.0
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value))
        except ValueError as exc:
            raise FormulaError("#VALUE!") from exc

    def expr(self) -> Any:
        left = self.concat()
        while (
            (token := self.peek())
            and token[0] == "op"
            and token[1] in ("=", "<>", "<", ">", "<=", ">=")
        ):
            self.take()
            right = self.concat()
            a, b = self.scalar(left), self.scalar(right)
            left = {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[
                token[1]
            ]
        return left

    def concat(self) -> Any:
        left = self.additive()
        while (token := self.peek()) and token == ("op", "&"):
            self.take()
            right = self.additive()
            left = render_formatted(self.scalar(left), None, "en_US") + render_formatted(
                self.scalar(right), None, "en_US"
            )
        return left

    def additive(self) -> Any:
        left = self.term()
        while (token := self.peek()) and token[0] == "op" and token[1] in "+-":
            self.take()
            right = self.term()
            left = (
                self.num(left) + self.num(right)
                if token[1] == "+"
                else self.num(left) - self.num(right)
            )
        return left

    def term(self) -> Any:
        left = self.power()
        while (token := self.peek()) and token[0] == "op" and token[1] in "*/":
            self.take()
            right = self.num(self.power())
            if token[1] == "/":
                if right == 0:
                    raise FormulaError("#DIV/0!")
                left = self.num(left) / right
            else:
                left = self.num(left) * right
        return left

    def power(self) -> Any:
        base = self.unary()
        while (token := self.peek()) and token == ("op", "^"):
            self.take()
            base = self.num(base) ** self.num(self.unary())
        return base

    def unary(self) -> Any:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in "+-":
            self.take()
            value = self.num(self.unary())
            return -value if token[1] == "-" else value
        return self.atom()

    def atom(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            bounds = parse_cells(text.replace("$", ""))
            r0, r1, c0, c1 = bounds.clip(10**7, 10**5)
            if r1 - r0 == 1 and c1 - c0 == 1:
                return self.lookup(r0, c0)
            return [[self.lookup(r, c) for c in range(c0, c1)] for r in range(r0, r1)]
        if kind == "func":
            return self.call(text.upper())
        if (kind, text) == ("op", "("):
            value = self.expr()
            if self.take() != ("op", ")"):
                raise FormulaError(None)
            return value
        raise FormulaError(None)

    def call(self, name: str) -> Any:
        args: list[Any] = []
        if self.peek() != ("op", ")"):
            while True:
                args.append(self.expr())
                token = self.take()
                if token == ("op", ")"):
                    break
                if token != ("op", ","):
                    raise FormulaError(None)
        else:
            self.take()
        if name not in self.FUNCTIONS:
            raise FormulaError(None)  # no formula engine: anything else reads as empty
        numbers = []
        for arg in args:
            if isinstance(arg, list):
                numbers += [
                    v
                    for row in arg
                    for v in row
                    if isinstance(v, int | float) and not isinstance(v, bool)
                ]
            else:
                numbers.append(self.num(arg))
        if name == "SUM":
            return float(math.fsum(numbers))
        if name == "MIN":
            return min(numbers) if numbers else 0.0
        if name == "MAX":
            return max(numbers) if numbers else 0.0
        if name == "COUNT":
            return float(len(numbers))
        if name == "AVERAGE":
            if not numbers:
                raise FormulaError("#DIV/0!")
            return math.fsum(numbers) / len(numbers)
        if name == "ABS" and len(args) == 1:
            return abs(self.num(args[0]))
        if name == "ROUND" and 1 <= len(args) <= 2:
            places = int(self.num(args[1])) if len(args) == 2 else 0
            quantum = Decimal(1).scaleb(-places)
            return float(Decimal(repr(self.num(args[0]))).quantize(quantum, rounding=ROUND_HALF_UP))
        raise FormulaError(None)


def evaluate_formula(text: str, lookup: Callable[[int, int], Any]) -> Any:
    """The value of ``text`` (``=...``); ``FormulaError`` when it cannot be computed."""
    value = _FormulaEval(text[1:], lookup).run()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise FormulaError("#NUM!")
        return _number(round(value, 12) if abs(value) < 1e15 else value)
    return value


# --------------------------------------------------------------------------- field masks


def parse_mask(mask: str) -> dict[str, Any]:
    """A field mask as a tree: ``a.b,c(d,e)`` -> ``{a: {b: {}}, c: {d: {}, e: {}}}``.

    Google accepts dotted (gspread-formatting), slashed (gspread) and
    parenthesised (``ws.format``) forms; ``*`` means everything.
    """
    tree: dict[str, Any] = {}
    pos = 0

    def parse_list(into: dict[str, Any], closing: str | None) -> None:
        nonlocal pos
        while pos < len(mask):
            start = pos
            while pos < len(mask) and mask[pos] not in ",()":
                pos += 1
            path = mask[start:pos].strip()
            node = into
            parts = [p for p in re.split(r"[./]", path) if p] if path else []
            for part in parts:
                node = node.setdefault(part, {})
            if pos < len(mask) and mask[pos] == "(":
                pos += 1
                parse_list(node, ")")
            if pos < len(mask) and mask[pos] == ",":
                pos += 1
                continue
            if pos < len(mask) and mask[pos] == ")":
                if closing != ")":
                    raise ValueError(f"unbalanced ) in field mask {mask!r}")
                pos += 1
                return
        if closing is not None:
            raise ValueError(f"unbalanced ( in field mask {mask!r}")

    parse_list(tree, None)
    return tree


def project(value: Any, tree: dict[str, Any]) -> Any:
    """Partial response: keep only the fields named in ``tree`` (lists apply to each item)."""
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [project(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, sub in tree.items():
        if key in value:
            out[key] = project(value[key], sub)
    return out


def apply_mask(
    target: dict[str, Any], source: dict[str, Any], tree: dict[str, Any]
) -> dict[str, Any]:
    """Copy the masked fields of ``source`` onto a copy of ``target`` (absent -> removed)."""
    result = dict(target)
    if "*" in tree:
        return copy.deepcopy(source)
    for key, sub in tree.items():
        if not sub:
            if key in source and source[key] is not None:
                result[key] = copy.deepcopy(source[key])
            else:
                result.pop(key, None)
            continue
        inner_source = source.get(key)
        inner_target = result.get(key)
        merged = apply_mask(
            inner_target if isinstance(inner_target, dict) else {},
            inner_source if isinstance(inner_source, dict) else {},
            sub,
        )
        if merged:
            result[key] = merged
        else:
            result.pop(key, None)
    return result


# --------------------------------------------------------------------------- the model


class DevMeta:
    """One developer metadata entry; ROW/COLUMN ones move with their rows/columns."""

    __slots__ = (
        "dimension",
        "end",
        "id",
        "key",
        "loc_type",
        "sheet_id",
        "start",
        "value",
        "visibility",
    )

    def __init__(
        self,
        id: int,
        key: str,
        value: str | None,
        visibility: str,
        loc_type: str,
        sheet_id: int | None = None,
        dimension: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        self.id, self.key, self.value, self.visibility = id, key, value, visibility
        self.loc_type, self.sheet_id, self.dimension = loc_type, sheet_id, dimension
        self.start, self.end = start, end

    def clone(self) -> DevMeta:
        return DevMeta(
            self.id,
            self.key,
            self.value,
            self.visibility,
            self.loc_type,
            self.sheet_id,
            self.dimension,
            self.start,
            self.end,
        )

    def location(self) -> dict[str, Any]:
        if self.loc_type == "SPREADSHEET":
            return {"locationType": "SPREADSHEET", "spreadsheet": True}
        if self.loc_type == "SHEET":
            return {"locationType": "SHEET", "sheetId": self.sheet_id}
        dim: dict[str, Any] = {}
        if self.sheet_id:
            dim["sheetId"] = self.sheet_id
        dim.update({"dimension": self.dimension, "startIndex": self.start, "endIndex": self.end})
        return {"locationType": self.loc_type, "dimensionRange": dim}

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"metadataId": self.id, "metadataKey": self.key}
        if self.value is not None:
            out["metadataValue"] = self.value
        out["location"] = self.location()
        out["visibility"] = self.visibility
        return out

    def as_state(self) -> list[Any]:
        return [
            self.id,
            self.key,
            self.value,
            self.visibility,
            self.loc_type,
            self.sheet_id,
            self.dimension,
            self.start,
            self.end,
        ]


class Sheet:
    """One tab: grid size, properties, cell values (rows of lists) and what sits beside them.

    ``cells[r]`` is row r's values (a list, possibly shorter than the grid);
    ``extras[r]`` maps a column to the cell's non-value fields (userEnteredFormat,
    dataValidation, note, pivotTable...) or is None. Both lists always have the
    same length, so inserting or deleting rows splices them together and
    formats and checkboxes move with their rows.
    """

    def __init__(self, sheet_id: int, title: str, rows: int = 1000, cols: int = 26) -> None:
        self.sheet_id = sheet_id
        self.title = title
        self.row_count = rows
        self.column_count = cols
        self.frozen_rows = 0
        self.frozen_cols = 0
        self.hidden = False
        self.extra_properties: dict[str, Any] = {}  # tabColor, rightToLeft, hideGridlines...
        self.cells: list[list[Any]] = []
        self.extras: list[dict[int, dict[str, Any]] | None] = []
        self.row_props: dict[int, dict[str, Any]] = {}
        self.col_props: dict[int, dict[str, Any]] = {}
        self.protected_ranges: list[dict[str, Any]] = []
        self.charts: list[dict[str, Any]] = []

    def clone(self) -> Sheet:
        twin = Sheet(self.sheet_id, self.title, self.row_count, self.column_count)
        twin.frozen_rows, twin.frozen_cols, twin.hidden = (
            self.frozen_rows,
            self.frozen_cols,
            self.hidden,
        )
        twin.extra_properties = copy.deepcopy(self.extra_properties)
        twin.cells = [row[:] for row in self.cells]
        # Cell extras dicts are never mutated in place (always replaced), so a shallow copy is safe.
        twin.extras = [dict(ex) if ex else None for ex in self.extras]
        twin.row_props = {k: dict(v) for k, v in self.row_props.items()}
        twin.col_props = {k: dict(v) for k, v in self.col_props.items()}
        twin.protected_ranges = copy.deepcopy(self.protected_ranges)
        twin.charts = copy.deepcopy(self.charts)
        return twin

    # -- cells -----------------------------------------------------------------------

    def ensure_rows(self, count: int) -> None:
        missing = count - len(self.cells)
        if missing > 0:
            self.cells.extend([] for _ in range(missing))
            self.extras.extend([None] * missing)

    def value(self, r: int, c: int) -> Any:
        if r < len(self.cells):
            row = self.cells[r]
            if c < len(row):
                return row[c]
        return None

    def set_value(self, r: int, c: int, value: Any) -> None:
        if value is None and (r >= len(self.cells) or c >= len(self.cells[r])):
            return
        self.ensure_rows(r + 1)
        row = self.cells[r]
        if c >= len(row):
            row.extend([None] * (c + 1 - len(row)))
        row[c] = value

    def extra(self, r: int, c: int) -> dict[str, Any] | None:
        if r < len(self.extras):
            ex = self.extras[r]
            if ex:
                return ex.get(c)
        return None

    def set_extra(self, r: int, c: int, fields: dict[str, Any] | None) -> None:
        if not fields:
            if r < len(self.extras) and self.extras[r]:
                self.extras[r].pop(c, None)  # type: ignore[union-attr]
            return
        self.ensure_rows(r + 1)
        ex = self.extras[r]
        if ex is None:
            ex = self.extras[r] = {}
        ex[c] = fields

    def number_format(self, r: int, c: int) -> dict[str, Any] | None:
        ex = self.extra(r, c)
        if ex:
            fmt = ex.get("userEnteredFormat")
            if fmt:
                return fmt.get("numberFormat")  # type: ignore[no-any-return]
        return None

    def computed(self, r: int, c: int, depth: int = 0) -> Any:
        """The value a cell shows: its own value, or its formula's result."""
        value = self.value(r, c)
        if isinstance(value, Formula):
            if depth > 50:
                raise FormulaError("#REF!")
            return evaluate_formula(value, lambda rr, cc: self._lookup(rr, cc, depth + 1))
        return value

    def _lookup(self, r: int, c: int, depth: int) -> Any:
        return self.computed(r, c, depth)

    def last_used_row(self) -> int:
        """1 + the index of the last row holding a value (0 when empty)."""
        for r in range(len(self.cells) - 1, -1, -1):
            if any(v is not None for v in self.cells[r]):
                return r + 1
        return 0

    # -- structure -------------------------------------------------------------------

    def insert_rows(self, at: int, count: int, inherit_from: int | None) -> None:
        """Insert ``count`` empty rows before ``at``; formats/validations come from a neighbour."""
        template = None
        if inherit_from is not None and 0 <= inherit_from < len(self.extras):
            source = self.extras[inherit_from]
            if source:
                template = {
                    c: {k: v for k, v in ex.items() if k in ("userEnteredFormat", "dataValidation")}
                    for c, ex in source.items()
                }
                template = {c: ex for c, ex in template.items() if ex} or None
        if at < len(self.cells) or template:
            self.ensure_rows(at)
            self.cells[at:at] = [[] for _ in range(count)]
            self.extras[at:at] = [dict(template) if template else None for _ in range(count)]
        self.row_count += count
        self.row_props = {(k + count if k >= at else k): v for k, v in self.row_props.items()}

    def delete_rows(self, start: int, end: int) -> None:
        del self.cells[start:end]
        del self.extras[start:end]
        self.row_count -= end - start
        self.row_props = {
            (k - (end - start) if k >= end else k): v
            for k, v in self.row_props.items()
            if not start <= k < end
        }

    def insert_cols(self, at: int, count: int, inherit_from: int | None) -> None:
        for row in self.cells:
            if at < len(row):
                row[at:at] = [None] * count
        for r, ex in enumerate(self.extras):
            if not ex:
                continue
            moved = {(c + count if c >= at else c): v for c, v in ex.items()}
            if inherit_from is not None and inherit_from in ex:
                src = inherit_from + count if inherit_from >= at else inherit_from
                keep = {
                    k: v
                    for k, v in moved[src].items()
                    if k in ("userEnteredFormat", "dataValidation")
                }
                if keep:
                    for c in range(at, at + count):
                        moved[c] = keep
            self.extras[r] = moved
        self.column_count += count
        self.col_props = {(k + count if k >= at else k): v for k, v in self.col_props.items()}

    def delete_cols(self, start: int, end: int) -> None:
        for row in self.cells:
            del row[start:end]
        n = end - start
        for r, ex in enumerate(self.extras):
            if ex:
                self.extras[r] = {
                    (c - n if c >= end else c): v for c, v in ex.items() if not start <= c < end
                }
        self.column_count -= n
        self.col_props = {
            (k - n if k >= end else k): v for k, v in self.col_props.items() if not start <= k < end
        }


class Spreadsheet:
    """A spreadsheet file: properties, tabs, named ranges, developer metadata, sharing."""

    def __init__(
        self,
        spreadsheet_id: str,
        title: str,
        owner: str,
        *,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
        now: float = 0.0,
    ) -> None:
        self.id = spreadsheet_id
        self.title = title
        self.owner = owner
        self.locale = locale
        self.time_zone = time_zone
        self.permissions: list[dict[str, Any]] = []
        self.created = now
        self.modified = now
        self.version = 1
        self.sheets: list[Sheet] = []
        self.named_ranges: list[dict[str, Any]] = []
        self.metadata: list[DevMeta] = []
        self.metadata_ids: set[int] | None = None  # cache for id checks; rebuilt when stale
        self.trashed = False

    def clone(self) -> Spreadsheet:
        twin = copy.copy(self)
        twin.permissions = copy.deepcopy(self.permissions)
        twin.sheets = [sheet.clone() for sheet in self.sheets]
        twin.named_ranges = copy.deepcopy(self.named_ranges)
        twin.metadata = [meta.clone() for meta in self.metadata]
        twin.metadata_ids = None
        return twin

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        return None

    def sheet_by_title(self, title: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        # Google matches sheet titles case-insensitively in ranges.
        for sheet in self.sheets:
            if sheet.title.lower() == title.lower():
                return sheet
        return None

    def role_of(self, email: str) -> str | None:
        """``owner``/``writer``/``reader`` for ``email``, or None without access."""
        if email == self.owner:
            return "owner"
        best = None
        for perm in self.permissions:
            if (
                perm.get("type") == "anyone"
                or perm.get("emailAddress", "").lower() == email.lower()
            ):
                role = perm.get("role")
                if role in ("owner", "writer", "organizer", "fileOrganizer"):
                    return "writer"
                best = best or ("reader" if role in ("reader", "commenter") else None)
        return best


# --------------------------------------------------------------------------- constants

# Copied from a fresh spreadsheet's metadata
# (fixtures/gsheets/WorksheetTest.test_add_validation.json).
DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        {"colorType": "TEXT", "color": {"rgbColor": {}}},
        {"colorType": "BACKGROUND", "color": {"rgbColor": {"red": 1, "green": 1, "blue": 1}}},
        {
            "colorType": "ACCENT1",
            "color": {"rgbColor": {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}},
        },
        {
            "colorType": "ACCENT2",
            "color": {"rgbColor": {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}},
        },
        {
            "colorType": "ACCENT3",
            "color": {"rgbColor": {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}},
        },
        {
            "colorType": "ACCENT4",
            "color": {"rgbColor": {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}},
        },
        {
            "colorType": "ACCENT5",
            "color": {"rgbColor": {"red": 1, "green": 0.42745098, "blue": 0.003921569}},
        },
        {
            "colorType": "ACCENT6",
            "color": {"rgbColor": {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}},
        },
        {
            "colorType": "LINK",
            "color": {"rgbColor": {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}},
        },
    ],
}
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
LIST_VALUE = "type.googleapis.com/google.protobuf.ListValue"
VALUE_INPUT = ("RAW", "USER_ENTERED")
VALUE_RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATETIME_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")
DIMENSIONS = ("ROWS", "COLUMNS")
VALIDATION_TYPES = frozenset(
    {
        "NUMBER_GREATER",
        "NUMBER_GREATER_THAN_EQ",
        "NUMBER_LESS",
        "NUMBER_LESS_THAN_EQ",
        "NUMBER_EQ",
        "NUMBER_NOT_EQ",
        "NUMBER_BETWEEN",
        "NUMBER_NOT_BETWEEN",
        "TEXT_CONTAINS",
        "TEXT_NOT_CONTAINS",
        "TEXT_STARTS_WITH",
        "TEXT_ENDS_WITH",
        "TEXT_EQ",
        "TEXT_IS_EMAIL",
        "TEXT_IS_URL",
        "DATE_EQ",
        "DATE_BEFORE",
        "DATE_AFTER",
        "DATE_ON_OR_BEFORE",
        "DATE_ON_OR_AFTER",
        "DATE_BETWEEN",
        "DATE_NOT_BETWEEN",
        "DATE_IS_VALID",
        "ONE_OF_RANGE",
        "ONE_OF_LIST",
        "BLANK",
        "NOT_BLANK",
        "CUSTOM_FORMULA",
        "BOOLEAN",
    }
)
# Every request kind of the v4 schema (a name outside this set is an unknown JSON field).
REQUEST_KINDS = frozenset(
    {
        "updateSpreadsheetProperties",
        "updateSheetProperties",
        "updateDimensionProperties",
        "updateNamedRange",
        "repeatCell",
        "addNamedRange",
        "deleteNamedRange",
        "addSheet",
        "deleteSheet",
        "autoFill",
        "cutPaste",
        "copyPaste",
        "mergeCells",
        "unmergeCells",
        "updateBorders",
        "updateCells",
        "addFilterView",
        "appendCells",
        "clearBasicFilter",
        "deleteDimension",
        "deleteEmbeddedObject",
        "deleteFilterView",
        "duplicateFilterView",
        "duplicateSheet",
        "findReplace",
        "insertDimension",
        "insertRange",
        "moveDimension",
        "updateEmbeddedObjectPosition",
        "pasteData",
        "textToColumns",
        "updateFilterView",
        "deleteRange",
        "appendDimension",
        "addConditionalFormatRule",
        "updateConditionalFormatRule",
        "deleteConditionalFormatRule",
        "sortRange",
        "setDataValidation",
        "setBasicFilter",
        "addProtectedRange",
        "updateProtectedRange",
        "deleteProtectedRange",
        "autoResizeDimensions",
        "addChart",
        "updateChartSpec",
        "updateBanding",
        "addBanding",
        "deleteBanding",
        "createDeveloperMetadata",
        "updateDeveloperMetadata",
        "deleteDeveloperMetadata",
        "randomizeRange",
        "addDimensionGroup",
        "deleteDimensionGroup",
        "updateDimensionGroup",
        "trimWhitespace",
        "deleteDuplicates",
        "updateEmbeddedObjectBorder",
        "addSlicer",
        "updateSlicerSpec",
        "addDataSource",
        "updateDataSource",
        "deleteDataSource",
        "refreshDataSource",
        "cancelDataSourceRefresh",
        "addTable",
        "updateTable",
        "deleteTable",
        "insertComment",
        "updateComment",
        "deleteComment",
    }
)
# Formatting-only requests accepted without effect on values (nothing the ledger reads back).
NO_OP_REQUESTS = frozenset(
    {
        "autoResizeDimensions",
        "updateBorders",
        "addBanding",
        "updateBanding",
        "deleteBanding",
        "updateEmbeddedObjectPosition",
    }
)


class _Invalid(Exception):
    """A batchUpdate request Google would refuse; becomes ``Invalid requests[i].kind: ...``."""


def _google_error(
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


def _fail(
    status: int, message: str | None = None, details: list[dict[str, Any]] | None = None
) -> HTTPError:
    return HTTPError(_google_error(status, message, details))


def _bad_field(field: str, message: str) -> HTTPError:
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}],
        }
    ]
    return _fail(400, message, details)


def _drive_error(status: int, reason: str, message: str, location: str | None = None) -> HTTPError:
    item: dict[str, Any] = {"message": message, "domain": "global", "reason": reason}
    if location:
        item.update({"location": location, "locationType": "parameter"})
    return HTTPError(
        Response.json({"error": {"code": status, "message": message, "errors": [item]}}, status)
    )


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _rfc3339(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _flag(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def _grid_json(grid: dict[str, Any]) -> dict[str, Any]:
    """A stored GridRange as Google answers it: ``sheetId`` 0 omitted (proto3 default)."""
    out = {k: v for k, v in grid.items() if v is not None}
    if not out.get("sheetId"):
        out.pop("sheetId", None)
    return out


def _typed(value: Any) -> dict[str, Any]:
    """A value as ExtendedValue JSON."""
    if isinstance(value, Formula):
        return {"formulaValue": str(value)}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    return {"stringValue": value}


def _merge_format(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_format(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _sort_key(value: Any, descending: bool) -> tuple[int, Any]:
    """Sheets' order: numbers, then text (case-insensitive), then booleans; blanks always last."""
    if value is None or value == "":
        return (1, 0)
    key: Any
    if isinstance(value, bool):
        rank, key = 2, int(value)
    elif isinstance(value, int | float):
        rank, key = 0, value
    else:
        rank, key = 1, str(value).lower()
    if descending:
        return (0, _Reversed((rank, key)))
    return (0, (rank, key))


class _Reversed:
    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def _walk_grid_ranges(node: Any) -> Iterator[dict[str, Any]]:
    """Every GridRange-shaped dict inside ``node`` (charts, filters, protected ranges...)."""
    if isinstance(node, dict):
        if any(
            k in node
            for k in ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex")
        ):
            yield node
        for value in node.values():
            yield from _walk_grid_ranges(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_grid_ranges(item)


# --------------------------------------------------------------------------- the emulator


class SheetsEmulator(Emulator):
    """Google Sheets v4 + OAuth token endpoint + Drive v3 subset, on loopback."""

    name = "sheets"

    def __init__(self, *, clock: Callable[[], float] = time.time, seed: int = 20240315) -> None:
        super().__init__(clock=clock)
        self.random = random.Random(seed)
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.issuer = TokenIssuer()
        self.service_account_email = DEFAULT_SERVICE_ACCOUNT
        self.issuer.add_account(DEFAULT_SERVICE_ACCOUNT)
        self.quota_per_minute: dict[str, int] | None = None
        # Drive refuses file creation by service accounts with 403 storageQuotaExceeded
        # nowadays (reference §7); off by default because the recorded cassettes predate it.
        self.service_accounts_have_no_storage = False
        self.failed_edits: list[str] = []  # scheduled person edits (POST /_sandbox/edit) refused

    # ------------------------------------------------------------------ identity & auth

    def service_account_info(self, token_uri: str, email: str | None = None) -> dict[str, str]:
        """A service-account key (JSON dict) whose JWT grant this emulator accepts."""
        account = self.issuer.add_account(email or self.service_account_email)
        return account.info(token_uri)

    def access_token(self, email: str | None = None) -> str:
        """A bearer token for raw HTTP calls (tests, scripts) without the JWT grant."""
        return self.issuer.issue_for_tests(email or self.service_account_email, self.clock())

    def refuse(self, request: Request, kind: str | None) -> Response | None:
        path = request.path
        if path == "/token" or path.startswith("/_sandbox/"):
            return None
        header = request.headers.get("Authorization") or ""
        if not header.lower().startswith("bearer "):
            return self._unauthenticated(MISSING_CREDENTIALS, "CREDENTIALS_MISSING", path)
        email, reason = self.issuer.who(header[7:].strip(), self.clock())
        if email is None:
            return self._unauthenticated(STANDARD_MESSAGES[401], reason, path)
        request.caller = email  # type: ignore[attr-defined]
        if self.quota_per_minute and kind is not None and kind in self.quota_per_minute:
            limit = self.quota_per_minute[kind]
            if self.counters.in_current_minute(kind) >= limit:
                return self._quota_response(kind, limit)
        return None

    def _unauthenticated(self, message: str, reason: str, path: str) -> Response:
        service = "drive.googleapis.com" if path.startswith("/drive/") else "sheets.googleapis.com"
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": service},
            }
        ]
        response = _google_error(401, message, details)
        response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return response

    def _quota_response(self, kind: str, limit: int = 60) -> Response:
        metric = "Read requests" if kind == "read" else "Write requests"
        name = "ReadRequestsPerMinutePerUser" if kind == "read" else "WriteRequestsPerMinutePerUser"
        message = (
            f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per "
            f"user' of service 'sheets.googleapis.com' for consumer "
            f"'project_number:{PROJECT_NUMBER}'."
        )
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_limit": name,
                    "quota_unit": "1/min/{project}/{user}",
                    "quota_location": "global",
                    "quota_limit_value": str(limit),
                    "consumer": f"projects/{PROJECT_NUMBER}",
                    "service": "sheets.googleapis.com",
                    "quota_metric": f"sheets.googleapis.com/{kind}_requests",
                },
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                    }
                ],
            },
        ]
        return _google_error(429, message, details)

    def error_response(self, status: int, message: str) -> Response:
        return _google_error(status, message)

    def fault_response(self, status: int, request: Request) -> Response:
        if status == 429:
            found = None
            with contextlib.suppress(HTTPError):
                found = self._match(request)
            kind = found[1] if found else "read"
            return self._quota_response(kind or "read")
        return _google_error(status)

    @staticmethod
    def _caller(request: Request) -> str:
        return getattr(request, "caller", None) or DEFAULT_SERVICE_ACCOUNT

    # ------------------------------------------------------------------ small helpers

    def _new_id(self, digits: int = 10) -> int:
        return self.random.randrange(10 ** (digits - 1), 2**31 - 1)

    def _new_spreadsheet_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self.random.choice(alphabet) for _ in range(43))

    def _touch(self, book: Spreadsheet) -> None:
        book.modified = self.clock()
        book.version += 1

    def _reply(self, request: Request, body: Any, status: int = 200) -> Response:
        fields = request.arg("fields")
        if fields:
            try:
                body = project(body, parse_mask(fields))
            except ValueError as exc:
                raise _fail(400, f"Invalid field selection {fields}") from exc
        return Response.json(body, status)

    def _body(self, request: Request) -> dict[str, Any]:
        if not request.body:
            return {}
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise _fail(400, f"Invalid JSON payload received. {exc}") from exc
        if not isinstance(data, dict):
            raise _fail(400, "Invalid JSON payload received. Expected an object.")
        return data

    def _book(self, request: Request, sid: str, *, write: bool = False) -> Spreadsheet:
        book = self.spreadsheets.get(sid)
        if book is None or book.trashed:
            raise _fail(404)
        role = book.role_of(self._caller(request))
        if role is None or (write and role == "reader"):
            raise _fail(403)
        return book

    @staticmethod
    def _enum(
        value: Any, allowed: tuple[str, ...], field: str, type_name: str, default: str
    ) -> str:
        if value is None or value == "":
            return default
        if value not in allowed:
            raise _bad_field(field, f"Invalid value at '{field}' ({type_name}), \"{value}\"")
        return str(value)

    def _resolve(self, book: Spreadsheet, text: str) -> tuple[Sheet, Bounds]:
        """A range string -> (sheet, bounds); 400 ``Unable to parse range`` like Google."""
        unable = _fail(400, f"Unable to parse range: {text}")
        if not isinstance(text, str):
            raise unable
        try:
            ref = split_range(text)
        except ValueError:
            raise unable from None
        if ref.title is None:
            cells = ref.cells or ""
            if is_cell_reference(cells):
                visible = [s for s in book.sheets if not s.hidden] or book.sheets
                return visible[0], parse_cells(cells)
            sheet = book.sheet_by_title(cells)
            if sheet is not None:
                return sheet, Bounds()
            for named in book.named_ranges:
                if named["name"] == cells:
                    grid = named["range"]
                    target = book.sheet_by_id(int(grid.get("sheetId") or 0))
                    if target is not None:
                        return target, Bounds.from_grid_range(grid)
            raise unable
        sheet = book.sheet_by_title(ref.title)
        if sheet is None:
            raise unable
        if ref.cells is None:
            return sheet, Bounds()
        try:
            return sheet, parse_cells(ref.cells)
        except ValueError:
            raise unable from None

    @staticmethod
    def _grid_limit(sheet: Sheet, text: str) -> HTTPError:
        cells = text.rpartition("!")[2] if "!" in text else text
        return _fail(
            400,
            f"Range ('{sheet.title}'!{cells}) exceeds grid limits. Max rows: "
            f"{sheet.row_count}, max columns: {sheet.column_count}",
        )

    def _check_read_bounds(self, sheet: Sheet, bounds: Bounds, text: str) -> None:
        if (bounds.start_row or 0) >= sheet.row_count or (
            bounds.start_col or 0
        ) >= sheet.column_count:
            raise self._grid_limit(sheet, text)

    def _grid_sheet(self, book: Spreadsheet, grid: dict[str, Any]) -> Sheet:
        if not isinstance(grid, dict):
            raise _Invalid("range must be a GridRange")
        sheet = book.sheet_by_id(int(grid.get("sheetId") or 0))
        if sheet is None:
            raise _Invalid(f"No grid with id: {grid.get('sheetId') or 0}")
        return sheet

    # ------------------------------------------------------------------ reading values

    def _render_rows(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        r0: int,
        r1: int,
        c0: int,
        c1: int,
        render: str,
        dt_render: str,
    ) -> list[list[Any]]:
        """Rendered values of a block, trailing empty cells and rows trimmed like Google."""
        cells, extras, locale = sheet.cells, sheet.extras, book.locale
        out: list[list[Any]] = []
        keep = 0
        for r in range(r0, min(r1, len(cells))):
            segment = cells[r][c0:c1]
            while segment and segment[-1] is None:
                segment.pop()
            if not segment:
                out.append([])
                continue
            row_extras = extras[r]
            fast = render == "UNFORMATTED_VALUE" and (
                not row_extras or dt_render == "SERIAL_NUMBER"
            )
            if fast and not any(type(v) is Formula for v in segment):
                rendered = ["" if v is None else v for v in segment]
            else:
                rendered = []
                for offset, value in enumerate(segment):
                    rendered.append(
                        self._render_cell(
                            sheet, r, c0 + offset, value, row_extras, render, dt_render, locale
                        )
                    )
            out.append(rendered)
            keep = len(out)
        del out[keep:]
        return out

    @staticmethod
    def _render_cell(
        sheet: Sheet,
        r: int,
        c: int,
        value: Any,
        row_extras: dict[int, Any] | None,
        render: str,
        dt_render: str,
        locale: str,
    ) -> Any:
        if value is None:
            return ""
        if render == "FORMULA" and type(value) is Formula:
            return str(value)
        number_format = None
        if row_extras and c in row_extras:
            fmt = row_extras[c].get("userEnteredFormat")
            number_format = fmt.get("numberFormat") if fmt else None
        if type(value) is Formula:
            try:
                value = sheet.computed(r, c)
            except FormulaError as exc:
                value = exc.code
            if value is None:
                return ""
        if render == "FORMATTED_VALUE":
            return render_formatted(value, number_format, locale)
        if (
            dt_render == "FORMATTED_STRING"
            and _is_date_format(number_format)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return render_formatted(value, number_format, locale)
        return value

    @staticmethod
    def _columns(rows: list[list[Any]]) -> list[list[Any]]:
        """ROWS -> COLUMNS, trimming trailing empties of each column and trailing columns."""
        width = max((len(row) for row in rows), default=0)
        columns = []
        for c in range(width):
            column = [row[c] if c < len(row) else "" for row in rows]
            while column and column[-1] == "":
                column.pop()
            columns.append(column)
        while columns and not columns[-1]:
            columns.pop()
        return columns

    def _value_range(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        bounds: Bounds,
        *,
        render: str,
        dt_render: str,
        major: str,
    ) -> dict[str, Any]:
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        body: dict[str, Any] = {
            "range": format_range(sheet.title, r0, r1, c0, c1),
            "majorDimension": major,
        }
        rows = self._render_rows(book, sheet, r0, r1, c0, c1, render, dt_render)
        if major == "COLUMNS":
            rows = self._columns(rows)
        if rows:
            body["values"] = rows
        return body

    def _read_options(self, source: Callable[[str], Any]) -> tuple[str, str, str]:
        render = self._enum(
            source("valueRenderOption"),
            VALUE_RENDER,
            "value_render_option",
            "TYPE_ENUM",
            "FORMATTED_VALUE",
        )
        dt_render = self._enum(
            source("dateTimeRenderOption"),
            DATETIME_RENDER,
            "date_time_render_option",
            "TYPE_ENUM",
            "SERIAL_NUMBER",
        )
        major = self._enum(
            source("majorDimension"), DIMENSIONS, "major_dimension", "TYPE_ENUM", "ROWS"
        )
        return render, dt_render, major

    # ------------------------------------------------------------------ writing values

    def _cells_of(self, values: Any, major: str, field: str) -> list[list[Any]]:
        """Validate a ValueRange's ``values`` like Google's JSON parser; rows-major result."""
        if values is None:
            return []
        if not isinstance(values, list):
            raise _bad_field(
                field,
                f"Invalid value at '{field}' ({LIST_VALUE}), {_json_text(values)}",
            )
        for i, row in enumerate(values):
            if not isinstance(row, list):
                where = f"{field}[{i}]"
                raise _bad_field(
                    where,
                    f"Invalid value at '{where}' ({LIST_VALUE}), {_json_text(row)}",
                )
            for j, cell in enumerate(row):
                if isinstance(cell, dict | list):
                    kind = "struct_value" if isinstance(cell, dict) else "list_value"
                    raise _fail(
                        400,
                        f"Invalid values[{i}][{j}]: {kind} {json.dumps(cell, ensure_ascii=False)}",
                    )
        if major == "COLUMNS":
            height = max((len(col) for col in values), default=0)
            return [[col[r] if r < len(col) else None for col in values] for r in range(height)]
        return values

    def _plan_write(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        bounds: Bounds,
        rows: list[list[Any]],
        text: str,
        *,
        grow: bool = False,
        anchor: tuple[int, int] | None = None,
        caller: str | None = None,
    ) -> tuple[int, int, int, int]:
        """Check a write fits (requested range, grid, protection); return its block."""
        r0, c0 = anchor if anchor else (bounds.start_row or 0, bounds.start_col or 0)
        height = len(rows)
        width = max((len(row) for row in rows), default=0)
        if anchor is None and not bounds.is_single_cell and height and width:
            shown = text.rpartition("!")[2] if "!" in text else text
            title = f"'{sheet.title}'!{shown}"
            if bounds.end_row is not None and r0 + height > bounds.end_row:
                raise _fail(
                    400,
                    f"Requested writing within range [{title}], "
                    f"but tried writing to row [{bounds.end_row + 1}]",
                )
            if bounds.end_col is not None and c0 + width > bounds.end_col:
                raise _fail(
                    400,
                    f"Requested writing within range [{title}], "
                    f"but tried writing to column [{column_letters(bounds.end_col)}]",
                )
        if (
            not grow
            and height
            and width
            and (r0 + height > sheet.row_count or c0 + width > sheet.column_count)
        ):
            raise self._grid_limit(sheet, text)
        if not grow and (r0 >= sheet.row_count or c0 >= sheet.column_count):
            raise self._grid_limit(sheet, text)
        if caller is not None and height and width:
            self._check_protection(book, sheet, r0, r0 + height, c0, c0 + width, caller)
        return r0, r0 + height, c0, c0 + width

    def _check_protection(
        self, book: Spreadsheet, sheet: Sheet, r0: int, r1: int, c0: int, c1: int, caller: str
    ) -> None:
        if caller == book.owner:
            return
        for protected in sheet.protected_ranges:
            if protected.get("warningOnly"):
                continue
            editors = (protected.get("editors") or {}).get("users") or []
            if caller in editors:
                continue
            pr0, pr1, pc0, pc1 = Bounds.from_grid_range(protected["range"]).clip(
                sheet.row_count, sheet.column_count
            )
            if pr0 < r1 and r0 < pr1 and pc0 < c1 and c0 < pc1:
                holes = [
                    Bounds.from_grid_range(h).clip(sheet.row_count, sheet.column_count)
                    for h in protected.get("unprotectedRanges") or []
                ]
                if holes and all(
                    any(h[0] <= r < h[1] and h[2] <= c < h[3] for h in holes)
                    for r in range(max(r0, pr0), min(r1, pr1))
                    for c in range(max(c0, pc0), min(c1, pc1))
                ):
                    continue
                raise _fail(400, PROTECTED)

    def _store(
        self, book: Spreadsheet, sheet: Sheet, r0: int, c0: int, rows: list[list[Any]], option: str
    ) -> int:
        """Write rows of JSON values at (r0, c0): null skips a cell, "" clears it.

        Returns the number of cells written.
        """
        written = 0
        locale = book.locale
        sheet.ensure_rows(r0 + len(rows))
        for i, row in enumerate(rows):
            r = r0 + i
            target = sheet.cells[r]
            needed = c0 + len(row)
            if len(target) < needed:
                target.extend([None] * (needed - len(target)))
            for j, raw in enumerate(row):
                if raw is None:
                    continue
                written += 1
                c = c0 + j
                if isinstance(raw, bool):
                    target[c] = raw
                elif isinstance(raw, int | float):
                    target[c] = _number(raw)
                elif raw == "":
                    target[c] = None
                elif option == "RAW":
                    target[c] = raw
                else:
                    value, implied = parse_user_entered(str(raw), locale)
                    target[c] = value
                    if implied is not None and sheet.number_format(r, c) is None:
                        self._set_number_format(sheet, r, c, implied)
        return written

    @staticmethod
    def _set_number_format(sheet: Sheet, r: int, c: int, number_format: dict[str, Any]) -> None:
        fields = dict(sheet.extra(r, c) or {})
        fmt = dict(fields.get("userEnteredFormat") or {})
        fmt["numberFormat"] = number_format
        fields["userEnteredFormat"] = fmt
        sheet.set_extra(r, c, fields)

    def _update_response(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        block: tuple[int, int, int, int],
        written: int,
        *,
        include: bool,
        render: str,
        dt_render: str,
        requested: Bounds | None = None,
    ) -> dict[str, Any]:
        r0, r1, c0, c1 = block
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if r1 > r0 and c1 > c0:
            out["updatedRange"] = format_range(sheet.title, r0, r1, c0, c1)
            out["updatedRows"] = r1 - r0
            out["updatedColumns"] = c1 - c0
            if written:
                out["updatedCells"] = written
        elif requested is not None:
            rr0, rr1, rc0, rc1 = requested.clip(sheet.row_count, sheet.column_count)
            out["updatedRange"] = format_range(sheet.title, rr0, rr1, rc0, rc1)
        if include:
            bounds = Bounds(r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))
            out["updatedData"] = self._value_range(
                book, sheet, bounds, render=render, dt_render=dt_render, major="ROWS"
            )
        return out

    @staticmethod
    def _raw_range(request: Request, verb: str | None = None) -> str:
        """The range segment of ``.../values/{range}[:verb]``, split on the raw path.

        gspread appends ``:append``/``:clear`` unencoded after the percent-encoded
        range, and a decoded range contains ``:`` itself (reference §1.1).
        """
        raw = request.raw_path.split("/values/", 1)[1]
        if verb is not None and raw.endswith(":" + verb):
            raw = raw[: -len(verb) - 1]
        return urllib.parse.unquote(raw)

    # ------------------------------------------------------------------ token endpoint

    @route("POST", r"/token")
    def oauth_token(self, request: Request) -> Response:
        try:
            body = self.issuer.grant(request.form(), self.clock(), wall=time.time())
        except TokenError as exc:
            return Response.json(exc.body, exc.status)
        return Response.json(body)

    # ------------------------------------------------------------------ spreadsheets

    def _new_book(
        self,
        title: str,
        owner: str,
        *,
        locale: str = "en_US",
        sheets: Iterable[Any] | None = None,
        time_zone: str = "Etc/GMT",
    ) -> Spreadsheet:
        sid = self._new_spreadsheet_id()
        book = Spreadsheet(sid, title, owner, locale=locale, time_zone=time_zone, now=self.clock())
        specs = list(sheets or [])
        if not specs:
            specs = [{"title": "Sheet1"}]
        for index, spec in enumerate(specs):
            if isinstance(spec, str):
                spec = {"title": spec}
            props = spec.get("properties", spec)
            grid = props.get("gridProperties") or {}
            sheet_id = props.get("sheetId", 0 if index == 0 else self._new_id())
            sheet = Sheet(
                int(sheet_id),
                props.get("title") or f"Sheet{index + 1}",
                int(grid.get("rowCount") or props.get("rows") or 1000),
                int(grid.get("columnCount") or props.get("cols") or 26),
            )
            sheet.frozen_rows = int(grid.get("frozenRowCount") or 0)
            sheet.frozen_cols = int(grid.get("frozenColumnCount") or 0)
            sheet.hidden = bool(props.get("hidden"))
            book.sheets.append(sheet)
            values = spec.get("values")
            if values:
                self._store(
                    book, sheet, 0, 0, values, "USER_ENTERED" if spec.get("user_entered") else "RAW"
                )
                sheet.row_count = max(sheet.row_count, len(values))
                sheet.column_count = max(sheet.column_count, max(len(r) for r in values))
        self.spreadsheets[sid] = book
        return book

    @route("POST", r"/v4/spreadsheets", kind="write")
    def create(self, request: Request) -> Response:
        body = self._body(request)
        props = body.get("properties") or {}
        with self.lock:
            if self.service_accounts_have_no_storage:
                raise _fail(403, "The user's Drive storage quota has been exceeded.")
            book = self._new_book(
                props.get("title") or "Untitled spreadsheet",
                self._caller(request),
                locale=props.get("locale") or "en_US",
                sheets=body.get("sheets"),
                time_zone=props.get("timeZone") or "Etc/GMT",
            )
            return self._reply(request, self._metadata(book, self._caller(request)))

    def _sheet_properties(self, book: Spreadsheet, sheet: Sheet) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": sheet.row_count, "columnCount": sheet.column_count}
        if sheet.frozen_rows:
            grid["frozenRowCount"] = sheet.frozen_rows
        if sheet.frozen_cols:
            grid["frozenColumnCount"] = sheet.frozen_cols
        grid.update(sheet.extra_properties.get("gridProperties") or {})
        props: dict[str, Any] = {
            "sheetId": sheet.sheet_id,
            "title": sheet.title,
            "index": book.sheets.index(sheet),
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        if sheet.hidden:
            props["hidden"] = True
        props.update({k: v for k, v in sheet.extra_properties.items() if k != "gridProperties"})
        return props

    def _protected_json(
        self, book: Spreadsheet, protected: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"protectedRangeId": protected["protectedRangeId"]}
        if protected.get("namedRangeId"):
            out["namedRangeId"] = protected["namedRangeId"]
        out["range"] = _grid_json(protected["range"])
        if protected.get("description"):
            out["description"] = protected["description"]
        if protected.get("warningOnly"):
            out["warningOnly"] = True
        users = (protected.get("editors") or {}).get("users") or []
        can_edit = bool(protected.get("warningOnly")) or caller == book.owner or caller in users
        if can_edit:
            out["requestingUserCanEdit"] = True
            editors = {k: v for k, v in (protected.get("editors") or {}).items() if v}
            out["editors"] = editors
        if protected.get("unprotectedRanges"):
            out["unprotectedRanges"] = [_grid_json(g) for g in protected["unprotectedRanges"]]
        return out

    def _metadata(
        self,
        book: Spreadsheet,
        caller: str,
        *,
        grid_ranges: list[tuple[Sheet, Bounds]] | None = None,
        include_grid: bool = False,
    ) -> dict[str, Any]:
        sheets_json = []
        wanted = None if grid_ranges is None else {id(s) for s, _ in grid_ranges}
        for sheet in book.sheets:
            if wanted is not None and id(sheet) not in wanted:
                continue
            item: dict[str, Any] = {"properties": self._sheet_properties(book, sheet)}
            if include_grid:
                blocks = [b for s, b in grid_ranges if s is sheet] if grid_ranges else [Bounds()]
                item["data"] = [self._grid_data(book, sheet, b) for b in blocks]
            for key in ("merges", "conditionalFormats", "filterViews", "basicFilter"):
                if sheet.extra_properties.get("_" + key):
                    item[key] = copy.deepcopy(sheet.extra_properties["_" + key])
            if sheet.protected_ranges:
                item["protectedRanges"] = [
                    self._protected_json(book, p, caller) for p in sheet.protected_ranges
                ]
            sheet_meta = [
                m.as_json()
                for m in book.metadata
                if m.loc_type == "SHEET" and m.sheet_id == sheet.sheet_id
            ]
            if sheet_meta:
                item["developerMetadata"] = sheet_meta
            if sheet.charts:
                item["charts"] = copy.deepcopy(sheet.charts)
            sheets_json.append(item)
        body: dict[str, Any] = {
            "spreadsheetId": book.id,
            "properties": {
                "title": book.title,
                "locale": book.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": book.time_zone,
                "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
                "spreadsheetTheme": copy.deepcopy(THEME),
            },
            "sheets": sheets_json,
        }
        if book.named_ranges:
            body["namedRanges"] = [
                {
                    "namedRangeId": n["namedRangeId"],
                    "name": n["name"],
                    "range": _grid_json(n["range"]),
                }
                for n in book.named_ranges
            ]
        top_meta = [m.as_json() for m in book.metadata if m.loc_type == "SPREADSHEET"]
        if top_meta:
            body["developerMetadata"] = top_meta
        body["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{book.id}/edit"
        return body

    def _cell_data(self, book: Spreadsheet, sheet: Sheet, r: int, c: int) -> dict[str, Any]:
        value = sheet.value(r, c)
        extra = sheet.extra(r, c)
        out: dict[str, Any] = {}
        if value is not None:
            out["userEnteredValue"] = _typed(value)
            try:
                shown = sheet.computed(r, c)
                if shown is not None:
                    out["effectiveValue"] = _typed(shown)
            except FormulaError as exc:
                shown = exc.code
                if exc.code:
                    out["effectiveValue"] = {"errorValue": {"type": "ERROR", "message": exc.code}}
            number_format = (extra or {}).get("userEnteredFormat", {}).get("numberFormat")
            out["formattedValue"] = render_formatted(shown, number_format, book.locale)
        if extra:
            out.update(copy.deepcopy(extra))
        if value is not None or (extra and "userEnteredFormat" in extra):
            out["effectiveFormat"] = _merge_format(
                DEFAULT_FORMAT, (extra or {}).get("userEnteredFormat") or {}
            )
        return out

    def _grid_data(self, book: Spreadsheet, sheet: Sheet, bounds: Bounds) -> dict[str, Any]:
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        data: dict[str, Any] = {}
        if r0:
            data["startRow"] = r0
        if c0:
            data["startColumn"] = c0
        rows = []
        for r in range(r0, min(r1, len(sheet.cells))):
            values = [self._cell_data(book, sheet, r, c) for c in range(c0, c1)]
            while values and not values[-1]:
                values.pop()
            rows.append({"values": values} if values else {})
        while rows and not rows[-1]:
            rows.pop()
        if rows:
            data["rowData"] = rows
        row_meta: dict[int, list[dict[str, Any]]] = {}
        col_meta: dict[int, list[dict[str, Any]]] = {}
        for meta in book.metadata:
            if meta.sheet_id == sheet.sheet_id and meta.loc_type in ("ROW", "COLUMN"):
                target = row_meta if meta.loc_type == "ROW" else col_meta
                target.setdefault(meta.start or 0, []).append(meta.as_json())
        data["rowMetadata"] = [
            self._dimension_json(sheet.row_props.get(r), 21, row_meta.get(r)) for r in range(r0, r1)
        ]
        data["columnMetadata"] = [
            self._dimension_json(sheet.col_props.get(c), 100, col_meta.get(c))
            for c in range(c0, c1)
        ]
        return data

    @staticmethod
    def _dimension_json(
        props: dict[str, Any] | None, size: int, meta: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"pixelSize": size}
        if props:
            out.update(props)
        if meta:
            out["developerMetadata"] = meta
        return out

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)", kind="read")
    def get_spreadsheet(self, request: Request, sid: str) -> Response:
        with self.lock:
            book = self._book(request, sid)
            include = _flag(request.arg("includeGridData"))
            mask = request.arg("fields") or ""
            if mask:
                # "includeGridData ... is ignored if a field mask was set in the request":
                # the mask alone decides whether grid data comes back.
                include = bool(re.search(r"\bdata\b", mask))
            ranges = request.args("ranges")
            grid_ranges = [self._resolve(book, text) for text in ranges] if ranges else None
            return self._reply(
                request,
                self._metadata(
                    book, self._caller(request), grid_ranges=grid_ranges, include_grid=include
                ),
            )

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+):getByDataFilter", kind="read")
    def get_by_data_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid)
            grid_ranges: list[tuple[Sheet, Bounds]] = []
            for data_filter in body.get("dataFilters") or []:
                grid_ranges += self._filter_ranges(book, data_filter, "dataFilters")
            return self._reply(
                request,
                self._metadata(
                    book,
                    self._caller(request),
                    grid_ranges=grid_ranges if body.get("dataFilters") else None,
                    include_grid=_flag(body.get("includeGridData")),
                ),
            )

    # ------------------------------------------------------------------ values routes

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+)", kind="read")
    def values_get(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request)
        render, dt_render, major = self._read_options(request.arg)
        with self.lock:
            book = self._book(request, sid)
            sheet, bounds = self._resolve(book, text)
            self._check_read_bounds(sheet, bounds, text)
            return self._reply(
                request,
                self._value_range(
                    book, sheet, bounds, render=render, dt_render=dt_render, major=major
                ),
            )

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchGet", kind="read")
    def values_batch_get(self, request: Request, sid: str) -> Response:
        render, dt_render, major = self._read_options(request.arg)
        with self.lock:
            book = self._book(request, sid)
            out: dict[str, Any] = {"spreadsheetId": book.id}
            ranges = []
            for text in request.args("ranges"):
                sheet, bounds = self._resolve(book, text)
                self._check_read_bounds(sheet, bounds, text)
                ranges.append(
                    self._value_range(
                        book, sheet, bounds, render=render, dt_render=dt_render, major=major
                    )
                )
            if ranges:
                out["valueRanges"] = ranges
            return self._reply(request, out)

    def _write_options(self, get: Callable[[str], Any], *, required: bool = True) -> str:
        option = get("valueInputOption")
        if option in (None, "") and required:
            raise _fail(400, "'valueInputOption' is required but not specified")
        return self._enum(option, VALUE_INPUT, "value_input_option", "TYPE_ENUM", "RAW")

    def _response_options(self, get: Callable[[str], Any]) -> tuple[bool, str, str]:
        include = _flag(get("includeValuesInResponse"))
        render = self._enum(
            get("responseValueRenderOption"),
            VALUE_RENDER,
            "response_value_render_option",
            "TYPE_ENUM",
            "FORMATTED_VALUE",
        )
        dt_render = self._enum(
            get("responseDateTimeRenderOption"),
            DATETIME_RENDER,
            "response_date_time_render_option",
            "TYPE_ENUM",
            "SERIAL_NUMBER",
        )
        return include, render, dt_render

    @route("PUT", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+)", kind="write")
    def values_update(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request)
        body = self._body(request)
        major = self._enum(
            body.get("majorDimension"), DIMENSIONS, "data.major_dimension", "TYPE_ENUM", "ROWS"
        )
        rows = self._cells_of(body.get("values"), major, "data.values")
        option = self._write_options(request.arg)
        include, render, dt_render = self._response_options(request.arg)
        with self.lock:
            book = self._book(request, sid, write=True)
            sheet, bounds = self._resolve(book, text)
            block = self._plan_write(book, sheet, bounds, rows, text, caller=self._caller(request))
            written = self._store(book, sheet, block[0], block[2], rows, option)
            self._touch(book)
            return self._reply(
                request,
                self._update_response(
                    book,
                    sheet,
                    block,
                    written,
                    include=include,
                    render=render,
                    dt_render=dt_render,
                    requested=bounds,
                ),
            )

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+):append", kind="write")
    def values_append(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request, "append")
        body = self._body(request)
        major = self._enum(
            body.get("majorDimension"), DIMENSIONS, "data.major_dimension", "TYPE_ENUM", "ROWS"
        )
        rows = self._cells_of(body.get("values"), major, "data.values")
        option = self._write_options(request.arg)
        insert = self._enum(
            request.arg("insertDataOption"),
            ("OVERWRITE", "INSERT_ROWS"),
            "insert_data_option",
            "TYPE_ENUM",
            "OVERWRITE",
        )
        include, render, dt_render = self._response_options(request.arg)
        with self.lock:
            book = self._book(request, sid, write=True)
            sheet, bounds = self._resolve(book, text)
            self._check_read_bounds(sheet, bounds, text)
            out = self._append(
                book,
                sheet,
                bounds,
                rows,
                option,
                insert,
                self._caller(request),
                include=include,
                render=render,
                dt_render=dt_render,
            )
            self._touch(book)
            return self._reply(request, out)

    def _append(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        bounds: Bounds,
        rows: list[list[Any]],
        option: str,
        insert: str,
        caller: str | None,
        *,
        include: bool = False,
        render: str = "FORMATTED_VALUE",
        dt_render: str = "SERIAL_NUMBER",
    ) -> dict[str, Any]:
        """values.append: find the table in the range, write below it (growing the grid)."""
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        table = self._find_table(sheet, r0, r1, c0, c1)
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if table is not None:
            out["tableRange"] = format_range(sheet.title, *table)
            start_row, start_col = table[1], table[2]
        else:
            start_row, start_col = r0, c0
        height = len(rows)
        width = max((len(row) for row in rows), default=0)
        if height and width:
            if insert == "INSERT_ROWS":
                self._insert_dimension(
                    book, sheet, "ROWS", start_row, height, inherit_before=start_row > 0
                )
            elif start_row + height > sheet.row_count:
                # "adding data to the end of the sheet will still insert new rows or columns"
                self._insert_dimension(
                    book,
                    sheet,
                    "ROWS",
                    sheet.row_count,
                    start_row + height - sheet.row_count,
                    inherit_before=True,
                )
            if start_col + width > sheet.column_count:
                self._insert_dimension(
                    book,
                    sheet,
                    "COLUMNS",
                    sheet.column_count,
                    start_col + width - sheet.column_count,
                    inherit_before=True,
                )
            if caller is not None:
                self._check_protection(
                    book, sheet, start_row, start_row + height, start_col, start_col + width, caller
                )
        written = self._store(book, sheet, start_row, start_col, rows, option)
        block = (start_row, start_row + height, start_col, start_col + width)
        updates = self._update_response(
            book, sheet, block, written, include=include, render=render, dt_render=dt_render
        )
        if "updatedRange" not in updates:
            updates["updatedRange"] = format_range(
                sheet.title, start_row, start_row + 1, start_col, start_col + 1
            )
        out["updates"] = updates
        return out

    @staticmethod
    def _find_table(
        sheet: Sheet, r0: int, r1: int, c0: int, c1: int
    ) -> tuple[int, int, int, int] | None:
        """The "table" values.append finds: the block of data around the first filled cell.

        Like a spreadsheet's "current region": start at the first non-empty cell of
        the range, grow the box while any cell touching it (diagonals included)
        inside the range holds a value. Fixture: A1="x", B1="", C1="y" -> table A1.
        """
        cells = sheet.cells
        start = None
        for r in range(r0, min(r1, len(cells))):
            row = cells[r]
            for c in range(c0, min(c1, len(row))):
                if row[c] is not None:
                    start = (r, c)
                    break
            if start:
                break
        if start is None:
            return None
        top, bottom, left, right = start[0], start[0] + 1, start[1], start[1] + 1
        limit = min(r1, len(cells))

        def row_has(r: int, lo: int, hi: int) -> bool:
            row = cells[r]
            return any(v is not None for v in row[max(lo, c0) : min(hi, c1)])

        def col_has(c: int, lo: int, hi: int) -> bool:
            return any(
                c < len(row) and row[c] is not None for row in cells[max(lo, r0) : min(hi, limit)]
            )

        changed = True
        while changed:
            changed = False
            while bottom < limit and row_has(bottom, left - 1, right + 1):
                bottom += 1
                changed = True
            while top > r0 and row_has(top - 1, left - 1, right + 1):
                top -= 1
                changed = True
            while right < c1 and col_has(right, top - 1, bottom + 1):
                right += 1
                changed = True
            while left > c0 and col_has(left - 1, top - 1, bottom + 1):
                left -= 1
                changed = True
        return top, bottom, left, right

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values/(?P<rng>.+):clear", kind="write")
    def values_clear(self, request: Request, sid: str, rng: str) -> Response:
        text = self._raw_range(request, "clear")
        with self.lock:
            book = self._book(request, sid, write=True)
            sheet, bounds = self._resolve(book, text)
            cleared = self._clear(book, sheet, bounds, text, self._caller(request))
            self._touch(book)
            return self._reply(request, {"spreadsheetId": book.id, "clearedRange": cleared})

    def _clear(
        self, book: Spreadsheet, sheet: Sheet, bounds: Bounds, text: str, caller: str | None
    ) -> str:
        self._check_read_bounds(sheet, bounds, text)
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        if caller is not None:
            self._check_protection(book, sheet, r0, r1, c0, c1, caller)
        for r in range(r0, min(r1, len(sheet.cells))):
            row = sheet.cells[r]
            end = min(c1, len(row))
            if end > c0:
                row[c0:end] = [None] * (end - c0)
        return format_range(sheet.title, r0, r1, c0, c1)

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchClear", kind="write")
    def values_batch_clear(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid, write=True)
            targets = []
            for text in body.get("ranges") or []:
                sheet, bounds = self._resolve(book, text)
                self._check_read_bounds(sheet, bounds, text)
                targets.append((sheet, bounds, text))
            cleared = [self._clear(book, s, b, t, self._caller(request)) for s, b, t in targets]
            self._touch(book)
            out: dict[str, Any] = {"spreadsheetId": book.id}
            if cleared:
                out["clearedRanges"] = cleared
            return self._reply(request, out)

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchUpdate", kind="write")
    def values_batch_update(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        option = self._write_options(body.get)
        include, render, dt_render = self._response_options(body.get)
        data = body.get("data") or []
        with self.lock:
            book = self._book(request, sid, write=True)
            caller = self._caller(request)
            plans = []
            for i, item in enumerate(data):
                major = self._enum(
                    item.get("majorDimension"),
                    DIMENSIONS,
                    f"data[{i}].major_dimension",
                    "TYPE_ENUM",
                    "ROWS",
                )
                rows = self._cells_of(item.get("values"), major, f"data[{i}].values")
                text = item.get("range")
                try:
                    sheet, bounds = self._resolve(book, text)
                    block = self._plan_write(book, sheet, bounds, rows, text, caller=caller)
                except HTTPError as exc:
                    raise self._prefixed(exc, f"Invalid data[{i}]: ") from None
                plans.append((sheet, bounds, block, rows))
            return self._reply(
                request, self._apply_value_writes(book, plans, option, include, render, dt_render)
            )

    def _apply_value_writes(
        self,
        book: Spreadsheet,
        plans: list[tuple[Sheet, Bounds, tuple[int, int, int, int], list[list[Any]]]],
        option: str,
        include: bool,
        render: str,
        dt_render: str,
        filters: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        responses = []
        totals = {"rows": 0, "cols": 0, "cells": 0}
        touched: set[int] = set()
        for index, (sheet, bounds, block, rows) in enumerate(plans):
            written = self._store(book, sheet, block[0], block[2], rows, option)
            response = self._update_response(
                book,
                sheet,
                block,
                written,
                include=include,
                render=render,
                dt_render=dt_render,
                requested=bounds,
            )
            response.pop("spreadsheetId", None)
            response = {"spreadsheetId": book.id, **response}
            if filters is not None:
                response["dataFilter"] = filters[index]
            responses.append(response)
            totals["rows"] += response.get("updatedRows", 0)
            totals["cols"] += response.get("updatedColumns", 0)
            totals["cells"] += response.get("updatedCells", 0)
            if written:
                touched.add(sheet.sheet_id)
        self._touch(book)
        out: dict[str, Any] = {"spreadsheetId": book.id}
        if totals["rows"]:
            out.update(
                {
                    "totalUpdatedRows": totals["rows"],
                    "totalUpdatedColumns": totals["cols"],
                    "totalUpdatedCells": totals["cells"],
                    "totalUpdatedSheets": len(touched),
                }
            )
        if responses:
            out["responses"] = responses
        return out

    @staticmethod
    def _prefixed(exc: HTTPError, prefix: str) -> HTTPError:
        body = json.loads(exc.response.body)
        body["error"]["message"] = prefix + body["error"]["message"]
        return HTTPError(Response.json(body, exc.response.status))

    # ------------------------------------------------------------------ data filters

    def _lookup_metadata(
        self,
        book: Spreadsheet,
        lookup: dict[str, Any],
        index: dict[tuple[str, Any], list[DevMeta]] | None = None,
    ) -> list[DevMeta]:
        """Developer metadata matching a DeveloperMetadataLookup (every given field must match)."""
        if not isinstance(lookup, dict) or not lookup:
            raise _fail(
                400, "Invalid dataFilter: developerMetadataLookup must specify at least one field"
            )
        candidates: Iterable[DevMeta] = book.metadata
        if index is not None:
            if "metadataId" in lookup:
                candidates = index.get(("id", lookup["metadataId"]), [])
            elif "metadataKey" in lookup and "metadataValue" in lookup:
                candidates = index.get(("kv", (lookup["metadataKey"], lookup["metadataValue"])), [])
            elif "metadataKey" in lookup:
                candidates = index.get(("k", lookup["metadataKey"]), [])
        location = lookup.get("metadataLocation") or {}
        strategy = lookup.get("locationMatchingStrategy") or "INTERSECTING"
        found = []
        for meta in candidates:
            if "metadataId" in lookup and meta.id != lookup["metadataId"]:
                continue
            if "metadataKey" in lookup and meta.key != lookup["metadataKey"]:
                continue
            if "metadataValue" in lookup and meta.value != lookup["metadataValue"]:
                continue
            if lookup.get("visibility") and meta.visibility != lookup["visibility"]:
                continue
            if lookup.get("locationType") and meta.loc_type != lookup["locationType"]:
                continue
            if location and not self._location_matches(meta, location, strategy):
                continue
            found.append(meta)
        return found

    @staticmethod
    def _location_matches(meta: DevMeta, location: dict[str, Any], strategy: str) -> bool:
        if location.get("spreadsheet"):
            return meta.loc_type == "SPREADSHEET" or strategy == "INTERSECTING"
        if "sheetId" in location and "dimensionRange" not in location:
            return meta.sheet_id == location["sheetId"] and (
                meta.loc_type == "SHEET" or strategy == "INTERSECTING"
            )
        dim = location.get("dimensionRange") or {}
        if meta.sheet_id != int(dim.get("sheetId") or 0) or meta.loc_type not in ("ROW", "COLUMN"):
            return False
        start, end = dim.get("startIndex", 0), dim.get("endIndex", 10**9)
        if strategy == "EXACT_LOCATION":
            return bool(
                meta.dimension == dim.get("dimension") and meta.start == start and meta.end == end
            )
        if meta.dimension == dim.get("dimension"):
            return bool((meta.start or 0) < end and start < (meta.end or 0))
        return True  # a row and a column always intersect

    @staticmethod
    def _metadata_index(book: Spreadsheet) -> dict[tuple[str, Any], list[DevMeta]]:
        index: dict[tuple[str, Any], list[DevMeta]] = {}
        for meta in book.metadata:
            index.setdefault(("id", meta.id), []).append(meta)
            index.setdefault(("k", meta.key), []).append(meta)
            index.setdefault(("kv", (meta.key, meta.value)), []).append(meta)
        return index

    def _filter_ranges(
        self,
        book: Spreadsheet,
        data_filter: Any,
        field: str,
        index: dict[tuple[str, Any], list[DevMeta]] | None = None,
    ) -> list[tuple[Sheet, Bounds]]:
        """The grid ranges a DataFilter selects (a1Range, gridRange or developerMetadataLookup)."""
        if (
            not isinstance(data_filter, dict)
            or len([k for k in data_filter if data_filter[k] is not None]) != 1
        ):
            raise _fail(
                400,
                f"Invalid {field}: a DataFilter must set exactly one of a1Range, gridRange, "
                "developerMetadataLookup",
            )
        if data_filter.get("a1Range") is not None:
            return [self._resolve(book, data_filter["a1Range"])]
        if data_filter.get("gridRange") is not None:
            grid = data_filter["gridRange"]
            sheet = book.sheet_by_id(int(grid.get("sheetId") or 0))
            if sheet is None:
                raise _fail(400, f"Invalid {field}: No grid with id: {grid.get('sheetId') or 0}")
            return [(sheet, Bounds.from_grid_range(grid))]
        if data_filter.get("developerMetadataLookup") is not None:
            out = []
            for meta in self._lookup_metadata(book, data_filter["developerMetadataLookup"], index):
                sheet = book.sheet_by_id(meta.sheet_id or 0) if meta.sheet_id is not None else None
                if sheet is None:
                    continue
                if meta.loc_type == "ROW":
                    out.append((sheet, Bounds(meta.start, meta.end, None, None)))
                elif meta.loc_type == "COLUMN":
                    out.append((sheet, Bounds(None, None, meta.start, meta.end)))
                elif meta.loc_type == "SHEET":
                    out.append((sheet, Bounds()))
            return out
        raise _fail(400, f"Invalid {field}: unsupported DataFilter")

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchGetByDataFilter", kind="read")
    def values_batch_get_by_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        render, dt_render, major = self._read_options(body.get)
        with self.lock:
            book = self._book(request, sid)
            index = self._metadata_index(book)
            matched = []
            for i, data_filter in enumerate(body.get("dataFilters") or []):
                for sheet, bounds in self._filter_ranges(
                    book, data_filter, f"dataFilters[{i}]", index
                ):
                    value_range = self._value_range(
                        book, sheet, bounds, render=render, dt_render=dt_render, major=major
                    )
                    matched.append({"valueRange": value_range, "dataFilters": [data_filter]})
            out: dict[str, Any] = {"spreadsheetId": book.id}
            if matched:
                out["valueRanges"] = matched
            return self._reply(request, out)

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchUpdateByDataFilter", kind="write")
    def values_batch_update_by_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        option = self._write_options(body.get)
        include, render, dt_render = self._response_options(body.get)
        with self.lock:
            book = self._book(request, sid, write=True)
            caller = self._caller(request)
            index = self._metadata_index(book)
            plans, filters = [], []
            for i, item in enumerate(body.get("data") or []):
                major = self._enum(
                    item.get("majorDimension"),
                    DIMENSIONS,
                    f"data[{i}].major_dimension",
                    "TYPE_ENUM",
                    "ROWS",
                )
                rows = self._cells_of(item.get("values"), major, f"data[{i}].values")
                # "If the provided values exceed any of the ranges matched by the data
                # filter then the request fails" (DataFilterValueRange); a filter that
                # matches nothing writes nothing.
                for sheet, bounds in self._filter_ranges(
                    book, item.get("dataFilter"), f"data[{i}].dataFilter", index
                ):
                    text = format_range(
                        sheet.title, *bounds.clip(sheet.row_count, sheet.column_count)
                    )
                    try:
                        block = self._plan_write(book, sheet, bounds, rows, text, caller=caller)
                    except HTTPError as exc:
                        raise self._prefixed(exc, f"Invalid data[{i}]: ") from None
                    plans.append((sheet, bounds, block, rows))
                    filters.append(item.get("dataFilter"))
            return self._reply(
                request,
                self._apply_value_writes(book, plans, option, include, render, dt_render, filters),
            )

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/values:batchClearByDataFilter", kind="write")
    def values_batch_clear_by_filter(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid, write=True)
            index = self._metadata_index(book)
            targets = []
            for i, data_filter in enumerate(body.get("dataFilters") or []):
                targets += self._filter_ranges(book, data_filter, f"dataFilters[{i}]", index)
            cleared = [
                self._clear(book, sheet, bounds, sheet.title, self._caller(request))
                for sheet, bounds in targets
            ]
            self._touch(book)
            out: dict[str, Any] = {"spreadsheetId": book.id}
            if cleared:
                out["clearedRanges"] = cleared
            return self._reply(request, out)

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+)/developerMetadata:search", kind="read")
    def developer_metadata_search(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._book(request, sid)
            index = self._metadata_index(book)
            matched: dict[int, dict[str, Any]] = {}
            for i, data_filter in enumerate(body.get("dataFilters") or []):
                for meta in self._metadata_for_filter(
                    book, data_filter, f"dataFilters[{i}]", index
                ):
                    entry = matched.setdefault(
                        meta.id, {"developerMetadata": meta.as_json(), "dataFilters": []}
                    )
                    entry["dataFilters"].append(data_filter)
            out = {"matchedDeveloperMetadata": list(matched.values())} if matched else {}
            return self._reply(request, out)

    def _metadata_for_filter(
        self,
        book: Spreadsheet,
        data_filter: Any,
        field: str,
        index: dict[tuple[str, Any], list[DevMeta]] | None = None,
    ) -> list[DevMeta]:
        if isinstance(data_filter, dict) and data_filter.get("developerMetadataLookup") is not None:
            return self._lookup_metadata(book, data_filter["developerMetadataLookup"], index)
        found = []
        for sheet, bounds in self._filter_ranges(book, data_filter, field):
            r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
            for meta in book.metadata:
                if meta.sheet_id != sheet.sheet_id:
                    continue
                if (meta.loc_type == "ROW" and (meta.start or 0) < r1 and r0 < (meta.end or 0)) or (
                    meta.loc_type == "COLUMN" and (meta.start or 0) < c1 and c0 < (meta.end or 0)
                ):
                    found.append(meta)
        return found

    @route("GET", r"/v4/spreadsheets/(?P<sid>[^/:]+)/developerMetadata/(?P<mid>-?\d+)", kind="read")
    def developer_metadata_get(self, request: Request, sid: str, mid: str) -> Response:
        with self.lock:
            book = self._book(request, sid)
            for meta in book.metadata:
                if meta.id == int(mid):
                    return self._reply(request, meta.as_json())
            raise _fail(404, f"No developer metadata with ID: {mid}")

    # ------------------------------------------------------------------ :batchUpdate

    @route("POST", r"/v4/spreadsheets/(?P<sid>[^/:]+):batchUpdate", kind="write")
    def batch_update(self, request: Request, sid: str) -> Response:
        body = self._body(request)
        raw = body.get("requests")
        if not raw:
            raise _fail(400, "Must specify at least one request.")
        # gspread-formatting's batch_updater sends a list of lists of requests;
        # that library works against the real API, so nested lists are flattened.
        flat: list[Any] = []
        for item in raw:
            flat.extend(item if isinstance(item, list) else [item])
        with self.lock:
            book = self._book(request, sid, write=True)
            caller = self._caller(request)
            work = (
                book.clone()
            )  # all or nothing: apply on a copy, commit when every request succeeded
            replies = []
            for i, req in enumerate(flat):
                replies.append(self._apply_request(work, req, i, caller))
            self.spreadsheets[sid] = work
            self._touch(work)
            out: dict[str, Any] = {"spreadsheetId": sid, "replies": replies}
            if _flag(body.get("includeSpreadsheetInResponse")):
                ranges = body.get("responseRanges") or []
                grid = [self._resolve(work, t) for t in ranges] if ranges else None
                out["updatedSpreadsheet"] = self._metadata(
                    work,
                    caller,
                    grid_ranges=grid,
                    include_grid=_flag(body.get("responseIncludeGridData")),
                )
            return self._reply(request, out)

    def _apply_request(self, book: Spreadsheet, req: Any, i: int, caller: str) -> dict[str, Any]:
        if not isinstance(req, dict) or not any(v is not None for v in req.values()):
            raise _fail(400, f"Invalid requests[{i}]: No request set.")
        kinds = [k for k, v in req.items() if v is not None]
        for kind in kinds:
            if kind not in REQUEST_KINDS:
                raise _bad_field(
                    f"requests[{i}]",
                    f"Invalid JSON payload received. Unknown name "
                    f"\"{kind}\" at 'requests[{i}]': Cannot find field.",
                )
        if len(kinds) > 1:
            raise _fail(
                400,
                f"Invalid requests[{i}]: Only one kind of request may be set, "
                f"got {', '.join(kinds)}.",
            )
        kind = kinds[0]
        payload = req[kind]
        handler = getattr(self, f"_req_{kind}", None)
        try:
            if not isinstance(payload, dict):
                raise _Invalid("expected an object")
            if handler is None:
                if kind in NO_OP_REQUESTS:
                    return {}
                raise _Invalid("this request kind is not emulated by the sheetledger sandbox")
            return handler(book, payload, caller) or {}
        except _Invalid as exc:
            raise _fail(400, f"Invalid requests[{i}].{kind}: {exc}") from None
        except ValueError as exc:  # a malformed field mask or A1 range inside the request
            raise _fail(400, f"Invalid requests[{i}].{kind}: {exc}") from None

    @staticmethod
    def _mask(payload: dict[str, Any]) -> dict[str, Any]:
        fields = payload.get("fields")
        if not fields:
            raise _Invalid(
                "At least one field must be listed in 'fields'. (Use '*' to indicate all fields.)"
            )
        return parse_mask(fields)

    # -- sheets -----------------------------------------------------------------------

    def _check_title(self, book: Spreadsheet, title: str, sheet: Sheet | None = None) -> None:
        if not title or not title.strip():
            raise _Invalid("The sheet name cannot be empty.")
        for other in book.sheets:
            if other is not sheet and other.title.lower() == title.lower():
                raise _Invalid(
                    f'A sheet with the name "{title}" already exists. Please enter another name.'
                )

    def _check_cells_limit(self, book: Spreadsheet) -> None:
        total = sum(s.row_count * s.column_count for s in book.sheets)
        if total > 10_000_000:
            raise _Invalid(
                "This action would increase the number of cells in the workbook above the "
                "limit of 10000000 cells."
            )

    def _req_addSheet(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> dict[str, Any]:
        props = p.get("properties") or {}
        title = props.get("title")
        if not title:
            n = len(book.sheets) + 1
            while book.sheet_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        self._check_title(book, title)
        sheet_id = props.get("sheetId")
        if sheet_id is not None and book.sheet_by_id(int(sheet_id)):
            raise _Invalid(f"A sheet with the id {sheet_id} already exists.")
        grid = props.get("gridProperties") or {}
        sheet = Sheet(
            int(sheet_id) if sheet_id is not None else self._new_id(),
            title,
            int(grid.get("rowCount") or 1000),
            int(grid.get("columnCount") or 26),
        )
        self._apply_sheet_properties(book, sheet, {**props, "title": title}, adding=True)
        index = props.get("index")
        book.sheets.insert(
            len(book.sheets) if index is None else min(int(index), len(book.sheets)), sheet
        )
        self._check_cells_limit(book)
        return {"addSheet": {"properties": self._sheet_properties(book, sheet)}}

    def _apply_sheet_properties(
        self, book: Spreadsheet, sheet: Sheet, props: dict[str, Any], *, adding: bool = False
    ) -> None:
        grid = props.get("gridProperties") or {}
        if not adding:
            title = props.get("title") or sheet.title
            if title != sheet.title:
                self._check_title(book, title, sheet)
                sheet.title = title
            rows, cols = grid.get("rowCount"), grid.get("columnCount")
            # Google resizes rows before columns (reference §4.1, gspread-dataframe#37).
            if rows is not None and int(rows) != sheet.row_count:
                self._resize(book, sheet, "ROWS", int(rows))
            if cols is not None and int(cols) != sheet.column_count:
                self._resize(book, sheet, "COLUMNS", int(cols))
            if "index" in props and props["index"] is not None:
                book.sheets.remove(sheet)
                book.sheets.insert(min(int(props["index"]), len(book.sheets)), sheet)
        sheet.frozen_rows = int(grid.get("frozenRowCount") or 0)
        sheet.frozen_cols = int(grid.get("frozenColumnCount") or 0)
        if sheet.frozen_rows >= sheet.row_count and sheet.frozen_rows:
            raise _Invalid("You can't freeze all visible rows on the sheet.")
        sheet.hidden = bool(props.get("hidden"))
        if sheet.hidden and not adding and all(s.hidden for s in book.sheets):
            raise _Invalid("You can't hide all the sheets in a document.")
        extra_grid = {
            k: v
            for k, v in grid.items()
            if k not in ("rowCount", "columnCount", "frozenRowCount", "frozenColumnCount")
            and v is not None
        }
        extras = {k: v for k, v in sheet.extra_properties.items() if k.startswith("_")}
        extras.update(
            {
                k: copy.deepcopy(v)
                for k, v in props.items()
                if k in ("tabColor", "tabColorStyle", "rightToLeft") and v is not None
            }
        )
        if extra_grid:
            extras["gridProperties"] = extra_grid
        sheet.extra_properties = extras

    def _resize(self, book: Spreadsheet, sheet: Sheet, dim: str, size: int) -> None:
        if size < 1:
            raise _Invalid(
                f"Invalid {'rowCount' if dim == 'ROWS' else 'columnCount'}: must be at least 1"
            )
        current = sheet.row_count if dim == "ROWS" else sheet.column_count
        if size > current:
            self._insert_dimension(book, sheet, dim, current, size - current, inherit_before=True)
        else:
            self._delete_dimension(book, sheet, dim, size, current)

    def _req_updateSheetProperties(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        props = p.get("properties") or {}
        sheet = book.sheet_by_id(int(props.get("sheetId") or 0))
        if sheet is None:
            raise _Invalid(f"No grid with id: {props.get('sheetId') or 0}")
        merged = apply_mask(self._sheet_properties(book, sheet), props, tree)
        self._apply_sheet_properties(book, sheet, merged)
        self._check_cells_limit(book)

    def _req_updateSpreadsheetProperties(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> None:
        tree = self._mask(p)
        current = {"title": book.title, "locale": book.locale, "timeZone": book.time_zone}
        merged = apply_mask(current, p.get("properties") or {}, tree)
        book.title = merged.get("title") or book.title
        book.locale = merged.get("locale") or book.locale
        book.time_zone = merged.get("timeZone") or book.time_zone

    def _req_deleteSheet(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet = book.sheet_by_id(int(p.get("sheetId") or 0))
        if sheet is None:
            raise _Invalid(f"No grid with id: {p.get('sheetId') or 0}")
        if len(book.sheets) == 1 or all(s.hidden for s in book.sheets if s is not sheet):
            raise _Invalid("You can't remove all the sheets in a document.")
        book.sheets.remove(sheet)
        book.metadata = [m for m in book.metadata if m.sheet_id != sheet.sheet_id]
        book.named_ranges = [
            n for n in book.named_ranges if int(n["range"].get("sheetId") or 0) != sheet.sheet_id
        ]

    def _req_duplicateSheet(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        source = book.sheet_by_id(int(p.get("sourceSheetId") or 0))
        if source is None:
            raise _Invalid(f"No grid with id: {p.get('sourceSheetId') or 0}")
        twin = source.clone()
        twin.sheet_id = int(p["newSheetId"]) if p.get("newSheetId") is not None else self._new_id()
        if book.sheet_by_id(twin.sheet_id) is not None and twin.sheet_id != source.sheet_id:
            raise _Invalid(f"A sheet with the id {twin.sheet_id} already exists.")
        twin.title = p.get("newSheetName") or f"Copy of {source.title}"
        self._check_title(book, twin.title)
        for protected in twin.protected_ranges:
            protected["protectedRangeId"] = self._new_id()
            protected["range"]["sheetId"] = twin.sheet_id
        index = p.get("insertSheetIndex")
        book.sheets.insert(len(book.sheets) if index is None else int(index), twin)
        return {"duplicateSheet": {"properties": self._sheet_properties(book, twin)}}

    # -- cells ------------------------------------------------------------------------

    _DERIVED = ("userEnteredValue", "effectiveValue", "formattedValue", "effectiveFormat")

    def _from_extended(self, value: Any, locale: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _Invalid("userEnteredValue must be an ExtendedValue object")
        if "numberValue" in value:
            return _number(value["numberValue"])
        if "boolValue" in value:
            return bool(value["boolValue"])
        if "stringValue" in value:
            return value["stringValue"] or None
        if "formulaValue" in value:
            text = str(value["formulaValue"])
            return Formula(text) if text.startswith("=") else parse_user_entered(text, locale)[0]
        if "errorValue" in value:
            raise _Invalid("errorValue cannot be set")
        return None

    def _apply_cell(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        r: int,
        c: int,
        cell: dict[str, Any],
        tree: dict[str, Any],
        cache: dict[int, tuple[Any, Any]],
    ) -> None:
        everything = "*" in tree
        if everything or "userEnteredValue" in tree:
            sheet.set_value(r, c, self._from_extended(cell.get("userEnteredValue"), book.locale))
        old = sheet.extra(r, c)
        key = id(old) if old is not None else 0
        hit = cache.get(key)
        if hit is not None and hit[0] is old:
            sheet.set_extra(r, c, hit[1])
            return
        if everything:
            new = {
                k: copy.deepcopy(v)
                for k, v in cell.items()
                if k not in self._DERIVED and v is not None
            }
        else:
            sub = {k: v for k, v in tree.items() if k not in self._DERIVED}
            new = apply_mask(old or {}, cell, sub) if sub else dict(old or {})
        kept = {k: v for k, v in new.items() if v not in (None, {})} or None
        cache[key] = (old, kept)
        sheet.set_extra(r, c, kept)

    def _req_repeatCell(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        cell = p.get("cell") or {}
        if "userEnteredValue" in tree or "*" in tree:
            self._check_protection_invalid(book, sheet, r0, r1, c0, c1, caller)
        cache: dict[int, tuple[Any, Any]] = {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._apply_cell(book, sheet, r, c, cell, tree, cache)

    def _check_protection_invalid(
        self, book: Spreadsheet, sheet: Sheet, r0: int, r1: int, c0: int, c1: int, caller: str
    ) -> None:
        try:
            self._check_protection(book, sheet, r0, r1, c0, c1, caller)
        except HTTPError:
            raise _Invalid(PROTECTED) from None

    def _req_updateCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        rows = p.get("rows") or []
        if isinstance(rows, dict):  # Google's own pivot sample sends "rows": {"values": ...}
            rows = [rows]

        def row_values(row: Any) -> list[dict[str, Any]]:
            values = (row or {}).get("values") or []
            return [values] if isinstance(values, dict) else values

        cache: dict[int, tuple[Any, Any]] = {}
        if p.get("start") is not None:
            start = p["start"]
            sheet = self._grid_sheet(book, {"sheetId": start.get("sheetId")})
            r0, c0 = int(start.get("rowIndex") or 0), int(start.get("columnIndex") or 0)
            width = max((len(row_values(row)) for row in rows), default=0)
            if r0 + len(rows) > sheet.row_count or c0 + width > sheet.column_count:
                raise _Invalid(
                    f"Range ('{sheet.title}'!{column_letters(c0)}{r0 + 1}) exceeds grid "
                    f"limits. Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
                )
            if "userEnteredValue" in tree or "*" in tree:
                self._check_protection_invalid(
                    book, sheet, r0, r0 + len(rows), c0, c0 + width, caller
                )
            for i, row in enumerate(rows):
                for j, cell in enumerate(row_values(row)):
                    self._apply_cell(book, sheet, r0 + i, c0 + j, cell or {}, tree, cache)
        elif p.get("range") is not None:
            grid = p["range"]
            sheet = self._grid_sheet(book, grid)
            r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
            if "userEnteredValue" in tree or "*" in tree:
                self._check_protection_invalid(book, sheet, r0, r1, c0, c1, caller)
            for r in range(r0, r1):
                values = row_values(rows[r - r0]) if r - r0 < len(rows) else []
                for c in range(c0, c1):
                    cell = values[c - c0] if c - c0 < len(values) else {}
                    self._apply_cell(book, sheet, r, c, cell or {}, tree, {})
        else:
            raise _Invalid("Either 'start' or 'range' must be set.")

    def _req_appendCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        """Google: "Appends new cells after the last row with data in a sheet, inserting new
        rows into the sheet if necessary" (AppendCellsRequest). The end is found inside the
        request, so a row a person typed below the table (in any column) is never written over.
        """
        if not p.get("fields"):
            raise _Invalid("At least one field must be specified in 'fields'.")
        sheet = self._grid_sheet(book, {"sheetId": p.get("sheetId")})
        rows = p.get("rows") or []
        if isinstance(rows, dict):
            rows = [rows]
        start = sheet.last_used_row()
        width = max((len((row or {}).get("values") or []) for row in rows), default=0)
        if width > sheet.column_count:
            raise _Invalid(
                f"Range ('{sheet.title}'!A{start + 1}) exceeds grid limits. "
                f"Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
            )
        missing = start + len(rows) - sheet.row_count
        if missing > 0:
            sheet.insert_rows(sheet.row_count, missing, inherit_from=None)
        update = {"start": {"sheetId": sheet.sheet_id, "rowIndex": start, "columnIndex": 0}}
        self._req_updateCells(book, update | {"rows": rows, "fields": p["fields"]}, caller)

    def _req_setDataValidation(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        rule = p.get("rule")
        if rule is not None:
            rule = self._validation_rule(rule)
        r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        cell = {"dataValidation": rule} if rule else {}
        tree: dict[str, Any] = {"dataValidation": {}}
        cache: dict[int, tuple[Any, Any]] = {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._apply_cell(book, sheet, r, c, cell, tree, cache)

    @staticmethod
    def _validation_rule(rule: Any) -> dict[str, Any]:
        if not isinstance(rule, dict):
            raise _Invalid("rule must be a DataValidationRule")
        condition = rule.get("condition") or {}
        kind = condition.get("type")
        if kind not in VALIDATION_TYPES:
            raise _Invalid(f"Invalid ConditionType: {kind}")
        values = [v for v in condition.get("values") or [] if v is not None]
        if kind == "ONE_OF_LIST" and not values:
            raise _Invalid("ONE_OF_LIST condition requires at least one value")
        if kind == "BOOLEAN" and len(values) > 2:
            raise _Invalid("BOOLEAN condition accepts at most two values")
        if kind == "ONE_OF_RANGE" and len(values) != 1:
            raise _Invalid("ONE_OF_RANGE condition requires exactly one value")
        clean: dict[str, Any] = {"condition": {"type": kind}}
        if values:
            clean["condition"]["values"] = copy.deepcopy(values)
        for key in ("inputMessage", "strict", "showCustomUi"):
            if rule.get(key):  # proto3: false / empty are not stored
                clean[key] = rule[key]
        return clean

    # -- protection, names, metadata -------------------------------------------------

    def _req_addProtectedRange(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        wanted = p.get("protectedRange") or {}
        grid = wanted.get("range")
        if wanted.get("namedRangeId"):
            named = [n for n in book.named_ranges if n["namedRangeId"] == wanted["namedRangeId"]]
            if not named:
                raise _Invalid(f"No named range with id: {wanted['namedRangeId']}")
            grid = named[0]["range"]
        if grid is None:
            raise _Invalid("A protected range must have a range or a named range.")
        sheet = self._grid_sheet(book, grid)
        pid = wanted.get("protectedRangeId") or self._new_id()
        editors_in = wanted.get("editors") or {}
        users = list(editors_in.get("users") or [])
        # The requesting user (and the owner) stay editors: reply echoes what was
        # sent, the stored one lists them (fixture: editors {} -> users [the SA]).
        for who in (caller, book.owner):
            if who not in users:
                users.append(who)
        stored: dict[str, Any] = {
            "protectedRangeId": int(pid),
            "range": {**grid, "sheetId": sheet.sheet_id},
            "description": wanted.get("description"),
            "warningOnly": bool(wanted.get("warningOnly")),
            "editors": {**{k: v for k, v in editors_in.items() if v}, "users": users},
            "unprotectedRanges": copy.deepcopy(wanted.get("unprotectedRanges") or []),
        }
        if wanted.get("namedRangeId"):
            stored["namedRangeId"] = wanted["namedRangeId"]
        sheet.protected_ranges.append(stored)
        reply: dict[str, Any] = {
            "protectedRangeId": stored["protectedRangeId"],
            "range": _grid_json(grid),
        }
        if stored.get("namedRangeId"):
            reply["namedRangeId"] = stored["namedRangeId"]
        if stored["description"]:
            reply["description"] = stored["description"]
        if stored["warningOnly"]:
            reply["warningOnly"] = True
        reply["requestingUserCanEdit"] = True
        reply["editors"] = {k: v for k, v in editors_in.items() if v}
        if stored["unprotectedRanges"]:
            reply["unprotectedRanges"] = [_grid_json(g) for g in stored["unprotectedRanges"]]
        return {"addProtectedRange": {"protectedRange": reply}}

    def _find_protected(self, book: Spreadsheet, pid: Any) -> tuple[Sheet, dict[str, Any]]:
        for sheet in book.sheets:
            for protected in sheet.protected_ranges:
                if protected["protectedRangeId"] == int(pid or 0):
                    return sheet, protected
        raise _Invalid(f"No protected range with id: {pid}")

    def _req_updateProtectedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        wanted = p.get("protectedRange") or {}
        sheet, protected = self._find_protected(book, wanted.get("protectedRangeId"))
        merged = apply_mask(protected, wanted, tree)
        merged["protectedRangeId"] = protected["protectedRangeId"]
        target = self._grid_sheet(book, merged["range"])
        merged["range"] = {**merged["range"], "sheetId": target.sheet_id}
        sheet.protected_ranges.remove(protected)
        target.protected_ranges.append(merged)

    def _req_deleteProtectedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, protected = self._find_protected(book, p.get("protectedRangeId"))
        sheet.protected_ranges.remove(protected)

    def _check_name(self, book: Spreadsheet, name: Any, skip: dict[str, Any] | None = None) -> None:
        if (
            not isinstance(name, str)
            or not re.fullmatch(r"[A-Za-z_\\][A-Za-z0-9_.]*", name)
            or is_cell_reference(name)
            or name.upper() in ("TRUE", "FALSE")
        ):
            raise _Invalid(
                f"The name '{name}' is not valid. Names must start with a letter or "
                "underscore, contain only letters, numbers, periods and underscores, "
                "and must not look like a cell reference."
            )
        for other in book.named_ranges:
            if other is not skip and other["name"].lower() == name.lower():
                raise _Invalid(f"Named range with name '{name}' already exists.")

    def _req_addNamedRange(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        wanted = p.get("namedRange") or {}
        self._check_name(book, wanted.get("name"))
        grid = wanted.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        named = {
            "namedRangeId": str(wanted.get("namedRangeId") or self._new_id()),
            "name": wanted["name"],
            "range": {**grid, "sheetId": sheet.sheet_id},
        }
        book.named_ranges.append(named)
        return {
            "addNamedRange": {
                "namedRange": {
                    "namedRangeId": named["namedRangeId"],
                    "name": named["name"],
                    "range": _grid_json(grid),
                }
            }
        }

    def _find_named(self, book: Spreadsheet, nid: Any) -> dict[str, Any]:
        for named in book.named_ranges:
            if named["namedRangeId"] == str(nid):
                return named
        raise _Invalid(f"No named range with id: {nid}")

    def _req_updateNamedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        tree = self._mask(p)
        wanted = p.get("namedRange") or {}
        named = self._find_named(book, wanted.get("namedRangeId"))
        merged = apply_mask(named, wanted, tree)
        if merged.get("name") != named["name"]:
            self._check_name(book, merged.get("name"), skip=named)
        sheet = self._grid_sheet(book, merged.get("range") or {})
        named.update(
            {"name": merged["name"], "range": {**merged["range"], "sheetId": sheet.sheet_id}}
        )

    def _req_deleteNamedRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        book.named_ranges.remove(self._find_named(book, p.get("namedRangeId")))

    def _metadata_from_json(self, book: Spreadsheet, data: dict[str, Any], mid: int) -> DevMeta:
        key = data.get("metadataKey")
        if not key:
            raise _Invalid("Developer metadata must always have a key specified.")
        visibility = data.get("visibility")
        if visibility not in ("DOCUMENT", "PROJECT"):
            raise _Invalid("Developer metadata must always have a visibility specified.")
        location = data.get("location") or {}
        value = data.get("metadataValue")
        if location.get("spreadsheet"):
            return DevMeta(mid, key, value, visibility, "SPREADSHEET")
        if location.get("sheetId") is not None:
            sheet = self._grid_sheet(book, {"sheetId": location["sheetId"]})
            return DevMeta(mid, key, value, visibility, "SHEET", sheet.sheet_id)
        dim = location.get("dimensionRange")
        if dim:
            sheet = self._grid_sheet(book, dim)
            dimension = dim.get("dimension")
            start, end = dim.get("startIndex"), dim.get("endIndex")
            if dimension not in DIMENSIONS or start is None or end is None or end - start != 1:
                raise _Invalid(
                    "The specified DimensionRange must represent a single row or column; "
                    "it cannot be unbounded or span multiple rows or columns."
                )
            limit = sheet.row_count if dimension == "ROWS" else sheet.column_count
            if end > limit or start < 0:
                raise _Invalid(f"Range ('{sheet.title}') exceeds grid limits.")
            return DevMeta(
                mid,
                key,
                value,
                visibility,
                "ROW" if dimension == "ROWS" else "COLUMN",
                sheet.sheet_id,
                dimension,
                int(start),
                int(end),
            )
        raise _Invalid("Developer metadata must always have a location specified.")

    def _req_createDeveloperMetadata(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        data = p.get("developerMetadata") or {}
        mid = data.get("metadataId")
        # The set of ids taken is built once per batch (a first import tags ~30,000 rows).
        taken = book.metadata_ids
        if taken is None or len(taken) != len(book.metadata):
            taken = {m.id for m in book.metadata}
        if mid is not None:
            if int(mid) <= 0:
                raise _Invalid("metadataId must be positive.")
            if int(mid) in taken:
                raise _Invalid(f"Developer metadata with ID {mid} already exists.")
        else:
            mid = self._new_id()
            while mid in taken:
                mid = self._new_id()
        meta = self._metadata_from_json(book, data, int(mid))
        book.metadata.append(meta)
        taken.add(meta.id)
        book.metadata_ids = taken
        return {"createDeveloperMetadata": {"developerMetadata": meta.as_json()}}

    def _req_updateDeveloperMetadata(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        tree = self._mask(p)
        changes = p.get("developerMetadata") or {}
        updated = []
        for data_filter in p.get("dataFilters") or []:
            for meta in self._metadata_for_filter(book, data_filter, "dataFilters"):
                merged = apply_mask(meta.as_json(), changes, tree)
                fresh = self._metadata_from_json(book, merged, meta.id)
                book.metadata[book.metadata.index(meta)] = fresh
                updated.append(fresh.as_json())
        return {"updateDeveloperMetadata": {"developerMetadata": updated}}

    def _req_deleteDeveloperMetadata(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        doomed = self._metadata_for_filter(book, p.get("dataFilter"), "dataFilter")
        gone = {id(m) for m in doomed}
        book.metadata = [m for m in book.metadata if id(m) not in gone]
        deleted = [m.as_json() for m in doomed]
        return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": deleted} if deleted else {}}

    # -- dimensions -------------------------------------------------------------------

    def _dimension_target(
        self, book: Spreadsheet, dim_range: Any
    ) -> tuple[Sheet, str, int, int | None]:
        if not isinstance(dim_range, dict):
            raise _Invalid("range must be a DimensionRange")
        sheet = self._grid_sheet(book, dim_range)
        dimension = dim_range.get("dimension")
        if dimension not in DIMENSIONS:
            raise _Invalid("dimension must be ROWS or COLUMNS")
        start = int(dim_range.get("startIndex") or 0)
        end = dim_range.get("endIndex")
        return sheet, dimension, start, None if end is None else int(end)

    def _req_insertDimension(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, dim, start, end = self._dimension_target(book, p.get("range"))
        limit = sheet.row_count if dim == "ROWS" else sheet.column_count
        if end is None or end <= start:
            raise _Invalid("The range must have a positive length (endIndex > startIndex).")
        if start > limit:
            raise _Invalid(
                f"Cannot insert at index {start}: the sheet has only {limit} "
                f"{'rows' if dim == 'ROWS' else 'columns'}."
            )
        inherit = _flag(p.get("inheritFromBefore"))
        if inherit and start == 0:
            raise _Invalid("Cannot inherit properties from before when inserting at index 0.")
        self._insert_dimension(book, sheet, dim, start, end - start, inherit_before=inherit)
        self._check_cells_limit(book)

    def _req_appendDimension(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet = self._grid_sheet(book, {"sheetId": p.get("sheetId")})
        dim = p.get("dimension")
        length = int(p.get("length") or 0)
        if dim not in DIMENSIONS or length < 1:
            raise _Invalid("appendDimension needs a dimension and a positive length.")
        at = sheet.row_count if dim == "ROWS" else sheet.column_count
        self._insert_dimension(book, sheet, dim, at, length, inherit_before=True)
        self._check_cells_limit(book)

    def _req_deleteDimension(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, dim, start, end = self._dimension_target(book, p.get("range"))
        limit = sheet.row_count if dim == "ROWS" else sheet.column_count
        end = limit if end is None else min(end, limit)
        if end <= start:
            raise _Invalid("The range must have a positive length (endIndex > startIndex).")
        if start == 0 and end >= limit:
            noun = "rows" if dim == "ROWS" else "columns"
            raise _Invalid(f"You can't delete all the {noun} on the sheet.")
        self._delete_dimension(book, sheet, dim, start, end)

    def _req_updateDimensionProperties(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> None:
        tree = self._mask(p)
        sheet, dim, start, end = self._dimension_target(book, p.get("range"))
        limit = sheet.row_count if dim == "ROWS" else sheet.column_count
        end = limit if end is None else min(end, limit)
        wanted = {
            k: v
            for k, v in (p.get("properties") or {}).items()
            if k in ("pixelSize", "hiddenByUser")
        }
        store = sheet.row_props if dim == "ROWS" else sheet.col_props
        for index in range(start, end):
            merged = apply_mask(store.get(index, {}), wanted, tree)
            merged = {k: v for k, v in merged.items() if k in ("pixelSize", "hiddenByUser") and v}
            if merged:
                store[index] = merged
            else:
                store.pop(index, None)

    def _insert_dimension(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        dim: str,
        at: int,
        count: int,
        *,
        inherit_before: bool,
    ) -> None:
        """Insert rows/columns and move everything anchored below/right of them, like Google."""
        if dim == "ROWS":
            source = at - 1 if inherit_before else (at if at < sheet.row_count else None)
            sheet.insert_rows(at, count, source)
            if sheet.frozen_rows > at:
                sheet.frozen_rows += count
        else:
            source = at - 1 if inherit_before else (at if at < sheet.column_count else None)
            sheet.insert_cols(at, count, source)
            if sheet.frozen_cols > at:
                sheet.frozen_cols += count
        self._shift_objects(
            book, sheet, dim, lambda v, is_end: shift_on_insert(v, at, count, is_end=is_end)
        )

    def _delete_dimension(
        self, book: Spreadsheet, sheet: Sheet, dim: str, start: int, end: int
    ) -> None:
        if dim == "ROWS":
            sheet.delete_rows(start, end)
            sheet.frozen_rows = shift_on_delete(sheet.frozen_rows, start, end) or 0
        else:
            sheet.delete_cols(start, end)
            sheet.frozen_cols = shift_on_delete(sheet.frozen_cols, start, end) or 0
        self._shift_objects(book, sheet, dim, lambda v, is_end: shift_on_delete(v, start, end))

    def _shift_objects(
        self,
        book: Spreadsheet,
        sheet: Sheet,
        dim: str,
        move: Callable[[int | None, bool], int | None],
    ) -> None:
        """Protected/named ranges, charts, filters and row/column metadata follow the cells."""
        keys = (
            ("startRowIndex", "endRowIndex")
            if dim == "ROWS"
            else ("startColumnIndex", "endColumnIndex")
        )

        def shift(grid: dict[str, Any]) -> bool:
            """Move one GridRange; False when it vanished (all its rows/columns deleted)."""
            if int(grid.get("sheetId") or 0) != sheet.sheet_id:
                return True
            start, end = grid.get(keys[0]), grid.get(keys[1])
            new_start, new_end = move(start, False), move(end, True)
            if new_start is not None:
                grid[keys[0]] = new_start
            if new_end is not None:
                grid[keys[1]] = new_end
            return not (new_start is not None and new_end is not None and new_end <= new_start)

        kept = []
        for protected in sheet.protected_ranges:
            protected["range"].setdefault("sheetId", sheet.sheet_id)
            if shift(protected["range"]):
                for hole in protected.get("unprotectedRanges") or []:
                    hole.setdefault("sheetId", sheet.sheet_id)
                    shift(hole)
                kept.append(protected)
        sheet.protected_ranges = kept
        book.named_ranges = [n for n in book.named_ranges if shift(n["range"])]
        for other in book.sheets:
            for grid in _walk_grid_ranges(
                [
                    other.charts,
                    {k: v for k, v in other.extra_properties.items() if k.startswith("_")},
                ]
            ):
                shift(grid)
        loc = "ROW" if dim == "ROWS" else "COLUMN"
        kept_meta = []
        for meta in book.metadata:
            if meta.loc_type == loc and meta.sheet_id == sheet.sheet_id:
                meta.start, meta.end = move(meta.start, False), move(meta.end, True)
                if meta.start is not None and meta.end is not None and meta.end <= meta.start:
                    continue  # "If the associated object is deleted its metadata is deleted too."
            kept_meta.append(meta)
        book.metadata = kept_meta

    def _req_sortRange(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        specs = p.get("sortSpecs") or []
        if not specs:
            raise _Invalid("At least one sort spec is required.")
        self._sort(book, sheet, Bounds.from_grid_range(grid), specs)

    def _sort(
        self, book: Spreadsheet, sheet: Sheet, bounds: Bounds, specs: list[dict[str, Any]]
    ) -> None:
        """Reorder rows by the specs; whole-width sorts carry formats and row metadata along.

        Whether Google moves ROW developer metadata on a sort is undocumented
        (reference §6); the emulator moves it with the row when the sort spans the
        whole width (a person's "sort sheet"), which is what the design relies on.
        """
        r0, r1, c0, c1 = bounds.clip(sheet.row_count, sheet.column_count)
        r1 = min(r1, len(sheet.cells))
        if r1 - r0 < 2:
            return

        def value(r: int, c: int) -> Any:
            try:
                return sheet.computed(r, c)
            except FormulaError as exc:
                return exc.code

        columns = []
        for spec in specs:
            index = spec.get("dimensionIndex")
            if index is None or not c0 <= int(index) < c1:
                raise _Invalid("The sort column must be within the sort range.")
            columns.append((int(index), spec.get("sortOrder") == "DESCENDING"))
        order = sorted(
            range(r0, r1), key=lambda r: tuple(_sort_key(value(r, c), d) for c, d in columns)
        )
        whole = c0 == 0 and c1 >= sheet.column_count
        if whole:
            sheet.cells[r0:r1] = [sheet.cells[r] for r in order]
            sheet.extras[r0:r1] = [sheet.extras[r] for r in order]
            new_index = {old: r0 + pos for pos, old in enumerate(order)}
            for meta in book.metadata:
                if (
                    meta.loc_type == "ROW"
                    and meta.sheet_id == sheet.sheet_id
                    and meta.start is not None
                    and meta.end == meta.start + 1
                    and meta.start in new_index
                ):
                    meta.start = new_index[meta.start]
                    meta.end = meta.start + 1
            return
        segments = [[sheet.value(r, c) for c in range(c0, c1)] for r in order]
        formats = [[sheet.extra(r, c) for c in range(c0, c1)] for r in order]
        for pos, r in enumerate(range(r0, r1)):
            for offset, c in enumerate(range(c0, c1)):
                sheet.set_value(r, c, segments[pos][offset])
                sheet.set_extra(r, c, formats[pos][offset])

    # -- charts, filters, merges ------------------------------------------------------

    def _req_addChart(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> dict[str, Any]:
        chart = copy.deepcopy(p.get("chart") or {})
        if not chart.get("spec"):
            raise _Invalid("A chart must have a spec.")
        chart["chartId"] = int(chart.get("chartId") or self._new_id())
        position = chart.get("position") or {}
        if position.get("newSheet"):
            added = self._req_addSheet(
                book, {"properties": {"title": f"Chart{len(book.sheets) + 1}"}}, caller
            )
            sheet_id = added["addSheet"]["properties"]["sheetId"]
            chart["position"] = {"sheetId": sheet_id}
        else:
            anchor = (position.get("overlayPosition") or {}).get("anchorCell") or {}
            sheet_id = int(anchor.get("sheetId") or position.get("sheetId") or 0)
        sheet = self._grid_sheet(book, {"sheetId": sheet_id})
        for grid in _walk_grid_ranges(chart.get("spec")):
            self._grid_sheet(book, grid)  # every source must name an existing sheet
        sheet.charts.append(chart)
        return {"addChart": {"chart": copy.deepcopy(chart)}}

    def _find_chart(self, book: Spreadsheet, chart_id: Any) -> tuple[Sheet, dict[str, Any]]:
        for sheet in book.sheets:
            for chart in sheet.charts:
                if chart["chartId"] == int(chart_id or 0):
                    return sheet, chart
        raise _Invalid(f"No chart with id: {chart_id}")

    def _req_updateChartSpec(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        _, chart = self._find_chart(book, p.get("chartId"))
        chart["spec"] = copy.deepcopy(p.get("spec") or {})

    def _req_deleteEmbeddedObject(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet, chart = self._find_chart(book, p.get("objectId"))
        sheet.charts.remove(chart)

    def _req_mergeCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        sheet.extra_properties.setdefault("_merges", []).append({**grid, "sheetId": sheet.sheet_id})

    def _req_unmergeCells(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        grid = p.get("range") or {}
        sheet = self._grid_sheet(book, grid)
        r0, r1, c0, c1 = Bounds.from_grid_range(grid).clip(sheet.row_count, sheet.column_count)
        merges = sheet.extra_properties.get("_merges") or []
        sheet.extra_properties["_merges"] = [
            m
            for m in merges
            if not (lambda b: r0 <= b[0] and b[1] <= r1 and c0 <= b[2] and b[3] <= c1)(
                Bounds.from_grid_range(m).clip(sheet.row_count, sheet.column_count)
            )
        ]

    def _req_addConditionalFormatRule(
        self, book: Spreadsheet, p: dict[str, Any], caller: str
    ) -> None:
        rule = copy.deepcopy(p.get("rule") or {})
        ranges = rule.get("ranges") or []
        if not ranges:
            raise _Invalid("A conditional format rule needs at least one range.")
        sheet = self._grid_sheet(book, ranges[0])
        rules = sheet.extra_properties.setdefault("_conditionalFormats", [])
        index = p.get("index")
        rules.insert(len(rules) if index is None else int(index), rule)

    def _req_setBasicFilter(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        basic = copy.deepcopy(p.get("filter") or {})
        sheet = self._grid_sheet(book, basic.get("range") or {})
        sheet.extra_properties["_basicFilter"] = basic

    def _req_clearBasicFilter(self, book: Spreadsheet, p: dict[str, Any], caller: str) -> None:
        sheet = self._grid_sheet(book, {"sheetId": p.get("sheetId")})
        sheet.extra_properties.pop("_basicFilter", None)

    # ------------------------------------------------------------------ Drive v3

    def _drive_file(self, request: Request, fid: str, *, write: bool = False) -> Spreadsheet:
        book = self.spreadsheets.get(fid)
        message = f"File not found: {fid}."
        if book is None or book.trashed:
            raise _drive_error(404, "notFound", message, "fileId")
        role = book.role_of(self._caller(request))
        if role is None:
            raise _drive_error(404, "notFound", message, "fileId")
        if write and role == "reader":
            raise _drive_error(
                403,
                "insufficientFilePermissions",
                "The user does not have sufficient permissions for this file.",
            )
        return book

    def _file_json(self, book: Spreadsheet) -> dict[str, Any]:
        return {
            "kind": "drive#file",
            "id": book.id,
            "name": book.title,
            "mimeType": SHEETS_MIME,
            "starred": False,
            "trashed": book.trashed,
            "parents": ["0AJsandboxRootFolder"],
            "version": str(book.version),
            "webViewLink": f"https://docs.google.com/spreadsheets/d/{book.id}/edit?usp=drivesdk",
            "createdTime": _rfc3339(book.created),
            "modifiedTime": _rfc3339(book.modified),
            "owners": [{"kind": "drive#user", "emailAddress": book.owner, "me": False}],
            "shared": bool(book.permissions),
        }

    def _drive_reply(self, request: Request, body: dict[str, Any], default_fields: str) -> Response:
        fields = request.arg("fields") or default_fields
        return Response.json(project(body, parse_mask(fields)))

    @route("POST", r"/drive/v3/files", kind="drive")
    def drive_create(self, request: Request) -> Response:
        body = self._body(request)
        if body.get("mimeType") != SHEETS_MIME:
            raise _drive_error(
                400, "badRequest", "The sandbox Drive only creates Google Sheets files."
            )
        with self.lock:
            if self.service_accounts_have_no_storage and self._caller(request).endswith(
                ".iam.gserviceaccount.com"
            ):
                raise _drive_error(
                    403, "storageQuotaExceeded", "The user's Drive storage quota has been exceeded."
                )
            book = self._new_book(body.get("name") or "Untitled spreadsheet", self._caller(request))
            return self._drive_reply(request, self._file_json(book), "kind,id,name,mimeType")

    @route("POST", r"/drive/v3/files/(?P<fid>[^/]+)/copy", kind="drive")
    def drive_copy(self, request: Request, fid: str) -> Response:
        body = self._body(request)
        with self.lock:
            source = self._drive_file(request, fid)
            twin = source.clone()
            twin.id = self._new_spreadsheet_id()
            twin.title = body.get("name") or f"Copy of {source.title}"
            twin.owner = self._caller(request)
            twin.permissions = []
            twin.created = twin.modified = self.clock()
            twin.version = 1
            self.spreadsheets[twin.id] = twin
            return self._drive_reply(request, self._file_json(twin), "kind,id,name,mimeType")

    @route("GET", r"/drive/v3/files", kind="drive")
    def drive_list(self, request: Request) -> Response:
        conditions = self._parse_drive_query(request.arg("q") or "")
        with self.lock:
            caller = self._caller(request)
            files = []
            for book in self.spreadsheets.values():
                if book.role_of(caller) is None:
                    continue
                info = self._file_json(book)
                if all(self._drive_condition(info, c) for c in conditions):
                    files.append(info)
            files.sort(key=lambda f: f["modifiedTime"], reverse=True)
            body = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
            fields = request.arg("fields") or "kind,incompleteSearch,files(kind,id,name,mimeType)"
            return Response.json(project(body, parse_mask(fields)))

    @staticmethod
    def _parse_drive_query(query: str) -> list[tuple[str, str, str]]:
        """The ``q`` gspread sends: ``mimeType="..." and name = "..." and "x" in parents``."""
        conditions = []
        for clause in re.split(r"\s+and\s+", query.strip()) if query.strip() else []:
            match = re.fullmatch(r"""\s*(\w+)\s*(=|!=|contains)\s*(["'])(.*)\3\s*""", clause)
            if match:
                conditions.append(
                    (match.group(1), match.group(2), match.group(4).replace("\\'", "'"))
                )
                continue
            match = re.fullmatch(r"""\s*(["'])(.*)\1\s+in\s+(\w+)\s*""", clause)
            if match:
                conditions.append((match.group(3), "in", match.group(2)))
                continue
            match = re.fullmatch(r"\s*(\w+)\s*=\s*(true|false)\s*", clause)
            if match:
                conditions.append((match.group(1), "=", match.group(2)))
                continue
            raise _drive_error(400, "invalid", "Invalid Value", "q")
        return conditions

    @staticmethod
    def _drive_condition(info: dict[str, Any], condition: tuple[str, str, str]) -> bool:
        field, op, value = condition
        if op == "in":
            return value in (info.get(field) or [])
        actual = info.get(field)
        if isinstance(actual, bool):
            actual = "true" if actual else "false"
        if op == "=":
            return str(actual) == value
        if op == "!=":
            return str(actual) != value
        return value.lower() in str(actual).lower()

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)", kind="drive")
    def drive_get(self, request: Request, fid: str) -> Response:
        with self.lock:
            book = self._drive_file(request, fid)
            return self._drive_reply(request, self._file_json(book), "kind,id,name,mimeType")

    @route("DELETE", r"/drive/v3/files/(?P<fid>[^/]+)", kind="drive")
    def drive_delete(self, request: Request, fid: str) -> Response:
        with self.lock:
            book = self._drive_file(request, fid, write=True)
            if book.role_of(self._caller(request)) != "owner":
                raise _drive_error(
                    403,
                    "insufficientFilePermissions",
                    "The user does not have sufficient permissions for this file.",
                )
            del self.spreadsheets[fid]
            return Response.empty(204)

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)/export", kind="drive")
    def drive_export(self, request: Request, fid: str) -> Response:
        mime = request.arg("mimeType") or ""
        with self.lock:
            book = self._drive_file(request, fid)
            if mime == XLSX_MIME:
                return Response(200, self._xlsx(book), {"Content-Type": XLSX_MIME})
            if mime in ("text/csv", "text/tab-separated-values"):
                sheet = book.sheets[0]
                rows = self._render_rows(
                    book,
                    sheet,
                    0,
                    sheet.row_count,
                    0,
                    sheet.column_count,
                    "FORMATTED_VALUE",
                    "SERIAL_NUMBER",
                )
                out = io.StringIO()
                writer = csv.writer(
                    out, delimiter="," if mime == "text/csv" else "\t", lineterminator="\r\n"
                )
                writer.writerows(rows)
                return Response(200, out.getvalue().encode(), {"Content-Type": mime})
            raise _drive_error(
                400, "badRequest", f"The requested conversion is not supported: {mime}"
            )

    def _xlsx(self, book: Spreadsheet) -> bytes:
        """A small, valid OOXML workbook with every tab's values (inline strings, no styles)."""
        names: list[str] = []
        for sheet in book.sheets:
            name = re.sub(r"[\[\]:*?/\\]", "_", sheet.title)[:31] or "Sheet"
            while name in names:
                name = name[:28] + f"_{len(names)}"
            names.append(name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            overrides = "".join(
                f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
                f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(len(names))
            )
            archive.writestr(
                "[Content_Types].xml",
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    '<Default Extension="rels" ContentType="application/'
                    'vnd.openxmlformats-package.relationships+xml"/>'
                    '<Default Extension="xml" ContentType="application/xml"/>'
                    '<Override PartName="/xl/workbook.xml" ContentType="application/'
                    "vnd.openxmlformats-"
                    'officedocument.spreadsheetml.sheet.main+xml"/>' + overrides + "</Types>"
                ),
            )
            archive.writestr(
                "_rels/.rels",
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
                ),
            )
            sheets_xml = "".join(
                f'<sheet name="{xml_escape(n, {chr(34): "&quot;"})}" '
                f'sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                for i, n in enumerate(names)
            )
            archive.writestr(
                "xl/workbook.xml",
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                    f"<sheets>{sheets_xml}</sheets></workbook>"
                ),
            )
            rels = "".join(
                f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/'
                f'2006/relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                for i in range(len(names))
            )
            archive.writestr(
                "xl/_rels/workbook.xml.rels",
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    f"{rels}</Relationships>"
                ),
            )
            for i, sheet in enumerate(book.sheets):
                archive.writestr(f"xl/worksheets/sheet{i + 1}.xml", self._sheet_xml(sheet))
        return buffer.getvalue()

    @staticmethod
    def _sheet_xml(sheet: Sheet) -> str:
        rows_xml = []
        for r, row in enumerate(sheet.cells):
            cells_xml = []
            for c, value in enumerate(row):
                if value is None:
                    continue
                ref = f"{column_letters(c)}{r + 1}"
                try:
                    shown = sheet.computed(r, c)
                except FormulaError as exc:
                    shown = exc.code
                formula = f"<f>{xml_escape(value[1:])}</f>" if isinstance(value, Formula) else ""
                if isinstance(shown, bool):
                    cells_xml.append(f'<c r="{ref}" t="b">{formula}<v>{int(shown)}</v></c>')
                elif isinstance(shown, int | float):
                    cells_xml.append(f'<c r="{ref}">{formula}<v>{shown!r}</v></c>')
                elif formula:
                    cells_xml.append(
                        f'<c r="{ref}" t="str">{formula}<v>{xml_escape(str(shown or ""))}</v></c>'
                    )
                else:
                    cells_xml.append(
                        f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                        f"{xml_escape(str(shown))}</t></is></c>"
                    )
            if cells_xml:
                rows_xml.append(f'<row r="{r + 1}">{"".join(cells_xml)}</row>')
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{''.join(rows_xml)}</sheetData></worksheet>"
        )

    @route("POST", r"/drive/v3/files/(?P<fid>[^/]+)/permissions", kind="drive")
    def drive_share(self, request: Request, fid: str) -> Response:
        body = self._body(request)
        with self.lock:
            book = self._drive_file(request, fid, write=True)
            kind, role = body.get("type"), body.get("role")
            if kind not in ("user", "group", "domain", "anyone") or role not in (
                "owner",
                "organizer",
                "fileOrganizer",
                "writer",
                "commenter",
                "reader",
            ):
                raise _drive_error(400, "invalid", "Invalid permission type or role.")
            if kind in ("user", "group") and not body.get("emailAddress"):
                raise _drive_error(400, "required", "Permission emailAddress is required.")
            permission = self._add_permission(
                book, kind, role, body.get("emailAddress"), body.get("domain")
            )
            self._touch(book)
            return self._drive_reply(request, permission, "kind,id,type,role")

    def _add_permission(
        self, book: Spreadsheet, kind: str, role: str, email: str | None, domain: str | None = None
    ) -> dict[str, Any]:
        for existing in book.permissions:
            if existing.get("emailAddress") == email and existing.get("type") == kind and email:
                existing["role"] = role
                return dict(existing)
        permission: dict[str, Any] = {
            "kind": "drive#permission",
            "id": str(self.random.randrange(10**19, 10**20)),
            "type": kind,
            "role": role,
            "deleted": False,
        }
        if email:
            permission["emailAddress"] = email
        if domain:
            permission["domain"] = domain
        if kind == "anyone":
            permission["id"] = "anyoneWithLink"
        book.permissions.append(permission)
        return dict(permission)

    @route("GET", r"/drive/v3/files/(?P<fid>[^/]+)/permissions", kind="drive")
    def drive_permissions(self, request: Request, fid: str) -> Response:
        with self.lock:
            book = self._drive_file(request, fid)
            owner = {
                "kind": "drive#permission",
                "id": "owner-" + str(abs(hash(book.owner)) % 10**19),
                "type": "user",
                "emailAddress": book.owner,
                "role": "owner",
                "deleted": False,
            }
            body = {
                "kind": "drive#permissionList",
                "permissions": [owner] + [dict(p) for p in book.permissions],
            }
            return self._drive_reply(request, body, "kind,permissions(kind,id,type,role)")

    @route("DELETE", r"/drive/v3/files/(?P<fid>[^/]+)/permissions/(?P<pid>[^/]+)", kind="drive")
    def drive_unshare(self, request: Request, fid: str, pid: str) -> Response:
        with self.lock:
            book = self._drive_file(request, fid, write=True)
            before = len(book.permissions)
            book.permissions = [p for p in book.permissions if p["id"] != pid]
            if len(book.permissions) == before:
                raise _drive_error(404, "notFound", f"Permission not found: {pid}.", "permissionId")
            return Response.empty(204)

    # ------------------------------------------------------------------ people (control side)

    def create_spreadsheet(
        self,
        title: str,
        sheets: Iterable[Any] | None = None,
        *,
        shared_with: Iterable[str] = (),
        owner: str = PERSON,
        locale: str = "en_US",
        role: str = "writer",
    ) -> str:
        """A spreadsheet made by a person (``owner``), shared with ``shared_with``; returns its id.

        ``sheets``: titles, or dicts ``{"title", "rows", "cols", "values": [[...]]}``
        (values typed RAW, or as a person types them with ``"user_entered": True``).
        """
        with self.lock:
            book = self._new_book(title, owner, locale=locale, sheets=sheets)
            for email in shared_with:
                self._add_permission(book, "user", role, email)
            return book.id

    def share(self, spreadsheet_id: str, email: str, role: str = "writer") -> None:
        """The owner shares the file with ``email`` (e.g. the daemon's service account)."""
        with self.lock:
            self._add_permission(self._person_book(spreadsheet_id), "user", role, email)

    def _person_book(self, spreadsheet_id: str) -> Spreadsheet:
        book = self.spreadsheets.get(spreadsheet_id)
        if book is None:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r}")
        return book

    def _person_sheet(self, spreadsheet_id: str, sheet_title: str) -> tuple[Spreadsheet, Sheet]:
        book = self._person_book(spreadsheet_id)
        sheet = book.sheet_by_title(sheet_title)
        if sheet is None:
            raise KeyError(f"no tab {sheet_title!r} in {spreadsheet_id!r}")
        return book, sheet

    def _person_edit(self, spreadsheet_id: str, edit: Callable[[Spreadsheet], Any]) -> Any:
        """Run a person's edit all-or-nothing, like a batchUpdate, and mark the file changed."""
        with self.lock:
            book = self._person_book(spreadsheet_id)
            work = book.clone()
            try:
                result = edit(work)
            except (_Invalid, HTTPError) as exc:
                raise ValueError(f"the edit was refused: {self._describe(exc)}") from exc
            self.spreadsheets[spreadsheet_id] = work
            self._touch(work)
            self.changed.set()
            return result

    @staticmethod
    def _describe(exc: Exception) -> str:
        if isinstance(exc, HTTPError):
            return str(json.loads(exc.response.body)["error"]["message"])
        return str(exc)

    def type_cell(
        self, spreadsheet_id: str, a1: str, value: Any, user_entered: bool = True
    ) -> None:
        """A person types ``value`` into one cell (``TRUE`` ticks a checkbox, ``=`` a formula)."""

        def edit(book: Spreadsheet) -> None:
            sheet, bounds = self._resolve(book, a1)
            anchor = (bounds.start_row or 0, bounds.start_col or 0)
            self._plan_write(book, sheet, bounds, [[value]], a1, anchor=anchor)
            self._store(
                book,
                sheet,
                anchor[0],
                anchor[1],
                [[value]],
                "USER_ENTERED" if user_entered else "RAW",
            )

        self._person_edit(spreadsheet_id, edit)

    def tick(self, spreadsheet_id: str, a1: str, checked: bool = True) -> None:
        """A person clicks a checkbox: stores its checked/unchecked value (custom ones too)."""

        def edit(book: Spreadsheet) -> None:
            sheet, bounds = self._resolve(book, a1)
            r, c = bounds.start_row or 0, bounds.start_col or 0
            self._plan_write(book, sheet, bounds, [[True]], a1, anchor=(r, c))
            rule = (sheet.extra(r, c) or {}).get("dataValidation") or {}
            condition = rule.get("condition") or {}
            value: Any = checked
            custom = [v.get("userEnteredValue") for v in condition.get("values") or []]
            if condition.get("type") == "BOOLEAN" and custom:
                value = custom[0] if checked else (custom[1] if len(custom) > 1 else None)
                value = (
                    parse_user_entered(value, book.locale)[0] if isinstance(value, str) else value
                )
            sheet.set_value(r, c, value)

        self._person_edit(spreadsheet_id, edit)

    def insert_rows(
        self, spreadsheet_id: str, sheet_title: str, at_row: int, count: int = 1
    ) -> None:
        """A person inserts ``count`` rows so the first new one is row ``at_row`` (1-based)."""
        self._person_rows(spreadsheet_id, sheet_title, at_row, count, insert=True)

    def delete_rows(
        self, spreadsheet_id: str, sheet_title: str, at_row: int, count: int = 1
    ) -> None:
        """A person deletes rows ``at_row`` .. ``at_row + count - 1`` (1-based)."""
        self._person_rows(spreadsheet_id, sheet_title, at_row, count, insert=False)

    def _person_rows(
        self, spreadsheet_id: str, sheet_title: str, at_row: int, count: int, *, insert: bool
    ) -> None:
        """Insert or delete rows as a person, through the API's own dimension requests."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            rows = {
                "sheetId": sheet.sheet_id,
                "dimension": "ROWS",
                "startIndex": at_row - 1,
                "endIndex": at_row - 1 + count,
            }
            if insert:
                request = {"range": rows, "inheritFromBefore": at_row > 1}
                self._req_insertDimension(book, request, PERSON)
            else:
                self._req_deleteDimension(book, {"range": rows}, PERSON)

        self._person_edit(spreadsheet_id, edit)

    def sort_range(
        self,
        spreadsheet_id: str,
        sheet_title: str,
        column_letter: str,
        ascending: bool = True,
        header_rows: int = 1,
    ) -> None:
        """A person sorts the tab below its header by one column ("Sort sheet A -> Z")."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            spec = {
                "dimensionIndex": column_index(column_letter),
                "sortOrder": "ASCENDING" if ascending else "DESCENDING",
            }
            self._req_sortRange(
                book,
                {
                    "range": {"sheetId": sheet.sheet_id, "startRowIndex": header_rows},
                    "sortSpecs": [spec],
                },
                PERSON,
            )

        self._person_edit(spreadsheet_id, edit)

    def rename_header(self, spreadsheet_id: str, sheet_title: str, old: str, new: str) -> None:
        """A person renames a column by retyping its header cell in row 1."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            header = sheet.cells[0] if sheet.cells else []
            for c, value in enumerate(header):
                if value == old:
                    sheet.set_value(0, c, new)
                    return
            raise _Invalid(f"no header {old!r} in row 1 of {sheet_title!r}")

        self._person_edit(spreadsheet_id, edit)

    def delete_sheet(self, spreadsheet_id: str, sheet_title: str) -> None:
        """A person deletes a whole tab (right-click on it → Delete)."""

        def edit(book: Spreadsheet) -> None:
            sheet = book.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no tab {sheet_title!r}")
            self._req_deleteSheet(book, {"sheetId": sheet.sheet_id}, PERSON)

        self._person_edit(spreadsheet_id, edit)

    def values(self, spreadsheet_id: str, sheet_title: str) -> list[list[Any]]:
        """The tab's values, unformatted and trimmed like the API (for assertions)."""
        with self.lock:
            book, sheet = self._person_sheet(spreadsheet_id, sheet_title)
            return self._render_rows(
                book,
                sheet,
                0,
                sheet.row_count,
                0,
                sheet.column_count,
                "UNFORMATTED_VALUE",
                "SERIAL_NUMBER",
            )

    def metadata(self, spreadsheet_id: str) -> list[dict[str, Any]]:
        """Every developer metadata entry of a spreadsheet, as the API shows it."""
        with self.lock:
            return [m.as_json() for m in self._person_book(spreadsheet_id).metadata]

    # -- HTTP twins of the people controls ----------------------------------------------

    _OPS: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "type": ("type_cell", ("spreadsheet_id", "a1", "value", "user_entered")),
        "tick": ("tick", ("spreadsheet_id", "a1", "checked")),
        "insert_rows": ("insert_rows", ("spreadsheet_id", "sheet_title", "at_row", "count")),
        "delete_rows": ("delete_rows", ("spreadsheet_id", "sheet_title", "at_row", "count")),
        "sort": (
            "sort_range",
            ("spreadsheet_id", "sheet_title", "column", "ascending", "header_rows"),
        ),
        "rename_header": ("rename_header", ("spreadsheet_id", "sheet_title", "old", "new")),
        "delete_sheet": ("delete_sheet", ("spreadsheet_id", "sheet_title")),
        "share": ("share", ("spreadsheet_id", "email", "role")),
    }

    def _op_call(self, op: str, body: dict[str, Any]) -> Callable[[], Any]:
        if op not in self._OPS:
            raise HTTPError(
                Response.json({"error": f"unknown op {op!r}; one of {sorted(self._OPS)}"}, 400)
            )
        method, keys = self._OPS[op]
        kwargs = {("column_letter" if k == "column" else k): body[k] for k in keys if k in body}
        missing = [k for k in keys[:2] if k not in body]
        if missing:
            raise HTTPError(Response.json({"error": f"missing {missing}"}, 400))
        return lambda: getattr(self, method)(**kwargs)

    def _control(self, op: str, request: Request) -> Response:
        call = self._op_call(op, request.json() or {})
        try:
            call()
        except (KeyError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"ok": True})

    @route(
        "POST",
        r"/_sandbox/(?P<op>type|tick|insert_rows|delete_rows|sort|rename_header|delete_sheet|share)",
    )
    def control_op(self, request: Request, op: str) -> Response:
        return self._control(op, request)

    @route("POST", r"/_sandbox/edit")
    def control_scheduled_edit(self, request: Request) -> Response:
        body = request.json() or {}
        call = self._op_call(str(body.get("op", "")), body)

        def edit_quietly() -> None:
            # A refused scheduled edit must not turn the daemon's request into a 500.
            try:
                call()
            except (KeyError, ValueError) as exc:
                self.failed_edits.append(f"{body.get('op')}: {exc}")

        fault = self.before_next(
            edit_quietly, match=str(body.get("match", "")), count=int(body.get("count", 1))
        )
        return Response.json(fault.as_dict(), 201)

    @route("POST", r"/_sandbox/spreadsheets")
    def control_create(self, request: Request) -> Response:
        body = request.json() or {}
        sid = self.create_spreadsheet(
            body.get("title") or "Untitled spreadsheet",
            body.get("sheets"),
            shared_with=body.get("shared_with") or (),
            owner=body.get("owner") or PERSON,
            locale=body.get("locale") or "en_US",
        )
        return Response.json({"spreadsheetId": sid}, 201)

    @route("GET", r"/_sandbox/values")
    def control_values(self, request: Request) -> Response:
        try:
            rows = self.values(
                request.arg("spreadsheet_id") or "", request.arg("sheet_title") or ""
            )
        except KeyError as exc:
            return Response.json({"error": str(exc)}, 404)
        return Response.json({"values": rows})

    @route("GET", r"/_sandbox/service_account")
    def control_service_account(self, request: Request) -> Response:
        host = request.headers.get("Host") or "127.0.0.1"
        return Response.json(
            self.service_account_info(f"http://{host}/token", request.arg("email"))
        )

    @route("POST", r"/_sandbox/token")
    def control_token(self, request: Request) -> Response:
        body = request.json() or {}
        return Response.json({"access_token": self.access_token(body.get("email"))})

    @route("PUT", r"/_sandbox/quota")
    def control_quota(self, request: Request) -> Response:
        body = request.json() or {}
        self.quota_per_minute = {
            k: int(v) for k, v in body.items() if k in ("read", "write")
        } or None
        return Response.json({"quota_per_minute": self.quota_per_minute})

    # ------------------------------------------------------------------ persistence

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accounts": [a.as_state() for a in self.issuer.accounts.values()],
                "service_account_email": self.service_account_email,
                "spreadsheets": [self._book_state(b) for b in self.spreadsheets.values()],
            }

    @staticmethod
    def _book_state(book: Spreadsheet) -> dict[str, Any]:
        def cell(value: Any) -> Any:
            return {"f": str(value)} if isinstance(value, Formula) else value

        return {
            "id": book.id,
            "title": book.title,
            "owner": book.owner,
            "locale": book.locale,
            "timeZone": book.time_zone,
            "permissions": book.permissions,
            "created": book.created,
            "modified": book.modified,
            "version": book.version,
            "namedRanges": book.named_ranges,
            "metadata": [m.as_state() for m in book.metadata],
            "sheets": [
                {
                    "sheetId": s.sheet_id,
                    "title": s.title,
                    "rowCount": s.row_count,
                    "columnCount": s.column_count,
                    "frozenRows": s.frozen_rows,
                    "frozenCols": s.frozen_cols,
                    "hidden": s.hidden,
                    "extraProperties": s.extra_properties,
                    "cells": [[cell(v) for v in row] for row in s.cells],
                    "extras": [
                        [r, [[c, ex] for c, ex in row.items()]]
                        for r, row in enumerate(s.extras)
                        if row
                    ],
                    "rowProps": [[k, v] for k, v in s.row_props.items()],
                    "colProps": [[k, v] for k, v in s.col_props.items()],
                    "protectedRanges": s.protected_ranges,
                    "charts": s.charts,
                }
                for s in book.sheets
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            if state.get("accounts"):
                self.issuer.load_accounts(state["accounts"])
            self.service_account_email = (
                state.get("service_account_email") or DEFAULT_SERVICE_ACCOUNT
            )
            self.issuer.add_account(self.service_account_email)
            self.spreadsheets = {}
            for data in state.get("spreadsheets") or []:
                book = Spreadsheet(
                    data["id"],
                    data["title"],
                    data["owner"],
                    locale=data["locale"],
                    time_zone=data["timeZone"],
                    now=data["created"],
                )
                book.permissions = data["permissions"]
                book.modified, book.version = data["modified"], data["version"]
                book.named_ranges = data["namedRanges"]
                book.metadata = [DevMeta(*m) for m in data["metadata"]]
                for s in data["sheets"]:
                    sheet = Sheet(s["sheetId"], s["title"], s["rowCount"], s["columnCount"])
                    sheet.frozen_rows, sheet.frozen_cols, sheet.hidden = (
                        s["frozenRows"],
                        s["frozenCols"],
                        s["hidden"],
                    )
                    sheet.extra_properties = s["extraProperties"]
                    sheet.cells = [
                        [Formula(v["f"]) if isinstance(v, dict) else v for v in row]
                        for row in s["cells"]
                    ]
                    sheet.extras = [None] * len(sheet.cells)
                    for r, row in s["extras"]:
                        sheet.extras[r] = {int(c): ex for c, ex in row}
                    sheet.row_props = {int(k): v for k, v in s["rowProps"]}
                    sheet.col_props = {int(k): v for k, v in s["colProps"]}
                    sheet.protected_ranges, sheet.charts = s["protectedRanges"], s["charts"]
                    book.sheets.append(sheet)
                self.spreadsheets[book.id] = book
