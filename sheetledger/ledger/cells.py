"""Cell values in and out of Google Sheets, by column kind.

The daemon reads with ``valueRenderOption=UNFORMATTED_VALUE`` and
``dateTimeRenderOption=SERIAL_NUMBER``, so numbers come back as numbers, dates as
serial days since 1899-12-30 and checkboxes as booleans. It writes typed values
(numbers, booleans, strings) so money and dates stay real numbers that formulas and
pivot tables can use; number formats make them readable.

Text is always written as a string value, never parsed (RAW): a leading
``= + - @`` is still neutralised with an apostrophe, because a person pressing
Enter in such a cell, or exporting to CSV, would otherwise turn it into a formula.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sheetledger.model import money

SHEETS_EPOCH = date(1899, 12, 30)
_FORMULA_STARTS = ("=", "+", "-", "@")

CellValue = str | int | float | bool | None


class Kind(StrEnum):
    TEXT = "text"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    BOOL = "bool"
    INT = "int"


def _needs_quote(text: str) -> bool:
    # Apostrophes already in front count too: "'=x" must come back as "'=x", not "=x",
    # or a CRM value such as "'=x" would differ from its own cell on every cycle.
    return text.lstrip("'").startswith(_FORMULA_STARTS)


def neutralise(text: str) -> str:
    """Text that cannot become a formula (OWASP's CSV-injection advice: prefix with ')."""
    if _needs_quote(text):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """The inverse of ``neutralise``: ``unneutralise(neutralise(t)) == t`` for every text."""
    if text.startswith("'") and _needs_quote(text[1:]):
        return text[1:]
    return text


def date_to_serial(value: date) -> int:
    return (value - SHEETS_EPOCH).days


def serial_to_date(serial: float) -> date:
    try:
        return SHEETS_EPOCH + timedelta(days=int(serial))
    except (OverflowError, ValueError) as exc:  # e.g. 31122024 typed without the dots
        raise CellProblem(f"expected a date, found {serial!r}") from exc


def datetime_to_serial(value: datetime, tz: ZoneInfo) -> float:
    local = value.astimezone(tz).replace(tzinfo=None)
    delta = local - datetime(1899, 12, 30)
    return round(delta.total_seconds() / 86400, 8)


def serial_to_datetime(serial: float, tz: ZoneInfo) -> datetime:
    # A serial is a float of days (written rounded to 1e-8 day, 0.864 ms): round to the
    # millisecond, or 12:34:56 comes back as 12:34:56.000064.
    try:
        naive = datetime(1899, 12, 30) + timedelta(milliseconds=round(float(serial) * 86_400_000))
        return naive.replace(tzinfo=tz).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise CellProblem(f"expected a date and time, found {serial!r}") from exc


def to_cell(kind: Kind, value: Any, tz: ZoneInfo) -> CellValue:
    """The JSON value to write for ``value`` in a column of ``kind`` ("" clears)."""
    if value is None or value == "":
        return ""
    if kind is Kind.MONEY:
        return float(money(value))
    if kind is Kind.INT:
        return int(value)
    if kind is Kind.BOOL:
        return bool(value)
    if kind is Kind.DATE:
        return date_to_serial(value)
    if kind is Kind.DATETIME:
        return datetime_to_serial(value, tz)
    return neutralise(str(value))


class CellProblem(ValueError):
    """A cell a person typed that does not fit its column (e.g. text in a money column)."""


def from_cell(kind: Kind, raw: Any, tz: ZoneInfo) -> Any:
    """The Python value of an UNFORMATTED cell; ``None`` for an empty one.

    Raises ``CellProblem`` when a person typed something the column cannot hold.
    """
    if raw is None or raw == "":
        return None
    if kind is Kind.TEXT:
        return unneutralise(str(raw)) if isinstance(raw, str) else _plain_number_text(raw)
    if kind is Kind.BOOL:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().casefold()
        if text in ("true", "1", "да", "yes", "✓", "☑"):
            return True
        if text in ("false", "0", "нет", "no"):
            return False
        raise CellProblem(f"expected a tick, found {raw!r}")
    if kind is Kind.MONEY:
        return _money(raw)
    if kind is Kind.INT:
        try:
            number = Decimal(str(raw))
        except (InvalidOperation, ValueError) as exc:
            raise CellProblem(f"expected a whole number, found {raw!r}") from exc
        if not number.is_finite() or number != number.to_integral_value():
            raise CellProblem(f"expected a whole number, found {raw!r}")
        return int(number)
    if kind is Kind.DATE:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return serial_to_date(raw)
        return _date_text(str(raw))
    if kind is Kind.DATETIME:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return serial_to_datetime(raw, tz)
        try:
            parsed = datetime.fromisoformat(str(raw))
        except ValueError as exc:
            raise CellProblem(f"expected a date and time, found {raw!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise AssertionError(kind)


def text_of(value: object) -> str:
    """A parsed cell as text: empty for an empty cell."""
    return "" if value is None else str(value)


def int_of(value: object) -> int | None:
    """A parsed cell as a whole number (an ID): None for empty, a tick or a fraction."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return None


def _plain_number_text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _money(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise CellProblem(f"expected an amount, found {raw!r}")
    if isinstance(raw, int | float):
        text = repr(raw)
    else:
        text = str(raw).replace("\u00a0", "").replace(" ", "").replace("₽", "").replace("руб", "")
        text = text.replace(",", ".").rstrip(".")
    try:
        amount = money(Decimal(text))  # 1e30 does not fit two places: InvalidOperation
    except InvalidOperation as exc:
        raise CellProblem(f"expected an amount, found {raw!r}") from exc
    if not amount.is_finite():  # "nan" would poison every sum and comparison
        raise CellProblem(f"expected an amount, found {raw!r}")
    return amount


def _date_text(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellProblem(f"expected a date, found {text!r}")
