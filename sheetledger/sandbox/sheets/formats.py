"""User-entered parsing and number formats: what a person's typing stores, and how a value shows.

The locale decides separators and date order (tests/fixtures/gsheets/).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sheetledger.sandbox.sheets.cells import Formula, json_number

EPOCH = date(1899, 12, 30)  # Sheets date serials count days from here

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
    return json_number(serial)


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
            return json_number(float(Decimal(canonical) / 100)), {
                "type": "PERCENT",
                "pattern": pattern,
            }
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
    return json_number(value), canonical, grouped


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
        return json_number((hour * 3600 + minute * 60 + second) / 86400), {
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


def is_date_format(number_format: dict[str, Any] | None) -> bool:
    return number_format is not None and number_format.get("type") in ("DATE", "TIME", "DATE_TIME")
